import VigilCore

/// The policy model's input: one fixed-size vector per sensor and cycle, read from the monitor's
/// statistics by `PlantMonitor.features(sensor:into:)`.
///
/// Every feature is dimensionless. Where the monitor has a threshold for the statistic, the feature
/// is the statistic over that threshold, so 1 means "at the rule's limit" whatever the sensor's span
/// or noise; the model can learn to act below it (ambiguous cases) or to ignore a rule above it
/// (known false alarms). Values are raw, not standardized: the model file carries the normalisation
/// fitted at training. Each is clipped to ±`limit`; a non-finite value is written as 0.
///
/// Features describe the state left by the last `observe`: on a cycle without a new sample (a slow
/// device, a dropout) the per-sample ones keep the last sample's values while `silence` grows.
/// Changing the list changes the model's schema: models record the names they were trained on.
public enum SensorFeatures {
    /// The feature names, in vector order.
    public static let names: [String] = Feature.allCases.map(\.name)
    public static var count: Int { names.count }
    /// Clip bound of every feature.
    public static let limit: Float = 50

    /// The index of a feature by name.
    public static func index(_ name: String) -> Int? { names.firstIndex(of: name) }

    enum Feature: Int, CaseIterable {
        /// |residual − learned mean| / learned σ, the residual being value − median of the usable
        /// peers; before the residual's statistics are learned |residual| / (√2 · noise σ); 0 when
        /// this sample got no residual (no usable peer, unusable sample).
        case residualZ
        /// |residual − mean| / disagreement limit (1 = the disagreement detector's threshold).
        case disagreement
        /// max(CUSUM⁺, CUSUM⁻) / h of the residual (1 = drift finding; the detector caps it at 2).
        case drift
        /// Hampel |x − median| / robust scale, over `spikeSigmas` (1 = spike).
        case spike
        /// Change over the rate window / the rate limit (1 = rate-of-change finding).
        case rate
        /// Run of unchanged samples / the learned stuck run length (1 = stuck).
        case stuck
        /// Short-term / baseline variance of second differences, over `noiseVarianceRatio`
        /// (1 = noise finding; a healthy sensor sits near 1/ratio).
        case noise
        /// Time since the last new sample / (dropoutIntervals × expected interval) (1 = dropout).
        case silence
        /// EWMA (weight 0.1 per sample) of the share of bad-quality samples.
        case badQuality
        /// (latency − mean) / σ of the sample's round trip, over `latencySigmas`.
        case latency
        /// Distance of the last value to the nearer range bound / span; negative outside the range.
        case rangeMargin
        /// Largest level shift in the sensor's own last 128 samples (`StepLocator`, in noise σ),
        /// over the pair tie-break threshold `pairStepSigmas`.
        case step
        /// Usable peers in the sensor's redundancy group (0 when ungrouped).
        case peers
        /// |fast − slow EWMA| of the sensor's own value, in noise σ: a recent level shift.
        case motion
        /// The group's co-movement: the smallest such shift (in σ) among its usable members when all
        /// moved the same way, else 0. An excursion moves everyone; a faulty member moves alone.
        case coMovement
        /// The monitor's findings history / 10 (it decays by 0.1 % per sample and grows by 1 per
        /// sample with findings and by 10 per confirmed fault: 1 ≈ one recent fault).
        case history
        /// 1 while the sensor is suspect.
        case suspect
        /// 1 while out of service (faulty, quarantined or on probation: control does not use it).
        case outOfService

        var name: String {
            switch self {
            case .residualZ: return "residual_z"
            case .disagreement: return "disagreement"
            case .drift: return "drift"
            case .spike: return "spike"
            case .rate: return "rate"
            case .stuck: return "stuck"
            case .noise: return "noise"
            case .silence: return "silence"
            case .badQuality: return "bad_quality"
            case .latency: return "latency"
            case .rangeMargin: return "range_margin"
            case .step: return "step"
            case .peers: return "peers"
            case .motion: return "motion"
            case .coMovement: return "co_movement"
            case .history: return "history"
            case .suspect: return "suspect"
            case .outOfService: return "out_of_service"
            }
        }
    }

    /// What the monitor knows beyond the sensor's own detectors.
    struct Context {
        var nowNanoseconds: UInt64
        var peers: Int
        var coMovement: Double
        var stepScore: Double
        var pairStepSigmas: Double
        var history: Double
        var health: HealthState
    }

    /// Writes the vector. No allocation: called on the cycle thread for every sensor.
    static func write(_ d: borrowing SensorDetector, _ r: borrowing ResidualDetector, _ c: Context, into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count >= count, "the feature buffer holds SensorFeatures.count values")
        let t = d.tuning

        var residualZ = 0.0, disagreement = 0.0, drift = 0.0
        if r.lastResidual.isFinite {
            if r.learned {
                residualZ = abs(r.lastResidual - r.mean) / r.variance.squareRoot()
            } else if d.noiseSigma > 0 {
                residualZ = abs(r.lastResidual) / (2.0.squareRoot() * d.noiseSigma)
            }
            disagreement = r.disagreementScore
        }
        if r.learned { drift = max(r.cusumHigh, r.cusumLow) / t.driftH }

        var silence = 0.0
        let lastSample = d.lastNewSampleTimestamp
        if d.hasSample && c.nowNanoseconds > lastSample {
            silence = Double(c.nowNanoseconds - d.lastNewSampleTimestamp) / (t.dropoutIntervals * Double(d.expectedIntervalNanoseconds))
        }
        let noise = d.baseDiffVariance > 0 ? d.shortDiffVariance / (t.noiseVarianceRatio * d.baseDiffVariance) : 0
        let v = d.lastRawValue
        let margin = v.isFinite ? min(v - d.rangeMin, d.rangeMax - v) / d.span : 0
        let outOfService = c.health == .faulty || c.health == .quarantined || c.health == .probation

        func put(_ f: Feature, _ x: Double) { out[f.rawValue] = clip(x) }
        put(.residualZ, residualZ)
        put(.disagreement, disagreement)
        put(.drift, drift)
        put(.spike, d.spikeZ / t.spikeSigmas)
        put(.rate, d.rateRatio)
        put(.stuck, Double(d.stuckRun) / Double(max(d.stuckNeeded, 1)))
        put(.noise, noise)
        put(.silence, silence)
        put(.badQuality, d.badShare)
        put(.latency, d.latencyZ / t.latencySigmas)
        put(.rangeMargin, margin)
        put(.step, c.stepScore / c.pairStepSigmas)
        put(.peers, Double(c.peers))
        put(.motion, abs(d.motionSigmas))
        put(.coMovement, c.coMovement)
        put(.history, c.history / 10)
        put(.suspect, c.health == .suspect ? 1 : 0)
        put(.outOfService, outOfService ? 1 : 0)
    }

    static func clip(_ x: Double) -> Float {
        guard x.isFinite else { return 0 }
        return Float(min(max(x, -Double(limit)), Double(limit)))
    }
}
