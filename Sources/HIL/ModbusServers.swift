#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import CModbus
import VigilCore
import Fieldbus

/// A server thread behind one or more simulated devices.
protocol ModbusServerThread: AnyObject, Sendable {
    /// Makes the thread re-read the devices' fault state.
    func wake()
    /// Stops the thread and waits for it to end.
    func stop()
}

/// Shared stop/wake machinery of the server threads.
class ServerThreadBase: @unchecked Sendable {
    let pipe: WakePipe
    private let lock = NSLock()
    private var stopping = false
    var thread: JoinableThread?

    init() throws { pipe = try WakePipe() }

    var isStopping: Bool { lock.withLock { stopping } }

    func wake() { pipe.wake() }

    func stop() {
        lock.withLock { stopping = true }
        pipe.wake()
        thread?.join()
    }

    /// Waits `nanoseconds` unless the server is stopped meanwhile (then returns false).
    func interruptibleWait(_ nanoseconds: UInt64) -> Bool {
        let deadline = monotonicNanoseconds() + nanoseconds
        while !isStopping {
            let timeout = pollTimeout(until: deadline)
            if timeout == 0 { return true }
            var p = pollfd(fd: pipe.readFD, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, timeout) > 0 { pipe.drain() }
        }
        return false
    }
}

/// Modbus TCP server: one listening socket, up to `limits.maxConnections` clients, one `poll`
/// loop on its own thread.
///
/// Each client's requests are framed here from their MBAP header on a non-blocking socket, so a
/// client that sends half a request costs only itself; libmodbus only builds the replies
/// (`modbus_reply`), never waits on a socket, so no descriptor ever reaches its `select()`.
/// Clients beyond the cap are accepted and closed at once, counted, and logged once per burst.
final class TCPModbusServer: ServerThreadBase, ModbusServerThread, @unchecked Sendable {
    let port: Int
    private let host: String
    private let limits: TCPServerLimits
    private let notice: (@Sendable (String) -> Void)?
    private weak var device: SimulatedModbusDevice?
    // Owned by the server thread after start.
    private var listenFD: Int32 = -1
    private var clients: [TCPClientConnection] = []
    /// While set, the listening socket is not polled (the process ran out of descriptors).
    private var acceptPausedUntil: UInt64?
    private var refusing = false
    private let ctx: OpaquePointer
    private let countersLock = NSLock()
    private var counters = TCPConnectionCounters()

    init(device: SimulatedModbusDevice, host: String, port: Int, limits: TCPServerLimits = TCPServerLimits(),
         notice: (@Sendable (String) -> Void)? = nil) throws {
        self.device = device
        self.host = host
        self.limits = limits
        self.notice = notice
        // The context only builds replies on sockets we accept ourselves: libmodbus's own
        // modbus_tcp_listen does not report the port an ephemeral bind got.
        guard let ctx = modbus_new_tcp(host, Int32(port)) else { throw HILError.lastErrno("modbus_new_tcp") }
        self.ctx = ctx
        let fd: Int32
        do {
            fd = try Self.listen(host: host, port: port)
        } catch {
            modbus_free(ctx)
            throw error
        }
        listenFD = fd
        self.port = Self.boundPort(fd)
        try super.init()
        thread = try JoinableThread(name: "sim-tcp-\(self.port)") { [self] in run() }
    }

    deinit {
        modbus_free(ctx)
    }

    /// The server's connection counters.
    var connectionCounters: TCPConnectionCounters { countersLock.withLock { counters } }

