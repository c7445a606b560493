/// Teacher → student → int8, from raw labelled samples: fit the normalisation on the training set,
/// train a wide float teacher on hard labels, distil a small student from it (soft targets at
/// temperature T plus hard labels), quantize the student calibrated on a class-stratified slice of
/// the training set, and score all three on the validation set. Seeded end to end: the same samples
/// and options give the same model file bit for bit (`vigil model train` and the shipped model).
public enum DistillationPipeline {
    public struct Options: Sendable, Hashable {
        public var teacherHidden: [Int]
        public var studentHidden: [Int]
        public var teacherEpochs: Int
        public var studentEpochs: Int
        public var batchSize: Int
        public var learningRate: Float
        public var temperature: Float
        public var distillationWeight: Float
        /// Samples used to calibrate the activation ranges (stratified by class).
        public var calibrationSamples: Int
        public var seed: UInt64

        public init(teacherHidden: [Int] = [64, 64], studentHidden: [Int] = [24], teacherEpochs: Int = 12, studentEpochs: Int = 12,
                    batchSize: Int = 64, learningRate: Float = 0.003, temperature: Float = 3, distillationWeight: Float = 0.7,
                    calibrationSamples: Int = 2_000, seed: UInt64 = 2026) {
            self.teacherHidden = teacherHidden
            self.studentHidden = studentHidden
            self.teacherEpochs = teacherEpochs
            self.studentEpochs = studentEpochs
            self.batchSize = batchSize
            self.learningRate = learningRate
            self.temperature = temperature
            self.distillationWeight = distillationWeight
            self.calibrationSamples = calibrationSamples
            self.seed = seed
        }
    }

    public struct Result: Sendable {
        public var model: PolicyModel
        public var teacher: FloatMLP
        public var student: FloatMLP
        /// Diagnosis-head figures on the validation set.
        public var teacherValidation: Evaluation
        public var studentValidation: Evaluation
        public var int8Validation: Evaluation
    }

    /// Runs the pipeline. `train` and `validation` hold raw (unnormalised) features.
    public static func run(featureNames: [String], train: [TrainingSample], validation: [TrainingSample],
                           schema classes: [String] = PolicyLabels.diagnoses, actions: [String] = PolicyLabels.actions,
                           options: Options, lineage: ModelLineage = ModelLineage(version: 1, parent: 0)) throws -> Result {
        precondition(!train.isEmpty, "training needs samples")
        let normalisation = FeatureNormalisation(fitting: train.map(\.features))
        let normalise = { (s: TrainingSample) -> TrainingSample in
            var n = s
            n.features = normalisation.apply(s.features)
            return n
        }
        let trainN = train.map(normalise), validationN = validation.map(normalise)
        let outputs = classes.count + actions.count
        let trainer = Trainer(classCount: classes.count, actionCount: actions.count)

        var teacher = FloatMLP(sizes: [featureNames.count] + options.teacherHidden + [outputs], seed: options.seed)
        trainer.train(&teacher, on: trainN, options: TrainingOptions(epochs: options.teacherEpochs, batchSize: options.batchSize,
                                                                     learningRate: options.learningRate, seed: options.seed &+ 1))
        var student = FloatMLP(sizes: [featureNames.count] + options.studentHidden + [outputs], seed: options.seed &+ 2)
        trainer.train(&student, on: trainN, teacher: teacher,
                      options: TrainingOptions(epochs: options.studentEpochs, batchSize: options.batchSize, learningRate: options.learningRate,
                                               seed: options.seed &+ 3, temperature: options.temperature,
                                               distillationWeight: options.distillationWeight))
        let calibration = stratified(trainN, count: options.calibrationSamples, classes: classes.count).map(\.features)
        let network = try QuantizedMLP(quantizing: student, calibration: calibration)
        let model = try PolicyModel(schema: ModelSchema(features: featureNames, classes: classes, actions: actions),
                                    normalisation: normalisation, network: network, lineage: lineage)
        return Result(model: model, teacher: teacher, student: student,
                      teacherValidation: evaluate(teacher, validationN, classes: classes.count),
                      studentValidation: evaluate(student, validationN, classes: classes.count),
                      int8Validation: evaluate(model, validation))
    }

    /// Diagnosis-head figures of a float network on normalised samples.
    public static func evaluate(_ net: FloatMLP, _ samples: [TrainingSample], classes: Int) -> Evaluation {
        let predicted = samples.map { s -> Int in
            let z = net.logits(s.features)
            var best = 0
            for i in 1..<classes where z[i] > z[best] { best = i }
            return best
        }
        return Evaluation(predicted: predicted, truth: samples.map(\.label), classCount: classes)
    }

    /// Diagnosis-head figures of the int8 model on raw samples.
    public static func evaluate(_ model: PolicyModel, _ samples: [TrainingSample]) -> Evaluation {
        let scratch = model.makeScratch()
        let predicted = samples.map { s in s.features.withUnsafeBufferPointer { model.decide($0, scratch: scratch).diagnosis } }
        return Evaluation(predicted: predicted, truth: samples.map(\.label), classCount: model.schema.classes.count)
    }

    /// Up to `count` samples, round-robin over classes in their original order (deterministic).
    static func stratified(_ samples: [TrainingSample], count: Int, classes: Int) -> [TrainingSample] {
        var byClass = [[TrainingSample]](repeating: [], count: classes)
        for s in samples where s.label < classes { byClass[s.label].append(s) }
        var out: [TrainingSample] = []
        var i = 0
        while out.count < count && byClass.contains(where: { i < $0.count }) {
            for c in 0..<classes where i < byClass[c].count && out.count < count { out.append(byClass[c][i]) }
            i += 1
        }
        return out
    }
}
