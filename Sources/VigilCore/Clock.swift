#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A monotonic clock in nanoseconds. Passed in everywhere time matters, so tests can drive it.
public protocol MonotonicClock: Sendable {
    func nowNanoseconds() -> UInt64
}

/// The system's monotonic clock: `CLOCK_MONOTONIC` in nanoseconds since boot, the same scale
/// as the kernel's GPIO edge-event timestamps and `clock_nanosleep` deadlines.
public struct SystemMonotonicClock: MonotonicClock {
    public init() {}
    @inline(__always)
    public func nowNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }
}

/// A clock that moves only when told to. For deterministic tests.
public final class ManualClock: MonotonicClock, @unchecked Sendable {
    // Guarded by the test's own sequencing; a manual clock is not shared across threads.
    private var now: UInt64
    public init(startNanoseconds: UInt64 = 0) { now = startNanoseconds }
    public func nowNanoseconds() -> UInt64 { now }
    public func advance(byNanoseconds delta: UInt64) { now &+= delta }
    /// Moves the clock to `t` if that is later (a clock never goes back).
    public func advance(toNanoseconds t: UInt64) { if t > now { now = t } }
}

/// A small, seedable pseudo-random generator (SplitMix64) for jitter and simulations.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
