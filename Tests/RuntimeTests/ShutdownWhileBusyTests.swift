import Foundation
import Testing
import VigilCore
import Journal
#if canImport(Glibc)
import Glibc
#endif

/// A real `vigil demo` with its console on a pty: SIGTERM arrives while the console is in the
/// middle of a command; the outputs go safe at once (the controller stops before the console).
/// A smoke test with a wide window: time comes from the journal's own shutdown event.
@Suite(.serialized) struct ShutdownWhileBusyTests {
    /// Reads from `fd` until `pattern` shows up in what was read (or the bound passes).
    static func read(_ fd: Int32, until pattern: String, seconds: Double, into buffer: inout String) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if buffer.contains(pattern) { return true }
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&p, 1, 200) > 0 else { continue }
            var bytes = [UInt8](repeating: 0, count: 4096)
            let n = Glibc.read(fd, &bytes, bytes.count)
            if n > 0 { buffer += String(decoding: bytes[0..<n], as: UTF8.self) }
        }
        return buffer.contains(pattern)
    }

    static func send(_ fd: Int32, _ line: String) {
        let bytes = Array((line + "\r").utf8)
        _ = bytes.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count) }
    }

    @Test func sigtermDuringAConsoleCommandPutsTheOutputsSafeAtOnce() throws {
        let dir = NSTemporaryDirectory() + "vigil-busy-stop-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let journalPath = dir + "/journal.sqlite"
        let demo = try RunBinaryTests.Child(["demo", "--console", "pty", "--quiet", "--journal", journalPath, "--duration", "300"])
        let path = demo.consolePty()
        let pty = try #require(path, "vigil demo printed no console pty")
        let fd = open(pty, O_RDWR | O_NOCTTY)
        try #require(fd >= 0)
        defer { close(fd) }
        var seen = ""
        Self.send(fd, "")
        #expect(Self.read(fd, until: "vigil>", seconds: 60, into: &seen), "no prompt: \(seen)")
        Self.send(fd, "login operator")
        #expect(Self.read(fd, until: "PIN: ", seconds: 30, into: &seen))
        Self.send(fd, "1111")
        #expect(Self.read(fd, until: "logged in as operator", seconds: 30, into: &seen), "login failed: \(seen.suffix(300))")

        // A recent event without model features (the start-up safe state's end): the console used
        // to wait up to 5 s in `feedback` for features that never come.
        let journal = try Journal(path: journalPath)
        let event = try #require(try journal.recentEvents(limit: 5, kinds: [.safeStateLeft]).first)
        // `safe-state enter` typed right behind such a feedback.
        seen = ""
        Self.send(fd, "feedback \(event.id) confirm")
        let typed = Int64(Date().timeIntervalSince1970 * 1e9)
        Self.send(fd, "safe-state enter")
        #expect(Self.read(fd, until: "every output to its safe value", seconds: 60, into: &seen), "safe-state enter: \(seen.suffix(300))")
        var request: StoredEvent?
        #expect(eventually(within: 30) {
            request = (try? journal.recentEvents(limit: 20, kinds: [.safeStateEntered]))?.first { $0.code == SafeStateReason.operatorRequest.rawValue }
            return request != nil
        })
        if let request {
            let ms = Double(request.wallNanoseconds - typed) / 1e6
            print(String(format: "safe-state enter typed behind a feedback command -> outputs safe after %.0f ms", ms))
            #expect(ms < 2_500, "outputs safe \(ms) ms after safe-state enter was typed (the feedback command held the console)")
        }

        seen = ""
        Self.send(fd, "feedback \(event.id) confirm")
        usleep(300_000) // let the console thread take the command (not a synchronisation: either order must pass)
        let sent = Int64(Date().timeIntervalSince1970 * 1e9)
        demo.process.terminate() // SIGTERM
        let output = demo.wait()
        #expect(output.status == 0, "vigil demo: \(output.stderr.suffix(800))")

        let shutdown = try journal.recentEvents(limit: 20, kinds: [.safeStateEntered])
            .first { $0.code == SafeStateReason.shutdown.rawValue }
        let entered = try #require(shutdown, "no shutdown safe-state event in the journal")
        let milliseconds = Double(entered.wallNanoseconds - sent) / 1e6
        print(String(format: "SIGTERM during a console command -> outputs safe after %.0f ms", milliseconds))
        #expect(milliseconds < 2_500, "outputs safe \(milliseconds) ms after SIGTERM (the console's command held shutdown up)")
    }
}
