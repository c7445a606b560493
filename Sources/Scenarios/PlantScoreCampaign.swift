import Foundation
import HIL
import Kernel
import Monitor
import VigilCore

// `vigil hil score --config FILE`: the score campaign on a plant file, through the whole controller.
//
// Unlike the in-process campaign (`ScoreCampaign`, one synthetic sample per sensor per cycle), each
// run here is the plant's own cycle kernel, pollers and links against its `VirtualRig` in virtual
// time: devices answer at their poll intervals, serial units share their line's time, and the
// monitor sees samples as a real plant's controller would. One run (kind, seed): a fresh
// controller (its start-up included), the plant's arming time (`armingSeconds`) plus a random 0…`onsetSpreadSeconds`, one
// fault on a random sensor, then `secondsAfterOnset`. Scored with the in-process campaign's
// definitions (`ScoreCampaign.definitions`), the unit being the sensor the fault is on:
//   • TP: after onset the faulty sensor goes faulty/quarantined, gets a sensor-fault (or, for
//     timeout, disconnect and dropout, a device-fault) diagnosis, its device gets a device or bus
//     fault diagnosis (those three kinds), or its group fails over away from it.
//   • FP: each other sensor named by a sensor- or device-fault diagnosis or a failover, and each
//     other device named by a device- or bus-fault diagnosis (a dead unit on a shared line must
//     not be charged to its neighbours).
// Each run is a seeded start of the plant, so the campaign also counts start-up safe actions
// before the onset: safe outputs forced, a plant-wide safe state, escalations, and interlock trips
// once the start-up safe state has ended.
//
// Bus disturbances are not sensor faults: their figures are per plant-hour of bursts (20 s of
// 1-in-5 corrupted frames on each serial line, 30 s of replies slowed to 40–90 % of the response
// timeout on each TCP device, one burst every 2 minutes), counting failovers, sensor-fault
// diagnoses, alarms, bus/device diagnoses, interlock trips and escalations.

/// Campaign size for a plant file.
public struct PlantScoreOptions: Sendable, Hashable, Codable {
    /// Runs per kind (seed 1 … seeds).
    public var seeds: Int = 100
    /// Plant time before the earliest onset; nil: the plant's own (`PlantScoreCampaign.armingSeconds`).
    public var warmupSeconds: Double?
    /// The onset is drawn in warm-up … warm-up + this.
    public var onsetSpreadSeconds: Double = 6
    /// Plant time run after the onset.
    public var secondsAfterOnset: Double = 60
    /// Fault-free plant time for the false-failover rate, spread over `faultFreeSeeds` starts.
    public var faultFreeHours: Double = 2
    public var faultFreeSeeds: Int = 4
    /// Plant time of each bus-disturbance case.
    public var disturbanceHours: Double = 1

    public init(seeds: Int = 100) { self.seeds = seeds }
}

/// One bus disturbance's figures over its plant time.
public struct PlantDisturbanceFigures: Sendable, Hashable, Codable {
    public var name: String
    public var description: String
    public var plantHours: Double
    public var bursts: Int
    public var failovers: Int
    public var sensorFaultDiagnoses: Int
    public var busOrDeviceDiagnoses: Int
    public var alarms: Int
    public var interlockTrips: Int
    public var escalations: Int
    public var safeStates: Int
}

/// Everything a plant campaign measured.
public struct PlantScoreReport: Sendable, Hashable, Codable {
    public var plant: String
    public var options: PlantScoreOptions
    /// Plant time before the earliest onset.
    public var warmupSeconds: Double
    public var periodMilliseconds: Double
    public var kinds: [ScoreKindFigures]
    public var overallPrecision: Double?
    public var overallRecall: Double?
    public var overallF1: Double?
    public var redundantIsolation: ScoreAggregate
    public var detection: ScoreAggregate
    public var faultFree: ScoreFaultFree
    /// Alarms raised in the fault-free runs after warm-up.
    public var faultFreeAlarms: Int
    /// Seeded starts (every run is one) and the safe actions taken before any fault.
    public var starts: Int
    public var startUpSafeActions: Int
    public var startUpSafeActionList: [String]
    public var disturbances: [PlantDisturbanceFigures]
    public var runs: [ScoreRunOutcome]
}

