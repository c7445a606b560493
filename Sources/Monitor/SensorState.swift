import VigilCore

/// Everything the monitor keeps about one sensor: its detectors, this cycle's findings, its health
/// and the episode under way. `PlantMonitor` holds one per sensor in an array that every part of
/// the cycle mutates in place.
struct SensorState: Sendable {
    /// The detectors that need only the sensor's own samples.
    var detector: SensorDetector
    /// Drift and disagreement against the group's consensus (grouped sensors only).
    var residual = ResidualDetector()
    /// How far it sits from its virtual peer (`VirtualPeers`): |EWMA of its standardized residual|
    /// over about the last 50 samples; NaN when it has none.
    var virtualLevel = Double.nan
    /// The sensor's recent series: tells which member of a disagreeing pair moved; a policy-model feature.
    var steps = StepLocator()

    /// A new sample arrived this cycle (a device polled slower than the cycle brings none most cycles).
    var fresh = false
    /// This cycle's findings.
    var bits: FindingBits = 0
    /// The finding kinds journalled as started and not yet ended.
    var previousBits: FindingBits = 0
    /// This cycle: the group's other members agree, and this one disagrees with them.
    var oddOneOut = false

    var health: HealthState = .healthy
    /// Soft findings counted while suspect.
    var score = 0
    /// Clean samples in a row (suspect, quarantined, probation).
    var cleanRun = 0
    /// Decaying count of past findings: a disagreeing pair blames the member with the worse record.
    var history = 0.0
    /// Cycle the current episode's first finding was seen.
    var firstSeen: UInt64 = 0
    /// The last diagnosis (kept as evidence until the next one).
    var diagnosis: Diagnosis? = nil
    /// Out of range on every sample since the first: a fault confirmed now is a configuration error.
    var sawConfigError = false
    /// The policy sent this sensor's fault to an operator: its group does not fail over from it
    /// (control still never uses it: the group's other usable members carry the value).
    var repairDeclined = false
    /// Out of use because its device stopped answering (its confirmed fault was diagnosed as the
    /// device's): see `MonitorSettings.Health.deviceRecoverySamples`.
    var deviceOutage = false
    /// When a spike, rate or range finding last started.
    var lastFaultStart: UInt64 = 0
    /// In no redundancy group: the operator call its confirmed fault is waiting to make.
    var noBackupCall = NoBackupCall()

    /// Timestamp of its last garbled reply (counted once by its device).
    var garbledAt: UInt64 = 0

    /// The policy model's confident verdict (`ModelDiagnosis` raw value; −1: none).
    var opinion: Int8 = -1
    /// Samples a soft finding of this episode has been held back for, and its kind (the rule's
    /// evidence, for the confirmation the bound forces).
    var suppressed = 0
    var suppressedKind: FindingKind = .noise

    init(detector: SensorDetector) { self.detector = detector }

    /// Healthy or suspect: in service.
    @inline(__always)
    var inService: Bool { health == .healthy || health == .suspect }
    /// A quantized, quiet sensor (it repeats values while healthy), in service or on probation:
    /// a run of repeats is weak evidence that it is stuck.
    var repeatsInnocently: Bool { detector.repeatsWhenHealthy && (inService || health == .probation) }

    /// Control may use its value: in service, with a usable sample, no confirmed hard fault.
    @inline(__always)
    var isUsable: Bool {
        (health == .healthy || health == .suspect) && detector.usable && detector.hasSample && bits & .hardConfirmed == 0
    }

    /// Counts in its group's consensus: in service, with a usable, finite value.
    @inline(__always)
    var isPeer: Bool {
        (health == .healthy || health == .suspect) && detector.usable && detector.hasSample && detector.value.isFinite
    }

    /// Runs the detectors on this cycle's reading: every detector on a new sample (its timestamp
    /// moved), the dropout check alone otherwise.
    mutating func observe(_ r: Reading, nowNanoseconds now: UInt64) {
        if detector.isNew(r) {
            fresh = true
            bits = detector.sample(r, nowNanoseconds: now)
            // Pairs use the series to break a tie; every sensor's step score is a policy-model feature.
            if r.quality == .good && r.value.isFinite && !detector.discrete {
                steps.push(r.value)
            }
        } else {
            fresh = false
            bits = detector.checkDropout(nowNanoseconds: now)
        }
        oddOneOut = false
    }

    /// A garbled reply (CRC or framing) is no sample: only silence is judged.
    mutating func skipGarbled(nowNanoseconds now: UInt64) {
        fresh = false
        bits = detector.checkDropout(nowNanoseconds: now)
        oddOneOut = false
    }

    /// Control gets the last good value again: the group's vote dropped this sample's spike or
    /// rate finding as a move of the process.
    mutating func restoreLastGoodValue() {
        detector.value = detector.lastGoodValue
        detector.usable = true
    }

    /// Adds the drift and disagreement findings of this sample's residual to the consensus of `n`
    /// peers (a changed set of peers restarts the residual's learning).
    mutating func addResidualFindings(consensus: Double, slack: Double, peers n: Int) {
        if residual.peerCount != n { residual.restart(peers: n) }
        bits |= residual.update(residual: detector.value - consensus, slack: slack, tuning: detector.tuning,
                                span: detector.span, adapt: health == .healthy, detector: &detector)
    }

    /// The largest level shift in the recent series, in noise σ (kept until the next sample).
    mutating func stepScore() -> Double { steps.stepScore(noiseSigma: detector.noiseSigma) }
}
