import Testing
import Monitor
import VigilCore
@testable import Kernel
@testable import TEPBenchmark

/// The Tennessee Eastman figures docs/TEP.md reports, reproduced from the archive (skipped without it).
/// Deterministic; the margins only absorb floating-point summation order.
@Suite(.enabled(if: TEPArchive.isPresent, "needs ../shared/data/tep/tep-braatz.tar.xz or VIGIL_TEP_DATA"))
struct TEPBenchmarkTests {
    /// Detection rate per fault 1…21 of the recommended section and of the static-PCA baseline (docs/TEP.md).
    static let recommended = [0.993, 0.983, 0.000, 0.998, 0.996, 0.998, 0.998, 0.973, 0.000, 0.865, 0.990,
                              0.995, 0.949, 0.998, 0.000, 0.932, 0.970, 0.894, 0.960, 0.897, 0.698]
    static let baseline = [0.998, 0.989, 0.061, 1.000, 0.323, 1.000, 1.000, 0.979, 0.054, 0.610, 0.731,
                           0.993, 0.954, 1.000, 0.092, 0.549, 0.963, 0.906, 0.251, 0.609, 0.546]

    func expectFigures(_ r: TEPResult, rates: [Double], falseAlarms: Double, mean21: Double, mean18: Double) {
        for (f, expected) in rates.enumerated() {
            #expect(abs(r.faults[f].rate - expected) <= 0.01, "fault \(f + 1): \(r.faults[f].rate), documented \(expected)")
        }
        #expect(abs(r.falseAlarmRate - falseAlarms) <= 0.003, "false alarms on d00_te: \(r.falseAlarmRate)")
        #expect(abs(r.meanDetectionRate - mean21) <= 0.005, "mean over 21: \(r.meanDetectionRate)")
        #expect(abs(r.meanDetectionRateDetectable - mean18) <= 0.005, "mean over 18: \(r.meanDetectionRateDetectable)")
    }

    /// Static PCA, 99.9 % theoretical limits, no run rule: the shared path (reader, fit, scoring), cheap enough for debug builds.
    @Test func staticPCABaselineReproducesItsFigures() throws {
        let data = try TEPArchive.data.get()
        #expect(data.training.count == 500 && data.normal.count == 960 && data.faults.count == 21)
        let r = try TEPBenchmark.run(TEPSetting.baseline, data: data)
        expectFigures(r, rates: Self.baseline, falseAlarms: 0.045, mean21: 0.696, mean18: 0.800)
    }

    /// The recommended section (lags 2, EWMA, cross-validated limits, 3 of 3): ≥ 0.94 over the 18
    /// detectable faults with no false alarm on d00_te. A few seconds optimized; minutes in a debug
    /// build, so it runs in the release pass (README's test command).
    @Test(.enabled(if: !_isDebugAssertConfiguration(), "runs in the release pass of README's test command (swift test -c release)"))
    func tepBenchmarkRecommendedSectionReproducesItsFigures() throws {
        let data = try TEPArchive.data.get()
        let r = try TEPBenchmark.run(.recommended, data: data)
        expectFigures(r, rates: Self.recommended, falseAlarms: 0, mean21: 0.814, mean18: 0.949)
        #expect(r.meanDetectionRateDetectable >= 0.94)
        #expect(r.faults[20].delaySamples.map { $0 <= 260 } == true, "fault 21 found within 13 hours")
    }

    /// The kernel's SectionBank (training rows, inline fit, swap at a cycle boundary, new-sample
    /// check) flags exactly the samples the benchmark's monitor copy flags, over d00_te then d19_te.
    @Test(.enabled(if: !_isDebugAssertConfiguration(), "runs in the release pass of README's test command (swift test -c release)"))
    func tepBenchmarkMatchesTheKernelSectionBankSampleForSample() throws {
        let data = try TEPArchive.data.get()
        let setting = TEPSetting.recommended
        let stream = data.normal + data.faults[18]
        let expected = TEPBenchmark.stream(try TEPBenchmark.fit(setting, data: data), samples: stream, faulty: false).flagged

        let sensors = TEPDataSet.variableNames.map { SensorConfig(id: $0, source: .point(device: "dcs", point: $0), rangeMin: -1e9, rangeMax: 1e9) }
        let bank = SectionBank(plant: PlantConfig(name: "tep", sensors: sensors, sections: [setting.section]), fitting: .inline)
        var cycle: UInt64 = 0
        func step(_ x: [Double], stamp: UInt64) -> Bool {
            let readings = x.map { Reading(value: $0, timestampNanoseconds: stamp, latencyNanoseconds: 0, quality: .good) }
            readings.withUnsafeBufferPointer { bank.observe(cycle: cycle, nowNanoseconds: stamp, sensors: $0, healthy: { _ in true }) { _ in } }
            cycle += 1
            return !bank.openFindings(0).isEmpty
        }
        let minutes: UInt64 = 180_000_000_000
        for (i, x) in data.training.enumerated() { _ = step(x, stamp: UInt64(i + 1) * minutes) }
        // The same (already seen) sample again: the fitted model is swapped in at this cycle boundary.
        _ = step(data.training[data.training.count - 1], stamp: UInt64(data.training.count) * minutes)
        #expect(bank.isLive(0))
        var flagged: [Bool] = []
        for (i, x) in stream.enumerated() { flagged.append(step(x, stamp: UInt64(data.training.count + 1 + i) * minutes)) }
        #expect(flagged == expected)
        #expect(flagged.filter { $0 }.count > 700, "fault 19 is found")
    }
}
