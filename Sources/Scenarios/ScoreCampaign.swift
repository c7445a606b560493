import Foundation
import Monitor
import VigilCore

// `vigil hil score`: quality figures of the self-healing monitor over generated fault campaigns.
//
// Fast in-process mode: `PlantMonitor` is driven directly with synthetic readings (no transports,
// no controller), one new sample per sensor per cycle, deterministic by seed. A benchmark, not a test:
// it reports what the monitor does, it judges nothing.
//
// Plant (`ScoreCampaign.plant()`): pressure triple P-A/P-B/P-C (0–16 bar), temperature pair T-A/T-B
// (−20–80 °C), ungrouped flow F-1 (0–100 m³/h) and level L-1 (0–5 m), on two devices behind two
// gateways; cycle = poll interval = 10 ms. Two process variables drive them: pump speed u (pressure,
// flow, level) and heat load w (temperature, flow, level), each a slow cycle (amplitude 0.3, periods
// 3,000 and 2,300 cycles, random phase) plus a wander about it (Ornstein–Uhlenbeck, σ 0.5, time
// constant 100 cycles).
// All seven sensors form one section, so each unit (the triple, the pair, flow, level) has a virtual
// peer: its estimate from the other three. Each reading = its process + Gaussian noise σ = 0.2 % of
// span (Box–Muller).
//
// One run (kind, seed): warm-up, one fault on a random sensor from a random onset, then
// `cyclesAfterOnset` cycles. Scoring (per run, events of the whole run):
//   • TP: after onset the faulty sensor goes faulty/quarantined, gets a sensor-fault diagnosis, or a
//     group fails over away from it. FN: none of that within the run.
//   • FP: each distinct other sensor named by a sensor-fault diagnosis or a failover (`fromSensor`),
//     and the faulty sensor itself if named before the onset. Excursion runs (a whole group moves
//     together, no sensor is faulty) can only produce FPs.
//   • delay: cycles from the onset to the first TP event, inclusive (1 = on the onset cycle).
//   • hard faults (stuck, outOfRange, timeout, disconnect): share out of service (faulty/quarantined
//     or failed over) within 3 cycles of the fault becoming visible, i.e. event cycle ≤ visible + 2.
//     Visible = the onset cycle for all four: the first bad-quality sample, the first out-of-range
//     value, and for stuck the first sample that exactly repeats its predecessor (a live sensor with
//     σ = 0.2 % of span noise never repeats at the stuck detector's resolution).

/// The faults a campaign injects. `excursion` is not a fault: a whole group moves together.
public enum ScoreFaultKind: String, CaseIterable, Codable, Sendable {
    case stuck, outOfRange, timeout, disconnect, bias, drift, spike, noise, dropout, excursion

    /// Faults that must be out of service within 3 cycles of becoming visible.
    public var isHard: Bool { [.stuck, .outOfRange, .timeout, .disconnect].contains(self) }
    public var isFault: Bool { self != .excursion }

    public var explanation: String {
        switch self {
        case .stuck: return "value frozen at the previous sample"
        case .outOfRange: return "value 5–50 % of span beyond the range"
        case .timeout: return "quality bad(timeout), value NaN"
        case .disconnect: return "quality bad(disconnected) on the one point, value NaN"
        case .bias: return "step of 3–10 σ (70 %) or 10–100 σ (30 %), random sign"
        case .drift: return "ramp, rate log-uniform 1σ/1000 … 1σ/50 cycles"
        case .spike: return "spikes of 10–40 σ every 5–15 samples"
        case .noise: return "noise σ ×3 … ×6"
        case .dropout: return "whole reading held: timestamp stops advancing"
        case .excursion: return "all group members move 10–30 % of span together over 20–600 cycles"
        }
    }
}

/// Campaign size. Defaults finish in well under a minute in a release build.
public struct ScoreOptions: Sendable, Hashable, Codable {
    /// Runs per kind (seed 1 … seeds).
    public var seeds: Int = 100
    /// Cycles run after the fault's onset.
    public var cyclesAfterOnset: Int = 1_500
    /// Warm-up before the earliest onset (the onset is warm-up + 1 … warm-up + 300).
    public var warmupCycles: Int = 1_200
    /// Fault-free sensor-cycles (after warm-up) for the false-failover rate.
    public var faultFreeSensorCycles: Int = 100_000
    /// Seeds the fault-free cycles are spread over.
    public var faultFreeSeeds: Int = 4
    /// Cycles run after onset in the 1σ/1000-cycle drift case (more than the rest: it is slow).
    public var driftCaseCycles: Int = 2_000