/// The score campaign on a plant file.
public struct PlantScoreCampaign {
    public let plant: PlantConfig
    public let board: BoardConfig?
    public let boardFile: String?
    public let options: PlantScoreOptions
    /// Plant time before the earliest onset (`options.warmupSeconds`, or the plant's arming time).
    public let warmupSeconds: Double

    public init(plant: PlantConfig, board: BoardConfig?, boardFile: String?, options: PlantScoreOptions) {
        self.plant = plant
        self.board = board
        self.boardFile = boardFile
        self.options = options
        warmupSeconds = options.warmupSeconds ?? Self.armingSeconds(plant)
    }

    /// Plant time until every detector of the plant has learned its baseline: the slowest Modbus
    /// sensor's `warmup_samples` polls, plus 10 s for the residuals, sections and virtual peers
    /// behind them; at least 60 s. The score measures a running plant; start-up is counted apart.
    public static func armingSeconds(_ plant: PlantConfig) -> Double {
        var longest = 0.0
        for s in plant.sensors {
            guard case .point(let deviceID, _) = s.source, let d = plant.devices.first(where: { $0.id == deviceID }) else { continue }
            longest = max(longest, Double(plant.monitor.sensor(s.id).warmupSamples) * Double(d.pollIntervalMilliseconds) / 1000)
        }
        return max(60, longest + 10)
    }

    // MARK: The plant's shape

    /// Modbus sensors (the campaign's candidates), with their device, read noise and group.
    struct Candidate {
        var sensor: Int
        var id: String
        var device: Int
        var sigma: Double
        var span: Double
        var pollSeconds: Double
        /// Alone on its device: a device fault is this sensor's fault.
        var aloneOnDevice: Bool
        var tcp: Bool
        var group: Int
        var groupSize: Int
        var signal: String?
    }

    func candidates() -> [Candidate] {
        var out: [Candidate] = []
        for (i, s) in plant.sensors.enumerated() {
            guard case .point(let deviceID, let pointID) = s.source,
                  let d = plant.devices.firstIndex(where: { $0.id == deviceID }) else { continue }
            let device = plant.devices[d]
            let point = device.points.first { $0.id == pointID }
            let span = s.rangeMax - s.rangeMin
            let sigma = point?.simulation?.noise ?? 0
            let onDevice = plant.sensors.filter { if case .point(deviceID, _) = $0.source { true } else { false } }.count
            let g = plant.redundancyGroups.firstIndex { $0.members.contains(s.id) } ?? -1
            var tcp = false
            if case .tcp = device.transport { tcp = true }
            let signal: String? = point?.simulation.flatMap { sim in if case .signal(let n) = sim.source { n } else { nil } }
            out.append(Candidate(sensor: i, id: s.id, device: d, sigma: sigma > 0 ? sigma : 0.001 * span, span: span,
                                 pollSeconds: Double(device.pollIntervalMilliseconds) / 1000, aloneOnDevice: onDevice == 1, tcp: tcp,
                                 group: g, groupSize: g >= 0 ? plant.redundancyGroups[g].members.count : 0, signal: signal))
        }
        return out
    }

    /// Sensors a kind can land on.
    static func eligible(_ kind: ScoreFaultKind, _ all: [Candidate]) -> [Candidate] {
        switch kind {
        case .timeout, .dropout: return all.filter(\.aloneOnDevice)
        case .disconnect: return all.filter { $0.aloneOnDevice && $0.tcp }
        case .excursion: return all.filter { $0.group >= 0 && $0.signal != nil }
        default: return all
        }
    }

