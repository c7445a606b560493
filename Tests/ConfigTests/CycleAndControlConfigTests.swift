import Config
import Foundation
import Testing
import VigilCore

/// The `cycle:` block and `controls:` decode to `CycleConfig` and `ControlConfig`.
@Suite struct CycleAndControlConfigTests {
    static let plantBody = """
        devices:
          - id: plc
            transport: tcp
            host: 127.0.0.1
            port: 502
            points:
              - { id: p, function: input, address: 0, type: float32 }
              - { id: run, function: coil, address: 0 }
              - { id: speed, function: holding, address: 10, type: uint16, scale: 0.1 }
        sensors:
          - { id: PT-1, device: plc, point: p, range: [0, 16] }
        outputs:
          - { id: run, device: plc, point: run, safe: 0 }
          - { id: speed, device: plc, point: speed, safe: 0 }

        """

    /// Writes `yaml` to a temporary file and loads it.
    func load(_ yaml: String) throws -> PlantConfig {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try ConfigLoader.loadPlant(path: path).plant
    }

    @Test func demoRunsAtTenMillisecondsWithAPIDAndAnOnOffLoop() throws {
        let plant = try ConfigLoader.loadPlant(path: FixturePaths.demoConfig).plant
        #expect(plant.cycle.periodMicroseconds == 10_000)
        #expect(plant.cycle.realtime.lockMemory)
        #expect(plant.controls.map(\.id) == ["discharge-pressure-pid", "pump2-assist"])
        let pid = try #require(plant.controls.first)
        #expect(pid.input == "discharge-pressure" && pid.output == "pump1-speed" && pid.mode == .auto)
        #expect(pid.law == .pid(PIDLaw(setpoint: 6.0, kp: 8, ki: 2, kd: 0, outputMin: 0, outputMax: 100, action: .reverse)))
        #expect(plant.controls[1].law == .onOff(OnOffLaw(onAt: 5.6, offAt: 6.4)))
    }

    @Test func missingCycleBlockKeepsTheDefaults() throws {
        let plant = try load("name: x\n" + Self.plantBody)
        #expect(plant.cycle == CycleConfig())
        #expect(plant.controls.isEmpty)
    }

    @Test func fractionalPeriodAndRealtimeSettingsDecode() throws {
        let plant = try load("""
            name: x
            cycle:
              period_ms: 2.5
              overrun_storm_limit: 3
              watchdog_periods: 4
              realtime: { sched_fifo_priority: 80, lock_memory: true, cpu: 3, timer_slack_ns: 1000, spin_us: 50 }

            """ + Self.plantBody)
        #expect(plant.cycle == CycleConfig(periodMicroseconds: 2500, overrunStormLimit: 3, watchdogPeriods: 4,
                                           realtime: RealtimeConfig(schedFIFOPriority: 80, lockMemory: true, cpu: 3,
                                                                    timerSlackNanoseconds: 1000, spinMicroseconds: 50)))
    }

    @Test func controlDefaultsAreAutoModeAndPIDDefaults() throws {
        let plant = try load("name: x\n" + Self.plantBody + """
            controls:
              - { id: a, input: PT-1, output: speed, pid: { setpoint: 6, kp: 2 } }
              - { id: b, input: PT-1, output: run, mode: manual, on_off: { on_at: 7, off_at: 5 } }

            """)
        #expect(plant.controls == [
            ControlConfig(id: "a", input: "PT-1", output: "speed", law: .pid(PIDLaw(setpoint: 6, kp: 2))),
            ControlConfig(id: "b", input: "PT-1", output: "run", law: .onOff(OnOffLaw(onAt: 7, offAt: 5)), mode: .manual),
        ])
    }

    @Test func periodBelowOneMillisecondIsRefusedSayingWhy() {
        let diagnostics = ConfigChecker.check(path: FixturePaths.fixtures + "/broken/cycle-period.yaml")
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.kind == .outOfRange)
        #expect(diagnostics.first?.expected.contains("the cycle cannot run faster than 1 ms") == true)
    }

    @Test func outputWithoutSafeValueIsRefused() {
        let diagnostics = ConfigChecker.check(path: FixturePaths.fixtures + "/broken/missing-keys.yaml")
        #expect(diagnostics.contains { $0.keyPath == "outputs[0].safe" && $0.kind == .missingKey && $0.found == "nothing" })
    }

    /// An interlock's bad-input delay decodes in seconds; on a limit that is not an interlock it is
    /// refused (other limits keep their condition on a bad input), and out of range it is refused, both by place.
    @Test func anInterlocksBadInputDelayDecodesAndIsRefusedWhereItMeansNothing() throws {
        let plant = try load("name: x\n" + Self.plantBody + """
            limits:
              - { id: hh, subject: PT-1, high: 10, severity: interlock, safe_outputs: [run], bad_input_delay_s: 1.5 }
              - { id: h, subject: PT-1, high: 8 }

            """)
        #expect(plant.limits.map(\.badInputDelaySeconds) == [1.5, 0])
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(UUID().uuidString).yaml").path
        try ("name: x\n" + Self.plantBody + """
            limits:
              - { id: h, subject: PT-1, high: 8, bad_input_delay_s: 1 }
              - { id: hh, subject: PT-1, high: 10, severity: interlock, safe_outputs: [run], bad_input_delay_s: 90 }

            """).write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let found = ConfigChecker.check(path: path).map(\.description)
        #expect(found.contains { $0.contains(":17:57:") && $0.contains("limits[0].bad_input_delay_s") && $0.contains("only with severity interlock") }, "\(found)")
        #expect(found.contains { $0.contains(":18:101:") && $0.contains("limits[1].bad_input_delay_s: found \"90\"") && $0.contains("0...60") }, "\(found)")
    }
}
