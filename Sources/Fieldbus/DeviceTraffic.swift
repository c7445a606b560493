/// One device's request counters and round-trip histogram since its poller was made: a trivial
/// value the bus thread updates in place (no allocation) and publishes after each poll.
public struct DeviceTraffic: Sendable {
    /// Why a request failed; `rawValue` indexes `errors`.
    public enum ErrorClass: Int, Sendable, CaseIterable, CustomStringConvertible {
        case timeout, exception, unexpectedException, crcFraming, malformedReply, disconnected, decodeError

        /// The Prometheus label value.
        public var description: String {
            switch self {
            case .timeout: return "timeout"
            case .exception: return "exception"
            case .unexpectedException: return "unexpected_exception"
            case .crcFraming: return "crc_framing"
            case .malformedReply: return "malformed_reply"
            case .disconnected: return "disconnected"
            case .decodeError: return "decode_error"
            }
        }
    }

    /// Upper bounds (inclusive) of the round-trip buckets; the last bucket holds everything slower.
    public static let roundTripBoundsNanoseconds: [UInt64] = [
        250_000, 500_000, 1_000_000, 2_500_000, 5_000_000, 10_000_000, 25_000_000, 50_000_000,
        100_000_000, 250_000_000, 500_000_000, 1_000_000_000,
    ]
    public static let roundTripBucketCount = 13

    /// Requests sent (reads; a skipped read is not sent).
    public var requests: UInt64 = 0
    /// Failed requests by `ErrorClass.rawValue`.
    public var errors = InlineArray<7, UInt64>(repeating: 0)
    /// Answered requests per round-trip bucket, and the sum of their round trips per bucket.
    public var roundTripCounts = InlineArray<13, UInt64>(repeating: 0)
    public var roundTripSumsNanoseconds = InlineArray<13, UInt64>(repeating: 0)
    /// The last request got an answer (data or a Modbus exception).
    public var lastAnswered = false

    public init() {}

    public func errors(_ c: ErrorClass) -> UInt64 { errors[c.rawValue] }

    mutating func countError(_ c: ErrorClass) { errors[c.rawValue] &+= 1 }

    mutating func recordRoundTrip(_ nanoseconds: UInt64) {
        var b = 0
        while b < Self.roundTripBucketCount - 1 && nanoseconds > Self.bound(b) { b += 1 }
        roundTripCounts[b] &+= 1
        roundTripSumsNanoseconds[b] &+= nanoseconds
    }

    /// The bounds without touching the array (no retain on the bus thread).
    @inline(__always) static func bound(_ b: Int) -> UInt64 {
        switch b {
        case 0: return 250_000
        case 1: return 500_000
        case 2: return 1_000_000
        case 3: return 2_500_000
        case 4: return 5_000_000
        case 5: return 10_000_000
        case 6: return 25_000_000
        case 7: return 50_000_000
        case 8: return 100_000_000
        case 9: return 250_000_000
        case 10: return 500_000_000
        default: return 1_000_000_000
        }
    }
}

extension ModbusError {
    /// The traffic counter a failure counts under (nil: a request Vigil should not have made).
    var trafficClass: DeviceTraffic.ErrorClass? {
        switch self {
        case .timeout: return .timeout
        case .exception: return .exception
        case .unexpectedException: return .unexpectedException
        case .badCRC, .invalidResponse: return .crcFraming
        case .malformedReply: return .malformedReply
        case .disconnected: return .disconnected
        case .invalidRequest: return nil
        }
    }
}
