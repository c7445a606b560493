import VigilCore

/// One Modbus link's work (a TCP device, or a serial line with all its units), pass by pass: write
/// the outputs that changed (or are due a refresh), carry out the repairs the monitor asked for
/// (switch path, slow polling, reconnect), then poll the devices whose turn it is. Time comes from
/// the link's clock, which the transports advance by what each transaction took.
///
/// The real-time runtime runs one thread per link that calls `pass` and sleeps until the time it
/// returns; the virtual-time simulator calls `pass` at that plant time itself. Same code, two clocks.
/// A pass allocates nothing.
public final class LinkSchedule {
    /// An output this link writes: `outputIndex` into the plant's outputs, the device's poller and
    /// the point on it.
    public struct OutputTarget: Sendable, Hashable {
        public var outputIndex: Int
        public var pollerIndex: Int
        public var pointIndex: Int
        public init(outputIndex: Int, pollerIndex: Int, pointIndex: Int) {
            self.outputIndex = outputIndex
            self.pollerIndex = pollerIndex
            self.pointIndex = pointIndex
        }
    }

    /// Repair request bits, per device. A path switch names the path to go to, so that several
    /// devices of one serial line asking together (or a request already acted on) switch the line once.
    public static let toBackup: UInt32 = 1 << 0
    public static let slowPolling: UInt32 = 1 << 1
    public static let reconnect: UInt32 = 1 << 2
    public static let toPrimary: UInt32 = 1 << 3

    /// The request bits that carry out a repair strategy (0: not a link's job). A switch goes to the
    /// other path than the one in use when the monitor decided.
    public static func requestBits(for strategy: RepairStrategyRequest, onBackup: Bool) -> UInt32 {
        switch strategy {
        case .reconnect: return reconnect
        case .switchPath: return onBackup ? toPrimary : toBackup
        case .slowPolling: return slowPolling
        }
    }

    /// The repairs a link can carry out.
    public enum RepairStrategyRequest: Sendable, Hashable {
        case switchPath, slowPolling, reconnect
    }

    public let pollers: [DevicePoller]
    public let outputs: [OutputTarget]
    /// Clean polls in a row after which a slowed device's interval is halved back toward its base.
    public var restoreAfterCleanPolls = 200
    /// Output writes that failed (each is retried on the next pass).
    public private(set) var writeFailures = 0
    /// Path switches made.
    public private(set) var switches = 0

    private let clock: any MonotonicClock
    private let basePeriodNanoseconds: UInt64
    private let epochNanoseconds: UInt64
    /// Re-assert outputs at least this often even when unchanged (a device that restarted forgets them).
    private let refreshNanoseconds: UInt64
    private let baseIntervals: [UInt64]
    private let ceilings: [UInt64]
    private var intervals: [UInt64]
    private var cleanPolls: [Int]
    private var nextPoll: [UInt64]
    private var written: [Double]
    private var lastWrite: [UInt64]
    private var tick: UInt64

    /// `epochNanoseconds` aligns every device's polls: device d polls on ticks of the base period
    /// that are multiples of its interval from the epoch.
    public init(pollers: [DevicePoller], outputs: [OutputTarget], clock: any MonotonicClock, basePeriodNanoseconds: UInt64,
                epochNanoseconds: UInt64, refreshNanoseconds: UInt64 = 1_000_000_000) {
        self.pollers = pollers
        self.outputs = outputs
        self.clock = clock
        let period = max(1, basePeriodNanoseconds)
        self.basePeriodNanoseconds = period
        self.epochNanoseconds = epochNanoseconds
        self.refreshNanoseconds = refreshNanoseconds
        baseIntervals = pollers.map { max(period, UInt64(max(1, $0.device.pollIntervalMilliseconds)) * 1_000_000) }
        ceilings = pollers.indices.map { [baseIntervals] p in
            max(baseIntervals[p], UInt64(pollers[p].device.pollIntervalCeilingMilliseconds) * 1_000_000)
        }
        intervals = baseIntervals
        cleanPolls = Array(repeating: 0, count: pollers.count)
        nextPoll = Array(repeating: 0, count: pollers.count)
        written = Array(repeating: .nan, count: outputs.count)
        lastWrite = Array(repeating: 0, count: outputs.count)
        tick = epochNanoseconds
    }

    /// The interval device `p` is polled at now (slow polling raises it).
    public func pollIntervalNanoseconds(_ p: Int) -> UInt64 { intervals[p] }

