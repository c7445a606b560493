import Config
import Foundation
import Testing
import VigilCore

/// The `monitor:` section decodes to `MonitorSettings`: defaults when absent, every knob settable,
/// per-sensor overrides on top of `sensor_defaults`, policy rows and reasons in order.
@Suite struct MonitorConfigTests {
    static let plantBody = """
        name: x
        devices:
          - id: plc
            transport: tcp
            host: 127.0.0.1
            port: 502
            points:
              - { id: a, function: input, address: 0, type: float32 }
              - { id: b, function: input, address: 2, type: float32 }
        sensors:
          - { id: PT-1A, device: plc, point: a, range: [0, 16] }
          - { id: PT-1B, device: plc, point: b, range: [0, 16] }
        redundancy_groups:
          - { id: pressure, primary: PT-1A, backups: [PT-1B] }

        """

    func load(_ yaml: String) throws -> PlantConfig {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try ConfigLoader.loadPlant(path: path).plant
    }

    func diagnostics(_ yaml: String) throws -> [String] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return ConfigChecker.check(path: path).map { $0.description.replacingOccurrences(of: path, with: "F") }
    }

    @Test func absentSectionAndTheDemoKeepTheDefaults() throws {
        #expect(try load(Self.plantBody).monitor == MonitorSettings())
        #expect(try load(Self.plantBody + "monitor: {}\n").monitor == MonitorSettings())
        #expect(try ConfigLoader.loadPlant(path: FixturePaths.demoConfig).plant.monitor == MonitorSettings())
    }

    @Test func everyBlockDecodes() throws {
        let plant = try load(Self.plantBody + """
            monitor:
              sensor_defaults: { stuck_min_samples: 5, spike_window: 9, stuck_false_run_probability: 1e-6, drift_h: 30 }
              sensors:
                PT-1B: { stuck_min_samples: 12, disagreement_fraction_of_span: 0.05 }
              health: { confirm_samples: 30, confirm_samples_odd_one_out: 4, suspect_clear_samples: 10,
                        quarantine_clear_samples: 60, probation_samples: 250, no_backup_confirm_seconds: 5 }
              groups: { hold_max_seconds: 0.25, mid_value_select_min_members: 4 }
              repairs: { verify_seconds: 0.5, device_verify_seconds: 12.5 }
              devices: { timeout_count: 4, fault_samples: 3, timeout_ratio_for_slow_polling: 0.3, crc_ratio: 0.05,
                         exception_count: 2, latency_trend_sigmas: 4, latency_warmup_samples: 100 }
              max_events_per_cycle: 512
              policy:
                - { cause: sensor_fault, finding: stuck, decision: operator_intervention }
                - { finding: "category:latency", severity: minor, decision: operator_intervention }
                - { cause: "*", finding: "*", severity: safety, decision: operator_intervention_and_safe_outputs }
              reasons: { repair_failed: operator_intervention_and_safe_outputs, no_healthy_source: operator_intervention }

            """)
        var expected = MonitorSettings()
        expected.sensorDefaults.stuckMinSamples = 5
        expected.sensorDefaults.spikeWindow = 9
        expected.sensorDefaults.stuckFalseRunProbability = 1e-6
        expected.sensorDefaults.driftH = 30
        var b = expected.sensorDefaults // an override starts from the sensor defaults
        b.stuckMinSamples = 12
        b.disagreementFractionOfSpan = 0.05
        expected.sensorOverrides = ["PT-1B": b]
        expected.health = .init()
        expected.health.confirmSamples = 30
        expected.health.confirmSamplesOddOneOut = 4
        expected.health.suspectClearSamples = 10
        expected.health.quarantineClearSamples = 60
        expected.health.noBackupConfirmNanoseconds = 5_000_000_000
        expected.health.probationSamples = 250
        expected.groups.holdMaxNanoseconds = 250_000_000
        expected.groups.midValueSelectMinMembers = 4
        expected.repairs.verifyNanoseconds = 500_000_000
        expected.repairs.deviceVerifyNanoseconds = 12_500_000_000
        expected.devices.timeoutCount = 4
        expected.devices.faultSamples = 3
        expected.devices.timeoutRatioForSlowPolling = 0.3
        expected.devices.crcRatio = 0.05
        expected.devices.exceptionCount = 2
        expected.devices.latencyTrendSigmas = 4
        expected.devices.latencyWarmupSamples = 100
        expected.maxEventsPerCycle = 512
        expected.policy = [
            .init(cause: .sensorFault, finding: .kind(.stuck), decision: .operatorIntervention),
            .init(finding: .category(.latency), severity: .minor, decision: .operatorIntervention),
            .init(severity: .safety, decision: .operatorInterventionAndSafeOutputs),
        ]
        expected.reasons = [.init(reason: .repairFailed, decision: .operatorInterventionAndSafeOutputs),
                            .init(reason: .noHealthySource, decision: .operatorIntervention)]
        #expect(plant.monitor == expected)
    }

    @Test func brokenKnobsAreAllReportedWithFileKeyPathAndExpectation() throws {
        let found = try diagnostics(Self.plantBody + """
            monitor:
              sensor_defaults: { stuck_min_samples: -1, noise_ewma_weight: 1.0 }
              groups: { hold_max_seconds: -0.5 }

            """)
        #expect(found == [
            "F:16:41: monitor.sensor_defaults.stuck_min_samples: found \"-1\", expected an integer ≥ 2",
            "F:16:64: monitor.sensor_defaults.noise_ewma_weight: found \"1.0\", expected a weight in 0 < w < 1",
            "F:17:31: monitor.groups.hold_max_seconds: found \"-0.5\", expected a number of seconds in 0...3600",
        ])
    }

    @Test func aRowThatRelaxesSafetyIsRefusedWithTheReason() throws {
        let found = try diagnostics(Self.plantBody + """
            monitor:
              policy:
                - { severity: safety, decision: operator_intervention }
              reasons: { safety_limit: automatic_repair }

            """)
        #expect(found.count == 2)
        #expect(found[0].hasPrefix("F:17:37: monitor.policy[0].decision: found \"operator_intervention\" for severity safety, expected operator_intervention_and_safe_outputs: a safety-severity diagnosis"))
        #expect(found[1].hasPrefix("F:18:28: monitor.reasons.safety_limit: found \"automatic_repair\", expected operator_intervention_and_safe_outputs"))
        #expect(found.allSatisfy { $0.contains("no configuration relaxes that") })
    }

    @Test func anOverrideMustNameASensorNotAGroup() throws {
        let found = try diagnostics(Self.plantBody + """
            monitor:
              sensors: { pressure: { stuck_min_samples: 4 }, PT-1C: {} }

            """)
        #expect(found.count == 2)
        #expect(found[0].hasPrefix("F:16:14: monitor.sensors.pressure: found unknown sensor \"pressure\" (\"pressure\" is a redundancy group: tune its members), expected a sensor id of this plant: PT-1A, PT-1B"))
        #expect(found[1].hasPrefix("F:16:50: monitor.sensors.PT-1C: found unknown sensor \"PT-1C\""))
    }

    @Test func policyModelSectionTurnsAssistOnAndIsChecked() throws {
        let plant = try load(Self.plantBody + """
            monitor:
              policy_model: { assist: true, min_margin: 24, confirm_seconds: 0.1, max_suppression_samples: 600 }
            """)
        #expect(plant.monitor.policyModel.assist)
        #expect(plant.monitor.policyModel.minMargin == 24 && plant.monitor.policyModel.confirmNanoseconds == 100_000_000)
        #expect(plant.monitor.policyModel.maxSuppressionSamples == 600)
        #expect(try load(Self.plantBody).monitor.policyModel.assist == false, "advisory by default")
        let found = try diagnostics(Self.plantBody + """
            monitor:
              policy_model: { assist: sometimes, min_margin: 300 }
            """)
        #expect(found.contains { $0.contains("monitor.policy_model.assist") }, "\(found)")
        #expect(found.contains { $0.contains("monitor.policy_model.min_margin") && $0.contains("0...255") }, "\(found)")
    }
}
