import ArgumentParser
import Foundation
import HIL
import VigilCore
#if canImport(Glibc)
import Glibc
import CommandSupport
#endif

/// `vigil sim`: the plant simulator, serving a plant's devices (the default) or writing a recording.
struct SimCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sim",
        abstract: "Serve a plant's simulated devices, or record them to a CSV for vigil replay.",
        subcommands: [SimServeCommand.self, SimRecordCommand.self],
        defaultSubcommand: SimServeCommand.self
    )
}

/// `vigil sim [serve]`: serves every device of a plant from the simulated rig until stopped.
struct SimServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a plant's Modbus devices from simulators (TCP on loopback, RTU on virtual serial lines).",
        discussion: """
            Prints where each simulated device listens and an mbpoll command to read it. RTU devices \
            that share a port share one virtual serial line; clients open its printed pty path. \
            Stops on SIGINT/SIGTERM or after --duration.
            """
    )

    @Option(help: "Plant configuration file (configs/*.yaml).")
    var config: String

    @Option(help: "Stop after this many seconds (default: run until SIGINT/SIGTERM).")
    var duration: Double?

    @Option(help: "Add this to every TCP device's configured port (host becomes 127.0.0.1).")
    var portOffset: Int = 0

    @Flag(help: "Listen on ephemeral TCP ports instead of the configured ones.")
    var ephemeralPorts = false

    @Option(help: "Seed of the simulated noise and of the line fault generators.")
    var seed: UInt64 = 1

    @Flag(help: "Relay RTU bytes at memory speed instead of pacing them at the configured baud.")
    var unpaced = false

    @Option(help: "Clients each simulated TCP device serves at once; further clients are accepted and closed at once (counted, logged once per burst).")
    var maxConnections: Int = TCPServerLimits.defaultMaxConnections

    @Option(help: ArgumentHelp("Write the plant file rewritten to these simulators (their ports and pty paths; the board by absolute path) here, once they listen.", valueName: "FILE"))
    var writeConfig: String?

    func validate() throws {
        if let duration, !(duration > 0) { throw ValidationError("--duration must be a positive number of seconds, got \(duration).") }
        if !(-65535...65535).contains(portOffset) { throw ValidationError("--port-offset must be within -65535...65535, got \(portOffset).") }
        if !(1...100_000).contains(maxConnections) { throw ValidationError("--max-connections must be within 1...100000, got \(maxConnections).") }
    }

    func run() throws {
        let plant = try loadPlantOrExit(path: config, boardPath: nil).plant
        // Installed before the rig starts, so a signal never kills it half-way.
        Shutdown.install()
        let ports: SimulatedRig.PortPlan = ephemeralPorts ? .ephemeral : portOffset != 0 ? .offset(portOffset) : .configured
        let rig = try SimulatedRig(plant: plant, ports: ports, pacing: unpaced ? .unpaced : nil, seed: seed,
                                   tcpLimits: TCPServerLimits(maxConnections: maxConnections),
                                   notice: { printToStandardError("vigil sim: \($0)") })
        defer { rig.stop() }

        if let writeConfig {
            let text: String
            do { text = try String(contentsOfFile: config, encoding: .utf8) } catch {
                printToStandardError("vigil sim: cannot read \(config): \(error)")
                throw ExitCode(1)
            }
            let directory = URL(fileURLWithPath: config).deletingLastPathComponent().path
            do { try rig.configText(rewriting: text, configDirectory: directory).write(toFile: writeConfig, atomically: true, encoding: .utf8) } catch {
                printToStandardError("vigil sim: cannot write \(writeConfig): \(error)")
                throw ExitCode(1)
            }
        }
        print("vigil sim: \(plant.name), \(plant.devices.count) device(s), seed \(seed)")
        for e in rig.endpoints {
            print("  \(e.deviceID.padding(toLength: 12, withPad: " ", startingAt: 0)) \(e.listening)")
            print("  \(String(repeating: " ", count: 12)) \(e.mbpollCommand)")
        }
        print(duration.map { "running for \($0) s (Ctrl-C stops)" } ?? "running until SIGINT/SIGTERM")
        fflush(nil)

        Shutdown.sleep(nanoseconds: duration.map { UInt64($0 * 1e9) })
        var refused = 0
        for d in Array(rig.devices.values) + Array(rig.backupDevices.values) { refused += d.tcpConnections?.refused ?? 0 }
        print("vigil sim: stopping" + (refused > 0 ? " (\(refused) TCP client(s) refused over the limit of \(maxConnections))" : ""))
    }
}