    public init(seeds: Int = 100, cyclesAfterOnset: Int = 1_500, warmupCycles: Int = 1_200,
                faultFreeSensorCycles: Int = 100_000, faultFreeSeeds: Int = 4, driftCaseCycles: Int = 2_000) {
        self.seeds = seeds
        self.cyclesAfterOnset = cyclesAfterOnset
        self.warmupCycles = warmupCycles
        self.faultFreeSensorCycles = faultFreeSensorCycles
        self.faultFreeSeeds = faultFreeSeeds
        self.driftCaseCycles = driftCaseCycles
    }
}

/// One run's outcome.
public struct ScoreRunOutcome: Sendable, Hashable, Codable {
    public var kind: ScoreFaultKind
    public var seed: UInt64
    /// Faulty sensor id, or the group id for an excursion.
    public var subject: String
    /// "triple", "pair" or "single".
    public var sensorClass: String
    public var onset: UInt64
    public var visible: UInt64
    /// First TP event cycle, if any.
    public var detectedCycle: UInt64?
    /// First drift/disagreement detection finding on the faulty sensor (drift case).
    public var findingCycle: UInt64?
    public var falsePositives: Int
    /// Any escalation (to a human) after onset, e.g. a pair that cannot tell which member is wrong.
    public var escalated: Bool = false

    public var detected: Bool { detectedCycle != nil }
    /// Cycles from onset to the first TP event, inclusive.
    public var delay: Int? { detectedCycle.map { Int($0 - onset) + 1 } }
    public var findingDelay: Int? { findingCycle.map { Int($0 - onset) + 1 } }
    public var outWithinThreeOfVisible: Bool { detectedCycle.map { $0 <= visible + 2 } ?? false }
}

/// Figures for one kind.
public struct ScoreKindFigures: Sendable, Hashable, Codable {
    public var kind: ScoreFaultKind
    public var runs: Int
    public var truePositives: Int
    public var falseNegatives: Int
    public var falsePositives: Int
    public var precision: Double?
    public var recall: Double?
    public var f1: Double?
    public var delayMedian: Double?
    public var delayP95: Double?
    public var delayMax: Int?
    /// Hard faults: runs out of service within 3 cycles of visible / runs.
    public var hardWithinThree: Int?
    /// Recall by sensor class: detected / runs.
    public var detectedByClass: [String: Int]
    public var runsByClass: [String: Int]
    /// Fault runs not detected but escalated to a human (not counted as TP).
    public var escalatedUndetected: Int
}

/// False alarms over fault-free operation.
public struct ScoreFaultFree: Sendable, Hashable, Codable {
    public var sensorCycles: Int
    public var cycles: Int
    public var seeds: Int
    public var failovers: Int
    public var sensorFaultDiagnoses: Int
    public var faultyTransitions: Int
    public var escalations: Int
    public var failoversPer100k: Double
    public var diagnosesPer100k: Double
}

/// The 1σ per 1,000 cycles drift case (the target: detected within 300 cycles).
public struct ScoreDriftCase: Sendable, Hashable, Codable {
    public var runs: Int
    public var cyclesAfterOnset: Int
    public var detected: Int
    /// Onset → faulty/quarantined or failover.
    public var delayMedian: Double?
    public var delayMax: Int?
    /// Onset → first drift or disagreement finding (a detection event, before the health state confirms it).
    public var findingDelayMedian: Double?
    public var findingDelayMax: Int?
    public var withinTarget: Int
    public var targetCycles: Int
}

/// Micro-averaged precision, recall and F1 over a subset of runs.
public struct ScoreAggregate: Sendable, Hashable, Codable {
    public var truePositives: Int
    public var falseNegatives: Int
    public var falsePositives: Int
    public var precision: Double?
    public var recall: Double?
    public var f1: Double?

    init(_ runs: [ScoreRunOutcome], counts: (ScoreRunOutcome) -> Bool) {
        truePositives = runs.filter { $0.kind.isFault && counts($0) }.count
        falseNegatives = runs.filter { $0.kind.isFault && !counts($0) }.count
        falsePositives = runs.reduce(0) { $0 + $1.falsePositives }
        (precision, recall, f1) = ScoreCampaign.prf(tp: truePositives, fp: falsePositives, fn: falseNegatives)
    }
}

/// Everything a campaign measured.
public struct ScoreReportData: Sendable, Hashable, Codable {
    public var options: ScoreOptions
    public var kinds: [ScoreKindFigures]
    public var overallPrecision: Double?
    public var overallRecall: Double?
    public var overallF1: Double?
    /// Detection including escalations to the operator about the faulty sensor or its group (a pair
    /// that sees the disagreement but cannot tell who is wrong asks a human: detected, not isolated).
    public var detection: ScoreAggregate
    /// Sensors with redundancy only (triple and pair): isolation (the TP above) and detection.
    public var redundantIsolation: ScoreAggregate
    public var redundantDetection: ScoreAggregate
    public var faultFree: ScoreFaultFree
    public var drift1000: ScoreDriftCase
    public var definitions: [String]
    public var runs: [ScoreRunOutcome]
}

