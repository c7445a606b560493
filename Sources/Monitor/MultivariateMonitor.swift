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
    /// Consecutive samples over a limit before a finding is raised (false alarms ≈ α^persistence).
    public var persistence: Int
    /// Consecutive samples under the limit before an active finding returns to normal.
    public var clearPersistence: Int
    /// EWMA weight of the slow mean/covariance update (0 disables it). Memory ≈ 1/λ samples.
    public var updateLambda: Double
    /// Normal samples between refits of the PCA from the updated covariance.
    public var refitInterval: Int

    public init(persistence: Int = 3, clearPersistence: Int = 10, updateLambda: Double = 1e-4, refitInterval: Int = 1_000) {
        self.persistence = max(1, persistence)
        self.clearPersistence = max(1, clearPersistence)
        self.updateLambda = updateLambda
        self.refitInterval = max(1, refitInterval)
    }
}

/// The latest statistics of one section.
public struct MultivariateSectionStatus: Sendable, Hashable {
    /// False when the last sample was skipped (a reading was not good).
    public var valid: Bool
    public var t2: Double
    public var spe: Double
    public var t2Limit: Double
    public var speLimit: Double
    /// A T² (process excursion) finding is active.
    public var t2Active: Bool
    /// An SPE (broken correlation, likely a sensor) finding is active.
    public var speActive: Bool
    public var samples: Int
    /// Samples that went into the slow update.
    public var updates: Int
    /// PCA refits done by the slow update.
    public var refits: Int
}

/// A change in a section's findings.
public enum MultivariateEvent: Sendable, Hashable {
    /// T² or SPE stayed over its limit for `persistence` samples. Subject is the section index.
    case raised(Finding)
    /// The statistic stayed under its limit for `clearPersistence` samples.
    case returnedToNormal(kind: FindingKind, section: Int32, cycle: UInt64)
}

/// Streaming Hotelling T² and SPE (Q) per plant section, against PCA models of normal operation.
///
/// T² high with SPE normal: the plant moved along its learned correlations (a process excursion).
/// SPE high: the correlation broke; the per-variable SPE contributions name the sensor that broke it.
/// During normal operation (both statistics under their limits, no active finding, all readings good)
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
            guard spec.sensors.count == spec.model.variableCount else {
                throw .sensorCountMismatch(section: i, sensors: spec.sensors.count, modelVariables: spec.model.variableCount)
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

    /// Share of the last sample's SPE due to the section's `variable`-th sensor (the shares sum to 1).
    public func speContribution(section: Int, variable: Int) -> Double {
        let st = sections[section]
        return st.status.spe > 0 ? st.contributions[variable] / st.status.spe : 0
    }

    /// The sensor that contributed most to the last sample's SPE, and its share: the evidence for diagnosis.
    public func largestSPEContributor(section: Int) -> (sensor: Int32, share: Double) {
        let st = sections[section]
        var best = 0
        for j in 1..<st.contributions.count where st.contributions[j] > st.contributions[best] { best = j }
        return (st.sensors[best], st.status.spe > 0 ? st.contributions[best] / st.status.spe : 0)
    }
}

/// One section's model, scratch and persistence counters; all storage sized at construction.
struct SectionState: Sendable {
    let index: Int32
    let sensors: [Int32]
    var model: MultivariateModel
    var status: MultivariateSectionStatus
    var x: [Double]
    var z: [Double]
    var residual: [Double]
    var contributions: [Double]
    var ewmaMean: [Double]
    var ewmaCovariance: [Double]
    var work: [Double]
    var t2Over = 0, t2Under = 0, speOver = 0, speUnder = 0
    var sinceRefit = 0

