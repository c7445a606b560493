import Testing
@testable import Monitor
import VigilCore

/// Members of a group on different devices are sampled at different instants: on a ramp of the
/// process their last values differ by the ramp times the gap, which is not a disagreement. And a
/// step of the process that a member samples later than its peers, seen through the Hampel
/// window, is not a run of repeated spikes.
@Suite struct AlignedComparisonTests {
    static let interval: UInt64 = 100_000_000 // 100 ms

    static func detector() -> SensorDetector {
        SensorDetector(tuning: MonitorSettings().sensorDefaults, rangeMin: 0, rangeMax: 16, discrete: false,
                       expectedIntervalNanoseconds: interval)
    }

    static func feed(_ d: inout SensorDetector, _ value: Double, at t: UInt64) -> FindingBits {
        d.sample(Reading(value: value, timestampNanoseconds: t, latencyNanoseconds: 0, quality: .good), nowNanoseconds: t)
    }

    /// Noise of ±0.01 (a fixed pattern, so the test is exact) on a process value.
    static func noise(_ k: Int) -> Double { [0.01, -0.007, 0.004, -0.012, 0.006, -0.002, 0.009, -0.005][k % 8] }

    @Test func aRampIsExtrapolatedToTheAskedInstantWithTheAmountAsItsUncertainty() {
        var d = Self.detector()
        for k in 0..<20 { _ = Self.feed(&d, 5 + 0.02 * Double(k), at: UInt64(k + 1) * Self.interval) }
        let last = d.lastGoodTimestamp
        let half = d.aligned(at: last + Self.interval / 2)
        #expect(abs(half.value - (d.value + 0.01)) < 1e-9)
        #expect(abs(half.slack - 0.01) < 1e-9)
        // At most two poll intervals ahead, however stale the sample.
        let far = d.aligned(at: last + 10 * Self.interval)
        #expect(abs(far.value - (d.value + 0.04)) < 1e-9)
        // Not later than the sample: the value itself.
        let now = d.aligned(at: last)
        #expect(now.value == d.value && now.slack == 0)
    }

    /// The residual of a member whose peer is sampled 90 ms earlier, while the process (still for
    /// the residual's 30 s of learning) ramps up 1.5 at 0.5/s, holds, and ramps back every 20 s: compared at one instant, with the extrapolation's size as slack,
    /// the ramps make no drift or disagreement; the raw comparison of the same samples does.
    @Test func aRampBetweenTwoSampleInstantsIsNoDriftWhenComparedAtOneInstant() {
        func process(_ t: UInt64) -> Double {
            let s = Double(t) / 1e9
            guard s > 30 else { return 6 }
            let phase = (s - 30).truncatingRemainder(dividingBy: 20)
            return 6 + 0.5 * (phase < 10 ? min(phase, 3) : max(0, 3 - (phase - 10)))
        }
        var tuning = MonitorSettings().sensorDefaults
        tuning.driftWarmupSamples = 250
        var member = Self.detector(), peer = Self.detector()
        var aligned = ResidualDetector(), raw = ResidualDetector()
        var alignedBits: FindingBits = 0, rawBits: FindingBits = 0
        for k in 1...3_000 {
            let t = UInt64(k) * Self.interval
            _ = Self.feed(&peer, process(t - 90_000_000) + Self.noise(k + 3), at: t - 90_000_000)
            _ = Self.feed(&member, process(t) + Self.noise(k), at: t)
            let p = peer.aligned(at: t)
            alignedBits |= aligned.update(residual: member.value - p.value, slack: p.slack, tuning: tuning, span: 16, adapt: true)
            rawBits |= raw.update(residual: member.value - peer.value, tuning: tuning, span: 16, adapt: true)
        }
        #expect(alignedBits & (FindingBits.bit(.drift) | .bit(.disagreement)) == 0)
        #expect(rawBits & (FindingBits.bit(.drift) | .bit(.disagreement)) != 0, "the raw comparison must see the ramps")

        // A bias of 0.1 (10× the noise) on the member while the process holds (303.5…309.4 s) is found.
        var biasBits: FindingBits = 0
        for k in 3_035...3_094 {
            let t = UInt64(k) * Self.interval
            _ = Self.feed(&peer, process(t - 90_000_000) + Self.noise(k + 3), at: t - 90_000_000)
            _ = Self.feed(&member, process(t) + 0.1 + Self.noise(k), at: t)
            let p = peer.aligned(at: t)
            biasBits |= aligned.update(residual: member.value - p.value, slack: p.slack, tuning: tuning, span: 16, adapt: true)
        }
        #expect(biasBits & (FindingBits.bit(.drift) | .bit(.disagreement)) != 0)
    }

    /// A step to a new level that stays: the first samples after it are outliers to the window's
    /// median, one after another on one side. A fault for the detector (alone, nothing can vouch
    /// for the jump), marked as one level shift so a group can judge it.
    @Test func aLevelShiftIsAFaultMarkedAsOneShift() {
        var d = Self.detector()
        var hard = false, shift = false
        for k in 0..<400 {
            let bits = Self.feed(&d, (k < 300 ? 6 : 7) + Self.noise(k), at: UInt64(k + 1) * Self.interval)
            if bits & .hardConfirmed != 0 { hard = true; shift = d.isLevelShift }
        }
        #expect(hard && shift)
    }

    /// Isolated spikes of a grouped member still repeat into a fault.
    @Test func repeatedIsolatedSpikesOfAGroupedMemberAreAFault() {
        var d = Self.detector()
        var hard = false
        for k in 0..<400 {
            let spike = k >= 300 && k % 6 == 0 ? 0.5 : 0
            if Self.feed(&d, 6 + spike + Self.noise(k), at: UInt64(k + 1) * Self.interval) & .hardConfirmed != 0 { hard = true }
        }
        #expect(hard)
    }
}
