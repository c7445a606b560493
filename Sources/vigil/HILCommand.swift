import ArgumentParser
import Foundation
import Config
import Scenarios

/// `vigil hil`: hardware-in-the-loop scenarios against the simulated rig.
struct HILCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hil",
        abstract: "Run HIL scenarios: fault timelines against the real controller on the simulated rig.",
        subcommands: [Run.self]
    )

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run scenario files and judge their expectations.",
            discussion: """
            Each scenario (hil/scenarios/*.yaml, format in hil/README.md) starts the simulated rig and the \
            real controller in-process, applies its faults when the cycle counter reaches them, then judges \
            every expectation against the journal and the sampled traces. Prints one line per expectation \
            and `N passed, M failed`; exits 1 when any expectation fails or a scenario cannot run. Scenarios \
            marked `requires: monitor` are skipped while the controller has no monitor.
            """
        )

        @Argument(help: ArgumentHelp("Scenario files.", valueName: "FILE"))
        var files: [String]

        @Option(name: .long, help: ArgumentHelp("Write NAME.json and NAME.svg for each scenario into this folder.", valueName: "DIR"))
        var report: String?

        func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one scenario file") }
        }

        func run() throws {
            let runner = ScenarioRunner()
            var passed = 0, failed = 0, skipped = 0
            for file in files {
                let scenario: Scenario
                do {
                    scenario = try ScenarioDecoder.load(path: file)
                } catch {
                    for d in error.diagnostics { printToStandardError(d.description) }
                    print("ERROR \(file): \(error.diagnostics.count) problem(s) in the scenario")
                    failed += 1
                    continue
                }
                let result: ScenarioResult
                do {
                    result = try runner.run(scenario)
                } catch {
                    print("ERROR \(scenario.name): \(error)")
                    failed += 1
                    continue
                }
                switch result.status {
                case .skipped:
                    print("SKIP \(scenario.name): \(result.skipReason ?? "skipped")")
                    skipped += 1
                case .passed, .failed:
                    for e in result.expectations { print("\(e.passed ? "PASS" : "FAIL") \(scenario.name): \(e.sentence)") }
                    passed += result.passedCount
                    failed += result.failedCount
                }
                if let report {
                    do {
                        let paths = try ScenarioReport.write(result, scenario: scenario, to: report)
                        print("  report: \(paths.json), \(paths.svg)")
                    } catch {
                        printToStandardError("vigil hil: cannot write the report of \(scenario.name) into \(report): \(error)")
                        failed += 1
                    }
                }
            }
            if skipped > 0 { print("\(skipped) scenario(s) skipped") }
            print("\(passed) passed, \(failed) failed")
            if failed > 0 { throw ExitCode(1) }
        }
    }
}
