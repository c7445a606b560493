import ArgumentParser
import Foundation
import Logging
import VigilCore
import Runtime
import Console
import CRuntime
import CommandSupport
import Journal

/// Where `--console` asks the operator console to listen.
enum ConsoleChoice: Equatable {
    /// No console.
    case none
    /// The plant file's `console:` section (its port, baud and framing).
    case config
    /// A new pseudo-terminal; its path is printed for `screen`/`picocom`.
    case pty
    /// This terminal (standard input and output).
    case stdio
    /// A serial device, with the plant file's baud and framing (115200 8N1 without one).
    case device(String)

    init(_ text: String) throws {
        switch text {
        case "none", "off": self = .none
        case "config": self = .config
        case "pty": self = .pty
        case "stdio", "-": self = .stdio
        default:
            guard text.hasPrefix("/") else {
                throw ValidationError("--console takes none, config, pty, stdio or a device path such as /dev/ttyUSB0, got \"\(text)\"")
            }
            self = .device(text)
        }
    }
}

/// Starts the operator console on `choice` for a running controller, or exits with a clear message
/// (a port that cannot be opened at start, a PIN hash that does not parse). The session's PINs,
/// lockout, idle logout and confirmation time come from the plant file's `console:` section;
/// without one only viewing is possible.
func startConsole(_ choice: ConsoleChoice, controller: Controller, board: BoardConfig?, logger: Logger) throws -> ConsoleServer? {
    let plant = controller.plant
    let config = plant.console
    let endpoint: ConsoleEndpoint
    let source: String
    func serial(_ path: String) throws -> ConsoleEndpoint {
        do {
            return .serial(try SerialSettings(path: path, baud: config?.baud ?? 115_200, framing: config?.framing ?? "8N1",
                                              carrierDetect: config?.carrierDetect ?? false))
        } catch {
            logger.critical("console: \(error)")
            throw ExitCode(1)
        }
    }
    switch choice {
    case .none:
        return nil
    case .config:
        guard let config else {
            logger.critical("console: the plant file has no console: section (or pass --console pty|stdio|/dev/…)")
            throw ExitCode(1)
        }
        guard let path = config.devicePath(board: board) else {
            logger.critical("console: port \"\(config.port)\" is neither a device path nor a serial port of the board file")
            throw ExitCode(1)
        }
        endpoint = try serial(path)
        source = "console:\(path)"
    case .device(let path):
        endpoint = try serial(path)
        source = "console:\(path)"
    case .pty:
        endpoint = .pty
        source = "console:pty"
    case .stdio:
        endpoint = .stdio
        source = "console:stdio"
    }

    var pins: [ConsoleRole: PINHash] = [:]
    for (name, text) in config?.pins ?? [:] {
        guard let role = ConsoleRole(name: name) else { continue } // the config checker refuses unknown roles
        do { pins[role] = try PINHash(parsing: text) } catch {
            logger.critical("console: console.pins.\(name): \(error)")
            throw ExitCode(1)
        }
    }
    if pins.isEmpty { logger.warning("console: no PINs configured (console.pins): only viewing is possible") }
    let settings = ConsoleSession.Settings(
        source: source, pins: pins,
        idleLogoutNanoseconds: UInt64(max(0, config?.idleLogoutSeconds ?? 600)) * 1_000_000_000,
        confirmNanoseconds: UInt64(max(1, config?.confirmSeconds ?? 30)) * 1_000_000_000,
        colour: config?.colour ?? false,
        title: "Vigil console — plant \(plant.name)",
        maxShelveSeconds: Int(controller.maximumShelveNanoseconds / 1_000_000_000))
    let loginGuard = LoginGuard(attempts: config?.lockoutAttempts ?? 5,
                                lockoutNanoseconds: UInt64(max(1, config?.lockoutSeconds ?? 300)) * 1_000_000_000,
                                maxLockoutNanoseconds: UInt64(max(1, config?.lockoutMaxSeconds ?? 86_400)) * 1_000_000_000,
                                wallClock: { Int64(Date().timeIntervalSince1970 * 1e9) },
                                store: JournalLoginFailures(journal: controller.journal),
                                log: { [logger] line in logger.warning("\(line)") })
    let backend = ControllerConsole(controller: controller, store: controller.policy?.store)
    let server = ConsoleServer(endpoint: endpoint,
                               makeHandler: { ConsoleSession(backend: backend, settings: settings, loginGuard: loginGuard) },
                               monotonicNow: { vigil_rt_monotonic_ns() },
                               log: { [logger] line in logger.notice("\(line)") })
    // The console is for people, the cycle for the plant: the plant file's port missing at start
    // (adapter not plugged in yet) must not keep the controller from running; it is retried every
    // second. A port named on the command line must open now.
    do { try server.start(waitingForPort: choice == .config) } catch {
        logger.critical("console: \(error)")
        throw ExitCode(1)
    }
    switch endpoint {
    case .pty: logger.notice("console on \(server.ptyPath ?? "?") (attach with: screen \(server.ptyPath ?? "?"))")
    case .serial(let s): logger.notice("console on \(s.path) at \(s.baud) \(s.framing)")
    case .stdio: logger.notice("console on this terminal")
    }
    return server
}

