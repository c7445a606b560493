import VigilCore

/// A connection plus its reconnect schedule. One per TCP device, one per serial line
/// (shared by every device on that line, so they take turns on one owner).
public final class ModbusLink {
    public let connection: ModbusConnection
    private let clock: any MonotonicClock
    private var backoff: Backoff
    private var nextAttemptNanoseconds: UInt64 = 0
    /// Successful (re)connects, for statistics.
    public private(set) var connects = 0
    /// The error that last took the link down.
    public private(set) var lastError: ModbusError?

    public init(connection: ModbusConnection, clock: any MonotonicClock, backoff: BackoffPolicy = BackoffPolicy(), seed: UInt64 = 1) {
        self.connection = connection
        self.clock = clock
        self.backoff = Backoff(policy: backoff, seed: seed)
    }

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

    /// When the next connect attempt is allowed (monotonic ns); 0 when connected.
    public var nextAttemptAtNanoseconds: UInt64 { connection.isConnected ? 0 : nextAttemptNanoseconds }
}
