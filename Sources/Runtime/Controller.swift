import Logging
import Synchronization
import VigilCore
import Fieldbus
import Control
import Monitor
import Policy
import Journal
import Kernel
import CRuntime

/// Why the controller refuses to start.
public enum ControllerError: Error, Sendable, CustomStringConvertible {
    case periodTooShort(microseconds: Int)
    case control(ControlPlanError)
    case modbus(ModbusError)
    case gpio(GPIOError)
    case thread(ThreadStartError)
    case journal(JournalError)
    case monitor(MonitorConfigurationError)

    public var description: String {
        switch self {
        case .periodTooShort(let us): return "cycle period \(Double(us) / 1000) ms is below 1 ms: the cycle cannot run faster than 1 ms"
        case .control(let e): return "control configuration: \(e)"
        case .modbus(let e): return "Modbus: \(e)"
        case .gpio(let e): return "GPIO: \(e)"
        case .thread(let e): return "\(e)"
        case .journal(let e): return "journal: \(e)"
        case .monitor(let e): return "monitor configuration: \(e)"
        }
    }
}

/// The running controller: bus scanners, the scan cycle, the watchdog and the journal writer,
/// started in that order and stopped in reverse, with outputs in safe state first.
public final class Controller: @unchecked Sendable {
    public let plant: PlantConfig
    private let scanners: [BusScanner]
    let cycle: ScanCycle
    private let outputBoard: OutputBoard
    private let commands = CommandQueue()
    private let queue: EventQueue
    private let writer: JournalWriter
    public let journal: Journal
    private let notifier: SystemdNotifier?
    private let logger: Logger
    private let limitIDs: [String]
    /// Names of event subjects by kind and index (the journal stores names).
    public let subjects: SubjectTable
    /// The one translation between events and journal rows.
    public let codec: EventCodec
    private let started = Atomic<Bool>(false)
    private let nextTicket = Atomic<UInt64>(1)
    private let initialModel: PolicyModel?
    private var policyService: PolicyService?
    /// Alarms about the controller itself (a damaged model at start), beside the cycle's.
    public let systemAlarms = SystemAlarms()
    private let registry = Mutex<(store: ModelStore?, absence: String?)>((nil, nil))

    /// Builds everything from a plant; opens nothing that must be closed until `start()`.
    /// - Parameters:
    ///   - gpio: the plant's GPIO sensors and outputs on a board (nil when it has none).
    ///   - minimumPeriodMicroseconds: the config checker refuses periods below 1 ms; tests may go lower.
    ///   - monitorSettings: monitor knobs to use instead of the plant's `monitor:` section (the plant's policy rows still apply).
    public init(plant: PlantConfig, board: BoardConfig?, gpio: GPIOPlant?, journal: Journal, logger: Logger,
                notifier: SystemdNotifier? = SystemdNotifier(), seed: UInt64 = 1,
                minimumPeriodMicroseconds: Int = 1000, monitorSettings: MonitorSettings? = nil,
                allocationCounter: (@convention(c) () -> UInt64)? = nil, policyModel: PolicyModel? = nil) throws(ControllerError) {
        guard plant.cycle.periodMicroseconds >= minimumPeriodMicroseconds else {
            throw .periodTooShort(microseconds: plant.cycle.periodMicroseconds)
        }
        self.plant = plant
        self.journal = journal
        initialModel = policyModel
        self.logger = logger
        self.notifier = notifier
        let kernel: CycleKernel
        do {
            kernel = try CycleKernel(plant: plant, options: KernelOptions(monitorSettings: monitorSettings, policyModel: policyModel,
                                                                           featureTape: policyModel != nil, sectionFitting: .background))
        } catch {
            switch error {
            case .control(let e): throw .control(e)
            case .monitor(let e): throw .monitor(e)
            }
        }
        limitIDs = kernel.limitIDs
        outputBoard = OutputBoard(outputs: plant.outputs)

        // One scanner per link: a TCP device, or a serial line shared by its units.
        let modbus: ModbusPlant
        do { modbus = try ModbusPlant(config: plant, board: board, clock: SystemMonotonicClock(), seed: seed) } catch { throw .modbus(error) }
        let epoch = vigil_rt_monotonic_ns()
        let period = UInt64(plant.cycle.periodMicroseconds) * 1000
        let commandBoard = outputBoard
        scanners = modbus.links.map { link in
            let pollers = link.pollers.map { modbus.pollers[$0] }
            return BusScanner(name: pollers.map(\.device.id).joined(separator: "+"), pollers: pollers,
                              outputs: LinkTargets.outputs(of: plant, on: pollers.map(\.device)),
                              board: commandBoard, basePeriodNanoseconds: period, epochNanoseconds: epoch)
        }

        subjects = kernel.names
        codec = EventCodec(names: kernel.names)
        let text = EventText(names: kernel.names)
        queue = EventQueue(capacity: 4096, safetyCapacity: 1024)
        writer = JournalWriter(journal: journal, queue: queue, codec: codec, onCommit: { [logger] events in
            for e in events where e.severity >= .warning || e.event.kind == .startup || e.event.kind == .shutdown {
                logger.log(level: Controller.logLevel(e.event), "\(text.describe(e.event))")
            }
        })
        let queue = self.queue
        cycle = ScanCycle(plant: plant, board: board, kernel: kernel, scanners: scanners, gpio: gpio, outputs: outputBoard,
                          commands: commands, notifier: notifier, emit: { event in _ = queue.push(event) })
        cycle.allocationCounter = allocationCounter
        cycle.safetyEventsLost = { [queue] in queue.droppedCount(.safety) }
    }

