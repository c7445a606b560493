import Monitor
import Policy
import ArgumentParser
import Foundation
import Logging
import VigilCore
import Fieldbus
import Journal
import Runtime
import HIL
import CommandSupport

/// `vigil run`: the controller against real hardware.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the controller: scan cycle, control, interlocks, safe state, journal.",
        discussion: """
        Logs go to stderr. SIGTERM or SIGINT stops in order: outputs to their safe values, journal \
        flushed. Under systemd (Type=notify) it sends READY=1 after the first good cycle and \
        WATCHDOG=1 while the cycle makes progress; see configs/systemd/vigil.service.
        """
    )

    @Option(name: .long, help: ArgumentHelp("Plant configuration file.", valueName: "FILE"))
    var config: String

    @Option(name: .long, help: ArgumentHelp("Board file to use instead of the config's board: key.", valueName: "FILE"))
    var board: String?

    @Option(name: .long, help: ArgumentHelp("Journal database (SQLite, WAL).", valueName: "FILE"))
    var journal = "vigil-journal.sqlite"

    @Option(name: .long, help: ArgumentHelp("Stop after this many seconds (default: until SIGTERM/SIGINT).", valueName: "SECONDS"))
    var duration: Double?

    @Flag(name: .long, help: "Use mock GPIO chips shaped like the board instead of /dev/gpiochip* (commissioning and tests without GPIO access).")
    var mockGPIO = false

    @Option(name: .long, help: ArgumentHelp("Operator console: config (the plant file's console: port; the default when it has one), none, pty, stdio or a serial device path.", valueName: "WHERE"))
    var console: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func validate() throws {
        if let console { _ = try ConsoleChoice(console) }
    }

    func run() throws {
        let logger = makeLogger("vigil", level: Logger.Level(rawValue: logLevel) ?? .info)
        let loaded = try loadPlantOrExit(path: config, boardPath: board)
        Shutdown.install()
        let gpioBoard = loaded.board.map { board in
            mockGPIO ? SimulatedGPIO.board(for: board, boardFile: loaded.boardFile, plant: loaded.plant, clock: SystemMonotonicClock()).0
                     : GPIOBoard.libgpiod(config: board, boardFile: loaded.boardFile)
        }
        if mockGPIO { logger.warning("GPIO: mock chips, no real lines are read or driven") }
        let gpio = try openGPIO(plant: loaded.plant, board: gpioBoard, logger: logger)
        let controller = try startController(plant: loaded.plant, board: loaded.board, gpio: gpio, journalPath: journal, logger: logger)
        defer { controller.stop() }
        let consoleChoice = try console.map(ConsoleChoice.init) ?? (loaded.plant.console == nil ? .none : .config)
        let consoleServer = try startConsole(consoleChoice, controller: controller, board: loaded.board, logger: logger)
        defer { consoleServer?.stop() }
        if let path = consoleServer?.ptyPath { print("vigil run: console on \(path)"); fflush(nil) }
        if !controller.waitUntilReady(timeoutNanoseconds: 30_000_000_000) {
            logger.warning("no good cycle after 30 s: outputs stay in start-up safe state until every interlock input and control input reads good")
        }
        Shutdown.sleep(nanoseconds: duration.map { UInt64($0 * 1e9) })
        logger.info(Shutdown.isRequested ? "stop requested: shutting down in order" : "duration reached: shutting down in order")
    }
}

/// Opens the plant's GPIO lines; a plant without GPIO gets nil. A line that cannot be opened stops
/// the start with a message naming chip, line and board file.
func openGPIO(plant: PlantConfig, board: GPIOBoard?, logger: Logger) throws -> GPIOPlant? {
    let usesGPIO = plant.sensors.contains { if case .gpio = $0.source { true } else { false } }
        || plant.outputs.contains { if case .gpio = $0.target { true } else { false } }
    guard usesGPIO else { return nil }
    guard let board else {
        logger.critical("the plant uses GPIO lines but has no board file")
        throw ExitCode(1)
    }
    do {
        return try GPIOPlant(config: plant, board: board, clock: SystemMonotonicClock())
    } catch {
        logger.critical("cannot open GPIO: \(error)")
        throw ExitCode(1)
    }
}

/// Opens the journal and starts a controller, or exits with a clear message. The policy model is
/// the registry's deployed one (the shipped file installed into an empty registry first); a model
/// that does not load is logged and the controller runs on its rules alone. With a model, the
/// policy service follows the registry and, when the shipped learning set is there, learns from
/// operator feedback.
func startController(plant: PlantConfig, board: BoardConfig?, gpio: GPIOPlant?, journalPath: String, logger: Logger,
                     modelDirectory: String? = nil, shippedModel: String? = shippedPolicyModelPath) throws -> Controller {
    do {
        let journal = try Journal(path: journalPath)
        let loaded = loadPolicyModel(journal: journal, journalPath: journalPath, directory: modelDirectory, shipped: shippedModel, logger: logger)
        let controller = try Controller(plant: plant, board: board, gpio: gpio, journal: journal, logger: logger, policyModel: loaded?.model)
        try controller.start()
        if let loaded {
            var learning: PolicyLearning?
            if let shippedModel {
                let setPath = LearningSetFile.path(forModel: shippedModel)
                do {
                    learning = try PolicyLearning(store: loaded.store, learningSetPath: setPath)
                } catch {
                    logger.warning("policy model: not learning from feedback: \(error)")
                }
            }
            try controller.startPolicyService(store: loaded.store, learning: learning, runningVersion: loaded.version)
        }
        return controller
    } catch let error as JournalError {
        logger.critical("cannot open journal \(journalPath): \(error)")
        throw ExitCode(1)
    } catch let error as ControllerError {
        logger.critical("cannot start: \(error)")
        throw ExitCode(1)
    }
}

/// The policy model that ships with Vigil, installed into an empty registry on the first start.
let shippedPolicyModelPath = "models/default.vglm"

/// The models directory of a journal: `--models`, or `models/` beside the journal.
func modelDirectory(journalPath: String, directory: String?) -> String {
    directory ?? {
        let d = (journalPath as NSString).deletingLastPathComponent
        return (d.isEmpty ? "." : d) + "/models"
    }()
}

/// The deployed policy model with its store and version, or nil (logged) when there is none or it does not load.
func loadPolicyModel(journal: Journal, journalPath: String, directory: String?, shipped: String?,
                     logger: Logger) -> (model: PolicyModel, store: ModelStore, version: Int)? {
    do {
        let store = try ModelStore(directory: modelDirectory(journalPath: journalPath, directory: directory), journal: journal,
                                   expectedFeatures: SensorFeatures.names)
        if let shipped, FileManager.default.fileExists(atPath: shipped), try store.installIfEmpty(shippedModelAt: shipped, wallNanoseconds: Int64(Date().timeIntervalSince1970 * 1e9)) {
            logger.notice("policy model: installed the shipped model \(shipped) as v1")
        }
        let (model, record) = try store.loadDeployed()
        logger.notice("policy model v\(record.version) loaded (it diagnoses every sensor each cycle; rules and interlocks decide)")
        return (model, store, record.version)
    } catch ModelStoreError.noDeployedModel {
        logger.notice("policy model: none deployed; running on the monitor's rules alone")
    } catch {
        logger.warning("policy model not loaded, running on the monitor's rules alone: \(error)")
    }
    return nil
}