public enum ScoreCampaign {
    static let periodNanoseconds: UInt64 = 10_000_000
    static let ids = ["P-A", "P-B", "P-C", "T-A", "T-B", "F-1", "L-1"]
    static let rangeMin: [Double] = [0, 0, 0, -20, -20, 0, 0]
    static let rangeMax: [Double] = [16, 16, 16, 80, 80, 100, 5]
    static let base: [Double] = [6, 6, 6, 45, 45, 40, 2.5]
    /// Each sensor's share of pump speed u and of heat load w (see `Sim.truth`).
    static let amplitude: [Double] = [0.3, 0.3, 0.3, 0, 0, 2.0, 0.1]
    static let heatAmplitude: [Double] = [0, 0, 0, 3.0, 3.0, 2.0, -0.1]
    static let independentAmplitude: [Double] = [0.3, 0.3, 0.3, 1.0, 1.0, 2.0, 0.1]
    static let processPeriodCycles = 3_000.0
    static let heatPeriodCycles = 2_300.0
    /// Pump speed and heat load: a slow cycle of this amplitude plus a wander of σ `wanderSigma` and
    /// time constant `wanderCycles`.
    static let cycleAmplitude = 0.3
    static let wanderSigma = 0.5
    static let wanderCycles = 100.0
    static let groups: [[Int]] = [[0, 1, 2], [3, 4]]
    static let groupIds = ["PT", "TT"]
    static func span(_ s: Int) -> Double { rangeMax[s] - rangeMin[s] }
    static func sigma(_ s: Int) -> Double { 0.002 * span(s) }
    static func sensorClass(_ s: Int) -> String { s < 3 ? "triple" : s < 5 ? "pair" : "single" }
    /// The redundancy group of a sensor index (−1: ungrouped, or no sensor).
    static func groupOf(_ s: Int) -> Int32 { s < 0 ? -2 : s < 3 ? 0 : s < 5 ? 1 : -2 }
    public static var sensorCount: Int { ids.count }

    /// The scored plant: two devices behind two gateways, 10 ms cycle and polls.
    public static func plant(section: Bool = true) -> PlantConfig {
        let dev = ["dev-a", "dev-b", "dev-a", "dev-a", "dev-b", "dev-a", "dev-b"]
        let quantity = ["pressure", "pressure", "pressure", "temperature", "temperature", "flow", "level"]
        return PlantConfig(
            name: "score",
            devices: [
                DeviceConfig(id: "dev-a", transport: .tcp(host: "10.0.0.1", port: 502), pollIntervalMilliseconds: 10),
                DeviceConfig(id: "dev-b", transport: .tcp(host: "10.0.0.2", port: 502), pollIntervalMilliseconds: 10),
            ],
            sensors: (0..<ids.count).map { i in
                SensorConfig(id: ids[i], source: .point(device: dev[i], point: ids[i].lowercased()),
                             rangeMin: rangeMin[i], rangeMax: rangeMax[i], quantity: quantity[i])
            },
            redundancyGroups: [
                RedundancyGroupConfig(id: "PT", primary: "P-A", backups: ["P-B", "P-C"]),
                RedundancyGroupConfig(id: "TT", primary: "T-A", backups: ["T-B"]),
            ],
            sections: section ? [SectionConfig(id: "station", sensors: ids)] : [])
    }

    /// Standard normal by Box–Muller.
    static func gaussian(_ rng: inout SeededRandom) -> Double {
        let u1 = (Double(rng.next() >> 11) + 1) / 9_007_199_254_740_993.0
        let u2 = Double(rng.next() >> 11) / 9_007_199_254_740_992.0
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    static func uniform(_ rng: inout SeededRandom, _ lo: Double, _ hi: Double) -> Double {
        lo + (hi - lo) * Double(rng.next() >> 11) / 9_007_199_254_740_992.0
    }

    static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var r = SeededRandom(seed: a &* 0x9E37_79B9_7F4A_7C15 ^ (b &+ 0x632B_E59B_D9B4_E019))
        return r.next()
    }

    // MARK: Simulation

    /// The plant's sensors fed to a monitor, one cycle at a time.
    struct Sim {
        var monitor: PlantMonitor
        var rng: SeededRandom
        var readings: [Reading]
        var out: [Reading]
        var cycle: UInt64 = 0
        var phase: [Double]

        /// False: each sensor follows its own slow cycle (amplitudes `independentAmplitude`), no
        /// section (the policy model's learning set is made so).
        let tied: Bool

