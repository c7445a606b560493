import VigilCore

/// Detector knobs for one sensor. Defaults follow docs/DETECTION-NUMBERS: thresholds are chosen
/// from a false-alarm budget first (≥ 10⁶ samples between false findings per channel for anything
/// that can lead to a failover) and the detection delay is what follows from that.
public struct SensorTuning: Sendable, Hashable {
    /// Tolerance beyond the physical range before a value counts as out of range (fraction of span).
    public var rangeToleranceFractionOfSpan: Double = 0.005
    /// Consecutive out-of-range samples that confirm the fault (hard fault: 2 keeps failover within 3 cycles).
    public var outOfRangeConfirmSamples: Int = 2
    /// Consecutive bad-quality samples that confirm a dropout (one timeout is a blip, two are a fault).
    public var badQualityConfirmSamples: Int = 2
    /// A sensor whose timestamp has not advanced for this many expected poll intervals has dropped out.
    public var dropoutIntervals: Double = 3
    /// … and for at least this long: a Linux box that is not a real-time system (a VM above all)
    /// can stall every thread for tens of milliseconds, and a 10 ms poll would call that a dropout
    /// of every point at once.
    public var dropoutFloorNanoseconds: Double = 100_000_000
    /// Out of range on every sample since the first for this many samples: a configuration error.
    public var configErrorSamples: Int = 5

    /// Two values closer than this are "no change" (fraction of span). Set it to the register's
    /// quantization step when known; the stuck detector also learns how often the value repeats.
    public var stuckResolutionFractionOfSpan: Double = 1e-9
    /// Fewest consecutive unchanged samples that make a sensor stuck (when it normally never repeats).
    public var stuckMinSamples: Int = 3
    /// Most samples the stuck detector will ever ask for (quantized, quiet sensors).
    public var stuckMaxSamples: Int = 200
    /// Chance of an innocent run of repeats the stuck detector accepts; sets the run length from the
    /// learned repeat rate p: the smallest N ≥ stuckMinSamples with pᴺ below this.
    public var stuckFalseRunProbability: Double = 1e-9

    /// Rate-of-change limit (fraction of span per second), measured over the spike window, plus
    /// `rateNoiseSigmas` of the learned noise so noise alone never trips it.
    public var maxRateFractionOfSpanPerSecond: Double = 0.2
    public var rateNoiseSigmas: Double = 8

    /// Hampel filter: window length (samples, odd, ≤ 15) and threshold in robust σ. The scale is
    /// max(1.4826·MAD, learned noise σ), so a quiet window cannot make every wiggle a spike.
    public var spikeWindow: Int = 7
    public var spikeSigmas: Double = 6
    /// This many spikes within `spikeRepeatWindowSamples` samples is a fault, not a filtered spike.
    public var spikeRepeatCount: Int = 3
    public var spikeRepeatWindowSamples: Int = 50

    /// Samples used to learn the noise baseline (Welford on second differences) before the
    /// statistical detectors arm.
    public var warmupSamples: Int = 200
    /// Noise finding when the short-term variance of the second differences exceeds this multiple of
    /// the learned baseline (4 = the noise σ doubled).
    public var noiseVarianceRatio: Double = 4
    /// Weight of the short-term variance estimate (0.02 ≈ the last 100 samples).
    public var noiseEWMAWeight: Double = 0.02

    /// Two-sided CUSUM on the residual to the group consensus, in residual σ: k = 0.25, h = 25 gives
    /// ARL0 ≈ 4·10⁶ samples (Siegmund) for a false drift finding, ~550 samples for a 1σ/1000-sample ramp.
    public var driftK: Double = 0.25
    public var driftH: Double = 25
    /// Samples used to learn the residual's mean and σ (re-learned when the set of peers changes).
    public var driftWarmupSamples: Int = 1000
    /// Weight with which the residual baseline keeps adapting while the sensor is healthy.
    public var driftBaselineWeight: Double = 1e-4

    /// Disagreement with the consensus: |residual − learned mean| beyond max(σ-multiple, span floor)
    /// for `disagreementSamples` consecutive samples.
    public var disagreementSigmas: Double = 8
    public var disagreementFractionOfSpan: Double = 0.02
    public var disagreementSamples: Int = 3

    /// Latency anomaly: beyond mean + `latencySigmas`·σ (Welford after warm-up) for this many samples in a row.
    public var latencySigmas: Double = 3
    public var latencyConsecutiveSamples: Int = 3
    /// … and at least this far above the mean: on loopback or a quiet LAN σ is a few µs, and a
    /// 100 µs scheduling hiccup is not a latency problem a plant engineer should hear about.
    public var latencyFloorNanoseconds: Double = 1_000_000

    public init() {}
}

