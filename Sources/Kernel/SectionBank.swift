import Synchronization
import VigilCore
import Monitor

/// A section finding as the cycle reports it (plain value, no allocation).
public struct SectionFinding: Sendable, Hashable {
    public var section: Int32
    /// `.multivariateT2` or `.multivariateSPE`.
    public var kind: FindingKind
    public var statistic: Double
    public var limit: Double
    /// False when the statistic returned to normal.
    public var raised: Bool
    /// Equipment anomaly / process excursion (`.processExcursion`) or a sensor that broke the correlation (`.sensorFault`).
    public var cause: RootCause
    /// The sensor the diagnosis points at (largest SPE contribution, or an unhealthy member), or −1.
    public var sensor: Int32
    /// That sensor's share of SPE (0 for T²).
    public var share: Double
}

/// How a section's PCA model gets fitted once its training rows are in.
public enum SectionFitting: Sendable, Hashable {
    /// In the cycle that completes training (allocates; deterministic: simulation and replay).
    case inline
    /// By a thread beside the cycle (`SectionBank.fitPending`), swapped in at a later cycle
    /// boundary: the real-time cycle never allocates for it.
    case background
}

/// The per-section multivariate monitors of the kernel.
///
/// Each section collects `training_samples` new samples in which all its sensors are good (into
/// storage allocated here), or with `training_seconds` every such sample in that much plant time
/// after its first one (see `maxTrainingWindowRows` for the bound). Its PCA model is fitted from them (inline, or by a fitter thread) and
/// installed at a later cycle boundary; from then every new sample is scored without allocating
/// (the slow EWMA update and its periodic refit, an m×m Jacobi on preallocated storage, run inside
/// `observe`). A finding never touches redundancy groups, control or interlocks: it is journalled
/// and raised as a `.section` alarm.
public final class SectionBank: @unchecked Sendable {
    /// Hand-off between the cycle (training rows, then taking the model) and the fitter.
    private final class Slot: @unchecked Sendable {
        static let training = 0, fitting = 1, ready = 2, installed = 3, failed = 4
        let phase = Atomic<Int>(Slot.training)
        /// Written by the fitter before `phase` becomes `ready`; taken by the cycle after.
        var fitted: MultivariateMonitor?
        var failure: MultivariateError?
        /// Training rows the model is fitted from: written by the cycle before `phase` leaves `training`.
        var trainedRows = 0
        /// Per member: its RMS change over `moveRows` training rows; written by the fitter with `fitted`.
        var stepScale: [Double] = []
        /// Published by the cycle after each scored sample (for tests and the console).
        let scored = Atomic<Int>(0)
        let refits = Atomic<Int>(0)
    }

    let configs: [SectionConfig]
    /// Per section: plant sensor indices, in model column order.
    let sensorIndices: [[Int32]]
    /// Per section: whether each of its sensors has a redundant peer (a redundancy group of 2+).
    private let hasPeer: [[Bool]]
    private let slots: [Slot]
    private let rows: [UnsafeMutableBufferPointer<Double>]
    private var rowCount: [Int]
    /// Per section: training rows it can hold (its sample count, or its window's bound).
    private let rowCapacity: [Int]
    /// Per section training for a time: plant time its window closes (0 until its first row).
    private var windowEnd: [UInt64]
    /// Per section member (flat, `stampOffset[s] + j`): the timestamp of the reading last taken.
    /// A section learns and scores only new samples: a cycle that brings none (a device polled
    /// slower than the cycle) repeats the last row, which would shrink the learned spread and
    /// turn persistence (counted in rows) into a few milliseconds.
    private var lastStamps: [UInt64]
    private let stampOffset: [Int]
    /// Per section: its last `moveRows + 1` scored rows (a ring, `recentHead` the next slot,
    /// `recentCount` how many it holds), and per member its RMS change over `moveRows` rows in
    /// training (from the fitter, copied in when the model goes live): who moved, and how
    /// unusually, when the correlation broke.
    private var recent: [UnsafeMutableBufferPointer<Double>]
    private var recentHead: [Int]
    private var recentCount: [Int]
    private var stepScale: [Double]
    static let moveRows = 10
    /// Cycle-thread monitors, one per section (nil until installed).
    private var monitors: [MultivariateMonitor?]
    /// A section's events of one cycle (T² and SPE change at most once each).
    private var pending = [MultivariateEvent](repeating: .returnedToNormal(kind: .multivariateT2, section: 0, cycle: 0), count: 4)
    private var pendingCount = 0
    /// Share of SPE above which a single uncorroborated sensor is called the culprit.
    let sensorFaultShare: Double
    public let fitting: SectionFitting

