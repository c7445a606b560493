/// The plant file's `monitor:` section and everything else the monitor is tuned by, in the units
/// the monitor uses (nanoseconds, samples, σ): the monitor reads these values directly. Each
/// block's `keys` declare its file keys (name, unit, accepted values, what each does); a property
/// without a key is not set from the file. An absent section (or key) keeps the defaults below,
/// which follow docs/DETECTION-NUMBERS: thresholds are chosen from a false-alarm budget first (≥ 10⁶
/// samples between false findings per channel for anything that can lead to a failover) and the
/// detection delay is what follows from that.
public struct MonitorSettings: Sendable, Hashable {
    /// Knobs of every sensor without an override (`monitor.sensor_defaults`).
    public var sensorDefaults = Sensor()
    /// Per sensor id: complete knobs, i.e. `sensorDefaults` with the override's keys applied
    /// (`monitor.sensors`; resolved to sensor indices once, when the monitor is built).
    public var sensorOverrides: [String: Sensor] = [:]
    public var health = Health()
    public var groups = Groups()
    public var repairs = Repairs()
    public var devices = Devices()
    public var policyModel = PolicyModel()
    public var virtualPeers = VirtualPeers()
    public var maxEventsPerCycle = 256
    /// Policy rows, applied in order on top of Vigil's default table (later rows win).
    public var policy: [PolicyRule] = []
    /// What an escalation reason forces, applied after the rows.
    public var reasons: [ReasonRule] = []

    public init() {}

    /// The knobs of one sensor id.
    public func sensor(_ id: String) -> Sensor { sensorOverrides[id] ?? sensorDefaults }

    /// The section's own keys (besides its blocks, `policy` and `reasons`).
    public static var keys: [SettingKey<MonitorSettings>] {
        [.integer("max_events_per_cycle", \.maxEventsPerCycle, 16...65_536, "monitor events kept per cycle; more are counted as dropped")]
    }

    /// Detector knobs of one sensor (`monitor.sensor_defaults`, `monitor.sensors.ID`).
    public struct Sensor: Sendable, Hashable {
        public var rangeToleranceFractionOfSpan = 0.005
        /// 2 keeps a failover for a hard fault within 3 cycles.
        public var outOfRangeConfirmSamples = 2
        /// One timeout is a blip, two are a fault.
        public var badQualityConfirmSamples = 2
        public var dropoutIntervals = 3.0
        /// A Linux box that is not a real-time system (a VM above all) can stall every thread for
        /// tens of milliseconds, and a 10 ms poll would call that a dropout of every point at once.
        public var dropoutFloorNanoseconds = 100_000_000.0
        public var configErrorSamples = 5
        public var stuckResolutionFractionOfSpan = 1e-9
        public var stuckMinSamples = 3
        public var stuckMaxSamples = 200
        public var stuckFalseRunProbability = 1e-9
        public var maxRateFractionOfSpanPerSecond = 0.2
        public var rateNoiseSigmas = 8.0
        /// Samples, odd, at most `SensorDetector.windowCapacity` (15).
        public var spikeWindow = 7
        public var spikeSigmas = 6.0
        public var spikeRepeatCount = 3
        public var spikeRepeatWindowSamples = 50
        public var warmupSamples = 200
        public var noiseVarianceRatio = 4.0
        public var noiseEWMAWeight = 0.02
        /// k = 0.25, h = 25 gives ARL0 ≈ 4·10⁶ samples (Siegmund) for a false drift finding and
        /// finds a 1σ/1000-sample ramp in ~550 samples.
        public var driftK = 0.25
        public var driftH = 25.0
        public var driftWarmupSamples = 1000
        public var driftBaselineWeight = 1e-4
        public var disagreementSigmas = 8.0
        public var disagreementFractionOfSpan = 0.02
        public var disagreementSamples = 3
        public var latencySigmas = 3.0
        public var latencyConsecutiveSamples = 3
        /// On loopback or a quiet LAN σ is a few µs, and a 100 µs scheduling hiccup is not a
        /// latency problem a plant engineer should hear about.
        public var latencyFloorNanoseconds = 1_000_000.0