    /// The policy model version running on the cycle (nil: none, or taken off by a model error).
    public var policyModelVersion: UInt32? {
        guard let watch = cycle.kernel.policyWatch, !watch.isWithdrawn else { return nil }
        return watch.version.load(ordering: .relaxed)
    }

    /// Offers a new policy model (a deployment or a rollback); the cycle swaps it in at its next
    /// boundary. Call from any thread but the cycle's; false while an earlier offer is pending.
    @discardableResult
    public func offerPolicyModel(_ model: PolicyModel) -> Bool {
        guard let watch = cycle.kernel.policyWatch else { return false }
        watch.collectRetired()
        return watch.offer(model)
    }

    /// The model registry the policy model comes from: set at start even when no model loads, so
    /// an engineer can roll back from the console.
    public var modelRegistry: ModelStore? { registry.withLock { $0.store } }
    /// Why no policy model runs on the cycle (nil: one runs, or none was set up).
    public var policyModelAbsence: String? { registry.withLock { $0.absence } }

    /// Records the registry and, when no model runs, why.
    public func setModelRegistry(_ store: ModelStore?, absence: String?) {
        registry.withLock { $0 = (store, absence) }
    }

    /// The system alarm of the model watch's last automatic rollback.
    public static let modelWatchAlarmKey = "policy-model-watch"
    /// The system alarm of a model error (the cycle runs on the rules alone).
    public static let modelErrorAlarmKey = "model-error"

    /// The policy service (feature history, event features, registry watch, learner), once started.
    public var policy: PolicyService? { policyService }

    /// Starts the policy model's work beside the cycle (after `start()`): `store` is the registry the
    /// running model came from (its version `runningVersion`), `learning` turns operator feedback
    /// into validated versions (nil: the controller follows the registry but does not learn).
    public func startPolicyService(store: ModelStore, learning: PolicyLearning?, runningVersion: Int,
                                   configuration: PolicyService.Configuration = PolicyService.Configuration()) throws(ControllerError) {
        guard policyService == nil, let watch = cycle.kernel.policyWatch, let tape = watch.tape, let model = initialModel else { return }
        let service = PolicyService(watch: watch, tape: tape, journal: journal, store: store, learning: learning,
                                    sensorIDs: plant.sensors.map(\.id), model: model, runningVersion: runningVersion,
                                    configuration: configuration, watchSettings: ModelWatchSettings(plant.monitor.policyModel))
        service.onDeployment = { [logger] v in logger.notice("policy model v\(v) deployed in the registry: the cycle takes it at its next boundary") }
        // What a model error asks of the operator, from the intervention policy's `model_error` row.
        let decision = InterventionPolicy(settings: plant.monitor).decision(for: .modelError)
        let wall = configuration.wallNanoseconds
        service.keeper.notify = { [logger, systemAlarms, weak self] notice in
            switch notice {
            case .rolledBack:
                logger.warning("\(notice.text)")
                systemAlarms.raise(key: Self.modelWatchAlarmKey, text: notice.text, wallNanoseconds: wall())
            case .modelError:
                self?.registry.withLock { $0.absence = notice.text }
                logger.error("\(notice.text) (intervention policy: \(decision))")
                systemAlarms.raise(key: Self.modelErrorAlarmKey, text: notice.text + " (intervention policy: \(decision))", wallNanoseconds: wall())
            case .resumed:
                self?.registry.withLock { $0.absence = nil }
                logger.notice("\(notice.text)")
                systemAlarms.clear(key: Self.modelErrorAlarmKey)
            }
        }
        do { try service.start() } catch { throw .thread(error) }
        policyService = service
    }