    /// Training rows a section learning for `training_seconds` holds at most. At most one new sample
    /// arrives per cycle, so a window needs no more than its seconds over the cycle period; a longer
    /// window (or a faster cycle) stops at this many rows and the section fits on them there, before
    /// its seconds are over.
    public static let maxTrainingWindowRows = 100_000

    /// `maxTrainingWindowRows` may be lowered (tests).
    public init(plant: PlantConfig, fitting: SectionFitting, sensorFaultShare: Double = 0.9,
                maxTrainingWindowRows: Int = SectionBank.maxTrainingWindowRows) {
        self.fitting = fitting
        let period = Double(max(1, plant.cycle.periodMicroseconds)) * 1000
        rowCapacity = plant.sections.map { s in
            let minimum = s.requiredTrainingSamples
            guard let seconds = s.trainingSeconds else { return max(1, s.trainingSamples) }
            let cycles = min(Double(maxTrainingWindowRows), (max(0, seconds) * 1e9 / period).rounded(.up) + 1)
            return max(minimum, Int(cycles))
        }
        windowEnd = plant.sections.map { _ in 0 }
        configs = plant.sections
        sensorIndices = plant.sections.map { s in s.sensors.map { id in Int32(plant.sensors.firstIndex { $0.id == id } ?? -1) } }
        hasPeer = plant.sections.map { s in
            s.sensors.map { id in plant.redundancyGroups.contains { $0.members.contains(id) && $0.members.count > 1 } }
        }
        slots = plant.sections.map { _ in Slot() }
        rows = zip(plant.sections, rowCapacity).map { s, capacity in
            let buffer = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, capacity * s.sensors.count))
            buffer.initialize(repeating: 0)
            return buffer
        }
        rowCount = plant.sections.map { _ in 0 }
        var offsets: [Int] = [], total = 0
        for s in plant.sections { offsets.append(total); total += s.sensors.count }
        stampOffset = offsets
        lastStamps = Array(repeating: UInt64.max, count: max(1, total))
        recent = plant.sections.map { s in
            let buffer = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, (Self.moveRows + 1) * s.sensors.count))
            buffer.initialize(repeating: .nan)
            return buffer
        }
        recentHead = plant.sections.map { _ in 0 }
        recentCount = plant.sections.map { _ in 0 }
        stepScale = Array(repeating: .nan, count: max(1, total))
        monitors = plant.sections.map { _ in nil }
        raised = plant.sections.map { _ in
            var kinds: [FindingKind] = []
            kinds.reserveCapacity(2) // T² and SPE: raising one never allocates on the cycle
            return kinds
        }
        self.sensorFaultShare = sensorFaultShare
    }

    deinit {
        for r in rows { r.deallocate() }
        for r in recent { r.deallocate() }
    }

    public var count: Int { configs.count }

    /// Why fitting section `s` failed, once it has (readable from any thread after the failure).
    public func failure(_ s: Int) -> MultivariateError? {
        slots[s].phase.load(ordering: .acquiring) == Slot.failed ? slots[s].failure : nil
    }

    /// Whether section `s`'s model is in use by the cycle (any thread).
    public func isLive(_ s: Int) -> Bool { slots[s].phase.load(ordering: .acquiring) == Slot.installed }

    /// Samples scored and slow-update refits done in section `s` so far (any thread).
    public func progress(_ s: Int) -> (scored: Int, refits: Int) {
        (slots[s].scored.load(ordering: .relaxed), slots[s].refits.load(ordering: .relaxed))
    }

    /// Per section: the finding kinds raised and not yet back to normal.
    private var raised: [[FindingKind]]

    /// The finding kinds of section `s` raised and not yet back to normal.
    public func openFindings(_ s: Int) -> [FindingKind] { raised[s] }

    /// Section `s`'s statistics after its last scored sample (nil before its model is live).
    public func status(_ s: Int) -> MultivariateSectionStatus? {
        guard let m = monitors[s] else { return nil }
        return m.status(section: 0)
    }

    /// The training rows section `s` was fitted from (nil while it is still learning).
    public func trainedSamples(_ s: Int) -> Int? {
        slots[s].phase.load(ordering: .acquiring) == Slot.training ? nil : slots[s].trainedRows
    }

    /// Whether a section waits for `fitPending` (background fitting only).
    public var needsFitting: Bool {
        slots.contains { $0.phase.load(ordering: .acquiring) == Slot.fitting }
    }

    /// Whether every section is past training (fitted, installed or failed).
    public var trainingDone: Bool {
        slots.allSatisfy { $0.phase.load(ordering: .acquiring) != Slot.training }
    }

    // MARK: Cycle thread

    /// One cycle at plant time `now`: collect training rows, close training windows, install fitted
    /// models, score installed sections. `healthy(sensor)` is the per-sensor monitor's trust (true
    /// when there is none). The kernel calls it every cycle; a benchmark may drive a bank directly.
    public func observe(cycle: UInt64, nowNanoseconds now: UInt64, sensors: UnsafeBufferPointer<Reading>, healthy: (Int32) -> Bool,
                        onFinding: (SectionFinding) -> Void) {
        for s in configs.indices {
            if monitors[s] == nil {
                let phase = slots[s].phase.load(ordering: .acquiring)
                if phase == Slot.training && trainingWindowClosed(s, now: now) {
                    finishTraining(s)
                } else if phase == Slot.ready || isNewSample(s, sensors) {
                    collect(s, sensors: sensors, now: now)
                }
                continue
            }
            guard isNewSample(s, sensors) else { continue }
            pendingCount = 0
            monitors[s]!.observe(sensors, cycle: cycle) { event in
                if pendingCount < pending.count {
                    pending[pendingCount] = event
                    pendingCount += 1
                }
            }
            let status = monitors[s]!.status(section: 0)
            let m = sensorIndices[s].count
            for (j, i) in sensorIndices[s].enumerated() {
                recent[s][recentHead[s] * m + j] = i >= 0 && Int(i) < sensors.count ? sensors[Int(i)].value : .nan
            }
            recentHead[s] = (recentHead[s] + 1) % (Self.moveRows + 1)
            recentCount[s] = min(recentCount[s] + 1, Self.moveRows + 1)
            slots[s].scored.store(status.samples, ordering: .relaxed)
            slots[s].refits.store(status.refits, ordering: .relaxed)
            for e in 0..<pendingCount {
                switch pending[e] {
                case .raised(let f):
                    if !raised[s].contains(f.kind) { raised[s].append(f.kind) }
                    onFinding(diagnose(s, f, sensors: sensors, healthy: healthy))
                case .returnedToNormal(let kind, _, _):
                    if let k = raised[s].firstIndex(of: kind) { raised[s].remove(at: k) }
                    let status = monitors[s]!.status(section: 0)
                    onFinding(SectionFinding(section: Int32(s), kind: kind, statistic: kind == .multivariateT2 ? status.t2 : status.spe,
                                             limit: kind == .multivariateT2 ? status.t2Limit : status.speLimit, raised: false,
                                             cause: .processExcursion, sensor: -1, share: 0))
                }
            }
        }
    }

    /// Whether any member of section `s` brought a reading with a new timestamp since the last
    /// row (and remembers the timestamps when so).
    private func isNewSample(_ s: Int, _ sensors: UnsafeBufferPointer<Reading>) -> Bool {
        let base = stampOffset[s]
        var new = false
        for (j, i) in sensorIndices[s].enumerated() where i >= 0 && Int(i) < sensors.count {
            if sensors[Int(i)].timestampNanoseconds != lastStamps[base + j] { new = true }
        }
        guard new else { return false }
        for (j, i) in sensorIndices[s].enumerated() where i >= 0 && Int(i) < sensors.count {
            lastStamps[base + j] = sensors[Int(i)].timestampNanoseconds
        }
        return true
    }

    private func collect(_ s: Int, sensors: UnsafeBufferPointer<Reading>, now: UInt64) {
        let slot = slots[s]
        switch slot.phase.load(ordering: .acquiring) {
        case Slot.training:
            let indices = sensorIndices[s]
            for i in indices where i < 0 || Int(i) >= sensors.count || !sensors[Int(i)].quality.isGood || !sensors[Int(i)].value.isFinite {
                return
            }
            if rowCount[s] == 0, let seconds = configs[s].trainingSeconds {
                let length = min(Double(UInt64.max / 2), max(0, seconds) * 1e9)
                windowEnd[s] = now &+ UInt64(length)
            }
            let m = indices.count
            let base = rowCount[s] * m
            for (j, i) in indices.enumerated() { rows[s][base + j] = sensors[Int(i)].value }
            rowCount[s] += 1
            if rowCount[s] == rowCapacity[s] { finishTraining(s) }
        case Slot.ready: // the cycle boundary: take the fitted monitor (a move, no allocation)
            monitors[s] = slot.fitted.take()
            for (j, scale) in slot.stepScale.enumerated() { stepScale[stampOffset[s] + j] = scale }
            slot.phase.store(Slot.installed, ordering: .releasing)
        default:
            break
        }
    }

    /// Whether section `s`, learning for a time, has reached the end of its window with at least the
    /// fewest rows a model needs (a window that brought fewer goes on until it has them).
    private func trainingWindowClosed(_ s: Int, now: UInt64) -> Bool {
        windowEnd[s] != 0 && now >= windowEnd[s]
            && rowCount[s] >= configs[s].requiredTrainingSamples
    }

    /// Hands section `s`'s rows to the fitter (inline: fits now).
    private func finishTraining(_ s: Int) {
        slots[s].trainedRows = rowCount[s]
        slots[s].phase.store(Slot.fitting, ordering: .releasing)
        if fitting == .inline { fit(s) }
    }

    /// T² with every member trusted: the plant moved along its learned correlations (process
    /// excursion). SPE: the sensor whose fault alone would best explain the residual
    /// (reconstruction-based contribution, share of SPE) is the suspect when it explains at least
    /// `sensorFaultShare`. It is called a sensor fault when the per-sensor monitor already distrusts
    /// it (confirmed faulty, in quarantine or on probation), or when it has no redundant peer, every
    /// other member stays inside its normal band (|z| ≤ 3) and none with a redundant peer changed
    /// more unusually over the last `moveRows` rows than the suspect did. A suspect whose healthy
    /// peers agree with it, a residual that no single sensor explains, or other members moving too,
    /// is an equipment anomaly (cause `.processExcursion`, e.g. a closing valve).
    private func diagnose(_ s: Int, _ f: Finding, sensors: UnsafeBufferPointer<Reading>, healthy: (Int32) -> Bool) -> SectionFinding {
        let indices = sensorIndices[s]
        var result = SectionFinding(section: Int32(s), kind: f.kind, statistic: f.statistic, limit: f.threshold, raised: true,
                                    cause: .processExcursion, sensor: -1, share: 0)
        for i in indices where !healthy(i) {
            result.cause = .sensorFault
            result.sensor = i
            return result
        }
        guard f.kind == .multivariateSPE, let monitor = monitors[s] else { return result }
        let model = monitor.model(section: 0)
        let m = model.sensorCount
        // Raised by an EWMA statistic with the instantaneous SPE normal: the smoothed residual holds the evidence.
        let smoothed = monitor.status(section: 0).speRaisedBySmoothing
        var best = 0, bestShare = -1.0
        for j in 0..<m {
            let share = monitor.reconstructionContribution(section: 0, sensor: j, smoothed: smoothed)
            if share > bestShare { (best, bestShare) = (j, share) }
        }
        result.sensor = indices[best]
        result.share = bestShare
        guard bestShare >= sensorFaultShare else { return result }
        if hasPeer[s][best] { return result } // healthy redundant peers agree with it: the plant moved
        // A member its redundant peers vouch for changed more unusually over the last `moveRows`
        // rows than the suspect did: that variable really moved (the pressure fell, the flow
        // stayed), and the suspect only stopped fitting it.
        let suspectMoved = moved(s, best, sensors: sensors)
        for j in 0..<m where j != best && hasPeer[s][j] && moved(s, j, sensors: sensors) > max(suspectMoved, 2) { return result }
        for j in 0..<m where j != best {
            let z = (sensors[Int(indices[j])].value - model.mean[j]) / model.scale[j]
            if abs(z) > 3 { return result } // others left their normal band too: equipment, not one sensor
        }
        result.cause = .sensorFault
        return result
    }

    /// Member `j` of section `s`: its change over the last `moveRows` rows in units of its RMS
    /// change over as many rows in training (0 until there are that many).
    private func moved(_ s: Int, _ j: Int, sensors: UnsafeBufferPointer<Reading>) -> Double {
        let m = sensorIndices[s].count, i = sensorIndices[s][j]
        guard recentCount[s] == Self.moveRows + 1, i >= 0, Int(i) < sensors.count else { return 0 }
        let then = recent[s][recentHead[s] * m + j], now = sensors[Int(i)].value // the oldest slot is the next to write
        let scale = stepScale[stampOffset[s] + j]
        guard then.isFinite, now.isFinite, scale.isFinite, scale > 0 else { return 0 }
        return abs(now - then) / scale
    }

    // MARK: Fitting (inline, or a thread beside the cycle; allocates freely)

    /// Fits every section whose training rows are complete. For `.background` fitting: call from
    /// one thread beside the cycle until `trainingDone`; returns how many it fitted.
    @discardableResult
    public func fitPending() -> Int {
        var n = 0
        for s in configs.indices where slots[s].phase.load(ordering: .acquiring) == Slot.fitting {
            fit(s)
            n += 1
        }
        return n
    }

    private func fit(_ s: Int) {
        let c = configs[s]
        let m = c.sensors.count
        let slot = slots[s]
        let samples = (0..<slot.trainedRows).map { r in Array(rows[s][(r * m)..<((r + 1) * m)]) }
        slot.stepScale = (0..<m).map { j in
            let changes = samples.indices.dropFirst(Self.moveRows).map { r in samples[r][j] - samples[r - Self.moveRows][j] }.filter(\.isFinite)
            return changes.isEmpty ? .nan : (changes.reduce(0) { $0 + $1 * $1 } / Double(changes.count)).squareRoot()
        }
        do {
            slot.fitted = try MultivariateMonitor(section: c, sensors: sensorIndices[s], trainingSamples: samples)
            slot.phase.store(Slot.ready, ordering: .releasing)
        } catch {
            slot.failure = error
            slot.phase.store(Slot.failed, ordering: .releasing)
        }
    }
}
