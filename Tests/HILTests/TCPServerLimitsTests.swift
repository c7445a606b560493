import Foundation
import Testing
import HIL
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// A plain TCP socket to a simulated device: raw bytes, no libmodbus (whose `select` aborts on a
/// descriptor ≥ 1024 in this process too).
final class RawSocket {
    let fd: Int32

    /// Connects to 127.0.0.1:`port`; with `atOrAbove`, the socket is moved to a descriptor at or
    /// above that number (leaving low ones to others in this process).
    init(port: Int, atOrAbove floor: Int32? = nil) throws {
        var fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if let floor {
            let high = fcntl(fd, F_DUPFD, floor)
            close(fd)
            fd = high
        }
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port)).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if fd < 0 || rc != 0 {
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) { _ = bytes.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }

    /// Bytes received within `milliseconds` (stops at the first pause); nil when the server closed the connection.
    func receive(milliseconds: Int32) -> [UInt8]? {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 512)
        var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        var wait = milliseconds
        while poll(&p, 1, wait) > 0 {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return out.isEmpty ? nil : out }
            out += buf[0..<n]
            if out.count >= 7, out.count >= 6 + (Int(out[4]) << 8 | Int(out[5])) { return out }
            wait = 200
        }
        return out
    }

    /// Whether the server closed the connection (reads end of file within `milliseconds`).
    func closedByServer(milliseconds: Int32) -> Bool { receive(milliseconds: milliseconds) == nil }

    /// Reads 2 input registers at 0 (function 4) and returns the reply.
    func readInputRegisters(transaction: UInt16 = 1) -> [UInt8]? {
        send([UInt8(transaction >> 8), UInt8(transaction & 0xFF), 0, 0, 0, 6, 1, 4, 0, 0, 0, 2])
        return receive(milliseconds: 20_000)
    }
}

/// The simulated TCP server under many, slow and malformed clients (real sockets).
@Suite("Simulated TCP server limits", .serialized)
struct TCPServerLimitsTests {
    let model = PlantModel(plant: Fixture.plant, seed: 3)

    func device() throws -> SimulatedModbusDevice {
        try SimulatedModbusDevice(config: Fixture.pumpPLC, model: model, clock: ManualClock(startNanoseconds: 1_000_000_000), epochNanoseconds: 0)
    }

