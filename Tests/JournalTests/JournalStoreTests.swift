import Foundation
import Journal
import Testing
import VigilCore

@Suite struct JournalStoreTests {
    @Test func migrationsCreateTheSchemaAndAreIdempotentOnReopen() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.path("journal.sqlite")
        do {
            let journal = try Journal(path: path)
            #expect(try journal.appliedMigrations() == ["v1", "v2 policy feedback", "v3 audit role"])
            let counts = try journal.counts()
            #expect(counts.events == 0 && counts.feedback == 0 && counts.auditEntries == 0 && counts.models == 0)
            #expect(try journal.droppedEventCounts().values.allSatisfy { $0 == 0 })
            try journal.recordCommand(AuditEntry(wallNanoseconds: 1, source: "test", command: "status", result: "ok"))
            #expect(journal.integrityCheck())
        }
        let reopened = try Journal(path: path)
        #expect(try reopened.appliedMigrations() == ["v1", "v2 policy feedback", "v3 audit role"])
        #expect(try reopened.counts().auditEntries == 1)
        #expect(reopened.integrityCheck())
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
        let names = ["pump1.flow", "tank.level"]
        try journal.appendEvents([
            event(.detection, .warning, mono: 1, subject: 0, code: 3, value: 1.5),
            event(.safeStateEntered, .safety, mono: 2, code: SafeStateReason.interlock.rawValue),
            event(.overrun, .debug, mono: 3, subject: 9, value: .nan),
            event(.failover, .alarm, mono: 4, subject: 1),
        ], subjectNames: names)

        let all = try journal.recentEvents()
        #expect(all.map(\.kind) == [.failover, .overrun, .safeStateEntered, .detection])
        #expect(all.map(\.subject) == ["tank.level", "#9", nil, "pump1.flow"])
        #expect(all[2].detail == "interlock")
        #expect(all[1].value.isNaN)
        #expect(all[3].value == 1.5 && all[3].code == 3 && all[3].monotonicNanoseconds == 1)

        #expect(try journal.recentEvents(minSeverity: .alarm).map(\.kind) == [.failover, .safeStateEntered])
        #expect(try journal.recentEvents(kinds: [.detection, .overrun]).map(\.kind) == [.overrun, .detection])
        #expect(try journal.recentEvents(limit: 1).map(\.kind) == [.failover])
        #expect(try journal.counts().eventsBySeverity == [.warning: 1, .safety: 1, .debug: 1, .alarm: 1])
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
