/// Why bytes from outside are not a fleet message. `offset` is where decoding stopped.
public enum FleetWireError: Error, Sendable, Hashable, CustomStringConvertible {
    case tooShort(what: String, bytes: Int)
    case badMagic(what: String, found: [UInt8])
    case unsupportedFormat(what: String, found: UInt16, supported: UInt16)
    case truncated(offset: Int, reading: String)
    case invalid(offset: Int, what: String)
    case trailingBytes(count: Int)

    public var description: String {
        switch self {
        case .tooShort(let w, let n): return "\(w): \(n) bytes is too short"
        case .badMagic(let w, let m): return "\(w): not one (magic \(m.map { String($0, radix: 16) }.joined(separator: " ")))"
        case .unsupportedFormat(let w, let f, let s): return "\(w): format \(f) (this Vigil reads format \(s))"
        case .truncated(let o, let r): return "truncated at byte \(o) reading \(r)"
        case .invalid(let o, let w): return "invalid at byte \(o): \(w)"
        case .trailingBytes(let n): return "\(n) bytes after the end"
        }
    }
}

/// Little-endian writer of the fleet formats.
struct FleetWriter {
    var data: [UInt8] = []
    mutating func u8(_ v: UInt8) { data.append(v) }
    mutating func bytes(_ v: [UInt8]) { data.append(contentsOf: v) }
    mutating func u16(_ v: UInt16) { for i in 0..<2 { data.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u32(_ v: UInt32) { for i in 0..<4 { data.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func u64(_ v: UInt64) { for i in 0..<8 { data.append(UInt8(truncatingIfNeeded: v >> (8 * i))) } }
    mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func f64(_ v: Double) { u64(v.bitPattern) }
    /// u16 length, then UTF-8 (cut to `FleetLimits.text` bytes at a character boundary).
    mutating func text(_ s: String) {
        var utf8 = Array(s.utf8)
        if utf8.count > FleetLimits.text {
            var cut = FleetLimits.text
            while cut > 0 && utf8[cut] & 0xC0 == 0x80 { cut -= 1 }
            utf8 = Array(utf8[0..<cut])
        }
        u16(UInt16(utf8.count))
        bytes(utf8)
    }
}

/// Bounds every decoder checks before it allocates.
public enum FleetLimits {
    /// Bytes of one text field.
    public static let text = 4_096
    /// Feature vectors in one feedback sample.
    public static let windowRows = 10_000
    /// Features per vector.
    public static let features = 1_024
    /// Sites named in one envelope.
    public static let sites = 10_000
    /// Bytes of the model file in an envelope.
    public static let modelBytes = 16 << 20
}

/// Little-endian reader over bytes from outside: every read is length-checked.
struct FleetReader {
    let data: [UInt8]
    var offset = 0
    var end: Int

    init(_ data: [UInt8], end: Int? = nil) {
        self.data = data
        self.end = end ?? data.count
    }

    /// Checks magic and format and positions the reader after the format's u16 flags; returns the flags.
    mutating func header(_ what: String, magic: [UInt8], format: UInt16) throws(FleetWireError) -> UInt16 {
        guard end >= 8 else { throw .tooShort(what: what, bytes: end) }
        guard Array(data[0..<4]) == magic else { throw .badMagic(what: what, found: Array(data[0..<4])) }
        offset = 4
        let found = try u16("format")
        guard found == format else { throw .unsupportedFormat(what: what, found: found, supported: format) }
        return try u16("flags")
    }

    mutating func bytes(_ n: Int, _ what: String) throws(FleetWireError) -> [UInt8] {
        guard n >= 0, n <= end - offset else { throw .truncated(offset: offset, reading: what) }
        defer { offset += n }
        return Array(data[offset..<(offset + n)])
    }

    mutating func u8(_ what: String) throws(FleetWireError) -> UInt8 { try bytes(1, what)[0] }
    mutating func u16(_ what: String) throws(FleetWireError) -> UInt16 {
        let b = try bytes(2, what)
        return UInt16(b[0]) | UInt16(b[1]) << 8
    }
    mutating func u32(_ what: String) throws(FleetWireError) -> UInt32 {
        let b = try bytes(4, what)
        return b.reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
    mutating func u64(_ what: String) throws(FleetWireError) -> UInt64 {
        let b = try bytes(8, what)
        return b.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
    mutating func i64(_ what: String) throws(FleetWireError) -> Int64 { Int64(bitPattern: try u64(what)) }
    mutating func f32(_ what: String) throws(FleetWireError) -> Float { Float(bitPattern: try u32(what)) }
    mutating func f64(_ what: String) throws(FleetWireError) -> Double { Double(bitPattern: try u64(what)) }
    mutating func flag(_ what: String) throws(FleetWireError) -> Bool {
        let v = try u8(what)
        guard v <= 1 else { throw .invalid(offset: offset - 1, what: "\(what) is \(v), not 0 or 1") }
        return v == 1
    }
    mutating func text(_ what: String) throws(FleetWireError) -> String {
        let n = Int(try u16("\(what) length"))
        guard n <= FleetLimits.text else { throw .invalid(offset: offset - 2, what: "\(what) of \(n) bytes") }
        let b = try bytes(n, what)
        guard let s = String(validating: b, as: UTF8.self) else { throw .invalid(offset: offset - n, what: "\(what) is not UTF-8") }
        return s
    }
    /// A count that must not exceed `limit`, nor promise more bytes than remain at `minimumBytesEach`.
    mutating func count(_ what: String, limit: Int, minimumBytesEach: Int) throws(FleetWireError) -> Int {
        let n = Int(try u32(what))
        guard n <= limit, n * max(minimumBytesEach, 0) <= end - offset else { throw .invalid(offset: offset - 4, what: "\(n) \(what)") }
        return n
    }
    func finish() throws(FleetWireError) {
        guard offset == end else { throw .trailingBytes(count: end - offset) }
    }
}
