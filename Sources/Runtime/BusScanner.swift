import Synchronization
import VigilCore
import Fieldbus
import CRuntime

/// One thread per Modbus link (a TCP device, or a serial line with all its units) that polls its
/// devices at their intervals and writes their outputs.
///
/// The cycle thread never waits on the fieldbus: it reads the latest readings from `readings`
/// and commands outputs through the `OutputBoard`. A dead device costs its own bus thread a
/// timeout; the cycle keeps its period.
final class BusScanner: @unchecked Sendable {
    /// An output written by this scanner: `outputIndex` into the plant's outputs, the device's
    /// poller and the point on it.
    struct OutputTarget {
        var outputIndex: Int
        var pollerIndex: Int
        var pointIndex: Int
    }

    let name: String
    let pollers: [DevicePoller]
    /// Latest readings per poller (device), in `device.points` order.
    let readings: [SeqLockBoard<Reading>]
    /// Repair requests from the cycle and the path and poll interval in use, per poller.
    let channels: [DeviceRepairChannel]
    /// Clean polls in a row after which a slowed device's interval is halved back toward its base.
    var restoreAfterCleanPolls = 200
    private let outputs: [OutputTarget]
    private let board: OutputBoard
    private let basePeriodNanoseconds: UInt64
    private let epochNanoseconds: UInt64
    /// Re-assert outputs at least this often even when unchanged (a device that restarted forgets them).
    private let refreshNanoseconds: UInt64

    private let stopping = Atomic<Bool>(false)
    private let writeFailuresCounter = Atomic<Int>(0)
    private var thread: JoinableThread?

    init(name: String, pollers: [DevicePoller], outputs: [OutputTarget], board: OutputBoard,
         basePeriodNanoseconds: UInt64, epochNanoseconds: UInt64, refreshNanoseconds: UInt64 = 1_000_000_000) {
        self.name = name
        self.pollers = pollers
        self.readings = pollers.map { SeqLockBoard(count: $0.device.points.count, initial: .unread) }
        self.channels = pollers.map { DeviceRepairChannel(pollIntervalMilliseconds: $0.device.pollIntervalMilliseconds,
                                                          hasBackup: $0.link.backup != nil) }
        self.outputs = outputs
        self.board = board
        self.basePeriodNanoseconds = max(1, basePeriodNanoseconds)
        self.epochNanoseconds = epochNanoseconds
        self.refreshNanoseconds = refreshNanoseconds
    }

    /// Output writes that failed (the write is retried on the next pass).
    var writeFailures: Int { writeFailuresCounter.load(ordering: .relaxed) }

    func start() throws(ThreadStartError) {
        thread = try JoinableThread(name: "bus-\(name)") { [self] in run() }
    }

    /// Stops the thread after one last pass that writes the current commanded values (the safe
    /// values, when the board is forced), and waits for it.
    func stop() {
        stopping.store(true, ordering: .releasing)
        thread?.join()
        thread = nil
    }

