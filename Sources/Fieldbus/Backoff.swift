import VigilCore

/// Exponential back-off with jitter for reconnect attempts, bounded above.
public struct BackoffPolicy: Sendable, Hashable {
    public var initialMilliseconds: Int
    public var multiplier: Double
    public var maximumMilliseconds: Int
    /// Each delay is spread uniformly by ± this fraction, so many devices that failed together
    /// do not retry together.
    public var jitterFraction: Double

    public init(initialMilliseconds: Int = 100, multiplier: Double = 2, maximumMilliseconds: Int = 10_000, jitterFraction: Double = 0.2) {
        self.initialMilliseconds = initialMilliseconds
        self.multiplier = multiplier
        self.maximumMilliseconds = maximumMilliseconds
        self.jitterFraction = jitterFraction
    }
}

/// The state of one back-off sequence. Deterministic given its seed.
public struct Backoff: Sendable {
    public let policy: BackoffPolicy
    public private(set) var failures = 0
    private var random: SeededRandom

    public init(policy: BackoffPolicy = BackoffPolicy(), seed: UInt64) {
        self.policy = policy
        self.random = SeededRandom(seed: seed)
    }

    /// Records a failed attempt and returns how long to wait before the next one.
    public mutating func nextDelayNanoseconds() -> UInt64 {
        let exponent = Double(min(failures, 62))
        failures += 1
        let nominal = min(Double(policy.maximumMilliseconds),
                          Double(policy.initialMilliseconds) * pow2(policy.multiplier, exponent))
        let u = Double(random.next() >> 11) / Double(1 << 53) // [0, 1)
        let jittered = nominal * (1 + policy.jitterFraction * (2 * u - 1))
        let bounded = min(jittered, Double(policy.maximumMilliseconds) * (1 + policy.jitterFraction))
        return UInt64(max(0, bounded) * 1_000_000)
    }

    /// A successful attempt starts the sequence over.
    public mutating func reset() { failures = 0 }

    private func pow2(_ base: Double, _ exponent: Double) -> Double {
        var r = 1.0
        var i = 0.0
        while i < exponent && r < 1e12 { r *= base; i += 1 }
        return r
    }
}