    /// Whether device `p` is reached over its backup path.
    public func isOnBackup(_ p: Int) -> Bool { pollers[p].link.isOnBackup }

    /// One pass at the link's current time. `commanded` holds every plant output's value (the safe
    /// values when the outputs are forced); `requests(p)` hands over (and clears) the repair bits
    /// asked for device `p`; `published(p)` is called after each poll of device `p`. With `final`,
    /// every output is written once more and nothing is polled (an orderly stop). Returns the time
    /// of the next pass: the next base-period tick.
    @discardableResult
    public func pass(commanded: UnsafeBufferPointer<Double>, requests: (Int) -> UInt32, published: (Int) -> Void,
                     final: Bool = false) -> UInt64 {
        // Outputs first: a command must not wait behind a slow poll.
        for (i, target) in outputs.enumerated() where target.outputIndex < commanded.count {
            let value = commanded[target.outputIndex]
            let now = clock.nowNanoseconds()
            guard value != written[i] || now &- lastWrite[i] >= refreshNanoseconds || final else { continue }
            do {
                try pollers[target.pollerIndex].write(pointIndex: target.pointIndex, engineeringValue: value)
                written[i] = value
                lastWrite[i] = now
            } catch {
                written[i] = .nan // retry next pass
                writeFailures += 1
            }
        }
        if final { return clock.nowNanoseconds() }
        // Repairs the cycle asked for, before this pass's polls.
        var wanted: UInt32 = 0 // toBackup / toPrimary asked by any device this pass
        for p in pollers.indices {
            let request = requests(p)
            guard request != 0 else { continue }
            wanted |= request & (Self.toBackup | Self.toPrimary)
            if request & Self.slowPolling != 0 {
                intervals[p] = min(intervals[p] &* 2, ceilings[p])
                cleanPolls[p] = 0
            }
            if request & Self.reconnect != 0 && pollers.count == 1 {
                pollers[p].link.reconnectNow() // a serial line is shared: one dead unit does not reopen it
            }
        }
        if wanted != 0 {
            // A TCP link has one device; a serial line's devices share one link: each link switches
            // once, and only if it is not on the asked-for path already.
            let toBackup = wanted & Self.toBackup != 0
            var switched = false
            for p in pollers.indices where !pollers[..<p].contains(where: { $0.link === pollers[p].link }) {
                if pollers[p].link.isOnBackup != toBackup && pollers[p].link.switchPath() { switched = true }
            }
            if switched {
                switches += 1
                for p in pollers.indices { nextPoll[p] = 0 }
                // The new path's device may not hold what the old one was told: re-assert outputs.
                for i in lastWrite.indices { lastWrite[i] = 0 }
            }
        }
        for p in pollers.indices {
            guard clock.nowNanoseconds() >= nextPoll[p] else { continue }
            pollers[p].poll()
            published(p)
            // A slowed device that stays clean gets its rate back, one halving at a time.
            if intervals[p] > baseIntervals[p] {
                cleanPolls[p] = pollers[p].allGood ? cleanPolls[p] + 1 : 0
                if cleanPolls[p] >= restoreAfterCleanPolls {
                    intervals[p] = max(baseIntervals[p], intervals[p] / 2)
                    cleanPolls[p] = 0
                }
            }
            // Next turn aligned to the interval from the common epoch.
            let since = clock.nowNanoseconds() &- epochNanoseconds
            nextPoll[p] = epochNanoseconds &+ (since / intervals[p] + 1) * intervals[p]
        }
        // The next base-period tick (outputs are looked at every tick).
        let now = clock.nowNanoseconds()
        let period = basePeriodNanoseconds
        tick = max(tick &+ period, epochNanoseconds &+ ((now &- epochNanoseconds) / period + 1) * period)
        return tick
    }
}

/// Which plant outputs a link writes.
public enum LinkTargets {
    /// The outputs of `plant` on points of `devices` (the devices of one link, in poller order).
    public static func outputs(of plant: PlantConfig, on devices: [DeviceConfig]) -> [LinkSchedule.OutputTarget] {
        var targets: [LinkSchedule.OutputTarget] = []
        for (o, output) in plant.outputs.enumerated() {
            guard case .point(let device, let point) = output.target,
                  let p = devices.firstIndex(where: { $0.id == device }),
                  let index = devices[p].points.firstIndex(where: { $0.id == point }) else { continue }
            targets.append(LinkSchedule.OutputTarget(outputIndex: o, pollerIndex: p, pointIndex: index))
        }
        return targets
    }
}