        init(seed: UInt64, settings: MonitorSettings = MonitorSettings(), tied: Bool = true) throws {
            self.tied = tied
            monitor = try PlantMonitor(plant: ScoreCampaign.plant(section: tied), settings: settings)
            rng = SeededRandom(seed: seed)
            readings = [Reading](repeating: .unread, count: ScoreCampaign.sensorCount)
            out = [Reading](repeating: .unread, count: ScoreCampaign.groups.count)
            // One phase per process variable: group members share it.
            let p = ScoreCampaign.uniform(&rng, 0, 2 * .pi), t = ScoreCampaign.uniform(&rng, 0, 2 * .pi)
            phase = [p, p, p, t, t, ScoreCampaign.uniform(&rng, 0, 2 * .pi), ScoreCampaign.uniform(&rng, 0, 2 * .pi)]
        }

        /// Pump speed and heat load wander about their slow cycles (Ornstein–Uhlenbeck, σ
        /// `wanderSigma`, time constant `wanderCycles`): each is excited on its own, so the plant's
        /// ties can be learned.
        var wander = (u: 0.0, w: 0.0)

        /// The process: pump speed u drives pressure, flow and level; heat load w drives temperature,
        /// flow and level. Each unit is tied to the others, so each has a virtual peer.
        func truth(_ s: Int, _ c: UInt64) -> Double {
            guard tied else {
                return ScoreCampaign.base[s] + ScoreCampaign.independentAmplitude[s]
                    * sin(2 * .pi * Double(c) / ScoreCampaign.processPeriodCycles + phase[s])
            }
            let a = ScoreCampaign.cycleAmplitude
            let u = a * sin(2 * .pi * Double(c) / ScoreCampaign.processPeriodCycles + phase[0]) + wander.u
            let w = a * sin(2 * .pi * Double(c) / ScoreCampaign.heatPeriodCycles + phase[3]) + wander.w
            return ScoreCampaign.base[s] + ScoreCampaign.amplitude[s] * u + ScoreCampaign.heatAmplitude[s] * w
        }

        mutating func step(_ fault: (inout [Reading], UInt64, inout SeededRandom) -> Void) {
            cycle += 1
            let now = 1_000_000_000 + cycle * ScoreCampaign.periodNanoseconds
            if tied {
                let keep = exp(-1.0 / ScoreCampaign.wanderCycles), kick = ScoreCampaign.wanderSigma * (1 - keep * keep).squareRoot()
                wander.u = keep * wander.u + kick * ScoreCampaign.gaussian(&rng)
                wander.w = keep * wander.w + kick * ScoreCampaign.gaussian(&rng)
            }
            for s in 0..<readings.count {
                let v = truth(s, cycle) + ScoreCampaign.sigma(s) * ScoreCampaign.gaussian(&rng)
                let latency = UInt64(2_000_000 + 100_000 * ScoreCampaign.gaussian(&rng))
                readings[s] = Reading(value: v, timestampNanoseconds: now, latencyNanoseconds: latency, quality: .good)
            }
            fault(&readings, cycle, &rng)
            let c = cycle
            readings.withUnsafeBufferPointer { r in
                out.withUnsafeMutableBufferPointer { o in
                    monitor.observe(cycle: c, nowNanoseconds: now, sensors: r, groupsOut: o)
                }
            }
        }
    }

    /// One fault, its parameters drawn from the run's generator.
    struct Fault {
        var kind: ScoreFaultKind
        var sensor: Int       // faulty sensor (or -1 for an excursion)
        var group: Int        // excursion group (or -1)
        var onset: UInt64
        var magnitude: Double // bias/excursion: value offset; drift: per-cycle rate; noise: extra σ; spike: height
        var ramp: Double = 1
        var held: Reading = .unread
        var nextSpike: UInt64 = 0
        /// The last cycle a spike was added on (the dataset labels exactly those cycles `spike`).
        var lastSpikeCycle: UInt64 = 0

        mutating func apply(_ r: inout [Reading], _ c: UInt64, _ rng: inout SeededRandom) {
            if c == onset - 1, sensor >= 0 { held = r[sensor] }
            guard c >= onset else { return }
            let k = Double(c - onset + 1)
            switch kind {
            case .stuck: r[sensor].value = held.value
            case .dropout: r[sensor] = held
            case .outOfRange: r[sensor].value = magnitude
            case .timeout: r[sensor].quality = .bad(.timeout); r[sensor].value = .nan
            case .disconnect: r[sensor].quality = .bad(.disconnected); r[sensor].value = .nan
            case .bias: r[sensor].value += magnitude
            case .drift: r[sensor].value += magnitude * k
            case .noise: r[sensor].value += magnitude * ScoreCampaign.gaussian(&rng)
            case .spike:
                if c >= nextSpike {
                    r[sensor].value += (rng.next() & 1 == 0 ? 1 : -1) * magnitude
                    nextSpike = c + UInt64(ScoreCampaign.uniform(&rng, 5, 16))
                    lastSpikeCycle = c
                }
            case .excursion:
                let shift = magnitude * min(k / ramp, 1)
                for s in ScoreCampaign.groups[group] { r[s].value += shift }
            }
        }
    }

