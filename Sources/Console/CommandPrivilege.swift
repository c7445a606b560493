extension ConsoleCommand {
    /// Whether the command only shows something (viewing, help): its audit entries may be
    /// throttled and pruned. Logins, logouts and everything that changes the plant, the alarms or
    /// the model are privileged and always kept.
    public var isReadOnly: Bool {
        switch self {
        case .help, .status, .sensors, .alarms, .events, .explain, .model, .modelHistory, .whoami: return true
        default: return false
        }
    }

    /// Whether the audit entry of a console line (as the session records it) is read-only: a
    /// read-only command, or a line that parsed as nothing and did nothing. Session events
    /// ("(idle)", "(session ended)", …) and anything that starts like a login are privileged.
    public static func auditIsReadOnly(_ line: String) -> Bool {
        let text = line.trimmingWhitespace
        if text.hasPrefix("(") || text.lowercased().hasPrefix("login") { return false }
        guard let parsed = try? CommandLanguage.parse(text) else { return true }
        return parsed.isReadOnly
    }
}
