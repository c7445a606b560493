/// Numbers as text into a byte buffer, the same on every run and machine (no locale, no Foundation).
enum DecimalFormat {
    /// An integer in decimal.
    static func append(_ n: Int64, to out: inout [UInt8]) {
        if n < 0 { out.append(UInt8(ascii: "-")) }
        var m = n.magnitude
        var digits = (UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0),
                      UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0))
        var count = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[count] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
                count += 1
            } while m > 0
            for i in stride(from: count - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }

    /// Nanoseconds as seconds with `decimals` (0…9) places, truncated: `12.340`.
    static func appendSeconds(nanoseconds: Int64, decimals: Int, to out: inout [UInt8]) {
        if nanoseconds < 0 { out.append(UInt8(ascii: "-")) }
        let m = nanoseconds.magnitude
        append(Int64(m / 1_000_000_000), to: &out)
        guard decimals > 0 else { return }
        out.append(UInt8(ascii: "."))
        var fraction = m % 1_000_000_000
        var divisor: UInt64 = 100_000_000
        for _ in 0..<min(decimals, 9) {
            out.append(UInt8(ascii: "0") + UInt8(fraction / divisor))
            fraction %= divisor
            divisor /= 10
        }
    }

    /// `v` with up to `significant` significant digits, trailing zeros dropped (`6.02`, `0.00125`,
    /// `1234.57`); nothing for NaN. Magnitudes outside 10⁻⁶…10¹⁵ use the shortest exact form.
    static func append(_ v: Double, significant: Int = 6, to out: inout [UInt8]) {
        guard v.isFinite else {
            if !v.isNaN { out.append(contentsOf: v > 0 ? Array("inf".utf8) : Array("-inf".utf8)) }
            return
        }
        if v == 0 {
            out.append(UInt8(ascii: "0"))
            return
        }
        let magnitude = abs(v)
        guard magnitude >= 1e-6 && magnitude < 1e15 else {
            var text = "\(v)"
            text.withUTF8 { out.append(contentsOf: $0) }
            return
        }
        // Decimal places that leave `significant` digits: 10^(exponent) ≤ magnitude < 10^(exponent+1).
        var exponent = 0
        var p = 1.0
        if magnitude >= 1 {
            while p * 10 <= magnitude { p *= 10; exponent += 1 }
        } else {
            while p > magnitude { p /= 10; exponent -= 1 }
        }
        appendFixed(v, decimals: max(0, min(significant - 1 - exponent, 15)), to: &out)
    }

    /// `v` rounded to `decimals` (0…15) places, trailing zeros of the fraction dropped: `12.3`, `-0.05`, `7`.
    static func appendFixed(_ v: Double, decimals: Int, to out: inout [UInt8]) {
        let places = min(max(decimals, 0), 15)
        let scaled = (abs(v) * DecimalText.powersOfTen[places]).rounded()
        guard v.isFinite, scaled < 9e18 else {
            var text = "\(v)"
            text.withUTF8 { out.append(contentsOf: $0) }
            return
        }
        var units = UInt64(scaled)
        var divisor: UInt64 = 1
        for _ in 0..<places { divisor *= 10 }
        var fractionDigits = places
        while fractionDigits > 0 && units % 10 == 0 {
            units /= 10
            divisor /= 10
            fractionDigits -= 1
        }
        if v < 0 && units != 0 { out.append(UInt8(ascii: "-")) }
        append(Int64(units / divisor), to: &out)
        guard fractionDigits > 0 else { return }
        out.append(UInt8(ascii: "."))
        var fraction = units % divisor
        var d = divisor / 10
        for _ in 0..<fractionDigits {
            out.append(UInt8(ascii: "0") + UInt8(fraction / d))
            fraction %= d
            d /= 10
        }
    }

    /// The same as a `String` (for JSON and the SVG).
    static func text(_ v: Double, significant: Int = 6) -> String {
        var bytes: [UInt8] = []
        append(v, significant: significant, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
