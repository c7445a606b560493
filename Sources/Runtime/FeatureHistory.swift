import Policy

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
