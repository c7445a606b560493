import RealModule

/// Softmax with a temperature, in float, numerically stable (the maximum is subtracted first).
public enum Softmax {
    /// p_i = exp(z_i / T) / Σ_j exp(z_j / T).
    public static func probabilities(_ logits: [Float], temperature: Float = 1) -> [Float] {
        guard let top = logits.max() else { return [] }
        let t = temperature > 0 ? temperature : 1
        let e = logits.map { Float.exp(($0 - top) / t) }
        let sum = e.reduce(0, +)
        return e.map { $0 / sum }
    }
}
