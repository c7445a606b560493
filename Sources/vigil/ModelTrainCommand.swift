import ArgumentParser
import Foundation
import Journal
import Policy
import Runtime
import Scenarios

/// `vigil model train`: dataset from the fault campaign → float teacher → distilled student → int8,
/// with the figures of issue 5 (accuracy and macro-F1 of the three, inference time per sensor of
/// int8 against float measured in the same run, model size). Seeded: the same options give the same
/// model file byte for byte (`models/default.vglm` is this command's output with its defaults).
struct ModelTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train the policy model: teacher, distilled student, int8; print its figures.",
        discussion: """
        Regenerate the shipped model with: swift build -c release && .build/release/vigil model train --out models/default.vglm \
        (it also writes the learning set models/default.vgls beside it: replay, golden and calibration samples for the \
        incremental learner).
        """)

    @Option(help: "Fault-campaign runs per fault kind for the dataset.")
    var runs = ModelTraining.defaultRuns
    @Option(help: "Seed of the dataset and of training.")
    var seed: UInt64 = ModelTraining.defaultSeed
    @Option(help: ArgumentHelp("Write the model file here (atomically).", valueName: "FILE"))
    var out: String?
    @Option(help: ArgumentHelp("Register the model in this journal's model registry.", valueName: "FILE"))
    var journal: String?
    @Option(help: ArgumentHelp("Model directory for --journal (default: models/ beside it).", valueName: "DIR"))
    var models: String?
    @Flag(help: "With --journal: deploy the new version.")
    var deploy = false

    func run() throws {
        let start = ContinuousClock.now
        let output = try ModelTraining.run(runs: runs, seed: seed)
        let dataset = output.dataset, result = output.result
        print("dataset: \(dataset.train.count) train, \(dataset.validation.count) validation, \(dataset.test.count) test samples, "
              + "\(dataset.featureNames.count) features; trained teacher, student and int8 in \(seconds(since: start))")
        let report = Self.figures(result, test: dataset.test)
        print(report.text)
        let bytes = ModelFile.encode(result.model)
        if let out {
            let dir = (out as NSString).deletingLastPathComponent
            if !dir.isEmpty { try DurableFile.makeDirectories(dir) }
            try DurableFile.write(bytes, to: out)
            print("wrote \(out) (\(bytes.count) bytes, sha256 \(SHA256.hex(bytes)))")
            let setPath = LearningSetFile.path(forModel: out)
            let setBytes = LearningSetFile.encode(output.learningSet)
            try DurableFile.write(setBytes, to: setPath)
            print("wrote \(setPath) (learning set: \(output.learningSet.replay.count) replay, \(output.learningSet.golden.count) golden, "
                  + "\(output.learningSet.calibration.count) calibration samples; \(setBytes.count) bytes, sha256 \(SHA256.hex(setBytes)))")
        }
        if let journal {
            let location = try ModelLocation.parse(["--journal", journal] + (models.map { ["--models", $0] } ?? []))
            let store = try location.store()
            let record = try store.add(result.model, parent: nil,
                                       trainingSummary: "vigil model train --runs \(runs) --seed \(seed): \(dataset.train.count) train samples",
                                       validationJSON: report.json, deploy: deploy,
                                       wallNanoseconds: Int64(Date().timeIntervalSince1970 * 1e9))
            print("registered model v\(record.version)\(deploy ? " (deployed)" : "") in \(journal)")
        }
    }

    struct Figures {
        var text: String
        var json: String
    }

    /// Accuracy and macro-F1 of teacher, float student and int8 student on the test split, and the
    /// inference time per sensor of int8 (SIMD and reference kernels) against the float student.
    static func figures(_ r: DistillationPipeline.Result, test: [TrainingSample]) -> Figures {
        let norm = r.model.normalisation
        let testN = test.map { s -> TrainingSample in var n = s; n.features = norm.apply(s.features); return n }
        let classes = r.model.schema.classes.count
        let teacher = DistillationPipeline.evaluate(r.teacher, testN, classes: classes)
        let student = DistillationPipeline.evaluate(r.student, testN, classes: classes)
        let int8 = DistillationPipeline.evaluate(r.model, test)
        func pct(_ x: Double) -> String { String(format: "%.2f %%", x * 100) }
        var lines = ["test split (\(test.count) samples, by run seed), diagnosis head:",
                     "  model            accuracy   macro-F1",
                     "  teacher (float)  \(pct(teacher.accuracy))    \(pct(teacher.macroF1))",
                     "  student (float)  \(pct(student.accuracy))    \(pct(student.macroF1))",
                     "  student (int8)   \(pct(int8.accuracy))    \(pct(int8.macroF1))",
                     "  int8 vs float student: \(String(format: "%+.2f", (int8.accuracy - student.accuracy) * 100)) points (target within 1); "
                         + "student vs teacher: \(String(format: "%+.2f", (student.accuracy - teacher.accuracy) * 100)) points (target within 2)"]
        lines.append("  per-class recall (int8): " + zip(r.model.schema.classes, int8.perClassRecall).map { "\($0) \(pct($1))" }.joined(separator: ", "))

        let size = ModelFile.encode(r.model).count
        lines.append("inference time: vigil-bench model --file THIS_FILE (a benchmark, not part of training)")
        lines.append("model file: \(size) bytes (\(r.model.network.parameterBytes) bytes of int8 weights, scales and biases)")
        let json = String(format: "{\"teacher_accuracy\":%.4f,\"student_accuracy\":%.4f,\"int8_accuracy\":%.4f,\"int8_macro_f1\":%.4f,\"test_samples\":%d,\"bytes\":%d}",
                          teacher.accuracy, student.accuracy, int8.accuracy, int8.macroF1, test.count, size)
        return Figures(text: lines.joined(separator: "\n"), json: json)
    }
}

private func seconds(since t: ContinuousClock.Instant) -> String {
    let d = ContinuousClock.now - t
    return String(format: "%.1f s", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
}
