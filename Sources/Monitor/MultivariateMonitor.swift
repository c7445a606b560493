import VigilCore

/// A plant section: the sensors watched together and their normal-operation model.
public struct MultivariateSectionSpec: Sendable, Hashable {
    /// Sensor indices (plant.sensors), in the model's column order.
    public var sensors: [Int32]
    public var model: MultivariateModel

    public init(sensors: [Int32], model: MultivariateModel) {
        self.sensors = sensors
        self.model = model
    }
}

/// Tuning of the streaming monitor.
public struct MultivariateMonitorConfiguration: Sendable, Hashable {
    /// Samples over a limit, among the last `persistenceWindow`, before a finding is raised.
    public var persistence: Int
    /// The window of the k-of-n run rule (`persistence` of the last `persistenceWindow` samples, a
    /// window of at most 64); equal to `persistence` it asks for consecutive samples (any number).
    public var persistenceWindow: Int
    /// Consecutive samples under the limit before an active finding returns to normal.
    public var clearPersistence: Int
    /// EWMA weight of the slow mean/covariance update (0 disables it). Memory ≈ 1/λ samples.
    public var updateLambda: Double
    /// Normal samples between refits of the PCA from the updated covariance.
    public var refitInterval: Int

    public init(persistence: Int = 3, persistenceWindow: Int? = nil, clearPersistence: Int = 10, updateLambda: Double = 1e-4,
                refitInterval: Int = 1_000) {
        self.persistence = max(1, persistence)
        let window = max(self.persistence, persistenceWindow ?? self.persistence)
        self.persistenceWindow = window == self.persistence ? window : max(self.persistence, min(64, window))
        self.clearPersistence = max(1, clearPersistence)
        self.updateLambda = updateLambda
        self.refitInterval = max(1, refitInterval)
    }
}

/// The latest statistics of one section.
public struct MultivariateSectionStatus: Sendable, Hashable {
    /// False when the last sample was not judged: a reading was not good, or the lag window was
    /// still filling (after start, or after such a sample).
    public var valid: Bool
    public var t2: Double
    public var spe: Double
    public var t2Limit: Double
    public var speLimit: Double
    /// EWMA of SPE and its limit (0 and infinity without EWMA statistics).
    public var ewmaSPE: Double
    public var ewmaSPELimit: Double
    /// Squared norm of the EWMA residual vector and its limit (0 and infinity without EWMA statistics).
    public var residualEWMA: Double
    public var residualEWMALimit: Double
    /// A T² (process excursion) finding is active.
    public var t2Active: Bool
    /// An SPE-family (broken correlation: SPE or its EWMA statistics) finding is active.
    public var speActive: Bool
    /// Samples judged.
    public var samples: Int
    /// Samples that went into the slow update.
    public var updates: Int
    /// PCA refits done by the slow update.
    public var refits: Int

    /// Whether the SPE-family statistic over its limit right now is only an EWMA one (the instantaneous
    /// SPE is under its limit): the smoothed residual then holds the evidence.
    public var speRaisedBySmoothing: Bool {
        spe <= speLimit && (ewmaSPE > ewmaSPELimit || residualEWMA > residualEWMALimit)
    }
}

/// A change in a section's findings.
public enum MultivariateEvent: Sendable, Hashable {
    /// T² (or an SPE-family statistic) was over its limit in `persistence` of the last
    /// `persistenceWindow` samples. Subject is the section index.
    case raised(Finding)
    /// The statistic stayed under its limit for `clearPersistence` samples.
    case returnedToNormal(kind: FindingKind, section: Int32, cycle: UInt64)
}

