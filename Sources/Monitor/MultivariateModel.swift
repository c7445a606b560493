import VigilCore

/// How control limits are set.
public enum MultivariateLimitMethod: Sendable, Hashable {
    /// T² from the F distribution (Paulson's approximation), SPE from Jackson–Mudholkar, the EWMA
    /// statistics from the same moments for independent samples. Limits follow the model when the
    /// slow update refits it. Optimistic for autocorrelated data (most plant data).
    case theoretical
    /// The (1 − α) quantile of each statistic over the training window itself. Needs n·α ≥ 10;
    /// in-sample, so optimistic (more false alarms than α).
    case empirical
    /// From samples the model did not see: the training rows are cut into `folds` contiguous blocks,
    /// each block is scored by a model fitted to the others (same component count), and each
    /// statistic's series over all blocks, in time order, is matched by its mean and variance to a
    /// scaled χ²; the limit is its (1 − α) quantile, or the theoretical limit when that is higher.
    /// Captures overfitting, autocorrelation (in the EWMA statistics) and drift between blocks.
    case crossValidated(folds: Int)
}

/// How each variable is centred and scaled before the PCA.
public enum MultivariateScaling: Sendable, Hashable {
    /// Mean and standard deviation.
    case standard
    /// Median and 1.4826 × median absolute deviation (the standard deviation when the MAD is 0,
    /// e.g. a coarsely quantised sensor): a few outliers in training do not stretch the scale.
    case robust
}

/// Tuning of PCA model fitting, and the statistics the limits are set for.
public struct MultivariateModelConfiguration: Sendable, Hashable {
    /// Keep the fewest principal components explaining at least this share of the (scaled) variance.
    public var varianceToKeep: Double
    /// Per-sample false-alarm probability of each statistic on normal data.
    public var falseAlarmRate: Double
    public var limitMethod: MultivariateLimitMethod
    /// Time-lagged copies of every sensor in the model (dynamic PCA): with `lags` = l a sample is the
    /// vector [x(t), x(t−1), …, x(t−l)] of m·(l+1) variables, so the model learns how the plant moves
    /// from one sample to the next, not only how its sensors co-vary.
    public var lags: Int
    public var scaling: MultivariateScaling
    /// Weight of the EWMA statistics (0: none): the EWMA of SPE (catches a grown spread or a broken
    /// dynamic) and the squared norm of the EWMA of the residual vector (a MEWMA: catches a small
    /// persistent shift). Memory ≈ 1/λ samples.
    public var ewmaLambda: Double

