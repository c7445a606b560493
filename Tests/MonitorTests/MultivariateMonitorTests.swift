import Testing
import VigilCore
@testable import Monitor

/// A pump station section: throughput (t1) and ambient load (t2) drive five sensors.
/// Sensor indices 10...14: flow, discharge pressure, motor power, motor temperature, bearing temperature.
struct PumpSection {
    var rng: SeededRandom
    static let sensors: [Int32] = [10, 11, 12, 13, 14]

    init(seed: UInt64) { rng = SeededRandom(seed: seed) }

    mutating func gaussian() -> Double {
        // Marsaglia's polar method: needs only log and sqrt.
        while true {
            let u = Double(rng.next() >> 11) / Double(1 << 53) * 2 - 1
            let v = Double(rng.next() >> 11) / Double(1 << 53) * 2 - 1
            let s = u * u + v * v
            if s > 0 && s < 1 { return u * (-2 * MultivariateMath.log(s) / s).squareRoot() }
        }
    }

    /// One sample; `t1`/`t2` override the latent state, `offsets` are added to the sensors after.
    mutating func sample(t1: Double? = nil, t2: Double? = nil, offsets: [Double] = [0, 0, 0, 0, 0]) -> [Double] {
        let a = t1 ?? gaussian()
        let b = t2 ?? gaussian()
        return [
            50 + 5 * a + 0.4 * gaussian() + offsets[0],            // flow, m³/h
            3 + 0.4 * a + 0.03 * gaussian() + offsets[1],          // pressure, bar
            10 + 1.0 * a + 0.5 * b + 0.1 * gaussian() + offsets[2], // power, kW
            40 + 0.5 * a + 2 * b + 0.2 * gaussian() + offsets[3],   // motor temperature, °C
            35 + 1.5 * b + 0.2 * gaussian() + offsets[4],           // bearing temperature, °C
        ]
    }

    mutating func training(_ n: Int) -> [[Double]] { (0..<n).map { _ in sample() } }
}

/// The section's values placed at their sensor indices in a plant-wide value array.
func plantValues(_ section: [Double]) -> [Double] {
    var v = [Double](repeating: .nan, count: 15)
    for (j, s) in PumpSection.sensors.enumerated() { v[Int(s)] = section[j] }
    return v
}

func makeMonitor(seed: UInt64, alpha: Double = 0.001, method: MultivariateLimitMethod = .theoretical,
                 configuration: MultivariateMonitorConfiguration = .init()) throws -> (MultivariateMonitor, PumpSection) {
    var plant = PumpSection(seed: seed)
    let model = try MultivariateModel.fit(samples: plant.training(method == .empirical ? 20_000 : 5_000),
                                          configuration: .init(varianceToKeep: 0.9, falseAlarmRate: alpha, limitMethod: method))
    let monitor = try MultivariateMonitor(sections: [MultivariateSectionSpec(sensors: PumpSection.sensors, model: model)],
                                          configuration: configuration)
    return (monitor, plant)
}

@Suite struct MultivariateMathTests {
    @Test func logExpAndNormalQuantileMatchReferenceValues() {
        #expect(abs(MultivariateMath.log(10) - 2.302_585_092_994_046) < 1e-13)
        #expect(abs(MultivariateMath.log(1e-300) - (-690.775_527_898_213_7)) < 1e-10)
        #expect(abs(MultivariateMath.exp(1) - 2.718_281_828_459_045) < 1e-13)
        #expect(abs(MultivariateMath.exp(-20) - 2.061_153_622_438_558e-9) < 1e-20)
        #expect(abs(MultivariateMath.normalQuantile(0.999) - 3.090_232_306) < 1e-7)
        #expect(abs(MultivariateMath.normalQuantile(0.975) - 1.959_963_985) < 1e-7)
        #expect(abs(MultivariateMath.normalQuantile(0.01) + 2.326_347_874) < 1e-7)
    }