/// Streaming Hotelling T² and SPE (Q) per plant section, against PCA models of normal operation,
/// optionally on time-lagged samples (dynamic PCA) and with EWMA statistics on the residual.
///
/// T² high with SPE normal: the plant moved along its learned correlations (a process excursion).
/// SPE high: the correlation broke; the reconstruction-based contributions name the sensor that broke
/// it. With `ewmaLambda` > 0 the SPE family also holds the EWMA of SPE and the squared norm of the
/// EWMA residual vector, which catch small persistent changes a single sample cannot show.
/// During normal operation (every statistic under its limit, no active finding, all readings good)
/// mean and covariance follow the plant slowly (EWMA, λ ≈ 1e-4) and the PCA is refitted every
/// `refitInterval` such samples. `observe` does not allocate.
public struct MultivariateMonitor: Sendable {
    public let configuration: MultivariateMonitorConfiguration
    private var sections: [SectionState]

    public init(sections specs: [MultivariateSectionSpec], configuration: MultivariateMonitorConfiguration = .init())
        throws(MultivariateError) {
        self.configuration = configuration
        var built: [SectionState] = []
        for (i, spec) in specs.enumerated() {
            guard spec.sensors.count == spec.model.sensorCount else {
                throw .sensorCountMismatch(section: i, sensors: spec.sensors.count, modelVariables: spec.model.sensorCount)
            }
            if let bad = spec.sensors.first(where: { $0 < 0 }) { throw .sensorIndexOutOfRange(section: i, sensor: bad) }
            built.append(SectionState(index: Int32(i), spec: spec))
        }
        sections = built
    }

    public var sectionCount: Int { sections.count }

    /// Judges one cycle's readings (indexed by sensor). Sections with a reading that is not good
    /// (or missing) skip this sample. Events go to `onEvent`.
    public mutating func observe(_ readings: [Reading], cycle: UInt64, onEvent: (MultivariateEvent) -> Void) {
        for s in sections.indices {
            sections[s].observe(configuration: configuration, cycle: cycle, onEvent: onEvent) { sensor in
                let i = Int(sensor)
                guard i < readings.count, readings[i].quality.isGood else { return nil }
                return readings[i].value
            }
        }
    }

    /// Judges one cycle's readings from a buffer (the runtime's sensor buffer); as `observe(_:cycle:onEvent:)`.
    public mutating func observe(_ readings: UnsafeBufferPointer<Reading>, cycle: UInt64, onEvent: (MultivariateEvent) -> Void) {
        for s in sections.indices {
            sections[s].observe(configuration: configuration, cycle: cycle, onEvent: onEvent) { sensor in
                let i = Int(sensor)
                guard i < readings.count, readings[i].quality.isGood else { return nil }
                return readings[i].value
            }
        }
    }

    /// Judges one cycle's values (indexed by sensor, all taken as good).
    public mutating func observe(values: [Double], cycle: UInt64, onEvent: (MultivariateEvent) -> Void) {
        for s in sections.indices {
            sections[s].observe(configuration: configuration, cycle: cycle, onEvent: onEvent) { sensor in
                let i = Int(sensor)
                return i < values.count && values[i].isFinite ? values[i] : nil
            }
        }
    }

    public func status(section: Int) -> MultivariateSectionStatus { sections[section].status }

    /// The model in use now (after any slow updates).
    public func model(section: Int) -> MultivariateModel { sections[section].model }

    /// Sensor indices of a section.
    public func sensors(section: Int) -> [Int32] { sections[section].sensors }

    /// Share of the last sample's SPE due to the section's `variable`-th sensor, all its lagged
    /// copies together (the shares sum to 1).
    public func speContribution(section: Int, variable: Int) -> Double {
        let st = sections[section]
        return st.status.spe > 0 ? st.sensorSquaredResidual(variable) / st.status.spe : 0
    }

    /// The sensor that contributed most to the last sample's SPE, and its share: the evidence for diagnosis.
    public func largestSPEContributor(section: Int) -> (sensor: Int32, share: Double) {
        let st = sections[section]
        var best = 0
        for j in 1..<st.sensors.count where st.sensorSquaredResidual(j) > st.sensorSquaredResidual(best) { best = j }
        return (st.sensors[best], st.status.spe > 0 ? st.sensorSquaredResidual(best) / st.status.spe : 0)
    }

