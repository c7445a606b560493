import Foundation
import Logging
import Config
import Fieldbus
import HIL
import Journal
import Kernel
import Monitor
import Runtime
import VigilCore

/// Why a scenario could not be run (as opposed to run and failed).
public enum ScenarioError: Error, Sendable, CustomStringConvertible {
    case config(ConfigError)
    case rig(String)
    case controller(ControllerError)
    case injection(FaultInjectionError)
    case journal(JournalError)
    /// The controller's cycle counter stopped moving.
    case stalled(cycle: UInt64, expected: UInt64)

    public var description: String {
        switch self {
        case .config(let e): return e.description
        case .rig(let e): return "simulated rig: \(e)"
        case .controller(let e): return "controller: \(e)"
        case .injection(let e): return "fault injection: \(e)"
        case .journal(let e): return "journal: \(e)"
        case .stalled(let c, let n): return "the controller's cycle counter stalled at \(c) of \(n) cycles"
        }
    }
}

/// Runs a scenario through the real runtime: the `Controller` in-process against a `SimulatedRig`
/// (loopback TCP, ptys, mock GPIO), faults applied as the cycle counter reaches them, traces
/// sampled from snapshots, then the journal read back and every expectation judged.
public struct ScenarioRunner: Sendable {
    /// Whether the controller has the self-healing monitor; scenarios that `require: monitor` are
    /// skipped when it does not.
    public var monitorAvailable: @Sendable (Controller) -> Bool
    public var logger: Logger

    public init(monitorAvailable: @escaping @Sendable (Controller) -> Bool = ScenarioRunner.controllerHasMonitor,
                logger: Logger = ScenarioRunner.quietLogger) {
        self.monitorAvailable = monitorAvailable
        self.logger = logger
    }

    /// The one place that asks the runtime whether its monitor is wired in.
    /// The Runtime has no monitor hook yet; once it exposes one this returns `controller.hasMonitor`.
    public static let controllerHasMonitor: @Sendable (Controller) -> Bool = { $0.hasMonitor }

    public static var quietLogger: Logger {
        Logger(label: "vigil.hil", factory: { _ in SwiftLogNoOpLogHandler() })
    }

    /// Loads the scenario's plant and applies its overrides (period, poll interval).
    public static func plant(for scenario: Scenario) throws(ScenarioError) -> (plant: PlantConfig, board: BoardConfig?, boardFile: String?) {
        let loaded: (plant: PlantConfig, board: BoardConfig?)
        do { loaded = try ConfigLoader.loadPlant(path: scenario.configPath) } catch { throw .config(error) }
        var plant = loaded.plant
        let problems = ScenarioDecoder.check(scenario, against: plant)
        if !problems.isEmpty { throw .config(ConfigError(diagnostics: problems)) }
        if let ms = scenario.periodMilliseconds { plant.cycle.periodMicroseconds = Int((ms * 1000).rounded()) }
        if let ms = scenario.pollIntervalMilliseconds {
            for i in plant.devices.indices { plant.devices[i].pollIntervalMilliseconds = ms }
        }
        let boardFile = plant.board.map { ScenarioDecoder.resolve($0, relativeTo: scenario.configPath) }
        return (plant, loaded.board, boardFile)
    }