    public init(varianceToKeep: Double = 0.9, falseAlarmRate: Double = 0.001, limitMethod: MultivariateLimitMethod = .theoretical,
                lags: Int = 0, scaling: MultivariateScaling = .standard, ewmaLambda: Double = 0) {
        self.varianceToKeep = varianceToKeep
        self.falseAlarmRate = falseAlarmRate
        self.limitMethod = limitMethod
        self.lags = lags
        self.scaling = scaling
        self.ewmaLambda = ewmaLambda
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
    /// A configuration value outside what the model can use.
    case invalidSetting(name: String, found: Double, expected: String)

    public var description: String {
        switch self {
        case .tooFewVariables(let n): return "a plant section needs at least 2 sensors, found \(n)"
        case let .tooFewSamples(n, req): return "training window has \(n) samples; at least \(req) needed"
        case let .inconsistentRow(r, f, e): return "training row \(r) has \(f) values, expected \(e)"
        case let .nonFiniteValue(r, c): return "training row \(r), column \(c) is not a finite number"
        case .constantVariable(let c): return "variable \(c) is constant in the training window"
        case let .sensorCountMismatch(s, n, m): return "section \(s) lists \(n) sensors but its model has \(m) variables"
        case let .sensorIndexOutOfRange(s, i): return "section \(s): sensor index \(i) is negative"
        case let .invalidSetting(name, found, expected): return "\(name) is \(found), expected \(expected)"
        }
    }
}

/// A PCA model of one plant section in normal operation, on scaled (and optionally time-lagged) data.
public struct MultivariateModel: Sendable, Hashable {
    /// Sensors of the section (m).
    public let sensorCount: Int
    /// Model variables: m·(lags + 1), ordered [x(t), x(t−1), …]; variable `j` of lag `a` is column a·m + j.
    public let variableCount: Int
    /// Lagged training rows the model was fitted on (enters the T² limit).
    public let trainingSampleCount: Int
    /// Principal components kept.
    public let componentCount: Int
    public let configuration: MultivariateModelConfiguration
    /// Per-variable centre and scale (engineering units).
    public internal(set) var mean: [Double]
    public internal(set) var scale: [Double]
    /// All eigenvalues of the scaled covariance, descending (they sum to `variableCount` with standard scaling).
    public internal(set) var eigenvalues: [Double]
    /// Row-major p×p; column j is the loading vector of eigenvalue j.
    public internal(set) var loadings: [Double]
    public internal(set) var t2Limit: Double
    public internal(set) var speLimit: Double
    /// Limit of the EWMA of SPE (infinite without EWMA statistics).
    public internal(set) var ewmaSPELimit: Double
    /// Limit of the squared norm of the EWMA residual vector (infinite without EWMA statistics).
    public internal(set) var residualEWMALimit: Double
    /// SPE expected in normal operation: where the EWMA of SPE starts.
    public internal(set) var speMean: Double
    /// Residual variance (sum of the residual eigenvalues) the SPE-family limits were set for: a
    /// refit with limits from data scales them by the new residual variance over this.
    public internal(set) var limitResidualVariance: Double

    public var lags: Int { configuration.lags }

    /// Share of the scaled variance the kept components explain.
    public var explainedVariance: Double {
        let total = eigenvalues.reduce(0) { $0 + max(0, $1) }
        return total > 0 ? eigenvalues.prefix(componentCount).reduce(0, +) / total : 0
    }

    /// The fewest training samples (raw, before lagging) `fit` accepts: two lagged rows per model
    /// variable and at least 50, plus the lags; with empirical limits also 10/α.
    public static func minimumTrainingSamples(sensorCount m: Int, configuration c: MultivariateModelConfiguration) -> Int {
        let l = max(0, c.lags)
        var required = max(50, 2 * m * (l + 1)) + l
        if c.limitMethod == .empirical { required = max(required, Int((10 / c.falseAlarmRate).rounded(.up)) + l) }
        return required
    }

