import VigilCore

/// What a Modbus TCP request asked for: all a reply is checked against.
public struct ModbusTCPRequest: Sendable, Hashable {
    public var transactionID: UInt16
    public var unit: UInt8
    public var function: UInt8
    /// Start address of a read or write.
    public var address: UInt16
    /// Registers or bits read or written (functions 1-4, 15, 16); the value written for 5 and 6.
    public var quantityOrValue: UInt16

    public init(transactionID: UInt16, unit: UInt8, function: UInt8, address: UInt16, quantityOrValue: UInt16) {
        self.transactionID = transactionID
        self.unit = unit
        self.function = function
        self.address = address
        self.quantityOrValue = quantityOrValue
    }

    /// Bytes a good reply's PDU holds after the function code.
    var expectedDataLength: Int {
        switch function {
        case 1, 2: return 1 + (Int(quantityOrValue) + 7) / 8
        case 3, 4: return 1 + 2 * Int(quantityOrValue)
        default: return 4  // 5, 6, 15, 16 echo address and value or quantity
        }
    }
}

/// The verdict on one Modbus TCP reply, from its bytes alone.
public enum ModbusTCPReplyVerdict: Sendable, Hashable {
    /// The reply answers the request; for reads the data starts at byte 9 (after the byte count).
    case good
    /// A well-formed exception reply with a defined code.
    case exception(ModbusExceptionCode)
    /// A well-formed exception reply whose code Modbus does not define.
    case unexpectedException(UInt8)
    /// The reply does not answer the request.
    case malformed(ReplyDefect)
}

/// Checks Modbus TCP replies against their request before anything is decoded from them.
/// Pure functions of bytes (fuzzable): libmodbus 3.1.6 checks neither the unit id, nor the MBAP
/// length, nor (fully) the protocol id, so Vigil does.
public enum ModbusTCPReply {
    public static let headerLength = 7
    /// Largest ADU: the 7-byte MBAP header and a 253-byte PDU.
    public static let maxADU = 260

    /// What the MBAP header says: the reply's total length (header + PDU), or its defect.
    public enum HeaderVerdict: Sendable, Hashable {
        case total(Int)
        case defect(ReplyDefect)
    }

    /// Checks the 7-byte MBAP header against the request.
    public static func checkHeader(_ header: UnsafeBufferPointer<UInt8>, against request: ModbusTCPRequest) -> HeaderVerdict {
        guard header.count >= headerLength else { return .defect(.length) }
        let transaction = UInt16(header[0]) << 8 | UInt16(header[1])
        let protocolID = UInt16(header[2]) << 8 | UInt16(header[3])
        let length = Int(header[4]) << 8 | Int(header[5])
        if protocolID != 0 { return .defect(.protocolID) }
        // Unit id and at least a function code; at most the unit id and a 253-byte PDU.
        if length < 2 || length > maxADU - 6 { return .defect(.length) }
        if transaction != request.transactionID { return .defect(.transactionID) }
        if header[6] != request.unit { return .defect(.unitID) }
        return .total(6 + length)
    }

    /// Requests a client may still see a late answer to: the ones sent just before this one.
    public static let lateReplyWindow: UInt16 = 16

    /// Whether a header is a well-formed answer to one of the `lateReplyWindow` requests sent
    /// before `request` on this connection (same unit): a late answer to a request that timed out,
    /// to be dropped, not a forgery of this one.
    public static func isLateReply(_ header: UnsafeBufferPointer<UInt8>, to request: ModbusTCPRequest) -> Bool {
        guard header.count >= headerLength else { return false }
        let transaction = UInt16(header[0]) << 8 | UInt16(header[1])
        let protocolID = UInt16(header[2]) << 8 | UInt16(header[3])
        let length = Int(header[4]) << 8 | Int(header[5])
        let behind = request.transactionID &- transaction
        return protocolID == 0 && (2...(maxADU - 6)).contains(length) && header[6] == request.unit
            && behind >= 1 && behind <= lateReplyWindow
    }

    /// Checks a whole reply (MBAP header and PDU, exactly as received) against its request.
    public static func check(_ reply: UnsafeBufferPointer<UInt8>, against request: ModbusTCPRequest) -> ModbusTCPReplyVerdict {
        let total: Int
        switch checkHeader(reply, against: request) {
        case .defect(let defect): return .malformed(defect)
        case .total(let t): total = t
        }
        guard reply.count == total else { return .malformed(.length) }
        let pdu = headerLength  // index of the function code
        let pduLength = total - headerLength
        let function = reply[pdu]
        if function == request.function | 0x80 {
            guard pduLength == 2 else { return .malformed(.length) }
            let code = reply[pdu + 1]
            guard code != 0, let known = ModbusExceptionCode(rawValue: code) else { return .unexpectedException(code) }
            return .exception(known)
        }
        guard function == request.function else { return .malformed(.function) }
        switch request.function {
        case 1, 2, 3, 4:
            guard pduLength >= 2 else { return .malformed(.length) }
            let byteCount = Int(reply[pdu + 1])
            guard byteCount + 1 == request.expectedDataLength else { return .malformed(.byteCount) }
            guard pduLength == 2 + byteCount else { return .malformed(.length) }
            return .good
        case 5, 6, 15, 16:
            guard pduLength == 5 else { return .malformed(.length) }
            let address = UInt16(reply[pdu + 1]) << 8 | UInt16(reply[pdu + 2])
            let value = UInt16(reply[pdu + 3]) << 8 | UInt16(reply[pdu + 4])
            guard address == request.address, value == request.quantityOrValue else { return .malformed(.echo) }
            return .good
        default:
            return .malformed(.function)
        }
    }
}
