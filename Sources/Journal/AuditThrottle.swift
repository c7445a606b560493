/// Keeps read-only audit entries (status, sensors, …) of one console endpoint to a budget per
/// window, so a viewer typing `status` as fast as a terminal allows cannot turn into hundreds of
/// synchronous journal writes a second; the commands beyond the budget are counted and written as
/// one summary entry when the next window opens. Privileged entries are never throttled.
/// Pure logic: time comes in with every call.
public struct AuditThrottle: Sendable {
    public let budget: Int
    public let windowNanoseconds: UInt64
    private var windowStart: UInt64?
    private var used = 0
    /// Read-only commands not written one by one in the current window, by first word.
    private var skipped: [String: Int] = [:]

    public init(budget: Int = 10, windowNanoseconds: UInt64 = 10_000_000_000) {
        precondition(budget > 0 && windowNanoseconds > 0)
        self.budget = budget
        self.windowNanoseconds = windowNanoseconds
    }

    /// What to do with a read-only entry at `now`.
    public struct Decision: Sendable, Hashable {
        /// Write the entry itself.
        public var write: Bool
        /// Write this summary of the previous window's skipped entries first (nil: none).
        public var summary: String?
    }

    /// Decides about one read-only entry whose command is `command`.
    public mutating func admit(_ command: String, now: UInt64) -> Decision {
        var summary: String?
        if windowStart.map({ now &- $0 >= windowNanoseconds }) ?? true {
            summary = pendingSummary
            windowStart = now
            used = 0
            skipped = [:]
        }
        guard used < budget else {
            let word = command.split(separator: " ", maxSplits: 1).first.map(String.init) ?? command
            skipped[String(word.prefix(24)), default: 0] += 1
            return Decision(write: false, summary: summary)
        }
        used += 1
        return Decision(write: true, summary: summary)
    }

    /// The summary of the entries skipped so far in this window (nil: none).
    public var pendingSummary: String? {
        let total = skipped.values.reduce(0, +)
        guard total > 0 else { return nil }
        return "(\(total) more read-only commands, not logged one by one: "
            + skipped.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ") + ")"
    }
}

/// Writes one console endpoint's audit entries: privileged ones always, each durably before it
/// returns; read-only ones through an `AuditThrottle`. One per console session thread.
public struct AuditRecorder: Sendable {
    public let journal: Journal
    private var throttle: AuditThrottle

    public init(journal: Journal, throttle: AuditThrottle = AuditThrottle()) {
        self.journal = journal
        self.throttle = throttle
    }

    /// Records `entry` (or counts it, when it is read-only and over budget) at monotonic `now`.
    public mutating func record(_ entry: AuditEntry, now: UInt64) throws(JournalError) {
        guard !entry.privileged else {
            try journal.recordCommand(entry)
            return
        }
        let decision = throttle.admit(entry.command, now: now)
        if let summary = decision.summary {
            var s = entry
            s.command = summary
            s.result = "ok"
            try journal.recordCommand(s)
        }
        if decision.write { try journal.recordCommand(entry) }
    }
}
