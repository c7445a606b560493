import Synchronization
import VigilCore
import Fieldbus
import Kernel
import Monitor
import CRuntime

/// The real-time front end of the cycle kernel: a dedicated thread that wakes at absolute
/// `clock_nanosleep` deadlines, gathers the bus threads' latest readings and the GPIO inputs, runs
/// one `CycleKernel.step` at `CLOCK_MONOTONIC`, and hands the results on: outputs to the output
/// board (Modbus, written by the bus threads) and the GPIO lines, events to the journal's queue,
/// repair requests to the bus threads, receipts and state to seqlock boards other threads read.
///
/// Every decision is the kernel's; this type only moves values between threads and hardware. Steady
/// state allocates nothing and never waits on the fieldbus.
final class ScanCycle: @unchecked Sendable {
    let kernel: CycleKernel
    /// Where each sensor's reading comes from: a flat index into the Modbus point readings
    /// (≥ 0) or a GPIO sensor (−1 − gpio index).
    private let sensorSource: [Int]
    private let scanners: [BusScanner]
    /// Per plant device: the mailbox of its bus thread, where device repairs are requested.
    let repairChannels: [DeviceRepairChannel?]
    /// Flat point offset of each (scanner, poller).
    private let pointOffset: [[Int]]
    private let gpio: GPIOPlant?
    /// Per plant output: its GPIO output index, or −1 when it is a Modbus output.
    private let gpioOutput: [Int]
    private let outputs: OutputBoard
    private let commands: CommandQueue
    /// A command taken from the queue that the kernel's inbox had no room for.
    private var heldCommand: (command: ControllerCommand, ticket: UInt64)?
    let statistics = CycleStatistics()
    let watchdog: Watchdog
    private let emit: (TimedEvent) -> Void
    /// Safety events the journal queue could not take: losing one is a fatal fault.
    var safetyEventsLost: () -> Int = { 0 }
    let periodNanoseconds: UInt64
    private let realtime: RealtimeConfig
    private let boardCPU: Int?

    // Published for other threads.
    let sensorBoard: SeqLockBoard<Reading>
    let outputValueBoard: SeqLockBoard<Double>
    /// Per group: the value control uses; per sensor: health state; per group: active source index.
    let groupBoard: SeqLockBoard<Reading>
    let healthBoard: SeqLockBoard<Int32>
    let activeSourceBoard: SeqLockBoard<Int32>
    let statusBoard = SeqLockBoard<CycleStatus>(count: 1, initial: CycleStatus())
    /// Every held alarm (id 0: an empty slot), published when any alarm changed.
    let alarmBoard: SeqLockBoard<Alarm>
    private let alarmScratch: UnsafeMutableBufferPointer<Alarm>
    private var publishedAlarmRevision: UInt64 = .max
    /// Per group: the sensor index an operator put control on, −1 in automatic.
    let operatorSourceBoard: SeqLockBoard<Int32>
    private let operatorScratch: UnsafeMutableBufferPointer<Int32>
    /// Results of ticketed commands, slot `ticket % receiptSlots`.
    let receiptBoard = SeqLockBoard<CommandReceipt>(count: ScanCycle.receiptSlots, initial: CommandReceipt())
    static let receiptSlots = 64
    private let stopRequested = Atomic<Bool>(false)
    /// Monotonic time of cycle 0's start: cycle n's deadline is epoch + (n + 1) × period.
    let epochNanoseconds = Atomic<UInt64>(0)
    private let firstGood = Atomic<Bool>(false)
    private(set) var realtimeWarnings: [String] = []
    /// Reads the calling thread's heap allocation count (set only where an allocation counter is
    /// linked: tests and benchmarks). The cycle measures its own allocations with it.
    var allocationCounter: (@convention(c) () -> UInt64)?
    /// Cycles after start before allocations are counted (warm-up: first connections, first events).
    var allocationWarmupCycles: UInt64 = 1000
    /// Allocations on the cycle thread since warm-up, and the cycles they span.
    let steadyStateAllocations = Atomic<UInt64>(0)
    let steadyStateCycles = Atomic<UInt64>(0)
    private var thread: JoinableThread?
    private var fitter: JoinableThread?

    // Cycle-thread state, allocated once.
    private let points: UnsafeMutableBufferPointer<Reading>
    private let sensors: UnsafeMutableBufferPointer<Reading>
    private let healthScratch: UnsafeMutableBufferPointer<Int32>
    private let activeScratch: UnsafeMutableBufferPointer<Int32>
    private var lastGPIOWritten: [Double]
    private var previousOverrun: UInt64 = 0

