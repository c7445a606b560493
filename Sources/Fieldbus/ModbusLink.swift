import VigilCore

/// A connection plus its reconnect schedule. One per TCP device, one per serial line
/// (shared by every device on that line, so they take turns on one owner).
///
/// A link may have a second path to the same devices (a backup gateway or serial line):
/// `switchPath()` closes the active connection and makes the other one active; the next
/// `ensureConnected()` opens it at once, and the back-off continues from there if it fails.
public final class ModbusLink {
    public let primary: any ModbusTransport
    public let backup: (any ModbusTransport)?
    /// The active connection: the primary, or the backup after `switchPath()`.
    public private(set) var connection: any ModbusTransport
    private let clock: any MonotonicClock
    private var backoff: Backoff
    private var nextAttemptNanoseconds: UInt64 = 0
    /// Successful (re)connects, for statistics.
    public private(set) var connects = 0
    /// Path switches made (primary → backup or back).
    public private(set) var switches = 0
    /// The error that last took the link down.
    public private(set) var lastError: ModbusError?

    public init(connection: any ModbusTransport, backup: (any ModbusTransport)? = nil, clock: any MonotonicClock,
                backoff: BackoffPolicy = BackoffPolicy(), seed: UInt64 = 1) {
        self.primary = connection
        self.backup = backup
        self.connection = connection
        self.clock = clock
        self.backoff = Backoff(policy: backoff, seed: seed)
    }

    /// Whether the backup path is the active one.
    public var isOnBackup: Bool { connection !== primary }

    /// Connects if needed and allowed by the back-off schedule. Returns false while the link is
    /// down and waiting; the cost of a failed attempt is bounded by the response timeout.
    public func ensureConnected() -> Bool {
        if connection.isConnected { return true }
        let now = clock.nowNanoseconds()
        guard now >= nextAttemptNanoseconds else { return false }
        do {
            try connection.connect()
            backoff.reset()
            connects += 1
            return true
        } catch {
            lastError = error
            nextAttemptNanoseconds = clock.nowNanoseconds() &+ backoff.nextDelayNanoseconds()
            return false
        }
    }

    /// Takes the link down after a transport failure; the next attempt waits for the back-off.
    public func markDown(_ error: ModbusError) {
        connection.close()
        lastError = error
        nextAttemptNanoseconds = clock.nowNanoseconds() &+ backoff.nextDelayNanoseconds()
    }

    /// Makes the other path active (backup when on the primary, primary when on the backup):
    /// closes the active connection and allows an immediate connect on the new one. The back-off
    /// state is kept, so a new path that fails too is retried no faster than the old one was.
    /// Returns false (and changes nothing) when the link has no backup. Allocates nothing.
    @discardableResult
    public func switchPath() -> Bool {
        guard let backup else { return false }
        connection.close()
        connection = isOnBackup ? primary : backup
        nextAttemptNanoseconds = 0
        switches += 1
        return true
    }

    /// Closes a connected link and allows an immediate reconnect (a repair's reconnect); a link
    /// that is down keeps its back-off schedule.
    public func reconnectNow() {
        guard connection.isConnected else { return }
        connection.close()
        nextAttemptNanoseconds = 0
    }

    /// When the next connect attempt is allowed (monotonic ns); 0 when connected.
    public var nextAttemptAtNanoseconds: UInt64 { connection.isConnected ? 0 : nextAttemptNanoseconds }
}
