import VigilCore

extension MultivariateModelConfiguration {
    /// Folds of cross-validated limits for a `sections:` entry.
    public static let sectionFolds = 5

    /// The model settings of a `sections:` entry.
    public init(section c: SectionConfig) {
        let limits: MultivariateLimitMethod = switch c.limits {
        case .theoretical: .theoretical
        case .inSample: .empirical
        case .crossValidated: .crossValidated(folds: Self.sectionFolds)
        }
        self.init(varianceToKeep: c.varianceToKeep, falseAlarmRate: c.falseAlarmRate, limitMethod: limits, lags: c.lags,
                  scaling: c.scaling == .robust ? .robust : .standard, ewmaLambda: c.ewmaLambda)
    }
}

extension MultivariateMonitorConfiguration {
    /// The streaming settings of a `sections:` entry.
    public init(section c: SectionConfig) {
        self.init(persistence: c.persistence, persistenceWindow: c.persistenceWindow, clearPersistence: c.clearPersistence,
                  updateLambda: c.updateLambda, refitInterval: c.refitInterval)
    }
}

extension MultivariateMonitor {
    /// Fits one section's model to its training samples (consecutive, in time order, one value per
    /// sensor) and builds its monitor, as the kernel does when a section's training is complete.
    /// `sensors` are the plant sensor indices of the section's sensors.
    public init(section: SectionConfig, sensors: [Int32], trainingSamples: [[Double]]) throws(MultivariateError) {
        let model = try MultivariateModel.fit(samples: trainingSamples, configuration: MultivariateModelConfiguration(section: section))
        try self.init(sections: [MultivariateSectionSpec(sensors: sensors, model: model)],
                      configuration: MultivariateMonitorConfiguration(section: section))
    }
}
