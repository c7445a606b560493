import Synchronization

/// Failed logins of one endpoint and role, as the guard keeps them and the journal stores them.
public struct LoginFailureRecord: Sendable, Hashable {
    /// The endpoint, e.g. `console:/dev/ttyS0`.
    public var source: String
    public var role: ConsoleRole
    /// Wrong PINs in a row (a right PIN, or a long quiet spell, resets it).
    public var failures: Int
    /// Wall time of the last wrong PIN.
    public var lastFailureWallNanoseconds: Int64
    /// Wall time until which the role is locked on this endpoint (0: not locked).
    public var lockedUntilWallNanoseconds: Int64

    public init(source: String, role: ConsoleRole, failures: Int, lastFailureWallNanoseconds: Int64, lockedUntilWallNanoseconds: Int64) {
        self.source = source
        self.role = role
        self.failures = failures
        self.lastFailureWallNanoseconds = lastFailureWallNanoseconds
        self.lockedUntilWallNanoseconds = lockedUntilWallNanoseconds
    }
}

/// Where the guard keeps its records across restarts (the journal). Writes are durable before they return.
public protocol LoginFailureStore: Sendable {
    func loadLoginFailures() throws -> [LoginFailureRecord]
    /// Inserts or replaces the record of `record.source` and `record.role`.
    func saveLoginFailure(_ record: LoginFailureRecord) throws
    func clearLoginFailures(source: String, role: ConsoleRole) throws
}

/// Wrong PINs per endpoint and role, with growing lockouts, kept in a store so that neither a
/// re-plugged cable nor a controller restart (or `kill -9`) resets them. Thread-safe.
///
/// The first `attempts - 1` wrong PINs in a row cost nothing; the `attempts`-th locks the role on
/// that endpoint for `lockoutNanoseconds`, and every further wrong PIN (possible only once the
/// lockout has run out) locks it for twice as long as the one before, up to `maxLockoutNanoseconds`.
/// A right PIN resets the count; so does a quiet spell of `forgetNanoseconds` after the lockout ends.
/// Time is the injected wall clock (persisted lockouts must survive a reboot, where a monotonic clock
/// starts again); a clock set back never lengthens a lockout beyond `maxLockoutNanoseconds`.
public final class LoginGuard: Sendable {
    private struct Key: Hashable { var source: String; var role: ConsoleRole }
    private let records: Mutex<[Key: LoginFailureRecord]>
    public let attempts: Int
    public let lockoutNanoseconds: UInt64
    public let maxLockoutNanoseconds: UInt64
    public let forgetNanoseconds: UInt64
    private let wallClock: @Sendable () -> Int64
    private let store: LoginFailureStore?
    private let log: @Sendable (String) -> Void

    /// Reads the store's records (a store that cannot be read is logged and starts empty).
    public init(attempts: Int, lockoutNanoseconds: UInt64, maxLockoutNanoseconds: UInt64 = 86_400_000_000_000,
                forgetNanoseconds: UInt64 = 86_400_000_000_000, wallClock: @escaping @Sendable () -> Int64,
                store: LoginFailureStore? = nil, log: @escaping @Sendable (String) -> Void = { _ in }) {
        self.attempts = max(1, attempts)
        self.lockoutNanoseconds = max(1, lockoutNanoseconds)
        self.maxLockoutNanoseconds = max(self.lockoutNanoseconds, maxLockoutNanoseconds)
        self.forgetNanoseconds = forgetNanoseconds
        self.wallClock = wallClock
        self.store = store
        self.log = log
        var loaded: [Key: LoginFailureRecord] = [:]
        if let store {
            do {
                for r in try store.loadLoginFailures() { loaded[Key(source: r.source, role: r.role)] = r }
            } catch {
                log("console: the login failures could not be read from the journal (\(error)); counting from zero")
            }
        }
        records = Mutex(loaded)
    }

    /// Seconds left of the role's lockout on `source`, 0 when not locked.
    public func lockedSeconds(source: String, role: ConsoleRole) -> Int {
        let now = wallClock()
        return records.withLock { r in Self.remaining(r[Key(source: source, role: role)], now: now, cap: maxLockoutNanoseconds) }
    }

    /// Records a wrong PIN (durably, before it returns); returns the seconds of the lockout it started (0: none).
    public func failed(source: String, role: ConsoleRole) -> Int {
        let now = wallClock()
        let key = Key(source: source, role: role)
        let record = records.withLock { r -> LoginFailureRecord in
            var rec = r[key] ?? LoginFailureRecord(source: source, role: role, failures: 0, lastFailureWallNanoseconds: now,
                                                   lockedUntilWallNanoseconds: 0)
            if forgotten(rec, now: now) { rec.failures = 0; rec.lockedUntilWallNanoseconds = 0 }
            rec.failures += 1
            rec.lastFailureWallNanoseconds = now
            if let delay = lockout(afterFailures: rec.failures) {
                rec.lockedUntilWallNanoseconds = now &+ Int64(delay)
            }
            r[key] = rec
            return rec
        }
        if let store {
            do { try store.saveLoginFailure(record) } catch { log("console: a failed login could not be journalled: \(error)") }
        }
        return Self.remaining(record, now: now, cap: maxLockoutNanoseconds)
    }

    /// A right PIN: the count of `role` on `source` starts again.
    public func succeeded(source: String, role: ConsoleRole) {
        let existed = records.withLock { $0.removeValue(forKey: Key(source: source, role: role)) != nil }
        guard existed, let store else { return }
        do { try store.clearLoginFailures(source: source, role: role) } catch { log("console: a login could not be journalled: \(error)") }
    }

    /// The lockout the `failures`-th wrong PIN in a row starts, nil before the limit.
    public func lockout(afterFailures failures: Int) -> UInt64? {
        guard failures >= attempts else { return nil }
        let doublings = min(failures - attempts, 63)
        let (scaled, overflow) = lockoutNanoseconds.multipliedReportingOverflow(by: UInt64(1) << UInt64(doublings))
        return overflow ? maxLockoutNanoseconds : min(scaled, maxLockoutNanoseconds)
    }

    private func forgotten(_ r: LoginFailureRecord, now: Int64) -> Bool {
        let quietSince = max(r.lastFailureWallNanoseconds, r.lockedUntilWallNanoseconds)
        return now > quietSince && UInt64(now - quietSince) >= forgetNanoseconds
    }

    private static func remaining(_ r: LoginFailureRecord?, now: Int64, cap: UInt64) -> Int {
        guard let r, now < r.lockedUntilWallNanoseconds else { return 0 }
        let left = min(UInt64(r.lockedUntilWallNanoseconds - now), cap)
        return Int((left + 999_999_999) / 1_000_000_000)
    }
}