    init(plant: PlantConfig, board: BoardConfig?, kernel: CycleKernel, scanners: [BusScanner], gpio: GPIOPlant?, outputs: OutputBoard,
         commands: CommandQueue, notifier: SystemdNotifier?, emit: @escaping (TimedEvent) -> Void) {
        self.kernel = kernel
        let alarmCapacity = kernel.alarmCapacity
        alarmBoard = SeqLockBoard(count: alarmCapacity, initial: kernel.blankAlarm)
        alarmScratch = .allocate(capacity: alarmCapacity)
        alarmScratch.initialize(repeating: kernel.blankAlarm)
        let groupCount = plant.redundancyGroups.count
        operatorSourceBoard = SeqLockBoard(count: groupCount, initial: -1)
        operatorScratch = .allocate(capacity: max(1, groupCount))
        operatorScratch.initialize(repeating: -1)
        healthScratch = .allocate(capacity: max(1, plant.sensors.count))
        healthScratch.initialize(repeating: HealthState.healthy.rawValue)
        activeScratch = .allocate(capacity: max(1, groupCount))
        activeScratch.initialize(repeating: -1)
        groupBoard = SeqLockBoard(count: groupCount, initial: .unread)
        healthBoard = SeqLockBoard(count: plant.sensors.count, initial: HealthState.healthy.rawValue)
        activeSourceBoard = SeqLockBoard(count: groupCount, initial: -1)
        self.scanners = scanners
        self.gpio = gpio
        self.outputs = outputs
        self.commands = commands
        self.emit = emit
        periodNanoseconds = kernel.periodNanoseconds
        realtime = plant.cycle.realtime
        boardCPU = board?.cycleCPU

        // Resolve every sensor to where its reading lands.
        var offsets: [[Int]] = [], flat = 0
        var pointLocation: [String: Int] = [:]
        for scanner in scanners {
            var row: [Int] = []
            for poller in scanner.pollers {
                row.append(flat)
                for (i, point) in poller.device.points.enumerated() { pointLocation["\(poller.device.id)/\(point.id)"] = flat + i }
                flat += poller.device.points.count
            }
            offsets.append(row)
        }
        pointOffset = offsets
        var channels = [DeviceRepairChannel?](repeating: nil, count: plant.devices.count)
        for scanner in scanners {
            for (p, poller) in scanner.pollers.enumerated() {
                if let d = plant.devices.firstIndex(where: { $0.id == poller.device.id }) { channels[d] = scanner.channels[p] }
            }
        }
        repairChannels = channels
        sensorSource = plant.sensors.map { sensor in
            switch sensor.source {
            case .point(let device, let point): return pointLocation["\(device)/\(point)"] ?? Int.min
            case .gpio: return -1 - (gpio?.sensorIDs.firstIndex(of: sensor.id) ?? Int.max - 1)
            }
        }
        gpioOutput = plant.outputs.map { output in gpio?.outputIDs.firstIndex(of: output.id) ?? -1 }
        points = .allocate(capacity: max(1, flat))
        points.initialize(repeating: .unread)
        sensors = .allocate(capacity: max(1, plant.sensors.count))
        sensors.initialize(repeating: .unread)
        lastGPIOWritten = Array(repeating: .nan, count: plant.outputs.count)
        sensorBoard = SeqLockBoard(count: plant.sensors.count, initial: .unread)
        outputValueBoard = SeqLockBoard(count: plant.outputs.count, initial: 0)
        watchdog = Watchdog(periodNanoseconds: periodNanoseconds, stallPeriods: plant.cycle.watchdogPeriods,
                            notifier: notifier, onStall: { [outputs] in outputs.forceSafe() })
    }

    deinit {
        points.deallocate()
        sensors.deallocate()
        healthScratch.deallocate()
        activeScratch.deallocate()
        alarmScratch.deallocate()
        operatorScratch.deallocate()
    }

    /// Whether the self-healing monitor runs in this cycle.
    var hasMonitor: Bool { kernel.hasMonitor }

    /// Whether a cycle has completed with every required input good.
    var hasHadGoodCycle: Bool { firstGood.load(ordering: .acquiring) }

