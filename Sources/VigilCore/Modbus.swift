/// The four Modbus data tables.
public enum RegisterFunction: String, Sendable, Hashable, CaseIterable {
    case coil
    case discreteInput = "discrete_input"
    case holding
    case input

    /// Single-bit tables (coils, discrete inputs) versus 16-bit register tables.
    public var isBit: Bool { self == .coil || self == .discreteInput }
    /// Whether a master may write this table.
    public var isWritable: Bool { self == .coil || self == .holding }
    /// Largest read the protocol allows in one request (2000 bits, 125 registers).
    public var maxReadCount: Int { isBit ? 2000 : 125 }
    /// Function code used to read this table.
    public var readFunctionCode: UInt8 {
        switch self {
        case .coil: return 1
        case .discreteInput: return 2
        case .holding: return 3
        case .input: return 4
        }
    }
}

/// Modbus exception codes a device may answer with.
public enum ModbusExceptionCode: UInt8, Sendable, Hashable, CustomStringConvertible {
    case illegalFunction = 1
    case illegalDataAddress = 2
    case illegalDataValue = 3
    case serverDeviceFailure = 4
    case acknowledge = 5
    case serverDeviceBusy = 6
    case negativeAcknowledge = 7
    case memoryParityError = 8
    case gatewayPathUnavailable = 10
    case gatewayTargetFailedToRespond = 11

    public var description: String {
        switch self {
        case .illegalFunction: return "illegal function"
        case .illegalDataAddress: return "illegal data address"
        case .illegalDataValue: return "illegal data value"
        case .serverDeviceFailure: return "server device failure"
        case .acknowledge: return "acknowledge"
        case .serverDeviceBusy: return "server device busy"
        case .negativeAcknowledge: return "negative acknowledge"
        case .memoryParityError: return "memory parity error"
        case .gatewayPathUnavailable: return "gateway path unavailable"
        case .gatewayTargetFailedToRespond: return "gateway target failed to respond"
        }
    }
}

/// How a multi-register value is laid out. Letters name bytes from most to least significant:
/// `abcd` is big-endian (Modbus's native order), `cdab` swaps 16-bit words, `badc` swaps the
/// bytes inside each word, `dcba` is fully little-endian. For 64-bit values the same rule is
/// applied to four words (`cdab` reverses the word order).
public enum WordOrder: String, Sendable, Hashable, CaseIterable {
    case abcd = "ABCD"
    case cdab = "CDAB"
    case badc = "BADC"
    case dcba = "DCBA"

    /// Words appear least significant first.
    public var swapsWords: Bool { self == .cdab || self == .dcba }
    /// Bytes inside each 16-bit word are swapped.
    public var swapsBytes: Bool { self == .badc || self == .dcba }
}

/// The type of the value stored at a point.
public enum PointDataType: Sendable, Hashable, CustomStringConvertible {
    case bool
    case int16, uint16
    case int32, uint32
    case int64, uint64
    case float32, float64
    /// `width` bits starting at `bit` (0 = least significant) of one 16-bit register, unsigned.
    case bitField(bit: Int, width: Int)

    /// Registers (or bits, for coil/discrete tables) the value occupies.
    public var registerCount: Int {
        switch self {
        case .bool, .int16, .uint16, .bitField: return 1
        case .int32, .uint32, .float32: return 2
        case .int64, .uint64, .float64: return 4
        }
    }

    public var description: String {
        switch self {
        case .bool: return "bool"
        case .int16: return "int16"
        case .uint16: return "uint16"
        case .int32: return "int32"
        case .uint32: return "uint32"
        case .int64: return "int64"
        case .uint64: return "uint64"
        case .float32: return "float32"
        case .float64: return "float64"
        case .bitField(let bit, let width): return "bitfield(\(bit),\(width))"
        }
    }
}
