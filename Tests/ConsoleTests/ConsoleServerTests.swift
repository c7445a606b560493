import Foundation
import Synchronization
import Testing
@testable import Console
import HILShim
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

// MARK: Test doubles

/// What every handler of a test did, in order, plus the unsolicited text the test wants printed.
final class Recorder: @unchecked Sendable {
    private struct State {
        var calls: [String] = []
        var unsolicited: [String] = []
        var sessions = 0
    }
    private let state = Mutex(State())

    var calls: [String] { state.withLock { $0.calls } }
    func record(_ call: String) { state.withLock { $0.calls.append(call) } }
    func push(unsolicited text: String) { state.withLock { $0.unsolicited.append(text) } }
    var pendingUnsolicited: Int { state.withLock { $0.unsolicited.count } }
    func takeUnsolicited() -> String? {
        state.withLock { $0.unsolicited.isEmpty ? nil : $0.unsolicited.removeFirst() }
    }

    /// A fresh handler numbered 1, 2, … (the server calls this for every new session).
    func makeHandler() -> ConsoleLineHandler {
        let n = state.withLock { s -> Int in s.sessions += 1; return s.sessions }
        return RecordingHandler(session: n, recorder: self)
    }

    /// Waits (with a deadline, not a fixed sleep) until `condition` holds for the calls.
    func wait(timeout: Double = 5, until condition: ([String]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(calls) { return true }
            usleep(1000)
        }
        return condition(calls)
    }
}

/// The tiny session the transport tests talk to.
final class RecordingHandler: ConsoleLineHandler {
    let session: Int
    let recorder: Recorder
    init(session: Int, recorder: Recorder) { self.session = session; self.recorder = recorder }

    var prompt: String { "vigil> " }
    var nextLineIsSecret: Bool { false }
    func begin(nowNanoseconds: UInt64) -> String {
        recorder.record("begin \(session)")
        return "Vigil test console \(session)\n"
    }
    func handle(line: String, nowNanoseconds: UInt64) -> String {
        recorder.record("line \(line)")
        // A reply with a line end of each kind: `\n` becomes `\r\n`, an existing `\r\n` is not doubled.
        return line == "status" ? "state: running\r\nalarms: 0\n" : "ok: \(line)"
    }
    func handle(problem: LineProblem, nowNanoseconds: UInt64) -> String {
        recorder.record("problem \(problem)")
        return problem == .cancelled ? "" : "! \(problem)\n"
    }
    func poll(nowNanoseconds: UInt64) -> String? { recorder.takeUnsolicited() }
    func end(nowNanoseconds: UInt64) { recorder.record("end \(session)") }
}

/// Real sessions over one recording backend, made on the server's thread.
final class SessionFactory: @unchecked Sendable {
    let backend = RecordingBackend()
    let guardian = ConsoleSessionTests.guardian()
    func make() -> ConsoleLineHandler {
        ConsoleSession(backend: backend,
                       settings: .init(source: "console:test",
                                       pins: [.operator: ConsoleSessionTests.operatorPIN, .engineer: ConsoleSessionTests.engineerPIN]),
                       loginGuard: guardian)
    }
}

/// The carrier a test raises and drops.
final class CarrierLine: Sendable {
    let up = Atomic<Bool>(false)
}

final class LogSink: @unchecked Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    func wait(timeout: Double = 5, forLineContaining text: String) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if all.contains(where: { $0.contains(text) }) { return true }
            usleep(1000)
        }
        return false
    }
}

// MARK: The test's side of the line

/// The far end of a console line (a pty master, a socat pty, a pipe): writes what the operator
/// types, reads what the console prints, and waits for text with a deadline.
final class Peer {
    let fd: Int32
    private(set) var received: [UInt8] = []
    private var cursor = 0

    init(fd: Int32) {
        self.fd = fd
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }

    var text: String { String(decoding: received, as: UTF8.self) }

    func close() { Glibc.close(fd) }

