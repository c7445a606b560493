/// Room for one group's member values, allocated once: the median of the first `n` without allocating.
struct MedianScratch: Sendable {
    private var values: [Double]

    init(capacity: Int) { values = [Double](repeating: 0, count: capacity) }

    subscript(_ k: Int) -> Double {
        get { values[k] }
        set { values[k] = newValue }
    }

    /// Median of the first `n` values (insertion sort in place: it reorders them).
    mutating func median(_ n: Int) -> Double {
        var i = 1
        while i < n {
            let x = values[i]
            var j = i - 1
            while j >= 0 && values[j] > x { values[j + 1] = values[j]; j -= 1 }
            values[j + 1] = x
            i += 1
        }
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2
    }
}
