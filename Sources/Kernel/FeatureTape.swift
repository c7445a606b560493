import Synchronization
import Policy

/// The policy model's view of every sensor, handed from the cycle to the policy service: every
/// `stride` cycles the policy watch copies each sensor's feature vector and the model's verdict
/// (class, action, margin) into the next slot. One producer (the cycle), one consumer (the
/// service), preallocated slots and two atomic counters: no lock, no allocation. A full tape drops
/// the newest slot (counted): the history is for people, the cycle never waits for it.
public final class FeatureTape: @unchecked Sendable {
    public let sensors: Int
    public let features: Int
    public let capacity: Int
    public let stride: Int
    private let values: UnsafeMutablePointer<Float>
    private let verdicts: UnsafeMutablePointer<Int16>
    private let stamps: UnsafeMutablePointer<UInt64>
    private let head = Atomic<Int>(0)  // consumer
    private let tail = Atomic<Int>(0)  // producer
    public let dropped = Atomic<Int>(0)

    public init(sensors: Int, features: Int, stride: Int, capacity: Int = 256) {
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
    public func openSlot() -> Int? {
        let t = tail.load(ordering: .relaxed)
        guard t - head.load(ordering: .acquiring) < capacity else {
            dropped.add(1, ordering: .relaxed)
            return nil
        }
        return t % capacity
    }

    @inline(__always)
    public func record(slot: Int, sensor: Int, features f: UnsafeBufferPointer<Float>, decision d: PolicyDecision) {
        let base = (slot * sensors + sensor) * features
        for k in 0..<min(features, f.count) { values[base + k] = f[k] }
        let v = (slot * sensors + sensor) * 3
        verdicts[v] = Int16(d.diagnosis)
        verdicts[v + 1] = Int16(d.action)
        verdicts[v + 2] = d.margin
    }

    /// Publishes the open slot, taken at plant time `monotonicNanoseconds`.
    @inline(__always)
    public func commit(slot: Int, monotonicNanoseconds: UInt64) {
        stamps[slot] = monotonicNanoseconds
        tail.store(tail.load(ordering: .relaxed) + 1, ordering: .releasing)
    }

    // MARK: Consumer (policy service)

    /// Hands every published slot to `body` (monotonic time, then per sensor its features and
    /// verdict), oldest first, and frees them. Returns the number drained.
    @discardableResult
    public func drain(_ body: (_ monotonicNanoseconds: UInt64, _ sensor: Int, _ features: UnsafeBufferPointer<Float>,
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