    func start() throws(ThreadStartError) {
        if let sections = kernel.sections, sections.fitting == .background, !sections.trainingDone {
            // Fits each section's PCA model beside the cycle; the cycle swaps it in at a boundary.
            fitter = try JoinableThread(name: "vigil-sections") { [self, sections] in
                while !stopRequested.load(ordering: .acquiring) && !sections.trainingDone {
                    sections.fitPending()
                    vigil_rt_sleep_until(vigil_rt_monotonic_ns() &+ 5_000_000)
                }
                sections.fitPending()
            }
        }
        thread = try JoinableThread(name: "vigil-cycle") { [self] in run() }
        try watchdog.start()
    }

    /// Orderly stop: the cycle runs one last time in safe state (`.shutdown`), publishes the safe
    /// values, and ends; then the watchdog stops.
    func stop() {
        stopRequested.store(true, ordering: .releasing)
        thread?.join()
        thread = nil
        fitter?.join()
        fitter = nil
        watchdog.stop()
    }

    // MARK: The cycle thread

    private func run() {
        realtimeWarnings = RealtimeSetup.apply(realtime, boardCPU: boardCPU)
        let period = periodNanoseconds
        let spin = UInt64(max(0, realtime.spinMicroseconds)) * 1000
        let epoch = vigil_rt_monotonic_ns()
        epochNanoseconds.store(epoch, ordering: .releasing)
        var deadline = epoch &+ period
        var cycles: UInt64 = 0
        var allocationBase: UInt64 = 0
        kernel.start(nowNanoseconds: epoch)
        forward()
        while !stopRequested.load(ordering: .acquiring) {
            if spin > 0 {
                vigil_rt_sleep_until(deadline > spin ? deadline - spin : deadline)
                while vigil_rt_monotonic_ns() < deadline {}
            } else {
                vigil_rt_sleep_until(deadline)
            }
            let wake = vigil_rt_monotonic_ns()
            let lateness = wake > deadline ? wake - deadline : 0

            cycle(now: wake)

            let end = vigil_rt_monotonic_ns()
            statistics.ring.push(CycleSample(latenessNanoseconds: lateness, durationNanoseconds: end &- wake))
            statistics.cycles.add(1, ordering: .relaxed)
            watchdog.cycleCompleted()
            cycles &+= 1
            if let counter = allocationCounter {
                if cycles == allocationWarmupCycles { allocationBase = counter() }
                if cycles > allocationWarmupCycles {
                    steadyStateAllocations.store(counter() &- allocationBase, ordering: .relaxed)
                    steadyStateCycles.store(cycles &- allocationWarmupCycles, ordering: .releasing)
                }
            }
            // An overrun: the cycle finished after the next deadline had already passed. The kernel
            // hears of it at the next step (and decides on an overrun storm).
            if end > deadline &+ period {
                statistics.overruns.add(1, ordering: .relaxed)
                previousOverrun = end &- deadline
            } else {
                previousOverrun = 0
            }
            deadline &+= period
            let now = vigil_rt_monotonic_ns()
            if now >= deadline { // missed ticks are skipped, not run back to back
                deadline = epoch &+ ((now &- epoch) / period &+ 1) &* period
            }
            let stall = kernel.stallRequestMilliseconds
            if stall > 0 { // drill: hang the cycle thread once
                vigil_rt_sleep_until(vigil_rt_monotonic_ns() &+ UInt64(stall) * 1_000_000)
            }
        }
        // Orderly shutdown: one last step in safe state, so every output is commanded safe.
        gatherInputs()
        kernel.stepShutdown(nowNanoseconds: vigil_rt_monotonic_ns(), sensors: UnsafeBufferPointer(sensors))
        deliver()
        outputs.forceSafe()
    }

    /// Readings of every device board and the GPIO inputs into the kernel's sensor order.
    private func gatherInputs() {
        for (s, scanner) in scanners.enumerated() {
            for p in scanner.readings.indices {
                let board = scanner.readings[p]
                scanner.readings[p].read(into: UnsafeMutableBufferPointer(rebasing: points[pointOffset[s][p]..<(pointOffset[s][p] + board.count)]))
            }
        }
        gpio?.poll()
        for i in sensorSource.indices {
            let source = sensorSource[i]
            if source >= 0 {
                sensors[i] = points[source]
            } else if let gpio, source != Int.min {
                sensors[i] = gpio.reading(at: -1 - source)
            }
        }
    }