        public init() {}

        public static var keys: [SettingKey<Sensor>] {
            [.number("range_tolerance_fraction_of_span", \.rangeToleranceFractionOfSpan, .fractionOfSpan,
                     "tolerance beyond the sensor's `range` before a value is out of range"),
             .integer("out_of_range_confirm_samples", \.outOfRangeConfirmSamples, 1...1000, "consecutive out-of-range samples that confirm the fault"),
             .integer("bad_quality_confirm_samples", \.badQualityConfirmSamples, 1...1000,
                      "consecutive bad readings (timeout, exception) that confirm a dropout"),
             .number("dropout_intervals", \.dropoutIntervals, .atLeast(1, "a number of poll intervals"),
                     "a timestamp that has not moved for this many poll intervals (or of the device's recent pace, when it answers slower) is a dropout …"),
             .milliseconds("dropout_floor_ms", \.dropoutFloorNanoseconds, .nonNegative,
                           "… and for at least this many milliseconds (a non-real-time host can stall every thread for tens of ms)"),
             .integer("config_error_samples", \.configErrorSamples, 1...Int.max,
                      "out of range on every sample since the first this long: a configuration error"),
             .number("stuck_resolution_fraction_of_span", \.stuckResolutionFractionOfSpan, .fractionOfSpan,
                     "two values closer than this are \"no change\"; set the register's step when known"),
             .integer("stuck_min_samples", \.stuckMinSamples, 2...Int.max,
                      "fewest unchanged samples that make a stuck finding (while the group's peers move)"),
             .integer("stuck_max_samples", \.stuckMaxSamples, 2...Int.max,
                      "most samples the stuck detector ever asks for (quantized, quiet sensors); at least `stuck_min_samples`"),
             .number("stuck_false_run_probability", \.stuckFalseRunProbability, .probability,
                     "accepted chance of an innocent run; sets the run length from the learned repeat rate"),
             .number("max_rate_fraction_of_span_per_second", \.maxRateFractionOfSpanPerSecond, .positive,
                     "rate-of-change limit, measured over the spike window (plus `rate_noise_sigmas` of the learned noise)"),
             .number("rate_noise_sigmas", \.rateNoiseSigmas, .positive, "learned noise σ added to the rate limit, so noise alone never trips it"),
             .oddInteger("spike_window", \.spikeWindow, 3...15, "Hampel filter window (samples)"),
             .number("spike_sigmas", \.spikeSigmas, .positive,
                     "Hampel threshold in robust σ (the larger of 1.4826·MAD and the learned noise σ)"),
             .integer("spike_repeat_count", \.spikeRepeatCount, 1...8,
                      "this many spikes within `spike_repeat_window_samples` is a fault, not a filtered spike"),
             .integer("spike_repeat_window_samples", \.spikeRepeatWindowSamples, 1...Int.max, "the window of `spike_repeat_count`, in samples"),
             .integer("warmup_samples", \.warmupSamples, 2...Int.max,
                      "samples that learn the noise baseline (second differences) before the statistical detectors arm"),
             .number("noise_variance_ratio", \.noiseVarianceRatio, .above(1, "a variance ratio"),
                     "noise finding when the short-term variance exceeds this multiple of the baseline (4: the noise σ doubled)"),
             .number("noise_ewma_weight", \.noiseEWMAWeight, .weight, "weight of the short-term variance (0.02 ≈ last 100 samples)"),
             .number("drift_k", \.driftK, .nonNegative, "CUSUM allowance on the residual to the group's consensus, in residual σ"),
             .number("drift_h", \.driftH, .positive,
                     "CUSUM threshold, in residual σ (with `drift_k` 0.25: a false drift finding every ≈ 4·10⁶ samples)"),
             .integer("drift_warmup_samples", \.driftWarmupSamples, 2...Int.max,
                      "samples that learn the residual's mean and σ (again when the group's set of peers changes)"),
             .number("drift_baseline_weight", \.driftBaselineWeight, .within(0...0.5, "a weight"),
                     "how fast the residual baseline keeps adapting while healthy"),
             .number("disagreement_sigmas", \.disagreementSigmas, .positive, "disagreement with the consensus beyond this many residual σ …"),
             .number("disagreement_fraction_of_span", \.disagreementFractionOfSpan, .fractionOfSpan, "… and beyond this share of the span …"),
             .integer("disagreement_samples", \.disagreementSamples, 1...Int.max, "… for this many samples in a row"),
             .number("latency_sigmas", \.latencySigmas, .positive, "latency anomaly beyond mean + this many σ (learned) …"),
             .integer("latency_consecutive_samples", \.latencyConsecutiveSamples, 1...Int.max, "… for this many samples in a row …"),
             .milliseconds("latency_floor_ms", \.latencyFloorNanoseconds, .nonNegative,
                           "… and at least this many milliseconds above the learned mean (loopback jitter of 100 µs is no latency problem)")]
        }
    }

