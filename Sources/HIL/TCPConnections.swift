#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a simulated Modbus TCP server allows its clients.
public struct TCPServerLimits: Sendable, Hashable {
    /// Clients served at once; a further client is accepted and closed at once (counted, logged
    /// once per burst). Real Modbus TCP devices allow a handful; 64 leaves room for a controller,
    /// its backup path and several `mbpoll`s.
    public var maxConnections: Int
    /// A client that has sent part of a request and nothing more for this long is disconnected, so
    /// stalled clients cannot hold every slot.
    public var partialRequestTimeoutMilliseconds: Int

    public static let defaultMaxConnections = 64

    public init(maxConnections: Int = TCPServerLimits.defaultMaxConnections, partialRequestTimeoutMilliseconds: Int = 10_000) {
        self.maxConnections = max(1, maxConnections)
        self.partialRequestTimeoutMilliseconds = max(1, partialRequestTimeoutMilliseconds)
    }
}

/// Connection counters of a simulated TCP server.
public struct TCPConnectionCounters: Sendable, Hashable {
    /// Clients connected now.
    public var open = 0
    /// Clients accepted over the server's life.
    public var accepted = 0
    /// Clients accepted and closed at once because the cap was reached.
    public var refused = 0
    /// Clients closed for a malformed request header or a partial request that timed out.
    public var dropped = 0
    public init() {}
}

/// MBAP framing of Modbus TCP requests: a pure function of the bytes received so far.
public enum MBAPFraming {
    /// Largest ADU Modbus TCP allows (7-byte MBAP header + 253-byte PDU).
    public static let maxADU = 260
    public static let headerLength = 7

    public enum Verdict: Sendable, Hashable {
        /// The frame is incomplete: at least this many bytes in total are needed.
        case needMore(Int)
        /// The first `length` bytes are one complete request.
        case frame(length: Int)
        /// The header cannot start a valid request (protocol id not 0, length outside 2...254).
        case malformed(String)
    }

    /// Frames the request at the start of `bytes`.
    public static func verdict<C: Collection>(_ bytes: C) -> Verdict where C.Element == UInt8, C.Index == Int {
        guard bytes.count >= headerLength else { return .needMore(headerLength) }
        let b = bytes.startIndex
        let protocolID = Int(bytes[b + 2]) << 8 | Int(bytes[b + 3])
        let length = Int(bytes[b + 4]) << 8 | Int(bytes[b + 5])
        guard protocolID == 0 else { return .malformed("protocol id \(protocolID), not 0") }
        // The length counts the unit id and the PDU (at least a function code, at most 253 bytes).
        guard (2...(maxADU - 6)).contains(length) else { return .malformed("MBAP length \(length) outside 2...254") }
        let total = 6 + length
        return bytes.count >= total ? .frame(length: total) : .needMore(total)
    }
}

/// One client of a TCP server: its socket and the bytes of its next request.
final class TCPClientConnection {
    let fd: Int32
    var buffer = [UInt8](repeating: 0, count: MBAPFraming.maxADU)
    var count = 0
    /// When the first byte of the pending (incomplete) request arrived.
    var partialSinceNanoseconds: UInt64?

    init(fd: Int32) { self.fd = fd }

    /// Reads what the socket has without blocking. Returns false when the peer closed or failed.
    func receive(now: UInt64) -> Bool {
        while count < buffer.count {
            let r = buffer.withUnsafeMutableBufferPointer { read(fd, $0.baseAddress! + count, $0.count - count) }
            if r > 0 {
                if count == 0 { partialSinceNanoseconds = now }
                count += r
                continue
            }
            if r == 0 { return false }
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
        }
        return true
    }

    /// Removes the first `length` bytes (a served request).
    func consume(_ length: Int, now: UInt64) {
        buffer.withUnsafeMutableBufferPointer { b in
            let rest = count - length
            if rest > 0 { memmove(b.baseAddress!, b.baseAddress! + length, rest) }
        }
        count -= length
        partialSinceNanoseconds = count > 0 ? now : nil
    }
}

/// Makes a descriptor non-blocking and close-on-exec.
func setNonBlockingCloseOnExec(_ fd: Int32) {
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
}
