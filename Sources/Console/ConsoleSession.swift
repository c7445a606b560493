/// One operator's session: parses lines, checks roles, asks for PINs and confirmations, runs
/// commands on the backend and writes every command with its result to the audit log before the
/// reply is shown. Pure logic over the backend; the clock comes in with every call.
///
/// No PIN reaches the screen or the audit log: the PIN prompt's line and the line right after a
/// login that did not succeed (a PIN typed after the prompt has gone) are secret (echoed as `*`;
/// withheld unless they are a command), `login ROLE PIN` has its PIN masked as it is typed, and
/// every line is audited as `AuditLine`, which only `CommandLanguage.redacted` makes.
public final class ConsoleSession: ConsoleLineHandler {
    public struct Settings: Sendable {
        /// The endpoint for the audit log, e.g. `console:/dev/ttyS0`.
        public var source: String
        /// PIN hash per role; a role without one cannot be logged in to.
        public var pins: [ConsoleRole: PINHash]
        /// Back to viewer after this long without input (0: never).
        public var idleLogoutNanoseconds: UInt64
        /// How long a question waits for `yes`.
        public var confirmNanoseconds: UInt64
        public var colour: Bool
        /// The first line of the banner (plant and controller).
        public var title: String
        /// The alarm manager's shelving limit, for `shelve`'s check and `help`.
        public var maxShelveSeconds: Int

        public init(source: String, pins: [ConsoleRole: PINHash], idleLogoutNanoseconds: UInt64 = 600_000_000_000,
                    confirmNanoseconds: UInt64 = 30_000_000_000, colour: Bool = false, title: String = "Vigil console",
                    maxShelveSeconds: Int = CommandLanguage.defaultMaxShelveSeconds) {
            self.maxShelveSeconds = maxShelveSeconds
            self.source = source
            self.pins = pins
            self.idleLogoutNanoseconds = idleLogoutNanoseconds
            self.confirmNanoseconds = confirmNanoseconds
            self.colour = colour
            self.title = title
        }
    }

    private enum Pending {
        /// `login ROLE` asked for the PIN.
        case pin(ConsoleRole)
        /// A command waits for `yes` until the deadline.
        case confirmation(ConsoleCommand, line: AuditLine, deadline: UInt64)
    }

    private let backend: ConsoleBackend
    private let settings: Settings
    private let guardian: LoginGuard
    public private(set) var role: ConsoleRole = .viewer
    private var pending: Pending?
    /// The PIN prompt went without a right PIN (or a login was refused): the next line may be a PIN.
    private var guardNextLine = false
    private var lastInput: UInt64 = 0
    /// Refused unparseable lines are audited at most this many per window; the rest are counted and
    /// summarised, so a flood of noise does not turn into a flood of journal writes.
    private var auditBudget = 20
    private var auditWindowStart: UInt64 = 0
    private var unauditedRefusals = 0
    private static let auditWindow: UInt64 = 10_000_000_000

    public init(backend: ConsoleBackend, settings: Settings, loginGuard: LoginGuard) {
        self.backend = backend
        self.settings = settings
        self.guardian = loginGuard
    }

    private var actor: ConsoleActor { ConsoleActor(source: settings.source, role: role) }

    // MARK: ConsoleLineHandler

    public func begin(nowNanoseconds now: UInt64) -> String {
        lastInput = now
        return "\(settings.title)\nYou are viewer: viewing needs no login; 'login operator' or 'login engineer' for more. 'help' lists the commands."
    }

    public var prompt: String {
        switch pending {
        case .pin: return "PIN: "
        case .confirmation: return "confirm (yes/no)? "
        case nil: return role == .viewer ? "vigil> " : "vigil(\(role))# "
        }
    }

    public var nextLineIsSecret: Bool {
        if case .pin = pending { return true }
        return guardNextLine
    }

