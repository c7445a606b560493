import Foundation
import Testing
import Journal
#if canImport(Glibc)
import Glibc
#endif

/// The operator console end to end: the real `vigil demo` serves its console on one end of a socat
/// pty pair (opened as a serial device, termios and all); an independent client (Python's pexpect,
/// `hil/console/operator-session.py`) types on the other end like an operator would, through a
/// session that sees an injected fault's alarm, explains the detection, gives feedback and sees the
/// model update's verdict, acknowledges the alarm, and meets roles, PINs, confirmations and bad
/// input. Afterwards the journal's audit log must hold every command with its role and result,
/// and never a PIN.
@Suite(.serialized) struct ConsoleEndToEndTests {
    static let root = RunBinaryTests.root

    /// Polls for a path to appear (socat creates its links once the ptys are open).
    static func waitForPath(_ path: String, seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if FileManager.default.fileExists(atPath: path) { return true }
            usleep(20_000) // polling a file system condition with a deadline, not synchronising on time
        }
        return false
    }

    /// `hil/console/session-security.py` against the real `vigil demo --console pty`: an engineer's
    /// terminal closes and the next one is a viewer's; the PIN attempt set leaves no PIN in
    /// the audit log, the log output or anything the terminal showed; a lockout survives `kill -9`
    /// and a restart on the same journal.
    @Test func sessionSecurityEndToEnd() throws {
        try #require(FileManager.default.isExecutableFile(atPath: RunBinaryTests.binary), "build the binary first: swift build")
        let dir = NSTemporaryDirectory() + "vigil-session-security-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        client.arguments = [Self.root + "/hil/console/session-security.py", "--vigil", RunBinaryTests.binary, "--workdir", dir]
        let out = Pipe(), err = Pipe()
        client.standardOutput = out
        client.standardError = err
        try client.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        client.waitUntilExit()
        try #require(client.terminationStatus == 0, "session-security.py failed: \(stderr.suffix(2000))")
        let result = try #require(try JSONSerialization.jsonObject(with: stdout) as? [String: Any])
        #expect(result["role_after_reattach"] as? String == "viewer")
        #expect(result["locked_before_restart"] as? Bool == true)
        #expect(result["locked_after_kill_and_restart"] as? Bool == true)
        let pins = try #require(result["pin_occurrences"] as? [String: Int])
        #expect(pins == ["audit_log": 0, "log": 0, "terminal": 0])
        #expect((result["audit_rows"] as? Int ?? 0) >= 15, "the attempt set is audited")
    }

    @Test func operatorSessionOverASocatPtyPair() throws {
        let dir = NSTemporaryDirectory() + "vigil-console-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let vigilEnd = dir + "/vigil-end", operatorEnd = dir + "/operator-end"

        let socat = Process()
        socat.executableURL = URL(fileURLWithPath: "/usr/bin/socat")
        socat.arguments = ["pty,raw,echo=0,link=\(vigilEnd)", "pty,raw,echo=0,link=\(operatorEnd)"]
        try socat.run()
        // SIGKILL: a child started from a test worker thread inherits its blocked SIGTERM.
        defer { kill(socat.processIdentifier, SIGKILL); socat.waitUntilExit() }
        #expect(Self.waitForPath(vigilEnd, seconds: 10) && Self.waitForPath(operatorEnd, seconds: 10), "socat made no pty pair")

        let journalPath = dir + "/journal.sqlite"
        let demo = try RunBinaryTests.Child(["demo", "--console", vigilEnd, "--quiet", "--journal", journalPath, "--duration", "400",
                                             "--inject", "TT-301A stuck at 22s", "--inject", "device rtu-temps timeout at 30s"])
        let log = dir + "/console.log"
        let client = Process()
        client.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        client.arguments = [Self.root + "/hil/console/operator-session.py", operatorEnd, "--log", log]
        let clientErr = dir + "/client.err"
        _ = FileManager.default.createFile(atPath: clientErr, contents: nil)
        client.standardError = FileHandle(forWritingAtPath: clientErr)
        client.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try client.run()
        client.waitUntilExit()
        demo.process.interrupt()
        let output = demo.wait()

        let transcript = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        let why = (try? String(contentsOfFile: clientErr, encoding: .utf8)) ?? ""
        #expect(client.terminationStatus == 0, "operator session failed: \(why)\n--- console transcript (tail)\n\(transcript.suffix(3000))\n--- vigil stderr (tail)\n\(output.stderr.suffix(2000))")
        #expect(output.stdout.contains("interrupted; outputs to safe state"), "vigil demo did not stop in order: \(output.stdout.suffix(500))")

        // The audit trail: every command with its role and result, refused ones too; no PIN anywhere.
        let journal = try Journal(path: journalPath)
        let audit = try journal.auditLog(limit: 1000).map(\.value)
        func entry(_ command: String, role: String, resultPrefix: String) -> Bool {
            audit.contains { $0.command == command && $0.role == role && $0.result.hasPrefix(resultPrefix) }
        }
        #expect(entry("status", role: "viewer", resultPrefix: "ok: "))
        #expect(entry("ack 1", role: "viewer", resultPrefix: "refused: ack needs operator"))
        #expect(entry("login operator", role: "viewer", resultPrefix: "refused: wrong PIN"))
        #expect(entry("login operator", role: "viewer", resultPrefix: "ok: logged in as operator"))
        #expect(audit.contains { $0.command.hasPrefix("feedback ") && $0.role == "operator" && $0.result.hasPrefix("ok: feedback ") },
                "no accepted feedback in the audit log")
        #expect(audit.contains { $0.command.hasPrefix("ack ") && $0.role == "operator" && $0.result.contains("acknowledged") })
        #expect(entry("failover discharge-pressure PT-101C", role: "operator", resultPrefix: "refused: failover needs engineer"))
        #expect(entry("failover discharge-pressure PT-101C", role: "engineer", resultPrefix: "refused: failover cancelled"))
        #expect(entry("failover discharge-pressure PT-101C", role: "engineer", resultPrefix: "ok: discharge-pressure now follows PT-101C"))
        #expect(entry("(unreadable line)", role: "operator", resultPrefix: "refused: line too long"))
        #expect(audit.allSatisfy { $0.source.hasPrefix("console:") })
        #expect(!audit.contains { $0.command.contains("1111") || $0.command.contains("2222")
                    || ($0.command.hasPrefix("login") && ($0.result.contains("1111") || $0.result.contains("2222"))) },
                "a PIN reached the audit log")
        // Feedback acknowledged on the console is durable: it is in the journal after the run.
        #expect(try !journal.feedback(limit: 10).isEmpty)
    }
}
