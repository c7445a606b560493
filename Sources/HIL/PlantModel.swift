import Foundation
import VigilCore

/// Names one point of a plant: the device it lives on and its id there.
public struct PointKey: Sendable, Hashable, CustomStringConvertible {
    public var device: String
    public var point: String
    public init(device: String, point: String) {
        self.device = device
        self.point = point
    }
    public var description: String { "\(device)/\(point)" }
}

/// A fault forced onto one simulated point's engineering value.
public struct PointOverride: Sendable, Hashable {
    /// When set, the point reads this value whatever the process does (a stuck sensor).
    public var stuckAt: Double?
    /// Added after scaling (a drifting or miscalibrated sensor).
    public var addedBias: Double
    /// Multiplies the simulated value (a gain error).
    public var scale: Double
    /// Added bias growing at this rate from `driftOnsetNanoseconds` (simulation time): a drifting sensor.
    public var driftPerSecond: Double
    /// Simulation time the drift starts from (zero bias then).
    public var driftOnsetNanoseconds: UInt64
    /// Standard deviation of extra Gaussian noise on top of the point's own (a noisy sensor).
    public var extraNoise: Double

    public init(stuckAt: Double? = nil, addedBias: Double = 0, scale: Double = 1,
                driftPerSecond: Double = 0, driftOnsetNanoseconds: UInt64 = 0, extraNoise: Double = 0) {
        self.stuckAt = stuckAt
        self.addedBias = addedBias
        self.scale = scale
        self.driftPerSecond = driftPerSecond
        self.driftOnsetNanoseconds = driftOnsetNanoseconds
        self.extraNoise = extraNoise
    }

    public static func stuck(at value: Double) -> PointOverride { PointOverride(stuckAt: value) }
    public static func bias(_ value: Double) -> PointOverride { PointOverride(addedBias: value) }
    public static func gain(_ value: Double) -> PointOverride { PointOverride(scale: value) }
    /// A bias ramping at `ratePerSecond` from simulation time `onsetNanoseconds`.
    public static func drift(ratePerSecond: Double, fromNanoseconds onset: UInt64) -> PointOverride {
        PointOverride(driftPerSecond: ratePerSecond, driftOnsetNanoseconds: onset)
    }
    /// Extra Gaussian noise with this standard deviation.
    public static func noise(_ sigma: Double) -> PointOverride { PointOverride(extraNoise: sigma) }

    /// The drift's bias at simulation time t.
    func driftBias(atNanoseconds t: UInt64) -> Double {
        guard driftPerSecond != 0, t > driftOnsetNanoseconds else { return 0 }
        return driftPerSecond * Double(t - driftOnsetNanoseconds) / 1e9
    }

    /// `noise` is a standard normal sample for this point and time (used only with `extraNoise`).
    func apply(to value: Double, atNanoseconds t: UInt64 = 0, noise: Double = 0) -> Double {
        stuckAt ?? value * scale + addedBias + driftBias(atNanoseconds: t) + extraNoise * noise
    }
}

/// A change of the process itself, forced onto one named signal of `simulation.signals`: every
/// point that follows the signal (all redundant sensors) sees it, each with its own noise.
public struct SignalOverride: Sendable, Hashable {
    /// When set, the signal holds this level (before the points' noise and bias).
    public var holdAt: Double?
    /// Added to the signal.
    public var offset: Double
    /// Added offset growing at this rate from `onsetNanoseconds` (simulation time).
    public var ratePerSecond: Double
    public var onsetNanoseconds: UInt64

    public init(holdAt: Double? = nil, offset: Double = 0, ratePerSecond: Double = 0, onsetNanoseconds: UInt64 = 0) {
        self.holdAt = holdAt
        self.offset = offset
        self.ratePerSecond = ratePerSecond
        self.onsetNanoseconds = onsetNanoseconds
    }