    @Test func fQuantileIsWithinOnePercentOfTables() {
        // F(0.99; 2, 1000) = 4.626, F(0.999; 3, 500) = 5.516, F(0.95; 5, 100) = 2.305.
        #expect(abs(MultivariateMath.fQuantile(upperTail: 0.01, d1: 2, d2: 1000) / 4.626 - 1) < 0.01)
        #expect(abs(MultivariateMath.fQuantile(upperTail: 0.001, d1: 3, d2: 500) / 5.516 - 1) < 0.02)
        #expect(abs(MultivariateMath.fQuantile(upperTail: 0.05, d1: 5, d2: 100) / 2.305 - 1) < 0.01)
    }

    @Test func jacobiRecoversOrthonormalEigenvectorsSortedDescending() {
        var rng = SeededRandom(seed: 7)
        let n = 6
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in i..<n {
            let x = Double(rng.next() % 10_000) / 1_000 - 5
            a[i * n + j] = x
            a[j * n + i] = x
        } }
        let original = a
        var v = [Double](repeating: 0, count: n * n)
        a.withUnsafeMutableBufferPointer { ab in
            v.withUnsafeMutableBufferPointer { vb in _ = MultivariateMath.symmetricEigen(ab, vb, n: n) }
        }
        for k in 0..<n {
            let lambda = a[k * n + k]
            if k > 0 { #expect(a[(k - 1) * n + k - 1] >= lambda) }
            for i in 0..<n {
                var av = 0.0
                for j in 0..<n { av += original[i * n + j] * v[j * n + k] }
                #expect(abs(av - lambda * v[i * n + k]) < 1e-9)
            }
            for l in 0..<n {
                var dot = 0.0
                for i in 0..<n { dot += v[i * n + k] * v[i * n + l] }
                #expect(abs(dot - (k == l ? 1 : 0)) < 1e-12)
            }
        }
    }
}

@Suite struct MultivariateMonitorTests {
    @Test func modelKeepsTwoComponentsForTwoLatentDrivers() throws {
        var plant = PumpSection(seed: 1)
        let model = try MultivariateModel.fit(samples: plant.training(5_000))
        #expect(model.componentCount == 2)
        #expect(model.explainedVariance >= 0.9)
        #expect(abs(model.eigenvalues.reduce(0, +) - 5) < 1e-9)
    }