    static func listen(host: String, port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw HILError.lastErrno("socket") }
        setNonBlockingCloseOnExec(fd)
        var yes: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(truncatingIfNeeded: port)).bigEndian
        guard inet_pton(AF_INET, host, &addr.sin_addr) == 1 else {
            close(fd)
            throw HILError.unsupported("not an IPv4 address: \(host)")
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = HILError.lastErrno("bind", "\(host):\(port)")
            close(fd)
            throw e
        }
        guard Glibc.listen(fd, 128) == 0 else {
            let e = HILError.lastErrno("listen")
            close(fd)
            throw e
        }
        return fd
    }

    static func boundPort(_ fd: Int32) -> Int {
        var addr = sockaddr_in()
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    private func closeAll() {
        for c in clients { close(c.fd) }
        clients.removeAll()
        countersLock.withLock { counters.open = 0 }
        if listenFD >= 0 { close(listenFD) }
        listenFD = -1
    }

    /// Counts, then closes (so a client that sees the close sees the count too).
    private func drop(_ index: Int, dropped: Bool) {
        let fd = clients[index].fd
        clients.remove(at: index)
        countersLock.withLock {
            counters.open = clients.count
            if dropped { counters.dropped += 1 }
        }
        close(fd)
    }

    /// Accepts every pending client: up to the cap they are served, beyond it closed at once.
    private func acceptPending(now: UInt64) {
        while listenFD >= 0 {
            let c = accept(listenFD, nil, nil)
            if c < 0 {
                if errno == EINTR { continue }
                if errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM {
                    // Out of descriptors: leave the clients in the backlog and look again shortly.
                    acceptPausedUntil = now + 100_000_000
                    if !refusing {
                        refusing = true
                        notice?("simulated device on port \(port): out of file descriptors (\(String(cString: strerror(errno)))) with \(clients.count) clients; new clients wait")
                    }
                }
                return
            }
            if clients.count >= limits.maxConnections {
                countersLock.withLock { counters.refused += 1 }
                close(c)
                if !refusing {
                    refusing = true
                    notice?("simulated device on port \(port): \(clients.count) clients connected (the limit); refusing new ones")
                }
                continue
            }
            refusing = false
            setNonBlockingCloseOnExec(c)
            var one: Int32 = 1
            _ = setsockopt(c, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            clients.append(TCPClientConnection(fd: c))
            countersLock.withLock {
                counters.accepted += 1
                counters.open = clients.count
            }
        }
    }

    /// Serves every complete request a client has sent; returns false when the client must go.
    private func serve(_ client: TCPClientConnection, device: SimulatedModbusDevice, now: UInt64) -> Bool {
        while client.count > 0 {
            switch MBAPFraming.verdict(client.buffer[0..<client.count]) {
            case .needMore:
                return true
            case .malformed:
                return false
            case .frame(let length):
                // A zeroed full-size copy: libmodbus reads a request's fields by function code.
                var request = [UInt8](repeating: 0, count: MBAPFraming.maxADU)
                request.withUnsafeMutableBufferPointer { q in
                    client.buffer.withUnsafeBufferPointer { b in
                        q.baseAddress!.update(from: b.baseAddress!, count: length)
                    }
                    modbus_set_socket(ctx, client.fd)
                    device.handle(ctx: ctx, request: q.baseAddress!, length: Int32(length), wait: interruptibleWait)
                }
                client.consume(length, now: now)
                if isStopping { return true }
            }
        }
        return true
    }

    private func run() {
        defer { closeAll() }
        let partialTimeout = UInt64(limits.partialRequestTimeoutMilliseconds) * 1_000_000
        while !isStopping {
            guard let device else { return }
            let (disconnected, until, generation) = device.disconnection()
            if disconnected, listenFD >= 0 || !clients.isEmpty {
                closeAll()
            } else if !disconnected, listenFD < 0 {
                // Same port again; SO_REUSEADDR lets us rebind at once.
                listenFD = (try? Self.listen(host: host, port: port)) ?? -1
            }
            device.acknowledge(generation: generation)
            var now = monotonicNanoseconds()
            if let paused = acceptPausedUntil, now >= paused { acceptPausedUntil = nil }
            var deadline: UInt64? = disconnected ? until : nil
            if let paused = acceptPausedUntil { deadline = min(deadline ?? paused, paused) }
            for c in clients {
                if let since = c.partialSinceNanoseconds { deadline = min(deadline ?? (since + partialTimeout), since + partialTimeout) }
            }
            var fds = [pollfd(fd: pipe.readFD, events: Int16(POLLIN), revents: 0)]
            let listening = listenFD >= 0 && acceptPausedUntil == nil
            if listening { fds.append(pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)) }
            let first = fds.count
            for c in clients { fds.append(pollfd(fd: c.fd, events: Int16(POLLIN), revents: 0)) }
            let n = poll(&fds, nfds_t(fds.count), pollTimeout(until: deadline))
            if n < 0 { if errno == EINTR { continue } else { return } }
            if fds[0].revents != 0 { pipe.drain() }
            if isStopping { return }
            now = monotonicNanoseconds()
            // Clients first (their indices match `fds`), newly accepted ones on the next round.
            var gone: [(index: Int, dropped: Bool)] = []
            for (i, c) in clients.enumerated() {
                if fds[first + i].revents != 0 {
                    if !c.receive(now: now) {
                        gone.append((i, false))
                        continue
                    }
                    if !serve(c, device: device, now: now) {
                        gone.append((i, true))
                        continue
                    }
                    if isStopping { return }
                }
                if let since = c.partialSinceNanoseconds, now >= since + partialTimeout { gone.append((i, true)) }
            }
            for g in gone.reversed() { drop(g.index, dropped: g.dropped) }
            if listening, fds[1].revents != 0 { acceptPending(now: now) }
        }
    }
}

