import VigilCore

/// How control limits are set.
public enum MultivariateLimitMethod: Sendable, Hashable {
    /// T² from the F distribution (Paulson's approximation), SPE from Jackson–Mudholkar. Limits follow
    /// the model when the slow update refits it.
    case theoretical
    /// The (1 − α) quantile of T² and SPE over the training window itself. Needs n·α ≥ 10; in-sample,
    /// so slightly optimistic (a few more false alarms than α). Kept fixed across refits.
    case empirical
}

/// Tuning of PCA model fitting.
public struct MultivariateModelConfiguration: Sendable, Hashable {
    /// Keep the fewest principal components explaining at least this share of the (scaled) variance.
    public var varianceToKeep: Double
    /// Per-sample false-alarm probability of each statistic (T² and SPE) on normal data.
    public var falseAlarmRate: Double
    public var limitMethod: MultivariateLimitMethod

    public init(varianceToKeep: Double = 0.9, falseAlarmRate: Double = 0.001, limitMethod: MultivariateLimitMethod = .theoretical) {
        self.varianceToKeep = varianceToKeep
        self.falseAlarmRate = falseAlarmRate
        self.limitMethod = limitMethod
    }
}

/// Why a multivariate model or monitor could not be built.
public enum MultivariateError: Error, Sendable, Hashable, CustomStringConvertible {
    case tooFewVariables(found: Int)
    case tooFewSamples(found: Int, required: Int)
    case inconsistentRow(row: Int, found: Int, expected: Int)
    case nonFiniteValue(row: Int, column: Int)
    /// A variable did not move during training: it cannot be scaled, and PCA learns nothing from it.
    case constantVariable(column: Int)
    case sensorCountMismatch(section: Int, sensors: Int, modelVariables: Int)
    case sensorIndexOutOfRange(section: Int, sensor: Int32)

    public var description: String {
        switch self {
        case .tooFewVariables(let n): return "a plant section needs at least 2 sensors, found \(n)"
        case let .tooFewSamples(n, req): return "training window has \(n) samples; at least \(req) needed"
        case let .inconsistentRow(r, f, e): return "training row \(r) has \(f) values, expected \(e)"
        case let .nonFiniteValue(r, c): return "training row \(r), column \(c) is not a finite number"
        case .constantVariable(let c): return "variable \(c) is constant in the training window"
        case let .sensorCountMismatch(s, n, m): return "section \(s) lists \(n) sensors but its model has \(m) variables"
        case let .sensorIndexOutOfRange(s, i): return "section \(s): sensor index \(i) is negative"
        }
    }
}

/// A PCA model of one plant section in normal operation, on autoscaled data (correlation matrix).
public struct MultivariateModel: Sendable, Hashable {
    public let variableCount: Int
    /// Samples the model was trained on (enters the T² limit).
    public let trainingSampleCount: Int
    /// Principal components kept.
    public let componentCount: Int
    public let configuration: MultivariateModelConfiguration
    /// Per-variable mean and standard deviation (engineering units).
    public internal(set) var mean: [Double]
    public internal(set) var scale: [Double]
    /// All eigenvalues of the correlation matrix, descending (they sum to `variableCount`).
    public internal(set) var eigenvalues: [Double]
    /// Row-major m×m; column j is the loading vector of eigenvalue j.
    public internal(set) var loadings: [Double]
    public internal(set) var t2Limit: Double
    public internal(set) var speLimit: Double

    /// Share of the scaled variance the kept components explain.
    public var explainedVariance: Double {
        eigenvalues.prefix(componentCount).reduce(0, +) / Double(variableCount)
    }

