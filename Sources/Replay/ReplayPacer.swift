#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VigilCore

/// Holds a replay to `rate` × wall time: plant time t is stepped no earlier than t / rate of wall
/// time after the start. Only the replay's front end reads this clock; the kernel never does.
public struct ReplayPacer: Sendable {
    public let rate: Double
    private var wallStart: UInt64 = 0
    private let clock = SystemMonotonicClock()
    /// A step less than this ahead of its wall time runs at once (no sleep for a few microseconds).
    static let slackNanoseconds: UInt64 = 200_000

    /// `rate` > 0: 1 is real time, 10 ten times faster.
    public init(rate: Double) {
        self.rate = rate
    }

    mutating func start(atWallNanoseconds t: UInt64) { wallStart = t }

    /// Sleeps until the wall time of plant time `elapsed` after the start.
    mutating func wait(plantElapsedNanoseconds elapsed: Int64) {
        let target = wallStart &+ UInt64(min(Double(elapsed) / rate, 9e18))
        let now = clock.nowNanoseconds()
        guard target > now &+ Self.slackNanoseconds else { return }
        var deadline = timespec(tv_sec: Int(target / 1_000_000_000), tv_nsec: Int(target % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, nil) == EINTR {}
    }
}