    /// The per-sensor health state machine (`monitor.health`; counts are new samples of the sensor).
    public struct Health: Sendable, Hashable {
        public var confirmSamples = 20
        public var confirmSamplesOddOneOut = 5
        public var suspectClearSamples = 20
        public var quarantineClearSamples = 50
        public var probationSamples = 500
        /// A sensor out of use only because its device stopped answering was never wrong itself:
        /// skipping quarantine and probation lets a device that comes back end its group's hold at once.
        public var deviceRecoverySamples = 5
        public var noBackupConfirmNanoseconds: UInt64 = 2_000_000_000

        public init() {}

        public static var keys: [SettingKey<Health>] {
            [.integer("confirm_samples", \.confirmSamples, 1...Int.max,
                      "soft findings (drift, noise, rate, disagreement) in `suspect` that confirm a fault"),
             .integer("confirm_samples_odd_one_out", \.confirmSamplesOddOneOut, 1...Int.max,
                      "the same when the group's other members agree and this one is the odd one out"),
             .integer("suspect_clear_samples", \.suspectClearSamples, 1...Int.max, "clean samples that return a suspect sensor to healthy"),
             .integer("quarantine_clear_samples", \.quarantineClearSamples, 1...Int.max,
                      "clean samples that move a quarantined sensor to probation"),
             .integer("probation_samples", \.probationSamples, 1...Int.max,
                      "clean samples on probation before a sensor is healthy (and used) again"),
             .integer("device_recovery_samples", \.deviceRecoverySamples, 1...Int.max,
                      "a sensor out of use only because its device stopped answering returns to healthy after this many good "
                      + "samples when its group has no healthy member left, or it has no group (no quarantine, no probation)"),
             .seconds("no_backup_confirm_seconds", \.noBackupConfirmNanoseconds, .within(0...3600, "a number of seconds"),
                      "a sensor in no redundancy group has nothing to fail over to: when it is confirmed faulty (any kind but a "
                      + "dropout) and still out of use this long after (at least 3 new samples; its finding seen again within the "
                      + "last half of that time; a stuck one without changing its value), an operator is called (escalation "
                      + "`no_healthy_source`, an alarm that returns to normal when the sensor is healthy again)")]
        }
    }

    /// Redundancy groups (`monitor.groups`).
    public struct Groups: Sendable, Hashable {
        public var midValueSelectMinMembers = 3
        public var holdMaxNanoseconds: UInt64 = 2_000_000_000
        /// Pair tie-break (not a file key): a disagreeing member whose own recent series shows a level
        /// shift of at least this many noise σ (`StepLocator`) is blamed, provided its partner's stays
        /// under `pairSmoothSigmas` (pure noise scores about 3) and the step is at least twice the
        /// partner's. Otherwise the pair escalates an unresolved disagreement to the operator.
        public var pairStepSigmas = 6.0
        public var pairSmoothSigmas = 4.5
        /// A process excursion is over once its group has moved quietly for this long (not a file key).
        public var excursionQuietNanoseconds: UInt64 = 1_000_000_000

