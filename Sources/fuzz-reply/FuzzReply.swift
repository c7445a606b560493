// libFuzzer harness: the Modbus TCP client's reply check (`ModbusTCPReply.check`) and register
// decoding on arbitrary bytes. The first 8 bytes make the request (transaction id, unit, function,
// address, quantity), the rest is the reply as received. A reply judged good answers exactly that
// request; its registers decode as every point type in every word order without a crash. Built
// and run by scripts/fuzz.
import Fieldbus
import FuzzSupport
import VigilCore

#if VIGIL_FUZZ
private let functions: [UInt8] = [1, 2, 3, 4, 5, 6, 15, 16]
private let types: [PointDataType] = [.bool, .int16, .uint16, .int32, .uint32, .int64, .uint64, .float32, .float64,
                                      .bitField(bit: 3, width: 4), .bitField(bit: 15, width: 1)]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzBytes(data, size)
    guard bytes.count >= 8 else { return 0 }
    let function = functions[Int(bytes[3]) % functions.count]
    var quantity = UInt16(bytes[6]) << 8 | UInt16(bytes[7])
    if function <= 4 { quantity = 1 + quantity % (function <= 2 ? 2000 : 125) }
    let request = ModbusTCPRequest(transactionID: UInt16(bytes[0]) << 8 | UInt16(bytes[1]), unit: bytes[2], function: function,
                                   address: UInt16(bytes[4]) << 8 | UInt16(bytes[5]), quantityOrValue: quantity)
    let reply = Array(bytes[8...])
    let verdict = reply.withUnsafeBufferPointer { ModbusTCPReply.check($0, against: request) }
    guard verdict == .good else { return 0 }
    // Good: the header answers this request and the PDU has the length the request asks for.
    guard reply.count >= 9, UInt16(reply[0]) << 8 | UInt16(reply[1]) == request.transactionID, reply[2] == 0, reply[3] == 0,
          reply[6] == request.unit, reply[7] == function, Int(reply[4]) << 8 | Int(reply[5]) == reply.count - 6 else {
        fatalError("a reply judged good that does not answer the request: \(reply)")
    }
    if function == 3 || function == 4 {
        guard reply.count == 9 + 2 * Int(quantity) else { fatalError("a register reply of \(reply.count) bytes for \(quantity) registers") }
        let registers = (0..<Int(quantity)).map { UInt16(reply[9 + 2 * $0]) << 8 | UInt16(reply[10 + 2 * $0]) }
        registers.withUnsafeBufferPointer { all in
            for type in types where type.registerCount <= all.count {
                let slice = UnsafeBufferPointer(rebasing: all[0..<type.registerCount])
                for order in WordOrder.allCases { _ = RegisterCodec.decode(type, order: order, registers: slice) }
            }
        }
    }
    return 0
}
#endif

@main struct FuzzReply {
    static func main() { fuzzMain(FuzzReply.self) }
}
