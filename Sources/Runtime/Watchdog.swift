import Synchronization
import VigilCore
import Fieldbus
import CRuntime

/// An independent thread that watches the cycle's progress counter.
///
/// If the cycle has not completed for `stallPeriods` periods it declares a stall: the output
/// board is forced to safe values, and the bus threads write them to the Modbus outputs without
/// the cycle's help. GPIO outputs belong to the cycle thread (libgpiod line handles are not shared
/// across threads): they follow the forced board as soon as the cycle runs again. systemd pings
/// stop. While the cycle makes progress it pings systemd's watchdog — pings follow the cycle, not
/// a timer, so a hung cycle stops them.
final class Watchdog: @unchecked Sendable {
    private let progress: Atomic<UInt64>
    private let stalledFlag = Atomic<Bool>(false)
    private let stalls = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let periodNanoseconds: UInt64
    private let stallPeriods: UInt64
    private let notifier: SystemdNotifier?
    private let onStall: @Sendable () -> Void
    private var thread: JoinableThread?

    init(periodNanoseconds: UInt64, stallPeriods: Int, notifier: SystemdNotifier?, onStall: @escaping @Sendable () -> Void) {
        self.progress = Atomic(0)
        self.periodNanoseconds = periodNanoseconds
        self.stallPeriods = UInt64(max(2, stallPeriods))
        self.notifier = notifier
        self.onStall = onStall
    }

    /// Cycle thread: one completed cycle.
    @inline(__always)
    func cycleCompleted() { progress.add(1, ordering: .releasing) }

    /// Whether a stall was declared (latched until `clearStall`).
    var isStalled: Bool { stalledFlag.load(ordering: .acquiring) }
    var stallCount: Int { stalls.load(ordering: .relaxed) }
    func clearStall() { stalledFlag.store(false, ordering: .releasing) }

    func start() throws(ThreadStartError) {
        thread = try JoinableThread(name: "watchdog") { [self] in run() }
    }

    func stop() {
        stopping.store(true, ordering: .releasing)
        thread?.join()
        thread = nil
    }

    private func run() {
        _ = vigil_rt_set_timer_slack(1)
        let check = max(periodNanoseconds / 2, 500_000)
        var lastProgress = progress.load(ordering: .acquiring)
        var lastChange = vigil_rt_monotonic_ns()
        var lastPing: UInt64 = 0
        var pingedProgress: UInt64 = 0
        var next = vigil_rt_monotonic_ns()
        while !stopping.load(ordering: .acquiring) {
            next &+= check
            vigil_rt_sleep_until(next)
            let now = vigil_rt_monotonic_ns()
            let p = progress.load(ordering: .acquiring)
            if p != lastProgress {
                lastProgress = p
                lastChange = now
            } else if !stalledFlag.load(ordering: .acquiring), p > 0, now &- lastChange >= stallPeriods * periodNanoseconds {
                stalledFlag.store(true, ordering: .releasing)
                stalls.add(1, ordering: .relaxed)
                onStall()
            }
            if let notifier, let interval = notifier.watchdogIntervalNanoseconds, p != pingedProgress,
               !stalledFlag.load(ordering: .acquiring), now &- lastPing >= interval {
                notifier.notify("WATCHDOG=1")
                lastPing = now
                pingedProgress = p
            }
            if now > next &+ 10 * check { next = now } // after a suspend, do not race to catch up
        }
    }
}