    static func sensorClass(_ c: Candidate) -> String { c.groupSize >= 3 ? "triple" : c.groupSize == 2 ? "pair" : "single" }

    // MARK: One run

    struct Draw {
        var faults: [ScheduledFault]
        var candidate: Candidate
        var onset: UInt64
    }

    /// The faults of run (`kind`, `seed`), on the controller's cycle numbering.
    func draw(_ kind: ScoreFaultKind, seed: UInt64, period: Double, all: [Candidate]) -> Draw? {
        let pool = Self.eligible(kind, all)
        guard !pool.isEmpty else { return nil }
        var rng = SeededRandom(seed: ScoreCampaign.mix(seed, 0x5C0E_0000 + UInt64(ScoreFaultKind.allCases.firstIndex(of: kind)!)))
        func uniform(_ lo: Double, _ hi: Double) -> Double { ScoreCampaign.uniform(&rng, lo, hi) }
        func cycle(_ s: Double) -> UInt64 { UInt64((s / period).rounded()) }
        let onset = cycle(warmupSeconds + uniform(0, options.onsetSpreadSeconds)) + 1
        let c = pool[Int(rng.next() % UInt64(pool.count))]
        let sign: Double = rng.next() & 1 == 0 ? 1 : -1
        let sensor = plant.sensors[c.sensor]
        var p = FaultParameters()
        var faults: [ScheduledFault] = []
        func add(_ target: FaultTarget, _ k: FaultKind, at: UInt64 = onset) { faults.append(ScheduledFault(at: at, target: target, kind: k, parameters: p)) }
        switch kind {
        case .stuck: add(.sensor(c.id), .stuck)
        case .outOfRange:
            p.value = sign > 0 ? sensor.rangeMax + uniform(0.05, 0.5) * c.span : sensor.rangeMin - uniform(0.05, 0.5) * c.span
            add(.sensor(c.id), .stuck)
        case .timeout: add(.device(plant.devices[c.device].id), .timeout)
        case .disconnect: add(.device(plant.devices[c.device].id), .disconnect)
        case .dropout: add(.sensor(c.id), .dropout)
        case .bias:
            p.value = sign * c.sigma * (uniform(0, 1) < 0.7 ? uniform(3, 10) : uniform(10, 100))
            add(.sensor(c.id), .bias)
        case .drift:
            // 1σ per 1,000 … per 50 cycles of a 10 ms plant, as a rate per second: 1σ/10 s … 1σ/0.5 s.
            p.ratePerSecond = sign * c.sigma * exp(uniform(log(1.0 / 10), log(1.0 / 0.5)))
            add(.sensor(c.id), .drift)
        case .noise:
            let factor = uniform(3, 6)
            p.magnitude = c.sigma * (factor * factor - 1).squareRoot()
            add(.sensor(c.id), .noise)
        case .spike:
            // One-sample spikes of 10–40 σ every 5–15 polls of the sensor, to the end of the run.
            let end = onset + cycle(options.secondsAfterOnset)
            var at = onset
            while at < end {
                p.magnitude = (rng.next() & 1 == 0 ? 1 : -1) * c.sigma * uniform(10, 40)
                p.samples = 1
                add(.sensor(c.id), .spike, at: at)
                at += max(1, cycle(c.pollSeconds * uniform(5, 16)))
            }
        case .excursion:
            // The group's process moves 3–8 % of its span over 0.4–12 s (a ramp, then held there).
            let magnitude = sign * uniform(0.03, 0.08) * c.span
            let seconds = uniform(0.4, 12)
            let reached = onset + max(1, cycle(seconds))
            p.ratePerSecond = magnitude / seconds
            faults.append(ScheduledFault(at: onset, until: reached, target: .signal(c.signal!), kind: .excursion, parameters: p))
            p = FaultParameters(magnitude: magnitude)
            add(.signal(c.signal!), .excursion, at: reached)
        }
        return Draw(faults: faults, candidate: c, onset: onset)
    }