    /// Reconstruction-based contribution of the section's `sensor`-th sensor (position in the section):
    /// the share (0...1) of the last sample's SPE that would vanish if that sensor, with all its
    /// lagged copies, were replaced by the value the model expects from the others. A sensor fault
    /// alone gives its own sensor a share near 1. With `smoothed`, of the EWMA residual's squared
    /// norm instead: the evidence when an EWMA statistic raised the finding. Does not allocate.
    public func reconstructionContribution(section: Int, sensor: Int, smoothed: Bool = false) -> Double {
        sections[section].reconstructionShare(sensor, smoothed: smoothed)
    }

    /// Every sensor's reconstruction-based contribution (see `reconstructionContribution`) into `shares`
    /// (the section's sensor count of them). Does not allocate.
    public func reconstructionContributions(section: Int, smoothed: Bool = false, into shares: UnsafeMutableBufferPointer<Double>) {
        let st = sections[section]
        for j in 0..<min(shares.count, st.sensors.count) { shares[j] = st.reconstructionShare(j, smoothed: smoothed) }
    }
}

/// k-of-n raise, consecutive-under clear, for one statistic family.
struct RunRule: Sendable {
    /// Last samples over the limit, newest in bit 0 (k of n), or consecutive samples over it (k of k).
    var history: UInt64 = 0
    var over = 0
    var under = 0

    /// Steps the rule with one sample; returns +1 when a finding should be raised, −1 cleared, 0 neither.
    mutating func step(high: Bool, active: Bool, configuration c: MultivariateMonitorConfiguration) -> Int {
        let count: Int
        if c.persistenceWindow == c.persistence {
            over = high ? over + 1 : 0
            count = over
        } else {
            let mask: UInt64 = c.persistenceWindow >= 64 ? .max : (1 << UInt64(c.persistenceWindow)) - 1
            history = ((history << 1) | (high ? 1 : 0)) & mask
            count = history.nonzeroBitCount
        }
        if high {
            under = 0
            if !active && count >= c.persistence { return 1 }
        } else {
            under += 1
            if active && under >= c.clearPersistence {
                history = 0
                return -1
            }
        }
        return 0
    }
}

/// One section's model, scratch and run-rule state; all storage sized at construction.
struct SectionState: Sendable {
    let index: Int32
    let sensors: [Int32]
    var model: MultivariateModel
    var status: MultivariateSectionStatus
    let lags: Int
    /// Ring of the last lags + 1 raw samples (m values each); `head` is the newest.
    var history: [Double]
    var head = 0
    var filled = 0
    /// The lagged sample [x(t), x(t−1), …] (engineering units), scaled, and its residual.
    var x: [Double]
    var z: [Double]
    var residual: [Double]
    /// EWMA of the residual vector (zero without EWMA statistics).
    var smoothedResidual: [Double]
    /// The first k loading vectors, each contiguous (k×p): the projection reads them in order.
    var components: [Double]
    /// Per sensor, the inverse of (I − P_k P_kᵀ) restricted to its lagged copies, (l+1)×(l+1) each:
    /// the reconstruction-based contribution is rᵀ·M⁻¹·r over those copies.
    var reconstruction: [Double]
    var reconstructionScratch: [Double]
    var ewmaSPE: Double
    var t2Rule = RunRule(), speRule = RunRule()
    var ewmaMean: [Double]
    var ewmaCovariance: [Double]
    var work: [Double]
    var eigenScratch: [Double]
    var sinceRefit = 0

