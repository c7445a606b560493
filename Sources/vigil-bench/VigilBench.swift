import ArgumentParser

/// `vigil-bench`: Vigil's benchmarks, in their own executable so the controller that runs a plant
/// carries neither the malloc interposer nor the C reference loops. Each prints its reference,
/// measured in the same run, and the ratio to it; none asserts anything.
@main
struct VigilBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil-bench",
        abstract: "Vigil's benchmarks: the Modbus read path, the scan cycle, the policy model, the config check, each against a reference measured in the same run.",
        subcommands: [BenchCommand.self, ModelBenchCommand.self, TEPBenchCommand.self, ConfigBenchCommand.self, MQTTTransportBenchCommand.self, MQTTBenchCommand.self],
        defaultSubcommand: BenchCommand.self
    )
}