    static func makeFault(_ kind: ScoreFaultKind, onset: UInt64, rng: inout SeededRandom, sensor fixed: Int? = nil) -> Fault {
        let sign: Double = rng.next() & 1 == 0 ? 1 : -1
        if kind == .excursion {
            let g = Int(rng.next() % UInt64(groups.count))
            let s0 = groups[g][0]
            var f = Fault(kind: kind, sensor: -1, group: g, onset: onset, magnitude: sign * uniform(&rng, 0.1, 0.3) * span(s0))
            f.ramp = uniform(&rng, 20, 600)
            return f
        }
        let s = fixed ?? Int(rng.next() % UInt64(ids.count))
        let sd = sigma(s)
        var m = 0.0
        switch kind {
        case .outOfRange:
            m = sign > 0 ? rangeMax[s] + uniform(&rng, 0.05, 0.5) * span(s) : rangeMin[s] - uniform(&rng, 0.05, 0.5) * span(s)
        case .bias:
            m = sign * sd * (uniform(&rng, 0, 1) < 0.7 ? uniform(&rng, 3, 10) : uniform(&rng, 10, 100))
        case .drift:
            // log-uniform between 1σ/1000 and 1σ/50 cycles
            m = sign * sd * exp(uniform(&rng, log(1.0 / 1000), log(1.0 / 50)))
        case .noise:
            let factor = uniform(&rng, 3, 6)
            m = sd * (factor * factor - 1).squareRoot()
        case .spike:
            m = sd * uniform(&rng, 10, 40)
        default: break
        }
        var f = Fault(kind: kind, sensor: s, group: -1, onset: onset, magnitude: m)
        f.nextSpike = onset
        return f
    }

    /// The fault of run (`kind`, `seed`) and the generator the rest of the run draws from.
    static func faultOfRun(kind: ScoreFaultKind, seed: UInt64, warmupCycles: Int) -> (Fault, SeededRandom) {
        var rng = SeededRandom(seed: mix(seed, UInt64(ScoreFaultKind.allCases.firstIndex(of: kind)!) + 1))
        let onset = UInt64(warmupCycles) + 1 + rng.next() % 300
        let fault = makeFault(kind, onset: onset, rng: &rng)
        return (fault, rng)
    }

    /// A run's simulation and the generator its fault draws from, in this order from `rng`.
    static func simulation(_ rng: inout SeededRandom, tied: Bool = true) throws -> (Sim, SeededRandom) {
        let sim = try Sim(seed: rng.next(), tied: tied)
        return (sim, SeededRandom(seed: rng.next()))
    }

    /// Runs one fault and scores it.
    static func run(_ fault: Fault, seed: UInt64, warmup: Int, after: Int, rng: inout SeededRandom) throws -> ScoreRunOutcome {
        var (sim, faultRng) = try simulation(&rng)
        var fault = fault
        let total = Int(fault.onset) - 1 + after
        let faulty = Int32(fault.sensor)
        var detected: UInt64? = nil
        var finding: UInt64? = nil
        var wrong = Set<Int32>()
        var escalated = false
        for _ in 0..<total {
            sim.step { r, c, _ in fault.apply(&r, c, &faultRng) }
            let c = sim.cycle
            for e in sim.monitor.events {
                let post = c >= fault.onset
                switch e.kind {
                case .diagnosis where e.cause == .sensorFault:
                    if e.sensor == faulty && post { if detected == nil { detected = c } } else if e.sensor >= 0 { wrong.insert(e.sensor) }
                case .failover:
                    if e.fromSensor == faulty && post { if detected == nil { detected = c } } else if e.fromSensor >= 0 { wrong.insert(e.fromSensor) }
                case .healthChange where e.toState == .faulty || e.toState == .quarantined:
                    if e.sensor == faulty && post && detected == nil { detected = c }
                case .escalation where post && (e.sensor == faulty || (e.group >= 0 && e.group == groupOf(fault.sensor))):
                    escalated = true
                case .detection where post && e.sensor == faulty && finding == nil:
                    if e.finding?.kind == .drift || e.finding?.kind == .disagreement { finding = c }
                default: break
                }
            }
        }
        let subject = fault.sensor >= 0 ? ids[fault.sensor] : groupIds[fault.group]
        let cls = fault.sensor >= 0 ? sensorClass(fault.sensor) : (fault.group == 0 ? "triple" : "pair")
        return ScoreRunOutcome(kind: fault.kind, seed: seed, subject: subject, sensorClass: cls, onset: fault.onset,
                               visible: fault.onset, detectedCycle: detected, findingCycle: finding, falsePositives: wrong.count, escalated: escalated)
    }

