import Synchronization
import VigilCore
import Fieldbus
import CRuntime

/// One thread per Modbus link (a TCP device, or a serial line with all its units) that runs the
/// link's `LinkSchedule` in real time: a pass, then sleep to the time the pass asks for.
///
/// The cycle thread never waits on the fieldbus: it reads the latest readings from `readings`
/// and commands outputs through the `OutputBoard`. A dead device costs its own bus thread a
/// timeout; the cycle keeps its period.
final class BusScanner: @unchecked Sendable {
    let name: String
    let schedule: LinkSchedule
    var pollers: [DevicePoller] { schedule.pollers }
    /// Latest readings per poller (device), in `device.points` order.
    let readings: [SeqLockBoard<Reading>]
    /// Repair requests from the cycle and the path and poll interval in use, per poller.
    let channels: [DeviceRepairChannel]
    /// Each poller's request counters, published after each of its polls.
    let traffic: [SeqLockBoard<DeviceTraffic>]
    private let board: OutputBoard

    private let stopping = Atomic<Bool>(false)
    private let writeFailuresCounter = Atomic<Int>(0)
    private var thread: JoinableThread?

    init(name: String, pollers: [DevicePoller], outputs: [LinkSchedule.OutputTarget], board: OutputBoard,
         basePeriodNanoseconds: UInt64, epochNanoseconds: UInt64, refreshNanoseconds: UInt64 = 1_000_000_000) {
        self.name = name
        schedule = LinkSchedule(pollers: pollers, outputs: outputs, clock: SystemMonotonicClock(), basePeriodNanoseconds: basePeriodNanoseconds,
                                epochNanoseconds: epochNanoseconds, refreshNanoseconds: refreshNanoseconds)
        self.readings = pollers.map { SeqLockBoard(count: $0.device.points.count, initial: .unread) }
        self.channels = pollers.map { DeviceRepairChannel(pollIntervalMilliseconds: $0.device.pollIntervalMilliseconds,
                                                          hasBackup: $0.link.backup != nil) }
        self.traffic = pollers.map { _ in SeqLockBoard(count: 1, initial: DeviceTraffic()) }
        self.board = board
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
        let commanded = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, board.count))
        commanded.initialize(repeating: .nan)
        defer { commanded.deallocate() }
        let channels = self.channels, readings = self.readings, pollers = self.pollers, traffic = self.traffic
        while true {
            let last = stopping.load(ordering: .acquiring)
            board.values(into: commanded)
            let next = schedule.pass(commanded: UnsafeBufferPointer(commanded), requests: { p in
                let bits = channels[p].take()
                if bits != 0 { channels[p].executed.add(1, ordering: .relaxed) }
                return bits
            }, published: { p in
                pollers[p].readings.withUnsafeBufferPointer { readings[p].publish($0) }
                traffic[p].publish(at: 0, pollers[p].traffic)
            }, final: last)
            writeFailuresCounter.store(schedule.writeFailures, ordering: .relaxed)
            for p in pollers.indices {
                channels[p].onBackup.store(schedule.isOnBackup(p), ordering: .relaxed)
                channels[p].pollIntervalMilliseconds.store(Int(schedule.pollIntervalNanoseconds(p) / 1_000_000), ordering: .relaxed)
                if channels[p].switches.load(ordering: .relaxed) != schedule.switches {
                    channels[p].switches.store(schedule.switches, ordering: .relaxed)
                }
            }
            if last { return }
            vigil_rt_sleep_until(next)
        }
    }
}
