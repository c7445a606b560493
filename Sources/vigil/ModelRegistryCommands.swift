import ArgumentParser
import Foundation
import Journal
import Policy
import Runtime

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
            } catch {
                throw ValidationError("\(error)")
            }
        }
        print(Self.describe(model, record: record))
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
            print("\(r.deployed ? "*" : " ") v\(r.version)  parent \(parent)  \(ISO8601DateFormatter().string(from: when))  \(r.trainingSummary)\(r.note.isEmpty ? "" : "  (\(r.note))")")
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
            _ = try store.rollback(to: version)
            print("model v\(version) deployed")
        } catch {
            throw ValidationError("\(error)")
        }
    }
}
