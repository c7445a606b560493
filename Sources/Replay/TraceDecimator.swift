/// A trace thinned to a fixed number of time buckets for plotting, keeping each bucket's lowest
/// and highest value (so a one-sample spike in a day of samples still shows). Samples may come in
/// any time order. Memory is fixed by the bucket count.
public struct TraceDecimator: Sendable {
    public let buckets: Int
    /// Time span the buckets cover, from 0 (nanoseconds).
    public let span: Int64
    private var low: [Double], high: [Double]
    private var lowAt: [Int64], highAt: [Int64]
    public private(set) var count = 0

    public init(buckets: Int, span: Int64) {
        self.buckets = max(1, buckets)
        self.span = max(1, span)
        // Four buffers of their own: shared ones would be copied on the first `add`, in the replay's step loop.
        low = Array(repeating: .nan, count: self.buckets)
        high = Array(repeating: .nan, count: self.buckets)
        lowAt = Array(repeating: 0, count: self.buckets)
        highAt = Array(repeating: 0, count: self.buckets)
    }

    @inline(__always) func bucket(_ t: Int64) -> Int {
        let b = Double(t) / Double(span) * Double(buckets)
        return b.isFinite ? min(buckets - 1, max(0, Int(b))) : 0
    }

    /// Adds a sample at time `t` (NaN and infinities are skipped).
    public mutating func add(_ t: Int64, _ v: Double) {
        guard v.isFinite else { return }
        let b = bucket(t)
        count += 1
        if low[b].isNaN || v < low[b] || (v == low[b] && t < lowAt[b]) { (low[b], lowAt[b]) = (v, t) }
        if high[b].isNaN || v > high[b] || (v == high[b] && t < highAt[b]) { (high[b], highAt[b]) = (v, t) }
    }

    /// The lowest and highest value kept (nil without samples).
    public var range: (low: Double, high: Double)? {
        var lo = Double.infinity, hi = -Double.infinity
        for b in 0..<buckets where !low[b].isNaN {
            lo = min(lo, low[b])
            hi = max(hi, high[b])
        }
        return lo <= hi ? (lo, hi) : nil
    }

    /// The kept points as runs of (time, value) in time order, at most two per bucket. A run ends
    /// where more than `gapBuckets` buckets in a row hold nothing (a gap in the data).
    public func runs(gapBuckets: Int) -> [[(Int64, Double)]] {
        var runs: [[(Int64, Double)]] = []
        var current: [(Int64, Double)] = []
        var empty = 0
        for b in 0..<buckets {
            guard !low[b].isNaN else {
                empty += 1
                continue
            }
            if empty > gapBuckets && !current.isEmpty {
                runs.append(current)
                current = []
            }
            empty = 0
            if lowAt[b] == highAt[b] {
                current.append((lowAt[b], low[b]))
            } else if lowAt[b] < highAt[b] {
                current.append((lowAt[b], low[b]))
                current.append((highAt[b], high[b]))
            } else {
                current.append((highAt[b], high[b]))
                current.append((lowAt[b], low[b]))
            }
        }
        if !current.isEmpty { runs.append(current) }
        return runs
    }

    /// Buckets without a sample that still count as one line: ten typical sample intervals.
    public var typicalGapBuckets: Int {
        guard count > 1 else { return buckets }
        return max(2, Int((10 * Double(buckets) / Double(count)).rounded(.up)))
    }
}