    /// One pass: inputs, the kernel's step, then its results to the hardware and the other threads.
    /// No allocation, no blocking I/O (GPIO is a syscall per line).
    private func cycle(now: UInt64) {
        gatherInputs()
        // Commands queued by other threads go into the kernel's inbox at the cycle boundary.
        if let held = heldCommand, kernel.enqueue(held.command, ticket: held.ticket) { heldCommand = nil }
        if heldCommand == nil {
            commands.drainIfAvailable { command, ticket in
                if heldCommand == nil && !kernel.enqueue(command, ticket: ticket) { heldCommand = (command, ticket) }
                return heldCommand == nil
            }
        }
        let conditions = CycleConditions(previousOverrunNanoseconds: previousOverrun, watchdogStalled: watchdog.isStalled,
                                         safetyEventsLost: safetyEventsLost() > 0)
        kernel.step(nowNanoseconds: now, sensors: UnsafeBufferPointer(sensors), conditions: conditions)
        if kernel.safeStateResetAccepted {
            if watchdog.isStalled { watchdog.clearStall() }
            outputs.release()
        }
        deliver()
    }

    /// The kernel's results of the last step: outputs, events, repairs, receipts, published state.
    private func deliver() {
        // Outputs: Modbus through the board (bus threads write), GPIO directly.
        kernel.withOutputs { outputs.command($0) }
        if let gpio {
            for o in gpioOutput.indices where gpioOutput[o] >= 0 {
                let value = outputs.isForced ? outputs.safeValues[o] : kernel.output(o)
                if value != lastGPIOWritten[o] {
                    do {
                        try gpio.write(outputAt: gpioOutput[o], value: value != 0)
                        lastGPIOWritten[o] = value
                    } catch {
                        lastGPIOWritten[o] = .nan
                    }
                }
            }
        }
        for e in kernel.events {
            if case .overrunStorm = e.event { statistics.overrunStorms.add(1, ordering: .relaxed) }
            emit(e)
        }
        // Device repairs are executed by the owning bus thread at its next pass.
        for r in kernel.repairRequests where Int(r.device) < repairChannels.count {
            if let channel = repairChannels[Int(r.device)] { channel.request(channel.bits(for: r.strategy)) }
        }
        for r in kernel.receipts {
            receiptBoard.publish(at: Int(r.ticket % UInt64(Self.receiptSlots)), CommandReceipt(ticket: r.ticket, result: r.result.rawValue))
        }
        if kernel.hasHadGoodCycle && !firstGood.load(ordering: .relaxed) { firstGood.store(true, ordering: .releasing) }

        sensorBoard.publish(UnsafeBufferPointer(sensors))
        if kernel.hasMonitor {
            groupBoard.publish(kernel.groups)
            for i in 0..<kernel.sensorCount { healthScratch[i] = kernel.health(sensor: i).rawValue }
            for g in 0..<kernel.groupCount { activeScratch[g] = Int32(kernel.activeSource(group: g)) }
            healthBoard.publish(UnsafeBufferPointer(healthScratch))
            activeSourceBoard.publish(UnsafeBufferPointer(activeScratch))
            for g in 0..<kernel.groupCount { operatorScratch[g] = Int32(kernel.operatorSource(group: g) ?? -1) }
            operatorSourceBoard.publish(UnsafeBufferPointer(operatorScratch))
        }
        if kernel.alarmRevision != publishedAlarmRevision {
            kernel.copyAlarms(into: alarmScratch)
            alarmBoard.publish(UnsafeBufferPointer(alarmScratch))
            publishedAlarmRevision = kernel.alarmRevision
        }
        kernel.withOutputs { outputValueBoard.publish($0) }
        var tripped: UInt64 = 0
        for i in 0..<min(64, kernel.limitIDs.count) where kernel.isInterlockTripped(i) { tripped |= 1 << UInt64(i) }
        statusBoard.publish(at: 0, CycleStatus(cycle: statistics.cycles.load(ordering: .relaxed), safeStateBits: kernel.safeStateReasons.bits,
                                               interlocksTripped: tripped, consecutiveOverruns: UInt32(kernel.overrunsInARow),
                                               firstGoodCycle: kernel.hasHadGoodCycle,
                                               activeAlarms: Int32(kernel.activeAlarmCount), annunciatedAlarms: Int32(kernel.annunciatedAlarmCount),
                                               trustScore: kernel.trustScore ?? .nan))
    }

    /// Forwards the kernel's pending events (those of `start`).
    private func forward() {
        for e in kernel.events { emit(e) }
    }
}
