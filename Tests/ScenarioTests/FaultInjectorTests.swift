import Testing
import Foundation
import Config
@testable import HIL
import VigilCore

/// Each scenario fault kind lands on the right call of the rig's fault API, and only that call is undone.
@Suite struct FaultInjectorTests {
    let rig: SimulatedRig
    let injector: FaultInjector
    let pt101a = PointKey(device: "pump-plc", point: "discharge_pressure_a")

    init() throws {
        let plant = try ConfigLoader.loadPlant(path: repositoryRoot.appendingPathComponent("configs/demo-pump-station.yaml").path).plant
        rig = try SimulatedRig(plant: plant, ports: .ephemeral, pacing: .unpaced, seed: 3)
        injector = FaultInjector(rig: rig)
    }

    func fault(_ target: FaultTarget, _ kind: FaultKind, _ p: FaultParameters = FaultParameters(), until: UInt64? = nil) -> ScheduledFault {
        ScheduledFault(at: 10, until: until, target: target, kind: kind, parameters: p)
    }

    @Test func sensorFaultsBecomePointOverrides() throws {
        defer { rig.stop() }
        let cases: [(FaultKind, FaultParameters, (PointOverride) -> Bool)] = [
            (.stuck, FaultParameters(value: 6.5), { $0.stuckAt == 6.5 }),
            (.bias, FaultParameters(value: 0.7), { $0.addedBias == 0.7 }),
            (.spike, FaultParameters(magnitude: 4), { $0.addedBias == 4 }),
            (.drift, FaultParameters(ratePerSecond: 0.5), { $0.driftPerSecond == 0.5 }),
            (.noise, FaultParameters(magnitude: 1.5), { $0.extraNoise == 1.5 }),
        ]
        for (kind, p, check) in cases {
            let f = fault(.sensor("PT-101A"), kind, p)
            try injector.apply(f, index: 0)
            let o = try #require(rig.model.override(for: pt101a), "\(kind)")
            #expect(check(o), "\(kind): \(o)")
            try injector.remove(f, index: 0)
            #expect(rig.model.override(for: pt101a) == nil, "\(kind) removed")
        }
        #expect(fault(.sensor("PT-101A"), .spike).endCycle == 11)
    }

    @Test func aStuckSensorWithoutAValueFreezesAtItsReadingAtOnset() throws {
        defer { rig.stop() }
        try injector.apply(fault(.sensor("PT-101A"), .stuck), index: 0)
        let level = try #require(rig.model.override(for: pt101a)?.stuckAt)
        #expect(abs(level - 6.0) < 0.6)
        #expect(rig.model.value(of: pt101a, atNanoseconds: 10_000_000_000) == level)
    }

    @Test func overlappingFaultsOnOnePointComposeAndComeOffOneByOne() throws {
        defer { rig.stop() }
        let bias = fault(.sensor("PT-101A"), .bias, FaultParameters(value: 1))
        let drift = fault(.sensor("PT-101A"), .drift, FaultParameters(ratePerSecond: 2))
        try injector.apply(bias, index: 0)
        try injector.apply(drift, index: 1)
        #expect(rig.model.override(for: pt101a)?.addedBias == 1)
        #expect(rig.model.override(for: pt101a)?.driftPerSecond == 2)
        try injector.remove(bias, index: 0)
        #expect(rig.model.override(for: pt101a)?.addedBias == 0)
        #expect(rig.model.override(for: pt101a)?.driftPerSecond == 2)
    }

    @Test func aDriftGrowsFromItsOnset() {
        let o = PointOverride.drift(ratePerSecond: 0.5, fromNanoseconds: 2_000_000_000)
        #expect(o.apply(to: 6, atNanoseconds: 1_000_000_000) == 6)
        #expect(o.apply(to: 6, atNanoseconds: 4_000_000_000) == 7)
    }