    /// Reads whatever is there (up to `timeout` for the first byte).
    @discardableResult
    func pump(timeout milliseconds: Int32 = 0) -> Int {
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&p, 1, milliseconds) == 1 else { return 0 }
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { break }
            received += buffer[0..<n]
            total += n
        }
        return total
    }

    /// Writes everything (waiting for room with a deadline), reading meanwhile so neither side stalls.
    func send(_ bytes: [UInt8], timeout: Double = 10) {
        var offset = 0
        let deadline = Date().addingTimeInterval(timeout)
        while offset < bytes.count, Date() < deadline {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, min($0.count, 4096)) }
            if n > 0 { offset += n; pump(); continue }
            var p = [pollfd(fd: fd, events: Int16(POLLOUT | POLLIN), revents: 0)]
            _ = poll(&p, 1, 10)
            pump()
        }
    }

    func send(_ s: String) { send(Array(s.utf8)) }

    /// Reads until `expected` appears after what earlier calls already matched; moves past it.
    func expect(_ expected: String, timeout: Double = 5) -> Bool {
        let needle = Array(expected.utf8)
        let deadline = Date().addingTimeInterval(timeout)
        var searchFrom = cursor
        while true {
            if let at = find(needle, from: searchFrom) {
                cursor = at + needle.count
                return true
            }
            searchFrom = max(cursor, received.count - needle.count + 1)
            if Date() >= deadline { return false }
            pump(timeout: 20)
        }
    }

    private func find(_ needle: [UInt8], from start: Int) -> Int? {
        guard needle.count <= received.count else { return nil }
        var i = max(0, start)
        while i + needle.count <= received.count {
            if received[i] == needle[0], received[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }
}

/// A pty pair the test owns: the master end for the test, the slave path for the server.
private func openPTYPair() throws -> (master: Peer, slavePath: String) {
    var name = [CChar](repeating: 0, count: 128)
    let m = vigil_open_pty_master(O_RDWR | O_NOCTTY, &name, name.count)
    guard m >= 0 else { throw TestFailure("posix_openpt: errno \(errno)") }
    return (Peer(fd: m), String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
}

private func makeRaw(_ fd: Int32) {
    var t = termios()
    tcgetattr(fd, &t)
    cfmakeraw(&t)
    tcsetattr(fd, TCSANOW, &t)
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

private let clock: @Sendable () -> UInt64 = { SystemMonotonicClock().nowNanoseconds() }

private func server(_ endpoint: ConsoleEndpoint, _ recorder: Recorder, _ logs: LogSink, maxLineBytes: Int = 256) -> ConsoleServer {
    ConsoleServer(endpoint: endpoint, makeHandler: { recorder.makeHandler() }, maxLineBytes: maxLineBytes,
                  monotonicNow: clock, log: { logs.append($0) })
}

/// Waits for `condition` with a deadline.
private func eventually(timeout: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(1000)
    }
    return condition()
}

/// A started server on the slave side of a fresh pty pair (opened as a serial port), and the peer
/// that types on the master side. Stop the console and close the peer when done.
private func servedOnPTY(baud: Int) throws -> (peer: Peer, console: ConsoleServer, recorder: Recorder, logs: LogSink) {
    let (peer, path) = try openPTYPair()
    let recorder = Recorder(), logs = LogSink()
    let console = server(.serial(SerialSettings(path: path, baud: baud)), recorder, logs)
    do { try console.start() } catch {
        peer.close()
        throw error
    }
    return (peer, console, recorder, logs)
}

// MARK: Tests

@Suite("Console server over real ptys, pipes and a socat pair", .serialized)
struct ConsoleServerTests {
    @Test func serialLineAnswersATypedLineWithCRLFAndAPrompt() throws {
        let (peer, console, recorder, logs) = try servedOnPTY(baud: 9600)
        defer { console.stop(); peer.close() }

        #expect(peer.expect("Vigil test console 1\r\nvigil> "))
        peer.send("status\r")
        #expect(peer.expect("status\r\nstate: running\r\nalarms: 0\r\nvigil> "))
        #expect(recorder.calls == ["begin 1", "line status"])
        // The line is raw: no canonical mode, no echo by the kernel, no output processing, VMIN=1 (a read of 0 is a hang-up).
        var t = termios()
        #expect(tcgetattr(peer.fd, &t) == 0)
        #expect(t.c_lflag & tcflag_t(ICANON | ECHO | ISIG) == 0)
        #expect(t.c_oflag & tcflag_t(OPOST) == 0)
        #expect(t.c_iflag & tcflag_t(IXON | ICRNL) == 0)
        #expect(withUnsafeBytes(of: t.c_cc) { $0[Int(VMIN)] } == 1)
        #expect(cfgetospeed(&t) == speed_t(B9600))
    }

    @Test func backspaceEditingWorksEndToEnd() throws {
        let (peer, console, recorder, logs) = try servedOnPTY(baud: 115_200)
        defer { console.stop(); peer.close() }

        #expect(peer.expect("vigil> "))
        peer.send("stx\u{7F}atus\u{1B}[D\r\n")
        #expect(peer.expect("stx\u{8} \u{8}atus\r\nstate: running"))
        peer.send("pump\u{15}valve\r")
        #expect(peer.expect("pump\u{8} \u{8}\u{8} \u{8}\u{8} \u{8}\u{8} \u{8}valve\r\nok: valve\r\nvigil> "))
        #expect(recorder.calls == ["begin 1", "line status", "line valve"])
        #expect(console.linesHandled == 2)
    }

    @Test func unsolicitedTextAppearsAboveThePartialLineWhichIsRedrawn() throws {
        let (peer, console, recorder, logs) = try servedOnPTY(baud: 115_200)
        defer { console.stop(); peer.close() }

        #expect(peer.expect("vigil> "))
        peer.send("sta")
        #expect(peer.expect("sta"))
        recorder.push(unsolicited: "ALARM discharge pressure high\nsince 12:00:01")
        #expect(peer.expect("\r\nALARM discharge pressure high\r\nsince 12:00:01\r\nvigil> sta"))
        peer.send("tus\r")
        #expect(peer.expect("tus\r\nstate: running"))
        #expect(recorder.calls.last == "line status")
    }

    @Test func lostSerialLineIsReopenedWithAFreshSession() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-console-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a").path, b = dir.appendingPathComponent("b").path

        func startSocat() throws -> Process {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/socat")
            p.arguments = ["pty,raw,echo=0,link=\(a)", "pty,raw,echo=0,link=\(b)"]
            try p.run()
            let up = eventually { FileManager.default.fileExists(atPath: a) && FileManager.default.fileExists(atPath: b) }
            guard up else { kill(p.processIdentifier, SIGKILL); throw TestFailure("socat did not create \(a) and \(b)") }
            return p
        }
        func openPeer() throws -> Peer {
            let fd = open(b, O_RDWR | O_NOCTTY | O_NONBLOCK)
            guard fd >= 0 else { throw TestFailure("open \(b): errno \(errno)") }
            makeRaw(fd)
            return Peer(fd: fd)
        }

        // SIGKILL: a child of a test worker thread inherits its blocked SIGTERM. The kernel closes socat's
        // pty masters either way; its link files stay behind, and go as a vanished device node would.
        func killSocat(_ p: Process) {
            guard p.isRunning else { return }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            unlink(a)
            unlink(b)
        }
        var socat = try startSocat()
        defer { killSocat(socat) }
        var peer = try openPeer()
        let recorder = Recorder(), logs = LogSink()
        let console = server(.serial(SerialSettings(path: a, baud: 115_200)), recorder, logs)
        try console.start()
        defer { console.stop() }
        #expect(peer.expect("Vigil test console 1\r\nvigil> "))
        peer.send("status\r")
        #expect(peer.expect("state: running"))

        // The adapter goes away: the server ends the session and says so once.
        killSocat(socat)
        peer.close()
        #expect(logs.wait(forLineContaining: "console \(a) lost: "))
        #expect(recorder.wait { $0.contains("end 1") })

        // It comes back under the same name: a new, separate session starts on it.
        socat = try startSocat()
        peer = try openPeer()
        defer { peer.close() }
        #expect(peer.expect("Vigil test console 2\r\nvigil> ", timeout: 5))
        peer.send("status\r")
        #expect(peer.expect("state: running\r\nalarms: 0\r\nvigil> "))
        #expect(console.reopens == 1)
        #expect(recorder.calls == ["begin 1", "line status", "end 1", "begin 2", "line status"])
        let lines = logs.all
        #expect(lines.filter { $0.contains("lost") }.count == 1)
        #expect(lines.filter { $0.contains("reopened") }.count == 1)
        #expect(lines.filter { $0.contains("still retrying") }.count <= 1)
        #expect(lines.allSatisfy { $0.contains("retrying every 1 s") || !$0.contains("lost") })
    }

    /// `vigil run` with the plant file's port not plugged in at start: the controller runs, the
    /// console waits for the port and starts its first session once it appears.
    @Test func portMissingAtStartIsWaitedForWhenAsked() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-console-wait-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a").path, b = dir.appendingPathComponent("b").path
        let recorder = Recorder(), logs = LogSink()
        // Without waiting, a missing port is the error it always was.
        #expect(throws: ConsoleTransportError.self) { try server(.serial(SerialSettings(path: a)), Recorder(), LogSink()).start() }
        let console = server(.serial(SerialSettings(path: a)), recorder, logs)
        try console.start(waitingForPort: true)
        defer { console.stop() }
        #expect(logs.wait(forLineContaining: "retrying every 1 s"))
        #expect(recorder.calls.isEmpty, "no session before the port exists")

        let socat = Process()
        socat.executableURL = URL(fileURLWithPath: "/usr/bin/socat")
        socat.arguments = ["pty,raw,echo=0,link=\(a)", "pty,raw,echo=0,link=\(b)"]
        try socat.run()
        defer { kill(socat.processIdentifier, SIGKILL); socat.waitUntilExit() } // SIGKILL: see the reopen test
        try #require(eventually { FileManager.default.fileExists(atPath: a) && FileManager.default.fileExists(atPath: b) })
        let fd = open(b, O_RDWR | O_NOCTTY | O_NONBLOCK)
        try #require(fd >= 0)
        makeRaw(fd)
        let peer = Peer(fd: fd)
        defer { peer.close() }
        #expect(peer.expect("Vigil test console 1\r\nvigil> ", timeout: 5))
        peer.send("status\r")
        #expect(peer.expect("state: running"))
    }

    /// The issue's case: an engineer logs in on the pty, the terminal closes; the next terminal to
    /// attach gets a new session as viewer, is asked for a PIN, and sees nothing of the last one's.
    @Test func aPtyTerminalThatGoesAwayTakesItsSessionWithIt() throws {
        let sessions = SessionFactory(), logs = LogSink()
        let console = ConsoleServer(endpoint: .pty, makeHandler: { sessions.make() }, maxLineBytes: 256,
                                    monotonicNow: clock, log: { logs.append($0) })
        try console.start()
        defer { console.stop() }
        let path = try #require(console.ptyPath)
        func attach() throws -> Peer {
            let fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK)
            guard fd >= 0 else { throw TestFailure("open \(path): errno \(errno)") }
            makeRaw(fd)
            return Peer(fd: fd)
        }
        let first = try attach()
        #expect(first.expect("You are viewer"))
        first.send("login engineer\r")
        #expect(first.expect("PIN: "))
        first.send("2222\r")
        #expect(first.expect("****\r\nlogged in as engineer\r\nvigil(engineer)# "))
        first.send("safe-st")   // a partial line, left behind
        first.close()
        #expect(logs.wait(forLineContaining: "the terminal detached"))

        let second = try attach()
        defer { second.close() }
        #expect(second.expect("You are viewer"))
        second.send("whoami\r")
        #expect(second.expect("whoami\r\nviewer on console:test\r\nvigil> "))
        second.send("ate enter\r")   // the partial line did not survive: this is no command
        #expect(second.expect("the first word is not a command"))
        second.send("login engineer\r")
        #expect(second.expect("PIN: "))
        #expect(!second.text.contains("engineer#") && !second.text.contains("logged in"))
        #expect(console.sessionsBegun == 2)
        #expect(sessions.backend.audits.contains { $0.command == "(session ended)" && $0.actor.role == .engineer })
    }

    /// `carrier_detect`: CLOCAL is off (HUPCL on), no session runs while the carrier is down, a
    /// carrier drop ends the session and the port is reopened fresh; the next session is a viewer's.
    @Test func carrierLossEndsTheSessionOnALineWithCarrierDetect() throws {
        let (peer, path) = try openPTYPair()
        defer { peer.close() }
        let line = CarrierLine()
        let sessions = SessionFactory(), logs = LogSink()
        let console = ConsoleServer(endpoint: .serial(SerialSettings(path: path, carrierDetect: true)), makeHandler: { sessions.make() },
                                    maxLineBytes: 256, monotonicNow: clock, log: { logs.append($0) }, stdioInput: 0, stdioOutput: 1,
                                    carrier: { _ in line.up.load(ordering: .acquiring) })
        try console.start()
        defer { console.stop() }
        var t = termios()
        #expect(tcgetattr(peer.fd, &t) == 0)   // a pty master reads its slave's settings
        #expect(t.c_cflag & tcflag_t(CLOCAL) == 0 && t.c_cflag & tcflag_t(HUPCL) != 0)
        usleep(300_000)   // three poll periods with the carrier down: still no session
        #expect(console.sessionsBegun == 0 && !peer.text.contains("viewer"))

        line.up.store(true, ordering: .releasing)
        #expect(peer.expect("You are viewer"))
        peer.send("login engineer\r")
        #expect(peer.expect("PIN: "))
        peer.send("2222\r")
        #expect(peer.expect("logged in as engineer"))
        line.up.store(false, ordering: .releasing)
        #expect(logs.wait(forLineContaining: "lost: carrier lost"))
        #expect(logs.wait(forLineContaining: "waiting for the carrier"))
        #expect(sessions.backend.audits.contains { $0.command == "(session ended)" && $0.actor.role == .engineer })
        line.up.store(true, ordering: .releasing)
        #expect(peer.expect("You are viewer"))
        peer.send("whoami\r")
        #expect(peer.expect("viewer on console:test"))
        #expect(console.sessionsBegun == 2 && console.reopens == 1)
    }

    @Test func ptyEndpointServesWhoeverAttachesToItsPath() throws {
        let recorder = Recorder(), logs = LogSink()
        let console = server(.pty, recorder, logs)
        try console.start()
        defer { console.stop() }
        let path = try #require(console.ptyPath)
        #expect(FileManager.default.fileExists(atPath: path))

        // Attach like `screen PATH` would: open the slave and make it raw. The session (and its banner) begins now.
        let fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK)
        try #require(fd >= 0)
        makeRaw(fd)
        let peer = Peer(fd: fd)
        defer { peer.close() }
        #expect(peer.expect("Vigil test console 1\r\nvigil> "))
        peer.send("status\r")
        #expect(peer.expect("status\r\nstate: running\r\nalarms: 0\r\nvigil> "))
        // Our own output is not echoed back to the server by the slave's line discipline.
        #expect(recorder.calls == ["begin 1", "line status"])
    }

    @Test func thePeerThatNeverReadsCannotBlockOrGrowTheServer() throws {
        let recorder = Recorder(), logs = LogSink()
        let console = server(.pty, recorder, logs)
        try console.start()
        defer { console.stop() }
        // A terminal attaches and never reads.
        let path = try #require(console.ptyPath)
        let fd = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK)
        try #require(fd >= 0)
        makeRaw(fd)
        let peer = Peer(fd: fd)
        defer { peer.close() }
        #expect(recorder.wait { $0 == ["begin 1"] })
        // 400 kB of alarms: the kernel's pty buffers and the server's 64 KiB take some, the rest is dropped
        // and counted.
        let chunk = String(repeating: "x", count: 50_000)
        for _ in 0..<8 { recorder.push(unsolicited: chunk) }
        #expect(eventually { recorder.pendingUnsolicited == 0 })
        #expect(eventually { console.bytesDropped > 400_000 - ConsoleServer.outputCapacity - 150_000 })
        #expect(console.isServing)

        // It starts reading: the server still answers.
        peer.send("\u{3}hello\r")
        #expect(peer.expect("hello\r\nok: hello\r\nvigil> ", timeout: 10))
        #expect(recorder.calls.contains("line hello"))
    }

    @Test func aFloodOfInputKeepsTheServerAnswering() throws {
        let (peer, console, recorder, logs) = try servedOnPTY(baud: 921_600)
        defer { console.stop(); peer.close() }
        #expect(peer.expect("vigil> "))

        var rng = SplitMix64(seed: 42)
        var flood = [UInt8]()
        flood.reserveCapacity(1 << 20)
        while flood.count < 1 << 20 {
            if rng.next() % 64 == 0 { flood.append(0x0A) } else { flood.append(UInt8(truncatingIfNeeded: rng.next())) }
        }
        peer.send(flood, timeout: 30)
        // Ctrl-C leaves any escape sequence or over-long line the random bytes began.
        peer.send("\u{3}status\r")
        #expect(peer.expect("status\r\nstate: running\r\nalarms: 0\r\nvigil> ", timeout: 30))
        #expect(console.isServing)
        #expect(console.bytesIn == flood.count + 8)
        #expect(console.linesHandled > (1 << 20) / 64 / 2)
        #expect(console.bytesDropped >= 0 && console.bytesDropped < console.bytesIn * 8)
        #expect(logs.all.filter { $0.contains("lost") }.isEmpty)
        print("flood: in \(console.bytesIn) B, out \(peer.received.count) B read by the test, dropped \(console.bytesDropped) B, \(console.linesHandled) lines")
    }

    @Test func stdioPipeTakesLFLinesWithoutEchoAndEndsAtEOF() throws {
        var input: [Int32] = [0, 0], output: [Int32] = [0, 0]
        try #require(pipe(&input) == 0 && pipe(&output) == 0)
        let peerOut = Peer(fd: output[0])
        defer { peerOut.close(); close(output[1]) }
        let recorder = Recorder(), logs = LogSink()
        let console = ConsoleServer(endpoint: .stdio, makeHandler: { recorder.makeHandler() }, maxLineBytes: 256,
                                    monotonicNow: clock, log: { logs.append($0) }, stdioInput: input[0], stdioOutput: output[1])
        try console.start()
        defer { console.stop(); close(input[0]) }

        #expect(peerOut.expect("Vigil test console 1\nvigil> "))
        let typed = "status\nx\u{7F}y\n"
        _ = write(input[1], typed, typed.utf8.count)
        // No echo on a pipe, and `\n` stays `\n`.
        #expect(peerOut.expect("state: running\r\nalarms: 0\nvigil> ok: y\nvigil> "))
        #expect(!peerOut.text.contains("status\n"))
        close(input[1])
        #expect(recorder.wait { $0.last == "end 1" })
        #expect(eventually { !console.isServing })
        #expect(recorder.calls == ["begin 1", "line status", "line y", "end 1"])
        #expect(console.reopens == 0)
    }

    @Test func stdioTerminalIsRawWhileServingAndRestoredAtStop() throws {
        let (peer, path) = try openPTYPair()
        defer { peer.close() }
        let tty = open(path, O_RDWR | O_NOCTTY)
        try #require(tty >= 0)
        defer { close(tty) }
        var before = termios()
        tcgetattr(tty, &before)
        #expect(before.c_lflag & tcflag_t(ICANON) != 0)
        let recorder = Recorder(), logs = LogSink()
        let console = ConsoleServer(endpoint: .stdio, makeHandler: { recorder.makeHandler() }, maxLineBytes: 256,
                                    monotonicNow: clock, log: { logs.append($0) }, stdioInput: tty, stdioOutput: tty)
        try console.start()
        #expect(peer.expect("vigil> "))
        var during = termios()
        tcgetattr(tty, &during)
        #expect(during.c_lflag & tcflag_t(ICANON | ECHO | ISIG) == 0)
        peer.send("ab\u{7F}c\r")
        // The editor echoes on a terminal; the terminal's own output processing turns `\n` into `\r\n`.
        #expect(peer.expect("ab\u{8} \u{8}c\r"))
        #expect(peer.expect("ok: ac\r\nvigil> "))
        console.stop()
        var after = termios()
        tcgetattr(tty, &after)
        #expect(after.c_lflag == before.c_lflag)
        #expect(after.c_iflag == before.c_iflag)
        #expect(recorder.calls == ["begin 1", "line ac", "end 1"])
    }

    @Test func stopEndsTheSessionJoinsTheNamedThreadAndIsIdempotent() throws {
        let recorder = Recorder(), logs = LogSink()
        let consoleThreads = { threadNames().filter { $0 == "vigil-console" }.count }
        let before = consoleThreads()
        let console = server(.pty, recorder, logs)
        try console.start()
        #expect(eventually { consoleThreads() == before + 1 })
        // The session begins when a terminal attaches.
        let fd = open(try #require(console.ptyPath), O_RDWR | O_NOCTTY | O_NONBLOCK)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(recorder.wait { $0 == ["begin 1"] })
        console.stop()
        console.stop()
        #expect(recorder.calls == ["begin 1", "end 1"])
        #expect(!console.isServing)
        // A joined thread can linger in /proc for a moment while the kernel finishes its exit.
        #expect(eventually { consoleThreads() == before })
        #expect(throws: ConsoleTransportError.self) { try console.start() }
    }

    private func threadNames() -> [String] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task")) ?? []
        return tasks.compactMap { try? String(contentsOfFile: "/proc/self/task/\($0)/comm", encoding: .utf8) }
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }
}