    /// More clients than `FD_SETSIZE` (1024) on `vigil sim` (a child process): before per-connection
    /// framing the server handed its sockets to libmodbus's `select()`, which aborted the process
    /// at descriptor 1024 (about 1,020 clients). This process keeps its own client sockets above
    /// descriptor 10000, so tests running beside it still get low descriptors for libmodbus.
    @Test func vigilSimServesClientsOnDescriptorsAboveFD_SETSIZEWithoutAborting() throws {
        var limit = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        guard limit.rlim_max >= 12_000 else {
            print("skipped: RLIMIT_NOFILE hard limit \(limit.rlim_max) < 12000")
            return
        }
        if limit.rlim_cur < 12_000 {
            limit.rlim_cur = 12_000
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        let sim = try CommandLineTests.Running(["sim", "--config", "configs/demo-pump-station.yaml", "--ephemeral-ports",
                                                "--max-connections", "1200", "--duration", "120"])
        defer { sim.process.terminate(); _ = sim.finish() }
        let line = try #require(sim.readUntil { $0.contains("tcp 127.0.0.1:") })
        let port = try #require(Int(line.split(separator: ":").last!.split(separator: " ").first!))
        var clients: [RawSocket] = []
        for _ in 0..<1_100 { clients.append(try RawSocket(port: port, atOrAbove: 10_000)) }
        // Requests on the newest clients (server descriptors above 1024) and on the oldest.
        for c in clients.suffix(5) + clients.prefix(2) {
            let reply = c.readInputRegisters()
            #expect(reply?.count == 13 && reply?[7] == 4, "reply \(String(describing: reply))")
        }
        #expect(sim.process.isRunning)
    }

    /// `vigil poll` (simulated rig and Vigil's client in one process) with descriptors 3...1100
    /// taken before it starts, so every socket it opens is above `FD_SETSIZE`: before, libmodbus's
    /// `select()` in the server and in the client's connect aborted it. TCP devices now read good;
    /// a serial port there (libmodbus's RTU reads still `select`) is refused as disconnected.
    @Test func vigilPollWithEveryDescriptorAboveFD_SETSIZEReadsTCPAndRefusesRTUCleanly() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", "ulimit -n 4096 2>/dev/null; for i in $(seq 3 1100); do eval \"exec $i</dev/null\"; done; exec \"$0\" poll --config configs/demo-pump-station.yaml --duration 1.5 --every 1",
                       CommandLineTests.binary]
        p.currentDirectoryURL = URL(fileURLWithPath: CommandLineTests.root)
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "\(text.suffix(2000))")
        #expect(!text.contains("FD_SETSIZE"))
        let lines = text.split(separator: "\n")
        for point in ["tank_level", "discharge_pressure_c", "pump1_running"] {
            #expect(lines.contains { $0.contains(" \(point) ") && $0.contains("good") }, "\(point) must read good")
        }
        #expect(lines.contains { $0.contains("water_temp_b") && $0.contains("bad(disconnected)") })
    }

    @Test func clientsBeyondTheCapAreRefusedCountedAndLoggedOncePerBurst() throws {
        let sim = try device()
        defer { sim.stop() }
        let notices = NoticeLog()
        let port = try sim.serveTCP(limits: TCPServerLimits(maxConnections: 8), notice: { notices.add($0) })
        var held: [RawSocket] = []
        for _ in 0..<8 { held.append(try RawSocket(port: port)) }
        #expect(eventually(within: 10) { sim.tcpConnections?.open == 8 })
        var excess: [RawSocket] = []
        for _ in 0..<40 { excess.append(try RawSocket(port: port)) }
        #expect(eventually(within: 10) { sim.tcpConnections?.refused == 40 })
        #expect(excess.allSatisfy { $0.closedByServer(milliseconds: 5_000) }, "a refused client reads end of file")
        #expect(notices.lines.count == 1, "one line per burst: \(notices.lines)")
        #expect(notices.lines.first?.contains("8 clients") == true)
        // Served clients are unaffected; a freed slot is taken by the next client.
        #expect(held[0].readInputRegisters()?.count == 13)
        held.removeLast()
        #expect(eventually(within: 10) { sim.tcpConnections?.open == 7 })
        let next = try RawSocket(port: port)
        #expect(next.readInputRegisters()?.count == 13)
        #expect(sim.tcpConnections?.open == 8)
        // A second burst is logged again.
        let more = try RawSocket(port: port)
        #expect(more.closedByServer(milliseconds: 5_000))
        #expect(eventually(within: 5) { notices.lines.count == 2 })
    }

    /// Before, the server waited up to libmodbus's 0.5 s byte timeout for each held partial
    /// request in turn: 20 holders cost another client about 9 s.
    @Test func aClientHoldingHalfARequestDelaysNoOtherClient() throws {
        let sim = try device()
        defer { sim.stop() }
        let port = try sim.serveTCP()
        var slow: [RawSocket] = []
        for _ in 0..<20 {
            let s = try RawSocket(port: port)
            s.send([0, 1, 0])  // 3 of the 7 MBAP header bytes, then nothing
            slow.append(s)
        }
        #expect(eventually(within: 10) { sim.tcpConnections?.open == 20 })
        usleep(100_000)
        let fast = try RawSocket(port: port)
        let start = Date()
        for t in 1...3 { #expect(fast.readInputRegisters(transaction: UInt16(t))?.count == 13) }
        let seconds = Date().timeIntervalSince(start)
        print("3 requests beside 20 clients holding partial headers: \(String(format: "%.3f", seconds)) s")
        // A wide window (before: ≥ 20 × 0.5 s per request); only a gross stall fails it.
        #expect(seconds < 5)
        // A held request may be completed later and is then answered.
        slow[0].send([0, 0, 6, 1, 4, 0, 0, 0, 2])
        #expect(slow[0].receive(milliseconds: 10_000)?.count == 13)
    }

    @Test func aPartialRequestHeldPastItsTimeoutLosesItsConnection() throws {
        let sim = try device()
        defer { sim.stop() }
        let port = try sim.serveTCP(limits: TCPServerLimits(partialRequestTimeoutMilliseconds: 100))
        let s = try RawSocket(port: port)
        s.send([0, 1, 0, 0, 0])
        #expect(s.closedByServer(milliseconds: 10_000))
        #expect(sim.tcpConnections?.dropped == 1)
        #expect(try RawSocket(port: port).readInputRegisters()?.count == 13)
    }

    @Test func aRequestWithABadMBAPHeaderClosesOnlyItsConnection() throws {
        let sim = try device()
        defer { sim.stop() }
        let port = try sim.serveTCP()
        let good = try RawSocket(port: port)
        for bad: [UInt8] in [[0, 1, 0, 1, 0, 6, 1, 4, 0, 0, 0, 2],   // protocol id 1
                             [0, 1, 0, 0, 0, 0, 1],                  // MBAP length 0
                             [0, 1, 0, 0, 0xFF, 0xFF, 1, 4]] {        // MBAP length 65535
            let s = try RawSocket(port: port)
            s.send(bad)
            #expect(s.closedByServer(milliseconds: 5_000), "\(bad)")
        }
        #expect(sim.tcpConnections?.dropped == 3)
        #expect(good.readInputRegisters()?.count == 13)
    }

    @Test func pipelinedRequestsOnOneConnectionAreEachAnswered() throws {
        let sim = try device()
        defer { sim.stop() }
        let port = try sim.serveTCP()
        let s = try RawSocket(port: port)
        let one: [UInt8] = [0, 7, 0, 0, 0, 6, 1, 4, 0, 0, 0, 2]
        var two = one
        two[1] = 8
        s.send(one + two)
        var got: [UInt8] = []
        #expect(eventually(within: 10) {
            got += s.receive(milliseconds: 100) ?? []
            return got.count >= 26
        })
        #expect(got.count == 26 && got[1] == 7 && got[14] == 8)
    }

    @Test func mbapFramingIsAPureFunctionOfTheBytes() {
        #expect(MBAPFraming.verdict([0, 1, 0]) == .needMore(7))
        #expect(MBAPFraming.verdict([0, 1, 0, 0, 0, 6, 1]) == .needMore(12))
        #expect(MBAPFraming.verdict([0, 1, 0, 0, 0, 6, 1, 4, 0, 0, 0, 2, 9]) == .frame(length: 12))
        if case .malformed = MBAPFraming.verdict([0, 1, 0, 1, 0, 6, 1]) {} else { Issue.record("protocol id 1 must be malformed") }
        if case .malformed = MBAPFraming.verdict([0, 1, 0, 0, 0, 1, 1]) {} else { Issue.record("length 1 must be malformed") }
        if case .malformed = MBAPFraming.verdict([0, 1, 0, 0, 0, 255, 1]) {} else { Issue.record("length 255 must be malformed") }
        #expect(MBAPFraming.verdict([0, 1, 0, 0, 0, 254, 1]) == .needMore(260))
    }
}

/// Notices a server sent, collected across threads.
final class NoticeLog: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []
    func add(_ line: String) { lock.withLock { stored.append(line) } }
    var lines: [String] { lock.withLock { stored } }
}