    /// How loud an event is in the log: what needs a human is an error; planned transitions
    /// (start-up and shutdown safe state, clearing) are notices.
    static func logLevel(_ e: ControllerEvent) -> Logger.Level {
        switch e {
        case .started, .stopped, .safeStateLeft, .interlockCleared, .commandApplied: return .notice
        case .safeStateEntered(let reason):
            return reason == .startup || reason == .shutdown || reason == .operatorRequest ? .notice : .critical
        case .interlockTripped, .watchdogStall, .overrunStorm: return .critical
        default: return e.severity >= .alarm ? .error : e.severity == .warning ? .warning : .info
        }
    }

    /// Heap allocations on the cycle thread after warm-up, and the cycles they span (zero when
    /// no allocation counter was given).
    public var steadyStateAllocations: (allocations: UInt64, cycles: UInt64) {
        (cycle.steadyStateAllocations.load(ordering: .relaxed), cycle.steadyStateCycles.load(ordering: .acquiring))
    }

    /// Starts the journal writer, the bus scanners, then the cycle and its watchdog. Outputs stay
    /// at their safe values until the first good cycle.
    public func start() throws(ControllerError) {
        guard !started.exchange(true, ordering: .acquiringAndReleasing) else { return }
        writer.start()
        do {
            for s in scanners { try s.start() }
            try cycle.start()
        } catch {
            throw .thread(error)
        }
        logger.info("cycle started", metadata: ["period_ms": "\(Double(cycle.periodNanoseconds) / 1e6)",
                                                 "devices": "\(plant.devices.count)", "bus_threads": "\(scanners.count)"])
    }

    /// Waits (polling a flag, off the cycle thread) until the first good cycle, then logs the
    /// real-time warnings and tells systemd `READY=1`. Returns false on timeout.
    public func waitUntilReady(timeoutNanoseconds: UInt64) -> Bool {
        let deadline = vigil_rt_monotonic_ns() &+ timeoutNanoseconds
        while !cycle.hasHadGoodCycle {
            if vigil_rt_monotonic_ns() >= deadline { return false }
            vigil_rt_sleep_until(vigil_rt_monotonic_ns() &+ 2_000_000)
        }
        for warning in cycle.realtimeWarnings { logger.warning("real-time: \(warning)") }
        notifier?.notify("READY=1")
        logger.info("first good cycle: outputs released from start-up safe state")
        return true
    }

    /// Orderly shutdown: the cycle's last pass commands every output safe, the bus threads write
    /// those values and stop, the journal writer drains and commits.
    public func stop() {
        guard started.exchange(false, ordering: .acquiringAndReleasing) else { return }
        notifier?.notify("STOPPING=1")
        // Outputs safe first: nothing slow (a model update on the learner thread) may hold that up.
        cycle.stop()
        for s in scanners { s.stop() } // each writes the (safe) commanded values once more on its way out
        policyService?.stop()
        do { try writer.stop() } catch { logger.error("journal: \(error)") }
        logger.info("stopped: outputs in safe state, journal flushed")
    }

    /// Queues a command for the next cycle boundary. False when the queue is full.
    @discardableResult
    public func submit(_ command: ControllerCommand) -> Bool { commands.submit(command) }

    /// Queues a command and waits (polling every millisecond, on the caller's thread, never the
    /// cycle's) for the cycle's verdict on it. `.timedOut` does not mean refused: the cycle may
    /// still apply it.
    public func execute(_ command: ControllerCommand, timeoutNanoseconds: UInt64 = 2_000_000_000) -> CommandResult {
        let ticket = nextTicket.wrappingAdd(1, ordering: .relaxed).oldValue
        guard commands.submit(command, ticket: ticket) else { return .queueFull }
        let deadline = vigil_rt_monotonic_ns() &+ timeoutNanoseconds
        let slot = Int(ticket % UInt64(ScanCycle.receiptSlots))
        while true {
            let receipt = cycle.receiptBoard.read(at: slot)
            if receipt.ticket == ticket { return CommandResult(rawValue: receipt.result) ?? .timedOut }
            if vigil_rt_monotonic_ns() >= deadline { return .timedOut }
            vigil_rt_sleep_until(vigil_rt_monotonic_ns() &+ 1_000_000)
        }
    }

    /// The longest an alarm may be shelved (the alarm manager refuses more with `.shelveTooLong`).
    public var maximumShelveNanoseconds: UInt64 { cycle.kernel.maximumShelveNanoseconds }

