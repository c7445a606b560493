import Foundation
import Journal
import Kernel
import Monitor
import Testing
import VigilCore

@Suite struct JournalStoreTests {
    @Test func migrationsCreateTheSchemaAndAreIdempotentOnReopen() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.path("journal.sqlite")
        do {
            let journal = try Journal(path: path)
            #expect(try journal.appliedMigrations() == ["v1", "v2 policy feedback", "v3 audit role", "v4 event cycle", "v5 feedback status, audit privilege, damaged models", "v6 console login failures", "v7 mqtt outbox", "v8 model watch", "v9 fleet cursor", "v10 sparkplug bdSeq"])
            let counts = try journal.counts()
            #expect(counts.events == 0 && counts.feedback == 0 && counts.auditEntries == 0 && counts.models == 0)
            #expect(try journal.droppedEventCounts().values.allSatisfy { $0 == 0 })
            try journal.recordCommand(AuditEntry(wallNanoseconds: 1, source: "test", command: "status", result: "ok"))
            #expect(journal.integrityCheck())
        }
        let reopened = try Journal(path: path)
        #expect(try reopened.appliedMigrations() == ["v1", "v2 policy feedback", "v3 audit role", "v4 event cycle", "v5 feedback status, audit privilege, damaged models", "v6 console login failures", "v7 mqtt outbox", "v8 model watch", "v9 fleet cursor", "v10 sparkplug bdSeq"])
        #expect(try reopened.counts().auditEntries == 1)
        #expect(reopened.integrityCheck())
    }

    /// The console's failed logins survive a reopen (a restart, `kill -9`: every write is committed
    /// before it returns); one row per endpoint and role, replaced by the next failure, deleted by a right PIN.
    @Test func loginFailuresSurviveAReopenPerEndpointAndRole() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.path("journal.sqlite")
        let a = LoginFailureRow(source: "console:/dev/ttyS0", role: "engineer", failures: 5, lastFailureWallNanoseconds: 10,
                                lockedUntilWallNanoseconds: 300_000_000_010)
        let b = LoginFailureRow(source: "console:pty", role: "engineer", failures: 1, lastFailureWallNanoseconds: 11, lockedUntilWallNanoseconds: 0)
        do {
            let journal = try Journal(path: path)
            try journal.recordLoginFailure(LoginFailureRow(source: a.source, role: a.role, failures: 4, lastFailureWallNanoseconds: 9,
                                                           lockedUntilWallNanoseconds: 0))
            try journal.recordLoginFailure(a)
            try journal.recordLoginFailure(b)
        }
        let reopened = try Journal(path: path)
        #expect(try reopened.loginFailures() == [a, b])
        try reopened.clearLoginFailures(source: b.source, role: b.role)
        #expect(try reopened.loginFailures() == [a])
    }

    @Test func feedbackRoundTripsWithEveryField() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        let first = OperatorFeedback(wallNanoseconds: 42, operatorName: "anna", subject: "pump1.flow", eventID: 7,
                                     verdict: .correctedClass, correctedClass: "drift", actionRating: .bad,
                                     note: "it was drift, not a stuck sensor")
        let second = OperatorFeedback(wallNanoseconds: 43, operatorName: "ben", subject: "tank.level", verdict: .falseAlarm)
        let id1 = try journal.recordFeedback(first)
        let id2 = try journal.recordFeedback(second)
        #expect(id2 > id1)
        let stored = try journal.feedback()
        #expect(stored == [JournalRecord(id: id2, value: second), JournalRecord(id: id1, value: first)])
    }

    @Test func commandsRoundTripThroughTheAuditLogNewestFirst() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        let entries = (0..<5).map {
            AuditEntry(wallNanoseconds: Int64($0), source: "console:/dev/ttyS0", command: "ack \($0)", result: "acknowledged")
        }
        let ids = try entries.map { try journal.recordCommand($0) }
        #expect(try journal.auditLog(limit: 3) == zip(ids, entries).reversed().prefix(3).map { JournalRecord(id: $0, value: $1) })
        #expect(try journal.counts().auditEntries == 5)
    }

    @Test func modelRegistryKeepsHistoryAndOneDeployedVersion() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.path("j.sqlite")
        let journal = try Journal(path: path)
        let v1 = ModelVersion(version: 1, parentVersion: nil, createdWallNanoseconds: 10, filePath: "models/v1.vgm",
                              sha256: String(repeating: "a", count: 64), trainingSummary: "teacher distilled",
                              validationJSON: #"{"recall":0.97}"#, deployed: true)
        var v2 = v1
        v2.version = 2
        v2.parentVersion = 1
        v2.filePath = "models/v2.vgm"
        try journal.registerModel(v1)
        try journal.registerModel(v2)
        #expect(try journal.deployedModel()?.version == 2)
        #expect(try journal.modelHistory().map(\.version) == [2, 1])
        #expect(try journal.modelHistory().map(\.deployed) == [true, false])

        try journal.markDeployed(version: 1)
        #expect(try journal.deployedModel() == v1)
        #expect(throws: JournalError.duplicateModelVersion(path: path, version: 2)) { try journal.registerModel(v2) }
        #expect(throws: JournalError.unknownModelVersion(path: path, version: 9)) { try journal.markDeployed(version: 9) }
    }

    @Test func eventsRoundTripWithResolvedSubjectsAndFilters() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        try journal.appendEvents([
            TimedEvent(plantNanoseconds: 1, cycle: 1, event: .findingRaised(.sensor(0), .rateOfChange, statistic: 1.5, threshold: 1)),
            TimedEvent(plantNanoseconds: 2, cycle: 2, event: .safeStateEntered(.interlock)),
            TimedEvent(plantNanoseconds: 3, cycle: 3, event: .findingCleared(.sensor(9), .noise)),
            TimedEvent(plantNanoseconds: 4, cycle: 4, event: .limitCrossed(limit: 0, value: .nan)),
        ], codec: testCodec, wallOffsetNanoseconds: 1_000)

        let all = try journal.recentEvents()
        #expect(all.map(\.kind) == [.limitCrossed, .findingCleared, .safeStateEntered, .detection])
        #expect(all.map(\.subject) == ["tank.level.hi", "#9", nil, "pump1.flow"])
        #expect(all[2].detail == "interlock")
        #expect(all[0].value.isNaN)
        #expect(all[3].value == 1.5 && all[3].code == FindingKind.rateOfChange.rawValue && all[3].monotonicNanoseconds == 1)
        #expect(all[3].wallNanoseconds == 1_001 && all[3].cycle == 1)
        guard case .limitCrossed(limit: 0, let v)? = all[0].event(testCodec) else {
            Issue.record("the limit crossing did not decode: \(all[0])")
            return
        }
        #expect(v.isNaN, "a NaN value is stored as NULL and reads back as NaN")
        #expect(all[1...].map { $0.event(testCodec) } == [.findingCleared(.sensor(9), .noise), .safeStateEntered(.interlock),
                                                         .findingRaised(.sensor(0), .rateOfChange, statistic: 1.5, threshold: 1)])

        #expect(try journal.recentEvents(minSeverity: .alarm).map(\.kind) == [.limitCrossed, .safeStateEntered])
        #expect(try journal.recentEvents(kinds: [.detection, .findingCleared]).map(\.kind) == [.findingCleared, .detection])
        #expect(try journal.recentEvents(limit: 1).map(\.kind) == [.limitCrossed])
        #expect(try journal.counts().eventsBySeverity == [.info: 1, .safety: 1, .debug: 1, .alarm: 1])
    }

    @Test func aFileThatIsNotADatabaseIsAClearErrorNamingThePath() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.path("garbage.sqlite")
        var random = SeededRandom(seed: 7)
        let garbage = Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &random) })
        try garbage.write(to: URL(fileURLWithPath: path))

        let error = #expect(throws: JournalError.self) { try Journal(path: path) }
        guard case let .corrupt(errorPath, message)? = error else {
            Issue.record("expected .corrupt, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path)
        #expect(message.contains("not a database"))
        #expect(error!.description.contains(path))
    }

    @Test func aDatabaseInAMissingDirectoryIsAClearErrorNamingThePath() throws {
        let path = "/nonexistent-vigil-dir/\(UUID().uuidString)/journal.sqlite"
        let error = #expect(throws: JournalError.self) { try Journal(path: path) }
        guard case let .cannotOpen(errorPath, _)? = error else {
            Issue.record("expected .cannotOpen, got \(String(describing: error))")
            return
        }
        #expect(errorPath == path)
        #expect(error!.description.contains(path))
    }
}
