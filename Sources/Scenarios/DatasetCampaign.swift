import Monitor
import Policy
import VigilCore

// `vigil model dataset`: labelled training data for the policy model from the fault campaign of
// `vigil hil score` (ScoreCampaign.swift), where the simulator knows the truth.
//
// Run (kind, seed) is exactly ScoreCampaign's run (kind, seed): the same plant, fault, onset and
// noise. After the onset, every `stride`-th cycle yields one sample per sensor: the monitor's
// `SensorFeatures` vector (raw; normalisation is fitted at training), the true diagnosis and the
// right action. Healthy samples, by far the most common, are thinned to `healthyShare`.
//
// Labels (indices into PolicyLabels.diagnoses):
//   • the faulty sensor from the onset on: stuck → stuck; drift → drift; bias → bias; noise → noise;
//     timeout, disconnect, dropout → dropout (missing or bad readings); outOfRange → bias: the value
//     sits at a fixed point beyond the range, wrong by an offset that changes only with the slow
//     process (the reading is off, not frozen at the last good value, nor missing);
//     spike → spike on the cycles a spike sample is present, healthy between them;
//   • excursion runs: the group's members are `excursion` from the onset until `excursionSettleCycles`
//     after the ramp has ended (the plant moved and the sensors are right), healthy after that;
//   • every other sensor: healthy.
// A fault is labelled from its onset even before it is visible (a slow drift's first cycles look
// healthy): the model is asked to learn early signs, and the evaluation shows how far it gets.
//
// Actions (indices into PolicyLabels.actions), from the simulator's truth, not the monitor's view:
// healthy, spike, excursion → trust; any other fault on a sensor with another member in its
// redundancy group (every other member is healthy: one fault per run) → fail_over; without one,
// dropout → hold (the last good value is still right for a while), the rest → escalate.
//
// Splits by run seed, so no run lands in two: seed mod 10 in 0…6 → train, 7 → validation, 8…9 → test.

/// Which part of the dataset a run belongs to.
public enum DatasetSplit: String, CaseIterable, Sendable, Hashable, Codable {
    case train, validation, test

    /// By run seed: seed mod 10 in 0…6 train, 7 validation, 8…9 test.
    public init(runSeed: UInt64) {
        switch runSeed % 10 {
        case 0...6: self = .train
        case 7: self = .validation
        default: self = .test
        }
    }
}

/// How much data to generate.
public struct DatasetOptions: Sendable, Hashable {
    /// Runs per fault kind (and of excursions); run seeds are `baseSeed`, `baseSeed` + 1, ….
    public var runsPerKind: Int
    /// Cycles run (and sampled) after the onset.
    public var cyclesAfterOnset: Int
    /// Every `stride`-th cycle from the onset is sampled (spike cycles always are, for the spiking sensor).
    public var stride: Int
    /// Share of healthy samples kept (0…1): healthy sensors outnumber faulty ones six to one.
    public var healthyShare: Double
    public var baseSeed: UInt64
    /// Warm-up before the earliest onset (the onset is warm-up + 1 … warm-up + 300), as in `ScoreOptions`.
    public var warmupCycles: Int
    /// The kinds run, in this order.
    public var kinds: [ScoreFaultKind]

    public init(runsPerKind: Int = 60, cyclesAfterOnset: Int = 1_000, stride: Int = 5, healthyShare: Double = 0.1,
                baseSeed: UInt64 = 1, warmupCycles: Int = 1_200, kinds: [ScoreFaultKind] = ScoreFaultKind.allCases) {
        self.runsPerKind = runsPerKind
        self.cyclesAfterOnset = cyclesAfterOnset
        self.stride = stride
        self.healthyShare = healthyShare
        self.baseSeed = baseSeed
        self.warmupCycles = warmupCycles
        self.kinds = kinds
    }
}