    /// The alarms the cycle holds (cleared ones within their grouping window included), in console
    /// order: highest severity first, then those needing an acknowledgement, then oldest first.
    public func alarms() -> [Alarm] {
        cycle.alarmBoard.snapshot().filter { $0.id != 0 }.sorted(by: AlarmManager.consoleOrder)
    }

    public var timing: CycleTimingSummary { cycle.statistics.summary() }

    /// Hands every cycle sample (lateness, compute time, ns) to `sink` as the timing ring is drained,
    /// besides the timing histograms; nil removes it. The sink runs on whichever thread drains
    /// (`drainTiming()`, `timing`, a snapshot with percentiles), never on the cycle thread.
    public func setCycleSampleSink(_ sink: (@Sendable (_ latenessNanoseconds: UInt64, _ durationNanoseconds: UInt64) -> Void)?) {
        cycle.statistics.setSink(sink)
    }

    /// Moves the cycle samples queued since the last drain into the histograms (and the sink).
    public func drainTiming() { cycle.statistics.drain() }

    /// Each plant device's request counters (config order; zero for a device no bus thread polls).
    public func deviceTraffic() -> [DeviceTraffic] {
        plant.devices.map { device in
            for scanner in scanners {
                if let p = scanner.pollers.firstIndex(where: { $0.device.id == device.id }) { return scanner.traffic[p].read(at: 0) }
            }
            return DeviceTraffic()
        }
    }

    /// Events waiting for the journal writer.
    public var journalQueueDepth: Int { queue.count }

    /// Monotonic time the cycle started (0 before it has): an event at monotonic time t belongs to
    /// cycle (t − epoch) / period.
    public var epochNanoseconds: UInt64 { cycle.epochNanoseconds.load(ordering: .acquiring) }
    /// Whether the self-healing monitor runs in the cycle.
    public var hasMonitor: Bool { cycle.hasMonitor }
    public var periodNanoseconds: UInt64 { cycle.periodNanoseconds }

    /// Forgets the timing histograms (after warm-up).
    public func resetTiming() { cycle.statistics.resetHistograms() }

    /// What the controller shows now. `timingPercentiles: false` leaves the lateness and duration
    /// percentiles out (NaN; the counters stay): reading the histograms is most of a snapshot's cost,
    /// which a frequent reader such as the edge node does not need.
    public func snapshot(timingPercentiles: Bool = true) -> ControllerSnapshot {
        let status = cycle.statusBoard.snapshot()[0]
        let reasons = SafeStateReason.allCases.filter { status.safeStateBits & (1 << UInt32($0.rawValue)) != 0 }
        let tripped = limitIDs.indices.filter { $0 < 64 && status.interlocksTripped & (1 << UInt64($0)) != 0 }.map { limitIDs[$0] }
        return ControllerSnapshot(sensorIDs: plant.sensors.map(\.id), sensors: cycle.sensorBoard.snapshot(),
                                  groupIDs: plant.redundancyGroups.map(\.id), groups: cycle.groupBoard.snapshot(),
                                  health: cycle.healthBoard.snapshot().map { HealthState(rawValue: $0) ?? .healthy },
                                  activeSources: cycle.activeSourceBoard.snapshot().map { Int($0) },
                                  operatorSources: cycle.operatorSourceBoard.snapshot().map { Int($0) },
                                  outputIDs: plant.outputs.map(\.id), outputs: cycle.outputValueBoard.snapshot(),
                                  cycle: status.cycle, safeStateReasons: reasons, trippedInterlocks: tripped,
                                  timing: timingPercentiles ? cycle.statistics.summary() : cycle.statistics.counters(),
                                  watchdogStalls: cycle.watchdog.stallCount,
                                  activeAlarms: Int(status.activeAlarms), annunciatedAlarms: Int(status.annunciatedAlarms),
                                  trustScore: status.trustScore.isNaN ? nil : status.trustScore,
                                  journalDropped: EventSeverity.allCases.reduce(0) { $0 + queue.droppedCount($1) },
                                  deviceIDs: plant.devices.map(\.id),
                                  deviceOnBackup: cycle.repairChannels.map { $0?.onBackup.load(ordering: .relaxed) ?? false },
                                  devicePollIntervalsMilliseconds: zip(plant.devices, cycle.repairChannels).map {
                                      $1?.pollIntervalMilliseconds.load(ordering: .relaxed) ?? $0.pollIntervalMilliseconds },
                                  devicePathSwitches: cycle.repairChannels.map { $0?.switches.load(ordering: .relaxed) ?? 0 })
    }
}