    init(index: Int32, spec: MultivariateSectionSpec) {
        self.index = index
        sensors = spec.sensors
        model = spec.model
        lags = spec.model.lags
        let m = spec.model.sensorCount, p = spec.model.variableCount, q = lags + 1
        // Every array gets its own buffer (no copy-on-write later, on the observing thread).
        history = [Double](repeating: 0, count: q * m)
        x = [Double](repeating: 0, count: p)
        z = [Double](repeating: 0, count: p)
        residual = [Double](repeating: 0, count: p)
        smoothedResidual = [Double](repeating: 0, count: p)
        components = [Double](repeating: 0, count: p * p)
        reconstruction = [Double](repeating: 0, count: m * q * q)
        reconstructionScratch = [Double](repeating: 0, count: 2 * q * q)
        ewmaMean = spec.model.mean.map { $0 }
        model.mean = spec.model.mean.map { $0 }
        model.scale = spec.model.scale.map { $0 }
        model.eigenvalues = spec.model.eigenvalues.map { $0 }
        model.loadings = spec.model.loadings.map { $0 }
        // Covariance in engineering units from the model's scaled structure: S·P·Λ·Pᵀ·S.
        var cov = [Double](repeating: 0, count: p * p)
        for i in 0..<p { for j in 0..<p {
            var c = 0.0
            for a in 0..<p { c += spec.model.loadings[i * p + a] * spec.model.eigenvalues[a] * spec.model.loadings[j * p + a] }
            cov[i * p + j] = c * spec.model.scale[i] * spec.model.scale[j]
        } }
        ewmaCovariance = cov
        work = [Double](repeating: 0, count: p * p)
        eigenScratch = [Double](repeating: 0, count: p)
        ewmaSPE = spec.model.speMean
        status = MultivariateSectionStatus(valid: false, t2: 0, spe: 0, t2Limit: spec.model.t2Limit, speLimit: spec.model.speLimit,
                                           ewmaSPE: spec.model.speMean, ewmaSPELimit: spec.model.ewmaSPELimit, residualEWMA: 0,
                                           residualEWMALimit: spec.model.residualEWMALimit, t2Active: false, speActive: false,
                                           samples: 0, updates: 0, refits: 0)
        prepareModel()
    }

    /// Rebuilds what the scoring derives from the model: the contiguous components and the
    /// reconstruction matrices. Allocation-free.
    mutating func prepareModel() {
        let p = model.variableCount, k = model.componentCount, m = model.sensorCount, q = lags + 1
        for a in 0..<k { for j in 0..<p { components[a * p + j] = model.loadings[j * p + a] } }
        for j in 0..<m {
            let base = j * q * q
            for a in 0..<q { for b in 0..<q {
                let fa = a * m + j, fb = b * m + j
                var s = 0.0
                for c in 0..<k { s += model.loadings[fa * p + c] * model.loadings[fb * p + c] }
                reconstructionScratch[a * q + b] = (a == b ? 1 + 1e-9 : 0) - s
            } }
            invertScratch(q: q)
            for i in 0..<(q * q) { reconstruction[base + i] = reconstructionScratch[q * q + i] }
        }
    }

    /// Inverts the q×q matrix at the start of `reconstructionScratch` into its second half
    /// (Gauss–Jordan with partial pivoting; the matrix is symmetric positive semi-definite plus εI).
    private mutating func invertScratch(q: Int) {
        let inv = q * q
        for i in 0..<q { for j in 0..<q { reconstructionScratch[inv + i * q + j] = i == j ? 1 : 0 } }
        for col in 0..<q {
            var pivot = col
            for r in (col + 1)..<max(col + 1, q) where abs(reconstructionScratch[r * q + col]) > abs(reconstructionScratch[pivot * q + col]) {
                pivot = r
            }
            if pivot != col {
                for j in 0..<q {
                    reconstructionScratch.swapAt(col * q + j, pivot * q + j)
                    reconstructionScratch.swapAt(inv + col * q + j, inv + pivot * q + j)
                }
            }
            let d = reconstructionScratch[col * q + col]
            let f = abs(d) > 1e-12 ? 1 / d : 1e12
            for j in 0..<q {
                reconstructionScratch[col * q + j] *= f
                reconstructionScratch[inv + col * q + j] *= f
            }
            for r in 0..<q where r != col {
                let g = reconstructionScratch[r * q + col]
                if g == 0 { continue }
                for j in 0..<q {
                    reconstructionScratch[r * q + j] -= g * reconstructionScratch[col * q + j]
                    reconstructionScratch[inv + r * q + j] -= g * reconstructionScratch[inv + col * q + j]
                }
            }
        }
    }

