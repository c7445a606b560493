import Synchronization
import Policy

/// The policy model's view of every sensor, handed from the cycle to the policy service: every
/// `stride` cycles the policy watch copies each sensor's feature vector and the model's verdict
/// (class, action, margin) into the next slot. One producer (the cycle), one consumer (the
/// service), preallocated slots and two atomic counters: no lock, no allocation. A full tape drops
/// the newest slot (counted): the history is for people, the cycle never waits for it.
final class FeatureTape: @unchecked Sendable {
    let sensors: Int
    let features: Int
    let capacity: Int
    let stride: Int
    private let values: UnsafeMutablePointer<Float>
    private let verdicts: UnsafeMutablePointer<Int16>
    private let stamps: UnsafeMutablePointer<UInt64>
    private let head = Atomic<Int>(0)  // consumer
    private let tail = Atomic<Int>(0)  // producer
    let dropped = Atomic<Int>(0)

    init(sensors: Int, features: Int, stride: Int, capacity: Int = 256) {
        self.sensors = max(sensors, 1)
        self.features = max(features, 1)
        self.capacity = max(capacity, 2)
        self.stride = max(stride, 1)
        values = .allocate(capacity: self.capacity * self.sensors * self.features)
        values.initialize(repeating: 0, count: self.capacity * self.sensors * self.features)
        verdicts = .allocate(capacity: self.capacity * self.sensors * 3)
        verdicts.initialize(repeating: -1, count: self.capacity * self.sensors * 3)
        stamps = .allocate(capacity: self.capacity)
        stamps.initialize(repeating: 0, count: self.capacity)
    }

    deinit {
        values.deallocate()
        verdicts.deallocate()
        stamps.deallocate()
    }

    // MARK: Producer (cycle thread)

    /// The slot the next `record`s write into, or nil when the tape is full (counted as dropped).
    @inline(__always)
    func openSlot() -> Int? {
        let t = tail.load(ordering: .relaxed)
        guard t - head.load(ordering: .acquiring) < capacity else {
            dropped.add(1, ordering: .relaxed)
            return nil
        }
        return t % capacity
    }

    @inline(__always)
    func record(slot: Int, sensor: Int, features f: UnsafeBufferPointer<Float>, decision d: PolicyDecision) {
        let base = (slot * sensors + sensor) * features
        for k in 0..<min(features, f.count) { values[base + k] = f[k] }
        let v = (slot * sensors + sensor) * 3
        verdicts[v] = Int16(d.diagnosis)
        verdicts[v + 1] = Int16(d.action)
        verdicts[v + 2] = d.margin
    }

    /// Publishes the open slot, taken at monotonic time `nanoseconds`.
    @inline(__always)
    func commit(slot: Int, monotonicNanoseconds: UInt64) {
        stamps[slot] = monotonicNanoseconds
        tail.store(tail.load(ordering: .relaxed) + 1, ordering: .releasing)
    }

    // MARK: Consumer (policy service)

    /// Hands every published slot to `body` (monotonic time, then per sensor its features and
    /// verdict), oldest first, and frees them. Returns the number drained.
    @discardableResult
    func drain(_ body: (_ monotonicNanoseconds: UInt64, _ sensor: Int, _ features: UnsafeBufferPointer<Float>,
                        _ verdict: (diagnosis: Int16, action: Int16, margin: Int16)) -> Void) -> Int {
        let h = head.load(ordering: .relaxed), t = tail.load(ordering: .acquiring)
        for n in h..<t {
            let slot = n % capacity
            for s in 0..<sensors {
                let base = (slot * sensors + s) * features, v = (slot * sensors + s) * 3
                body(stamps[slot], s, UnsafeBufferPointer(start: values + base, count: features), (verdicts[v], verdicts[v + 1], verdicts[v + 2]))
            }
        }
        head.store(t, ordering: .releasing)
        return t - h
    }
}

/// The policy service's memory of each sensor: the last `capacity` tape samples (monotonic time,
/// features, verdict), so operator feedback on a recent event or time window has the samples it
/// teaches. Confined to the service thread.
struct FeatureHistory {
    let sensors: Int
    let features: Int
    let capacity: Int
    private var values: [Float]
    private var stamps: [UInt64]
    private var verdicts: [Int16]
    private var count: [Int]
    private var next: [Int]

    init(sensors: Int, features: Int, capacity: Int) {
        self.sensors = sensors
        self.features = features
        self.capacity = max(capacity, 1)
        values = [Float](repeating: 0, count: sensors * self.capacity * features)
        stamps = [UInt64](repeating: 0, count: sensors * self.capacity)
        verdicts = [Int16](repeating: -1, count: sensors * self.capacity * 3)
        count = [Int](repeating: 0, count: sensors)
        next = [Int](repeating: 0, count: sensors)
    }

    mutating func append(sensor s: Int, monotonicNanoseconds t: UInt64, features f: UnsafeBufferPointer<Float>,
                         verdict: (diagnosis: Int16, action: Int16, margin: Int16)) {
        let i = next[s]
        let base = (s * capacity + i) * features
        for k in 0..<min(features, f.count) { values[base + k] = f[k] }
        stamps[s * capacity + i] = t
        verdicts[(s * capacity + i) * 3] = verdict.diagnosis
        verdicts[(s * capacity + i) * 3 + 1] = verdict.action
        verdicts[(s * capacity + i) * 3 + 2] = verdict.margin
        next[s] = (i + 1) % capacity
        count[s] = min(count[s] + 1, capacity)
    }

    /// One stored sample: when, its features, and the model's verdict then.
    struct Sample {
        var monotonicNanoseconds: UInt64
        var features: [Float]
        var diagnosis: Int
        var action: Int
        var margin: Int
    }

    /// Up to `limit` samples of sensor `s` taken at or before `t`, oldest first (the newest is the
    /// one closest to t). Empty when the history does not reach back to t.
    func samples(sensor s: Int, atOrBefore t: UInt64, limit: Int) -> [Sample] {
        samples(sensor: s, from: 0, through: t).suffix(limit).map { $0 }
    }

    /// The samples of sensor `s` with from ≤ time ≤ through, oldest first.
    func samples(sensor s: Int, from: UInt64, through: UInt64) -> [Sample] {
        var out: [Sample] = []
        let n = count[s]
        for j in 0..<n {
            let i = (next[s] - n + j + capacity) % capacity
            let t = stamps[s * capacity + i]
            guard t >= from && t <= through else { continue }
            let base = (s * capacity + i) * features
            let v = (s * capacity + i) * 3
            out.append(Sample(monotonicNanoseconds: t, features: Array(values[base..<(base + features)]),
                              diagnosis: Int(verdicts[v]), action: Int(verdicts[v + 1]), margin: Int(verdicts[v + 2])))
        }
        return out
    }

    /// The newest time held for sensor `s` (nil when empty).
    func newest(sensor s: Int) -> UInt64? {
        count[s] > 0 ? stamps[s * capacity + (next[s] - 1 + capacity) % capacity] : nil
    }

    /// The oldest time still held for sensor `s` (nil when empty).
    func oldest(sensor s: Int) -> UInt64? {
        let n = count[s]
        guard n > 0 else { return nil }
        return stamps[s * capacity + (next[s] - n + capacity) % capacity]
    }
}
