import Testing
import VigilCore
@testable import Monitor

/// Dynamic PCA (lags), the EWMA statistics, limits from held-out training blocks, the k-of-n run
/// rule, robust scaling and per-sensor reconstruction contributions, on synthetic data with known answers.
@Suite struct MultivariateDynamicTests {
    /// Two sensors on one transport line: the downstream one sees the upstream signal `delay` samples later.
    struct DelayLine {
        var rng: PumpSection
        var upstream: [Double] = [0, 0, 0, 0]

        init(seed: UInt64) { rng = PumpSection(seed: seed) }

        mutating func sample(delay: Int = 1) -> [Double] {
            upstream.removeLast()
            upstream.insert(rng.gaussian(), at: 0)
            return [upstream[0] + 0.1 * rng.gaussian(), upstream[delay] + 0.1 * rng.gaussian()]
        }
    }

    func monitor(_ model: MultivariateModel, sensors: [Int32], _ c: MultivariateMonitorConfiguration = .init(updateLambda: 0)) throws
        -> MultivariateMonitor {
        try MultivariateMonitor(sections: [MultivariateSectionSpec(sensors: sensors, model: model)], configuration: c)
    }

    @Test func householderQLMatchesTheJacobiReference() {
        var rng = SeededRandom(seed: 21)
        for n in [1, 2, 3, 6, 17, 40] {
            var a = [Double](repeating: 0, count: n * n)
            for i in 0..<n { for j in i..<n {
                let x = Double(rng.next() % 20_000) / 1_000 - 10
                a[i * n + j] = x
                a[j * n + i] = x
            } }
            var jacobi = a, jv = [Double](repeating: 0, count: n * n)
            jacobi.withUnsafeMutableBufferPointer { ab in jv.withUnsafeMutableBufferPointer { vb in _ = MultivariateMath.symmetricEigen(ab, vb, n: n) } }
            var values = [Double](repeating: 0, count: n), vectors = [Double](repeating: 0, count: n * n), scratch = values
            let converged = a.withUnsafeBufferPointer { ab in
                values.withUnsafeMutableBufferPointer { d in
                    vectors.withUnsafeMutableBufferPointer { v in
                        scratch.withUnsafeMutableBufferPointer { e in MultivariateMath.symmetricEigenQL(ab, values: d, vectors: v, scratch: e, n: n) }
                    }
                }
            }
            #expect(converged)
            for k in 0..<n {
                #expect(abs(values[k] - jacobi[k * n + k]) < 1e-9 * max(1, abs(values[k])), "n \(n), eigenvalue \(k)")
                if k > 0 { #expect(values[k - 1] >= values[k]) }
                // Same eigenvector up to sign (random matrices have distinct eigenvalues), and A·v = λ·v.
                var dot = 0.0
                for i in 0..<n { dot += vectors[i * n + k] * jv[i * n + k] }
                #expect(abs(abs(dot) - 1) < 1e-8, "n \(n), eigenvector \(k)")
                for i in 0..<n {
                    var av = 0.0
                    for j in 0..<n { av += a[i * n + j] * vectors[j * n + k] }
                    #expect(abs(av - values[k] * vectors[i * n + k]) < 1e-9 * max(1, abs(values[k])))
                }
            }
        }
    }

    @Test func chiSquareQuantileIsWithinTwoPercentOfTables() {
        // χ²(0.99; 10) = 23.209, χ²(0.999; 5) = 20.515, χ²(0.95; 30) = 43.773.
        #expect(abs(MultivariateMath.chiSquareQuantile(upperTail: 0.01, degreesOfFreedom: 10) / 23.209 - 1) < 0.01)
        #expect(abs(MultivariateMath.chiSquareQuantile(upperTail: 0.001, degreesOfFreedom: 5) / 20.515 - 1) < 0.02)
        #expect(abs(MultivariateMath.chiSquareQuantile(upperTail: 0.05, degreesOfFreedom: 30) / 43.773 - 1) < 0.01)
    }

    /// Independent normal samples: every statistic, EWMA ones included, exceeds its limit at about the
    /// design rate, with theoretical limits (their exact case) and with cross-validated ones.
    @Test(arguments: [MultivariateLimitMethod.theoretical, .crossValidated(folds: 5)])
    func everyStatisticHoldsItsFalseAlarmRateOnIndependentNormalData(method: MultivariateLimitMethod) throws {
        let alpha = 0.01
        var plant = PumpSection(seed: 31)
        let model = try MultivariateModel.fit(samples: plant.training(5_000),
                                              configuration: .init(falseAlarmRate: alpha, limitMethod: method, ewmaLambda: 0.1))
        var m = try monitor(model, sensors: PumpSection.sensors)
        var over = [0, 0, 0, 0]
        let n = 60_000
        for c in 0..<n {
            m.observe(values: plantValues(plant.sample()), cycle: UInt64(c)) { _ in }
            let st = m.status(section: 0)
            if st.t2 > st.t2Limit { over[0] += 1 }
            if st.spe > st.speLimit { over[1] += 1 }
            if st.ewmaSPE > st.ewmaSPELimit { over[2] += 1 }
            if st.residualEWMA > st.residualEWMALimit { over[3] += 1 }
        }
        let rates = over.map { Double($0) / Double(n) }
        print("\(method): exceedance of T², SPE, EWMA of SPE, EWMA residual: \(rates) (design \(alpha))")
        #expect(rates[0] > alpha * 0.5 && rates[0] < alpha * 1.5)
        #expect(rates[1] > alpha * 0.5 && rates[1] < alpha * 1.5)
        // An EWMA exceeds in runs, so its rate over 60,000 samples scatters more.
        #expect(rates[2] > alpha * 0.3 && rates[2] < alpha * 2.5)
        #expect(rates[3] > alpha * 0.3 && rates[3] < alpha * 2.5)
    }

    /// A bias of half the bearing thermometer's own spread: too small for one sample's SPE to show
    /// for long, found by the EWMA residual within 20 samples.
    @Test func smallPersistentBiasIsFoundByTheEWMAResidualAndMissedWithoutIt() throws {
        func firstFinding(ewma: Double) throws -> Int? {
            var plant = PumpSection(seed: 32)
            let model = try MultivariateModel.fit(samples: plant.training(5_000),
                                                  configuration: .init(limitMethod: .crossValidated(folds: 5), ewmaLambda: ewma))
            var m = try monitor(model, sensors: PumpSection.sensors)
            for c in 0..<500 { m.observe(values: plantValues(plant.sample()), cycle: UInt64(c)) { _ in } }
            #expect(!m.status(section: 0).speActive && !m.status(section: 0).t2Active, "no finding before the bias")
            var found: Int? = nil
            for c in 0..<300 where found == nil {
                m.observe(values: plantValues(plant.sample(offsets: [0, 0, 0, 0, 0.75])), cycle: UInt64(500 + c)) {
                    if case .raised(let f) = $0, f.kind == .multivariateSPE { found = c + 1 }
                }
            }
            return found
        }
        let with = try firstFinding(ewma: 0.1), without = try firstFinding(ewma: 0)
        print("bearing temperature +0.5 σ: SPE-family finding after \(with.map(String.init) ?? "none") samples with EWMA, \(without.map(String.init) ?? "none") without")
        #expect(with != nil && with! <= 20)
        #expect((without ?? .max) >= 50)
    }

    /// A transport delay that grows from one sample to three: each sensor alone, and the two together
    /// at one instant, look exactly as before; only a model with a lag sees the broken dynamic.
    @Test func aLaggedModelSeesAChangedDelayThatAStaticModelCannot() throws {
        func rates(lags: Int) throws -> (normal: Double, changed: Double) {
            var line = DelayLine(seed: 33)
            let training = (0..<3_000).map { _ in line.sample() }
            let model = try MultivariateModel.fit(samples: training, configuration: .init(limitMethod: .crossValidated(folds: 5), lags: lags))
            var m = try monitor(model, sensors: [0, 1])
            var normal = 0, changed = 0
            for c in 0..<2_000 {
                m.observe(values: line.sample(), cycle: UInt64(c)) { _ in }
                let st = m.status(section: 0)
                if st.t2 > st.t2Limit || st.spe > st.speLimit { normal += 1 }
            }
            for c in 0..<2_000 {
                m.observe(values: line.sample(delay: 3), cycle: UInt64(2_000 + c)) { _ in }
                let st = m.status(section: 0)
                if st.t2 > st.t2Limit || st.spe > st.speLimit { changed += 1 }
            }
            return (Double(normal) / 2_000, Double(changed) / 2_000)
        }
        let (staticNormal, staticChanged) = try rates(lags: 0)
        let (dynamicNormal, dynamicChanged) = try rates(lags: 1)
        print("delay 1 → 3 samples: over a limit static \(staticNormal) → \(staticChanged), lagged \(dynamicNormal) → \(dynamicChanged)")
        #expect(staticNormal < 0.01 && staticChanged < 0.01)
        #expect(dynamicNormal < 0.01 && dynamicChanged > 0.6)
    }

    @Test func laggedSectionJudgesOnlyOnceItsWindowIsFullAgain() throws {
        var line = DelayLine(seed: 34)
        let model = try MultivariateModel.fit(samples: (0..<1_000).map { _ in line.sample() }, configuration: .init(lags: 2))
        #expect(model.variableCount == 6 && model.sensorCount == 2 && model.trainingSampleCount == 998)
        var m = try monitor(model, sensors: [0, 1])
        var valid: [Bool] = []
        for c in 0..<8 {
            m.observe(values: c == 4 ? [line.sample()[0], .nan] : line.sample(), cycle: UInt64(c)) { _ in }
            valid.append(m.status(section: 0).valid)
        }
        #expect(valid == [false, false, true, true, false, false, false, true])
        #expect(m.status(section: 0).samples == 3)
    }

    @Test func runRuleRaisesOnKOfTheLastNAndClearsAfterConsecutiveSamplesUnder() {
        let twoOfFour = MultivariateMonitorConfiguration(persistence: 2, persistenceWindow: 4, clearPersistence: 3)
        var rule = RunRule()
        var active = false
        var changes: [Int] = []
        for high in [true, false, false, true, false, false, false, true, false, false, false, false, true] {
            let change = rule.step(high: high, active: active, configuration: twoOfFour)
            if change != 0 { active = change > 0 }
            changes.append(change)
        }
        // Raised by the 2nd over within 4 samples; cleared after 3 under; the over 4 samples after the
        // raise's pair does not re-raise (history cleared); nor the lone one at the end.
        #expect(changes == [0, 0, 0, 1, 0, 0, -1, 0, 0, 0, 0, 0, 0])

        let threeInARow = MultivariateMonitorConfiguration(persistence: 3, clearPersistence: 1)
        #expect(threeInARow.persistenceWindow == 3)
        rule = RunRule()
        active = false
        changes = []
        for high in [true, true, false, true, true, true, false] {
            let change = rule.step(high: high, active: active, configuration: threeInARow)
            if change != 0 { active = change > 0 }
            changes.append(change)
        }
        #expect(changes == [0, 0, 0, 0, 0, 1, -1])
    }

    /// Slowly moving plant and sensor noise (AR(1), φ = 0.9): an EWMA then wanders far more than for
    /// independent samples. Limits from held-out training blocks see that and hold the design rate;
    /// theoretical ones, which assume independence, false-alarm many times over.
    @Test func crossValidatedLimitsAccountForAutocorrelationWhereTheoreticalOnesCannot() throws {
        var rng = PumpSection(seed: 35)
        var state = [Double](repeating: 0, count: 7)
        func sample() -> [Double] {
            for i in state.indices { state[i] = 0.9 * state[i] + (1 - 0.81).squareRoot() * rng.gaussian() }
            let a = state[0], b = state[1]
            return [50 + 5 * a + 0.4 * state[2], 3 + 0.4 * a + 0.03 * state[3], 10 + 1.0 * a + 0.5 * b + 0.1 * state[4],
                    40 + 0.5 * a + 2 * b + 0.2 * state[5], 35 + 1.5 * b + 0.2 * state[6]]
        }
        let training = (0..<10_000).map { _ in sample() }
        let test = (0..<50_000).map { _ in sample() }
        func exceedance(_ method: MultivariateLimitMethod) throws -> (limit: Double, rate: Double) {
            let model = try MultivariateModel.fit(samples: training, configuration: .init(falseAlarmRate: 0.01, limitMethod: method, ewmaLambda: 0.1))
            var m = try monitor(model, sensors: PumpSection.sensors)
            var over = 0
            for (c, x) in test.enumerated() {
                m.observe(values: plantValues(x), cycle: UInt64(c)) { _ in }
                if m.status(section: 0).residualEWMA > model.residualEWMALimit { over += 1 }
            }
            return (model.residualEWMALimit, Double(over) / Double(test.count))
        }
        let theory = try exceedance(.theoretical), held = try exceedance(.crossValidated(folds: 5))
        print("AR(1) data, EWMA residual limit and exceedance: theoretical \(theory), cross-validated \(held) (design 0.01)")
        #expect(theory.rate > 0.1)
        #expect(held.limit > 4 * theory.limit)
        #expect(held.rate < 0.03)
    }

    /// Spikes in 1 % of the training samples stretch the standard deviation, not the MAD.
    @Test func robustScalingIgnoresOutliersInTraining() throws {
        var plant = PumpSection(seed: 36)
        var rows = plant.training(3_000)
        for r in stride(from: 0, to: rows.count, by: 100) { rows[r][4] += 40 }
        let standard = try MultivariateModel.fit(samples: rows, configuration: .init(scaling: .standard))
        let robust = try MultivariateModel.fit(samples: rows, configuration: .init(scaling: .robust))
        // Bearing temperature: 1.5·b + 0.2·noise, σ ≈ 1.51 °C.
        print("bearing temperature scale with 1 % spikes of +40 °C: standard \(standard.scale[4]), robust \(robust.scale[4])")
        #expect(standard.scale[4] > 3.5)
        #expect(abs(robust.scale[4] / 1.51 - 1) < 0.1)
    }

    /// Without lags the reconstruction share is rⱼ² / (1 − leverageⱼ) / SPE; with lags it is taken over
    /// all the sensor's copies and still names the sensor that carries a bias.
    @Test func reconstructionContributionsNameTheBiasedSensorWithAndWithoutLags() throws {
        for lags in [0, 2] {
            var plant = PumpSection(seed: 37)
            let model = try MultivariateModel.fit(samples: plant.training(5_000),
                                                  configuration: .init(limitMethod: .crossValidated(folds: 5), lags: lags, ewmaLambda: 0.1))
            var m = try monitor(model, sensors: PumpSection.sensors)
            for c in 0..<200 { m.observe(values: plantValues(plant.sample(offsets: [0, 0, 0, 0, 3])), cycle: UInt64(c)) { _ in } }
            var shares = [Double](repeating: 0, count: 5), smoothed = shares
            shares.withUnsafeMutableBufferPointer { m.reconstructionContributions(section: 0, into: $0) }
            smoothed.withUnsafeMutableBufferPointer { m.reconstructionContributions(section: 0, smoothed: true, into: $0) }
            print("lags \(lags), bearing temperature +2 σ: shares \(shares), smoothed \(smoothed)")
            #expect(smoothed.firstIndex(of: smoothed.max()!) == 4 && smoothed[4] > 0.9)
            #expect(shares.firstIndex(of: shares.max()!) == 4)
            if lags == 0 {
                let p = model.variableCount, k = model.componentCount, spe = m.status(section: 0).spe
                for j in 0..<5 {
                    var leverage = 0.0
                    for a in 0..<k { leverage += model.loadings[j * p + a] * model.loadings[j * p + a] }
                    let expected = min(1, m.speContribution(section: 0, variable: j) * spe / (1 - leverage + 1e-9) / spe)
                    #expect(abs(shares[j] - expected) < 1e-9)
                }
            }
        }
    }

    @Test func fittingRefusesBadSettingsAndCountsTheLagsInTheMinimum() {
        var plant = PumpSection(seed: 38)
        let rows = plant.training(200)
        #expect(throws: MultivariateError.invalidSetting(name: "lags", found: 65, expected: "0...64")) {
            try MultivariateModel.fit(samples: rows, configuration: .init(lags: 65))
        }
        #expect(throws: MultivariateError.invalidSetting(name: "ewma lambda", found: 1, expected: "0 (none) or a weight in (0, 1)")) {
            try MultivariateModel.fit(samples: rows, configuration: .init(ewmaLambda: 1))
        }
        // 5 sensors × 21 copies × 2 + 20 lags.
        #expect(throws: MultivariateError.tooFewSamples(found: 200, required: 230)) {
            try MultivariateModel.fit(samples: rows, configuration: .init(lags: 20))
        }
        #expect(MultivariateModel.minimumTrainingSamples(sensorCount: 52, configuration: .init(lags: 1))
            == SectionConfig.minimumTrainingSamples(sensorCount: 52, lags: 1))
    }

    @Test func sectionConfigurationMapsToTheModelAndMonitorSettings() {
        let section = SectionConfig(id: "s", sensors: ["a", "b"], persistence: 2, persistenceWindow: 5, clearPersistence: 7, lags: 3,
                                    scaling: .robust, limits: .inSample, ewmaLambda: 0.2)
        let model = MultivariateModelConfiguration(section: section)
        #expect(model.lags == 3 && model.scaling == .robust && model.limitMethod == .empirical && model.ewmaLambda == 0.2)
        #expect(MultivariateModelConfiguration(section: SectionConfig(id: "s", sensors: ["a", "b"])).limitMethod == .crossValidated(folds: 5))
        let monitor = MultivariateMonitorConfiguration(section: section)
        #expect(monitor.persistence == 2 && monitor.persistenceWindow == 5 && monitor.clearPersistence == 7)
    }
}
