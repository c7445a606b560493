import Synchronization
import VigilCore
import Monitor
import Policy

/// The policy model on the cycle thread: after the monitor's `observe`, every sensor's feature
/// vector goes through the int8 model (SIMD kernel) and the verdict is kept per sensor. A verdict
/// that holds for `confirmSamples` cycles is reported (journalled) when it changes. Advisory: the
/// verdicts do not move a group or an output; the monitor's rules and the interlocks decide.
///
/// A new model (a deployment or a rollback) is offered from another thread and taken at the start
/// of a cycle; the model it replaces goes back to that thread to be released, so the cycle thread
/// neither allocates nor frees.
public final class PolicyWatch: @unchecked Sendable {
    /// Hand-off: free → (offer) ready → (cycle takes it, parks the old one) retired → (collect) free.
    private static let free = 0, writing = 1, ready = 2, retired = 3
    private let state = Atomic<Int>(PolicyWatch.free)
    private var slotModel: PolicyModel?
    private var slotScratch: PolicyScratch?
    private var slotClassMap: [Int8]?

    private var model: PolicyModel
    private var scratch: PolicyScratch
    private let features: UnsafeMutableBufferPointer<Float>
    public let sensorCount: Int
    /// Per sensor: the reported verdict (−1: none yet), the candidate and how long it has held.
    private var reported: [Int32]
    private var candidate: [Int32]
    private var held: [Int32]
    let confirmSamples: Int32
    /// A confirmed verdict is confident when its logit leads the runner-up by this many int8 steps.
    let minMargin: Int16
    /// Per sensor: the confident verdict as a `ModelDiagnosis` raw value, or −1.
    private var confident: [Int8]
    /// The model's class index → `ModelDiagnosis` raw value (−1 for a class the monitor does not know).
    private var classMap: [Int8]
    /// The model version in use (read by other threads).
    public let version = Atomic<UInt32>(0)
    /// Set from another thread to take the model off the cycle (a model error): from the next
    /// boundary no sensor is scored, no verdict reported and the monitor gets no opinion.
    private let withdrawnFlag = Atomic<Bool>(false)
    /// Every `tape.stride` cycles each sensor's features and verdict go to the policy service.
    public let tape: FeatureTape?
    private var tick = 0

    init(model: PolicyModel, sensorCount: Int, confirmSamples: Int32 = 5, minMargin: Int16 = 16, tape: FeatureTape? = nil) {
        self.tape = tape
        self.minMargin = minMargin
        confident = Array(repeating: -1, count: sensorCount)
        classMap = Self.classMap(model)
        self.model = model
        self.scratch = model.makeScratch()
        self.sensorCount = sensorCount
        self.confirmSamples = confirmSamples
        features = .allocate(capacity: max(SensorFeatures.count, model.schema.features.count, 1))
        features.initialize(repeating: 0)
        reported = Array(repeating: -1, count: sensorCount)
        candidate = Array(repeating: -1, count: sensorCount)
        held = Array(repeating: 0, count: sensorCount)
        version.store(model.lineage.version, ordering: .relaxed)
    }

    deinit { features.deallocate() }

    /// Offers `model` for the next cycle boundary (any thread but the cycle's). Returns false when an
    /// earlier offer is still pending; call `collectRetired` and retry.
    @discardableResult
    public func offer(_ model: PolicyModel) -> Bool {
        guard state.compareExchange(expected: Self.free, desired: Self.writing, ordering: .acquiring).exchanged else { return false }
        slotModel = model
        slotScratch = model.makeScratch()
        slotClassMap = Self.classMap(model)
        state.store(Self.ready, ordering: .releasing)
        return true
    }

    /// Takes the model off the cycle at its next boundary (any thread): the rules decide alone.
    public func withdraw() { withdrawnFlag.store(true, ordering: .releasing) }

    /// Puts the model back on the cycle at its next boundary (any thread).
    public func reinstate() { withdrawnFlag.store(false, ordering: .releasing) }

    /// Whether the model is off the cycle (`withdraw`).
    public var isWithdrawn: Bool { withdrawnFlag.load(ordering: .acquiring) }

    /// Releases the model the cycle replaced (any thread but the cycle's). True when there was one.
    @discardableResult
    public func collectRetired() -> Bool {
        guard state.load(ordering: .acquiring) == Self.retired else { return false }
        slotModel = nil
        slotScratch = nil
        slotClassMap = nil
        state.store(Self.free, ordering: .releasing)
        return true
    }

    /// Cycle thread: take an offered model, then score every sensor. `report(sensor, decision)` is
    /// called for confirmed changes of verdict. No allocation.
    func observe(_ monitor: inout PlantMonitor, nowNanoseconds now: UInt64, report: (Int, PolicyDecision) -> Void) {
        if state.load(ordering: .acquiring) == Self.ready {
            swap(&model, &slotModel!)
            swap(&scratch, &slotScratch!)
            swap(&classMap, &slotClassMap!)
            version.store(model.lineage.version, ordering: .relaxed)
            for i in 0..<sensorCount { held[i] = 0; candidate[i] = -1 }
            state.store(Self.retired, ordering: .releasing)
        }
        if withdrawnFlag.load(ordering: .acquiring) {
            // Off the cycle: no opinion, and a reinstated model starts its verdicts afresh.
            for i in 0..<sensorCount { held[i] = 0; candidate[i] = -1; confident[i] = -1; reported[i] = -1 }
            return
        }
        let n = model.schema.features.count
        let input = UnsafeBufferPointer(rebasing: features[0..<n])
        var slot: Int?
        if let tape {
            tick += 1
            if tick >= tape.stride {
                tick = 0
                slot = tape.openSlot()
            }
        }
        defer { if let tape, let slot { tape.commit(slot: slot, monotonicNanoseconds: now) } }
        // Local bindings: a stored property read per call would copy the model (retaining its
        // arrays) for every sensor.
        let model = self.model, scratch = self.scratch
        for i in 0..<sensorCount {
            monitor.features(sensor: i, into: features)
            let d = model.decide(input, scratch: scratch)
            if let tape, let slot { tape.record(slot: slot, sensor: i, features: input, decision: d) }
            let c = Int32(d.diagnosis)
            // Verdicts count only once the sensor's detectors are warmed up: before that the
            // features describe a sensor nobody knows yet (the model called start-ups "bias").
            guard monitor.isWarmedUp(sensor: i) else {
                candidate[i] = -1
                held[i] = 0
                confident[i] = -1
                continue
            }
            if c == candidate[i] {
                if held[i] < confirmSamples { held[i] += 1 }
            } else {
                candidate[i] = c
                held[i] = 1
            }
            confident[i] = held[i] >= confirmSamples && d.margin >= minMargin ? classMap[Int(c)] : -1
            if held[i] == confirmSamples && reported[i] != c {
                reported[i] = c
                report(i, d)
            }
        }
    }

    /// The confident verdict on a sensor for the monitor (nil: none).
    func opinion(sensor: Int) -> ModelDiagnosis? { ModelDiagnosis(rawValue: confident[sensor]) }

    static func classMap(_ model: PolicyModel) -> [Int8] {
        model.schema.classes.map { ModelDiagnosis(name: $0)?.rawValue ?? -1 }
    }

    /// The reported verdict of a sensor (−1 before the first).
    public func verdict(sensor: Int) -> Int32 { reported[sensor] }
}
