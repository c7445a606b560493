import ArgumentParser
import Foundation
import Journal
import Kernel
import Policy
import Runtime
import Monitor
import Scenarios
import CommandSupport

/// Where a controller's models live: `--journal` (the registry) and `--models` (the files, by
/// default a `models` directory beside the journal).
struct ModelLocation: ParsableArguments {
    @Option(help: ArgumentHelp("The controller's journal (its model registry).", valueName: "FILE"))
    var journal = "vigil-journal.sqlite"

    @Option(help: ArgumentHelp("Directory of the model files (default: models/ beside the journal).", valueName: "DIR"))
    var models: String?

    var modelDirectory: String {
        if let models { return models }
        let dir = (journal as NSString).deletingLastPathComponent
        return (dir.isEmpty ? "." : dir) + "/models"
    }

    func store() throws -> ModelStore {
        do {
            return try ModelStore(directory: modelDirectory, journal: Journal(path: journal), expectedFeatures: nil)
        } catch let error as JournalError {
            throw ValidationError("cannot open the model registry: \(error)")
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

/// `vigil model info [VERSION]`: the deployed (or given) model — schema, sizes, lineage, figures.
struct ModelInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show the deployed model (or VERSION): schema, size, lineage and validation figures.")

    @OptionGroup var location: ModelLocation
    @Option(help: "Read a model file directly instead of the registry.")
    var file: String?
    @Argument(help: "A registered version (default: the deployed one).")
    var version: Int?
    @Option(help: ArgumentHelp("The plant file, for the model watch's margin and window in the live figures.", valueName: "FILE"))
    var config: String?

    func run() throws {
        let model: PolicyModel
        var record: ModelVersion?
        if let file {
            do { model = try ModelFile.decode(DurableFile.read(file)) } catch { throw ValidationError("\(file): \(error)") }
        } else {
            let store = try location.store()
            do {
                let loaded = try version.map { try store.load(version: $0) } ?? store.loadDeployed()
                model = loaded.model
                record = loaded.record
            } catch ModelStoreError.noDeployedModel where version == nil {
                // A fresh checkout: nothing is registered until `vigil run` installs the shipped model.
                let shipped: PolicyModel
                do { shipped = try ModelFile.decode(DurableFile.read(shippedPolicyModelPath)) } catch {
                    printToStandardError("vigil model info: no model is deployed in \(location.journal), and the shipped model "
                                         + "\(shippedPolicyModelPath) cannot be read: \(error)")
                    throw ExitCode(1)
                }
                print("no model is deployed in \(location.journal) yet; `vigil run` installs the shipped model on its first start:")
                print("shipped \(shippedPolicyModelPath)")
                print(Self.describe(shipped, record: nil))
                return
            } catch {
                // A real failure (not a mistyped command): no usage text.
                printToStandardError("vigil model info: \(error)")
                throw ExitCode(1)
            }
        }
        print(Self.describe(model, record: record))
        if file == nil {
            let journal = try location.store().journal
            let settings = try config.map { try loadPlantOrExit(path: $0, boardPath: nil).plant.monitor.policyModel }
            let figures: [ModelWatchFigures]
            do { figures = try journal.modelWatchFigures() } catch {
                printToStandardError("vigil model info: \(error)")
                throw ExitCode(1)
            }
            print(ModelWatchText.lines(figures, deployed: (try? journal.deployedModel())?.version, settings: settings).joined(separator: "\n"))
        }
    }

    static func describe(_ model: PolicyModel, record: ModelVersion?) -> String {
        var lines: [String] = []
        if let record {
            lines.append("model v\(record.version)\(record.deployed ? " (deployed)" : "")  parent \(record.parentVersion.map { "v\($0)" } ?? "none")  file \(record.filePath)")
            lines.append("sha256 \(record.sha256)")
            if !record.trainingSummary.isEmpty { lines.append("training: \(record.trainingSummary)") }
            if record.validationJSON != "{}" { lines.append("validation: \(record.validationJSON)") }
            if !record.note.isEmpty { lines.append("note: \(record.note)") }
        } else {
            lines.append("model v\(model.lineage.version)  parent v\(model.lineage.parent)")
        }
        let widths = [model.network.inputCount] + model.network.layers.map(\.outputs)
        lines.append("network: int8 MLP \(widths.map(String.init).joined(separator: " → ")), \(model.network.parameterBytes) bytes of parameters")
        lines.append("features (\(model.schema.features.count)): \(model.schema.features.joined(separator: ", "))")
        lines.append("diagnoses: \(model.schema.classes.joined(separator: ", "))")
        lines.append("actions: \(model.schema.actions.joined(separator: ", "))")
        return lines.joined(separator: "\n")
    }
}

/// `vigil model history`: every registered version, newest first.
struct ModelHistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "List every registered model version, newest first.")

