import Testing
import VigilCore
@testable import Monitor

/// The pair tie-break's evidence: a step in a sensor's own series, told apart from noise and trend.
@Suite struct StepLocatorTests {
    /// Fills a window with trend + noise (σ = 1), optionally with a step `samplesBeforeEnd` from the end.
    static func window(seed: UInt64, slope: Double, step: Double = 0, samplesBeforeEnd: Int = 20) -> StepLocator {
        var rng = SeededRandom(seed: seed)
        var locator = StepLocator()
        let n = StepLocator.capacity
        for k in 0..<n {
            var v = 100 + slope * Double(k) + standardNormal(&rng)
            if k >= n - samplesBeforeEnd { v += step }
            locator.push(v)
        }
        return locator
    }

    @Test func pureNoiseAndSteadyTrendsStayUnderTheSmoothLimit() {
        var worst = 0.0
        for seed in 1...500 as ClosedRange<UInt64> {
            for slope in [0.0, 0.05, -0.2] {
                var window = Self.window(seed: seed, slope: slope)
                worst = max(worst, window.stepScore(noiseSigma: 1))
            }
        }
        // 1,500 windows of noise, some on a trend of 25σ over the window: none looks like a step.
        #expect(worst < MonitorSettings.Groups().pairSmoothSigmas)
        #expect(worst > 2)  // the statistic is live: noise alone reaches a few σ
    }

    @Test(arguments: [3.0, 5.0, 10.0])
    func aStepOfThreeSigmaOrMoreStandsOut(step: Double) {
        for seed in 1...50 as ClosedRange<UInt64> {
            // A small step needs a few more samples behind it (the monitor asks again every sample).
            for before in step < 5 ? [20, 60] : [12, 20, 60] {
                var window = Self.window(seed: seed, slope: 0.05, step: step, samplesBeforeEnd: before)
                let score = window.stepScore(noiseSigma: 1)
                #expect(score >= MonitorSettings.Groups().pairStepSigmas, "step \(step)σ \(before) samples back, seed \(seed): \(score)")
            }
        }
    }

    @Test func tooFewSamplesOrUnknownNoiseGiveNoEvidence() {
        var locator = StepLocator()
        for k in 0..<10 { locator.push(Double(k % 2) * 50) }
        #expect(locator.stepScore(noiseSigma: 1) == 0)
        var stepped = Self.window(seed: 1, slope: 0, step: 10)
        #expect(stepped.stepScore(noiseSigma: 0) == 0)
    }

    @Test func theScoreFollowsEverySampleAndScalesWithTheNoise() {
        var locator = Self.window(seed: 7, slope: 0)
        let quiet = locator.stepScore(noiseSigma: 1)
        #expect(locator.stepScore(noiseSigma: 2) == quiet / 2)
        for _ in 0..<20 { locator.push(40) }
        let stepped = locator.stepScore(noiseSigma: 1)
        #expect(stepped > 10 * quiet, "a 40σ step 20 samples back: \(stepped) against \(quiet) before")
        locator.clear()
        #expect(locator.stepScore(noiseSigma: 1) == 0)
    }
}
