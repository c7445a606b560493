import Foundation
import Journal
import Testing

/// One verdict per event and operator, feedback and its audit entry in one transaction, what the
/// hourly limit counts, and audit retention that never drops a privileged entry.
@Suite struct FeedbackAuditTests {
    static func feedback(_ who: String, event: Int64, _ verdict: FeedbackVerdict = .falseAlarm, wall: Int64 = 1) -> OperatorFeedback {
        OperatorFeedback(wallNanoseconds: wall, operatorName: who, subject: "TT-310", eventID: event, verdict: verdict)
    }
    static let samples = [FeedbackSample(features: [1, 2], label: "healthy", bucket: .failure)]
    static func audit(_ command: String, privileged: Bool = true) -> AuditEntry {
        AuditEntry(wallNanoseconds: 1, source: "console:test", command: command, result: "ok: ", role: "operator", privileged: privileged)
    }

    /// Runs SQL on the journal file with the sqlite3 shell (another connection, as another process would).
    static func sqlite(_ path: String, _ sql: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        p.arguments = [path, sql]
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "sqlite3 \(sql)")
    }

    @Test func aLaterVerdictOfTheSameOperatorOnTheSameEventReplacesTheEarlier() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        var ids: [Int64] = []
        for _ in 0..<13 {
            let w = try journal.recordFeedback(Self.feedback("anna", event: 40), samples: Self.samples, audit: Self.audit("feedback 40 false-alarm"))
            #expect(w.replaced == ids.last)
            ids.append(w.id)
        }
        let other = try journal.recordFeedback(Self.feedback("ben", event: 40, .confirmed), samples: Self.samples, audit: nil)
        #expect(other.replaced == nil, "another operator's verdict is their own")
        _ = try journal.recordFeedback(Self.feedback("anna", event: 41), samples: Self.samples, audit: nil)
        let stored = try journal.feedback()
        #expect(stored.count == 3, "13 verdicts of anna on event 40 leave one: \(stored.map(\.value))")
        #expect(try journal.feedbackSamples().count == 3, "the replaced verdicts' samples went with them")
        #expect(try journal.auditLog().count == 13, "every verdict given is in the audit log")
    }

    @Test func withdrawnFeedbackLeavesTrainingAndSaysSo() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        let id = try journal.recordFeedback(Self.feedback("anna", event: 40), samples: Self.samples, audit: nil).id
        #expect(try journal.pendingFeedback() == [id])
        #expect(try journal.withdrawFeedback(event: 40, operatorName: "ben", audit: Self.audit("x")) == nil, "ben has none")
        #expect(try journal.auditLog().isEmpty, "nothing withdrawn, nothing written")
        #expect(try journal.withdrawFeedback(event: 40, operatorName: "anna", audit: Self.audit("feedback 40 withdraw")) == id)
        #expect(try journal.feedbackStatus(id) == .withdrawn)
        #expect(try journal.feedbackSamples().isEmpty && journal.pendingFeedback().isEmpty)
        #expect(try journal.auditLog().map(\.value.command) == ["feedback 40 withdraw"])
    }

    @Test func feedbackAndItsAuditEntryCommitTogetherOrNotAtAll() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.path("j.sqlite")
        let journal = try Journal(path: path)
        _ = try journal.recordFeedback(Self.feedback("anna", event: 1), samples: Self.samples, audit: Self.audit("feedback 1 false-alarm"))
        #expect(try journal.counts().feedback == 1 && journal.counts().auditEntries == 1)
        // The audit insert fails (a trigger aborts it): the feedback and its samples must not stay.
        try Self.sqlite(path, "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit refused'); END;")
        #expect(throws: JournalError.self) {
            _ = try journal.recordFeedback(Self.feedback("anna", event: 2), samples: Self.samples, audit: Self.audit("feedback 2 false-alarm"))
        }
        #expect(throws: JournalError.self) { try journal.markDeployed(version: 1, audit: Self.audit("model rollback 1")) }
        #expect(try journal.counts().feedback == 1, "feedback without its audit entry was committed")
        #expect(try journal.feedbackSamples().count == 1)
    }

    @Test func theHourlyLimitCountsTrainedUpdatesInTheWindowOnly() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        let minute: Int64 = 60_000_000_000
        for (t, outcome) in [(1, ModelUpdateRecord.Outcome.accepted), (2, .rejected), (3, .rateLimited), (70, .accepted)] {
            try journal.recordModelUpdate(ModelUpdateRecord(wallNanoseconds: Int64(t) * minute, baseVersion: 1, lastFeedbackID: 1, outcome: outcome))
        }
        #expect(try journal.updateRuns(after: 0) == [1 * minute, 2 * minute, 70 * minute])
        #expect(try journal.updateRuns(after: 10 * minute) == [70 * minute])
    }

    @Test func anUpdateSettlesThePendingVerdictsItDecided() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        let a = try journal.recordFeedback(Self.feedback("anna", event: 1), samples: Self.samples, audit: nil).id
        let b = try journal.recordFeedback(Self.feedback("anna", event: 2), samples: Self.samples, audit: nil).id
        try journal.recordModelUpdate(ModelUpdateRecord(wallNanoseconds: 1, baseVersion: 1, lastFeedbackID: a, outcome: .rejected), settling: [a])
        #expect(try journal.feedbackStatus(a) == .rejected && journal.feedbackStatus(b) == .pending)
        #expect(try journal.feedbackSamples().map(\.feedbackID) == [b], "a rejected verdict is left out of later updates")
        try journal.recordModelUpdate(ModelUpdateRecord(wallNanoseconds: 2, baseVersion: 1, lastFeedbackID: b, outcome: .accepted, newVersion: 2),
                                      settling: [a, b])
        #expect(try journal.feedbackStatus(a) == .rejected, "settled once")
        #expect(try journal.feedbackStatus(b) == .learned)
        // Given again, the rejected verdict is pending once more (it replaces the rejected one).
        let again = try journal.recordFeedback(Self.feedback("anna", event: 1), samples: Self.samples, audit: nil)
        #expect(try again.replaced == a && journal.pendingFeedback() == [again.id])
    }

    @Test func theNewestSamplesAreTheUpdatesShare() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        for e in 1...30 {
            _ = try journal.recordFeedback(Self.feedback("anna", event: Int64(e)),
                                           samples: [FeedbackSample(features: [Float(e)], label: "healthy", bucket: .failure)], audit: nil)
        }
        let newest = try journal.feedbackSamples(limit: 5)
        #expect(newest.map { $0.sample.features[0] } == [26, 27, 28, 29, 30])
        #expect(try journal.feedbackSamples().count == 30)
    }

    @Test func retentionPrunesReadOnlyAuditEntriesAndCountsThemButNeverAPrivilegedOne() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        for i in 0..<60 {
            try journal.recordCommand(Self.audit("status", privileged: false))
            if i % 12 == 0 { try journal.recordCommand(Self.audit("safe-state enter #\(i)")) }
        }
        #expect(try journal.pruneAudit(keepReadOnly: 10, batch: 30) == 30)
        #expect(try journal.pruneAudit(keepReadOnly: 10, batch: 30) == 20)
        #expect(try journal.pruneAudit(keepReadOnly: 10, batch: 30) == 0)
        let left = try journal.auditLog(limit: 1000).map(\.value)
        #expect(left.filter(\.privileged).map(\.command).sorted() == (0..<5).map { "safe-state enter #\($0 * 12)" }.sorted())
        #expect(left.filter { !$0.privileged }.count == 10)
        #expect(try journal.auditEntriesPruned() == 50)
    }

    @Test func aReadOnlyFloodIsWrittenWithinItsBudgetAndPrivilegedEntriesAlways() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        var recorder = AuditRecorder(journal: journal, throttle: AuditThrottle(budget: 10, windowNanoseconds: 10_000_000_000))
        // 800 `status` a second for 10 s (injected time), a privileged command every second.
        let ms: UInt64 = 1_000_000
        for i in 0..<8_000 {
            let now = UInt64(i) * ms * 10 / 8
            try recorder.record(Self.audit("status", privileged: false), now: now)
            if i % 800 == 0 { try recorder.record(Self.audit("ack \(i)"), now: now) }
        }
        try recorder.record(Self.audit("status", privileged: false), now: 10_000 * ms) // opens the next window
        let log = try journal.auditLog(limit: 10_000).map(\.value)
        #expect(log.filter(\.privileged).count == 10, "every privileged entry is written")
        let readOnly = log.filter { !$0.privileged }
        #expect(readOnly.count == 10 + 1 + 1, "10 in the window, its summary, the next window's first: \(readOnly.count)")
        #expect(readOnly.contains { $0.command == "(7990 more read-only commands, not logged one by one: status ×7990)" })
        print("audit flood: 8001 status from a viewer in 10 s -> \(readOnly.count) read-only audit rows (before: 8001)")
    }

    @Test func aDamagedVersionIsMarkedInTheRegistry() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        try journal.registerModel(ModelVersion(version: 1, parentVersion: nil, createdWallNanoseconds: 1, filePath: "/m1", sha256: "aa", deployed: true))
        try journal.markDamaged(version: 1, reason: "SHA-256 differs")
        #expect(try journal.modelHistory().first?.damaged == "SHA-256 differs")
    }
}
