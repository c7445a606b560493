import VigilCore

/// A decoded value before scale and offset, kept exact (64-bit integers do not fit a Double).
public enum RawValue: Sendable, Hashable {
    case bool(Bool)
    case int(Int64)
    case uint(UInt64)
    case float(Double)

    /// The value in decimal, integers exact (what the device holds, digit for digit).
    public var exactText: String {
        switch self {
        case .bool(let b): return b ? "1" : "0"
        case .int(let i): return String(i)
        case .uint(let u): return String(u)
        case .float(let f): return String(f)
        }
    }

    /// The value as a Double (64-bit integers above 2^53 round).
    public var doubleValue: Double {
        switch self {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return Double(i)
        case .uint(let u): return Double(u)
        case .float(let f): return f
        }
    }
}

/// Turns Modbus registers into typed values and back, for every type and word order Vigil supports.
///
/// Pure functions over caller-owned buffers: nothing allocates, so the cycle thread can decode in place.
public enum RegisterCodec {
    /// Assembles the registers of a value into one big-endian bit pattern (`abcd` order),
    /// undoing the point's word and byte order. Uses the first `count` registers (1, 2 or 4).
    @inlinable
    public static func assemble(_ registers: UnsafeBufferPointer<UInt16>, count: Int, order: WordOrder) -> UInt64 {
        var bits: UInt64 = 0
        let swapWords = order.swapsWords
        let swapBytes = order.swapsBytes
        for i in 0..<count {
            var word = registers[swapWords ? count - 1 - i : i]
            if swapBytes { word = word.byteSwapped }
            bits = (bits << 16) | UInt64(word)
        }
        return bits
    }

    /// Spreads a big-endian bit pattern over `count` registers in the point's word and byte order.
    @inlinable
    public static func spread(_ bits: UInt64, count: Int, order: WordOrder, into registers: UnsafeMutableBufferPointer<UInt16>) {
        let swapWords = order.swapsWords
        let swapBytes = order.swapsBytes
        for i in 0..<count {
            let shift = UInt64(16 * (count - 1 - i))
            var word = UInt16(truncatingIfNeeded: bits >> shift)
            if swapBytes { word = word.byteSwapped }
            registers[swapWords ? count - 1 - i : i] = word
        }
    }

    /// Decodes a register-table value. Returns nil when the registers do not hold a usable value
    /// (a bit field outside the register, a NaN or infinite float).
    @inlinable
    public static func decode(_ type: PointDataType, order: WordOrder, registers: UnsafeBufferPointer<UInt16>) -> RawValue? {
        guard registers.count >= type.registerCount else { return nil }
        switch type {
        case .bool:
            return .bool(registers[0] != 0)
        case .bitField(let bit, let width):
            guard bit >= 0, width >= 1, bit + width <= 16 else { return nil }
            var word = registers[0]
            if order.swapsBytes { word = word.byteSwapped }
            let mask: UInt16 = width == 16 ? 0xFFFF : (UInt16(1) << UInt16(width)) &- 1
            return .uint(UInt64((word >> UInt16(bit)) & mask))
        case .int16:
            return .int(Int64(Int16(bitPattern: UInt16(assemble(registers, count: 1, order: order)))))
        case .uint16:
            return .uint(assemble(registers, count: 1, order: order))
        case .int32:
            return .int(Int64(Int32(bitPattern: UInt32(assemble(registers, count: 2, order: order)))))
        case .uint32:
            return .uint(assemble(registers, count: 2, order: order))
        case .int64:
            return .int(Int64(bitPattern: assemble(registers, count: 4, order: order)))
        case .uint64:
            return .uint(assemble(registers, count: 4, order: order))
        case .float32:
            let f = Float(bitPattern: UInt32(assemble(registers, count: 2, order: order)))
            return f.isFinite ? .float(Double(f)) : nil
        case .float64:
            let d = Double(bitPattern: assemble(registers, count: 4, order: order))
            return d.isFinite ? .float(d) : nil
        }
    }

