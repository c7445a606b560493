/// Why a reading cannot be trusted. Transport failures and device answers are kept apart,
/// so the monitor can tell "the device refused" from "the line is dead".
public enum BadReason: Sendable, Hashable, CustomStringConvertible {
    /// No answer within the response (or byte) timeout.
    case timeout
    /// The device answered with a Modbus exception.
    case exception(ModbusExceptionCode)
    /// A frame arrived but failed its CRC or was malformed on a serial line (RTU framing, wrong
    /// length, wrong unit id): what noise on the line does.
    case crcOrFraming
    /// A Modbus TCP reply that does not answer the request (TCP has no CRC: the peer, not a line,
    /// sent it); which part of it was wrong is `ReplyDefect`.
    case malformedReply(ReplyDefect)
    /// An exception reply whose code is not a defined Modbus exception (0, 9, 12 and above).
    case unexpectedException(code: UInt8)
    /// No connection to the device (connect refused, reset, port vanished); a reconnect is pending.
    case disconnected
    /// The registers arrived but could not be decoded (NaN/Inf, bit field beyond range).
    case decodeError
    /// The point has not been read yet.
    case notYetRead

    public var description: String {
        switch self {
        case .timeout: return "timeout"
        case .exception(let code): return "exception \(code.rawValue) (\(code))"
        case .crcOrFraming: return "crc/framing error"
        case .malformedReply(let defect): return "malformed reply (\(defect))"
        case .unexpectedException(let code): return "unexpected exception code \(code)"
        case .disconnected: return "disconnected"
        case .decodeError: return "decode error"
        case .notYetRead: return "not yet read"
        }
    }
}

/// What was wrong with a Modbus TCP reply that does not answer its request.
public enum ReplyDefect: UInt8, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The MBAP transaction id is not the request's.
    case transactionID = 1
    /// The MBAP protocol id is not 0 (Modbus).
    case protocolID
    /// The MBAP length is outside 2...254 or does not match the bytes that followed.
    case length
    /// The unit id is not the one the request addressed.
    case unitID
    /// The function code is neither the request's nor its exception form.
    case function
    /// A read reply's byte count does not match the quantity requested.
    case byteCount
    /// A write reply does not echo the request's address, value or quantity.
    case echo

    public var description: String {
        switch self {
        case .transactionID: return "wrong transaction id"
        case .protocolID: return "protocol id not 0"
        case .length: return "wrong MBAP length"
        case .unitID: return "wrong unit id"
        case .function: return "wrong function code"
        case .byteCount: return "wrong byte count"
        case .echo: return "write not echoed"
        }
    }
}

/// Quality attached to every value Vigil reads.
public enum Quality: Sendable, Hashable, CustomStringConvertible {
    case good
    /// The value is the last good one, held on purpose; `ageNanoseconds` says how old it is.
    case stale(ageNanoseconds: UInt64)
    case bad(BadReason)

    public var isGood: Bool { if case .good = self { return true } else { return false } }

    public var description: String {
        switch self {
        case .good: return "good"
        case .stale(let age): return "stale(\(age / 1_000_000) ms)"
        case .bad(let reason): return "bad(\(reason))"
        }
    }
}

/// One sampled value of one point, in engineering units.
///
/// A plain value type with no references, so arrays of readings can be preallocated
/// and overwritten in place on the cycle thread.
public struct Reading: Sendable, Hashable {
    /// Engineering value (raw decoded value × scale + offset). Booleans are 0 or 1.
    public var value: Double
    /// Monotonic time the answer arrived, nanoseconds.
    public var timestampNanoseconds: UInt64
    /// Measured request/response round trip, nanoseconds (0 when nothing was sent).
    public var latencyNanoseconds: UInt64
    public var quality: Quality

    public init(value: Double, timestampNanoseconds: UInt64, latencyNanoseconds: UInt64, quality: Quality) {
        self.value = value
        self.timestampNanoseconds = timestampNanoseconds
        self.latencyNanoseconds = latencyNanoseconds
        self.quality = quality
    }

    /// A placeholder for a point that has not been read.
    public static let unread = Reading(value: .nan, timestampNanoseconds: 0, latencyNanoseconds: 0, quality: .bad(.notYetRead))
}
