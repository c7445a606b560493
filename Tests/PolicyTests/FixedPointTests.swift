import Testing
import RealModule
@testable import Policy

/// The integer requantization every int8 kernel relies on (gemmlowp / TFLite semantics).
@Suite struct FixedPointTests {
    @Test func doublingHighMulRoundsToNearestAndSaturatesTheOneOverflow() {
        // 2^30 · 2^30 · 2 / 2^31 = 2^30.
        #expect(FixedPoint.saturatingRoundingDoublingHighMul(1 << 30, 1 << 30) == 1 << 29)
        #expect(FixedPoint.saturatingRoundingDoublingHighMul(Int32.min, Int32.min) == Int32.max)
        // Halves round up (towards +∞), exactly as gemmlowp's nudge of 2^30 / 1 − 2^30 does.
        #expect(FixedPoint.saturatingRoundingDoublingHighMul(3, 1 << 30) == 2)  // 1.5 → 2
        #expect(FixedPoint.saturatingRoundingDoublingHighMul(-3, 1 << 30) == -1) // −1.5 → −1
        #expect(FixedPoint.saturatingRoundingDoublingHighMul(-5, 1 << 29) == -1) // −1.25 → −1
        #expect(FixedPoint.saturatingRoundingDoublingHighMul(5, 1 << 29) == 1)   // 1.25 → 1
    }

    @Test func roundingDivideByPowerOfTwoRoundsHalfAwayFromZero() {
        #expect(FixedPoint.roundingDivideByPOT(5, 1) == 3)    // 2.5 → 3
        #expect(FixedPoint.roundingDivideByPOT(-5, 1) == -3)  // −2.5 → −3
        #expect(FixedPoint.roundingDivideByPOT(7, 2) == 2)    // 1.75 → 2
        #expect(FixedPoint.roundingDivideByPOT(-7, 2) == -2)
        #expect(FixedPoint.roundingDivideByPOT(6, 2) == 2)    // 1.5 → 2
        #expect(FixedPoint.roundingDivideByPOT(-6, 2) == -2)
        #expect(FixedPoint.roundingDivideByPOT(123, 0) == 123)
    }

    @Test func multiplierKeepsThirtyBitsOfTheRealValue() {
        var random = TrainingRandom(seed: 7)
        for _ in 0..<10_000 {
            let real = logUniform(&random, 1e-6, 4)
            let m = QuantizedMultiplier(real)
            #expect(m.m0 >= 1 << 30, "mantissa normalised to [2^30, 2^31)")
            #expect(abs(m.real - real) / real < 1e-9)
        }
        #expect(QuantizedMultiplier(0) == QuantizedMultiplier(m0: 0, shift: 0))
        #expect(QuantizedMultiplier(1e-12) == QuantizedMultiplier(m0: 0, shift: 0), "below 2^-32: zero")
    }

    /// acc · M in integers is within one unit of the exact real product, rounded.
    @Test func integerMultiplyMatchesTheRealProductWithinOneStep() {
        var random = TrainingRandom(seed: 11)
        for _ in 0..<20_000 {
            let real = logUniform(&random, 1e-6, 1)
            let acc = Int32(truncatingIfNeeded: Int64(random.nextIndex(2_000_001)) - 1_000_000)
            let got = FixedPoint.multiply(acc, by: QuantizedMultiplier(real))
            let exact = (Double(acc) * real).rounded(.toNearestOrAwayFromZero)
            #expect(abs(Double(got) - exact) <= 1, "acc \(acc) × \(real): \(got) vs \(exact)")
        }
    }

    /// The kernels' single rounding: the exact product rounded once (half up), never more than
    /// half a step off, and at most one step from gemmlowp's double rounding.
    @Test func singleRoundingIsTheExactProductRoundedOnce() {
        var random = TrainingRandom(seed: 12)
        for _ in 0..<20_000 {
            let real = logUniform(&random, 1e-6, 3)
            let acc = Int32(truncatingIfNeeded: Int64(random.nextIndex(4_000_001)) - 2_000_000)
            let m = QuantizedMultiplier(real)
            let got = FixedPoint.multiplySingleRounding(acc, m0: m.m0, rightShift: m.rightShift)
            let exact = Double(acc) * m.real  // the multiplier as represented
            #expect(Double(got) - exact <= 0.5 && exact - Double(got) < 0.5, "acc \(acc) × \(m.real): \(got) vs \(exact)")
            #expect(abs(got - FixedPoint.multiply(acc, by: m)) <= 1)
        }
        let half = QuantizedMultiplier(0.5)
        #expect(FixedPoint.multiplySingleRounding(3, m0: half.m0, rightShift: half.rightShift) == 2)   // 1.5 → 2
        #expect(FixedPoint.multiplySingleRounding(-3, m0: half.m0, rightShift: half.rightShift) == -1) // −1.5 → −1 (half up)
        #expect(FixedPoint.multiplySingleRounding(12345, m0: 0, rightShift: 31) == 0, "a zero multiplier gives 0")
    }

    @Test func activationEncodingCoversItsRangeAndKeepsZeroExact() {
        let q = ActivationQuantization(calibratedMin: -1.5, max: 6)
        #expect(q.dequantize(q.quantize(0)) == 0)
        #expect(abs(q.dequantize(q.quantize(-1.5)) + 1.5) <= q.scale / 2 + 1e-6)
        #expect(abs(q.dequantize(q.quantize(6)) - 6) <= q.scale / 2 + 1e-6)
        #expect(q.quantize(1e9) == 127 && q.quantize(-1e9) == -128, "out of range saturates")
        #expect(q.quantize(.nan) == Int8(q.zeroPoint), "NaN reads as 0")
        let positive = ActivationQuantization(calibratedMin: 2, max: 5)
        #expect(positive.zeroPoint == -128, "a range widened to include 0 starts at code −128")
    }
}

/// Log-uniform in [low, high).
func logUniform(_ random: inout TrainingRandom, _ low: Double, _ high: Double) -> Double {
    Double.exp(Double.log(low) + (Double.log(high) - Double.log(low)) * random.nextUnit())
}
