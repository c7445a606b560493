import VigilCore

/// How quickly to retry after connections fail.
public struct ReconnectPolicy: Sendable, Hashable {
    /// The wait after the first round in which every broker failed.
    public var initialDelay: Duration
    /// The wait never grows beyond this.
    public var maximumDelay: Duration
    /// Each further failed round multiplies the wait by this (at least 1).
    public var multiplier: Int
    /// A connection that lasted this long counts as healthy: losing it starts over without waiting.
    public var stableAfter: Duration

    public init(initialDelay: Duration = .seconds(1), maximumDelay: Duration = .seconds(60), multiplier: Int = 2,
                stableAfter: Duration = .seconds(30)) {
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.multiplier = max(1, multiplier)
        self.stableAfter = stableAfter
    }
}

/// The next connection attempt: which broker, and not before when (monotonic nanoseconds).
public struct ConnectionAttempt: Sendable, Hashable {
    public var broker: MQTTBrokerAddress
    public var notBeforeNanoseconds: UInt64

    public init(broker: MQTTBrokerAddress, notBeforeNanoseconds: UInt64) {
        self.broker = broker
        self.notBeforeNanoseconds = notBeforeNanoseconds
    }
}

/// The broker list with fallback, as a pure value the connection service drives.
///
/// Brokers are tried in list order (the first is preferred). A failed attempt moves on to the next
/// broker at once; when a whole round has failed, the next round (from the first broker) waits
/// `initialDelay`, growing by `multiplier` per failed round up to `maximumDelay`. A connection that
/// lasted `stableAfter` resets the rounds and the first broker is tried again at once; one lost
/// sooner counts as a failed round (the first broker again, after the round's wait). Time is passed in; no clock is read.
public struct BrokerRotation: Sendable, Hashable {
    public let brokers: [MQTTBrokerAddress]
    public let policy: ReconnectPolicy
    /// Index of the broker of the current (or next) attempt.
    public private(set) var index: Int = 0
    /// Rounds of the whole list that failed since the last stable connection.
    public private(set) var failedRounds: Int = 0
    /// Attempts that failed since the last stable connection.
    public private(set) var consecutiveFailures: Int = 0
    private var connectedAtNanoseconds: UInt64?

    /// Nil when `brokers` is empty.
    public init?(brokers: [MQTTBrokerAddress], policy: ReconnectPolicy = ReconnectPolicy()) {
        guard !brokers.isEmpty else { return nil }
        self.brokers = brokers
        self.policy = policy
    }

    /// The broker to try now (the first attempt: the first broker, at once).
    public var currentBroker: MQTTBrokerAddress { brokers[index] }

    /// The connection to `currentBroker` was accepted at `now`.
    public mutating func recordConnected(atNanoseconds now: UInt64) {
        connectedAtNanoseconds = now
    }

    /// The attempt on `currentBroker` failed, or its connection was lost, at `now`: the next attempt.
    public mutating func recordFailure(atNanoseconds now: UInt64) -> ConnectionAttempt {
        if let since = connectedAtNanoseconds {
            // A lost connection: start over from the preferred broker.
            connectedAtNanoseconds = nil
            let lasted = now >= since ? now - since : 0
            if lasted >= Self.nanoseconds(policy.stableAfter) {
                failedRounds = 0
                consecutiveFailures = 0
                index = 0
                return ConnectionAttempt(broker: brokers[0], notBeforeNanoseconds: now)
            }
            // Lost soon after connecting: counts as a failed round, so a flapping broker is not hammered.
            index = brokers.count - 1
        }
        consecutiveFailures += 1
        index += 1
        if index >= brokers.count {
            index = 0
            failedRounds += 1
        }
        // Waiting only before a new round: the next broker of the same round is tried at once.
        let wait = index == 0 && failedRounds > 0 ? delay(afterFailedRounds: failedRounds) : 0
        let (sum, overflow) = now.addingReportingOverflow(wait)
        return ConnectionAttempt(broker: brokers[index], notBeforeNanoseconds: overflow ? UInt64.max : sum)
    }

    /// The wait before round `rounds + 1`, in nanoseconds.
    public func delay(afterFailedRounds rounds: Int) -> UInt64 {
        guard rounds > 0 else { return 0 }
        let cap = Self.nanoseconds(policy.maximumDelay)
        var d = Self.nanoseconds(policy.initialDelay)
        for _ in 1..<rounds {
            let (next, overflow) = d.multipliedReportingOverflow(by: UInt64(policy.multiplier))
            if overflow || next >= cap { return cap }
            d = next
        }
        return min(d, cap)
    }

    static func nanoseconds(_ d: Duration) -> UInt64 {
        let (s, atto) = d.components
        if s < 0 { return 0 }
        let (ns, o1) = UInt64(s).multipliedReportingOverflow(by: 1_000_000_000)
        let (sum, o2) = ns.addingReportingOverflow(UInt64(atto / 1_000_000_000))
        return o1 || o2 ? UInt64.max : sum
    }
}