    func apply(to value: Double, atNanoseconds t: UInt64) -> Double {
        let ramp = ratePerSecond != 0 && t > onsetNanoseconds ? ratePerSecond * Double(t - onsetNanoseconds) / 1e9 : 0
        return (holdAt ?? value) + offset + ramp
    }
}

/// The simulated process: each point's engineering value at a time, computed from the plant's
/// named signals or the point's inline waveform, plus noise, bias, CSV replay and overrides.
///
/// Deterministic: the value of a point at time t depends only on the config, the seed, the replay
/// and the overrides, never on how often or in which order it was asked (noise is keyed on the
/// time in nanoseconds; a random walk is stepped on a fixed grid from t = 0). Thread-safe.
public final class PlantModel: @unchecked Sendable {
    /// Step of the random-walk grid.
    public static let randomWalkStepNanoseconds: UInt64 = 100_000_000

    public let plant: PlantConfig
    public let seed: UInt64
    private let signals: [String: SignalSpec]
    private let points: [PointKey: PointConfig]

    private let lock = NSLock()
    // Guarded by `lock`.
    private var overrides: [PointKey: PointOverride] = [:]
    /// Spikes counted in replies: offset and how many reads of the point still carry it.
    private var sampleSpikes: [PointKey: (offset: Double, remaining: Int)] = [:]
    private var signalOverrides: [String: SignalOverride] = [:]
    private var replays: [CSVReplay] = []
    private var walks: [String: RandomWalkCache] = [:]
    /// Closed-loop signals (`simulation.process`): index by name, state, and the simulation time
    /// the state is at (advanced on a fixed grid).
    private let processIndex: [String: Int]
    private var processState: [Double]
    private var processNanoseconds: UInt64 = 0
    private var outputReader: ((String) -> Double?)?
    private let outputSafeValues: [String: Double]
    /// Step of the closed-loop process integration.
    public static let processStepNanoseconds: UInt64 = 10_000_000

    public init(plant: PlantConfig, seed: UInt64 = 1) {
        self.plant = plant
        self.seed = seed
        var signals: [String: SignalSpec] = [:]
        for s in plant.simulationSignals { signals[s.name] = s.spec }
        self.signals = signals
        var points: [PointKey: PointConfig] = [:]
        for d in plant.devices { for p in d.points { points[PointKey(device: d.id, point: p.id)] = p } }
        self.points = points
        processIndex = Dictionary(uniqueKeysWithValues: plant.processSignals.enumerated().map { ($1.name, $0) })
        processState = plant.processSignals.map(\.initial)
        outputSafeValues = Dictionary(plant.outputs.map { ($0.id, $0.safe) }, uniquingKeysWith: { a, _ in a })
    }

    /// Whether the plant has closed-loop process signals (they need `readOutputs`).
    public var isClosedLoop: Bool { !processIndex.isEmpty }

    /// Where closed-loop process signals read the controller's outputs: `reader(id)` gives an
    /// output's value as its device or GPIO line holds it now (nil: not known yet, the output's safe
    /// value is used). Call before the first `value` query.
    public func readOutputs(_ reader: @escaping (String) -> Double?) {
        lock.withLock { outputReader = reader }
    }

    /// Forces a fault onto a point (replaces any earlier override of that point).
    public func setOverride(_ override: PointOverride, for key: PointKey) {
        lock.withLock { overrides[key] = override }
    }

    /// Adds `offset` to the next `samples` reads of the point (`consumeSampleSpike`), whatever
    /// the poll timing: a spike of exactly N samples.
    public func setSampleSpike(_ offset: Double, samples: Int, for key: PointKey) {
        lock.withLock { sampleSpikes[key] = samples > 0 ? (offset, samples) : nil }
    }

    /// The spike offset for one read of the point (0 when none is pending); counts the read.
    public func consumeSampleSpike(for key: PointKey) -> Double {
        lock.withLock {
            guard let s = sampleSpikes[key] else { return 0 }
            sampleSpikes[key] = s.remaining > 1 ? (s.offset, s.remaining - 1) : nil
            return s.offset
        }
    }

