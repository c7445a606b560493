import ArgumentParser
import Foundation
import Config
import Scenarios
import VigilCore
import CommandSupport

/// `vigil hil`: hardware-in-the-loop scenarios against the simulated rig.
struct HILCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hil",
        abstract: "Run HIL scenarios: fault timelines against the real controller on the simulated rig.",
        subcommands: [Run.self, Soak.self, Score.self]
    )

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Run scenario files and judge their expectations.",
            discussion: """
            Each scenario (hil/scenarios/*.yaml, format in hil/README.md) runs the controller's cycle kernel \
            against the simulated rig, applies its faults at their cycles, then judges every expectation \
            against the events and the sampled traces. By default in virtual time: simulated devices, lines \
            and GPIO with modelled round trips and frame times, manual clocks, as fast as the CPU allows and \
            the same report every run. With --realtime: the real runtime (threads, clock_nanosleep) against \
            libmodbus servers on loopback TCP and ptys, in real time. Prints one line per expectation and \
            `N passed, M failed`; exits 1 when any expectation fails or a scenario cannot run.
            """
        )

        @Argument(help: ArgumentHelp("Scenario files.", valueName: "FILE"))
        var files: [String]

        @Option(name: .long, help: ArgumentHelp("Write NAME.json and NAME.svg for each scenario into this folder.", valueName: "DIR"))
        var report: String?

        @Flag(name: .long, help: "Run in real time over real sockets and ptys (the smoke suite) instead of virtual time.")
        var realtime = false

        func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one scenario file") }
        }

        func run() throws {
            let realtimeRunner = ScenarioRunner(), virtualRunner = VirtualScenarioRunner()
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
                    result = try realtime ? realtimeRunner.run(scenario) : virtualRunner.run(scenario)
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

    struct Score: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "score",
            abstract: "Score the self-healing monitor over generated fault campaigns (precision, recall, F1, delays).",
            discussion: """
            Fast in-process benchmark: drives the monitor directly with synthetic readings (no transports), \
            deterministic by seed. For every fault kind (stuck, outOfRange, timeout, disconnect, bias, drift, \
            spike, noise, dropout) and for process excursions, runs N seeds: warm-up, one fault on a random \
            sensor, then the given cycles. Prints per-kind precision/recall/F1 and detection delays, false \
            failovers over fault-free sensor-cycles, and the 1σ/1000-cycle drift case. A benchmark: exits 0.

            With --config FILE the same campaign runs on that plant through the whole controller (cycle \
            kernel, pollers, links, its virtual rig) in virtual time, so slow polls and shared serial lines \
            are what the monitor sees; it adds start-up safe actions over every seeded start, and failovers, \
            diagnoses and alarms per hour under CRC noise on its serial lines and latency on its TCP devices.
            """
        )

        @Option(name: .long, help: "Runs per fault kind.")
        var seeds: Int = 100

        @Option(name: .long, help: "Cycles run after the fault's onset.")
        var cycles: Int = 1_500

        @Option(name: .customLong("fault-free-cycles"), help: "Fault-free sensor-cycles for the false-failover rate.")
        var faultFreeCycles: Int = 100_000

        @Option(name: .long, help: ArgumentHelp("Write the figures (and every run) as JSON to this file.", valueName: "FILE"))
        var json: String?

        @Option(name: .long, help: ArgumentHelp("Score this plant file through the whole controller instead of the in-process plant.", valueName: "FILE"))
        var config: String?

        @Option(name: .long, help: ArgumentHelp("With --config: run only this kind and seed and print its events (drift:7), or fault-free:SEED, crc-noise, latency.", valueName: "KIND:SEED"))
        var trace: String?

        func validate() throws {
            if seeds < 1 { throw ValidationError("--seeds must be at least 1") }
            if cycles < 10 { throw ValidationError("--cycles must be at least 10") }
            if faultFreeCycles < 0 { throw ValidationError("--fault-free-cycles must not be negative") }
        }

        func run() throws {
            if let config { return try runPlant(config) }
            var options = ScoreOptions()
            options.seeds = seeds
            options.cyclesAfterOnset = cycles
            options.faultFreeSensorCycles = faultFreeCycles
            let start = Date()
            let data = try ScoreCampaign.run(options: options)
            print(ScoreCampaign.table(data))
            print(SectionScoreCampaign.table(try SectionScoreCampaign.run(seeds: seeds, cyclesAfterOnset: cycles)))
            print(String(format: "(%.1f s)", Date().timeIntervalSince(start)))
            if let json { try write(ScoreCampaign.json(data), to: json) }
        }

        func runPlant(_ config: String) throws {
            let loaded: (plant: PlantConfig, board: BoardConfig?)
            do { loaded = try ConfigLoader.loadPlant(path: config) } catch {
                for d in error.diagnostics { printToStandardError(d.description) }
                throw ExitCode(1)
            }
            let boardFile = loaded.plant.board.map { ScenarioDecoder.resolve($0, relativeTo: config) }
            let start = Date()
            let campaign = PlantScoreCampaign(plant: loaded.plant, board: loaded.board, boardFile: boardFile,
                                              options: PlantScoreOptions(seeds: seeds))
            if let trace {
                let parts = trace.split(separator: ":")
                if parts.first == "fault-free" {
                    try campaign.traceFaultFree(seed: parts.count > 1 ? UInt64(parts[1]) ?? 1 : 1) { print($0) }
                    return
                }
                if parts.first == "crc-noise" || parts.first == "latency" {
                    if try !campaign.traceDisturbance(String(parts[0]), log: { print($0) }) { print("\(loaded.plant.name) has nothing for \(parts[0])") }
                    return
                }
                guard parts.count == 2, let kind = ScoreFaultKind(rawValue: String(parts[0])), let seed = UInt64(parts[1]) else {
                    printToStandardError("vigil hil score: --trace takes KIND:SEED, KIND one of " + ScoreFaultKind.allCases.map(\.rawValue).joined(separator: ", "))
                    throw ExitCode(2)
                }
                guard let (outcome, _) = try campaign.runOne(kind: kind, seed: seed, log: { print($0) }) else {
                    print("no sensor of \(loaded.plant.name) takes \(kind.rawValue)")
                    return
                }
                print(outcome)
                return
            }
            let report = try campaign.run()
            print(report.table)
            print(String(format: "(%.1f s)", Date().timeIntervalSince(start)))
            if let json { try write(report.json(), to: json) }
        }

        func write(_ data: Data, to path: String) throws {
            do {
                try data.write(to: URL(fileURLWithPath: path))
                print("figures: \(path)")
            } catch {
                printToStandardError("vigil hil score: cannot write \(path): \(error)")
                throw ExitCode(1)
            }
        }
    }

    struct Soak: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "soak",
            abstract: "A plant-day (or any length) in virtual time with random faults, scored.",
            discussion: """
            Runs the plant's cycle kernel, pollers and links against the simulated rig in virtual time, with \
            faults drawn from the scenario vocabulary (stuck, bias, drift, spike, noise and dropout on \
            sensors; timeouts, exceptions, delays and disconnects on devices; corruption and breaks on serial \
            lines; a dead gateway; process excursions) at random moments, each lasting 30 s to 5 min, with \
            5 to 20 minute fault-free stretches between them. Reports faults injected, detected and \
            isolated, detection delays, false failovers, false alarms, the alarm rate in fault-free stretches \
            (EEMUA 191: at most 1 per 10 minutes), and memory. The same seed gives the same day.
            """
        )

        @Option(name: .long, help: "Plant-hours to run.")
        var hours: Double = 24

        @Option(name: .long, help: "Seed of the fault schedule and the plant's noise.")
        var seed: UInt64 = 1

        @Option(name: .long, help: ArgumentHelp("The plant file.", valueName: "FILE"))
        var config: String = "configs/demo-pump-station.yaml"

        @Option(name: .long, help: ArgumentHelp("Write soak.json (every fault and the figures), soak.txt and events.txt (every event and fault) into this folder.", valueName: "DIR"))
        var report: String?

        func validate() throws {
            if !(hours > 0 && hours <= 24 * 14) { throw ValidationError("--hours must be more than 0 and at most 336 (two weeks)") }
        }

        func run() throws {
            let loaded: (plant: PlantConfig, board: BoardConfig?)
            do { loaded = try ConfigLoader.loadPlant(path: config) } catch {
                for d in error.diagnostics { printToStandardError(d.description) }
                throw ExitCode(1)
            }
            let boardFile = loaded.plant.board.map { ScenarioDecoder.resolve($0, relativeTo: config) }
            let campaign = SoakCampaign(plant: loaded.plant, board: loaded.board, boardFile: boardFile,
                                        options: SoakOptions(hours: hours, seed: seed))
            var events: FileHandle?
            if let dir = report {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                FileManager.default.createFile(atPath: dir + "/events.txt", contents: nil)
                events = FileHandle(forWritingAtPath: dir + "/events.txt")
            }
            var buffered: [String] = []
            let result = try campaign.run(progress: { done in
                printToStandardError(String(format: "vigil hil soak: %.0f of %.0f plant-hours", done, hours))
            }, log: events.map { handle in { line in
                buffered.append(line)
                if buffered.count >= 1000 {
                    handle.write(Data((buffered.joined(separator: "\n") + "\n").utf8))
                    buffered.removeAll(keepingCapacity: true)
                }
            } })
            if let events {
                events.write(Data((buffered.joined(separator: "\n") + (buffered.isEmpty ? "" : "\n")).utf8))
                try events.close()
            }
            print(result.summary)
            if let dir = report {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                try encoder.encode(result).write(to: URL(fileURLWithPath: dir + "/soak.json"))
                try Data((result.summary + "\n").utf8).write(to: URL(fileURLWithPath: dir + "/soak.txt"))
                print("report: \(dir)/soak.json, \(dir)/soak.txt")
            }
        }
    }
}
