import VigilCore
#if canImport(Glibc)
import Glibc
#endif
import CModbus

/// A failed Modbus transaction, split the way the monitor needs it: the device answered with an
/// exception, or the transport failed (and how). Built from libmodbus's errno, never from its
/// thread-unsafe `modbus_strerror`.
public enum ModbusError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No (complete) answer within the response or byte timeout.
    case timeout
    /// The device answered with a Modbus exception.
    case exception(ModbusExceptionCode)
    /// An answer arrived but its CRC was wrong (RTU).
    case badCRC
    /// An RTU answer arrived but did not match the request (wrong length, unit id or function),
    /// as libmodbus reports it.
    case invalidResponse(errno: Int32)
    /// A TCP reply did not answer the request (checked by `ModbusTCPReply` before decoding).
    case malformedReply(ReplyDefect)
    /// An exception reply with a code Modbus does not define (0, 9, 12 and above).
    case unexpectedException(UInt8)
    /// The connection is down or the port cannot be used (refused, reset, EIO from an unplugged adapter).
    case disconnected(errno: Int32)
    /// Vigil asked for something the protocol does not allow (e.g. more than 125 registers).
    case invalidRequest(errno: Int32)

    /// libmodbus reports Modbus exceptions and its own protocol errors as errno values above this base.
    static let errnoBase = Int32(MODBUS_ENOBASE)

    /// Maps an errno left by a failed libmodbus call.
    public init(errno code: Int32) {
        let base = Self.errnoBase
        switch code {
        case ETIMEDOUT, EAGAIN:
            self = .timeout
        case base ... base + 11:
            // libmodbus passes codes 0...11 through as base + code; 0 and 9 are not defined.
            if let ex = ModbusExceptionCode(rawValue: UInt8(code - base)) {
                self = .exception(ex)
            } else {
                self = .unexpectedException(UInt8(code - base))
            }
        case base + 12: // EMBBADCRC
            self = .badCRC
        case base + 13, base + 14, base + 15, base + 17: // EMBBADDATA, EMBBADEXC, EMBUNKEXC, EMBBADSLAVE
            self = .invalidResponse(errno: code)
        case base + 16, EINVAL: // EMBMDATA: too many data
            self = .invalidRequest(errno: code)
        default:
            // ECONNRESET, ECONNREFUSED, EPIPE, EBADF, EIO, ENOENT, ENOTCONN, EHOSTUNREACH, ...
            self = .disconnected(errno: code)
        }
    }

    /// The quality a reading gets when its transaction failed this way.
    public var badReason: BadReason {
        switch self {
        case .timeout: return .timeout
        case .exception(let code): return .exception(code)
        case .badCRC, .invalidResponse: return .crcOrFraming
        case .malformedReply(let defect): return .malformedReply(defect)
        case .unexpectedException(let code): return .unexpectedException(code: code)
        case .disconnected: return .disconnected
        case .invalidRequest: return .decodeError
        }
    }

    /// Whether the connection should be closed and reopened (with back-off) after this error.
    public var needsReconnect: Bool {
        if case .disconnected = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .timeout: return "timeout"
        case .exception(let code): return "Modbus exception \(code.rawValue) (\(code))"
        case .badCRC: return "bad CRC"
        case .invalidResponse(let e): return "invalid response (\(Self.describe(e)))"
        case .malformedReply(let defect): return "malformed reply (\(defect))"
        case .unexpectedException(let code): return "unexpected exception code \(code)"
        case .disconnected(let e): return "disconnected (\(Self.describe(e)))"
        case .invalidRequest(let e): return "invalid request (\(Self.describe(e)))"
        }
    }

    static func describe(_ code: Int32) -> String {
        let base = errnoBase
        switch code {
        case base + 13: return "response does not match request"
        case base + 14: return "invalid exception code"
        case base + 15: return "unknown exception code"
        case base + 16: return "too many data"
        case base + 17: return "response from wrong unit id"
        default:
            var buffer = [CChar](repeating: 0, count: 128)
            // strerror_r is thread-safe, unlike strerror/modbus_strerror.
            guard strerror_r(code, &buffer, buffer.count) == 0 else { return "errno \(code)" }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
    }
}
