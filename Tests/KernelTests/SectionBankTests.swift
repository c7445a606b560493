import Testing
import VigilCore
import Monitor
@testable import Kernel

/// The kernel's plant sections: learn, swap the model in at a cycle boundary, then tell an equipment
/// anomaly (pressure up, flow down, all in range) from a single lying sensor.
@Suite struct SectionBankTests {
    /// PT-A and PT-B (a redundancy group) and FT (alone) follow one process variable u.
    static let plant: PlantConfig = {
        let sensors = ["PT-A", "PT-B", "FT"].enumerated().map { i, id in
            SensorConfig(id: id, source: .point(device: "d", point: "p\(i)"), rangeMin: 0, rangeMax: 200)
        }
        return PlantConfig(name: "t", sensors: sensors,
                           redundancyGroups: [RedundancyGroupConfig(id: "pressure", primary: "PT-A", backups: ["PT-B"])],
                           sections: [SectionConfig(id: "pump", sensors: ["PT-A", "PT-B", "FT"], trainingSamples: 500, updateLambda: 0)])
    }()

    /// Plant time of cycle `c` (10 ms cycles), the time its readings are stamped with.
    static func now(_ c: Int) -> UInt64 { UInt64(c + 1) * 10_000_000 }

    /// Deterministic normal operation: u a slow sine plus seeded noise on every sensor.
    struct Process {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        mutating func gaussian() -> Double {
            func next() -> Double {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                return (Double(state >> 11) + 0.5) / Double(1 << 53)
            }
            return (-2 * _log(next())).squareRoot() * _cos(2 * Double.pi * next())
        }
        mutating func readings(cycle: Int, pressureOffset: Double = 0, flowOffset: Double = 0, aOnly: Double = 0) -> [Reading] {
            let u = _sin(Double(cycle) / 80)
            let p = 6 + 0.4 * u + pressureOffset
            let values = [p + 0.01 * gaussian() + aOnly, p + 0.01 * gaussian(), 42 + 3 * u + flowOffset + 0.2 * gaussian()]
            return values.map { Reading(value: $0, timestampNanoseconds: SectionBankTests.now(cycle), latencyNanoseconds: 0, quality: .good) }
        }
    }

    /// Trains the section on 500 normal cycles (fitted inline in the 500th); returns the next cycle
    /// number, at whose boundary the model goes live.
    func trained(_ watch: SectionBank, _ process: inout Process) throws -> Int {
        for c in 0..<500 {
            let r = process.readings(cycle: c)
            r.withUnsafeBufferPointer { watch.observe(cycle: UInt64(c), nowNanoseconds: Self.now(c), sensors: $0, healthy: { _ in true }) { _ in Issue.record("finding in training") } }
        }
        #expect(!watch.isLive(0), "the fitted model goes live at the next cycle boundary")
        let r = process.readings(cycle: 500)
        r.withUnsafeBufferPointer { watch.observe(cycle: 500, nowNanoseconds: Self.now(500), sensors: $0, healthy: { _ in true }) { _ in } }
        #expect(watch.isLive(0))
        return 501
    }

    func run(_ watch: SectionBank, _ process: inout Process, from: Int, cycles: Int, pressure: Double = 0, flow: Double = 0,
             aOnly: Double = 0) -> [(cycle: Int, finding: SectionFinding)] {
        var found: [(Int, SectionFinding)] = []
        for c in from..<(from + cycles) {
            let r = process.readings(cycle: c, pressureOffset: pressure, flowOffset: flow, aOnly: aOnly)
            r.withUnsafeBufferPointer { watch.observe(cycle: UInt64(c), nowNanoseconds: Self.now(c), sensors: $0, healthy: { _ in true }) { found.append((c, $0)) } }
        }
        return found
    }

    @Test func normalOperationRaisesNothing() throws {
        let watch = SectionBank(plant: Self.plant, fitting: .inline)
        var process = Process()
        let c = try trained(watch, &process)
        let found = run(watch, &process, from: c, cycles: 3000)
        #expect(found.isEmpty, "\(found.map(\.finding))")
        #expect(watch.progress(0).scored >= 3000)
    }

