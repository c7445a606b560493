import Foundation
import Monitor
import VigilCore

// `vigil hil score`, equipment-anomaly part: precision, recall and F1 of the multivariate section
// monitor (`MultivariateMonitor`, the model the runtime's sections use) over generated runs.
//
// Section: discharge pressure pair P-A/P-B (0–16 bar), flow F (0–100 m³/h) and motor current I
// (0–60 A), all following one pump operating point u (sine, period 3,000 cycles, random phase):
// P = 6 + 0.4u, F = 42 + 3u, I = 11.5 + 0.5u, plus Gaussian noise σ = 0.2 % of span. The model is
// fitted on the first `trainingCycles` cycles, then the monitor runs with its slow update.
//
// Anomaly run: from a random onset, a valve closes over 50–300 cycles: pressure +0.2…+1.0 bar,
// flow −2…−8 m³/h, current −0.2…−0.6 A (every value stays in range). Normal run: nothing happens.
//   • TP: an anomaly run with a T² or SPE finding after the onset; FN: none until the end.
//   • FP: a normal run with any finding, or an anomaly run with one before the onset.
//   • delay: cycles from onset to the first finding after it.

public struct SectionScoreFigures: Sendable, Hashable, Codable {
    public var anomalyRuns: Int
    public var normalRuns: Int
    public var truePositives: Int
    public var falseNegatives: Int
    public var falsePositives: Int
    public var precision: Double?
    public var recall: Double?
    public var f1: Double?
    public var delayMedian: Double?
    public var delayP95: Double?
    /// Of the true positives, how many were first seen by SPE (broken correlation) rather than T².
    public var firstBySPE: Int
    /// Normal cycles scored (after training) across all runs, and findings on them.
    public var normalCyclesScored: Int
}

public enum SectionScoreCampaign {
    public static let trainingCycles = 3_000
    static let span = [16.0, 16, 100, 60]
    static let base = [6.0, 6, 42, 11.5]
    static let gain = [0.4, 0.4, 3, 0.5]

    /// One run: (first finding cycle after onset, any finding before onset, first kind).
    static func run(seed: UInt64, anomaly: Bool, after: Int) throws -> (delay: Int?, early: Bool, bySPE: Bool, scored: Int) {
        var rng = SeededRandom(seed: ScoreCampaign.mix(seed, anomaly ? 0xA11 : 0x0E))
        let phase = ScoreCampaign.uniform(&rng, 0, 2 * .pi)
        func sample(_ c: Int, _ rng: inout SeededRandom, shift: [Double]) -> [Double] {
            let u = sin(2 * .pi * Double(c) / 3_000 + phase)
            return (0..<4).map { base[$0] + gain[$0] * u + shift[$0] + 0.002 * span[$0] * ScoreCampaign.gaussian(&rng) }
        }
        let none = [0.0, 0, 0, 0]
        let training = (0..<trainingCycles).map { sample($0, &rng, shift: none) }
        let model = try MultivariateModel.fit(samples: training)
        var monitor = try MultivariateMonitor(sections: [MultivariateSectionSpec(sensors: [0, 1, 2, 3], model: model)])
        let onset = trainingCycles + Int(ScoreCampaign.uniform(&rng, 1, 300))
        let ramp = ScoreCampaign.uniform(&rng, 50, 300)
        let dp = ScoreCampaign.uniform(&rng, 0.2, 1.0), df = ScoreCampaign.uniform(&rng, 2, 8), di = ScoreCampaign.uniform(&rng, 0.2, 0.6)
        var delay: Int?, early = false, bySPE = false
        let end = onset + after
        for c in trainingCycles..<end {
            var shift = none
            if anomaly && c >= onset {
                let k = min(1, Double(c - onset + 1) / ramp)
                shift = [dp * k, dp * k, -df * k, -di * k]
            }
            let x = sample(c, &rng, shift: shift)
            monitor.observe(values: x, cycle: UInt64(c)) { e in
                guard case .raised(let f) = e else { return }
                if anomaly && c >= onset {
                    if delay == nil { delay = c - onset + 1; bySPE = f.kind == .multivariateSPE }
                } else {
                    early = true
                }
            }
        }
        return (delay, early, bySPE, anomaly ? onset - trainingCycles : end - trainingCycles)
    }

    public static func run(seeds: Int, cyclesAfterOnset: Int = 1_500) throws -> SectionScoreFigures {
        var tp = 0, fn = 0, fp = 0, spe = 0, scored = 0
        var delays: [Int] = []
        for seed in 1...max(1, seeds) {
            let a = try run(seed: UInt64(seed), anomaly: true, after: cyclesAfterOnset)
            if let d = a.delay { tp += 1; delays.append(d); if a.bySPE { spe += 1 } } else { fn += 1 }
            if a.early { fp += 1 }
            let n = try run(seed: UInt64(seed), anomaly: false, after: cyclesAfterOnset)
            if n.early { fp += 1 }
            scored += a.scored + n.scored
        }
        let (p, r, f) = ScoreCampaign.prf(tp: tp, fp: fp, fn: fn)
        return SectionScoreFigures(anomalyRuns: seeds, normalRuns: seeds, truePositives: tp, falseNegatives: fn, falsePositives: fp,
                                   precision: p, recall: r, f1: f, delayMedian: ScoreCampaign.quantile(delays, 0.5),
                                   delayP95: ScoreCampaign.quantile(delays, 0.95), firstBySPE: spe, normalCyclesScored: scored)
    }

    public static func table(_ s: SectionScoreFigures) -> String {
        let f = { (x: Double?) in ScoreCampaign.fmt(x, 3) }
        return """
        Equipment anomalies (multivariate section monitor, valve closing: pressure up, flow and current down, all in range)
          runs: \(s.anomalyRuns) anomaly + \(s.normalRuns) normal, \(s.normalCyclesScored) normal cycles scored after training
          TP \(s.truePositives)  FN \(s.falseNegatives)  FP \(s.falsePositives)  precision \(f(s.precision))  recall \(f(s.recall))  F1 \(f(s.f1))
          delay (cycles from onset): median \(ScoreCampaign.fmt(s.delayMedian, 0))  p95 \(ScoreCampaign.fmt(s.delayP95, 0));  first seen by SPE in \(s.firstBySPE) of \(s.truePositives)
        """
    }
}