    /// Sum of the squared residual over sensor `j`'s lagged copies.
    func sensorSquaredResidual(_ j: Int) -> Double {
        let m = model.sensorCount
        var s = 0.0
        for a in 0...lags { s += residual[a * m + j] * residual[a * m + j] }
        return s
    }

    func reconstructionShare(_ j: Int, smoothed: Bool) -> Double {
        let m = model.sensorCount, q = lags + 1
        let r = smoothed ? smoothedResidual : residual
        var total = 0.0
        for v in r { total += v * v }
        guard total > 0 else { return 0 }
        var rbc = 0.0
        let base = j * q * q
        for a in 0..<q { for b in 0..<q { rbc += r[a * m + j] * reconstruction[base + a * q + b] * r[b * m + j] } }
        return min(1, max(0, rbc / total))
    }

    mutating func observe(configuration c: MultivariateMonitorConfiguration, cycle: UInt64,
                          onEvent: (MultivariateEvent) -> Void, value: (Int32) -> Double?) {
        let m = model.sensorCount, q = lags + 1
        let slot = head + 1 == q ? 0 : head + 1
        for j in 0..<m {
            guard let v = value(sensors[j]) else {
                status.valid = false
                filled = 0
                return
            }
            history[slot * m + j] = v
        }
        head = slot
        if filled < q { filled += 1 }
        guard filled == q else {
            status.valid = false
            return
        }
        status.valid = true
        status.samples += 1
        for a in 0..<q {
            let s = (head - a + q) % q
            for j in 0..<m { x[a * m + j] = history[s * m + j] }
        }
        let (t2, spe) = score()
        status.t2 = t2
        status.spe = spe
        status.t2Limit = model.t2Limit
        status.speLimit = model.speLimit
        status.ewmaSPELimit = model.ewmaSPELimit
        status.residualEWMALimit = model.residualEWMALimit

        let lambda = model.configuration.ewmaLambda
        var speStatistic = spe, speLimit = model.speLimit
        if lambda > 0 {
            ewmaSPE += lambda * (spe - ewmaSPE)
            var norm = 0.0
            for j in 0..<model.variableCount {
                smoothedResidual[j] += lambda * (residual[j] - smoothedResidual[j])
                norm += smoothedResidual[j] * smoothedResidual[j]
            }
            status.ewmaSPE = ewmaSPE
            status.residualEWMA = norm
            // The finding reports whichever SPE-family statistic is furthest over its limit.
            if ewmaSPE / model.ewmaSPELimit > speStatistic / speLimit { (speStatistic, speLimit) = (ewmaSPE, model.ewmaSPELimit) }
            if norm / model.residualEWMALimit > speStatistic / speLimit { (speStatistic, speLimit) = (norm, model.residualEWMALimit) }
        }
        let t2High = t2 > model.t2Limit
        let speHigh = speStatistic > speLimit
        let t2Limit = model.t2Limit
        Self.apply(t2Rule.step(high: t2High, active: status.t2Active, configuration: c), index: index, active: &status.t2Active,
                   kind: .multivariateT2, statistic: t2, limit: t2Limit, cycle: cycle, onEvent: onEvent)
        Self.apply(speRule.step(high: speHigh, active: status.speActive, configuration: c), index: index, active: &status.speActive,
                   kind: .multivariateSPE, statistic: speStatistic, limit: speLimit, cycle: cycle, onEvent: onEvent)

        if c.updateLambda > 0 && !t2High && !speHigh && !status.t2Active && !status.speActive {
            slowUpdate(configuration: c)
        }
    }

    /// T² and SPE of the lagged sample in `x`; fills `z` and `residual`.
    private mutating func score() -> (t2: Double, spe: Double) {
        let p = model.variableCount, k = model.componentCount
        var t2 = 0.0, spe = 0.0
        x.withUnsafeBufferPointer { xb in
            model.mean.withUnsafeBufferPointer { mb in
                model.scale.withUnsafeBufferPointer { sb in
                    z.withUnsafeMutableBufferPointer { zb in
                        residual.withUnsafeMutableBufferPointer { rb in
                            components.withUnsafeBufferPointer { cb in
                                model.eigenvalues.withUnsafeBufferPointer { eb in
                                    (t2, spe) = Self.project(x: xb.baseAddress!, mean: mb.baseAddress!, scale: sb.baseAddress!,
                                                             components: cb.baseAddress!, eigenvalues: eb.baseAddress!,
                                                             z: zb.baseAddress!, residual: rb.baseAddress!, variables: p, components: k)
                                }
                            }
                        }
                    }
                }
            }
        }
        return (t2, spe)
    }

