/// A plant section watched by the multivariate monitor: sensors that co-vary in normal operation.
/// Decoded from a `sections:` entry; see docs/CONFIGURATION.md.
public struct SectionConfig: Sendable, Hashable {
    /// How the section's control limits are set from its training samples.
    public enum Limits: String, Sendable, Hashable, CaseIterable {
        /// From distributions (F for T², Jackson–Mudholkar for SPE), assuming independent samples.
        case theoretical
        /// Quantiles of the statistics on the training samples the model was fitted to.
        case inSample = "in_sample"
        /// From statistics of training samples held out of the fit (contiguous blocks, 5 folds).
        case crossValidated = "cross_validated"
    }

    /// How each sensor is centred and scaled.
    public enum Scaling: String, Sendable, Hashable, CaseIterable {
        /// Mean and standard deviation.
        case standard
        /// Median and median absolute deviation: outliers in training do not stretch the scale.
        case robust
    }

    public var id: String
    /// Sensor ids (not groups), in the model's column order; at least 2.
    public var sensors: [String]
    /// Good samples (all sensors good in one cycle) learned after start before the section is judged.
    public var trainingSamples: Int
    /// When set, the section learns for this long instead of counting `trainingSamples`: every good
    /// new sample in the first `trainingSeconds` of plant time after its first one (at least
    /// `minimumTrainingSamples` of them), then fits.
    public var trainingSeconds: Double?
    /// Samples over a limit, among the last `persistenceWindow`, before a finding is raised.
    public var persistence: Int
    /// The run rule's window: `persistence` of the last `persistenceWindow` samples (k of n). Nil:
    /// equal to `persistence` (consecutive samples).
    public var persistenceWindow: Int?
    /// Consecutive cycles under the limit before a finding clears.
    public var clearPersistence: Int
    /// Share of the scaled variance the kept principal components explain.
    public var varianceToKeep: Double
    /// Per-sample false-alarm probability of each statistic on normal data (sets the limits).
    public var falseAlarmRate: Double
    /// EWMA weight of the slow mean/covariance update (0 disables it).
    public var updateLambda: Double
    /// Normal samples between refits of the slowly updated model.
    public var refitInterval: Int
    /// Time-lagged copies of every sensor in the model (dynamic PCA); 0: the current sample only.
    public var lags: Int
    public var scaling: Scaling
    public var limits: Limits
    /// Weight of the EWMA statistics on the residual (EWMA of SPE, squared norm of the EWMA
    /// residual vector); 0: none.
    public var ewmaLambda: Double

    public static let defaultFalseAlarmRate = 0.001
    public static let defaultLimits = Limits.crossValidated
    public static let defaultEWMALambda = 0.0

    public init(id: String, sensors: [String], trainingSamples: Int? = nil, trainingSeconds: Double? = nil, persistence: Int = 3,
                persistenceWindow: Int? = nil, clearPersistence: Int = 10, varianceToKeep: Double = 0.9,
                falseAlarmRate: Double = SectionConfig.defaultFalseAlarmRate,
                updateLambda: Double = 1e-4, refitInterval: Int = 1000, lags: Int = 0, scaling: Scaling = .standard,
                limits: Limits = SectionConfig.defaultLimits, ewmaLambda: Double = SectionConfig.defaultEWMALambda) {
        self.id = id
        self.sensors = sensors
        self.trainingSamples = 0
        self.trainingSeconds = trainingSeconds
        self.persistence = persistence
        self.persistenceWindow = persistenceWindow
        self.clearPersistence = clearPersistence
        self.varianceToKeep = varianceToKeep
        self.falseAlarmRate = falseAlarmRate
        self.updateLambda = updateLambda
        self.refitInterval = refitInterval
        self.lags = lags
        self.scaling = scaling
        self.limits = limits
        self.ewmaLambda = ewmaLambda
        self.trainingSamples = trainingSamples
            ?? max(Self.defaultTrainingSamples(sensorCount: sensors.count, lags: lags), requiredTrainingSamples)
    }

    /// The fewest training samples a section of `sensorCount` sensors needs (as `MultivariateModel.fit`
    /// requires): two per model variable (sensors × (lags + 1)) and at least 50, plus the lags.
    public static func minimumTrainingSamples(sensorCount: Int, lags: Int = 0) -> Int {
        max(50, 2 * sensorCount * (lags + 1)) + lags
    }

    /// The fewest training samples this section's settings need (with `in_sample` limits also 10/α).
    public var requiredTrainingSamples: Int {
        var n = Self.minimumTrainingSamples(sensorCount: sensors.count, lags: lags)
        if limits == .inSample, falseAlarmRate > 0 { n = max(n, Int((10 / falseAlarmRate).rounded(.up)) + lags) }
        return n
    }

    /// Training samples when none are configured: 2000, or ten per model variable when more, plus the
    /// lags (and at least `requiredTrainingSamples`). A shorter window rarely covers a plant's normal
    /// range and false-alarms once live; a short recording sets `training_samples` or `training_seconds`.
    public static func defaultTrainingSamples(sensorCount: Int, lags: Int = 0) -> Int {
        max(2000, 10 * sensorCount * (lags + 1)) + lags
    }
}