    /// Fits a model to a normal-operation window: rows are samples, columns the section's sensors in order.
    public static func fit(samples: [[Double]], configuration: MultivariateModelConfiguration = .init())
        throws(MultivariateError) -> MultivariateModel {
        let m = samples.first?.count ?? 0
        guard m >= 2 else { throw .tooFewVariables(found: m) }
        let n = samples.count
        var required = max(50, 10 * m)
        if configuration.limitMethod == .empirical {
            required = max(required, Int((10 / configuration.falseAlarmRate).rounded(.up)))
        }
        guard n >= required else { throw .tooFewSamples(found: n, required: required) }
        for (r, row) in samples.enumerated() {
            guard row.count == m else { throw .inconsistentRow(row: r, found: row.count, expected: m) }
            for (c, x) in row.enumerated() where !x.isFinite { throw .nonFiniteValue(row: r, column: c) }
        }
        var mean = [Double](repeating: 0, count: m)
        for row in samples { for j in 0..<m { mean[j] += row[j] } }
        for j in 0..<m { mean[j] /= Double(n) }
        var cov = [Double](repeating: 0, count: m * m)
        for row in samples {
            for i in 0..<m {
                let di = row[i] - mean[i]
                for j in i..<m { cov[i * m + j] += di * (row[j] - mean[j]) }
            }
        }
        for i in 0..<m { for j in i..<m {
            cov[i * m + j] /= Double(n - 1)
            cov[j * m + i] = cov[i * m + j]
        } }
        var scale = [Double](repeating: 0, count: m)
        for j in 0..<m {
            let s = cov[j * m + j].squareRoot()
            guard s > 1e-12 * max(1, abs(mean[j])) else { throw .constantVariable(column: j) }
            scale[j] = s
        }
        var model = MultivariateModel(variableCount: m, trainingSampleCount: n, componentCount: 0,
                                      configuration: configuration, mean: mean, scale: scale,
                                      eigenvalues: [Double](repeating: 0, count: m),
                                      loadings: [Double](repeating: 0, count: m * m), t2Limit: 0, speLimit: 0)
        var work = [Double](repeating: 0, count: m * m)
        model.decompose(covariance: cov, work: &work)
        var k = 0
        var acc = 0.0
        while k < m - 1 && acc < configuration.varianceToKeep * Double(m) {
            acc += model.eigenvalues[k]
            k += 1
        }
        model = MultivariateModel(variableCount: m, trainingSampleCount: n, componentCount: max(1, k),
                                  configuration: configuration, mean: model.mean, scale: model.scale,
                                  eigenvalues: model.eigenvalues, loadings: model.loadings, t2Limit: 0, speLimit: 0)
        switch configuration.limitMethod {
        case .theoretical:
            model.setTheoreticalLimits()
        case .empirical:
            var t2s = [Double](), spes = [Double]()
            t2s.reserveCapacity(n)
            spes.reserveCapacity(n)
            var z = [Double](repeating: 0, count: m), resid = z
            for row in samples {
                let (t2, spe) = model.statistics(row: row, z: &z, residual: &resid)
                t2s.append(t2)
                spes.append(spe)
            }
            t2s.sort()
            spes.sort()
            let idx = min(n - 1, Int((Double(n) * (1 - configuration.falseAlarmRate)).rounded(.down)))
            model.t2Limit = t2s[idx]
            model.speLimit = spes[idx]
        }
        return model
    }

    init(variableCount: Int, trainingSampleCount: Int, componentCount: Int, configuration: MultivariateModelConfiguration,
         mean: [Double], scale: [Double], eigenvalues: [Double], loadings: [Double], t2Limit: Double, speLimit: Double) {
        self.variableCount = variableCount
        self.trainingSampleCount = trainingSampleCount
        self.componentCount = componentCount
        self.configuration = configuration
        self.mean = mean
        self.scale = scale
        self.eigenvalues = eigenvalues
        self.loadings = loadings
        self.t2Limit = t2Limit
        self.speLimit = speLimit
    }

    /// Rebuilds scale, eigenvalues and loadings from a covariance (engineering units). `work` is m×m
    /// scratch. Does not allocate when the arrays are uniquely held.
    mutating func decompose(covariance cov: [Double], work: inout [Double]) {
        let m = variableCount
        for j in 0..<m { scale[j] = max(cov[j * m + j], 1e-300).squareRoot() }
        for i in 0..<m { for j in 0..<m { work[i * m + j] = cov[i * m + j] / (scale[i] * scale[j]) } }
        _ = work.withUnsafeMutableBufferPointer { a in
            loadings.withUnsafeMutableBufferPointer { v in
                MultivariateMath.symmetricEigen(a, v, n: m)
            }
        }
        for j in 0..<m { eigenvalues[j] = work[j * m + j] }
    }

    mutating func setTheoreticalLimits() {
        let alpha = configuration.falseAlarmRate
        t2Limit = MultivariateMath.t2Limit(alpha: alpha, components: componentCount, samples: trainingSampleCount)
        let k = componentCount
        speLimit = eigenvalues.withUnsafeBufferPointer { MultivariateMath.speLimit(alpha: alpha, eigenvalues: $0, components: k) }
    }

    /// T² and SPE of one sample (used for empirical limits; the monitor has its own allocation-free path).
    func statistics(row: [Double], z: inout [Double], residual: inout [Double]) -> (t2: Double, spe: Double) {
        let m = variableCount
        for j in 0..<m { z[j] = (row[j] - mean[j]) / scale[j] }
        for j in 0..<m { residual[j] = z[j] }
        var t2 = 0.0
        for a in 0..<componentCount {
            var t = 0.0
            for j in 0..<m { t += loadings[j * m + a] * z[j] }
            t2 += t * t / eigenvalues[a]
            for j in 0..<m { residual[j] -= loadings[j * m + a] * t }
        }
        var spe = 0.0
        for j in 0..<m { spe += residual[j] * residual[j] }
        return (t2, spe)
    }
}