    /// Runs one scenario to its end and judges it. Blocks for about `cycles × period`.
    public func run(_ scenario: Scenario) throws(ScenarioError) -> ScenarioResult {
        let (plant, board, boardFile) = try Self.plant(for: scenario)
        let period = UInt64(plant.cycle.periodMicroseconds) * 1000
        var result = Self.emptyResult(scenario, plant: plant, clock: .realtime)

        let clock = SystemMonotonicClock()
        let rig: SimulatedRig
        do {
            let ports: SimulatedRig.PortPlan = switch scenario.rig.ports {
            case .ephemeral: .ephemeral
            case .configured: .configured
            case .offset(let o): .offset(o)
            }
            rig = try SimulatedRig(plant: plant, ports: ports, pacing: scenario.rig.pacing == .unpaced ? .unpaced : nil,
                                   seed: scenario.seed, clock: clock)
        } catch {
            throw .rig(String(describing: error))
        }
        defer { rig.stop() }
        let injector = FaultInjector(rig: rig)

        var gpio: GPIOPlant?
        if let board, let boardFile, Self.usesGPIO(rig.plant) {
            let (gpioBoard, chips) = SimulatedGPIO.board(for: board, boardFile: boardFile, plant: rig.plant, clock: clock)
            rig.attachGPIO(chips: chips, board: board)
            do { gpio = try GPIOPlant(config: rig.plant, board: gpioBoard, clock: clock) } catch { throw .rig("GPIO: \(error)") }
        }
        for f in scenario.faults {
            do { try injector.validate(f) } catch { throw .injection(error) }
        }
        let journalPath = NSTemporaryDirectory() + "vigil-hil-\(getpid())-\(UUID().uuidString).sqlite"
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: journalPath + suffix) } }
        let journal: Journal
        do { journal = try Journal(path: journalPath) } catch { throw .journal(error) }
        let controller: Controller
        do {
            controller = try Controller(plant: rig.plant, board: board, gpio: gpio, journal: journal, logger: logger,
                                        notifier: nil, seed: scenario.seed)
        } catch {
            throw .controller(error)
        }
        if scenario.requires.contains(.monitor) && !monitorAvailable(controller) {
            result.status = .skipped
            result.skipReason = "requires the self-healing monitor, which this controller does not have"
            return result
        }

        do { try controller.start() } catch { throw .controller(error) }
        let driven: (samples: [TraceSample], injected: [InjectedRecord])
        do {
            driven = try drive(scenario, controller: controller, injector: injector, plant: plant)
        } catch {
            controller.stop()
            throw error
        }
        controller.stop()
        rig.stop()
        result.samples = driven.samples
        result.injected = driven.injected

        let events: [StoredEvent]
        do { events = try journal.recentEvents(limit: 10_000_000).reversed() } catch { throw .journal(error) }
        collect(events, epoch: controller.epochNanoseconds, period: period, plant: plant, into: &result)
        result.expectations = scenario.expectations.map { ScenarioJudge(scenario: scenario, result: result).judge($0) }
        result.status = result.expectations.allSatisfy(\.passed) ? .passed : .failed
        return result
    }

    /// A result with the plant's names filled in and nothing judged yet.
    static func emptyResult(_ scenario: Scenario, plant: PlantConfig, clock: ScenarioResult.Clock) -> ScenarioResult {
        let period = UInt64(plant.cycle.periodMicroseconds) * 1000
        var result = ScenarioResult(name: scenario.name, file: scenario.file, status: .passed, cycles: scenario.cycles,
                                    periodMilliseconds: Double(period) / 1e6, seed: scenario.seed)
        result.clock = clock
        result.sensorIDs = plant.sensors.map(\.id)
        result.outputIDs = plant.outputs.map(\.id)
        result.groupIDs = plant.redundancyGroups.map(\.id)
        result.groupMembers = plant.redundancyGroups.map(\.members)
        result.deviceIDs = plant.devices.map(\.id)
        result.keySensors = Self.keySensors(scenario, plant)
        for l in plant.limits {
            if let v = l.high { result.limitLines.append(.init(subject: l.subject, label: "\(l.id) > \(format(v))", level: v)) }
            if let v = l.low { result.limitLines.append(.init(subject: l.subject, label: "\(l.id) < \(format(v))", level: v)) }
        }
        return result
    }

    /// The case name (the description is a sentence).
    static func name(_ r: SafeStateReason) -> String {
        switch r {
        case .startup: return "startup"
        case .interlock: return "interlock"
        case .fatalFault: return "fatalFault"
        case .overrunStorm: return "overrunStorm"
        case .watchdogStall: return "watchdogStall"
        case .shutdown: return "shutdown"
        case .operatorRequest: return "operatorRequest"
        }
    }

    static func usesGPIO(_ plant: PlantConfig) -> Bool {
        plant.sensors.contains { if case .gpio = $0.source { true } else { false } }
            || plant.outputs.contains { if case .gpio = $0.target { true } else { false } }
    }

    /// Sensors that get a panel besides the groups: Modbus sensors a fault targets (directly or
    /// through their device) and sensors a limit watches, outside groups.
    static func keySensors(_ scenario: Scenario, _ plant: PlantConfig) -> [String] {
        let grouped = Set(plant.redundancyGroups.flatMap(\.members))
        var keys: [String] = []
        func add(_ id: String) {
            guard !grouped.contains(id), !keys.contains(id),
                  let s = plant.sensors.first(where: { $0.id == id }), case .point = s.source else { return }
            keys.append(id)
        }
        for f in scenario.faults {
            switch f.target {
            case .sensor(let id): add(id)
            case .device(let d):
                for s in plant.sensors { if case .point(d, _) = s.source, plant.limits.contains(where: { $0.subject == s.id }) { add(s.id) } }
            default: break
            }
        }
        for l in plant.limits { add(l.subject) }
        return Array(keys.prefix(4))
    }

    /// The driver: watches the cycle counter at sub-cycle resolution, applies and removes faults
    /// when it reaches their cycles, samples the snapshot once per cycle, and returns at `cycles`.
    private func drive(_ scenario: Scenario, controller: Controller, injector: FaultInjector,
                       plant: PlantConfig) throws(ScenarioError) -> ([TraceSample], [InjectedRecord]) {
        let actions = scenario.faultActions
        var injected = scenario.faults.map { InjectedRecord(target: $0.target.description, kind: $0.kind.rawValue, startCycle: $0.at, endCycle: nil) }
        var applied = Array(repeating: false, count: scenario.faults.count)

        let period = controller.periodNanoseconds
        let groupIndices = plant.redundancyGroups.map { g in g.members.compactMap { m in plant.sensors.firstIndex { $0.id == m } } }
        var samples: [TraceSample] = []
        samples.reserveCapacity(Int(scenario.cycles) + 1)
        var next = 0
        var lastCycle: UInt64?
        var lastProgress = SystemMonotonicClock().nowNanoseconds()
        // The bound only turns a hung controller into an error; the counter is the synchronisation.
        let stallLimit = max(2_000_000_000, 200 * period)
        while true {
            let snap = controller.snapshot()
            let cycle = snap.cycle
            if cycle != lastCycle {
                lastCycle = cycle
                lastProgress = SystemMonotonicClock().nowNanoseconds()
                samples.append(Self.sample(snap, groups: groupIndices))
            } else if SystemMonotonicClock().nowNanoseconds() - lastProgress > stallLimit {
                throw .stalled(cycle: cycle, expected: scenario.cycles)
            }
            while next < actions.count, actions[next].cycle <= cycle {
                let a = actions[next]
                let fault = scenario.faults[a.index]
                do {
                    // The cycle is read again once the change is in: on a loaded host this thread
                    // can be descheduled between the snapshot and the change (a CI run saw faults
                    // land ~40 cycles after their snapshot), and the judge times Vigil from when
                    // the fault really began.
                    if a.apply {
                        try injector.apply(fault, index: a.index)
                        applied[a.index] = true
                        injected[a.index].startCycle = max(cycle, controller.snapshot().cycle)
                    } else if applied[a.index] {
                        try injector.remove(fault, index: a.index)
                        injected[a.index].endCycle = max(cycle, controller.snapshot().cycle)
                    }
                } catch {
                    throw .injection(error)
                }
                next += 1
            }
            if cycle >= scenario.cycles { break }
            var ts = timespec(tv_sec: 0, tv_nsec: Int(max(250_000, period / 3)))
            nanosleep(&ts, nil)
        }
        return (samples, injected)
    }

    /// One trace sample. The group value is the one control used (the monitor's choice, held
    /// values included); without a monitor, the runtime's rule (primary if good, else the first
    /// good backup).
    static func sample(_ snap: ControllerSnapshot, groups: [[Int]]) -> TraceSample {
        let values = snap.sensors.map { $0.quality.isGood && $0.value.isFinite ? $0.value : .nan }
        let groupValues: [Double]
        if snap.groups.count == groups.count, snap.groups.contains(where: { $0 != .unread }) {
            groupValues = snap.groups.map { r in
                switch r.quality {
                case .good, .stale: return r.value.isFinite ? r.value : .nan
                case .bad: return .nan
                }
            }
        } else {
            groupValues = groups.map { members in members.lazy.map { values[$0] }.first { !$0.isNaN } ?? .nan }
        }
        return TraceSample(cycle: snap.cycle, sensors: values, outputs: snap.outputs, groupValues: groupValues,
                           trippedInterlocks: snap.trippedInterlocks, inSafeState: snap.inSafeState,
                           devicesOnBackup: snap.deviceOnBackup, devicePollIntervals: snap.devicePollIntervalsMilliseconds,
                           activeSources: snap.groupIDs.map { snap.activeSource($0) })
    }

    /// Turns journal events into the result's records, numbered by cycle, through the journal's
    /// one codec.
    func collect(_ events: [StoredEvent], epoch: UInt64, period: UInt64, plant: PlantConfig, into result: inout ScenarioResult) {
        let codec = EventCodec(names: SubjectTable(plant: plant))
        func cycle(_ e: StoredEvent) -> UInt64 {
            if let c = e.cycle { return c }
            let t = e.monotonicNanoseconds
            return t > epoch && period > 0 ? (t - epoch) / period : 0
        }
        let timed = events.compactMap { e in e.event(codec).map { TimedEvent(plantNanoseconds: e.monotonicNanoseconds, cycle: cycle(e), event: $0) } }
        ScenarioRecords.collect(timed, names: codec.names, into: &result)
    }
}
