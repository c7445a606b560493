import Testing
import Foundation
import HIL
import Kernel
import VigilCore
@testable import Scenarios

/// Scenarios in virtual time: the same kernel, pollers and link schedules as the real runtime, over
/// simulated devices with modelled wire times, driven by manual clocks.
@Suite struct VirtualTimeTests {
    @Test func twoRunsOfAScenarioGiveByteIdenticalReports() throws {
        let scenario = try ScenarioDecoder.load(path: scenarioPath("rtu-corruption-burst.yaml"))
        let a = try VirtualScenarioRunner().run(scenario)
        let b = try VirtualScenarioRunner().run(scenario)
        #expect(try ScenarioReport.json(a) == ScenarioReport.json(b))
        #expect(a.eventLog == b.eventLog)
        #expect(ScenarioPlot.svg(a, scenario: scenario) == ScenarioPlot.svg(b, scenario: scenario))
        #expect(a.clock == .virtual)
        #expect(!a.eventLog.isEmpty)
    }

    @Test func faultsLandExactlyAtTheirCycles() throws {
        let scenario = try ScenarioDecoder.load(path: scenarioPath("excursion-interlock.yaml"))
        let result = try VirtualScenarioRunner().run(scenario)
        for e in result.expectations { #expect(e.passed, "\(e.sentence)") }
        #expect(result.injected.map(\.startCycle) == scenario.faults.map(\.at))
        #expect(result.samples.map(\.cycle) == Array(1...scenario.cycles))
    }

    /// An RTU device at 9600 baud takes about 30 ms to answer a read: with a 10 ms cycle the kernel
    /// sees its first reading three cycles in, stamped with the time its answer finished.
    @Test func aReadingReachesTheKernelOnlyOnceItsTransactionHasFinished() throws {
        let settings = RTUSettings(port: "rs485-slow", baud: 9600, parity: .even, dataBits: 8, stopBits: 1)
        let device = DeviceConfig(id: "slow", transport: .rtu(settings), unitID: 5, pollIntervalMilliseconds: 100, points: [
            PointConfig(id: "t", function: .holding, address: 0, type: .int16, scale: 0.1,
                        simulation: PointSimulation(source: .inline(SignalSpec(shape: .constant, base: 21.5)))),
            PointConfig(id: "u", function: .holding, address: 1, type: .int16, scale: 0.1,
                        simulation: PointSimulation(source: .inline(SignalSpec(shape: .constant, base: 22.5)))),
            PointConfig(id: "v", function: .holding, address: 2, type: .int16, scale: 0.1,
                        simulation: PointSimulation(source: .inline(SignalSpec(shape: .constant, base: 23.5)))),
        ])
        let plant = PlantConfig(name: "slow-line", devices: [device],
                                sensors: [SensorConfig(id: "TT", source: .point(device: "slow", point: "t"), rangeMin: 0, rangeMax: 100)],
                                cycle: CycleConfig(periodMicroseconds: 10_000))
        let controller = try VirtualController(plant: plant)
        var firstGood: UInt64?
        for _ in 0..<10 {
            controller.step()
            if firstGood == nil, controller.sensorReadings[0].quality.isGood { firstGood = controller.cycle }
        }
        // 8-byte request + 11-byte answer at 11 bits/character, 2 × 3.5 characters of silence, 0.5 ms turnaround.
        let char = 11.0 / 9600
        let took = (8 + 11 + 7) * char + 0.0005
        #expect(firstGood == UInt64((took / 0.010).rounded(.up)), "took \(took * 1000) ms")
        let r = controller.sensorReadings[0]
        #expect(r.value == 21.5)
        #expect(abs(Double(r.latencyNanoseconds) / 1e9 - took) < 1e-6)
        #expect(r.timestampNanoseconds == controller.epochNanoseconds + r.latencyNanoseconds, "stamped when the answer finished")
    }

    /// The kernel's events reach the scenario through the journal's codec and a time base that is
    /// the rig's, not the host's.
    @Test func eventsCarryPlantTimeAndCycle() throws {
        let scenario = try ScenarioDecoder.load(path: scenarioPath("stuck-primary-failover.yaml"))
        let result = try VirtualScenarioRunner().run(scenario)
        for e in result.expectations { #expect(e.passed, "\(e.sentence)") }
        let failover = try #require(result.failovers.first)
        #expect(failover.cycle > scenario.faults[0].at)
        #expect(result.eventLog.contains { $0.hasPrefix("cycle \(failover.cycle) ") && $0.contains("failover discharge-pressure") })
    }
}