    @OptionGroup var location: ModelLocation

    func run() throws {
        let history: [ModelVersion]
        do { history = try location.store().journal.modelHistory() } catch { throw ValidationError("\(error)") }
        if history.isEmpty {
            print("no model registered (the shipped model is installed at the controller's first start)")
            return
        }
        for r in history {
            let when = Date(timeIntervalSince1970: Double(r.createdWallNanoseconds) / 1e9)
            let parent = r.parentVersion.map { "v\($0)" } ?? "—"
            print("\(r.deployed ? "*" : " ") v\(r.version)  parent \(parent)  \(ISO8601DateFormatter().string(from: when))  \(r.trainingSummary)\(r.note.isEmpty ? "" : "  (\(r.note))")"
                  + (r.damaged.map { "  DAMAGED: \($0)" } ?? ""))
        }
    }
}

/// `vigil model rollback VERSION`: deploy an earlier version after checking it loads.
struct ModelRollbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rollback", abstract: "Deploy an earlier model version (it is loaded and checked first).",
                                                    discussion: "A running controller picks the change up at its next model check and swaps at a cycle boundary.")

    @OptionGroup var location: ModelLocation
    @Argument(help: "The version to deploy.")
    var version: Int

    func run() throws {
        do {
            let store = try location.store()
            let user = ProcessInfo.processInfo.environment["USER"] ?? "?"
            _ = try store.rollback(to: version, audit: AuditEntry(wallNanoseconds: Int64(Date().timeIntervalSince1970 * 1e9), source: "cli:\(user)",
                                                                  command: "vigil model rollback \(version)", result: "ok: model v\(version) deployed"))
            print("model v\(version) deployed")
        } catch {
            throw ValidationError("\(error)")
        }
    }
}

/// `vigil model feedback`: an operator's verdict on an event, stored durably, then a validated update.
struct ModelFeedbackCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "feedback", abstract: "Teach the policy model: confirm, call a false alarm or correct the diagnosis of an event.",
        discussion: """
        EVENT is a journal event id (a detection, diagnosis, escalation or model verdict about a sensor, journalled by a \
        controller running the policy model: it keeps the model's feature samples of the event). The feedback and its \
        labelled samples are stored durably first; then the incremental learner runs over all stored feedback, and the \
        candidate is deployed only if the validation gate passes (corrections learned, golden-set accuracy and every \
        class's recall within the margin). A running controller on the same journal swaps the new version in within a \
        second. Examples:
          vigil model feedback --journal vigil-journal.sqlite 812 false-alarm
          vigil model feedback --journal vigil-journal.sqlite 815 class drift --note "summer drift on TT-310"
          vigil model feedback --journal vigil-journal.sqlite 901 confirm --rate bad
        """)

    @OptionGroup var location: ModelLocation
    @Option(help: ArgumentHelp("The learning set (replay, golden and calibration samples).", valueName: "FILE"))
    var learningSet = LearningSetFile.path(forModel: shippedPolicyModelPath)
    @Argument(help: "The journal event the feedback is about.")
    var event: Int64
    @Argument(help: "confirm, false-alarm, or class followed by the right class.")
    var verdict: [String]
    @Option(help: "Rate the model's action on the event: good or bad.")
    var rate: String?
    @Option(help: "A note kept with the feedback.")
    var note = ""
    @Option(name: .customLong("operator"), help: "Who gives the feedback (default: $USER).")
    var operatorName = ProcessInfo.processInfo.environment["USER"] ?? "operator"
    @Flag(help: "Store the feedback only; do not run an update now.")
    var noUpdate = false

    func parsedVerdict() throws -> FeedbackVerdictInput {
        switch verdict.first {
        case "confirm" where verdict.count == 1: return .confirm
        case "false-alarm" where verdict.count == 1: return .falseAlarm
        case "class" where verdict.count == 2: return .correct(verdict[1])
        default: throw ValidationError("the verdict is `confirm`, `false-alarm` or `class CLASS`, got \"\(verdict.joined(separator: " "))\"")
        }
    }

    func run() throws {
        var rating: ActionRating?
        if let rate {
            guard let r = ActionRating(rawValue: rate) else { throw ValidationError("--rate is good or bad, got \"\(rate)\"") }
            rating = r
        }
        let input = FeedbackInput(verdict: try parsedVerdict(), rating: rating, note: note, operatorName: operatorName,
                                  wallNanoseconds: Int64(Date().timeIntervalSince1970 * 1e9))
        let store: ModelStore
        do {
            store = try ModelStore(directory: location.modelDirectory, journal: Journal(path: location.journal), expectedFeatures: SensorFeatures.names)
        } catch {
            throw ValidationError("cannot open the model registry: \(error)")
        }
        let outcome = Self.teach(store: store, learningSet: learningSet, event: event, input: input, update: !noUpdate)
        switch outcome {
        case .success(let lines): for line in lines { print(line) }
        case .failure(let error):
            printToStandardError("vigil model feedback: \(error)")
            throw ExitCode(1)
        }
    }

    /// Records the feedback and (with `update`) runs the learner; the lines to print, or why not.
    static func teach(store: ModelStore, learningSet: String, event: Int64, input: FeedbackInput, update: Bool) -> Result<[String], PolicyLearningError> {
        do throws(PolicyLearningError) {
            let learning = try PolicyLearning(store: store, learningSetPath: learningSet)
            let audit = AuditEntry(wallNanoseconds: input.wallNanoseconds, source: "cli:\(input.operatorName)",
                                   command: "vigil model feedback \(event) \(input.verdict)",
                                   result: "ok: feedback on event \(event) stored (by \(input.operatorName))")
            let receipt = try learning.recordFeedback(event: event, input, audit: audit)
            let said = receipt.modelSaid.map { "the model said \($0)" } ?? "no model verdict recorded"
            var lines = ["feedback #\(receipt.feedbackID) recorded: \(receipt.samples) samples of \(receipt.sensor) labelled \(receipt.label) "
                         + "(\(said); filed as \(receipt.bucket.rawValue))"]
            if update { lines.append(try learning.update(wallNanoseconds: input.wallNanoseconds).summary) }
            return .success(lines)
        } catch {
            return .failure(error)
        }
    }
}

