/// Why a model file was refused. The previous good model stays in service whenever one is thrown.
public enum ModelFileError: Error, Sendable, Hashable, CustomStringConvertible {
    case tooShort(bytes: Int)
    case badMagic(found: [UInt8])
    case unsupportedFormat(found: UInt16, supported: UInt16)
    case checksumMismatch(stored: UInt32, computed: UInt32)
    case truncated(offset: Int, reading: String)
    case invalid(offset: Int, what: String)
    case trailingBytes(count: Int)
    case network(QuantizedModelError)
    case shape(PolicyModel.ShapeError)

    public var description: String {
        switch self {
        case .tooShort(let n): return "not a Vigil model file: \(n) bytes, fewer than a header and a checksum"
        case .badMagic(let m): return "not a Vigil model file: starts with \(m.map { String($0, radix: 16) }), expected \"VGLM\""
        case .unsupportedFormat(let f, let s): return "model file format \(f) is not supported by this Vigil (reads format \(s))"
        case .checksumMismatch(let stored, let computed):
            return "model file is corrupt: checksum \(String(stored, radix: 16)) stored, \(String(computed, radix: 16)) computed"
        case .truncated(let o, let what): return "model file is truncated at byte \(o) (reading \(what))"
        case .invalid(let o, let what): return "model file is invalid at byte \(o): \(what)"
        case .trailingBytes(let n): return "model file has \(n) unexpected bytes before its checksum"
        case .network(let e): return "model file holds an inconsistent network: \(e)"
        case .shape(let e): return "model file's schema does not match its network: \(e)"
        }
    }
}

/// The binary model file (docs/POLICY-MODEL.md, "File format"), little-endian:
///
/// ```
/// "VGLM"  format:u16  flags:u16  version:u32  parent:u32
/// features:u16 {len:u8 utf8}…   classes:u16 {…}   actions:u16 {…}
/// mean:f32[features]  inverseSpread:f32[features]
/// layers:u16 { inputs:u16 outputs:u16 relu:u8
///              inScale:f32 inZero:i32 outScale:f32 outZero:i32
///              weights:i8[outputs·inputs] weightScales:f32[outputs] bias:i32[outputs] }…
/// crc32:u32   (IEEE 802.3, over every byte before it)
/// ```
///
/// Requantization multipliers and folded biases are not stored: they are prepared at load from
/// the scales, so a file cannot carry multipliers that disagree with its scales.
public enum ModelFile {
    public static let magic: [UInt8] = Array("VGLM".utf8)
    public static let format: UInt16 = 1
    /// Bounds that keep a hostile or corrupt file from asking for absurd allocations.
    static let maxNames = 1024, maxLayers = 64, maxWidth = 4096

    public static func encode(_ model: PolicyModel) -> [UInt8] {
        var w = ByteWriter()
        w.bytes(magic)
        w.u16(format)
        w.u16(0)
        w.u32(model.lineage.version)
        w.u32(model.lineage.parent)
        for names in [model.schema.features, model.schema.classes, model.schema.actions] {
            w.u16(UInt16(names.count))
            for n in names {
                let utf8 = Array(n.utf8.prefix(255))
                w.u8(UInt8(utf8.count))
                w.bytes(utf8)
            }
        }
        for v in model.normalisation.mean { w.f32(v) }
        for v in model.normalisation.inverseSpread { w.f32(v) }
        w.u16(UInt16(model.network.layers.count))
        for l in model.network.layers {
            w.u16(UInt16(l.inputs))
            w.u16(UInt16(l.outputs))
            w.u8(l.relu ? 1 : 0)
            w.f32(l.input.scale)
            w.i32(l.input.zeroPoint)
            w.f32(l.output.scale)
            w.i32(l.output.zeroPoint)
            for v in l.weights { w.u8(UInt8(bitPattern: v)) }
            for v in l.weightScales { w.f32(v) }
            for v in l.bias { w.i32(v) }
        }
        w.u32(CRC32.checksum(w.data))
        return w.data
    }