    /// Reads still to carry a sample-counted spike on the point.
    public func pendingSampleSpikes(for key: PointKey) -> Int { lock.withLock { sampleSpikes[key]?.remaining ?? 0 } }

    /// Removes a point's override.
    public func clearOverride(for key: PointKey) {
        _ = lock.withLock { overrides.removeValue(forKey: key) }
    }

    /// Removes every override.
    public func clearOverrides() {
        lock.withLock { overrides.removeAll() }
    }

    /// Forces a change of the process onto a named signal (replaces any earlier one on that signal).
    public func setSignalOverride(_ override: SignalOverride, forSignal name: String) {
        lock.withLock { signalOverrides[name] = override }
    }

    /// Removes a signal's override: the process returns to its waveform.
    public func clearSignalOverride(forSignal name: String) {
        _ = lock.withLock { signalOverrides.removeValue(forKey: name) }
    }

    /// The override of a point, if any.
    public func override(for key: PointKey) -> PointOverride? { lock.withLock { overrides[key] } }

    /// The override of a named signal, if any.
    public func signalOverride(forSignal name: String) -> SignalOverride? { lock.withLock { signalOverrides[name] } }

    /// Whether `name` is one of the plant's simulation signals.
    public func hasSignal(_ name: String) -> Bool { signals[name] != nil || processIndex[name] != nil }

    /// Drives the points a replay maps from its CSV file instead of from their waveforms.
    public func attach(_ replay: CSVReplay) {
        lock.withLock { replays.append(replay) }
    }

    /// Whether the model drives this point (otherwise the device keeps what a client wrote).
    public func drives(_ key: PointKey) -> Bool {
        if points[key]?.simulation != nil { return true }
        return lock.withLock { replays.contains { $0.drives(key) } || overrides[key] != nil }
    }

    /// Engineering value of a point at `tNanoseconds` since the start of the simulation, or nil
    /// when nothing drives it.
    public func value(of key: PointKey, atNanoseconds t: UInt64) -> Double? {
        lock.withLock {
            var v: Double?
            if let replayed = replays.lazy.compactMap({ $0.value(of: key, atNanoseconds: t) }).first {
                v = replayed
            } else if let sim = points[key]?.simulation {
                var base: Double
                switch sim.source {
                case .signal(let name):
                    if let k = processIndex[name] {
                        advanceProcess(to: t)
                        base = processState[k]
                        if let o = signalOverrides[name] { base = o.apply(to: base, atNanoseconds: t) }
                        break
                    }
                    guard let spec = signals[name] else { base = 0; break }
                    base = waveform(spec, walkKey: "signal:" + name, t: t)
                    if let o = signalOverrides[name] { base = o.apply(to: base, atNanoseconds: t) }
                    base += spec.noise * gaussian(stream: "signal:" + name, t: t)
                case .inline(let spec):
                    base = waveform(spec, walkKey: "point:" + key.description, t: t)
                    base += spec.noise * gaussian(stream: "point-spec:" + key.description, t: t)
                }
                v = base + sim.bias + sim.noise * gaussian(stream: "point:" + key.description, t: t)
            }
            if let o = overrides[key] {
                let noise = o.extraNoise != 0 ? gaussian(stream: "override:" + key.description, t: t) : 0
                return o.apply(to: v ?? 0, atNanoseconds: t, noise: noise)
            }
            return v
        }
    }