/// `vigil model eval`: a model's figures on a fault campaign it was not trained on.
struct ModelEvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Score a model (a file, or a registered version) on a held-out fault campaign: accuracy, macro-F1, per-class recall, confusion matrix, action accuracy.",
        discussion: "The campaign is `vigil model dataset`'s with other seeds (default 90000…, far from training's 2026…); its test and validation splits are scored.")

    @Option(help: ArgumentHelp("The model file (default: the shipped model).", valueName: "FILE"))
    var file = shippedPolicyModelPath
    @Option(help: ArgumentHelp("Score a registered version of this journal instead of --file.", valueName: "FILE"))
    var journal: String?
    @Option(help: "With --journal: the version (default: the deployed one).")
    var version: Int?
    @Option(help: "Campaign runs per fault kind.")
    var runs = 20
    @Option(help: "Seed of the campaign's first run.")
    var seed: UInt64 = 90_000

    func run() throws {
        let model: PolicyModel
        if let journal {
            let location = try ModelLocation.parse(["--journal", journal])
            let store = try location.store()
            do { model = try (version.map { try store.load(version: $0) } ?? store.loadDeployed()).model } catch { throw ValidationError("\(error)") }
        } else {
            do { model = try ModelFile.decode(DurableFile.read(file)) } catch { throw ValidationError("\(file): \(error)") }
        }
        let d = try DatasetCampaign.generate(options: DatasetOptions(runsPerKind: runs, baseSeed: seed))
        let samples = d.test + d.validation
        print(Self.report(model, samples, title: "model v\(model.lineage.version) on the campaign of \(runs) runs per kind from seed \(seed) (\(samples.count) samples)"))
    }

    static func report(_ model: PolicyModel, _ samples: [TrainingSample], title: String) -> String {
        let classes = model.schema.classes, n = classes.count
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: n), count: n)
        var actionRight = 0, actionTotal = 0
        let scratch = model.makeScratch()
        var predicted: [Int] = []
        for s in samples {
            let d = s.features.withUnsafeBufferPointer { model.decide($0, scratch: scratch) }
            predicted.append(d.diagnosis)
            confusion[s.label][d.diagnosis] += 1
            if let a = s.action { actionTotal += 1; if a == d.action { actionRight += 1 } }
        }
        let e = Evaluation(predicted: predicted, truth: samples.map(\.label), classCount: n)
        var lines = [title,
                     String(format: "accuracy %.2f %%, macro-F1 %.2f %%, action accuracy %.2f %%", e.accuracy * 100, e.macroF1 * 100,
                            Double(actionRight) / Double(max(actionTotal, 1)) * 100),
                     "per-class recall: " + zip(classes, e.perClassRecall).map { String(format: "%@ %.1f %%", $0, $1 * 100) }.joined(separator: ", "),
                     "confusion (rows: truth, columns: model)",
                     "              " + classes.map { $0.padding(toLength: 9, withPad: " ", startingAt: 0) }.joined()]
        for (i, row) in confusion.enumerated() {
            lines.append(classes[i].padding(toLength: 14, withPad: " ", startingAt: 0) + row.map { String($0).padding(toLength: 9, withPad: " ", startingAt: 0) }.joined())
        }
        return lines.joined(separator: "\n")
    }
}
