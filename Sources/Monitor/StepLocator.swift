/// A sensor's own recent values, kept to tell which member of a disagreeing pair moved.
///
/// Two sensors that disagree cannot say by their difference who is wrong: the difference is the
/// same seen from either side. Their own series can. A bias fault is a step in the faulty sensor's
/// series that its noise cannot explain, while its partner carries on smoothly; a real process
/// change moves both. `stepScore` is the largest two-window level shift over the window, in units
/// of the sensor's noise σ: max over split points m of |mean(after m) − mean(before m)| divided by
/// σ·√(1/n₁ + 1/n₂). Pure noise gives about 3 (the maximum over ~110 correlated z-values); a step
/// of Δ = kσ with ≥ 8 samples on each side gives ≥ k·√4 = 2k. A slow process trend raises both
/// members alike, which is why the monitor compares the two and blames only a clear winner.
struct StepLocator: Sendable {
    static let capacity = 128
    /// Fewest samples on either side of a split.
    static let minimumSide = 8

    private var values = InlineArray<128, Double>(repeating: 0)
    private var head = 0
    private(set) var count = 0
    /// max |Δ̂| / √((XᵀX)⁻¹)₃₃ over the splits of the current window (the step score times σ),
    /// computed when first asked for after a sample, so repeated reads within a sample are O(1);
    /// negative when stale.
    private var scaledShift = -1.0

    mutating func push(_ v: Double) {
        values[head] = v
        head = (head + 1) & Self.mask
        count = min(count + 1, Self.capacity)
        scaledShift = -1
    }

    mutating func clear() { count = 0; head = 0; scaledShift = -1 }

    /// The largest level shift in the window, in noise σ (0 when too few samples or σ unknown).
    /// Each split m is fitted as y = a + b·t + Δ·[t ≥ m] (least squares), so a steady process trend
    /// is not mistaken for a step; the score is max |Δ̂| / sd(Δ̂) with sd(Δ̂) = σ·√((XᵀX)⁻¹)₃₃.
    mutating func stepScore(noiseSigma: Double) -> Double {
        guard noiseSigma > 0, noiseSigma.isFinite else { return 0 }
        if scaledShift < 0 { scaledShift = largestScaledShift() }
        return scaledShift / noiseSigma
    }

    private static let mask = capacity - 1

    private func largestScaledShift() -> Double {
        let n = count
        guard n >= 2 * Self.minimumSide + 2 else { return 0 }
        let values = self.values.span
        let oldest = (head - n + Self.capacity) & Self.mask
        let origin = values[oldest]
        let centre = Double(n - 1) / 2
        var sy = 0.0, sty = 0.0, stt = 0.0
        for k in 0..<n {
            let t = Double(k) - centre
            let y = values[(oldest + k) & Self.mask] - origin
            sy += y
            sty += t * y
            stt += t * t
        }
        // Suffix sums over k ≥ m, built from the end.
        var sm = 0.0, stm = 0.0, sym = 0.0
        var best = 0.0
        let nn = Double(n)
        var k = n - 1
        while k >= Self.minimumSide {
            let t = Double(k) - centre
            sm += 1
            stm += t
            sym += values[(oldest + k) & Self.mask] - origin
            if Int(sm) >= Self.minimumSide {
                // XᵀX = [[n, 0, sm], [0, stt, stm], [sm, stm, sm]] (Σt = 0 after centring), Xᵀy = [sy, sty, sym].
                let det = nn * (stt * sm - stm * stm) - sm * (stt * sm)
                if det > 1e-9 {
                    let deltaNumerator = nn * (stt * sym - stm * sty) + sm * (-stt * sy)
                    let delta = deltaNumerator / det
                    let inverse33 = nn * stt / det
                    best = max(best, abs(delta) / inverse33.squareRoot())
                }
            }
            k -= 1
        }
        return best
    }
}
