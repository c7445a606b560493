/// Operator roles, weakest first. Viewing needs no login.
public enum ConsoleRole: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    case viewer, `operator`, engineer

    public init?(name: String) {
        switch name.lowercased() {
        case "viewer": self = .viewer
        case "operator": self = .operator
        case "engineer": self = .engineer
        default: return nil
        }
    }

    public static func < (a: ConsoleRole, b: ConsoleRole) -> Bool { a.rawValue < b.rawValue }
    public var description: String {
        switch self {
        case .viewer: return "viewer"
        case .operator: return "operator"
        case .engineer: return "engineer"
        }
    }
}

/// What the console says a command came to: done (with its reply) or refused (with why).
public enum ConsoleOutcome: Sendable, Hashable {
    case done(String)
    case refused(String)

    public var text: String {
        switch self {
        case .done(let t), .refused(let t): return t
        }
    }
    public var isDone: Bool { if case .done = self { true } else { false } }
}

/// The operator's verdict on an event (console `feedback`).
public enum ConsoleVerdict: Sendable, Hashable {
    case confirm
    case falseAlarm
    case correctClass(String)
    /// Take back this operator's earlier verdict on the event.
    case withdraw
}

/// Who issued a command, for the audit log and the feedback record.
public struct ConsoleActor: Sendable, Hashable {
    /// The endpoint, e.g. `console:/dev/ttyS0`.
    public var source: String
    public var role: ConsoleRole

    public init(source: String, role: ConsoleRole) {
        self.source = source
        self.role = role
    }
}

/// The controller as the console sees it. Views return text ready to print (the executable knows
/// the plant, the monitor's evidence and the model; the console knows the operator). Control calls
/// wait for the cycle's verdict; `feedback` returns once the feedback is durable (the model update's
/// verdict comes later as news). Called from the console's thread only.
public protocol ConsoleBackend: AnyObject {
    /// `status`: cycle, lateness, overruns, safe state, trust score, model version, alarm counts.
    func status() -> String
    /// `sensors [GROUP]`; refused for an unknown group.
    func sensors(group: String?) -> ConsoleOutcome
    /// `alarms`: the open alarms with diagnosis and evidence.
    func alarms() -> String
    /// `events [N]`: the newest N journalled events, newest last.
    func events(limit: Int) -> String
    /// `explain EVENT`.
    func explain(event: Int64) -> ConsoleOutcome
    /// Alarm handling.
    func acknowledge(alarm: UInt64, by: ConsoleActor) -> ConsoleOutcome
    func shelve(alarm: UInt64, seconds: Int, reason: String, by: ConsoleActor) -> ConsoleOutcome
    func unshelve(alarm: UInt64, by: ConsoleActor) -> ConsoleOutcome
    /// Teaching: the verdict on an event's diagnosis / a rating of an action event.
    func feedback(event: Int64, verdict: ConsoleVerdict, note: String, by: ConsoleActor) -> ConsoleOutcome
    func rate(event: Int64, good: Bool, note: String, by: ConsoleActor) -> ConsoleOutcome
    /// Control. `check…` runs before the confirmation question: refused (e.g. an interlock holds)
    /// or done with the question's text.
    func checkFailover(group: String, sensor: String) -> ConsoleOutcome
    func failover(group: String, sensor: String, by: ConsoleActor) -> ConsoleOutcome
    func release(group: String, by: ConsoleActor) -> ConsoleOutcome
    func checkOutput(name: String, value: Double) -> ConsoleOutcome
    func output(name: String, value: Double, by: ConsoleActor) -> ConsoleOutcome
    func auto(name: String, by: ConsoleActor) -> ConsoleOutcome
    func enterSafeState(by: ConsoleActor) -> ConsoleOutcome
    func checkExitSafeState() -> ConsoleOutcome
    func exitSafeState(by: ConsoleActor) -> ConsoleOutcome
    /// Model.
    func model() -> String
    func modelHistory() -> String
    func checkRollback(version: Int) -> ConsoleOutcome
    func rollback(version: Int, by: ConsoleActor) -> ConsoleOutcome
    /// New alarms and other news since the last call (or nil), for unsolicited lines.
    func news() -> String?
    /// Writes one audit record durably (before the reply is shown). Returns false when the journal
    /// refused it; the console then says so.
    func audit(by: ConsoleActor, command: String, result: String) -> Bool
}