    /// A safe action, in words (nil: the event is none).
    static func startUpSafeAction(_ e: ControllerEvent) -> String? {
        switch e {
        case .safeOutputsForced(let subject, _): return "safe outputs forced about \(subject)"
        case .interlockTripped(let limit, _): return "interlock \(limit) tripped"
        case .safeStateEntered(let reason) where reason != .startup && reason != .shutdown: return "safe state (\(reason))"
        case .escalation(let subject, let reason): return "escalation \(reason) about \(subject)"
        default: return nil
        }
    }

    /// One run's controller with its faults: each cycle, every fault application and removal due
    /// by then (`FaultAction.timeline`), then the controller's step, then (with `log`) its events
    /// and the faults applied, in words.
    struct Run {
        let controller: VirtualController
        let faults: [ScheduledFault]
        private let actions: [FaultAction]
        private let injector: FaultInjector
        private let log: ((String) -> Void)?
        private let text: EventText?
        private var next = 0

        init(_ controller: VirtualController, faults: [ScheduledFault], log: ((String) -> Void)?) throws {
            self.controller = controller
            self.faults = faults
            self.log = log
            actions = FaultAction.timeline(faults)
            injector = FaultInjector(rig: controller.rig)
            for f in faults { try injector.validate(f) }
            text = log.map { _ in EventText(names: controller.kernel.names) }
        }

        mutating func step(_ cycle: UInt64) throws {
            while next < actions.count, actions[next].cycle <= cycle {
                let a = actions[next], f = faults[a.index]
                if a.apply {
                    log?("cycle \(cycle)  FAULT \(f.kind.rawValue) \(f.target) \(f.parameters)")
                    try injector.apply(f, index: a.index)
                } else {
                    try injector.remove(f, index: a.index)
                }
                next += 1
            }
            controller.step()
            guard let log, let text else { return }
            for e in controller.kernel.events {
                switch e.event {
                case .findingCleared, .alarm: break
                default: log("cycle \(cycle)  \(text.describe(e.event))")
                }
            }
        }
    }

    func controller(seed: UInt64) throws -> VirtualController {
        try VirtualController(plant: plant, board: board, boardFile: boardFile, seed: seed, pacing: .paced,
                              options: KernelOptions(sectionFitting: .inline))
    }

    /// One run: its outcome and the start-up safe actions before its onset. `log` gets every event
    /// and the faults applied, in words.
    public func runOne(kind: ScoreFaultKind, seed: UInt64, log: ((String) -> Void)? = nil) throws -> (ScoreRunOutcome, [String])? {
        try runOne(kind: kind, seed: seed, all: candidates(), log: log)
    }