    /// z = (x − mean)/scale, t = C·z (C: k contiguous loading vectors), T² = Σ t²/λ, r = z − Cᵀt,
    /// SPE = |r|². Plain pointer loops: fast in release and not too slow in debug builds.
    static func project(x: UnsafePointer<Double>, mean: UnsafePointer<Double>, scale: UnsafePointer<Double>,
                        components: UnsafePointer<Double>, eigenvalues: UnsafePointer<Double>, z: UnsafeMutablePointer<Double>,
                        residual r: UnsafeMutablePointer<Double>, variables p: Int, components k: Int) -> (t2: Double, spe: Double) {
        var j = 0
        while j < p {
            let v = (x[j] - mean[j]) / scale[j]
            z[j] = v
            r[j] = v
            j += 1
        }
        var t2 = 0.0
        var a = 0
        var row = components
        while a < k {
            var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
            j = 0
            while j + 4 <= p {
                s0 += row[j] * z[j]
                s1 += row[j + 1] * z[j + 1]
                s2 += row[j + 2] * z[j + 2]
                s3 += row[j + 3] * z[j + 3]
                j += 4
            }
            while j < p {
                s0 += row[j] * z[j]
                j += 1
            }
            let t = (s0 + s1) + (s2 + s3)
            t2 += t * t / eigenvalues[a]
            j = 0
            while j < p {
                r[j] -= row[j] * t
                j += 1
            }
            row += p
            a += 1
        }
        var spe = 0.0
        j = 0
        while j < p {
            spe += r[j] * r[j]
            j += 1
        }
        return (t2, spe)
    }

    private static func apply(_ change: Int, index: Int32, active: inout Bool, kind: FindingKind, statistic: Double, limit: Double,
                              cycle: UInt64, onEvent: (MultivariateEvent) -> Void) {
        if change > 0 {
            active = true
            onEvent(.raised(Finding(kind: kind, subject: index, statistic: statistic, threshold: limit, cycle: cycle)))
        } else if change < 0 {
            active = false
            onEvent(.returnedToNormal(kind: kind, section: index, cycle: cycle))
        }
    }

    /// The slow EWMA update of mean and covariance (the covariance's upper triangle: it is mirrored
    /// before a refit), and the refit every `refitInterval` such samples.
    private mutating func slowUpdate(configuration c: MultivariateMonitorConfiguration) {
        let p = model.variableCount
        let l = c.updateLambda
        for j in 0..<p {
            ewmaMean[j] += l * (x[j] - ewmaMean[j])
            eigenScratch[j] = x[j] - ewmaMean[j]
        }
        ewmaCovariance.withUnsafeMutableBufferPointer { cb in
            eigenScratch.withUnsafeBufferPointer { db in
                let d = db.baseAddress!
                var i = 0
                while i < p {
                    let row = cb.baseAddress! + i * p
                    let di = l * d[i]
                    var j = i
                    while j < p {
                        row[j] = (1 - l) * row[j] + di * d[j]
                        j += 1
                    }
                    i += 1
                }
            }
        }
        status.updates += 1
        sinceRefit += 1
        guard sinceRefit >= c.refitInterval else { return }
        sinceRefit = 0
        for i in 0..<p { for j in 0..<i { ewmaCovariance[i * p + j] = ewmaCovariance[j * p + i] } }
        for j in 0..<p { model.mean[j] = ewmaMean[j] }
        model.decompose(covariance: ewmaCovariance, work: &work, scratch: &eigenScratch)
        model.updateLimitsAfterRefit()
        prepareModel()
        status.refits += 1
    }
}