    public static func decode(_ data: [UInt8]) throws(ModelFileError) -> PolicyModel {
        var r = try ByteReader(checkedFile: data, magic: magic, format: format, minimumBytes: 20)
        let lineage = ModelLineage(version: try r.u32("version"), parent: try r.u32("parent"))
        var lists: [[String]] = []
        for what in ["feature names", "class names", "action names"] {
            let count = Int(try r.u16("\(what) count"))
            guard count > 0, count <= maxNames else { throw .invalid(offset: r.offset, what: "\(count) \(what)") }
            var names: [String] = []
            for _ in 0..<count {
                let len = Int(try r.u8("\(what) length"))
                let bytes = try r.bytes(len, what)
                guard let name = String(validating: bytes, as: UTF8.self) else { throw .invalid(offset: r.offset, what: "\(what) not UTF-8") }
                names.append(name)
            }
            lists.append(names)
        }
        let schema = ModelSchema(features: lists[0], classes: lists[1], actions: lists[2])
        let f = schema.features.count
        var mean: [Float] = [], spread: [Float] = []
        for _ in 0..<f { mean.append(try r.f32("normalisation mean")) }
        for _ in 0..<f { spread.append(try r.f32("normalisation spread")) }
        guard (mean + spread).allSatisfy(\.isFinite) else { throw .invalid(offset: r.offset, what: "normalisation not finite") }
        let layerCount = Int(try r.u16("layer count"))
        guard layerCount > 0, layerCount <= maxLayers else { throw .invalid(offset: r.offset, what: "\(layerCount) layers") }
        var layers: [QuantizedLayer] = []
        for i in 0..<layerCount {
            let inputs = Int(try r.u16("layer \(i) inputs")), outputs = Int(try r.u16("layer \(i) outputs"))
            guard inputs > 0, outputs > 0, inputs <= maxWidth, outputs <= maxWidth else {
                throw .invalid(offset: r.offset, what: "layer \(i) is \(outputs) × \(inputs)")
            }
            let relu = try r.u8("layer \(i) activation")
            guard relu <= 1 else { throw .invalid(offset: r.offset, what: "layer \(i) activation \(relu)") }
            let inScale = try r.f32("layer \(i) input scale"), inZero = try r.i32("layer \(i) input zero point")
            let outScale = try r.f32("layer \(i) output scale"), outZero = try r.i32("layer \(i) output zero point")
            for (s, z) in [(inScale, inZero), (outScale, outZero)] where !(s > 0 && s.isFinite && (-128...127).contains(z)) {
                throw .invalid(offset: r.offset, what: "layer \(i) encoding scale \(s), zero point \(z)")
            }
            let weights = try r.bytes(inputs * outputs, "layer \(i) weights").map { Int8(bitPattern: $0) }
            guard !weights.contains(-128) else { throw .invalid(offset: r.offset, what: "layer \(i) weight −128 (symmetric weights are −127…127)") }
            var scales: [Float] = [], bias: [Int32] = []
            for _ in 0..<outputs { scales.append(try r.f32("layer \(i) weight scales")) }
            for _ in 0..<outputs { bias.append(try r.i32("layer \(i) bias")) }
            do {
                layers.append(try QuantizedLayer(inputs: inputs, outputs: outputs, relu: relu == 1, weights: weights, weightScales: scales, bias: bias,
                                                 input: ActivationQuantization(scale: inScale, zeroPoint: inZero),
                                                 output: ActivationQuantization(scale: outScale, zeroPoint: outZero), index: i))
            } catch {
                throw .network(error)
            }
        }
        guard r.offset == r.end else { throw .trailingBytes(count: r.end - r.offset) }
        let network: QuantizedMLP
        do { network = try QuantizedMLP(layers: layers) } catch { throw .network(error) }
        do {
            return try PolicyModel(schema: schema, normalisation: FeatureNormalisation(mean: mean, inverseSpread: spread),
                                   network: network, lineage: lineage)
        } catch {
            throw .shape(error)
        }
    }
}

struct ByteWriter {
    var data: [UInt8] = []
    mutating func u8(_ v: UInt8) { data.append(v) }
    mutating func bytes(_ v: [UInt8]) { data.append(contentsOf: v) }
    mutating func u16(_ v: UInt16) { for i in 0..<2 { data.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { data.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func i32(_ v: Int32) { u32(UInt32(bitPattern: v)) }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
}

struct ByteReader {
    let data: [UInt8]
    let end: Int
    var offset: Int

    init(data: [UInt8], end: Int, offset: Int) {
        self.data = data
        self.end = end
        self.offset = offset
    }

    /// A reader over the body of a checksummed file (`magic`, format:u16, flags:u16, …, crc32:u32),
    /// positioned after the flags. The format is checked before the checksum: a newer file is
    /// "unsupported", not "corrupt".
    init(checkedFile data: [UInt8], magic: [UInt8], format: UInt16, minimumBytes: Int) throws(ModelFileError) {
        guard data.count >= minimumBytes else { throw .tooShort(bytes: data.count) }
        guard Array(data[0..<4]) == magic else { throw .badMagic(found: Array(data[0..<4])) }
        let body = data.count - 4
        let stored = UInt32(data[body]) | UInt32(data[body + 1]) << 8 | UInt32(data[body + 2]) << 16 | UInt32(data[body + 3]) << 24
        self.init(data: data, end: body, offset: 4)
        let found = try u16("format")
        guard found == format else { throw .unsupportedFormat(found: found, supported: format) }
        let computed = CRC32.checksum(data[0..<body])
        guard computed == stored else { throw .checksumMismatch(stored: stored, computed: computed) }
        _ = try u16("flags")
    }

    mutating func bytes(_ n: Int, _ what: String) throws(ModelFileError) -> [UInt8] {
        guard n >= 0, offset + n <= end else { throw .truncated(offset: offset, reading: what) }
        defer { offset += n }
        return Array(data[offset..<(offset + n)])
    }

    mutating func u8(_ what: String) throws(ModelFileError) -> UInt8 { try bytes(1, what)[0] }
    mutating func u16(_ what: String) throws(ModelFileError) -> UInt16 {
        let b = try bytes(2, what)
        return UInt16(b[0]) | UInt16(b[1]) << 8
    }
    mutating func u32(_ what: String) throws(ModelFileError) -> UInt32 {
        let b = try bytes(4, what)
        return UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
    }
    mutating func i32(_ what: String) throws(ModelFileError) -> Int32 { Int32(bitPattern: try u32(what)) }
    mutating func f32(_ what: String) throws(ModelFileError) -> Float { Float(bitPattern: try u32(what)) }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib's `crc32`.
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i -> UInt32 in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}
