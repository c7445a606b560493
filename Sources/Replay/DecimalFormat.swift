/// Numbers as text, the same on every run and machine (no locale, no Foundation). Each number is
/// built on the stack (`ScratchBytes`) and appended to the output in one copy.
enum DecimalFormat {
    /// An integer in decimal.
    static func append(_ n: Int64, to out: inout [UInt8]) {
        var s = ScratchBytes()
        put(n, into: &s)
        s.append(to: &out)
    }

    /// Nanoseconds as seconds with `decimals` (0…9) places, truncated: `12.340`.
    static func appendSeconds(nanoseconds: Int64, decimals: Int, to out: inout [UInt8]) {
        var s = ScratchBytes()
        putSeconds(nanoseconds: nanoseconds, decimals: decimals, into: &s)
        s.append(to: &out)
    }

    /// `v` with up to `significant` significant digits, trailing zeros dropped (`6.02`, `0.00125`,
    /// `1234.57`); nothing for NaN. Magnitudes outside 10⁻⁶…10¹⁵ use the shortest exact form.
    static func append(_ v: Double, significant: Int = 6, to out: inout [UInt8]) {
        guard v.isFinite else {
            if !v.isNaN { out.append(contentsOf: v > 0 ? Array("inf".utf8) : Array("-inf".utf8)) }
            return
        }
        let magnitude = abs(v)
        guard v == 0 || (magnitude >= 1e-6 && magnitude < 1e15) else {
            appendShortest(v, to: &out)
            return
        }
        // Decimal places that leave `significant` digits: 10^exponent ≤ magnitude < 10^(exponent+1).
        var exponent = 0
        if magnitude >= 1 {
            while exponent < 15 && DecimalText.powersOfTen[exponent + 1] <= magnitude { exponent += 1 }
        } else if magnitude > 0 {
            while exponent > -7 && magnitude * DecimalText.powersOfTen[-exponent] < 1 { exponent -= 1 }
        }
        appendFixed(v, decimals: max(0, min(significant - 1 - exponent, 15)), to: &out)
    }

    /// `v` rounded to `decimals` (0…15) places, trailing zeros of the fraction dropped: `12.3`, `-0.05`, `7`.
    static func appendFixed(_ v: Double, decimals: Int, to out: inout [UInt8]) {
        var s = ScratchBytes()
        if putFixed(v, decimals: decimals, into: &s) { s.append(to: &out) } else { appendShortest(v, to: &out) }
    }

    /// The same as a `String` (for JSON and the SVG).
    static func text(_ v: Double, significant: Int = 6) -> String {
        var bytes: [UInt8] = []
        append(v, significant: significant, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The shortest text that reads back as `v` (the standard library's).
    static func appendShortest(_ v: Double, to out: inout [UInt8]) {
        var text = "\(v)"
        text.withUTF8 { out.append(contentsOf: $0) }
    }

    // MARK: Into scratch bytes

    @inline(__always)
    static func put(_ n: Int64, into s: inout ScratchBytes) {
        if n < 0 { s.put(UInt8(ascii: "-")) }
        putDigits(n.magnitude, minimumCount: 1, into: &s)
    }

    /// The digits of `m`, zero-padded on the left to `minimumCount`.
    @inline(__always)
    static func putDigits(_ m: UInt64, minimumCount: Int, into s: inout ScratchBytes) {
        var reversed = ScratchBytes()
        var m = m
        repeat {
            reversed.put(UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: m % 10))
            m /= 10
        } while m > 0
        for _ in reversed.count..<max(reversed.count, minimumCount) { s.put(UInt8(ascii: "0")) }
        reversed.putReversed(into: &s)
    }

    static func putSeconds(nanoseconds: Int64, decimals: Int, into s: inout ScratchBytes) {
        if nanoseconds < 0 { s.put(UInt8(ascii: "-")) }
        let m = nanoseconds.magnitude
        putDigits(m / 1_000_000_000, minimumCount: 1, into: &s)
        let places = min(max(decimals, 0), 9)
        guard places > 0 else { return }
        s.put(UInt8(ascii: "."))
        var fraction = m % 1_000_000_000
        for _ in places..<9 { fraction /= 10 }
        putDigits(fraction, minimumCount: places, into: &s)
    }

    /// False (nothing written) when `v` is not finite or too large for the places asked.
    static func putFixed(_ v: Double, decimals: Int, into s: inout ScratchBytes) -> Bool {
        let places = min(max(decimals, 0), 15)
        let scaled = (abs(v) * DecimalText.powersOfTen[places]).rounded()
        guard v.isFinite, scaled < 9e18 else { return false }
        var units = UInt64(scaled)
        var fractionDigits = places
        while fractionDigits > 0 && units % 10 == 0 {
            units /= 10
            fractionDigits -= 1
        }
        var divisor: UInt64 = 1
        for _ in 0..<fractionDigits { divisor *= 10 }
        if v < 0 && units != 0 { s.put(UInt8(ascii: "-")) }
        putDigits(units / divisor, minimumCount: 1, into: &s)
        guard fractionDigits > 0 else { return true }
        s.put(UInt8(ascii: "."))
        putDigits(units % divisor, minimumCount: fractionDigits, into: &s)
        return true
    }
}

/// Up to 64 bytes of text built on the stack, then appended to an array in one copy (an array
/// append per byte would check the array's uniqueness and capacity every time). Bytes past 64 are
/// dropped; what is built here (numbers, times) stays far shorter.
struct ScratchBytes {
    static let capacity = 64
    private var storage: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private(set) var count = 0

    @inline(__always) mutating func put(_ byte: UInt8) {
        guard count < Self.capacity else { return }
        let i = count
        withUnsafeMutableBytes(of: &storage) { $0[i] = byte }
        count = i + 1
    }

    @inline(__always) func putReversed(into other: inout ScratchBytes) {
        withUnsafeBytes(of: storage) { b in
            var i = count
            while i > 0 {
                i -= 1
                other.put(b[i])
            }
        }
    }

    @inline(__always) func append(to out: inout [UInt8]) {
        withUnsafeBytes(of: storage) { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
    }

    var string: String { withUnsafeBytes(of: storage) { String(decoding: $0[0..<count], as: UTF8.self) } }
}
