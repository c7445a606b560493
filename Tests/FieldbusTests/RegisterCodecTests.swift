import Foundation
import Testing
import Fieldbus
import VigilCore

/// One row of Fixtures/codec_vectors.csv (made by make_codec_vectors.py from Python's struct module).
struct CodecVector: Sendable, CustomTestStringConvertible {
    var line: Int
    var type: PointDataType
    var order: WordOrder
    var registers: [UInt16]
    var expected: RawValue
    var roundTrips: Bool
    var text: String

    var testDescription: String { "line \(line): \(text)" }
}

enum CodecVectorFile {
    static let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/codec_vectors.csv")

    static let vectors: [CodecVector] = {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        var rows: [CodecVector] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix("type,") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            // A malformed row becomes a vector that cannot match, so it fails loudly.
            guard fields.count >= 5, let type = parseType(fields[0]), let order = WordOrder(rawValue: fields[1]),
                  let expected = parseValue(fields[3], type: type) else {
                rows.append(CodecVector(line: index + 1, type: .uint16, order: .abcd, registers: [], expected: .bool(false),
                                        roundTrips: false, text: "unparsable: \(line)"))
                continue
            }
            let registers = fields[2].split(separator: " ").map { UInt16($0, radix: 16)! }
            rows.append(CodecVector(line: index + 1, type: type, order: order, registers: registers, expected: expected,
                                    roundTrips: fields[4] == "1", text: String(line)))
        }
        return rows
    }()

    static func parseType(_ s: String) -> PointDataType? {
        switch s {
        case "bool": return .bool
        case "int16": return .int16
        case "uint16": return .uint16
        case "int32": return .int32
        case "uint32": return .uint32
        case "int64": return .int64
        case "uint64": return .uint64
        case "float32": return .float32
        case "float64": return .float64
        default:
            // bitfield:BIT:WIDTH (no comma, so the CSV needs no quoting)
            let parts = s.split(separator: ":")
            guard parts.count == 3, parts[0] == "bitfield", let bit = Int(parts[1]), let width = Int(parts[2]) else { return nil }
            return .bitField(bit: bit, width: width)
        }
    }

    static func parseValue(_ s: String, type: PointDataType) -> RawValue? {
        switch type {
        case .bool: return s == "true" ? .bool(true) : s == "false" ? .bool(false) : nil
        case .int16, .int32, .int64: return Int64(s).map(RawValue.int)
        case .uint16, .uint32, .uint64, .bitField: return UInt64(s).map(RawValue.uint)
        case .float32, .float64: return Double(s).map(RawValue.float) // Swift parses float.hex() exactly
        }
    }
}

/// Exact equality: floats compared by bit pattern, so -0.0 is not 0.0.
func identical(_ a: RawValue?, _ b: RawValue?) -> Bool {
    switch (a, b) {
    case (.float(let x)?, .float(let y)?): return x.bitPattern == y.bitPattern
    default: return a == b
    }
}

func decode(_ type: PointDataType, _ order: WordOrder, _ registers: [UInt16]) -> RawValue? {
    registers.withUnsafeBufferPointer { RegisterCodec.decode(type, order: order, registers: $0) }
}

func encode(_ value: RawValue, _ type: PointDataType, _ order: WordOrder, into registers: [UInt16]) -> [UInt16] {
    var out = registers
    out.withUnsafeMutableBufferPointer { RegisterCodec.encode(value, as: type, order: order, into: $0) }
    return out
}

@Suite("RegisterCodec")
struct RegisterCodecTests {
    @Test func vectorFileCoversEveryTypeAndOrder() {
        let vectors = CodecVectorFile.vectors
        #expect(vectors.count > 300, "read \(vectors.count) vectors from \(CodecVectorFile.url.path)")
        for type in ["bool", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "bitfield"] {
            for order in WordOrder.allCases {
                #expect(vectors.contains { $0.type.description.hasPrefix(type) && $0.order == order }, "\(type) \(order)")
            }
        }
    }

    @Test(arguments: CodecVectorFile.vectors)
    func decodesVectorExactly(_ v: CodecVector) {
        let decoded = decode(v.type, v.order, v.registers)
        #expect(identical(decoded, v.expected), "decoded \(String(describing: decoded))")
    }

    @Test(arguments: CodecVectorFile.vectors.filter(\.roundTrips))
    func encodeReproducesVectorRegisters(_ v: CodecVector) {
        let zeros = [UInt16](repeating: 0, count: v.registers.count)
        if case .bitField = v.type {
            // Into a cleared register the field alone must come back; into the original the other bits stay.
            #expect(identical(decode(v.type, v.order, encode(v.expected, v.type, v.order, into: zeros)), v.expected))
            #expect(encode(v.expected, v.type, v.order, into: v.registers) == v.registers)
        } else {
            #expect(encode(v.expected, v.type, v.order, into: zeros) == v.registers)
        }
    }

