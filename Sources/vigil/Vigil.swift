import ArgumentParser

@main
struct Vigil: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vigil",
        abstract: "Vigil: a self-healing edge controller for Modbus and GPIO plants.",
        subcommands: [
            DemoCommand.self,
            RunCommand.self,
            PollCommand.self,
            SimCommand.self,
            ConfigCommand.self,
            HILCommand.self,
            ReplayCommand.self,
            ModelCommand.self,
            FleetCommand.self,
            ConsoleCommandGroup.self,
        ]
    )
}
