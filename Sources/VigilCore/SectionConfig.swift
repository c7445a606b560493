/// A plant section watched by the multivariate monitor: sensors that co-vary in normal operation.
/// Decoded from a `sections:` entry; see docs/CONFIGURATION.md.
public struct SectionConfig: Sendable, Hashable {
    public var id: String
    /// Sensor ids (not groups), in the model's column order; at least 2.
    public var sensors: [String]
    /// Good samples (all sensors good in one cycle) learned after start before the section is judged.
    public var trainingSamples: Int
    /// When set, the section learns for this long instead of counting `trainingSamples`: every good
    /// new sample in the first `trainingSeconds` of plant time after its first one (at least
    /// `minimumTrainingSamples` of them), then fits.
    public var trainingSeconds: Double?
    /// Consecutive cycles over a limit before a finding is raised.
    public var persistence: Int
    /// Consecutive cycles under the limit before a finding clears.
    public var clearPersistence: Int
    /// Share of the scaled variance the kept principal components explain.
    public var varianceToKeep: Double
    /// Per-sample false-alarm probability of each statistic on normal data (sets the T² and SPE limits).
    public var falseAlarmRate: Double
    /// EWMA weight of the slow mean/covariance update (0 disables it).
    public var updateLambda: Double
    /// Normal samples between refits of the slowly updated model.
    public var refitInterval: Int

    public static let defaultTrainingSamples = 2000

    public init(id: String, sensors: [String], trainingSamples: Int = SectionConfig.defaultTrainingSamples,
                trainingSeconds: Double? = nil, persistence: Int = 3, clearPersistence: Int = 10, varianceToKeep: Double = 0.9,
                falseAlarmRate: Double = 0.001, updateLambda: Double = 1e-4, refitInterval: Int = 1000) {
        self.id = id
        self.sensors = sensors
        self.trainingSamples = trainingSamples
        self.trainingSeconds = trainingSeconds
        self.persistence = persistence
        self.clearPersistence = clearPersistence
        self.varianceToKeep = varianceToKeep
        self.falseAlarmRate = falseAlarmRate
        self.updateLambda = updateLambda
        self.refitInterval = refitInterval
    }

    /// The fewest training samples a section of `sensorCount` sensors needs (as `MultivariateModel.fit` requires).
    public static func minimumTrainingSamples(sensorCount: Int) -> Int { max(50, 10 * sensorCount) }
}