/// `vigil console hash-pin`: the PIN hash for a plant file's `console.pins`.
struct ConsoleCommandGroup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Operator console tools.",
        subcommands: [HashPINCommand.self]
    )
}

struct HashPINCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-pin",
        abstract: "Print the salted PBKDF2-SHA256 hash of a PIN for console.pins in the plant file.",
        discussion: """
        Reads the PIN from standard input (typed twice without echo on a terminal, or one piped line), so it never \
        appears in the shell history or the process list. Refuses PINs that are too easy to guess: fewer than 6 \
        characters, one character repeated, a straight run (123456, 654321), a repeated short pattern (121212), or \
        a role or command name. Paste the printed line into the plant \
        file, e.g. `pins: { engineer: "pbkdf2-sha256$…" }`. The PIN itself is stored nowhere.
        """
    )

    /// One line from the terminal without echo.
    private func readSecret(_ prompt: String) -> String {
        var saved = termios()
        tcgetattr(STDIN_FILENO, &saved)
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        tcsetattr(STDIN_FILENO, TCSANOW, &quiet)
        printToStandardError(prompt, terminator: "")
        let line = readLine(strippingNewline: true)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved)
        printToStandardError("")
        return line ?? ""
    }

    @Option(name: .long, help: "PBKDF2 iterations (at least 10000; more is slower to check and to guess).")
    var iterations = PINHash.defaultIterations

    func run() throws {
        let pin: String
        if isatty(STDIN_FILENO) == 1 {
            let first = readSecret("PIN: ")
            guard readSecret("PIN again: ") == first else {
                printToStandardError("vigil console hash-pin: the two PINs differ; nothing printed")
                throw ExitCode(1)
            }
            pin = first
        } else {
            pin = readLine(strippingNewline: true) ?? ""
        }
        if let weakness = PINPolicy.weakness(of: pin) {
            printToStandardError("vigil console hash-pin: refused: this PIN is too easy to guess (\(weakness)); choose at least "
                                 + "\(PINPolicy.minimumLength) characters that are not one repeated character, a straight run up or down, "
                                 + "a repeated short pattern, or a role or command name; nothing printed")
            throw ExitCode(1)
        }
        do {
            print(try PINHash.make(pin: pin, iterations: iterations).encoded)
        } catch {
            printToStandardError("vigil console hash-pin: \(error)")
            throw ExitCode(1)
        }
    }
}

/// The login guard's records in the journal's `login_failure` table.
struct JournalLoginFailures: LoginFailureStore {
    let journal: Journal

    func loadLoginFailures() throws -> [LoginFailureRecord] {
        try journal.loginFailures().compactMap { row in
            ConsoleRole(name: row.role).map {
                LoginFailureRecord(source: row.source, role: $0, failures: row.failures,
                                   lastFailureWallNanoseconds: row.lastFailureWallNanoseconds,
                                   lockedUntilWallNanoseconds: row.lockedUntilWallNanoseconds)
            }
        }
    }

    func saveLoginFailure(_ r: LoginFailureRecord) throws {
        try journal.recordLoginFailure(LoginFailureRow(source: r.source, role: r.role.description, failures: r.failures,
                                                       lastFailureWallNanoseconds: r.lastFailureWallNanoseconds,
                                                       lockedUntilWallNanoseconds: r.lockedUntilWallNanoseconds))
    }

    func clearLoginFailures(source: String, role: ConsoleRole) throws {
        try journal.clearLoginFailures(source: source, role: role.description)
    }
}