        public init() {}

        public static var keys: [SettingKey<Groups>] {
            [.integer("mid_value_select_min_members", \.midValueSelectMinMembers, 3...Int.max,
                      "with this many usable members control gets their median; a number larger than every group turns mid-value select off"),
             .seconds("hold_max_seconds", \.holdMaxNanoseconds, .within(0...3600, "a number of seconds"),
                      "how long a group with no usable source holds its last good value (quality stale) before its safe action "
                      + "(bad value: interlocks on it trip fail-safe); `0` = no hold")]
        }
    }

    /// Each section member's estimate from the section's other members (`monitor.virtual_peers`).
    /// A section's units are its redundancy groups (their median) and its lone sensors; a unit is
    /// estimated by linear regression on the other units, learned from the section's first good
    /// samples. The estimate is a third vote in a pair and the peer of a sensor with no other.
    public struct VirtualPeers: Sendable, Hashable {
        public var enabled = true
        public var trainingSamples = 500
        /// A sensor with no peer of its own is blamed for its drift or disagreement with its
        /// estimate only when its level (EWMA of its standardized residual) is this many times every
        /// other unit's of the section: a process change that breaks the correlation moves several.
        public var loneMargin = 1.5
        /// CUSUM allowance on a member's residual to its estimate, in residual σ: a learned model
        /// is never exact, and its error wanders slowly (a plant seldom shows all of its range while
        /// the section learns).
        public var driftK = 0.75
        /// A disagreeing pair blames the member whose level against its estimate (EWMA of the
        /// standardized residual; σ about 0.1 when all is well) reaches this while the other's stays
        /// under a third of it (not a file key).
        public var pairScore = 0.5
        /// Sections with more units than this get no virtual peers (the fit is ~units⁴/3 flops,
        /// done once on the cycle; not a file key).
        public var maxUnits = 16

        public init() {}

        public static var keys: [SettingKey<VirtualPeers>] {
            [.flag("enabled", \.enabled,
                   "sections of 2 to 16 units (a redundancy group counts once) give each member a virtual peer: its estimate from the "
                   + "other units (a third vote in a pair; the peer of a lone sensor, in a section of 3 or more); `false`: none"),
             .integer("training_samples", \.trainingSamples, 20...1_000_000,
                      "samples in which every member of the section is usable, learned before the estimates are used (at least 10 per unit)"),
             .number("drift_k", \.driftK, .nonNegative,
                     "CUSUM allowance on a member's residual to its estimate, in residual σ (larger than the group's "
                     + "`drift_k`: a learned estimate is never exact); the threshold is the sensor's `drift_h`"),
             .number("lone_margin", \.loneMargin, .atLeast(1, "a ratio"),
                     "a sensor with no peer of its own is blamed for disagreeing with its estimate only when its level (EWMA of its "
                     + "standardized residual) is this many times every other unit's (a process change that breaks the correlation moves several)")]
        }
    }

    /// Repair verification (`monitor.repairs`).
    public struct Repairs: Sendable, Hashable {
        /// Counted in clean cycles of the plant's period.
        public var verifyNanoseconds: UInt64 = 1_000_000_000
        public var deviceVerifyNanoseconds: UInt64 = 30_000_000_000

        public init() {}

        public static var keys: [SettingKey<Repairs>] {
            [.seconds("verify_seconds", \.verifyNanoseconds, .secondsUpTo(3600),
                      "plant time a failover must stay clean (source usable, group output good) to count as verified (then the "
                      + "backup becomes preferred); counted in clean cycles"),
             .renamed("verify_cycles", to: "verify_seconds", hint: "100 cycles at 10 ms = 1.0"),
             .seconds("device_verify_seconds", \.deviceVerifyNanoseconds, .secondsUpTo(3600),
                      "a device repair (reconnect, backup gateway, slower polling) must show good data within this time, else it is escalated")]
        }
    }

