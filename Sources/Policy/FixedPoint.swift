/// Integer-only requantization, as in gemmlowp's `fixedpoint.h` and the TensorFlow Lite reference
/// kernels (`MultiplyByQuantizedMultiplier`), in TFLite's two variants: double rounding (gemmlowp:
/// a rounding doubling high multiply, then a rounding shift) and single rounding
/// (`TFLITE_SINGLE_ROUNDING`: one 64-bit product, one rounding shift). Both kernels of the policy
/// model requantize with `multiplySingleRounding`, so they agree bit for bit; it is a third of the
/// work per output channel and rounds once instead of twice (never further from the exact value).
public enum FixedPoint {
    /// acc · M for M = m0 · 2^−rightShift, rounded once, ties towards +∞: (acc·m0 + 2^(r−1)) >> r.
    /// `rightShift` is 31 − the multiplier's shift (1…62 for every representable multiplier).
    @inline(__always)
    public static func multiplySingleRounding(_ acc: Int32, m0: Int32, rightShift: Int32) -> Int32 {
        let product = Int64(acc) &* Int64(m0)
        return Int32(truncatingIfNeeded: (product &+ (Int64(1) &<< (rightShift &- 1))) &>> Int64(rightShift))
    }

    /// (a · b · 2) / 2³¹, rounded to nearest (ties away from zero), saturating the one overflow case
    /// (a = b = Int32.min). gemmlowp: `SaturatingRoundingDoublingHighMul`.
    @inline(__always)
    public static func saturatingRoundingDoublingHighMul(_ a: Int32, _ b: Int32) -> Int32 {
        if a == b && a == Int32.min { return Int32.max }
        let ab = Int64(a) * Int64(b)
        let nudge: Int64 = ab >= 0 ? 1 << 30 : 1 - (1 << 30)
        // (ab + nudge) / 2³¹ truncated toward zero, as C's `/` (and gemmlowp) does, by shifts: a
        // 64-bit division costs more than the rest of the kernel's inner work per output.
        let x = ab + nudge
        return Int32(truncatingIfNeeded: x >= 0 ? x >> 31 : -((-x) >> 31))
    }

    /// x / 2^exponent, rounded to nearest with ties away from zero. gemmlowp: `RoundingDivideByPOT`.
    @inline(__always)
    public static func roundingDivideByPOT(_ x: Int32, _ exponent: Int32) -> Int32 {
        guard exponent > 0 else { return x }
        let mask: Int32 = (1 << exponent) &- 1
        let remainder = x & mask
        let threshold = (mask >> 1) + (x < 0 ? 1 : 0)
        return (x >> exponent) + (remainder > threshold ? 1 : 0)
    }

    /// acc · M for M = m0 · 2^(shift − 31). TFLite: `MultiplyByQuantizedMultiplier`.
    @inline(__always)
    public static func multiply(_ acc: Int32, by m: QuantizedMultiplier) -> Int32 {
        let left = m.shift > 0 ? m.shift : 0
        let right = m.shift > 0 ? 0 : -m.shift
        return roundingDivideByPOT(saturatingRoundingDoublingHighMul(acc &* (1 << left), m.m0), right)
    }
}

/// A real multiplier M as an int32 mantissa m0 in [2³⁰, 2³¹) and a power-of-two exponent:
/// M = m0 · 2^(shift − 31). TFLite: `QuantizeMultiplier`.
public struct QuantizedMultiplier: Sendable, Hashable {
    public var m0: Int32
    public var shift: Int32

    public init(m0: Int32, shift: Int32) {
        self.m0 = m0
        self.shift = shift
    }

    /// Splits `real` (≥ 0) into mantissa and exponent. 0, or a multiplier too small to represent
    /// (below 2⁻³²), becomes (0, 0): every output of that channel is its zero point.
    public init(_ real: Double) {
        precondition(real >= 0 && real.isFinite, "a requantization multiplier must be finite and ≥ 0")
        guard real > 0 else { self.init(m0: 0, shift: 0); return }
        // frexp: real = q · 2^e with q in [0.5, 1). Swift gives significand in [1, 2) and exponent.
        let q = real.significand / 2
        var e = Int32(real.exponent) + 1
        var fixed = (q * 2147483648.0).rounded(.toNearestOrAwayFromZero)
        if fixed == 2147483648.0 {
            fixed /= 2
            e += 1
        }
        if e < -31 {
            self.init(m0: 0, shift: 0)
            return
        }
        if e > 30 {
            // Larger than any multiplier a calibrated layer produces; clamp like TFLite does.
            self.init(m0: Int32.max, shift: 30)
            return
        }
        self.init(m0: Int32(fixed), shift: e)
    }

    /// The real multiplier this stands for.
    public var real: Double { Double(m0) * pow2(Int(shift) - 31) }

    /// The right shift of single-rounding requantization: M = m0 · 2^−rightShift.
    public var rightShift: Int32 { 31 - shift }
}

/// 2^n for |n| < 1024, exactly.
@inline(__always)
func pow2(_ n: Int) -> Double { Double(sign: .plus, exponent: n, significand: 1) }