    /// Fits a model to a normal-operation window: rows are consecutive samples in time order,
    /// columns the section's sensors in order.
    public static func fit(samples: [[Double]], configuration c: MultivariateModelConfiguration = .init())
        throws(MultivariateError) -> MultivariateModel {
        let m = samples.first?.count ?? 0
        guard m >= 2 else { throw .tooFewVariables(found: m) }
        guard (0...64).contains(c.lags) else { throw .invalidSetting(name: "lags", found: Double(c.lags), expected: "0...64") }
        guard c.ewmaLambda >= 0, c.ewmaLambda < 1 else {
            throw .invalidSetting(name: "ewma lambda", found: c.ewmaLambda, expected: "0 (none) or a weight in (0, 1)")
        }
        guard c.falseAlarmRate > 0, c.falseAlarmRate < 0.5 else {
            throw .invalidSetting(name: "false-alarm rate", found: c.falseAlarmRate, expected: "a probability in (0, 0.5)")
        }
        if case .crossValidated(let folds) = c.limitMethod, !(2...100).contains(folds) {
            throw .invalidSetting(name: "cross-validation folds", found: Double(folds), expected: "2...100")
        }
        let n = samples.count
        let required = minimumTrainingSamples(sensorCount: m, configuration: c)
        guard n >= required else { throw .tooFewSamples(found: n, required: required) }
        for (r, row) in samples.enumerated() {
            guard row.count == m else { throw .inconsistentRow(row: r, found: row.count, expected: m) }
            for (col, x) in row.enumerated() where !x.isFinite { throw .nonFiniteValue(row: r, column: col) }
        }
        let l = c.lags, p = m * (l + 1), rows = n - l
        var x = [Double](repeating: 0, count: rows * p)
        for r in 0..<rows {
            for a in 0...l {
                let sample = samples[r + l - a]
                for j in 0..<m { x[r * p + a * m + j] = sample[j] }
            }
        }
        let data = LaggedRows(values: x, rows: rows, variables: p)
        let full = PCA(data, excluding: 0..<0, scaling: c.scaling)
        for j in 0..<p where !(full.scale[j] > 1e-12 * max(1, abs(full.mean[j]))) { throw .constantVariable(column: j % m) }
        let total = full.eigenvalues.reduce(0) { $0 + max(0, $1) }
        var k = 0
        var acc = 0.0
        while k < p - 1 && acc < c.varianceToKeep * total {
            acc += full.eigenvalues[k]
            k += 1
        }
        k = max(1, k)
        var model = MultivariateModel(sensorCount: m, variableCount: p, trainingSampleCount: rows, componentCount: k,
                                      configuration: c, mean: full.mean, scale: full.scale, eigenvalues: full.eigenvalues,
                                      loadings: full.loadings)
        switch c.limitMethod {
        case .theoretical:
            model.setTheoreticalLimits()
        case .empirical:
            var series = StatisticSeries(variables: p, capacity: rows)
            series.append(data, rows: 0..<rows, pca: full, components: k)
            model.setLimits(from: series, quantile: true)
        case .crossValidated(let folds):
            var series = StatisticSeries(variables: p, capacity: rows)
            for b in 0..<folds {
                let block = (b * rows / folds)..<((b + 1) * rows / folds)
                guard !block.isEmpty else { continue }
                series.append(data, rows: block, pca: PCA(data, excluding: block, scaling: c.scaling), components: k)
            }
            var theory = model
            theory.setTheoreticalLimits()
            model.setLimits(from: series, quantile: false)
            model.t2Limit = max(model.t2Limit, theory.t2Limit)
            model.speLimit = max(model.speLimit, theory.speLimit)
            model.ewmaSPELimit = max(model.ewmaSPELimit, theory.ewmaSPELimit)
            model.residualEWMALimit = max(model.residualEWMALimit, theory.residualEWMALimit)
        }
        model.limitResidualVariance = model.residualVariance
        return model
    }

    init(sensorCount: Int, variableCount: Int, trainingSampleCount: Int, componentCount: Int, configuration: MultivariateModelConfiguration,
         mean: [Double], scale: [Double], eigenvalues: [Double], loadings: [Double]) {
        self.sensorCount = sensorCount
        self.variableCount = variableCount
        self.trainingSampleCount = trainingSampleCount
        self.componentCount = componentCount
        self.configuration = configuration
        self.mean = mean
        self.scale = scale
        self.eigenvalues = eigenvalues
        self.loadings = loadings
        t2Limit = .infinity
        speLimit = .infinity
        ewmaSPELimit = .infinity
        residualEWMALimit = .infinity
        speMean = 0
        limitResidualVariance = 0
    }

    /// Sum of the residual eigenvalues (θ₁): the SPE expected of independent samples.
    var residualVariance: Double {
        var theta1 = 0.0
        for j in componentCount..<variableCount { theta1 += max(eigenvalues[j], 0) }
        return theta1
    }

    /// After a refit: theoretical limits follow the new eigenvalues; limits from data keep T² and
    /// scale the SPE family (and the SPE expected) by the change in residual variance.
    mutating func updateLimitsAfterRefit() {
        if configuration.limitMethod == .theoretical {
            setTheoreticalLimits()
        } else if limitResidualVariance > 0 {
            let ratio = residualVariance / limitResidualVariance
            speLimit *= ratio
            ewmaSPELimit *= ratio
            residualEWMALimit *= ratio
            speMean *= ratio
        }
        limitResidualVariance = residualVariance
    }