/// Options the campaign cannot run with.
public enum DatasetError: Error, Sendable, Hashable, CustomStringConvertible {
    case invalidOption(name: String, value: String, expected: String)

    public var description: String {
        switch self {
        case .invalidOption(let name, let value, let expected): return "\(name) = \(value): expected \(expected)"
        }
    }
}

/// Where a sample came from.
public struct SampleOrigin: Sendable, Hashable {
    public var runSeed: UInt64
    public var kind: ScoreFaultKind
    /// Index into `DatasetCampaign.sensorIds`.
    public var sensor: Int
    public var cycle: UInt64
}

/// One run of the campaign.
public struct DatasetRun: Sendable, Hashable {
    public var kind: ScoreFaultKind
    public var seed: UInt64
    public var split: DatasetSplit
    /// The faulty sensor (−1 in an excursion run).
    public var sensor: Int
    /// Sensor indices of the excursion's group (empty in a fault run).
    public var excursionMembers: [Int]
    public var onset: UInt64
}

/// The labelled samples, split by run seed.
public struct PolicyDataset: Sendable, Hashable {
    public var featureNames: [String]
    public var train: [TrainingSample] = []
    public var validation: [TrainingSample] = []
    public var test: [TrainingSample] = []
    /// Where each sample came from, index for index with `train`, `validation` and `test`.
    public var trainOrigins: [SampleOrigin] = []
    public var validationOrigins: [SampleOrigin] = []
    public var testOrigins: [SampleOrigin] = []
    public var runs: [DatasetRun] = []

    public init(featureNames: [String]) { self.featureNames = featureNames }

    public func samples(_ split: DatasetSplit) -> [TrainingSample] {
        switch split {
        case .train: return train
        case .validation: return validation
        case .test: return test
        }
    }

    public func origins(_ split: DatasetSplit) -> [SampleOrigin] {
        switch split {
        case .train: return trainOrigins
        case .validation: return validationOrigins
        case .test: return testOrigins
        }
    }

    mutating func append(_ sample: TrainingSample, _ origin: SampleOrigin, to split: DatasetSplit) {
        switch split {
        case .train: train.append(sample); trainOrigins.append(origin)
        case .validation: validation.append(sample); validationOrigins.append(origin)
        case .test: test.append(sample); testOrigins.append(origin)
        }
    }

    /// Samples per diagnosis class and per action in a split (PolicyLabels order).
    public func counts(_ split: DatasetSplit) -> (diagnoses: [Int], actions: [Int]) {
        var d = [Int](repeating: 0, count: PolicyLabels.diagnoses.count)
        var a = [Int](repeating: 0, count: PolicyLabels.actions.count)
        for s in samples(split) {
            d[s.label] += 1
            if let action = s.action { a[action] += 1 }
        }
        return (d, a)
    }
}

public enum DatasetCampaign {
    /// Cycles after an excursion's ramp during which its members are still labelled `excursion`
    /// (the monitor's own excursion state ends 100 quiet cycles after the motion, too).
    public static let excursionSettleCycles = 100
    /// The campaign plant's sensor ids, by index (`SampleOrigin.sensor`).
    public static var sensorIds: [String] { ScoreCampaign.ids }

    static let healthy = PolicyLabels.diagnosis("healthy")!
    static let stuck = PolicyLabels.diagnosis("stuck")!
    static let drift = PolicyLabels.diagnosis("drift")!
    static let bias = PolicyLabels.diagnosis("bias")!
    static let spike = PolicyLabels.diagnosis("spike")!
    static let noise = PolicyLabels.diagnosis("noise")!
    static let dropout = PolicyLabels.diagnosis("dropout")!
    static let excursion = PolicyLabels.diagnosis("excursion")!
    static let trust = PolicyLabels.action("trust")!
    static let failOver = PolicyLabels.action("fail_over")!
    static let hold = PolicyLabels.action("hold")!
    static let escalate = PolicyLabels.action("escalate")!

