#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Decimal text to numbers, straight from bytes: no `String`, no Foundation, no allocation.
///
/// A decimal of at most 19 significant digits whose value fits 2⁵³ with a power of ten up to 10²²
/// (what historians write) is converted with one exact multiplication or division, which IEEE
/// rounding makes correctly rounded (Clinger's fast path). Anything longer (a full-precision double
/// has 17 digits) goes to the C library's `strtod` under the C locale, correctly rounded too, from
/// a copy on the stack: the replay parses while it steps, and a `String` per cell would allocate.
/// Nothing here can trap on any input.
enum DecimalText {
    /// 10⁰…10²², each exact in a Double.
    static let powersOfTen: [Double] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]

    @inline(__always) static func digit(_ b: UInt8) -> UInt8? {
        let d = b &- UInt8(ascii: "0")
        return d < 10 ? d : nil
    }

    /// The decimal in `bytes[start..<end]`: `[+|-]digits[.digits][(e|E)[+|-]digits]` (digits on at
    /// least one side of the point); nil for anything else. May be infinite for a huge exponent.
    static func double(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        var i = start
        guard i < end else { return nil }
        var negative = false
        if bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var mantissa: UInt64 = 0
        var significant = 0, exponent = 0
        var exact = true
        // Leading zeros carry no significant digit.
        let first = i
        while i < end && bytes[i] == UInt8(ascii: "0") { i += 1 }
        var digits = i - first
        while i < end, let d = digit(bytes[i]) {
            digits += 1
            if significant < 19 {
                mantissa = mantissa &* 10 &+ UInt64(d)
                significant += 1
            } else {
                exponent += 1
                if d != 0 { exact = false }
            }
            i += 1
        }
        if i < end && bytes[i] == UInt8(ascii: ".") {
            i += 1
            if significant == 0 {
                let zeros = i
                while i < end && bytes[i] == UInt8(ascii: "0") { i += 1 }
                exponent -= i - zeros
                digits += i - zeros
            }
            while i < end, let d = digit(bytes[i]) {
                digits += 1
                if significant < 19 {
                    mantissa = mantissa &* 10 &+ UInt64(d)
                    significant += 1
                    exponent -= 1
                } else if d != 0 {
                    exact = false
                }
                i += 1
            }
        }
        guard digits > 0 else { return nil }
        if i < end && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            i += 1
            var negativeExponent = false
            if i < end && (bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-")) {
                negativeExponent = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            var e = 0, exponentDigits = 0
            while i < end, let d = digit(bytes[i]) {
                if e < 100_000 { e = e * 10 + Int(d) }
                exponentDigits += 1
                i += 1
            }
            guard exponentDigits > 0 else { return nil }
            exponent += negativeExponent ? -e : e
        }
        guard i == end else { return nil }
        if mantissa == 0 { return negative ? -0.0 : 0.0 }
        if exact && mantissa <= 1 << 53 && exponent >= -22 && exponent <= 22 {
            let m = Double(mantissa)
            let v = exponent < 0 ? m / powersOfTen[-exponent] : m * powersOfTen[exponent]
            return negative ? -v : v
        }
        // Checked above to be a plain decimal.
        return correctlyRounded(bytes, start, end)
    }

    /// The C locale, whose decimal point is `.` whatever the process's locale says.
    private nonisolated(unsafe) static let cLocale = newlocale(1 << LC_NUMERIC, "C", nil)

    /// A plain decimal read by `strtod` (correctly rounded, like the standard library's parser) in
    /// the C locale, from a NUL-terminated copy on the stack (on the heap only past a kilobyte).
    /// The corresponding C functions are `uselocale` and `strtod`.
    private static func correctlyRounded(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Double? {
        let count = end - start
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: count + 1) { text -> Double? in
            guard let base = text.baseAddress, let locale = cLocale else { return nil }
            for k in 0..<count { text[k] = CChar(bitPattern: bytes[start + k]) }
            text[count] = 0
            let previous = uselocale(locale)
            defer { uselocale(previous) }
            var stop: UnsafeMutablePointer<CChar>? = nil
            let v = strtod(base, &stop)
            return stop == base + count ? v : nil
        }
    }

    /// Whether `bytes[start..<end]` is `nan` in any case (a historian's "no value").
    static func isNaN(_ bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Bool {
        guard end - start == 3 else { return false }
        return bytes[start] | 0x20 == UInt8(ascii: "n") && bytes[start + 1] | 0x20 == UInt8(ascii: "a")
            && bytes[start + 2] | 0x20 == UInt8(ascii: "n")
    }

    /// Seconds written as a decimal, in nanoseconds: exact for a plain decimal (digits past the
    /// ninth decimal are dropped), rounded for one with an exponent. Nil when it is not a decimal
    /// or beyond ±9.2 × 10⁹ s.
    static func nanoseconds(fromSeconds bytes: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int64? {
        var i = start
        guard i < end else { return nil }
        var negative = false
        if bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") {
            negative = bytes[i] == UInt8(ascii: "-")
            i += 1
        }
        var seconds: Int64 = 0, digits = 0
        while i < end, let d = digit(bytes[i]) {
            guard seconds <= 9_223_372_035 else { return nil }
            seconds = seconds * 10 + Int64(d)
            digits += 1
            i += 1
        }
        var fraction: Int64 = 0, fractionDigits = 0
        if i < end && bytes[i] == UInt8(ascii: ".") {
            i += 1
            while i < end, let d = digit(bytes[i]) {
                if fractionDigits < 9 {
                    fraction = fraction * 10 + Int64(d)
                    fractionDigits += 1
                }
                digits += 1
                i += 1
            }
        }
        guard digits > 0 else { return nil }
        if i < end && (bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E")) {
            guard let v = double(bytes, start, end), v.isFinite, abs(v) < 9.2e9 else { return nil }
            return Int64((v * 1e9).rounded())
        }
        guard i == end, seconds <= 9_200_000_000 else { return nil }
        for _ in fractionDigits..<9 { fraction *= 10 }
        let ns = seconds * 1_000_000_000 + fraction
        return negative ? -ns : ns
    }
}
