/// The plant file's `monitor:` section: detector knobs, health and redundancy timing, repair
/// verification, device thresholds and intervention policy rows. Plain values; the `Monitor` target
/// turns them into `MonitorTuning` and `InterventionPolicy`. Every default equals the monitor's own
/// (a test holds them equal), so an absent section changes nothing.
public struct MonitorSettings: Sendable, Hashable {
    /// Knobs of every sensor without an override (`monitor.sensor_defaults`).
    public var sensorDefaults = Sensor()
    /// Per sensor id: complete knobs, i.e. `sensorDefaults` with the override's keys applied.
    public var sensorOverrides: [String: Sensor] = [:]
    public var health = Health()
    public var groups = Groups()
    public var repairs = Repairs()
    public var devices = Devices()
    public var policyModel = PolicyModel()
    /// Monitor events kept per cycle; more are counted as dropped.
    public var maxEventsPerCycle = 256
    /// Policy rows, applied in order on top of Vigil's default table (later rows win).
    public var policy: [PolicyRule] = []
    /// What an escalation reason forces, applied after the rows.
    public var reasons: [ReasonRule] = []

    public init() {}

    /// Detector knobs of one sensor (see `SensorTuning` in Monitor for what each does).
    public struct Sensor: Sendable, Hashable {
        public var rangeToleranceFractionOfSpan = 0.005
        public var outOfRangeConfirmSamples = 2
        public var badQualityConfirmSamples = 2
        public var dropoutIntervals = 3.0
        public var dropoutFloorMilliseconds = 100.0
        public var configErrorSamples = 5
        public var stuckResolutionFractionOfSpan = 1e-9
        public var stuckMinSamples = 3
        public var stuckMaxSamples = 200
        public var stuckFalseRunProbability = 1e-9
        public var maxRateFractionOfSpanPerSecond = 0.2
        public var rateNoiseSigmas = 8.0
        public var spikeWindow = 7
        public var spikeSigmas = 6.0
        public var spikeRepeatCount = 3
        public var spikeRepeatWindowSamples = 50
        public var warmupSamples = 200
        public var noiseVarianceRatio = 4.0
        public var noiseEWMAWeight = 0.02
        public var driftK = 0.25
        public var driftH = 25.0
        public var driftWarmupSamples = 1000
        public var driftBaselineWeight = 1e-4
        public var disagreementSigmas = 8.0
        public var disagreementFractionOfSpan = 0.02
        public var disagreementSamples = 3
        public var latencySigmas = 3.0
        public var latencyConsecutiveSamples = 3
        public var latencyFloorMilliseconds = 1.0

        public init() {}
    }

    /// The per-sensor health state machine (counts are new samples of the sensor).
    public struct Health: Sendable, Hashable {
        public var confirmSamples = 20
        public var confirmSamplesOddOneOut = 5
        public var suspectClearSamples = 20
        public var quarantineClearSamples = 50
        public var probationSamples = 500
        public var deviceRecoverySamples = 5
        /// How long a faulty sensor in no redundancy group must stay out of use before an operator is called.
        public var noBackupConfirmNanoseconds: UInt64 = 2_000_000_000

        public init() {}
    }

    /// Redundancy groups.
    public struct Groups: Sendable, Hashable {
        public var midValueSelectMinMembers = 3
        /// How long a group holds its last good value when no usable source is left.
        public var holdMaxNanoseconds: UInt64 = 2_000_000_000

        public init() {}
    }

    /// Repair verification.
    public struct Repairs: Sendable, Hashable {
        /// Plant time a failover must stay clean (source usable, group output good) to count as verified.
        public var verifyNanoseconds: UInt64 = 1_000_000_000
        public var deviceVerifyNanoseconds: UInt64 = 30_000_000_000

        public init() {}
    }

    /// The policy model's part in the monitor's decisions.
    public struct PolicyModel: Sendable, Hashable {
        /// The model may hold back soft findings it confidently calls healthy and attribute a pair's
        /// disagreement; false: advisory (verdicts journalled only).
        public var assist = false
        /// A verdict counts as confident when its class logit leads the runner-up by this many int8
        /// steps, held for `confirmNanoseconds` of plant time.
        public var minMargin = 16
        public var confirmNanoseconds: UInt64 = 50_000_000
        public var maxSuppressionSamples = 3_000

        public init() {}
    }

    /// Device and bus detectors.
    public struct Devices: Sendable, Hashable {
        public var timeoutCount = 3
        public var faultSamples = 2
        public var timeoutRatioForSlowPolling = 0.2
        public var crcRatio = 0.1
        public var exceptionCount = 3
        public var latencyTrendSigmas = 3.0
        public var latencyWarmupSamples = 200

        public init() {}
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