    /// Encodes a raw value into registers (the inverse of `decode`). Integers are clamped to the
    /// type's range; a bit field is merged into the register's other bits.
    @inlinable
    public static func encode(_ value: RawValue, as type: PointDataType, order: WordOrder, into registers: UnsafeMutableBufferPointer<UInt16>) {
        let d = value.doubleValue
        switch type {
        case .bool:
            registers[0] = d != 0 ? 1 : 0
        case .bitField(let bit, let width):
            guard bit >= 0, width >= 1, bit + width <= 16 else { return }
            let mask: UInt16 = width == 16 ? 0xFFFF : (UInt16(1) << UInt16(width)) &- 1
            let field = UInt16(clamping: integer(value, min: 0, max: Int64(mask)))
            var word = registers[0]
            if order.swapsBytes { word = word.byteSwapped }
            word = (word & ~(mask << UInt16(bit))) | ((field & mask) << UInt16(bit))
            if order.swapsBytes { word = word.byteSwapped }
            registers[0] = word
        case .int16:
            spread(UInt64(UInt16(bitPattern: Int16(integer(value, min: Int64(Int16.min), max: Int64(Int16.max))))), count: 1, order: order, into: registers)
        case .uint16:
            spread(UInt64(integer(value, min: 0, max: Int64(UInt16.max))), count: 1, order: order, into: registers)
        case .int32:
            spread(UInt64(UInt32(bitPattern: Int32(integer(value, min: Int64(Int32.min), max: Int64(Int32.max))))), count: 2, order: order, into: registers)
        case .uint32:
            spread(UInt64(integer(value, min: 0, max: Int64(UInt32.max))), count: 2, order: order, into: registers)
        case .int64:
            spread(UInt64(bitPattern: integer(value, min: .min, max: .max)), count: 4, order: order, into: registers)
        case .uint64:
            spread(unsigned(value), count: 4, order: order, into: registers)
        case .float32:
            spread(UInt64(Float(d).bitPattern), count: 2, order: order, into: registers)
        case .float64:
            spread(d.bitPattern, count: 4, order: order, into: registers)
        }
    }

    @usableFromInline
    static func integer(_ value: RawValue, min: Int64, max: Int64) -> Int64 {
        let v: Int64
        switch value {
        case .bool(let b): v = b ? 1 : 0
        case .int(let i): v = i
        case .uint(let u): v = u > UInt64(Int64.max) ? .max : Int64(u)
        case .float(let f):
            let r = f.rounded()
            if r.isNaN { v = 0 } else if r >= 9.223372036854775807e18 { v = .max } else if r <= -9.223372036854775808e18 { v = .min } else { v = Int64(r) }
        }
        return Swift.min(Swift.max(v, min), max)
    }

    @usableFromInline
    static func unsigned(_ value: RawValue) -> UInt64 {
        switch value {
        case .bool(let b): return b ? 1 : 0
        case .int(let i): return i < 0 ? 0 : UInt64(i)
        case .uint(let u): return u
        case .float(let f):
            let r = f.rounded()
            if r.isNaN || r <= 0 { return 0 }
            if r >= 1.8446744073709552e19 { return .max }
            return UInt64(r)
        }
    }
}

extension PointConfig {
    /// Raw value → engineering value.
    @inlinable
    public func engineering(_ raw: RawValue) -> Double { raw.doubleValue * scale + offset }

    /// Engineering value → raw value of this point's type (used to write outputs and by simulators).
    @inlinable
    public func raw(fromEngineering value: Double) -> RawValue {
        let r = scale == 0 ? value - offset : (value - offset) / scale
        switch type {
        case .bool: return .bool(r != 0)
        case .float32, .float64: return .float(r)
        case .uint16, .uint32, .uint64, .bitField: return r <= 0 ? .uint(0) : .float(r)
        case .int16, .int32, .int64: return .float(r)
        }
    }
}