    func runOne(kind: ScoreFaultKind, seed: UInt64, all: [Candidate], log: ((String) -> Void)? = nil) throws -> (ScoreRunOutcome, [String])? {
        let controller = try controller(seed: ScoreCampaign.mix(seed, 0x9A1E))
        let period = Double(controller.periodNanoseconds) / 1e9
        guard let draw = draw(kind, seed: seed, period: period, all: all) else { return nil }
        var run = try Run(controller, faults: draw.faults, log: log)
        let c = draw.candidate
        let faulty = Int32(kind == .excursion ? -1 : c.sensor)
        let faultyDevice = Int32(kind == .excursion ? -1 : c.device)
        let deviceLevel = [.timeout, .disconnect, .dropout].contains(kind)
        let group = Int32(c.group)
        let total = draw.onset + UInt64((options.secondsAfterOnset / period).rounded())
        var detected: UInt64?, finding: UInt64?, visible: UInt64?
        var wrongSensors = Set<Int32>(), wrongDevices = Set<Int32>()
        var escalated = false
        var startUp: [String] = []
        var startedUp = false
        var last = Reading.unread
        controller.start()
        for cycle in UInt64(1)...total {
            try run.step(cycle)
            let post = cycle >= draw.onset
            if post, visible == nil, faulty >= 0 {
                let r = controller.sensorReadings[c.sensor]
                let s = plant.sensors[c.sensor]
                let fresh = r.timestampNanoseconds != last.timestampNanoseconds
                switch kind {
                case .timeout, .disconnect, .dropout: if !r.quality.isGood { visible = cycle }
                case .outOfRange: if fresh && r.quality.isGood && (r.value > s.rangeMax || r.value < s.rangeMin) { visible = cycle }
                case .stuck: if fresh && last.quality.isGood && r.value == last.value && cycle > draw.onset { visible = cycle }
                default: if fresh { visible = cycle }
                }
                last = r
            } else if faulty >= 0 {
                last = controller.sensorReadings[c.sensor]
            }
            for e in controller.kernel.events {
                if case .safeStateLeft(.startup) = e.event { startedUp = true }
                // An interlock tripping while the start-up safe state holds every output safe (no
                // value yet, and no bad-input delay) changes nothing; after it, or latched, it does.
                if !post, let what = Self.startUpSafeAction(e.event) {
                    if case .interlockTripped = e.event, !startedUp {} else {
                        startUp.append("seed \(seed) \(kind.rawValue) cycle \(cycle): \(what)")
                    }
                }
                switch e.event {
                case .diagnosis(.sensor(let s), let cause, _, _, _) where cause == .sensorFault || cause == .deviceFault:
                    if s == faulty && post && (cause == .sensorFault || deviceLevel) { detected = detected ?? cycle }
                    else if s != faulty || !post { wrongSensors.insert(s) }
                case .diagnosis(.device(let d), let cause, _, _, _) where cause == .deviceFault || cause == .busFault:
                    if d == faultyDevice && post && deviceLevel { detected = detected ?? cycle }
                    else if d != faultyDevice || !post { wrongDevices.insert(d) }
                case .failover(_, let from, _, false):
                    if from == faulty && post { detected = detected ?? cycle } else { wrongSensors.insert(from) }
                case .healthChanged(let s, _, let to) where to == .faulty || to == .quarantined:
                    if s == faulty && post { detected = detected ?? cycle }
                case .escalation(let subject, _) where post:
                    switch subject {
                    case .sensor(let s) where s == faulty: escalated = true
                    case .group(let g) where g == group: escalated = true
                    case .device(let d) where d == faultyDevice: escalated = true
                    default: break
                    }
                case .findingRaised(.sensor(let s), let k, _, _) where post && s == faulty && finding == nil:
                    if k == .drift || k == .disagreement { finding = cycle }
                default: break
                }
            }
        }
        controller.stop()
        let outcome = ScoreRunOutcome(kind: kind, seed: seed, subject: kind == .excursion ? plant.redundancyGroups[c.group].id : c.id,
                                      sensorClass: Self.sensorClass(c),
                                      onset: draw.onset, visible: visible ?? draw.onset, detectedCycle: detected, findingCycle: finding,
                                      falsePositives: wrongSensors.count + wrongDevices.count, escalated: escalated)
        return (outcome, startUp)
    }

    // MARK: Fault-free and disturbances

    struct Counts {
        var failovers = 0, sensorFaultDiagnoses = 0, busOrDevice = 0, alarms = 0, interlocks = 0, escalations = 0
        var safeStates = 0, faulty = 0
        var seenAlarms = Set<UInt64>()

        mutating func count(_ e: ControllerEvent) {
            switch e {
            case .failover(_, _, _, false): failovers += 1
            case .diagnosis(_, .sensorFault, _, _, _): sensorFaultDiagnoses += 1
            case .diagnosis(_, .deviceFault, _, _, _), .diagnosis(_, .busFault, _, _, _): busOrDevice += 1
            case .alarm(let a) where !a.removed && seenAlarms.insert(a.id).inserted: alarms += 1
            case .interlockTripped: interlocks += 1
            case .escalation: escalations += 1
            case .safeStateEntered(let r) where r != .startup && r != .shutdown: safeStates += 1
            case .healthChanged(_, _, .faulty): faulty += 1
            default: break
            }
        }
    }