    public func handle(problem: LineProblem, nowNanoseconds now: UInt64) -> String {
        lastInput = now
        let reply: String
        switch problem {
        case .cancelled:
            if case .confirmation(let command, _, _) = pending {
                pending = nil
                return record(.fixed("(Ctrl-C)"), refused("\(command.name) cancelled"), parsed: true, now: now)
            }
            if case .pin(let r) = pending {
                pending = nil
                guardNextLine = true
                return record(.fixed("login \(r)"), refused("login \(r) cancelled"), parsed: true, now: now)
            }
            return ""
        case .tooLong(let limit): reply = "line too long (at most \(limit) bytes); ignored"
        case .invalidUTF8: reply = "line is not valid UTF-8; ignored"
        case .bidiControl: reply = "line has a bidirectional-text control character (such as U+202E); ignored"
        }
        if case .pin(let r) = pending {
            pending = nil
            guardNextLine = true
            return record(.fixed("login \(r)"), refused("login \(r) failed: \(reply)"), parsed: true, now: now)
        }
        guardNextLine = false
        return record(.fixed("(unreadable line)"), refused(reply), parsed: false, now: now)
    }

    public func handle(line raw: String, nowNanoseconds now: UInt64) -> String {
        let idle = idleLogoutIfDue(now: now)
        lastInput = now
        let line = String(raw.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }.map(Character.init))
        var reply = dispatch(line, now: now)
        if let idle { reply = idle + "\n" + reply }
        return reply
    }

    public func poll(nowNanoseconds now: UInt64) -> String? {
        var notes: [String] = []
        if let idle = idleLogoutIfDue(now: now) { notes.append(idle) }
        if case .confirmation(let command, let line, let deadline) = pending, now >= deadline {
            pending = nil
            notes.append(record(line, refused("no confirmation in time: \(command.name) not done"), parsed: true, now: now))
        }
        if let news = backend.news() { notes.append(settings.colour ? "\u{1B}[1;31m\(news)\u{1B}[0m" : news) }
        return notes.isEmpty ? nil : notes.joined(separator: "\n")
    }

    public func end(nowNanoseconds now: UInt64) {
        if role != .viewer { _ = backend.audit(by: actor, command: "(session ended)", result: "logged out: the terminal went away") }
        role = .viewer
        pending = nil
        guardNextLine = false
    }

    // MARK: Lines

    private func dispatch(_ typed: String, now: UInt64) -> String {
        switch pending {
        case .pin(let r):
            pending = nil
            return login(r, pin: SecretText(typed), now: now)
        case .confirmation(let command, let original, let deadline):
            pending = nil
            // Only the word the question asks for: not `y`, not `YES`.
            let answer = typed.trimmingWhitespace
            guard now < deadline else { return record(original, refused("confirmation came too late: \(command.name) not done"), parsed: true, now: now) }
            guard answer == "yes" else {
                return record(original, refused("\(command.name) cancelled (only yes confirms)"), parsed: true, now: now)
            }
            guard role >= command.requiredRole else {
                return record(original, refused("\(command.name) needs \(command.requiredRole); you are \(role)"), parsed: true, now: now)
            }
            return record(original, execute(command), parsed: true, now: now)
        case nil:
            break
        }
        let line = AuditLine(redacting: typed)
        let command: ConsoleCommand?
        do throws(ConsoleParseError) {
            command = try CommandLanguage.parse(typed, maxShelveSeconds: settings.maxShelveSeconds)
        } catch {
            if guardNextLine {
                // Typed where a PIN prompt was, or just after one: it may be a PIN. Not echoed, not recorded.
                guardNextLine = false
                return record(.fixed("(line after a login prompt, withheld)"),
                              refused("not a command; that line was not shown or recorded, as it may be a PIN. 'login ROLE' asks for the PIN"),
                              parsed: true, now: now)
            }
            let parsedShape: Bool
            if case .usage = error { parsedShape = true } else { parsedShape = false }
            return record(line, refused(error.description), parsed: parsedShape, now: now)
        }
        guard let command else { return "" }
        guardNextLine = false
        guard role >= command.requiredRole else {
            let hint = command.requiredRole == .operator ? "'login operator' (or engineer)" : "'login engineer'"
            return record(line, refused("\(command.name) needs \(command.requiredRole); you are \(role). \(hint) first"), parsed: true, now: now)
        }
        switch command {
        case .login(let r, let pin):
            if r == .viewer {
                role = .viewer
                return record(line, .done("you are viewer"), parsed: true, now: now)
            }
            guard settings.pins[r] != nil else {
                guardNextLine = true
                return record(line, refused("no PIN is configured for \(r) (console.pins.\(r) in the plant config)"), parsed: true, now: now)
            }
            let locked = guardian.lockedSeconds(source: settings.source, role: r)
            guard locked == 0 else {
                guardNextLine = true
                return record(line, refused("login \(r) is locked for \(locked) s after repeated wrong PINs on this console"), parsed: true, now: now)
            }
            if let pin { return login(r, pin: pin, now: now) }
            pending = .pin(r)
            return ""
        default:
            break
        }
        if let question = confirmationQuestion(command) {
            switch question {
            case .refused:
                return record(line, question, parsed: true, now: now)
            case .done(let text):
                pending = .confirmation(command, line: line, deadline: now &+ settings.confirmNanoseconds)
                return "\(text)\nType yes within \(settings.confirmNanoseconds / 1_000_000_000) s to go ahead; anything else cancels."
            }
        }
        return record(line, execute(command), parsed: true, now: now)
    }

    private func login(_ r: ConsoleRole, pin: SecretText, now: UInt64) -> String {
        let command = AuditLine.fixed("login \(r)")
        guard let hash = settings.pins[r] else { return record(command, refused("no PIN configured for \(r)"), parsed: true, now: now) }
        guard !pin.value.trimmingWhitespace.isEmpty else {
            // Enter alone is no guess: nothing is counted.
            guardNextLine = true
            return record(command, refused("no PIN typed; login \(r) cancelled"), parsed: true, now: now)
        }
        let locked = guardian.lockedSeconds(source: settings.source, role: r)
        guard locked == 0 else {
            guardNextLine = true
            return record(command, refused("login \(r) is locked for \(locked) s"), parsed: true, now: now)
        }
        if hash.verify(pin.value) {
            guardian.succeeded(source: settings.source, role: r)
            let reply = record(command, .done("logged in as \(r)"), parsed: true, now: now) // audited as the role that asked
            role = r
            return reply
        }
        guardNextLine = true
        let lockout = guardian.failed(source: settings.source, role: r)
        let why = lockout > 0 ? "wrong PIN; \(r) is locked for \(lockout) s on this console" : "wrong PIN"
        return record(command, refused(why), parsed: true, now: now)
    }

    /// For commands that move outputs or control, or leave safe state: the question (after the
    /// backend's checks), or the refusal. nil: no confirmation needed.
    private func confirmationQuestion(_ command: ConsoleCommand) -> ConsoleOutcome? {
        switch command {
        case .failover(let g, let s): return backend.checkFailover(group: g, sensor: s)
        case .release(let g): return .done("Give group \(g) back to automatic source selection?")
        case .output(let name, let value): return backend.checkOutput(name: name, value: value)
        case .auto(let name): return .done("Give output \(name) back to its control loop (it moves to the loop's value)?")
        case .safeStateExit: return backend.checkExitSafeState()
        case .modelRollback(let v): return backend.checkRollback(version: v)
        default: return nil
        }
    }

    private func execute(_ command: ConsoleCommand) -> ConsoleOutcome {
        let by = actor
        switch command {
        case .help(let name): return .done(CommandLanguage.help(name, role: role, maxShelveSeconds: settings.maxShelveSeconds))
        case .status: return .done(backend.status())
        case .sensors(let group): return backend.sensors(group: group)
        case .alarms: return .done(backend.alarms())
        case .events(let n): return .done(backend.events(limit: n))
        case .explain(let id): return backend.explain(event: id)
        case .ack(let id): return backend.acknowledge(alarm: id, by: by)
        case .shelve(let id, let seconds, let reason): return backend.shelve(alarm: id, seconds: seconds, reason: reason, by: by)
        case .unshelve(let id): return backend.unshelve(alarm: id, by: by)
        case .feedback(let id, let verdict, let note): return backend.feedback(event: id, verdict: verdict, note: note, by: by)
        case .rate(let id, let good, let note): return backend.rate(event: id, good: good, note: note, by: by)
        case .failover(let g, let s): return backend.failover(group: g, sensor: s, by: by)
        case .release(let g): return backend.release(group: g, by: by)
        case .output(let name, let value): return backend.output(name: name, value: value, by: by)
        case .auto(let name): return backend.auto(name: name, by: by)
        case .safeStateEnter: return backend.enterSafeState(by: by)
        case .safeStateExit: return backend.exitSafeState(by: by)
        case .model: return .done(backend.model())
        case .modelHistory: return .done(backend.modelHistory())
        case .modelRollback(let v): return backend.rollback(version: v, by: by)
        case .logout:
            let was = role
            role = .viewer
            return .done(was == .viewer ? "you are viewer already" : "logged out (\(was)); you are viewer")
        case .whoami:
            return .done("\(role) on \(settings.source)")
        case .login:
            return .refused("login is handled before execution") // unreachable: dispatch answers login
        }
    }

    // MARK: Audit, idle

    /// Writes the audit record (durably, before the reply) and returns the reply text. Unparseable
    /// lines beyond the budget are counted, not written one by one.
    private func record(_ command: AuditLine, _ outcome: ConsoleOutcome, parsed: Bool, now: UInt64) -> String {
        let result = (outcome.isDone ? "ok: " : "refused: ") + String(outcome.text.prefix(200)).replacingNewlines
        let shown = String(command.text.prefix(200))
        if !parsed {
            if now &- auditWindowStart >= Self.auditWindow {
                auditWindowStart = now
                auditBudget = 20
                if unauditedRefusals > 0 {
                    _ = backend.audit(by: actor, command: "(\(unauditedRefusals) more unreadable lines)", result: "refused")
                    unauditedRefusals = 0
                }
            }
            guard auditBudget > 0 else {
                unauditedRefusals += 1
                return display(outcome)
            }
            auditBudget -= 1
        }
        guard backend.audit(by: actor, command: shown, result: result) else {
            return display(outcome) + "\n(warning: the audit log could not be written)"
        }
        return display(outcome)
    }

    private func display(_ outcome: ConsoleOutcome) -> String {
        switch outcome {
        case .done(let text): return text
        case .refused(let text): return settings.colour ? "\u{1B}[31m\(text)\u{1B}[0m" : text
        }
    }

    private func refused(_ text: String) -> ConsoleOutcome { .refused(text) }

    private func idleLogoutIfDue(now: UInt64) -> String? {
        guard role != .viewer, settings.idleLogoutNanoseconds > 0, now &- lastInput >= settings.idleLogoutNanoseconds else { return nil }
        let was = role
        role = .viewer
        if case .pin = pending { guardNextLine = true }
        pending = nil
        let seconds = settings.idleLogoutNanoseconds / 1_000_000_000
        _ = backend.audit(by: ConsoleActor(source: settings.source, role: was), command: "(idle)",
                          result: "logged out after \(seconds) s without input")
        return "logged out (\(was)) after \(seconds) s without input; you are viewer"
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }

    var replacingNewlines: String { String(map { $0 == "\n" ? " | " : String($0) }.joined()) }
}

/// A line as the audit log may hold it: made only by redacting what was typed (secret arguments and
/// unknown words withheld, `CommandLanguage.redacted`) or from text the console wrote itself.
struct AuditLine: Sendable, Hashable {
    let text: String

    init(redacting typed: String) { text = CommandLanguage.redacted(typed) }

    private init(text: String) { self.text = text }

    /// Text the console composed (never a typed line).
    static func fixed(_ text: String) -> AuditLine { AuditLine(text: text) }
}