    /// The policy model's part in the monitor's decisions (`monitor.policy_model`).
    public struct PolicyModel: Sendable, Hashable {
        public var assist = false
        public var minMargin = 16
        public var confirmNanoseconds: UInt64 = 50_000_000
        public var maxSuppressionSamples = 3_000
        /// The model watch: a deployed version whose live agreement with what the plant proved
        /// falls more than `watchMargin` (a fraction) below its baseline is rolled back.
        public var watchMargin = 0.15
        /// Outcomes in the running window the agreement is measured over.
        public var watchWindow = 50
        /// Outcomes in the window before a version is judged.
        public var watchMinOutcomes = 20
        /// Confirmed hard faults the model called healthy with a confident margin before `model_error`.
        public var watchContradictions = 3
        /// The margin (int8 steps) above which a "healthy" verdict on a confirmed hard fault is a contradiction.
        public var watchContradictionMargin = 32

        public init() {}

        public static var keys: [SettingKey<PolicyModel>] {
            [.flag("assist", \.assist,
                   "the policy model may change two decisions of the rules (below); `false`: its verdicts are journalled only"),
             .integer("min_margin", \.minMargin, 0...255,
                      "a verdict is confident when its class logit leads the runner-up by this many int8 steps …"),
             .seconds("confirm_seconds", \.confirmNanoseconds, .secondsUpTo(60),
                      "… and has held this long in plant time (also when a changed verdict is journalled)"),
             .renamed("confirm_cycles", to: "confirm_seconds", hint: "5 cycles at 10 ms = 0.05"),
             .integer("max_suppression_samples", \.maxSuppressionSamples, 0...Int.max,
                      "a soft finding the model holds back is confirmed after this many samples anyway"),
             .number("watch_margin", \.watchMargin, .within(0.01...1, "a fraction"),
                     "the deployed version is rolled back to its parent when its live agreement with what the plant proved "
                     + "(operator verdicts, confirmed faults, verified repairs) falls this far below its baseline; a drop of a version "
                     + "with no parent, or of one such a rollback deployed, raises `model_error` and leaves the rules alone"),
             .integer("watch_window", \.watchWindow, 5...10_000, "outcomes the live agreement is measured over (the newest)"),
             .integer("watch_min_outcomes", \.watchMinOutcomes, 1...10_000,
                      "outcomes in the window before a version is judged (at most `watch_window`; the first full count sets the "
                      + "baseline when the parent has none)"),
             .integer("watch_contradictions", \.watchContradictions, 1...1_000,
                      "confirmed hard faults (faulty, quarantined) the model called healthy with a confident margin before `model_error`"),
             .integer("watch_contradiction_margin", \.watchContradictionMargin, 0...255,
                      "a healthy verdict counts as contradicting a confirmed hard fault from this margin (int8 steps) up")]
        }
    }

    /// Device and bus detectors (`monitor.devices`; counts are device samples: cycles in which any
    /// of the device's points brought a new sample).
    public struct Devices: Sendable, Hashable {
        public var timeoutCount = 3
        public var faultSamples = 2
        /// Both shares are EWMAs of weight 0.02.
        public var timeoutRatioForSlowPolling = 0.2
        public var crcRatio = 0.1
        public var exceptionCount = 3
        /// Of an EWMA (weight 0.05) of the round trips.
        public var latencyTrendSigmas = 3.0
        /// The latency trend must also be this far above the learned mean (not a file key): loopback
        /// and LAN round trips of ~0.2 ms jitter by more than 3σ under CPU load, which is no
        /// struggling device.
        public var latencyTrendFloorNanoseconds = 2_000_000.0
        public var latencyWarmupSamples = 200

        public init() {}