/// Everything the monitor can be tuned by. A plain value: build it once, pass it to `PlantMonitor`.
public struct MonitorTuning: Sendable, Hashable {
    /// Detector knobs for every sensor without an override.
    public var sensor = SensorTuning()
    /// Per-sensor overrides by sensor id (resolved to indices once, at construction).
    public var sensorOverrides: [String: SensorTuning] = [:]

    // Health state machine (counts are new samples of the sensor).
    /// Soft findings (drift, noise, rate, disagreement) in suspect needed to confirm a fault.
    public var confirmSamples: Int = 20
    /// Fewer are needed when the group's other members agree with each other and this one is the odd one out.
    public var confirmSamplesOddOneOut: Int = 5
    /// Clean samples that return a suspect sensor to healthy.
    public var suspectClearSamples: Int = 20
    /// Clean samples that move a quarantined sensor to probation.
    public var quarantineClearSamples: Int = 50
    /// Clean samples a sensor on probation must show before it is healthy (and used) again.
    public var probationSamples: Int = 500
    /// A sensor taken out of use only because its device stopped answering (diagnosis: device
    /// fault) was never wrong itself: when its group has no healthy member left (or it has no
    /// group), it returns to healthy after this many good samples, without quarantine and
    /// probation, so a device that comes back ends the group's hold at once.
    public var deviceRecoverySamples: Int = 5
    /// A sensor in no redundancy group has nothing to fail over to: once confirmed faulty (but for a
    /// dropout) it is escalated `noHealthySource` if it is still out of use this long after, at least
    /// three new samples later, with its finding seen again in the last half of that time (a stuck
    /// one: without having changed its value). A quiet, quantized sensor that repeated itself for a
    /// moment, or a process step the spike filter saw for a few samples, calls nobody.
    public var noBackupConfirmNanoseconds: UInt64 = 2_000_000_000

    // The policy model's part (`monitor.policy_model`).
    /// Whether the model may hold back soft findings and attribute pair disagreements (`ModelAssist`);
    /// off: its verdicts are journalled only.
    public var modelAssist = false
    /// Samples a soft finding may be held back for, per episode, before the rule confirms anyway.
    public var modelMaxSuppressionSamples: Int = 3_000

    // Redundancy groups.
    /// Pair tie-break: a disagreeing member whose own recent series shows a level shift of at least
    /// this many noise σ (see `StepLocator`) is blamed, provided its partner's series stays under
    /// `pairSmoothSigmas` (pure noise scores about 3) and the step is at least twice the partner's.
    /// Otherwise the pair escalates an unresolved disagreement to the operator.
    public var pairStepSigmas: Double = 6
    public var pairSmoothSigmas: Double = 4.5

    /// With this many usable members, control gets the median (mid-value select) instead of the active source.
    public var midValueSelectMinMembers: Int = 3
    /// How long a group holds its last good value (quality `.stale`) when no usable source is left.
    public var holdMaxNanoseconds: UInt64 = 2_000_000_000

    // Repairs.
    /// Plant time a failover must stay clean (source usable, group output good) to count as verified,
    /// counted in clean cycles of the plant's period.
    public var repairVerifyNanoseconds: UInt64 = 1_000_000_000
    /// A process excursion is over once its group has moved quietly for this long.
    public var excursionQuietNanoseconds: UInt64 = 1_000_000_000
    /// A device repair (reconnect, backup gateway, slower polling) must show good data within this time.
    public var deviceRepairVerifyNanoseconds: UInt64 = 30_000_000_000

    // Devices.
    /// Consecutive timeouts (device samples) that make a timeout finding.
    public var deviceTimeoutCount: Int = 3
    /// Consecutive samples with every point bad that make a device fault.
    public var deviceFaultSamples: Int = 2
    /// Share of device samples timing out (EWMA, weight 0.02) that asks for slower polling.
    public var deviceTimeoutRatioForSlowPolling: Double = 0.2
    /// Share of CRC/framing errors (same EWMA) that makes a finding.
    public var deviceCRCRatio: Double = 0.1
    /// Consecutive exception answers that make a finding.
    public var deviceExceptionCount: Int = 3
    /// Latency trend: EWMA (weight 0.05) of round trips beyond the learned mean + this many σ.
    public var deviceLatencyTrendSigmas: Double = 3
    /// ... and beyond the mean by at least this much: loopback and LAN round trips of ~0.2 ms jitter
    /// by more than 3σ under CPU load, which is no struggling device.
    public var deviceLatencyTrendFloorNanoseconds: Double = 2_000_000
    public var deviceLatencyWarmupSamples: Int = 200

    /// Events kept per cycle; more are counted in `droppedEvents`.
    public var maxEventsPerCycle: Int = 256

    public init() {}

    /// The knobs for one sensor id.
    public func tuning(forSensor id: String) -> SensorTuning { sensorOverrides[id] ?? sensor }
}
