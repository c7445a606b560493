import Monitor
import Policy
import ArgumentParser
import Foundation
import Logging
import VigilCore
import Fieldbus
import Journal
import Runtime
import Console
import HIL
import CommandSupport
import EdgeNode

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

    @Option(name: .long, help: ArgumentHelp("Directory of the shipped policy model (default.vglm) and its learning set (default: <prefix>/share/vigil/models beside the executable's bin/, or a source checkout's models/).", valueName: "DIR"))
    var shippedModels: String?

    func validate() throws {
        if let console { _ = try ConsoleChoice(console) }
        if let shippedModels, !FileManager.default.isReadableFile(atPath: locateShippedPolicyModel(explicitDirectory: shippedModels)) {
            throw ValidationError("--shipped-models \(shippedModels): no readable \(ShippedModelSearch.modelFileName) in it.")
        }
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
        let shipped = locateShippedPolicyModel(explicitDirectory: shippedModels)
        logger.info("shipped policy model: \(shipped)")
        let controller = try startController(plant: loaded.plant, board: loaded.board, gpio: gpio, journalPath: journal, logger: logger,
                                             shippedModel: shipped)
        var consoleServer: ConsoleServer?
        var edgeNode: EdgeNodeService?
        var metrics: MetricsEndpoint?
        // Outputs safe first: a console busy with a command, the learner, a broker or a scrape never delays them.
        defer { controller.stop(); edgeNode?.stop(); consoleServer?.stop(); metrics?.stop() }
        if loaded.plant.metrics.enabled { metrics = startMetrics(loaded.plant.metrics, controller: controller, logger: logger) }
        let consoleChoice = try console.map(ConsoleChoice.init) ?? (loaded.plant.console == nil ? .none : .config)
        consoleServer = try startConsole(consoleChoice, controller: controller, board: loaded.board, logger: logger)
        if let mqtt = loaded.plant.mqtt { edgeNode = try startEdgeNode(mqtt, controller: controller, plantFile: config, logger: logger,
                                                                              shippedModel: shipped) }
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
/// the registry's deployed one (the shipped file installed into an empty registry first); when its
/// file is damaged, the newest intact version of its lineage takes its place and a system alarm
/// says so; when none loads, the controller runs on its rules alone and says why. With a model,
/// the policy service follows the registry and, when the shipped learning set is there, learns
/// from operator feedback.
func startController(plant: PlantConfig, board: BoardConfig?, gpio: GPIOPlant?, journalPath: String, logger: Logger,
                     modelDirectory: String? = nil, shippedModel: String? = shippedPolicyModelPath) throws -> Controller {
    do {
        let journal = try Journal(path: journalPath)
        let policy = loadPolicyModel(journal: journal, journalPath: journalPath, directory: modelDirectory, shipped: shippedModel, logger: logger)
        let loaded = policy.loaded
        let controller = try Controller(plant: plant, board: board, gpio: gpio, journal: journal, logger: logger, policyModel: loaded?.model)
        controller.setModelRegistry(policy.store, absence: policy.absence)
        if let alarm = loaded?.alarmText ?? (policy.damaged ? policy.absence : nil) {
            controller.systemAlarms.raise(key: "policy-model", text: alarm, wallNanoseconds: Int64(Date().timeIntervalSince1970 * 1e9))
        }
        try controller.start()
        if let loaded, let store = policy.store {
            var learning: PolicyLearning?
            if let shippedModel {
                let setPath = LearningSetFile.path(forModel: shippedModel)
                do {
                    learning = try PolicyLearning(store: store, learningSetPath: setPath)
                } catch {
                    logger.warning("policy model: not learning from feedback: \(error)")
                }
            }
            try controller.startPolicyService(store: store, learning: learning, runningVersion: loaded.record.version)
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

/// What `loadPolicyModel` found: the registry (nil only when it cannot be opened), the model to
/// run (nil: rules alone) and why there is none, and whether a damaged file is the reason.
struct PolicyStartup {
    var store: ModelStore?
    var loaded: StartupModel?
    var absence: String?
    var damaged = false
}

/// The policy model that ships with Vigil, installed into an empty registry on the first start:
/// under the executable's install prefix, or the source checkout it was built in (never the
/// current directory). `--shipped-models DIR` names another directory.
var shippedPolicyModelPath: String { locateShippedPolicyModel(explicitDirectory: nil) }

/// The shipped model in `explicitDirectory`, or where `ShippedModelSearch` finds it beside this executable.
func locateShippedPolicyModel(explicitDirectory: String?) -> String {
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return ShippedModelSearch.modelPath(explicit: explicitDirectory, executablePath: executable) {
        FileManager.default.isReadableFile(atPath: $0)
    } ?? "/usr/share/vigil/models/" + ShippedModelSearch.modelFileName
}

/// The models directory of a journal: `--models`, or `models/` beside the journal.
func modelDirectory(journalPath: String, directory: String?) -> String {
    directory ?? {
        let d = (journalPath as NSString).deletingLastPathComponent
        return (d.isEmpty ? "." : d) + "/models"
    }()
}

/// The deployed policy model (or the newest intact version of its lineage when its file is
/// damaged) with its store; logged either way.
func loadPolicyModel(journal: Journal, journalPath: String, directory: String?, shipped: String?, logger: Logger) -> PolicyStartup {
    let store: ModelStore
    do {
        store = try ModelStore(directory: modelDirectory(journalPath: journalPath, directory: directory), journal: journal,
                               expectedFeatures: SensorFeatures.names)
    } catch {
        logger.warning("policy model not loaded, running on the monitor's rules alone: \(error)")
        return PolicyStartup(store: nil, loaded: nil, absence: "the model registry cannot be opened: \(error)")
    }
    let now = Int64(Date().timeIntervalSince1970 * 1e9)
    do {
        if let shipped, FileManager.default.fileExists(atPath: shipped), try store.installIfEmpty(shippedModelAt: shipped, wallNanoseconds: now) {
            logger.notice("policy model: installed the shipped model \(shipped) as v1")
        }
        let loaded = try store.loadDeployedOrFallback(wallNanoseconds: now)
        if let alarm = loaded.alarmText {
            logger.critical("policy model: \(alarm)")
        } else {
            logger.notice("policy model v\(loaded.record.version) loaded (it diagnoses every sensor each cycle; rules and interlocks decide)")
        }
        return PolicyStartup(store: store, loaded: loaded)
    } catch ModelStoreError.noDeployedModel {
        logger.notice("policy model: none deployed; running on the monitor's rules alone")
        return PolicyStartup(store: store, loaded: nil, absence: "no model is deployed in the registry")
    } catch ModelStoreError.noIntactVersion(let damaged) {
        let why = "no version of the deployed lineage loads (" + damaged.map { "v\($0.version): \($0.reason)" }.joined(separator: "; ")
            + "); running on the monitor's rules alone. Restore a file, or roll back to another version (engineer) and restart"
        logger.critical("policy model: \(why)")
        return PolicyStartup(store: store, loaded: nil, absence: why, damaged: true)
    } catch {
        logger.warning("policy model not loaded, running on the monitor's rules alone: \(error)")
        return PolicyStartup(store: store, loaded: nil, absence: "the model did not load: \(error)")
    }
}