/// Modbus RTU server on one serial line answering several unit ids.
///
/// libmodbus's `modbus_receive` drops RTU requests for any unit but the context's own, so this
/// server frames requests itself (length from the function code, CRC checked, silence ends an
/// unknown or broken frame) and hands complete frames to `modbus_reply` with the addressed
/// device's register map. Frames with a bad CRC or for an unknown unit get no answer, as on a bus.
final class RTUModbusServer: ServerThreadBase, ModbusServerThread, @unchecked Sendable {
    private let ctx: OpaquePointer
    private let fd: Int32
    private let devices: [Int: SimulatedModbusDevice]
    private let silenceNanoseconds: UInt64
    private let lock = NSLock()
    private var crcErrors = 0

    init(path: String, settings: RTUSettings, devices: [SimulatedModbusDevice]) throws {
        var byUnit: [Int: SimulatedModbusDevice] = [:]
        for d in devices {
            if byUnit[d.config.unitID] != nil {
                throw HILError.unsupported("two devices with unit id \(d.config.unitID) on \(path)")
            }
            byUnit[d.config.unitID] = d
        }
        self.devices = byUnit
        guard let ctx = modbus_new_rtu(path, Int32(settings.baud), CChar(bitPattern: settings.parity.libmodbusCharacter.asciiValue!),
                                       Int32(settings.dataBits), Int32(settings.stopBits)) else {
            throw HILError.lastErrno("modbus_new_rtu", path)
        }
        guard modbus_connect(ctx) == 0 else {
            let e = HILError.lastErrno("modbus_connect", path)
            modbus_free(ctx)
            throw e
        }
        self.ctx = ctx
        fd = modbus_get_socket(ctx)
        // 3.5 characters ends a frame on a real line; ptys deliver in bursts, so allow more.
        let charNanoseconds = UInt64(1_000_000_000 / max(1, settings.baud)) * UInt64(settings.bitsPerCharacter)
        silenceNanoseconds = max(20_000_000, 4 * charNanoseconds)
        try super.init()
        for d in devices { d.attachedToBus(wake: { [weak self] in self?.wake() }) }
        thread = try JoinableThread(name: "sim-rtu") { [self] in run() }
    }

    deinit {
        modbus_close(ctx)
        modbus_free(ctx)
    }

    /// Frames dropped for a bad CRC.
    var crcErrorCount: Int { lock.withLock { crcErrors } }

