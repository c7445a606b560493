import Foundation
import Testing
import Journal
import Kernel
import Policy
import Monitor
@testable import Runtime
#if canImport(Glibc)
import Glibc
#endif

/// A real `vigil demo` whose deployed model and its ancestors are damaged on disk: it runs on its
/// rules, the console says why and raises a system alarm, history marks the damaged versions, and
/// an engineer rolls back to an intact version from the console (confirmed, audited).
@Suite(.serialized) struct DamagedModelConsoleTests {
    @Test func theConsoleSaysWhyAndAnEngineerRollsBack() throws {
        let dir = NSTemporaryDirectory() + "vigil-damaged-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let journalPath = dir + "/journal.sqlite"
        do {
            let store = try ModelStore(directory: dir + "/models", journal: Journal(path: journalPath), expectedFeatures: SensorFeatures.names)
            try store.installIfEmpty(shippedModelAt: PolicyServiceTests.shipped, wallNanoseconds: 1)
            let model = try store.load(version: 1).model
            try store.add(model, parent: 1, trainingSummary: "update", validationJSON: "{}", deploy: true, wallNanoseconds: 2)
            try store.add(model, parent: 1, trainingSummary: "branch", validationJSON: "{}", deploy: false, wallNanoseconds: 3)
            try ModelFallbackTests.damage(store.path(version: 2))
            try ModelFallbackTests.damage(store.path(version: 1))
            // The live figures v2 earned before its file was damaged (the model watch's record).
            try store.journal.recordModelWatch([ModelWatchFigures(version: 2, lineage: "site", baseline: 0.9, baselineSource: "first window",
                                                                  recent: Array(repeating: true, count: 16) + Array(repeating: false, count: 4),
                                                                  outcomes: 20, agreed: 16)], wallNanoseconds: 2)
        }
        let demo = try RunBinaryTests.Child(["demo", "--console", "pty", "--quiet", "--journal", journalPath, "--duration", "300"])
        defer { if demo.process.isRunning { demo.process.terminate() }; _ = demo.wait() }
        let path = demo.consolePty()
        let fd = open(try #require(path, "no console pty"), O_RDWR | O_NOCTTY)
        try #require(fd >= 0)
        defer { close(fd) }
        func say(_ line: String, expect pattern: String, thenPrompt: Bool = true) -> String {
            var seen = ""
            ShutdownWhileBusyTests.send(fd, line)
            let ok = ShutdownWhileBusyTests.read(fd, until: pattern, seconds: 30, into: &seen)
            #expect(ok, "'\(line)' should answer \(pattern): \(seen.suffix(600))")
            // The rest of the reply, up to the next prompt.
            let end = seen.range(of: pattern)?.upperBound ?? seen.endIndex
            var rest = String(seen[end...])
            if thenPrompt { _ = ShutdownWhileBusyTests.read(fd, until: "vigil", seconds: 30, into: &rest) }
            return String(seen[..<end]) + rest
        }
        _ = say("", expect: "vigil>", thenPrompt: false)
        let model = say("model", expect: "no policy model is running")
        #expect(model.contains("no policy model is running") && model.contains("no version of the deployed lineage loads")
                && model.contains("v2:") && model.contains("SHA-256"), "model: \(model)")
        let info = say("model info", expect: "live agreement")
        #expect(info.contains("no policy model is running") && info.contains("80%") && info.contains("90% (first window)")
                && info.contains("watching"), "model info: \(info)")
        let alarms = say("alarms", expect: "SYSTEM ALARM")
        #expect(alarms.contains("SYSTEM ALARM"), "alarms: \(alarms)")
        let history = say("model history", expect: "VERSION")
        #expect(history.components(separatedBy: "DAMAGED").count - 1 == 2, "history: \(history)")
        _ = say("model rollback 3", expect: "needs engineer")
        _ = say("login engineer", expect: "PIN: ", thenPrompt: false)
        _ = say("2222", expect: "logged in as engineer")
        _ = say("model rollback 3", expect: "Type yes", thenPrompt: false)
        let done = say("yes", expect: "deployed in the registry")
        #expect(done.contains("policy model v3 deployed in the registry") && done.contains("next start"), "rollback: \(done)")

        let journal = try Journal(path: journalPath)
        #expect(try journal.deployedModel()?.version == 3)
        #expect(try journal.auditLog(limit: 100).map(\.value).contains {
            $0.command == "model rollback 3" && $0.role == "engineer" && $0.result.hasPrefix("ok: policy model v3 deployed")
        }, "the rollback's audit entry")
    }
}