    /// Generates the dataset. Deterministic: the same options give the same dataset.
    /// `progress` is called after each run with (runs done, runs in all).
    public static func generate(options: DatasetOptions, progress: ((Int, Int) -> Void)? = nil) throws -> PolicyDataset {
        try validate(options)
        var dataset = PolicyDataset(featureNames: SensorFeatures.names)
        let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: SensorFeatures.count)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 0)
        let total = options.kinds.count * options.runsPerKind
        for kind in options.kinds {
            for r in 0..<options.runsPerKind {
                try generateRun(kind: kind, seed: options.baseSeed &+ UInt64(r), options: options, features: buffer, into: &dataset)
                progress?(dataset.runs.count, total)
            }
        }
        return dataset
    }

    static func validate(_ o: DatasetOptions) throws {
        func fail(_ name: String, _ value: Any, _ expected: String) -> DatasetError {
            .invalidOption(name: name, value: "\(value)", expected: expected)
        }
        if o.runsPerKind < 0 { throw fail("runsPerKind", o.runsPerKind, "≥ 0") }
        if o.cyclesAfterOnset < 1 { throw fail("cyclesAfterOnset", o.cyclesAfterOnset, "≥ 1") }
        if o.stride < 1 { throw fail("stride", o.stride, "≥ 1") }
        if !(0...1).contains(o.healthyShare) { throw fail("healthyShare", o.healthyShare, "0…1") }
        if o.warmupCycles < 0 { throw fail("warmupCycles", o.warmupCycles, "≥ 0") }
    }

    /// One run: ScoreCampaign's run (kind, seed), sampled after the onset.
    static func generateRun(kind: ScoreFaultKind, seed: UInt64, options: DatasetOptions,
                            features: UnsafeMutableBufferPointer<Float>, into dataset: inout PolicyDataset) throws {
        let (injected, generator) = ScoreCampaign.faultOfRun(kind: kind, seed: seed, warmupCycles: options.warmupCycles)
        var fault = injected
        var rng = generator
        var (sim, faultRng) = try ScoreCampaign.simulation(&rng, tied: false)
        // Healthy samples are thinned by a generator of their own: the share kept changes no reading.
        let kindIndex = UInt64(ScoreFaultKind.allCases.firstIndex(of: kind)!)
        var thinning = SeededRandom(seed: ScoreCampaign.mix(seed, 0xDA7A_5E70 + kindIndex))
        let split = DatasetSplit(runSeed: seed)
        let stride = UInt64(options.stride)
        let total = Int(fault.onset) - 1 + options.cyclesAfterOnset
        for _ in 0..<total {
            sim.step { r, c, _ in fault.apply(&r, c, &faultRng) }
            let c = sim.cycle
            guard c >= fault.onset else { continue }
            let strided = (c - fault.onset) % stride == 0
            let spikeNow = fault.kind == .spike && fault.lastSpikeCycle == c
            guard strided || spikeNow else { continue }
            for s in 0..<ScoreCampaign.sensorCount {
                // Off the stride only the spike itself is sampled: a spike lasts one sample.
                if !strided && s != fault.sensor { continue }
                let label = diagnosis(sensor: s, cycle: c, fault: fault)
                if label == healthy && !(ScoreCampaign.uniform(&thinning, 0, 1) < options.healthyShare) { continue }
                sim.monitor.features(sensor: s, into: features)
                let sample = TrainingSample(features: Array(features), label: label, action: action(diagnosis: label, sensor: s))
                dataset.append(sample, SampleOrigin(runSeed: seed, kind: kind, sensor: s, cycle: c), to: split)
            }
        }
        dataset.runs.append(DatasetRun(kind: kind, seed: seed, split: split, sensor: fault.sensor,
                                       excursionMembers: fault.kind == .excursion ? ScoreCampaign.groups[fault.group] : [],
                                       onset: fault.onset))
    }

    /// The true class of sensor `s` at cycle `c` (see the top of this file).
    static func diagnosis(sensor s: Int, cycle c: UInt64, fault: ScoreCampaign.Fault) -> Int {
        guard c >= fault.onset else { return healthy }
        if fault.kind == .excursion {
            let moving = Double(c - fault.onset) < fault.ramp + Double(excursionSettleCycles)
            return moving && ScoreCampaign.groups[fault.group].contains(s) ? excursion : healthy
        }
        guard s == fault.sensor else { return healthy }
        switch fault.kind {
        case .stuck: return stuck
        case .drift: return drift
        case .bias, .outOfRange: return bias
        case .noise: return noise
        case .timeout, .disconnect, .dropout: return dropout
        case .spike: return fault.lastSpikeCycle == c ? spike : healthy
        case .excursion: return healthy
        }
    }

    /// The right action for a sensor with diagnosis `d` (see the top of this file).
    static func action(diagnosis d: Int, sensor s: Int) -> Int {
        let backup = ScoreCampaign.groups.contains { $0.count >= 2 && $0.contains(s) }
        switch d {
        case healthy, spike, excursion: return trust
        case dropout: return backup ? failOver : hold
        default: return backup ? failOver : escalate
        }
    }

    // MARK: Output

    /// CSV: `split,run_seed,sensor,label,action,<feature names…>`, one row per sample, train then
    /// validation then test; labels and actions by name, features as Swift prints a Float (exact).
    public static func csv(_ d: PolicyDataset) -> String {
        var out = (["split", "run_seed", "sensor", "label", "action"] + d.featureNames).joined(separator: ",") + "\n"
        for split in DatasetSplit.allCases {
            for (s, o) in zip(d.samples(split), d.origins(split)) {
                out += split.rawValue + "," + String(o.runSeed) + "," + sensorIds[o.sensor] + ","
                out += PolicyLabels.diagnoses[s.label] + "," + (s.action.map { PolicyLabels.actions[$0] } ?? "")
                for f in s.features { out += "," + f.description }
                out += "\n"
            }
        }
        return out
    }

    /// Samples per split and class, and per action.
    public static func table(_ d: PolicyDataset) -> String {
        func lpad(_ s: String, _ n: Int) -> String { s.count >= n ? s : String(repeating: " ", count: n - s.count) + s }
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        let columns = PolicyLabels.diagnoses + ["total"]
        let actionColumns = PolicyLabels.actions
        var lines: [String] = []
        let header = pad("split", 11) + lpad("runs", 6) + columns.map { lpad($0, max($0.count + 2, 8)) }.joined()
            + "  |" + actionColumns.map { lpad($0, max($0.count + 2, 8)) }.joined()
        lines.append(header)
        lines.append(String(repeating: "-", count: header.count))
        var totalD = [Int](repeating: 0, count: PolicyLabels.diagnoses.count)
        var totalA = [Int](repeating: 0, count: PolicyLabels.actions.count)
        func row(_ name: String, _ runs: Int, _ dc: [Int], _ ac: [Int]) -> String {
            pad(name, 11) + lpad("\(runs)", 6) + zip(columns, dc + [dc.reduce(0, +)]).map { lpad("\($1)", max($0.count + 2, 8)) }.joined()
                + "  |" + zip(actionColumns, ac).map { lpad("\($1)", max($0.count + 2, 8)) }.joined()
        }
        for split in DatasetSplit.allCases {
            let (dc, ac) = d.counts(split)
            for i in dc.indices { totalD[i] += dc[i] }
            for i in ac.indices { totalA[i] += ac[i] }
            lines.append(row(split.rawValue, d.runs.filter { $0.split == split }.count, dc, ac))
        }
        lines.append(String(repeating: "-", count: header.count))
        lines.append(row("all", d.runs.count, totalD, totalA))
        return lines.joined(separator: "\n")
    }
}