    /// Rebuilds scale, eigenvalues and loadings from a covariance (engineering units). `work` is p×p
    /// and `scratch` p values of scratch. Does not allocate when the arrays are uniquely held.
    mutating func decompose(covariance cov: [Double], work: inout [Double], scratch: inout [Double]) {
        let p = variableCount
        for j in 0..<p { scale[j] = max(cov[j * p + j], 1e-300).squareRoot() }
        for i in 0..<p { for j in 0..<p { work[i * p + j] = cov[i * p + j] / (scale[i] * scale[j]) } }
        work.withUnsafeBufferPointer { a in
            eigenvalues.withUnsafeMutableBufferPointer { d in
                loadings.withUnsafeMutableBufferPointer { v in
                    scratch.withUnsafeMutableBufferPointer { e in
                        _ = MultivariateMath.symmetricEigenQL(a, values: d, vectors: v, scratch: e, n: p)
                    }
                }
            }
        }
    }

    mutating func setTheoreticalLimits() {
        let alpha = configuration.falseAlarmRate
        let k = componentCount
        t2Limit = MultivariateMath.t2Limit(alpha: alpha, components: k, samples: trainingSampleCount)
        speLimit = eigenvalues.withUnsafeBufferPointer { MultivariateMath.speLimit(alpha: alpha, eigenvalues: $0, components: k) }
        var theta1 = 0.0, theta2 = 0.0
        for j in k..<variableCount {
            let e = max(eigenvalues[j], 0)
            theta1 += e
            theta2 += e * e
        }
        speMean = theta1
        let lambda = configuration.ewmaLambda
        guard lambda > 0 else { return }
        // Independent samples: var(EWMA) = λ/(2−λ)·var(SPE), var(SPE) = 2θ₂; the EWMA residual vector
        // has the residual covariance times λ/(2−λ), so its squared norm scales the SPE limit.
        let shrink = lambda / (2 - lambda)
        ewmaSPELimit = MultivariateMath.scaledChiSquareLimit(alpha: alpha, mean: theta1, variance: shrink * 2 * theta2)
        residualEWMALimit = shrink * speLimit
    }

    /// Limits from a series of statistics on training rows: quantiles (empirical) or scaled-χ² moment
    /// matches (cross-validated). The EWMA series run over it from its mean, and their first
    /// min(n/4, 2/λ) values (the start-up) are left out.
    mutating func setLimits(from series: StatisticSeries, quantile: Bool) {
        let alpha = configuration.falseAlarmRate
        func limit(_ values: ArraySlice<Double>) -> Double {
            guard !values.isEmpty else { return .infinity }
            if quantile {
                let sorted = values.sorted()
                return sorted[min(sorted.count - 1, Int((Double(sorted.count) * (1 - alpha)).rounded(.down)))]
            }
            let n = Double(values.count)
            let mean = values.reduce(0, +) / n
            let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / max(1, n - 1)
            return MultivariateMath.scaledChiSquareLimit(alpha: alpha, mean: mean, variance: variance)
        }
        let n = series.t2.count
        t2Limit = limit(series.t2[...])
        speLimit = limit(series.spe[...])
        speMean = n > 0 ? series.spe.reduce(0, +) / Double(n) : 0
        let lambda = configuration.ewmaLambda
        guard lambda > 0, n > 0 else { return }
        let p = variableCount
        var ewmaSPE = [Double](repeating: 0, count: n), residualEWMA = ewmaSPE
        var e = speMean
        var v = [Double](repeating: 0, count: p)
        for r in 0..<n {
            e += lambda * (series.spe[r] - e)
            var norm = 0.0
            for j in 0..<p {
                v[j] += lambda * (series.residuals[r * p + j] - v[j])
                norm += v[j] * v[j]
            }
            ewmaSPE[r] = e
            residualEWMA[r] = norm
        }
        let skip = min(n / 4, Int((2 / lambda).rounded(.up)))
        ewmaSPELimit = limit(ewmaSPE[skip...])
        residualEWMALimit = limit(residualEWMA[skip...])
    }
}

/// Training samples as lagged rows, row-major.
struct LaggedRows {
    let values: [Double]
    let rows: Int
    let variables: Int
}

/// Centre, scale and eigen-decomposition of lagged rows (all but an excluded block).
struct PCA {
    var mean: [Double]
    var scale: [Double]
    var eigenvalues: [Double]
    var loadings: [Double]

