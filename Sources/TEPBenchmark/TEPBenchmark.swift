import Monitor
import VigilCore

/// One detector setting in the benchmark: a `sections:` entry over the 52 TEP variables.
public struct TEPSetting: Sendable, Hashable {
    public var name: String
    public var section: SectionConfig

    public init(name: String, section: SectionConfig) {
        self.name = name
        self.section = section
    }

    /// The section docs/TEP.md recommends: the `sections:` defaults (cross-validated limits, α 0.001,
    /// 3 of 3, clear after 10) with two lags and the EWMA statistics (λ 0.05), trained on d00.dat's
    /// 500 samples.
    public static let recommended = TEPSetting(name: "Vigil section (lags 2, EWMA λ 0.05, cross-validated limits, 3 of 3)",
                                               section: section())

    /// A section over the 52 variables with the given changes from the `sections:` defaults.
    public static func section(lags: Int = 2, ewmaLambda: Double = 0.05,
                               limits: SectionConfig.Limits = SectionConfig.defaultLimits, persistence: Int = 3,
                               clearPersistence: Int = 10, falseAlarmRate: Double = 0.001) -> SectionConfig {
        SectionConfig(id: "tep", sensors: TEPDataSet.variableNames, trainingSamples: 500, persistence: persistence,
                      clearPersistence: clearPersistence, falseAlarmRate: falseAlarmRate, lags: lags, limits: limits,
                      ewmaLambda: ewmaLambda)
    }

    /// Plain static PCA: no lags, no EWMA statistics, theoretical limits, every sample over a limit flagged.
    public static func staticPCA(falseAlarmRate: Double) -> SectionConfig {
        section(lags: 0, ewmaLambda: 0, limits: .theoretical, persistence: 1, clearPersistence: 1, falseAlarmRate: falseAlarmRate)
    }

    /// The baseline printed beside the recommended section: static PCA with 99.9 % theoretical limits.
    public static let baseline = TEPSetting(name: "static PCA, 99.9 % theoretical limits (baseline)", section: staticPCA(falseAlarmRate: 0.001))

    /// The ablation: the baseline, the features added one at a time up to the recommended section,
    /// then the recommended section with each feature taken out again.
    public static let ablation: [TEPSetting] = [
        TEPSetting(name: "static PCA, 99 % theoretical limits", section: staticPCA(falseAlarmRate: 0.01)),
        baseline,
        TEPSetting(name: "+ cross-validated limits", section: section(lags: 0, ewmaLambda: 0, persistence: 1, clearPersistence: 1)),
        TEPSetting(name: "+ lags 2", section: section(ewmaLambda: 0, persistence: 1, clearPersistence: 1)),
        TEPSetting(name: "+ EWMA statistics (λ 0.05)", section: section(persistence: 1, clearPersistence: 1)),
        TEPSetting(name: "+ run rule 3 of 3, clear after 10 = recommended", section: section()),
        TEPSetting(name: "recommended without lags", section: section(lags: 0)),
        TEPSetting(name: "recommended without EWMA statistics", section: section(ewmaLambda: 0)),
        TEPSetting(name: "recommended with theoretical limits", section: section(limits: .theoretical)),
        TEPSetting(name: "recommended without run rule", section: section(persistence: 1, clearPersistence: 1)),
    ]
}

/// What one setting achieved on one run.
public struct TEPRunResult: Sendable, Hashable {
    /// Per sample: a section finding (T² or SPE family) was active after the sample was judged.
    public var flagged: [Bool]
    /// Fraction of samples 161… flagged (fault runs), or of all samples (the normal run).
    public var rate: Double
    /// Samples from the onset to the first flagged faulty sample, that sample included (1: the first
    /// faulty sample); nil when none was flagged.
    public var delaySamples: Int?
}

/// A setting's figures over the whole data set.
public struct TEPResult: Sendable {
    public var setting: TEPSetting
    public var componentCount: Int
    public var variableCount: Int
    /// d00_te.dat: fraction of its samples flagged (the first `lags` samples, with no decision yet, count as not flagged).
    public var normal: TEPRunResult
    /// Fault 1 … 21.
    public var faults: [TEPRunResult]

    /// Faults widely held undetectable from these variables.
    public static let undetectable: Set<Int> = [3, 9, 15]

    public var falseAlarmRate: Double { normal.rate }
    public var meanDetectionRate: Double { faults.map(\.rate).reduce(0, +) / Double(faults.count) }
    public var meanDetectionRateDetectable: Double {
        let rates = faults.enumerated().filter { !Self.undetectable.contains($0.offset + 1) }.map(\.element.rate)
        return rates.reduce(0, +) / Double(rates.count)
    }
}

public enum TEPBenchmark {
    /// Fits the setting's section on d00.dat, as the kernel fits a section from its training samples.
    public static func fit(_ setting: TEPSetting, data: TEPDataSet) throws(MultivariateError) -> MultivariateMonitor {
        let sensors = (0..<Int32(TEPDataSet.variableCount)).map { $0 }
        return try MultivariateMonitor(section: setting.section, sensors: sensors,
                                       trainingSamples: Array(data.training.prefix(setting.section.trainingSamples)))
    }

    /// Streams one run through a fresh copy of the fitted monitor, one sample in, one decision out.
    public static func stream(_ fitted: MultivariateMonitor, samples: [[Double]], faulty: Bool) -> TEPRunResult {
        var monitor = fitted
        var flagged = [Bool](repeating: false, count: samples.count)
        for (i, x) in samples.enumerated() {
            monitor.observe(values: x, cycle: UInt64(i)) { _ in }
            let st = monitor.status(section: 0)
            flagged[i] = st.t2Active || st.speActive
        }
        let start = faulty ? TEPDataSet.faultOnset : 0
        let judged = flagged[start...]
        let rate = Double(judged.filter { $0 }.count) / Double(max(1, judged.count))
        let first = faulty ? judged.firstIndex(of: true) : nil
        return TEPRunResult(flagged: flagged, rate: rate, delaySamples: first.map { $0 - TEPDataSet.faultOnset + 1 })
    }

    /// Runs one setting over d00_te.dat and the 21 fault runs.
    public static func run(_ setting: TEPSetting, data: TEPDataSet) throws(MultivariateError) -> TEPResult {
        let fitted = try fit(setting, data: data)
        let model = fitted.model(section: 0)
        return TEPResult(setting: setting, componentCount: model.componentCount, variableCount: model.variableCount,
                         normal: stream(fitted, samples: data.normal, faulty: false),
                         faults: data.faults.map { stream(fitted, samples: $0, faulty: true) })
    }
}