    /// One campaign run: kind `kind`, seed `seed`.
    public static func runOne(kind: ScoreFaultKind, seed: UInt64, options: ScoreOptions) throws -> ScoreRunOutcome {
        let (fault, generator) = faultOfRun(kind: kind, seed: seed, warmupCycles: options.warmupCycles)
        var rng = generator
        return try run(fault, seed: seed, warmup: options.warmupCycles, after: options.cyclesAfterOnset, rng: &rng)
    }

    /// The 1σ/1000-cycle drift case on a random member of the pressure triple.
    public static func runDrift1000(seed: UInt64, options: ScoreOptions) throws -> ScoreRunOutcome {
        var rng = SeededRandom(seed: mix(seed, 1000))
        let onset = UInt64(options.warmupCycles) + 1 + rng.next() % 300
        let s = Int(rng.next() % 3)
        let sign: Double = rng.next() & 1 == 0 ? 1 : -1
        let fault = Fault(kind: .drift, sensor: s, group: -1, onset: onset, magnitude: sign * sigma(s) / 1000)
        return try run(fault, seed: seed, warmup: options.warmupCycles, after: options.driftCaseCycles, rng: &rng)
    }

    /// Fault-free operation: counts failovers, sensor-fault diagnoses, faulty transitions and escalations after warm-up.
    public static func runFaultFree(options: ScoreOptions) throws -> ScoreFaultFree {
        let seeds = max(options.faultFreeSeeds, 1)
        let perSeed = (max(options.faultFreeSensorCycles, 0) + ids.count * seeds - 1) / (ids.count * seeds)
        var failovers = 0, diagnoses = 0, faulty = 0, escalations = 0
        for seed in 1...seeds {
            var sim = try Sim(seed: mix(UInt64(seed), 0xFA17_F4EE))
            for _ in 0..<(options.warmupCycles + perSeed) {
                sim.step { _, _, _ in }
                guard sim.cycle > UInt64(options.warmupCycles) else { continue }
                for e in sim.monitor.events {
                    switch e.kind {
                    case .failover: failovers += 1
                    case .diagnosis where e.cause == .sensorFault: diagnoses += 1
                    case .healthChange where e.toState == .faulty: faulty += 1
                    case .escalation: escalations += 1
                    default: break
                    }
                }
            }
        }
        let sc = perSeed * seeds * ids.count
        let per = sc > 0 ? 100_000 / Double(sc) : 0
        return ScoreFaultFree(sensorCycles: sc, cycles: perSeed * seeds, seeds: seeds, failovers: failovers,
                              sensorFaultDiagnoses: diagnoses, faultyTransitions: faulty, escalations: escalations,
                              failoversPer100k: Double(failovers) * per, diagnosesPer100k: Double(diagnoses) * per)
    }

    // MARK: Figures

    static func quantile(_ xs: [Int], _ q: Double) -> Double? {
        guard !xs.isEmpty else { return nil }
        let s = xs.sorted()
        if q == 0.5 {
            let n = s.count
            return n % 2 == 1 ? Double(s[n / 2]) : Double(s[n / 2 - 1] + s[n / 2]) / 2
        }
        // nearest rank
        let rank = Int((q * Double(s.count)).rounded(.up))
        return Double(s[min(max(rank, 1), s.count) - 1])
    }

    static func prf(tp: Int, fp: Int, fn: Int) -> (Double?, Double?, Double?) {
        let p: Double? = tp + fp > 0 ? Double(tp) / Double(tp + fp) : nil
        let r: Double? = tp + fn > 0 ? Double(tp) / Double(tp + fn) : nil
        var f: Double? = nil
        if let p, let r { f = p + r > 0 ? 2 * p * r / (p + r) : 0 }
        return (p, r, f)
    }

    static func figures(_ kind: ScoreFaultKind, _ runs: [ScoreRunOutcome]) -> ScoreKindFigures {
        let tp = kind.isFault ? runs.filter(\.detected).count : 0
        let fn = kind.isFault ? runs.count - tp : 0
        let fp = runs.reduce(0) { $0 + $1.falsePositives }
        let (p, r, f) = prf(tp: tp, fp: fp, fn: fn)
        let delays = runs.compactMap(\.delay)
        var byClass: [String: Int] = [:], detByClass: [String: Int] = [:]
        for o in runs {
            byClass[o.sensorClass, default: 0] += 1
            if o.detected && kind.isFault { detByClass[o.sensorClass, default: 0] += 1 }
        }
        return ScoreKindFigures(kind: kind, runs: runs.count, truePositives: tp, falseNegatives: fn, falsePositives: fp,
                                precision: p, recall: kind.isFault ? r : nil, f1: kind.isFault ? f : nil,
                                delayMedian: kind.isFault ? quantile(delays, 0.5) : nil, delayP95: kind.isFault ? quantile(delays, 0.95) : nil,
                                delayMax: kind.isFault ? delays.max() : nil,
                                hardWithinThree: kind.isHard ? runs.filter(\.outWithinThreeOfVisible).count : nil,
                                detectedByClass: detByClass, runsByClass: byClass,
                                escalatedUndetected: kind.isFault ? runs.filter { !$0.detected && $0.escalated }.count : 0)
    }