    /// A device polled ten times slower than the cycle: a section learns and scores new samples only,
    /// so the repeated readings neither count as training rows nor shrink the learned spread.
    @Test func repeatedReadingsOfASlowPollAreNotNewRows() throws {
        let watch = SectionBank(plant: Self.plant, fitting: .inline)
        var process = Process()
        var sample = process.readings(cycle: 0)
        var c = 0
        func step() {
            if c % 10 == 0 { sample = process.readings(cycle: c) } // a new poll every tenth cycle
            sample.withUnsafeBufferPointer { r in watch.observe(cycle: UInt64(c), nowNanoseconds: Self.now(c), sensors: r, healthy: { _ in true }) { f in Issue.record("finding: \(f)") } }
            c += 1
        }
        while c < 4_980 { step() }
        #expect(!watch.isLive(0), "498 distinct samples are not yet the 500 the section trains on")
        while c < 5_001 { step() }
        #expect(watch.isLive(0), "the 500th distinct sample (cycle 4,990) fitted the model, live at the next new sample")
        let live = c
        for _ in 0..<1_000 { step() }
        let scored = watch.progress(0).scored
        #expect((95...101).contains(scored), "1,000 cycles bring 100 new samples; \(scored) were scored (from cycle \(live))")
    }

    @Test func closingValveIsAnEquipmentAnomalyNoSensorIsOutOfLine() throws {
        let watch = SectionBank(plant: Self.plant, fitting: .inline)
        var process = Process()
        let c = try trained(watch, &process)
        #expect(run(watch, &process, from: c, cycles: 200).isEmpty)
        // Pressure +1.5 bar, flow −2 m³/h: in range (0–200), flow inside its normal swing (±3 m³/h),
        // the header pressure above its own (so the pressure side moved too).
        let found = run(watch, &process, from: c + 200, cycles: 50, pressure: 1.5, flow: -2)
        let spe = try #require(found.first { $0.finding.kind == .multivariateSPE && $0.finding.raised })
        #expect(spe.cycle - (c + 200) <= 5, "detected within persistence + a couple of cycles")
        #expect(spe.finding.cause == .processExcursion, "pressure moved with the flow: equipment, not a sensor")
        #expect(spe.finding.section == 0)
    }

    @Test func oneTransmitterOutOfLineIsItsSensorFaultWhenTheMonitorDistrustsIt() throws {
        let watch = SectionBank(plant: Self.plant, fitting: .inline)
        var process = Process()
        let c = try trained(watch, &process)
        var found: [SectionFinding] = []
        for k in c..<(c + 50) {
            let r = process.readings(cycle: k, aOnly: 0.1)
            r.withUnsafeBufferPointer { watch.observe(cycle: UInt64(k), nowNanoseconds: Self.now(k), sensors: $0, healthy: { $0 != 0 }) { found.append($0) } }
        }
        let spe = try #require(found.first { $0.kind == .multivariateSPE })
        #expect(spe.cause == .sensorFault && spe.sensor == 0)
    }

    @Test func flowmeterAloneOffIsItsLikelySensorFault() throws {
        let watch = SectionBank(plant: Self.plant, fitting: .inline)
        var process = Process()
        let c = try trained(watch, &process)
        let found = run(watch, &process, from: c, cycles: 50, flow: -2)
        let spe = try #require(found.first { $0.finding.kind == .multivariateSPE })
        #expect(spe.finding.cause == .sensorFault && spe.finding.sensor == 2, "\(spe.finding)")
        #expect(spe.finding.share > 0.9)
    }

    /// The pressure really steps (both transmitters of its group agree) while the flow stays: the
    /// flowmeter only stopped fitting a variable that moved. It is the plant, not the flowmeter
    /// (a valve downstream closing half a turn).
    @Test func theVouchedForVariableMovedNotTheLoneSensor() throws {
        let watch = SectionBank(plant: Self.plant, fitting: .inline)
        var process = Process()
        let c = try trained(watch, &process)
        #expect(run(watch, &process, from: c, cycles: 200).isEmpty)
        let found = run(watch, &process, from: c + 200, cycles: 50, pressure: 0.4)
        let spe = try #require(found.first { $0.finding.kind == .multivariateSPE && $0.finding.raised })
        #expect(spe.finding.cause == .processExcursion, "\(spe.finding)")
    }

    /// Background fitting: the kernel never fits on its own; a thread beside the cycle calls
    /// `fitPending`, and the model goes live at the next cycle boundary after that.
    @Test func backgroundFittingWaitsForTheFitter() throws {
        let watch = SectionBank(plant: Self.plant, fitting: .background)
        var process = Process()
        for c in 0..<600 {
            let r = process.readings(cycle: c)
            r.withUnsafeBufferPointer { watch.observe(cycle: UInt64(c), nowNanoseconds: Self.now(c), sensors: $0, healthy: { _ in true }) { _ in } }
        }
        #expect(watch.needsFitting && !watch.isLive(0) && !watch.trainingDone == false)
        #expect(watch.fitPending() == 1)
        #expect(!watch.needsFitting && watch.trainingDone)
        let r = process.readings(cycle: 600)
        r.withUnsafeBufferPointer { watch.observe(cycle: 600, nowNanoseconds: Self.now(600), sensors: $0, healthy: { _ in true }) { _ in } }
        #expect(watch.isLive(0))
    }
}