    @Test(arguments: [(0.01, 50_000), (0.001, 100_000)])
    func normalDataExceedsLimitsAtAboutTheChosenFalseAlarmRate(alpha: Double, samples: Int) throws {
        var (monitor, plant) = try makeMonitor(seed: 2, alpha: alpha,
                                               configuration: .init(updateLambda: 0))
        var t2Over = 0, speOver = 0, raised = 0
        for c in 0..<samples {
            monitor.observe(values: plantValues(plant.sample()), cycle: UInt64(c)) { if case .raised = $0 { raised += 1 } }
            let st = monitor.status(section: 0)
            if st.t2 > st.t2Limit { t2Over += 1 }
            if st.spe > st.speLimit { speOver += 1 }
        }
        let t2Rate = Double(t2Over) / Double(samples), speRate = Double(speOver) / Double(samples)
        print("false-alarm rate α=\(alpha): T² \(t2Rate), SPE \(speRate), findings raised \(raised) in \(samples) samples")
        #expect(t2Rate > alpha * 0.5 && t2Rate < alpha * 2)
        #expect(speRate > alpha * 0.5 && speRate < alpha * 2)
        if alpha <= 0.001 { #expect(raised == 0) }
    }

    @Test func empiricalLimitsAlsoHoldTheFalseAlarmRate() throws {
        var (monitor, plant) = try makeMonitor(seed: 3, alpha: 0.001, method: .empirical, configuration: .init(updateLambda: 0))
        var over = 0
        let n = 50_000
        for c in 0..<n {
            monitor.observe(values: plantValues(plant.sample()), cycle: UInt64(c)) { _ in }
            let st = monitor.status(section: 0)
            if st.t2 > st.t2Limit || st.spe > st.speLimit { over += 1 }
        }
        let rate = Double(over) / Double(n)
        print("empirical limits: either statistic over at rate \(rate) (target ≤ 0.002)")
        #expect(rate < 0.004)
    }

    @Test func closingValveRaisesSPEWithinThreeSamplesThoughEachSensorIsInRange() throws {
        var (monitor, plant) = try makeMonitor(seed: 4)
        for c in 0..<1_000 { monitor.observe(values: plantValues(plant.sample()), cycle: UInt64(c)) { _ in } }
        // Valve closing at an ordinary throughput: pressure +0.4 bar (1 σ), flow −4 m³/h (0.8 σ);
        // power and temperatures unchanged.
        var speCycle: UInt64? = nil, t2Raised = false
        var events: [MultivariateEvent] = []
        for c in 1_000..<1_020 {
            let throughput = max(-1.5, min(1.5, plant.gaussian()))
            let x = plant.sample(t1: throughput, offsets: [-4, 0.4, 0, 0, 0])
            // Each sensor alone stays inside its normal ±3σ band.
            #expect(abs(x[0] - 50) < 3 * 5.02 && abs(x[1] - 3) < 3 * 0.402)
            monitor.observe(values: plantValues(x), cycle: UInt64(c)) { events.append($0) }
        }
        for e in events {
            if case .raised(let f) = e {
                if f.kind == .multivariateSPE && speCycle == nil { speCycle = f.cycle }
                if f.kind == .multivariateT2 { t2Raised = true }
            }
        }
        let delay = speCycle.map { Int($0) - 1_000 + 1 }
        print("closing valve: SPE finding after \(delay.map(String.init) ?? "never") samples; T² raised: \(t2Raised)")
        #expect(delay != nil && delay! <= 5)
        let top = monitor.largestSPEContributor(section: 0)
        #expect(top.sensor == 10 || top.sensor == 11)
    }

    @Test func biasedSensorIsNamedByItsSPEContribution() throws {
        var (monitor, plant) = try makeMonitor(seed: 5)
        for c in 0..<500 { monitor.observe(values: plantValues(plant.sample()), cycle: UInt64(c)) { _ in } }
        var raised: Finding? = nil
        var n = 0
        while raised == nil && n < 50 {
            // Bearing temperature reads 1.5 °C high (1 σ of its own spread).
            monitor.observe(values: plantValues(plant.sample(offsets: [0, 0, 0, 0, 1.5])), cycle: UInt64(500 + n)) {
                if case .raised(let f) = $0, f.kind == .multivariateSPE { raised = f }
            }
            n += 1
        }
        print("bearing temperature +1 σ bias: SPE finding after \(n) samples, share \(monitor.largestSPEContributor(section: 0).share)")
        #expect(raised != nil)
        #expect(monitor.largestSPEContributor(section: 0).sensor == 14)
        var sum = 0.0
        for j in 0..<5 { sum += monitor.speContribution(section: 0, variable: j) }
        #expect(abs(sum - 1) < 1e-9)
    }

    @Test func excursionAlongTheLearnedStructureRaisesT2ButNotSPE() throws {
        var (monitor, plant) = try makeMonitor(seed: 6)
        for c in 0..<500 { monitor.observe(values: plantValues(plant.sample()), cycle: UInt64(c)) { _ in } }
        var t2Cycle: UInt64? = nil, speRaised = false, speOver = 0
        let updatesBefore = monitor.status(section: 0).updates
        for c in 500..<700 {
            // Throughput pushed to +5 σ: everything moves together as in normal operation.
            monitor.observe(values: plantValues(plant.sample(t1: 5)), cycle: UInt64(c)) {
                if case .raised(let f) = $0 {
                    if f.kind == .multivariateT2 && t2Cycle == nil { t2Cycle = f.cycle }
                    if f.kind == .multivariateSPE { speRaised = true }
                }
            }
            let st = monitor.status(section: 0)
            if st.spe > st.speLimit { speOver += 1 }
        }
        print("along-structure excursion: T² finding after \(t2Cycle.map { Int($0) - 499 } ?? -1) samples; SPE over limit in \(speOver)/200")
        #expect(t2Cycle != nil && t2Cycle! <= 502)
        #expect(!speRaised)
        #expect(monitor.status(section: 0).t2Active)
        // The slow update pauses during the excursion, so the model does not learn the abnormal state.
        #expect(monitor.status(section: 0).updates == updatesBefore)
    }

    @Test func findingReturnsToNormalAfterTheExcursionEnds() throws {
        var (monitor, plant) = try makeMonitor(seed: 7)
        var cleared = false
        for c in 0..<50 { monitor.observe(values: plantValues(plant.sample(t1: 6)), cycle: UInt64(c)) { _ in } }
        #expect(monitor.status(section: 0).t2Active)
        for c in 50..<100 {
            monitor.observe(values: plantValues(plant.sample()), cycle: UInt64(c)) {
                if case .returnedToNormal(.multivariateT2, 0, _) = $0 { cleared = true }
            }
        }
        #expect(cleared)
        #expect(!monitor.status(section: 0).t2Active)
    }

    @Test func slowUpdateFollowsAGradualShiftAndRefits() throws {
        var (monitor, plant) = try makeMonitor(seed: 8, configuration: .init(updateLambda: 1e-3, refitInterval: 500))
        let before = monitor.model(section: 0).mean[4]
        for c in 0..<6_000 {
            // Bearing temperature creeps up 0.5 °C over the run (a season, not a fault).
            let drift = 0.5 * Double(c) / 6_000
            monitor.observe(values: plantValues(plant.sample(offsets: [0, 0, 0, 0, drift])), cycle: UInt64(c)) { _ in }
        }
        let st = monitor.status(section: 0)
        #expect(st.refits >= 10)
        #expect(monitor.model(section: 0).mean[4] > before + 0.2)
        #expect(!st.t2Active && !st.speActive)
    }

    @Test func sectionSkipsSamplesWithABadReading() throws {
        var (monitor, plant) = try makeMonitor(seed: 9)
        let values = plantValues(plant.sample())
        var readings = values.map { Reading(value: $0.isNaN ? 0 : $0, timestampNanoseconds: 0, latencyNanoseconds: 0, quality: .good) }
        readings[12].quality = .bad(.timeout)
        monitor.observe(readings, cycle: 0) { _ in }
        #expect(!monitor.status(section: 0).valid)
        readings[12].quality = .good
        monitor.observe(readings, cycle: 1) { _ in }
        #expect(monitor.status(section: 0).valid)
        #expect(monitor.status(section: 0).samples == 1)
    }

    @Test func fittingRefusesConstantVariablesShortWindowsAndRaggedRows() {
        var plant = PumpSection(seed: 10)
        var rows = plant.training(200)
        for i in rows.indices { rows[i][2] = 10 }
        #expect(throws: MultivariateError.constantVariable(column: 2)) { try MultivariateModel.fit(samples: rows) }
        #expect(throws: MultivariateError.tooFewSamples(found: 20, required: 50)) {
            try MultivariateModel.fit(samples: plant.training(20))
        }
        var ragged = plant.training(100)
        ragged[7].removeLast()
        #expect(throws: MultivariateError.inconsistentRow(row: 7, found: 4, expected: 5)) { try MultivariateModel.fit(samples: ragged) }
    }

    @Test func faultFreeRunThroughPolicyAndAlarmsYieldsNoAlarm() throws {
        var (monitor, plant) = try makeMonitor(seed: 11)
        let policy = InterventionPolicy.defaults
        var alarms = AlarmManager(topology: AlarmTopology(sensorDevice: [Int32](repeating: 0, count: 15)))
        let period: UInt64 = 10_000_000 // 10 ms
        for c in 0..<30_000 {
            let now = UInt64(c) * period
            monitor.observe(values: plantValues(plant.sample()), cycle: UInt64(c)) { event in
                guard case .raised(let f) = event else { return }
                let cause: RootCause = f.kind == .multivariateT2 ? .processExcursion : .sensorFault
                let decision = policy.lookup(cause: cause, kind: f.kind, severity: .major)
                alarms.raise(AlarmEscalation(finding: f, cause: cause, severity: .major, decision: decision), nowNanoseconds: now)
            }
            alarms.tick(nowNanoseconds: now)
        }
        #expect(alarms.raisedCount == 0)
        #expect(alarms.snapshot(includeCleared: true).isEmpty)
    }
}
