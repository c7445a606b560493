import Testing
@testable import Policy

/// Training, distillation and quantization on a small synthetic problem with known answers: three
/// Gaussian clusters in 6 dimensions (the class) and an action that follows the class.
@Suite struct TrainerTests {
    static let centres: [[Float]] = [[2, 0, 0, 1, 0, 0], [0, 2, 0, 0, -1, 0], [0, 0, 2, 0, 0, 1]]
    static let actionOf = [0, 1, 1]

    static func samples(_ n: Int, seed: UInt64) -> [TrainingSample] {
        var random = TrainingRandom(seed: seed)
        return (0..<n).map { i in
            let c = i % 3
            let x = centres[c].map { $0 + Float(random.nextGaussian()) * 0.7 }
            return TrainingSample(features: x, label: c, action: actionOf[c])
        }
    }

    static func accuracy(_ net: FloatMLP, _ samples: [TrainingSample]) -> Double {
        let predicted = samples.map { s -> Int in
            let z = net.logits(s.features)
            return z[0..<3].indices.max { z[$0] < z[$1] }!
        }
        return Evaluation(predicted: predicted, truth: samples.map(\.label), classCount: 3).accuracy
    }

    @Test func trainingLearnsTheClustersAndIsReproducible() {
        let train = Self.samples(600, seed: 1), test = Self.samples(600, seed: 2)
        let trainer = Trainer(classCount: 3, actionCount: 2)
        var a = FloatMLP(sizes: [6, 16, 5], seed: 4)
        var b = a
        let before = Self.accuracy(a, test)
        trainer.train(&a, on: train, options: TrainingOptions(epochs: 15, seed: 9))
        trainer.train(&b, on: train, options: TrainingOptions(epochs: 15, seed: 9))
        #expect(a == b, "same seed, same weights, bit for bit")
        #expect(Self.accuracy(a, test) > 0.95, "accuracy \(Self.accuracy(a, test)), was \(before) untrained")
    }

    /// A small student learns from the teacher's soft targets as well as from labels, and its int8
    /// version decides like its float version.
    @Test func distilledStudentFollowsTheTeacherAndSurvivesQuantization() throws {
        let train = Self.samples(900, seed: 3), test = Self.samples(900, seed: 4)
        let trainer = Trainer(classCount: 3, actionCount: 2)
        var teacher = FloatMLP(sizes: [6, 32, 32, 5], seed: 5)
        trainer.train(&teacher, on: train, options: TrainingOptions(epochs: 20, seed: 6))
        var student = FloatMLP(sizes: [6, 8, 5], seed: 7)
        trainer.train(&student, on: train, teacher: teacher,
                      options: TrainingOptions(epochs: 20, seed: 8, temperature: 3, distillationWeight: 0.7))
        let teacherAccuracy = Self.accuracy(teacher, test), studentAccuracy = Self.accuracy(student, test)
        #expect(teacherAccuracy > 0.95)
        #expect(studentAccuracy >= teacherAccuracy - 0.02, "student \(studentAccuracy) vs teacher \(teacherAccuracy)")

        let int8 = try QuantizedMLP(quantizing: student, calibration: train.prefix(300).map(\.features))
        let scratch = int8.makeScratch()
        let predicted = test.map { s in s.features.withUnsafeBufferPointer { QuantizedMLP.argmax(int8.run($0, scratch: scratch), 0..<3) } }
        let int8Accuracy = Evaluation(predicted: predicted, truth: test.map(\.label), classCount: 3).accuracy
        #expect(abs(int8Accuracy - studentAccuracy) <= 0.01, "int8 \(int8Accuracy) vs float student \(studentAccuracy)")
    }

    /// The whole pipeline (normalise, teacher, distilled student, int8) is reproducible to the byte
    /// and reports the three models' validation figures.
    @Test func pipelineIsReproducibleToTheByteAndReportsEachStage() throws {
        let train = Self.samples(600, seed: 11), validation = Self.samples(300, seed: 12)
        let options = DistillationPipeline.Options(teacherHidden: [24], studentHidden: [8], teacherEpochs: 6, studentEpochs: 6,
                                                   calibrationSamples: 200, seed: 5)
        func run() throws -> DistillationPipeline.Result {
            try DistillationPipeline.run(featureNames: (0..<6).map { "f\($0)" }, train: train, validation: validation,
                                         schema: ["a", "b", "c"], actions: ["x", "y"], options: options)
        }
        let a = try run(), b = try run()
        #expect(ModelFile.encode(a.model) == ModelFile.encode(b.model))
        #expect(a.teacherValidation.accuracy > 0.9)
        #expect(a.int8Validation.accuracy >= a.studentValidation.accuracy - 0.01)
        #expect(a.model.lineage == ModelLineage(version: 1, parent: 0))
    }

    @Test func evaluationCountsAccuracyMacroF1AndPerClassRecall() {
        let e = Evaluation(predicted: [0, 0, 1, 1, 2, 0], truth: [0, 0, 1, 2, 2, 2], classCount: 3)
        #expect(e.accuracy == 4.0 / 6.0)
        #expect(e.perClassRecall == [1, 1, 1.0 / 3.0])
        // F1: class 0: tp 2, fp 1, fn 0 → 0.8; class 1: tp 1, fp 1, fn 0 → 2/3; class 2: tp 1, fp 0, fn 2 → 0.5.
        #expect(abs(e.macroF1 - (0.8 + 2.0 / 3.0 + 0.5) / 3) < 1e-12)
    }
}
