import Testing
import Foundation
import Config
import HIL
import Monitor
@testable import Scenarios

/// The scenario format's device-repair pieces: `gateway` / `backup_gateway` targets and the
/// `repair` and `device_state` expectations, decoded, checked against the plant and judged.
@Suite struct DeviceRepairScenarioTests {
    @Test func gatewayTargetsAndRepairExpectationsDecode() throws {
        let s = try ScenarioDecoder.decode("""
        name: x
        config: ../../configs/demo-pump-station.yaml
        cycles: 100
        faults:
          - { at: 10, target: gateway pump-plc, kind: disconnect }
          - { at: 20, target: backup_gateway pump-plc, kind: timeout }
        expect:
          - repair: { target: pump-plc, strategy: switchToBackupGateway, verified: true, within_cycles: 30 }
          - device_state: { device: pump-plc, path: backup, min_poll_interval_ms: 100, at: 90 }
        """, file: scenarioPath("x.yaml"))
        #expect(s.faults.map(\.target) == [.gateway("pump-plc"), .backupGateway("pump-plc")])
        #expect(s.expectations == [
            .repair(device: "pump-plc", strategy: .switchToBackupGateway, verified: true, withinCycles: 30, after: nil),
            .deviceState(device: "pump-plc", backup: true, minPollIntervalMilliseconds: 100, atCycle: 90),
        ])
        #expect(try ScenarioDecoder.check(s, against: ScenarioRunner.plant(for: s).plant).isEmpty)
    }

    @Test func badRepairExpectationsAndABackupTargetWithoutBackupAreReported() throws {
        do {
            _ = try ScenarioDecoder.decode("""
            name: x
            config: plant.yaml
            cycles: 100
            expect:
              - repair: { target: pump-plc, strategy: prayer }
              - device_state: { device: pump-plc, path: sideways }
            """, file: "hil/scenarios/bad.yaml")
            Issue.record("expected diagnostics")
        } catch {
            #expect(error.diagnostics.map(\.description) == [
                "hil/scenarios/bad.yaml:5:43: expect[0].repair.strategy: found \"prayer\", expected one of "
                    + RepairStrategy.allCases.map(\.scenarioName).joined(separator: ", "),
                "hil/scenarios/bad.yaml:6:45: expect[1].device_state.path: found \"sideways\", expected primary or backup",
            ])
        }
        // tank-io has no backup path in the demo plant.
        let s = try ScenarioDecoder.decode("""
        name: x
        config: ../../configs/demo-pump-station.yaml
        cycles: 100
        faults:
          - { at: 10, target: backup_gateway tank-io, kind: disconnect }
        expect:
          - repair: { target: nowhere }
        """, file: scenarioPath("x.yaml"))
        let plant = try ConfigLoader.loadPlant(path: repositoryRoot.appendingPathComponent("configs/demo-pump-station.yaml").path).plant
        let problems = ScenarioDecoder.check(s, against: plant).map(\.description)
        #expect(problems.count == 2)
        #expect(problems.first?.contains("\"tank-io\" without a backup path") == true)
        #expect(problems.last?.contains("expect[0].repair.target: found \"nowhere\"") == true)
    }

    /// On a loaded host the runner can apply a fault well after the cycle it was scheduled for (a
    /// CI run saw ~40 cycles); Vigil is timed from when the fault really began, and the sentence
    /// says both cycles.
    @Test func windowsCountFromWhenTheFaultWasReallyApplied() {
        let scenario = Scenario(name: "x", file: "x.yaml", configPath: "p.yaml", cycles: 100,
                                faults: [ScheduledFault(at: 10, target: .gateway("plc"), kind: .disconnect)], expectations: [])
        var result = ScenarioResult(name: "x", file: "x.yaml", status: .passed, cycles: 100, periodMilliseconds: 10, seed: 1)
        result.deviceIDs = ["plc"]
        result.injected = [InjectedRecord(target: "gateway plc", kind: "disconnect", startCycle: 50, endCycle: nil)]
        result.repairs = [Scenarios.RepairRecord(cycle: 54, target: "plc", strategy: "switchToBackupGateway", verified: false)]
        let judge = ScenarioJudge(scenario: scenario, result: result)
        let late = judge.judge(.repair(device: "plc", strategy: .switchToBackupGateway, verified: nil, withinCycles: 5, after: nil))
        #expect(late.passed, "\(late.sentence)")
        #expect(late.sentence.contains("of cycle 10 (applied at 50)") && late.sentence.contains("(+4)"), "\(late.sentence)")
        #expect(!judge.judge(.repair(device: "plc", strategy: .switchToBackupGateway, verified: nil, withinCycles: 3, after: nil)).passed)
        result.injected[0].startCycle = 10
        let onTime = ScenarioJudge(scenario: scenario, result: result)
        #expect(!onTime.judge(.repair(device: "plc", strategy: .switchToBackupGateway, verified: nil, withinCycles: 5, after: nil)).passed,
                "applied on time, the same repair is 44 cycles late")
    }

    @Test func repairAndDeviceStateAreJudgedFromTheRecords() {
        let scenario = Scenario(name: "x", file: "x.yaml", configPath: "p.yaml", cycles: 100,
                                faults: [ScheduledFault(at: 10, target: .gateway("plc"), kind: .disconnect)], expectations: [])
        var result = ScenarioResult(name: "x", file: "x.yaml", status: .passed, cycles: 100, periodMilliseconds: 10, seed: 1)
        result.deviceIDs = ["plc"]
        result.repairs = [Scenarios.RepairRecord(cycle: 14, target: "plc", strategy: "switchToBackupGateway", verified: false),
                          Scenarios.RepairRecord(cycle: 30, target: "plc", strategy: "switchToBackupGateway", verified: true)]
        result.samples = [50, 99].map { c in
            TraceSample(cycle: c, sensors: [], outputs: [], groupValues: [], trippedInterlocks: [], inSafeState: false,
                        devicesOnBackup: [c > 60], devicePollIntervals: [c > 60 ? 200 : 100])
        }
        let judge = ScenarioJudge(scenario: scenario, result: result)
        #expect(judge.judge(.repair(device: "plc", strategy: .switchToBackupGateway, verified: nil, withinCycles: 5, after: nil)).passed)
        #expect(judge.judge(.repair(device: "plc", strategy: .switchToBackupGateway, verified: true, withinCycles: 25, after: nil)).passed)
        #expect(!judge.judge(.repair(device: "plc", strategy: .switchToBackupGateway, verified: true, withinCycles: 10, after: nil)).passed)
        #expect(!judge.judge(.repair(device: "plc", strategy: .switchToBackupGateway, verified: false, withinCycles: nil, after: nil)).passed)
        #expect(!judge.judge(.repair(device: "plc", strategy: .slowPolling, verified: nil, withinCycles: nil, after: nil)).passed)
        #expect(judge.judge(.deviceState(device: "plc", backup: true, minPollIntervalMilliseconds: 200, atCycle: nil)).passed)
        #expect(judge.judge(.deviceState(device: "plc", backup: false, minPollIntervalMilliseconds: nil, atCycle: 40)).passed)
        #expect(!judge.judge(.deviceState(device: "plc", backup: true, minPollIntervalMilliseconds: nil, atCycle: 40)).passed)
        #expect(!judge.judge(.deviceState(device: "plc", backup: nil, minPollIntervalMilliseconds: 300, atCycle: nil)).passed)
    }
}