    @Test(arguments: WordOrder.allCases)
    func nanAndInfinityAreDecodeErrors(_ order: WordOrder) {
        for bits: UInt32 in [0x7FC0_0000, 0xFFC0_0001, 0x7F80_0000, 0xFF80_0000] {
            var regs: [UInt16] = [0, 0]
            regs.withUnsafeMutableBufferPointer { RegisterCodec.spread(UInt64(bits), count: 2, order: order, into: $0) }
            #expect(decode(.float32, order, regs) == nil, "float32 \(String(bits, radix: 16))")
        }
        for bits: UInt64 in [0x7FF8_0000_0000_0000, 0xFFF0_0000_0000_0000, 0x7FF0_0000_0000_0000, 0x7FF0_0000_0000_0001] {
            var regs: [UInt16] = [0, 0, 0, 0]
            regs.withUnsafeMutableBufferPointer { RegisterCodec.spread(bits, count: 4, order: order, into: $0) }
            #expect(decode(.float64, order, regs) == nil, "float64 \(String(bits, radix: 16))")
        }
    }

    @Test func bitFieldsOutsideTheRegisterAreDecodeErrors() {
        for (bit, width) in [(15, 2), (-1, 1), (0, 0), (0, 17), (16, 1), (8, 9)] {
            #expect(decode(.bitField(bit: bit, width: width), .abcd, [0xFFFF]) == nil, "bit \(bit) width \(width)")
        }
        #expect(decode(.bitField(bit: 15, width: 1), .abcd, [0x8000]) == .uint(1))
        #expect(decode(.bitField(bit: 0, width: 16), .abcd, [0x8001]) == .uint(0x8001))
    }

    @Test func bitFieldEncodeIgnoresBadRangesClampsAndKeepsOtherBits() {
        #expect(encode(.uint(1), .bitField(bit: 15, width: 2), .abcd, into: [0x1234]) == [0x1234])
        #expect(encode(.uint(40), .bitField(bit: 4, width: 4), .abcd, into: [0x0000]) == [0x00F0])
        #expect(encode(.uint(0), .bitField(bit: 4, width: 4), .abcd, into: [0xFFFF]) == [0xFF0F])
        #expect(encode(.int(-3), .bitField(bit: 0, width: 4), .abcd, into: [0xFFFF]) == [0xFFF0])
        // BADC: the field is counted in the byte-swapped register.
        #expect(encode(.uint(0xA), .bitField(bit: 0, width: 4), .badc, into: [0x0000]) == [0x0A00])
    }

    @Test func tooFewRegistersIsADecodeError() {
        #expect(decode(.int32, .abcd, [0x0001]) == nil)
        #expect(decode(.float64, .dcba, [0, 0, 0]) == nil)
        #expect(decode(.uint16, .abcd, []) == nil)
    }

    @Test func integerEncodeClampsToTheTypesRange() {
        #expect(encode(.int(70_000), .int16, .abcd, into: [0]) == [0x7FFF])
        #expect(encode(.int(-70_000), .int16, .abcd, into: [0]) == [0x8000])
        #expect(encode(.int(-1), .uint32, .abcd, into: [0, 0]) == [0, 0])
        #expect(encode(.float(1e30), .int64, .abcd, into: [0, 0, 0, 0]) == [0x7FFF, 0xFFFF, 0xFFFF, 0xFFFF])
        #expect(encode(.uint(.max), .uint64, .cdab, into: [0, 0, 0, 0]) == [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF])
        #expect(encode(.float(2.5), .int16, .abcd, into: [0]) == [3]) // rounds half away from zero
    }

    @Test(arguments: [
        (PointDataType.int16, 0.1, -40.0, [25.3, -40.0, 0.0, 3_236.7]),
        (.uint16, 0.01, 0.0, [0.0, 12.34, 655.35]),
        (.int32, 0.001, 100.0, [-2_000.5, 100.0, 2_000.125]),
        (.uint32, 2.0, -1.0, [-1.0, 9.0, 8_589_934_589.0]),
        (.float32, 2.0, 1.0, [1.0, -3.5, 1e6 + 0.5]),
        (.float64, 0.5, 273.15, [-273.15, 0.0, 1e300]),
        (.int64, 1.0, 0.0, [-9_007_199_254_740_992.0, 9_007_199_254_740_992.0]),
        (.bool, 1.0, 0.0, [0.0, 1.0]),
    ])
    func engineeringRoundTripsThroughRegisters(_ type: PointDataType, _ scale: Double, _ offset: Double, _ values: [Double]) {
        let point = PointConfig(id: "p", function: .holding, address: 0, type: type, order: .cdab, scale: scale, offset: offset)
        for value in values {
            let raw = point.raw(fromEngineering: value)
            let regs = encode(raw, type, point.order, into: [UInt16](repeating: 0, count: type.registerCount))
            guard let decoded = decode(type, point.order, regs) else {
                Issue.record("\(type) \(value): decode failed")
                continue
            }
            let back = point.engineering(decoded)
            // One raw step of the type is the resolution; float32 keeps 24 bits.
            let tolerance = type == .float32 ? abs(value) * 1e-7 : type == .float64 ? abs(value) * 1e-15 : abs(scale) * 0.5 + 1e-9
            #expect(abs(back - value) <= tolerance, "\(type) scale \(scale) offset \(offset): \(value) → \(raw) → \(back)")
        }
    }

    @Test func unsignedPointsClampNegativeEngineeringValuesToZero() {
        let point = PointConfig(id: "p", function: .holding, address: 0, type: .uint16, scale: 0.1, offset: 0)
        #expect(point.raw(fromEngineering: -5) == .uint(0))
        #expect(point.engineering(.uint(123)) == 123 * 0.1)
    }
}