    init(_ data: LaggedRows, excluding: Range<Int>, scaling: MultivariateScaling) {
        let p = data.variables
        let used = (0..<data.rows).filter { !excluding.contains($0) }
        let n = Double(used.count)
        mean = [Double](repeating: 0, count: p)
        scale = [Double](repeating: 0, count: p)
        for r in used { for j in 0..<p { mean[j] += data.values[r * p + j] } }
        for j in 0..<p { mean[j] /= n }
        for r in used { for j in 0..<p {
            let d = data.values[r * p + j] - mean[j]
            scale[j] += d * d
        } }
        for j in 0..<p { scale[j] = (scale[j] / max(1, n - 1)).squareRoot() }
        if scaling == .robust {
            var column = [Double](repeating: 0, count: used.count)
            for j in 0..<p {
                for (i, r) in used.enumerated() { column[i] = data.values[r * p + j] }
                let median = Self.median(&column)
                for i in column.indices { column[i] = abs(column[i] - median) }
                let mad = 1.4826 * Self.median(&column)
                mean[j] = median
                if mad > 1e-12 * max(1, abs(median)) { scale[j] = mad }
            }
        }
        // Scaled second moments about the centre (the correlation matrix with standard scaling).
        var cov = [Double](repeating: 0, count: p * p)
        var z = [Double](repeating: 0, count: p)
        let safeScale = scale.map { max($0, 1e-300) }
        for r in used {
            for j in 0..<p { z[j] = (data.values[r * p + j] - mean[j]) / safeScale[j] }
            for i in 0..<p {
                let zi = z[i]
                for j in i..<p { cov[i * p + j] += zi * z[j] }
            }
        }
        for i in 0..<p { for j in i..<p {
            cov[i * p + j] /= max(1, n - 1)
            cov[j * p + i] = cov[i * p + j]
        } }
        var values = [Double](repeating: 0, count: p), vectors = [Double](repeating: 0, count: p * p)
        var scratch = [Double](repeating: 0, count: p)
        cov.withUnsafeBufferPointer { a in
            values.withUnsafeMutableBufferPointer { d in
                vectors.withUnsafeMutableBufferPointer { v in
                    scratch.withUnsafeMutableBufferPointer { e in
                        _ = MultivariateMath.symmetricEigenQL(a, values: d, vectors: v, scratch: e, n: p)
                    }
                }
            }
        }
        eigenvalues = values
        loadings = vectors
    }

    static func median(_ values: inout [Double]) -> Double {
        values.sort()
        let n = values.count
        return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2
    }
}

/// T², SPE and the residual vector of training rows, in time order.
struct StatisticSeries {
    let variables: Int
    var t2: [Double] = []
    var spe: [Double] = []
    var residuals: [Double] = []

    init(variables: Int, capacity: Int) {
        self.variables = variables
        t2.reserveCapacity(capacity)
        spe.reserveCapacity(capacity)
        residuals.reserveCapacity(capacity * variables)
    }

    mutating func append(_ data: LaggedRows, rows: Range<Int>, pca: PCA, components k: Int) {
        let p = variables
        var z = [Double](repeating: 0, count: p)
        for r in rows {
            for j in 0..<p { z[j] = (data.values[r * p + j] - pca.mean[j]) / max(pca.scale[j], 1e-300) }
            let start = residuals.count
            residuals.append(contentsOf: z)
            var t2 = 0.0
            for a in 0..<k {
                var t = 0.0
                for j in 0..<p { t += pca.loadings[j * p + a] * z[j] }
                t2 += t * t / max(pca.eigenvalues[a], 1e-300)
                for j in 0..<p { residuals[start + j] -= pca.loadings[j * p + a] * t }
            }
            var q = 0.0
            for j in 0..<p { q += residuals[start + j] * residuals[start + j] }
            self.t2.append(t2)
            spe.append(q)
        }
    }
}