@Suite("Serial settings and the serial port's errors")
struct SerialSettingsTests {
    @Test func framingStringsParse() throws {
        func parsed(_ s: String) throws -> String {
            let f = try SerialSettings.framing(s)
            return "\(f.dataBits) \(f.parity) \(f.stopBits)"
        }
        #expect(try parsed("8N1") == "8 none 1")
        #expect(try parsed("7E1") == "7 even 1")
        #expect(try parsed("8E2") == "8 even 2")
        #expect(try parsed("5o2") == "5 odd 2")
        for bad in ["", "8N", "9N1", "4N1", "8X1", "8N3", "8N1 ", "N81"] {
            #expect(throws: ConsoleTransportError.invalidFraming(bad)) { try SerialSettings.framing(bad) }
        }
        let s = try SerialSettings(path: "/dev/ttyUSB0", baud: 19_200, framing: "7e1")
        #expect(s == SerialSettings(path: "/dev/ttyUSB0", baud: 19_200, dataBits: 7, parity: .even, stopBits: 1))
        #expect(s.framing == "7E1")
    }

    @Test func unsupportedBaudNamesThePathAndTheSupportedRates() {
        do {
            _ = try SerialPort.open(SerialSettings(path: "/dev/ttyUSB7", baud: 14_400))
            Issue.record("opened with 14400 baud")
        } catch {
            #expect(error == .unsupportedBaud(path: "/dev/ttyUSB7", baud: 14_400, supported: SerialSettings.supportedBauds))
            #expect(error.description.contains("/dev/ttyUSB7"))
            #expect(error.description.contains("1200") && error.description.contains("921600"))
        }
        #expect(SerialSettings.supportedBauds.first == 1200 && SerialSettings.supportedBauds.last == 921_600)
    }