    /// Runs `seconds` of plant time after the warm-up of a fresh start, with the faults `bursts`
    /// schedules (given the warm-up's cycles and the period); counts what happened after the warm-up.
    func runQuiet(seed: UInt64, seconds: Double, bursts: ((UInt64, Double) -> [ScheduledFault])? = nil,
                  log: ((String) -> Void)? = nil) throws -> (Counts, cycles: UInt64, burstCount: Int) {
        let controller = try controller(seed: seed)
        let period = Double(controller.periodNanoseconds) / 1e9
        let warm = UInt64((warmupSeconds / period).rounded())
        let total = warm + UInt64((seconds / period).rounded())
        let schedule = bursts?(warm, period) ?? []
        var run = try Run(controller, faults: schedule, log: log)
        var counts = Counts()
        controller.start()
        for cycle in UInt64(1)...total {
            try run.step(cycle)
            guard cycle > warm else { continue }
            for e in controller.kernel.events { counts.count(e.event) }
        }
        controller.stop()
        return (counts, total - warm, Set(schedule.map(\.at)).count)
    }

    /// Start `seed` of the fault-free runs, with its events in words.
    public func traceFaultFree(seed: UInt64, log: @escaping (String) -> Void) throws {
        _ = try runQuiet(seed: ScoreCampaign.mix(seed, 0xFA17_F4EE), seconds: options.faultFreeHours * 3600 / Double(max(options.faultFreeSeeds, 1)), log: log)
    }

    /// A bus disturbance case (`crc-noise`, `latency`), with its events in words.
    public func traceDisturbance(_ name: String, log: @escaping (String) -> Void) throws -> Bool {
        try !disturbances(only: name, log: log).isEmpty
    }

    func faultFree(sensorCount: Int) throws -> (ScoreFaultFree, alarms: Int) {
        let seeds = max(options.faultFreeSeeds, 1)
        var total = Counts(), cycles: UInt64 = 0
        for seed in 1...seeds {
            let (c, n, _) = try runQuiet(seed: ScoreCampaign.mix(UInt64(seed), 0xFA17_F4EE), seconds: options.faultFreeHours * 3600 / Double(seeds))
            total.failovers += c.failovers
            total.sensorFaultDiagnoses += c.sensorFaultDiagnoses
            total.faulty += c.faulty
            total.escalations += c.escalations
            total.alarms += c.alarms
            cycles += n
        }
        let sc = Int(cycles) * sensorCount
        let per = sc > 0 ? 100_000 / Double(sc) : 0
        return (ScoreFaultFree(sensorCycles: sc, cycles: Int(cycles), seeds: seeds, failovers: total.failovers,
                               sensorFaultDiagnoses: total.sensorFaultDiagnoses, faultyTransitions: total.faulty,
                               escalations: total.escalations, failoversPer100k: Double(total.failovers) * per,
                               diagnosesPer100k: Double(total.sensorFaultDiagnoses) * per), total.alarms)
    }

