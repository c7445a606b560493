import ArgumentParser
import Foundation
import Scenarios
import CommandSupport

/// `vigil model`: the policy model's data, training and registry (docs/POLICY-MODEL.md).
/// Each action is a subcommand type nested here; add new ones to `subcommands`.
struct ModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "The policy model: generate its training data, train, inspect, roll back.",
        subcommands: [Dataset.self, ModelTrainCommand.self, ModelInfoCommand.self, ModelHistoryCommand.self, ModelRollbackCommand.self, ModelFeedbackCommand.self, ModelEvalCommand.self]
    )

    struct Dataset: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dataset",
            abstract: "Generate the labelled dataset from fault campaigns: per-sensor feature vectors, diagnosis and action.",
            discussion: """
            Runs the in-process fault campaign of `vigil hil score` (same plant, faults and seeds), where the \
            simulator knows the truth, and samples every sensor's monitor features after each fault's onset. \
            Labels and actions follow the rules at the top of Sources/Scenarios/DatasetCampaign.swift. Runs are \
            split by seed (seed mod 10: 0–6 train, 7 validation, 8–9 test). Deterministic: the same options \
            give the same file. Prints the samples per split, class and action.
            """
        )

        @Option(name: .long, help: "Runs per fault kind (and of process excursions); run seeds are --seed, --seed + 1, ….")
        var runs: Int = DatasetOptions().runsPerKind

        @Option(name: .long, help: "Seed of the first run.")
        var seed: UInt64 = DatasetOptions().baseSeed

        @Option(name: .long, help: "Cycles sampled after each fault's onset.")
        var cycles: Int = DatasetOptions().cyclesAfterOnset

        @Option(name: .long, help: "Sample every Nth cycle after the onset.")
        var stride: Int = DatasetOptions().stride

        @Option(name: .customLong("healthy-share"), help: "Share of the healthy samples kept (0…1).")
        var healthyShare: Double = DatasetOptions().healthyShare

        @Option(name: .long, help: ArgumentHelp("Write the samples as CSV (split,run_seed,sensor,label,action,<features…>).", valueName: "FILE.csv"))
        var out: String?

        func validate() throws {
            if runs < 1 { throw ValidationError("--runs must be at least 1") }
            if cycles < 1 { throw ValidationError("--cycles must be at least 1") }
            if stride < 1 { throw ValidationError("--stride must be at least 1") }
            if !(0...1).contains(healthyShare) { throw ValidationError("--healthy-share must be between 0 and 1") }
        }

        func run() throws {
            let options = DatasetOptions(runsPerKind: runs, cyclesAfterOnset: cycles, stride: stride,
                                         healthyShare: healthyShare, baseSeed: seed)
            let start = Date()
            let dataset = try DatasetCampaign.generate(options: options)
            let seconds = Date().timeIntervalSince(start)
            let last = seed &+ UInt64(runs - 1)
            print("vigil model dataset: \(dataset.runs.count) runs (\(runs) per kind × \(options.kinds.count) kinds, seeds \(seed)…\(last)), "
                  + "\(cycles) cycles after onset, every \(stride)th sampled, healthy share \(healthyShare); "
                  + "\(dataset.featureNames.count) features")
            print("")
            print(DatasetCampaign.table(dataset))
            print(String(format: "(generated in %.1f s)", seconds))
            if let out {
                do {
                    try Data(DatasetCampaign.csv(dataset).utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
                    print("samples: \(out)")
                } catch {
                    printToStandardError("vigil model dataset: cannot write \(out): \(error)")
                    throw ExitCode(1)
                }
            }
        }
    }
}