    init(index: Int32, spec: MultivariateSectionSpec) {
        self.index = index
        sensors = spec.sensors
        model = spec.model
        let m = spec.model.variableCount
        // Every array gets its own buffer (no copy-on-write later, on the observing thread).
        x = [Double](repeating: 0, count: m)
        z = [Double](repeating: 0, count: m)
        residual = [Double](repeating: 0, count: m)
        contributions = [Double](repeating: 0, count: m)
        ewmaMean = spec.model.mean.map { $0 }
        model.mean = spec.model.mean.map { $0 }
        model.scale = spec.model.scale.map { $0 }
        model.eigenvalues = spec.model.eigenvalues.map { $0 }
        model.loadings = spec.model.loadings.map { $0 }
        // Covariance in engineering units from the model's correlation structure: S·P·Λ·Pᵀ·S.
        var cov = [Double](repeating: 0, count: m * m)
        for i in 0..<m { for j in 0..<m {
            var c = 0.0
            for a in 0..<m { c += spec.model.loadings[i * m + a] * spec.model.eigenvalues[a] * spec.model.loadings[j * m + a] }
            cov[i * m + j] = c * spec.model.scale[i] * spec.model.scale[j]
        } }
        ewmaCovariance = cov
        work = [Double](repeating: 0, count: m * m)
        status = MultivariateSectionStatus(valid: false, t2: 0, spe: 0, t2Limit: spec.model.t2Limit,
                                           speLimit: spec.model.speLimit, t2Active: false, speActive: false,
                                           samples: 0, updates: 0, refits: 0)
    }

    mutating func observe(configuration c: MultivariateMonitorConfiguration, cycle: UInt64,
                          onEvent: (MultivariateEvent) -> Void, value: (Int32) -> Double?) {
        let m = model.variableCount
        for j in 0..<m {
            guard let v = value(sensors[j]) else {
                status.valid = false
                return
            }
            x[j] = v
        }
        status.valid = true
        status.samples += 1

        let k = model.componentCount
        for j in 0..<m {
            z[j] = (x[j] - model.mean[j]) / model.scale[j]
            residual[j] = z[j]
        }
        var t2 = 0.0
        for a in 0..<k {
            var t = 0.0
            for j in 0..<m { t += model.loadings[j * m + a] * z[j] }
            t2 += t * t / model.eigenvalues[a]
            for j in 0..<m { residual[j] -= model.loadings[j * m + a] * t }
        }
        var spe = 0.0
        for j in 0..<m {
            contributions[j] = residual[j] * residual[j]
            spe += contributions[j]
        }
        status.t2 = t2
        status.spe = spe
        status.t2Limit = model.t2Limit
        status.speLimit = model.speLimit

        let t2High = t2 > model.t2Limit
        let speHigh = spe > model.speLimit
        let t2Limit = model.t2Limit, speLimit = model.speLimit
        Self.step(index: index, high: t2High, over: &t2Over, under: &t2Under, active: &status.t2Active, kind: .multivariateT2,
             statistic: t2, limit: t2Limit, configuration: c, cycle: cycle, onEvent: onEvent)
        Self.step(index: index, high: speHigh, over: &speOver, under: &speUnder, active: &status.speActive, kind: .multivariateSPE,
             statistic: spe, limit: speLimit, configuration: c, cycle: cycle, onEvent: onEvent)

        if c.updateLambda > 0 && !t2High && !speHigh && !status.t2Active && !status.speActive {
            slowUpdate(configuration: c)
        }
    }

    private static func step(index: Int32, high: Bool, over: inout Int, under: inout Int, active: inout Bool, kind: FindingKind,
                               statistic: Double, limit: Double, configuration c: MultivariateMonitorConfiguration,
                               cycle: UInt64, onEvent: (MultivariateEvent) -> Void) {
        if high {
            over += 1
            under = 0
            if !active && over >= c.persistence {
                active = true
                onEvent(.raised(Finding(kind: kind, subject: index, statistic: statistic, threshold: limit, cycle: cycle)))
            }
        } else {
            under += 1
            over = 0
            if active && under >= c.clearPersistence {
                active = false
                onEvent(.returnedToNormal(kind: kind, section: index, cycle: cycle))
            }
        }
    }

    private mutating func slowUpdate(configuration c: MultivariateMonitorConfiguration) {
        let m = model.variableCount
        let l = c.updateLambda
        for j in 0..<m { ewmaMean[j] += l * (x[j] - ewmaMean[j]) }
        for i in 0..<m {
            let di = x[i] - ewmaMean[i]
            for j in 0..<m {
                let dj = x[j] - ewmaMean[j]
                ewmaCovariance[i * m + j] = (1 - l) * ewmaCovariance[i * m + j] + l * di * dj
            }
        }
        status.updates += 1
        sinceRefit += 1
        guard sinceRefit >= c.refitInterval else { return }
        sinceRefit = 0
        for j in 0..<m { model.mean[j] = ewmaMean[j] }
        model.decompose(covariance: ewmaCovariance, work: &work)
        if model.configuration.limitMethod == .theoretical { model.setTheoreticalLimits() }
        status.refits += 1
    }
}