    /// Bursts every 2 minutes on every serial line (corruption) or every TCP device with sensors (latency).
    func disturbances(only: String? = nil, log: ((String) -> Void)? = nil) throws -> [PlantDisturbanceFigures] {
        var lines: [String] = [], tcp: [PlantDevice] = []
        typealias PlantDevice = (id: String, timeoutMs: Int)
        for d in plant.devices {
            let hasSensors = plant.sensors.contains { if case .point(d.id, _) = $0.source { true } else { false } }
            guard hasSensors else { continue }
            switch d.transport {
            case .rtu(let s): if !lines.contains(s.port) { lines.append(s.port) }
            case .tcp: tcp.append((d.id, d.responseTimeoutMilliseconds))
            }
        }
        var out: [PlantDisturbanceFigures] = []
        let seconds = options.disturbanceHours * 3600
        func figures(_ name: String, _ text: String, _ r: (Counts, cycles: UInt64, burstCount: Int)) -> PlantDisturbanceFigures {
            PlantDisturbanceFigures(name: name, description: text, plantHours: options.disturbanceHours, bursts: r.burstCount,
                                    failovers: r.0.failovers, sensorFaultDiagnoses: r.0.sensorFaultDiagnoses,
                                    busOrDeviceDiagnoses: r.0.busOrDevice, alarms: r.0.alarms, interlockTrips: r.0.interlocks,
                                    escalations: r.0.escalations, safeStates: r.0.safeStates)
        }
        if !lines.isEmpty && (only ?? "crc-noise") == "crc-noise" {
            let r = try runQuiet(seed: 0xC8C, seconds: seconds, bursts: { warm, period in
                stride(from: 0.0, to: seconds - 20, by: 120).flatMap { t -> [ScheduledFault] in
                    let at = warm + UInt64((t / period).rounded()) + 1
                    return lines.map { ScheduledFault(at: at, until: at + UInt64((20 / period).rounded()), target: .line($0), kind: .corrupt,
                                                      parameters: FaultParameters(probability: 0.2)) }
                }
            }, log: log)
            out.append(figures("crc-noise", "1 frame in 5 corrupted for 20 s every 2 min on " + lines.joined(separator: ", "), r))
        }
        if !tcp.isEmpty && (only ?? "latency") == "latency" {
            var rng = SeededRandom(seed: 0x1A7E)
            let r = try runQuiet(seed: 0x1A7, seconds: seconds, bursts: { warm, period in
                stride(from: 0.0, to: seconds - 30, by: 120).flatMap { t -> [ScheduledFault] in
                    let at = warm + UInt64((t / period).rounded()) + 1
                    let share = ScoreCampaign.uniform(&rng, 0.4, 0.9)
                    return tcp.map { d in
                        ScheduledFault(at: at, until: at + UInt64((30 / period).rounded()), target: .device(d.id), kind: .delay,
                                       parameters: FaultParameters(milliseconds: Int(share * Double(d.timeoutMs))))
                    }
                }
            }, log: log)
            out.append(figures("latency", "replies of " + tcp.map(\.id).joined(separator: ", ")
                               + " slowed to 40–90 % of their response timeout for 30 s every 2 min", r))
        }
        return out
    }

    // MARK: The campaign

    public func run(progress: ((Int, Int) -> Void)? = nil) throws -> PlantScoreReport {
        let all = candidates()
        var outcomes: [ScoreRunOutcome] = []
        var startUp: [String] = []
        var starts = 0
        let total = ScoreFaultKind.allCases.count * options.seeds
        for kind in ScoreFaultKind.allCases {
            for seed in 1...max(options.seeds, 1) {
                if let (o, s) = try runOne(kind: kind, seed: UInt64(seed), all: all) {
                    outcomes.append(o)
                    startUp += s
                    starts += 1
                }
                progress?(ScoreFaultKind.allCases.firstIndex(of: kind)! * options.seeds + seed, total)
            }
        }
        let kinds = ScoreFaultKind.allCases.map { k in ScoreCampaign.figures(k, outcomes.filter { $0.kind == k }) }.filter { $0.runs > 0 }
        let tp = kinds.reduce(0) { $0 + $1.truePositives }, fn = kinds.reduce(0) { $0 + $1.falseNegatives }
        let fp = kinds.reduce(0) { $0 + $1.falsePositives }
        let (p, r, f) = ScoreCampaign.prf(tp: tp, fp: fp, fn: fn)
        let redundant = outcomes.filter { $0.sensorClass != "single" }
        let (ff, ffAlarms) = try faultFree(sensorCount: all.count)
        let period = Double(plant.cycle.periodMicroseconds) / 1e3
        return PlantScoreReport(plant: plant.name, options: options, warmupSeconds: warmupSeconds, periodMilliseconds: period, kinds: kinds,
                                overallPrecision: p, overallRecall: r, overallF1: f,
                                redundantIsolation: ScoreAggregate(redundant) { $0.detected },
                                detection: ScoreAggregate(outcomes) { $0.detected || $0.escalated },
                                faultFree: ff, faultFreeAlarms: ffAlarms, starts: starts,
                                startUpSafeActions: startUp.count, startUpSafeActionList: startUp,
                                disturbances: try disturbances(), runs: outcomes)
    }
}