        public static var keys: [SettingKey<Devices>] {
            [.integer("timeout_count", \.timeoutCount, 1...Int.max, "consecutive timeouts that make a timeout finding"),
             .integer("fault_samples", \.faultSamples, 1...Int.max, "consecutive samples with every point bad that make a device fault"),
             .number("timeout_ratio_for_slow_polling", \.timeoutRatioForSlowPolling, .probability,
                     "share of timed-out samples (EWMA) that asks for slower polling"),
             .number("crc_ratio", \.crcRatio, .probability, "share of CRC/framing errors (EWMA) that makes a finding"),
             .integer("exception_count", \.exceptionCount, 1...Int.max, "consecutive exception answers that make a finding"),
             .number("latency_trend_sigmas", \.latencyTrendSigmas, .positive, "latency trend beyond the learned mean + this many σ"),
             .integer("latency_warmup_samples", \.latencyWarmupSamples, 2...Int.max, "samples that learn the round trip's mean and σ")]
        }
    }

    // MARK: Policy vocabulary (raw values are the names used in files)

    /// Root causes the monitor settles on.
    public enum Cause: String, Sendable, Hashable, CaseIterable {
        case sensorFault = "sensor_fault", deviceFault = "device_fault", busFault = "bus_fault"
        case processExcursion = "process_excursion", configurationError = "configuration_error"
    }

    /// Finding kinds a rule can name.
    public enum FindingKind: String, Sendable, Hashable, CaseIterable {
        case outOfRange = "out_of_range", stuck, rateOfChange = "rate_of_change", spike, noise, drift, dropout, latency, disagreement
        case deviceTimeouts = "device_timeouts", deviceExceptions = "device_exceptions", deviceCRCErrors = "device_crc_errors"
        case deviceDisconnected = "device_disconnected", deviceLatencyTrend = "device_latency_trend"
        case multivariateT2 = "multivariate_t2", multivariateSPE = "multivariate_spe"
    }

    /// Families of finding kinds (written `category:NAME`).
    public enum FindingCategory: String, Sendable, Hashable, CaseIterable {
        case latency, accuracy, communication, multivariate
    }

    /// Which findings a rule covers.
    public enum FindingPattern: Sendable, Hashable {
        case any
        case kind(FindingKind)
        case category(FindingCategory)
    }

    public enum Severity: String, Sendable, Hashable, CaseIterable {
        case minor, major, safety
    }

    public enum Decision: String, Sendable, Hashable, CaseIterable {
        case automaticRepair = "automatic_repair"
        case operatorIntervention = "operator_intervention"
        case operatorInterventionAndSafeOutputs = "operator_intervention_and_safe_outputs"
    }

    /// Escalation reasons whose decision a file may set (`intervention_policy`, the reason the
    /// policy itself gives, is not among them: its decision is the row that sent it).
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        case safetyLimit = "safety_limit", policyViolation = "policy_violation", modelError = "model_error"
        case repairFailed = "repair_failed", noHealthySource = "no_healthy_source"
        case configurationError = "configuration_error", unresolvedDisagreement = "unresolved_disagreement"
    }

    /// One row: every cell matching cause × finding × severity (nil = any) gets `decision`.
    /// A row never lowers a safety-severity cell: wildcards skip them, and the decoder refuses a row
    /// that names severity `safety` with anything but `operator_intervention_and_safe_outputs`.
    public struct PolicyRule: Sendable, Hashable {
        public var cause: Cause?
        public var finding: FindingPattern
        public var severity: Severity?
        public var decision: Decision

        public init(cause: Cause? = nil, finding: FindingPattern = .any, severity: Severity? = nil, decision: Decision) {
            self.cause = cause
            self.finding = finding
            self.severity = severity
            self.decision = decision
        }
    }

    /// What an escalation reason forces at least. `safety_limit` is always operator and safe outputs.
    public struct ReasonRule: Sendable, Hashable {
        public var reason: Reason
        public var decision: Decision

        public init(reason: Reason, decision: Decision) {
            self.reason = reason
            self.decision = decision
        }
    }
}
