/// Why a reading cannot be trusted. Transport failures and device answers are kept apart,
/// so the monitor can tell "the device refused" from "the line is dead".
public enum BadReason: Sendable, Hashable, CustomStringConvertible {
    /// No answer within the response (or byte) timeout.
    case timeout
    /// The device answered with a Modbus exception.
    case exception(ModbusExceptionCode)
    /// A frame arrived but failed its CRC or was malformed (RTU framing, wrong length, wrong unit id).
    case crcOrFraming
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
        case .disconnected: return "disconnected"
        case .decodeError: return "decode error"
        case .notYetRead: return "not yet read"
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
