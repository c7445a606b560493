import Foundation
import Testing
import Journal
import Policy
import Monitor
@testable import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// `kill -9` of a real `vigil demo` while an operator pours feedback into its console: every
/// verdict that reached the journal has its audit entry (they commit in one transaction). On this
/// machine the window between two separate commits was too narrow for 40 kills to hit (the old
/// order also came out clean here); `FeedbackAuditTests` proves the transaction itself by
/// aborting the audit insert.
@Suite(.serialized) struct AuditKillTests {
    @Test func noFeedbackWithoutItsAuditEntryAfterKills() throws {
        let dir = NSTemporaryDirectory() + "vigil-audit-kill-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let journalPath = dir + "/journal.sqlite"
        // Events with stored model features, as a controller running the model would have left them.
        do {
            let journal = try Journal(path: journalPath)
            let set = try LearningSetFile.decode(DurableFile.read(PolicyServiceTests.learningSet))
            try journal.recordEventFeatures((0..<10_000).map { e in
                EventFeatures(eventID: Int64(10_000 + e), sensor: "TT-310", monotonicNanoseconds: 1,
                              samples: [set.golden[e % set.golden.count].features], modelVersion: 1, diagnosis: "healthy")
            })
        }
        var random = SystemRandomNumberGenerator()
        var next = 10_000
        let kills = 10
        for _ in 0..<kills {
            let demo = try RunBinaryTests.Child(["demo", "--console", "pty", "--quiet", "--journal", journalPath, "--duration", "300"])
            let path = demo.consolePty()
            let fd = open(try #require(path, "no console pty"), O_RDWR | O_NOCTTY | O_NONBLOCK)
            try #require(fd >= 0)
            var seen = ""
            ShutdownWhileBusyTests.send(fd, "login operator")
            _ = ShutdownWhileBusyTests.read(fd, until: "PIN: ", seconds: 30, into: &seen)
            ShutdownWhileBusyTests.send(fd, "1111")
            _ = ShutdownWhileBusyTests.read(fd, until: "logged in as operator", seconds: 30, into: &seen)
            // Verdicts as fast as the console takes them, then kill -9 at a random moment.
            let killAt = Date().addingTimeInterval(Double.random(in: 0.3...1.5, using: &random))
            // A few lines ahead of the console, so it is always in the middle of one.
            while Date() < killAt {
                for _ in 0..<4 {
                    ShutdownWhileBusyTests.send(fd, "feedback \(next) class drift")
                    next += 1
                }
                _ = ShutdownWhileBusyTests.read(fd, until: "vigil(operator)#", seconds: 0.02, into: &seen)
                seen = ""
            }
            kill(demo.process.processIdentifier, SIGKILL)
            _ = demo.wait()
            close(fd)
        }
        let journal = try Journal(path: journalPath)
        #expect(journal.integrityCheck())
        let feedback = try journal.feedback(limit: 100_000)
        let audited = Set(try journal.auditLog(limit: 100_000).map(\.value).filter { $0.command.hasPrefix("feedback ") }
            .compactMap { Int64($0.command.split(separator: " ")[1]) })
        let unaudited = feedback.filter { !audited.contains($0.value.eventID ?? -1) }
        print("kill -9 x\(kills) during a feedback flood: \(feedback.count) verdicts stored, \(unaudited.count) without an audit entry")
        #expect(feedback.count > 0)
        #expect(unaudited.isEmpty, "verdicts without their audit entry: \(unaudited.map(\.value.eventID))")
    }
}
