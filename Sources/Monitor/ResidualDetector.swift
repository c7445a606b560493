import VigilCore

/// Drift and disagreement of one grouped sensor against the consensus of its peers.
///
/// The residual r = value − consensus (median of the other usable members) has a mean (static
/// offsets between sensors) and a σ that are learned (Welford) for `driftWarmupSamples`, then keep
/// adapting slowly while the sensor is healthy. A two-sided CUSUM on the standardized residual finds
/// drift; a plain threshold finds disagreement (bias, wrong value). When the number of peers
/// changes (a member quarantined or back) the residual's σ changes by a known factor: learned
/// statistics are rescaled, not thrown away, so losing a member does not blind the rest for a
/// whole warm-up.
struct ResidualDetector: Sendable {
    var peerCount = -1
    var learning = Welford()
    var mean = 0.0
    var variance = 0.0
    var learned = false
    var cusumHigh = 0.0
    var cusumLow = 0.0
    var disagreementRun = 0
    /// Normalized deviation of the last residual (|r − mean| / threshold), for attributing a disagreement.
    var disagreementScore = 0.0
    /// max(CUSUM⁺, CUSUM⁻) / h, for attributing a drift.
    var driftScore = 0.0
    /// EWMA of the standardized residual (weight `levelWeight`): how far and which way this member
    /// sits from its peers lately. Unlike the CUSUM it does not saturate, so in a group of three or
    /// more the member that pulls the others' consensus stays the furthest out (its peers sit at
    /// half its distance or less) however long the episode lasts.
    var level = 0.0
    static let levelWeight = 0.2
    /// This sample's residual; NaN when the sensor's new sample got none (no peers, unusable). The
    /// policy model reads it (`SensorFeatures`).
    var lastResidual = Double.nan

    /// Variance of the residual to the median of `n` peers, in units of one sensor's noise variance
    /// (independent, equal noise): 2 for one peer, 1.5 for the mean of two, 1 + π/(2n) beyond.
    static func residualVarianceFactor(peers n: Int) -> Double {
        switch n {
        case ...1: return 2
        case 2: return 1.5
        default: return 1 + Double.pi / (2 * Double(n))
        }
    }

    mutating func restart(peers: Int) {
        if learned && peerCount > 0 && peers > 0 {
            variance *= Self.residualVarianceFactor(peers: peers) / Self.residualVarianceFactor(peers: peerCount)
        } else {
            learning = Welford()
            learned = false
        }
        peerCount = peers
        cusumHigh = 0
        cusumLow = 0
        disagreementRun = 0
        disagreementScore = 0
        driftScore = 0
        level = 0
    }

    mutating func clearStatistics() {
        cusumHigh = 0
        cusumLow = 0
        disagreementRun = 0
    }

    /// The disagreement limit for a residual with `slack` (see `update`): beyond `disagreementSigmas`
    /// residual σ and the span floor once learned (the floor alone before), widened by 3 × slack.
    func disagreementLimit(slack: Double, tuning t: MonitorSettings.Sensor, span: Double) -> Double {
        let floor = t.disagreementFractionOfSpan * span
        return (learned ? max(t.disagreementSigmas * variance.squareRoot(), floor) : floor) + 3 * slack
    }

    /// One residual; returns the drift/disagreement bits and records the evidence in `detector`.
    mutating func update(residual r: Double, slack: Double = 0, tuning t: MonitorSettings.Sensor, span: Double, adapt: Bool,
                         detector: inout SensorDetector) -> FindingBits {
        let bits = update(residual: r, slack: slack, tuning: t, span: span, adapt: adapt)
        if bits & .bit(.drift) != 0 { detector.record(.drift, evidence.drift, t.driftH) }
        if bits & .bit(.disagreement) != 0 { detector.record(.disagreement, evidence.disagreement, evidence.disagreementLimit) }
        return bits
    }

    /// The statistics behind the last update's findings: CUSUM, |residual − mean| and its limit.
    private(set) var evidence = (drift: 0.0, disagreement: 0.0, disagreementLimit: 0.0)

    /// One residual; returns the drift/disagreement bits (their statistics in `evidence`).
    /// `slack` is how uncertain the consensus is because its members were sampled at other times
    /// than this sensor (`SensorDetector.aligned(at:)`): it widens the residual's σ for this
    /// sample and the disagreement limit (by 3 × slack), and a sample with slack beyond the residual's σ teaches
    /// nothing.
    mutating func update(residual r: Double, slack: Double = 0, tuning t: MonitorSettings.Sensor, span: Double,
                         adapt: Bool) -> FindingBits {
        var bits: FindingBits = 0
        lastResidual = r
        var limit = disagreementLimit(slack: slack, tuning: t, span: span)
        if !learned {
            if learning.count < 2 || slack * slack <= learning.variance { learning.add(r) }
            if learning.count >= t.driftWarmupSamples {
                mean = learning.mean
                variance = max(learning.variance, span * span * 1e-18)
                learned = true
            }
            // Before the residual is known, only a gross disagreement counts.
            level += Self.levelWeight * (r / limit - level)
            disagreementScore = abs(r) / limit
            if abs(r) > limit { disagreementRun += 1 } else { disagreementRun = 0 }
        } else {
            let sigma = variance.squareRoot()
            let z = (r - mean) / (variance + slack * slack).squareRoot()
            level += Self.levelWeight * (z - level)
            cusumHigh = min(max(0, cusumHigh + z - t.driftK), 2 * t.driftH)
            cusumLow = min(max(0, cusumLow - z - t.driftK), 2 * t.driftH)
            let c = max(cusumHigh, cusumLow)
            driftScore = c / t.driftH
            evidence.drift = c
            if c > t.driftH { bits |= .bit(.drift) }
            limit = disagreementLimit(slack: slack, tuning: t, span: span)
            disagreementScore = abs(r - mean) / limit
            if abs(r - mean) > limit { disagreementRun += 1 } else { disagreementRun = 0 }
            if adapt && bits == 0 && disagreementRun == 0 && c < t.driftH / 2 && slack <= sigma {
                let w = t.driftBaselineWeight
                let d = r - mean
                mean += w * d
                variance += w * (d * d - variance)
            }
        }
        if disagreementRun >= t.disagreementSamples {
            evidence.disagreement = abs(r - (learned ? mean : 0))
            evidence.disagreementLimit = limit
            bits |= .bit(.disagreement)
        }
        return bits
    }
}