    private func run() {
        _ = vigil_rt_set_timer_slack(1)
        let period = basePeriodNanoseconds
        // Each device polls on ticks of the base period that are multiples of its interval.
        let baseIntervals = pollers.map { max(period, UInt64(max(1, $0.device.pollIntervalMilliseconds)) * 1_000_000) }
        let ceilings = pollers.indices.map { max(baseIntervals[$0], UInt64(pollers[$0].device.pollIntervalCeilingMilliseconds) * 1_000_000) }
        var intervals = baseIntervals
        var cleanPolls = [Int](repeating: 0, count: pollers.count)
        var nextPoll = [UInt64](repeating: 0, count: pollers.count)
        let commanded = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, board.count))
        commanded.initialize(repeating: .nan)
        let written = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, outputs.count))
        written.initialize(repeating: .nan)
        var lastWrite = [UInt64](repeating: 0, count: outputs.count)
        defer { commanded.deallocate(); written.deallocate() }

        var tick = vigil_rt_monotonic_ns()
        while true {
            let last = stopping.load(ordering: .acquiring)
            // Outputs first: a command must not wait behind a slow poll.
            board.values(into: commanded)
            for (i, target) in outputs.enumerated() {
                let value = commanded[target.outputIndex]
                let now = vigil_rt_monotonic_ns()
                guard value != written[i] || now &- lastWrite[i] >= refreshNanoseconds || last else { continue }
                do {
                    try pollers[target.pollerIndex].write(pointIndex: target.pointIndex, engineeringValue: value)
                    written[i] = value
                    lastWrite[i] = now
                } catch {
                    written[i] = .nan // retry next pass
                    writeFailuresCounter.add(1, ordering: .relaxed)
                }
            }
            if last { return }
            // Repairs the cycle asked for, before this pass's polls.
            var wanted: UInt32 = 0 // toBackup / toPrimary asked by any device this pass
            for p in pollers.indices {
                let request = channels[p].take()
                guard request != 0 else { continue }
                channels[p].executed.add(1, ordering: .relaxed)
                wanted |= request & (DeviceRepairChannel.toBackup | DeviceRepairChannel.toPrimary)
                if request & DeviceRepairChannel.slowPolling != 0 {
                    intervals[p] = min(intervals[p] &* 2, ceilings[p])
                    cleanPolls[p] = 0
                    channels[p].pollIntervalMilliseconds.store(Int(intervals[p] / 1_000_000), ordering: .relaxed)
                }
                if request & DeviceRepairChannel.reconnect != 0 && pollers.count == 1 {
                    pollers[p].link.reconnectNow() // a serial line is shared: one dead unit does not reopen it
                }
            }
            if wanted != 0 {
                // A TCP scanner has one device; a serial line's devices share one link: each link
                // switches once, and only if it is not on the asked-for path already.
                let toBackup = wanted & DeviceRepairChannel.toBackup != 0
                var switched = false
                for p in pollers.indices where !pollers[..<p].contains(where: { $0.link === pollers[p].link }) {
                    if pollers[p].link.isOnBackup != toBackup && pollers[p].link.switchPath() { switched = true }
                }
                if switched {
                    for p in pollers.indices {
                        channels[p].onBackup.store(pollers[p].link.isOnBackup, ordering: .relaxed)
                        channels[p].switches.add(1, ordering: .relaxed)
                        nextPoll[p] = 0
                    }
                    // The new path's device may not hold what the old one was told: re-assert outputs.
                    for i in lastWrite.indices { lastWrite[i] = 0 }
                }
            }
            for p in pollers.indices {
                let now = vigil_rt_monotonic_ns()
                guard now >= nextPoll[p] else { continue }
                pollers[p].poll()
                pollers[p].readings.withUnsafeBufferPointer { readings[p].publish($0) }
                // A slowed device that stays clean gets its rate back, one halving at a time.
                if intervals[p] > baseIntervals[p] {
                    cleanPolls[p] = pollers[p].allGood ? cleanPolls[p] + 1 : 0
                    if cleanPolls[p] >= restoreAfterCleanPolls {
                        intervals[p] = max(baseIntervals[p], intervals[p] / 2)
                        cleanPolls[p] = 0
                        channels[p].pollIntervalMilliseconds.store(Int(intervals[p] / 1_000_000), ordering: .relaxed)
                    }
                }
                // Next tick aligned to the interval from the common epoch.
                let since = vigil_rt_monotonic_ns() &- epochNanoseconds
                nextPoll[p] = epochNanoseconds &+ (since / intervals[p] + 1) * intervals[p]
            }
            // Sleep to the next base-period tick (outputs are looked at every tick).
            let now = vigil_rt_monotonic_ns()
            tick = max(tick &+ period, epochNanoseconds &+ ((now &- epochNanoseconds) / period + 1) * period)
            vigil_rt_sleep_until(tick)
        }
    }
}
