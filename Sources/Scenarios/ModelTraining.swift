import Policy

/// The shipped policy model's recipe, in one place: the fault-campaign dataset (`runs` per fault
/// kind from `seed`), teacher → distilled student → int8, and the learning set the incremental
/// learner keeps of that data. `vigil model train` runs it; `models/default.vglm` and
/// `models/default.vgls` are its output with the defaults, and a release test checks that.
public enum ModelTraining {
    public struct Output: Sendable {
        public var dataset: PolicyDataset
        public var result: DistillationPipeline.Result
        public var learningSet: LearningSet
    }

    public static let defaultRuns = 60
    public static let defaultSeed: UInt64 = 2026

    public static func run(runs: Int = defaultRuns, seed: UInt64 = defaultSeed) throws -> Output {
        let dataset = try DatasetCampaign.generate(options: DatasetOptions(runsPerKind: runs, baseSeed: seed))
        let options = DistillationPipeline.Options(seed: seed)
        let result = try DistillationPipeline.run(featureNames: dataset.featureNames, train: dataset.train, validation: dataset.validation,
                                                  options: options)
        let learningSet = LearningSet(featureNames: dataset.featureNames, train: dataset.train, validation: dataset.validation,
                                      classes: result.model.schema.classes.count, calibration: options.calibrationSamples)
        return Output(dataset: dataset, result: result, learningSet: learningSet)
    }
}