    @Test func aSensorDropoutIsAnExceptionForItsRegistersOnly() throws {
        defer { rig.stop() }
        let f = fault(.sensor("PT-101B"), .dropout, FaultParameters(code: 4))
        try injector.apply(f, index: 0)
        #expect(rig.device("pump-plc")?.faults.exception == InjectedException(code: .serverDeviceFailure, addresses: 2...3))
        try injector.remove(f, index: 0)
        #expect(rig.device("pump-plc")?.faults.exception == nil)
    }

    @Test func deviceFaultsUseTheSimulatedDevice() throws {
        defer { rig.stop() }
        let device = try #require(rig.device("tank-io"))
        let delay = fault(.device("tank-io"), .delay, FaultParameters(milliseconds: 150))
        try injector.apply(delay, index: 0)
        #expect(device.faults.replyDelayMilliseconds == 150)
        try injector.remove(delay, index: 0)
        #expect(device.faults.replyDelayMilliseconds == 0)

        let timeout = fault(.device("tank-io"), .timeout)
        try injector.apply(timeout, index: 1)
        #expect(device.faults.noReply)
        try injector.remove(timeout, index: 1)
        #expect(!device.faults.noReply)

        let exception = fault(.device("tank-io"), .exception, FaultParameters(code: 6))
        try injector.apply(exception, index: 2)
        #expect(device.faults.exception == InjectedException(code: .serverDeviceBusy))
        try injector.remove(exception, index: 2)
        #expect(device.faults.exception == nil)

        let disconnect = fault(.device("tank-io"), .disconnect)
        try injector.apply(disconnect, index: 3)
        #expect(device.faults.disconnected)
        try injector.remove(disconnect, index: 3)
        #expect(!device.faults.disconnected)
    }

    @Test func lineFaultsUseTheVirtualSerialLine() throws {
        defer { rig.stop() }
        let line = try #require(rig.line("rs485-0"))
        let burst = fault(.line("rs485-0"), .corrupt, FaultParameters(probability: 0.5))
        try injector.apply(burst, index: 0)
        #expect(line.faults.corruptionProbability == 0.5)
        try injector.remove(burst, index: 0)
        #expect(line.faults.corruptionProbability == 0)

        try injector.apply(fault(.device("rtu-temps"), .corrupt, FaultParameters(frames: 3)), index: 1)
        #expect(line.faults.corruptNextFrames == 3)

        let cut = fault(.line("rs485-0"), .disconnect)
        try injector.apply(cut, index: 2)
        #expect(line.faults.broken)
        try injector.remove(cut, index: 2)
        #expect(!line.faults.broken)

        #expect(throws: FaultInjectionError.self) { try injector.apply(fault(.device("tank-io"), .corrupt), index: 3) }
        #expect(throws: FaultInjectionError.self) { try injector.apply(fault(.sensor("ESTOP"), .stuck), index: 4) }
        #expect(throws: FaultInjectionError.self) { try injector.apply(fault(.line("rs485-9"), .corrupt), index: 5) }
    }

    @Test func anExcursionMovesTheProcessSoEveryRedundantSensorFollows() throws {
        defer { rig.stop() }
        let f = fault(.signal("discharge_pressure"), .excursion, FaultParameters(value: 11.5))
        try injector.apply(f, index: 0)
        #expect(rig.model.signalOverride(forSignal: "discharge_pressure")?.holdAt == 11.5)
        for (device, point) in [("pump-plc", "discharge_pressure_a"), ("pump-plc", "discharge_pressure_b"), ("tank-io", "discharge_pressure_c")] {
            let v = try #require(rig.model.value(of: PointKey(device: device, point: point), atNanoseconds: 5_000_000_000))
            #expect(abs(v - 11.5) < 0.1, "\(point) = \(v)")
        }
        try injector.remove(f, index: 0)
        #expect(rig.model.signalOverride(forSignal: "discharge_pressure") == nil)
    }
}