    /// Integrates the closed-loop signals up to simulation time `t` on the fixed grid, with the
    /// outputs held as they are now (zero-order hold). Called with `lock` held.
    private func advanceProcess(to t: UInt64) {
        let step = Self.processStepNanoseconds
        let dt = Double(step) / 1e9
        while processNanoseconds &+ step <= t {
            for (k, signal) in plant.processSignals.enumerated() {
                var u = signal.offset
                for term in signal.terms {
                    let x: Double
                    switch term.input {
                    case .output(let id): x = outputReader?(id) ?? outputSafeValues[id] ?? 0
                    case .signal(let name):
                        if let j = processIndex[name] {
                            x = processState[j]
                        } else if let spec = signals[name] {
                            x = waveform(spec, walkKey: "signal:" + name, t: processNanoseconds)
                        } else {
                            x = 0
                        }
                    }
                    u += term.gain * x
                }
                switch signal.law {
                case .firstOrder(let tau):
                    processState[k] += (1 - exp(-dt / tau)) * (u - processState[k])
                case .integrator(let lo, let hi):
                    processState[k] = min(hi, max(lo, processState[k] + dt * u))
                }
            }
            processNanoseconds &+= step
        }
    }

    /// A waveform without noise, at time t.
    private func waveform(_ spec: SignalSpec, walkKey: String, t: UInt64) -> Double {
        let seconds = Double(t) / 1e9
        let period = spec.periodSeconds > 0 ? spec.periodSeconds : 1
        let phase = (seconds / period).truncatingRemainder(dividingBy: 1)
        switch spec.shape {
        case .constant:
            return spec.base
        case .sine:
            return spec.base + spec.amplitude * sin(2 * Double.pi * phase)
        case .ramp:
            return spec.base + spec.amplitude * phase
        case .square:
            return spec.base + (phase < 0.5 ? spec.amplitude : -spec.amplitude)
        case .randomWalk:
            return spec.base + randomWalk(key: walkKey, spec: spec, t: t)
        }
    }

    /// Offset of a random walk from its base, bounded by ±amplitude (reflected at the bounds).
    /// Steps are scaled so a walk typically wanders about one amplitude per period.
    private func randomWalk(key: String, spec: SignalSpec, t: UInt64) -> Double {
        let step = Int(t / Self.randomWalkStepNanoseconds)
        if walks[key] == nil { walks[key] = RandomWalkCache(random: SeededRandom(seed: mix(seed, key))) }
        if step < walks[key]!.positions.count {
            return walks[key]!.positions[step]
        }
        let bound = abs(spec.amplitude)
        let stepsPerPeriod = max(1, spec.periodSeconds * 1e9 / Double(Self.randomWalkStepNanoseconds))
        let sigma = bound / stepsPerPeriod.squareRoot()
        // Extended in place: a copy of the cache per new step would cost O(n) each, O(n²) over a plant-day.
        while walks[key]!.positions.count <= step {
            var x = walks[key]!.positions[walks[key]!.positions.count - 1] + sigma * Self.standardNormal(&walks[key]!.random)
            if bound > 0 {
                // Reflect back inside [-bound, bound].
                while x > bound || x < -bound { x = x > bound ? 2 * bound - x : -2 * bound - x }
            } else {
                x = 0
            }
            walks[key]!.positions.append(x)
        }
        return walks[key]!.positions[step]
    }

    /// A standard normal sample keyed on (seed, stream, t): the same query always gives the same noise.
    private func gaussian(stream: String, t: UInt64) -> Double {
        var r = SeededRandom(seed: mix(mix(seed, stream), t))
        return Self.standardNormal(&r)
    }

    /// Box–Muller transform of two uniforms.
    static func standardNormal(_ r: inout SeededRandom) -> Double {
        let u1 = Double(r.next() >> 11 | 1) / Double(1 << 53)
        let u2 = Double(r.next() >> 11) / Double(1 << 53)
        return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
    }

    private func mix(_ a: UInt64, _ s: String) -> UInt64 {
        // FNV-1a: stable across runs, unlike Hasher.
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return mix(a, h)
    }

    private func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        var r = SeededRandom(seed: a ^ (b &* 0x9E37_79B9_7F4A_7C15))
        return r.next()
    }
}

private struct RandomWalkCache {
    var random: SeededRandom
    var positions: [Double] = [0]
}
