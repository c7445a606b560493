import Testing
import VigilCore
import Monitor
@testable import Kernel

/// A section with lags and EWMA statistics in the kernel's bank: it learns, goes live at a cycle
/// boundary, stays quiet in normal operation, and names the sensor behind a small offset.
@Suite struct SectionDynamicBankTests {
    static let plant: PlantConfig = {
        var plant = SectionBankTests.plant
        // An EWMA statistic over its limit stays over for a while, so persistence does not thin its false
        // alarms: α 1e-4 keeps 3,000 normal samples quiet (α 0.001 would expect about one finding).
        plant.sections = [SectionConfig(id: "pump", sensors: ["PT-A", "PT-B", "FT"], trainingSamples: 2000, falseAlarmRate: 1e-4,
                                        updateLambda: 0, lags: 2, ewmaLambda: 0.05)]
        return plant
    }()

    func step(_ watch: SectionBank, _ process: inout SectionBankTests.Process, _ c: Int, flow: Double = 0,
              found: inout [(Int, SectionFinding)]) {
        let r = process.readings(cycle: c, flowOffset: flow)
        r.withUnsafeBufferPointer { buffer in
            watch.observe(cycle: UInt64(c), nowNanoseconds: SectionBankTests.now(c), sensors: buffer, healthy: { _ in true }) { found.append((c, $0)) }
        }
    }

    @Test func laggedEWMASectionIsQuietInNormalOperationAndNamesASmallFlowmeterOffset() throws {
        let watch = SectionBank(plant: Self.plant, fitting: .inline)
        var process = SectionBankTests.Process(state: 0x2545_F491_4F6C_DD1D)
        var found: [(Int, SectionFinding)] = []
        for c in 0..<2_001 { step(watch, &process, c, found: &found) }
        #expect(watch.isLive(0) && watch.trainedSamples(0) == 2_000)
        for c in 2_001..<5_001 { step(watch, &process, c, found: &found) }
        #expect(found.isEmpty, "\(found.map(\.1))")
        let model = try #require(watch.status(0))
        #expect(model.ewmaSPELimit.isFinite && model.residualEWMALimit.isFinite)
        // −0.6 m³/h: three times the flowmeter's own noise, inside the ±3 m³/h normal swing.
        for c in 5_001..<5_101 { step(watch, &process, c, flow: -0.6, found: &found) }
        let spe = try #require(found.first { $0.1.kind == .multivariateSPE && $0.1.raised })
        print("flowmeter −0.6 m³/h: SPE-family finding after \(spe.0 - 5_000) samples, \(spe.1)")
        #expect(spe.0 - 5_000 <= 20)
        #expect(spe.1.sensor == 2 && spe.1.cause == .sensorFault && spe.1.share > 0.9)
    }
}