    @Test func missingDeviceIsNotFound() {
        do {
            _ = try SerialPort.open(SerialSettings(path: "/dev/ttyVIGIL-absent"))
            Issue.record("opened a missing device")
        } catch {
            guard case let .notFound(path, detail) = error else { Issue.record("\(error)"); return }
            #expect(path == "/dev/ttyVIGIL-absent")
            #expect(detail == "No such file or directory")
        }
    }

    @Test func aFileThatIsNotATerminalIsRefused() {
        #expect(throws: ConsoleTransportError.notATerminal(path: "/dev/null")) {
            try SerialPort.open(SerialSettings(path: "/dev/null"))
        }
    }

    @Test func permissionDeniedSuggestsTheDialoutGroup() {
        let error = SerialPort.openError(path: "/dev/ttyAMA0", errno: EACCES)
        #expect(error == .permissionDenied(path: "/dev/ttyAMA0", detail: "Permission denied"))
        #expect(error.description.contains("dialout"))
        #expect(error.description.contains("/dev/ttyAMA0"))
    }

    @Test func badDataOrStopBitsAreRefusedBeforeOpening() {
        #expect(throws: ConsoleTransportError.self) { try SerialPort.open(SerialSettings(path: "/dev/null", dataBits: 9)) }
        #expect(throws: ConsoleTransportError.self) { try SerialPort.open(SerialSettings(path: "/dev/null", stopBits: 3)) }
    }

    @Test func framingIsAppliedToTheLine() throws {
        let (peer, path) = try openPTYPair()
        defer { peer.close() }
        let port = try SerialPort.open(SerialSettings(path: path, baud: 57_600, dataBits: 8, parity: .odd, stopBits: 2))
        defer { port.close() }
        var t = termios()
        #expect(tcgetattr(port.descriptor, &t) == 0)
        #expect(cfgetispeed(&t) == speed_t(B57600))
        #expect(t.c_cflag & tcflag_t(CLOCAL | CREAD) == tcflag_t(CLOCAL | CREAD))
        #expect(t.c_lflag & tcflag_t(ICANON | ECHO) == 0)
    }
}
