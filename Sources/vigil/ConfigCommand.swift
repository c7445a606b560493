import ArgumentParser
import Config
import Monitor
import CommandSupport

/// `vigil config …`: work with board and plant files.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Check board and plant configuration files.",
        subcommands: [Check.self]
    )

    /// `vigil config check FILE…`
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode and validate configuration files.",
            discussion: """
            Prints every problem to stderr as FILE:LINE:COLUMN: KEY: found …, expected …, and \
            "OK: FILE" to stdout for each clean file. Exits with status 1 if any problem was found. \
            A plant file's board (its board: key, or --board) is checked with it; files in a boards/ \
            folder or with gpio_chips/serial_ports/cycle_cpu keys are checked as boards.
            """
        )

        @Argument(help: "Plant or board files.")
        var files: [String]

        @Option(name: .long, help: ArgumentHelp("Board file to use instead of the plant's board: key.", valueName: "FILE"))
        var board: String?

        @Flag(name: .long, help: "After each clean plant file, print its effective intervention policy (monitor.policy and monitor.reasons on top of Vigil's defaults; * marks what the file changed).")
        var showPolicy = false

        func run() throws {
            let report = ConfigChecker.report(paths: files, boardPath: board)
            for line in report.errors { printToStandardError(line) }
            for line in report.output { print(line) }
            if showPolicy {
                for path in files where report.output.contains("OK: \(path)") {
                    guard let plant = try? ConfigLoader.loadPlant(path: path, boardPath: board).plant else { continue } // a board file
                    print("intervention policy of \(path) (cause, severity, decision: finding kinds; * = not Vigil's default):")
                    for line in InterventionPolicy(settings: plant.monitor).tableLines() { print("  " + line) }
                    if !plant.monitor.sensorOverrides.isEmpty {
                        print("  detector overrides for: " + plant.monitor.sensorOverrides.keys.sorted().joined(separator: ", "))
                    }
                }
            }
            if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
        }
    }
}