extension PlantScoreReport {
    /// The figures in words: the same per-kind table as the in-process campaign, then start-up,
    /// fault-free operation and the bus disturbances.
    public var table: String {
        let f = { (x: Double?, d: Int) in ScoreCampaign.fmt(x, d) }
        func agg(_ a: ScoreAggregate) -> String {
            "precision \(f(a.precision, 3))  recall \(f(a.recall, 3))  F1 \(f(a.f1, 3))  (TP \(a.truePositives), FN \(a.falseNegatives), FP \(a.falsePositives))"
        }
        var lines: [String] = []
        lines.append("vigil hil score --config: \(plant), whole controller against its virtual rig in virtual time (cycle \(f(periodMilliseconds, 0)) ms); "
                     + "\(options.seeds) runs per kind, onset \(f(warmupSeconds, 0))–\(f(warmupSeconds + options.onsetSpreadSeconds, 0)) s after start, "
                     + "\(f(options.secondsAfterOnset, 0)) s after onset; magnitudes in each point's simulated noise σ")
        lines.append("")
        lines += ScoreCampaign.kindRows(kinds)
        lines.append("overall (micro, all fault runs + excursion FPs): precision \(f(overallPrecision, 3))  recall \(f(overallRecall, 3))  F1 \(f(overallF1, 3))")
        lines.append("detection incl. escalation to the operator (all sensors):  " + agg(detection))
        lines.append("redundant sensors only (triple + pair), isolation:        " + agg(redundantIsolation))
        lines.append("delays in cycles (\(f(periodMilliseconds, 0)) ms) from onset, over detected runs; ≤3 = out of service within 3 cycles of the fault reaching "
                     + "the controller (first bad reply, first out-of-range sample, first exactly repeated sample)")
        lines.append("")
        lines.append("start-up: \(starts) seeded starts (every run), safe actions before any fault: \(startUpSafeActions)")
        for s in startUpSafeActionList.prefix(10) { lines.append("  " + s) }
        let ff = faultFree
        lines.append("fault-free: \(ff.sensorCycles) sensor-cycles (\(ff.seeds) starts × \(ff.cycles / max(ff.seeds, 1)) cycles, after warm-up): "
                     + "false failovers \(ff.failovers) (\(f(ff.failoversPer100k, 2)) per 100k sensor-cycles), sensor-fault diagnoses \(ff.sensorFaultDiagnoses), "
                     + "faulty transitions \(ff.faultyTransitions), escalations \(ff.escalations), alarms \(faultFreeAlarms)")
        for d in disturbances {
            let h = max(d.plantHours, 1e-9)
            lines.append("\(d.name) (\(d.description); \(d.bursts) bursts in \(f(d.plantHours, 1)) h), per hour: failovers \(f(Double(d.failovers) / h, 1)), "
                         + "sensor-fault diagnoses \(f(Double(d.sensorFaultDiagnoses) / h, 1)), bus/device diagnoses \(f(Double(d.busOrDeviceDiagnoses) / h, 1)), "
                         + "alarms \(f(Double(d.alarms) / h, 1)), interlock trips \(f(Double(d.interlockTrips) / h, 1)), escalations \(f(Double(d.escalations) / h, 1)), "
                         + "safe states \(f(Double(d.safeStates) / h, 1))")
        }
        return lines.joined(separator: "\n")
    }

    /// JSON of the figures (sorted keys).
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(self)
    }
}