    private func run() {
        var buffer: [UInt8] = []
        var lastByteAt: UInt64 = 0
        var chunk = [UInt8](repeating: 0, count: 512)
        while !isStopping {
            var fds = [pollfd(fd: pipe.readFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            let timeout = buffer.isEmpty ? -1 : pollTimeout(until: lastByteAt + silenceNanoseconds)
            let n = poll(&fds, 2, timeout)
            if n < 0 { if errno == EINTR { continue } else { return } }
            if fds[0].revents != 0 { pipe.drain() }
            if isStopping { return }
            if fds[1].revents & Int16(POLLIN) != 0 {
                let r = read(fd, &chunk, chunk.count)
                if r > 0 {
                    buffer.append(contentsOf: chunk[0..<r])
                    lastByteAt = monotonicNanoseconds()
                }
            } else if fds[1].revents != 0 {
                // POLLHUP without data: nobody has the other end open yet. Avoid spinning.
                _ = interruptibleWait(5_000_000)
            }
            let silent = !buffer.isEmpty && monotonicNanoseconds() >= lastByteAt + silenceNanoseconds
            for frame in RTUFraming.takeFrames(from: &buffer, silenceEnded: silent) { dispatch(frame) }
        }
    }

    private func dispatch(_ frame: [UInt8]) {
        guard RTUFraming.crcIsValid(frame) else {
            lock.withLock { crcErrors += 1 }
            return
        }
        let unit = Int(frame[0])
        let targets = unit == 0 ? Array(devices.values) : devices[unit].map { [$0] } ?? []
        var request = frame
        for d in targets {
            request.withUnsafeMutableBufferPointer { q in
                d.handle(ctx: ctx, request: q.baseAddress!, length: Int32(frame.count), wait: interruptibleWait)
            }
        }
    }

}

/// Several simulated RTU devices (distinct unit ids) sharing one serial line, as on an RS-485 bus.
/// How the simulated RTU server cuts a byte stream into requests: pure functions of the bytes, so
/// a fuzzer can drive them (`fuzz-rtu`).
public enum RTUFraming {
    /// The longest RTU frame (unit, 253-byte PDU, CRC); a pending request never needs more bytes.
    public static let maxFrame = 256

    /// The complete requests at the front of `buffer`, removed from it. Each is cut at the length its
    /// function code gives; when `silenceEnded` (3.5 character times passed without a byte), what
    /// is left goes too: a request of an unknown function (4 bytes or more) is handed on to be
    /// answered, a truncated one dropped. More than `maxFrame` bytes that make no request are noise
    /// and dropped, so a peer streaming garbage without a pause costs a bounded buffer.
    public static func takeFrames(from buffer: inout [UInt8], silenceEnded: Bool) -> [[UInt8]] {
        var frames: [[UInt8]] = []
        while let length = requestLength(buffer), buffer.count >= length {
            frames.append(Array(buffer[0..<length]))
            buffer.removeFirst(length)
        }
        if buffer.count > maxFrame, (requestLength(buffer) ?? Int.max) > maxFrame { buffer.removeAll() }
        if silenceEnded, !buffer.isEmpty {
            if requestLength(buffer) == nil, buffer.count >= 4 { frames.append(buffer) }
            buffer.removeAll()
        }
        return frames
    }

    /// Whether a frame of 4 bytes or more ends in the CRC of what precedes it.
    public static func crcIsValid(_ frame: [UInt8]) -> Bool {
        guard frame.count >= 4 else { return false }
        let crc = crc16(frame[0..<(frame.count - 2)])
        return frame[frame.count - 2] == UInt8(crc & 0xFF) && frame[frame.count - 1] == UInt8(crc >> 8)
    }

    /// Total length of an RTU request (unit + PDU + CRC) from its first bytes, or nil when the
    /// function is unknown or more bytes are needed to tell.
    public static func requestLength(_ b: [UInt8]) -> Int? {
        guard b.count >= 2 else { return nil }
        switch b[1] {
        case 1, 2, 3, 4, 5, 6: return 8
        case 7, 11, 12, 17: return 4
        case 15, 16: return b.count >= 7 ? 9 + Int(b[6]) : nil
        case 22: return 10
        case 23: return b.count >= 11 ? 13 + Int(b[10]) : nil
        default: return nil
        }
    }

    /// Modbus CRC-16 (polynomial 0xA001, initial 0xFFFF); sent low byte first.
    public static func crc16<C: Collection>(_ bytes: C) -> UInt16 where C.Element == UInt8 {
        var crc: UInt16 = 0xFFFF
        for b in bytes {
            crc ^= UInt16(b)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xA001 : crc >> 1 }
        }
        return crc
    }
}

public final class SimulatedRTUBus: @unchecked Sendable {
    public let path: String
    public let devices: [SimulatedModbusDevice]
    private let server: RTUModbusServer

    /// Opens `path` (the device side of a `VirtualSerialLine`, or a tty) and starts answering.
    /// Line settings are taken from the first device.
    public init(path: String, devices: [SimulatedModbusDevice]) throws {
        guard let first = devices.first, case .rtu(let settings) = first.config.transport else {
            throw HILError.unsupported("an RTU bus needs at least one RTU device")
        }
        self.path = path
        self.devices = devices
        server = try RTUModbusServer(path: path, settings: settings, devices: devices)
    }

    /// Requests dropped because their CRC was wrong.
    public var crcErrorCount: Int { server.crcErrorCount }

    /// Stops answering and waits for the server thread.
    public func stop() { server.stop() }

    deinit { server.stop() }
}