    public static let definitions = [
        "TP: after onset the faulty sensor goes faulty/quarantined, gets a sensor-fault diagnosis, or its group fails over away from it; FN: none of these within the run.",
        "FP: per run, each distinct non-faulty sensor named by a sensor-fault diagnosis or a failover (and the faulty sensor if named before onset); excursion runs can only produce FPs.",
        "delay: cycles from onset to the first TP event, inclusive (1 = on the onset cycle); 1 cycle = 1 sample = 10 ms.",
        "≤3 (hard faults): share of runs with a TP event by visible + 2; visible = onset for all hard kinds (first bad-quality sample, first out-of-range value, and for stuck the first exactly repeated sample — a live sensor with 0.2 % span noise never repeats).",
        "FN escalated: undetected runs in which the monitor escalated to a human about the faulty sensor or its group instead (e.g. unresolvedDisagreement in the pair); not counted as TP (isolation), counted in 'detection incl. escalation'.",
        "single sensors (F-1, L-1) have no redundancy: a bias or drift on them is found only against their virtual peer (their estimate from the triple, the pair and each other); a small one stays within that estimate's error.",
        "overall: micro-averaged over all fault runs, excursion FPs included.",
    ]

    /// Runs a whole campaign. `progress` is called after each run (for a console).
    public static func run(options: ScoreOptions, progress: ((Int, Int) -> Void)? = nil) throws -> ScoreReportData {
        var outcomes: [ScoreRunOutcome] = []
        let total = ScoreFaultKind.allCases.count * options.seeds + options.seeds
        for kind in ScoreFaultKind.allCases {
            for seed in 0..<options.seeds {
                outcomes.append(try runOne(kind: kind, seed: UInt64(seed + 1), options: options))
                progress?(outcomes.count, total)
            }
        }
        var kinds = ScoreFaultKind.allCases.map { k in figures(k, outcomes.filter { $0.kind == k }) }
        kinds = kinds.filter { $0.runs > 0 }
        let tp = kinds.reduce(0) { $0 + $1.truePositives }
        let fn = kinds.reduce(0) { $0 + $1.falseNegatives }
        let fp = kinds.reduce(0) { $0 + $1.falsePositives }
        let (p, r, f) = prf(tp: tp, fp: fp, fn: fn)
        let detection = ScoreAggregate(outcomes) { $0.detected || $0.escalated }
        let redundant = outcomes.filter { $0.sensorClass != "single" }
        let redundantIsolation = ScoreAggregate(redundant) { $0.detected }
        let redundantDetection = ScoreAggregate(redundant) { $0.detected || $0.escalated }

        var drift: [ScoreRunOutcome] = []
        for seed in 0..<options.seeds {
            drift.append(try runDrift1000(seed: UInt64(seed + 1), options: options))
            progress?(outcomes.count + drift.count, total)
        }
        let dd = drift.compactMap(\.delay), fd = drift.compactMap(\.findingDelay)
        let driftCase = ScoreDriftCase(runs: drift.count, cyclesAfterOnset: options.driftCaseCycles, detected: dd.count,
                                       delayMedian: quantile(dd, 0.5), delayMax: dd.max(),
                                       findingDelayMedian: quantile(fd, 0.5), findingDelayMax: fd.max(),
                                       withinTarget: dd.filter { $0 <= 300 }.count, targetCycles: 300)
        let faultFree = try runFaultFree(options: options)
        return ScoreReportData(options: options, kinds: kinds, overallPrecision: p, overallRecall: r, overallF1: f,
                               detection: detection, redundantIsolation: redundantIsolation, redundantDetection: redundantDetection,
                               faultFree: faultFree, drift1000: driftCase, definitions: definitions, runs: outcomes + drift)
    }

    // MARK: Text

    static func fmt(_ x: Double?, _ digits: Int = 2) -> String {
        guard let x else { return "–" }
        return String(format: "%.\(digits)f", x)
    }

    static func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
    static func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }

    /// The per-kind rows of a score table, between rules.
    static func kindRows(_ kinds: [ScoreKindFigures]) -> [String] {
        var lines: [String] = []
        let header = [pad("kind", 11), lpad("runs", 5), lpad("TP", 4), lpad("FN", 4), lpad("FP", 4), lpad("prec", 6), lpad("recall", 7), lpad("F1", 6),
                      lpad("med", 6), lpad("p95", 6), lpad("max", 6), lpad("≤3", 9), "  recall triple/pair/single", "  FN escalated"].joined()
        lines.append(header)
        lines.append(String(repeating: "-", count: header.count))
        for k in kinds {
            let cls = ["triple", "pair", "single"].map { c -> String in
                let n = k.runsByClass[c] ?? 0
                return n == 0 ? "–" : "\(k.detectedByClass[c] ?? 0)/\(n)"
            }.joined(separator: " ")
            let hard = k.hardWithinThree.map { "\($0)/\(k.runs)" } ?? ""
            lines.append([pad(k.kind.rawValue, 11), lpad("\(k.runs)", 5), lpad(k.kind.isFault ? "\(k.truePositives)" : "–", 4),
                          lpad(k.kind.isFault ? "\(k.falseNegatives)" : "–", 4), lpad("\(k.falsePositives)", 4),
                          lpad(fmt(k.precision), 6), lpad(fmt(k.recall), 7), lpad(fmt(k.f1), 6),
                          lpad(fmt(k.delayMedian, 0), 6), lpad(fmt(k.delayP95, 0), 6), lpad(k.delayMax.map(String.init) ?? "–", 6),
                          lpad(hard, 9), "  " + pad(k.kind.isFault ? cls : "(FP only)", 24),
                          k.kind.isFault && k.falseNegatives > 0 ? "  \(k.escalatedUndetected)/\(k.falseNegatives)" : ""].joined())
        }
        lines.append(String(repeating: "-", count: header.count))
        return lines
    }

    /// A readable table of the figures.
    public static func table(_ d: ScoreReportData) -> String {
        var lines: [String] = []
        lines.append("vigil hil score: \(d.options.seeds) runs per kind, warm-up ≥ \(d.options.warmupCycles) cycles, \(d.options.cyclesAfterOnset) cycles after onset; plant: P triple, T pair, 2 ungrouped, one section; σ = 0.2 % span")
        lines.append("")
        lines += kindRows(d.kinds)
        lines.append("overall (micro, all fault runs + excursion FPs): precision \(fmt(d.overallPrecision, 3))  recall \(fmt(d.overallRecall, 3))  F1 \(fmt(d.overallF1, 3))")
        func agg(_ a: ScoreAggregate) -> String {
            "precision \(fmt(a.precision, 3))  recall \(fmt(a.recall, 3))  F1 \(fmt(a.f1, 3))  (TP \(a.truePositives), FN \(a.falseNegatives), FP \(a.falsePositives))"
        }
        lines.append("detection incl. escalation to the operator (all sensors):  " + agg(d.detection))
        lines.append("redundant sensors only (triple + pair), isolation:        " + agg(d.redundantIsolation))
        lines.append("redundant sensors only (triple + pair), detection:        " + agg(d.redundantDetection))
        lines.append("delays in cycles (10 ms) from onset, over detected runs; ≤3 = hard fault out of service within 3 cycles of becoming visible (visible = onset, see definitions)")
        lines.append("")
        let ff = d.faultFree
        lines.append("fault-free: \(ff.sensorCycles) sensor-cycles (\(ff.seeds) seeds × \(ff.cycles / max(ff.seeds, 1)) cycles × \(ids.count) sensors, after warm-up): "
                     + "false failovers \(ff.failovers) (\(fmt(ff.failoversPer100k)) per 100k sensor-cycles), sensor-fault diagnoses \(ff.sensorFaultDiagnoses) (\(fmt(ff.diagnosesPer100k)) per 100k), "
                     + "faulty transitions \(ff.faultyTransitions), escalations \(ff.escalations)")
        let dc = d.drift1000
        lines.append("drift 1σ/1000 cycles (pressure triple, \(dc.runs) runs, \(dc.cyclesAfterOnset) cycles): detected \(dc.detected)/\(dc.runs); "
                     + "onset → faulty/failover median \(fmt(dc.delayMedian, 0)), max \(dc.delayMax.map(String.init) ?? "–"); "
                     + "onset → first drift/disagreement finding median \(fmt(dc.findingDelayMedian, 0)), max \(dc.findingDelayMax.map(String.init) ?? "–"); "
                     + "within the \(dc.targetCycles)-cycle target: \(dc.withinTarget)/\(dc.runs)")
        lines.append("")
        lines.append("faults injected:")
        for k in ScoreFaultKind.allCases { lines.append("  \(pad(k.rawValue, 11)) \(k.explanation)") }
        lines.append("definitions:")
        for def in d.definitions { lines.append("  • " + def) }
        return lines.joined(separator: "\n")
    }

    /// JSON of the figures (sorted keys).
    public static func json(_ d: ScoreReportData) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(d)
    }
}
