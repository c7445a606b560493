import Config
import Foundation
import Monitor
import Testing
import VigilCore

/// The plant file's `monitor:` section reaches the detectors and the policy: loaded through the
/// real config loader, given to the monitor (knobs) and turned into an `InterventionPolicy`, run on `MonitorRig`'s data.
@Suite struct MonitorSettingsTests {
    /// MonitorRig's plant as a file (same sensors, same order), plus a `monitor:` section.
    static func plantFile(monitor: String) -> String {
        """
        name: rig
        devices:
          - { id: dev-a, transport: tcp, host: 10.0.0.1, port: 502, poll_interval_ms: 10,
              points: [ { id: p, function: input, address: 0, type: float32 }, { id: t, function: input, address: 2, type: float32 } ] }
          - { id: dev-b, transport: tcp, host: 10.0.0.1, port: 503, poll_interval_ms: 10,
              points: [ { id: p, function: input, address: 0, type: float32 }, { id: t, function: input, address: 2, type: float32 } ] }
          - { id: dev-c, transport: tcp, host: 10.0.0.2, port: 502, poll_interval_ms: 10,
              points: [ { id: p, function: input, address: 0, type: float32 } ] }
        sensors:
          - { id: P-A, device: dev-a, point: p, range: [0, 16] }
          - { id: P-B, device: dev-b, point: p, range: [0, 16] }
          - { id: P-C, device: dev-c, point: p, range: [0, 16] }
          - { id: T-A, device: dev-a, point: t, range: [-20, 80] }
          - { id: T-B, device: dev-b, point: t, range: [-20, 80] }
        redundancy_groups:
          - { id: PT, primary: P-A, backups: [P-B, P-C] }
          - { id: TT, primary: T-A, backups: [T-B] }
        monitor:
        \(monitor)
        """
    }

    /// Loads the file and builds the rig the way the controller builds its monitor.
    static func rig(monitor: String) throws -> MonitorRig {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-monitor-\(UUID().uuidString).yaml").path
        try plantFile(monitor: monitor).write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let plant = try ConfigLoader.loadPlant(path: path).plant
        let m = try PlantMonitor(plant: plant, settings: plant.monitor, policy: InterventionPolicy(settings: plant.monitor))
        return MonitorRig(monitor: m)
    }

    @Test func defaultSettingsGiveTheDefaultPolicy() {
        #expect(InterventionPolicy(settings: MonitorSettings()) == .defaults)
    }

    @Test func everyMonitorNameHasAFileName() {
        #expect(RootCause.allCases.map(\.policyName) == MonitorSettings.Cause.allCases.map(\.rawValue))
        #expect(FindingKind.allCases.map(\.policyName) == MonitorSettings.FindingKind.allCases.map(\.rawValue))
        #expect(FindingCategory.allCases.map(\.configName) == MonitorSettings.FindingCategory.allCases.map(\.rawValue))
        #expect(DiagnosisSeverity.allCases.map(\.policyName) == MonitorSettings.Severity.allCases.map(\.rawValue))
        #expect(InterventionDecision.allCases.map(\.configName) == MonitorSettings.Decision.allCases.map(\.rawValue))
        #expect(EscalationReason.allCases.compactMap(\.settingsName) == MonitorSettings.Reason.allCases)
        #expect(EscalationReason.interventionPolicy.settingsName == nil)
    }

    @Test func largerStuckMinSamplesFromTheFileDelaysStuckDetection() throws {
        // Default: a frozen P-A fails over within 3 cycles (HardFaultTests). Here only P-A waits for 40.
        var rig = try Self.rig(monitor: "  sensors: { P-A: { stuck_min_samples: 40 } }")
        #expect(rig.monitor.settings.sensor("P-A").stuckMinSamples == 40)
        #expect(rig.monitor.settings.sensor("P-B").stuckMinSamples == 3)
        rig.warmUp()
        let frozen = rig.readings[R.pA].value
        let c0 = rig.cycle + 1
        rig.run(30) { r, _ in r[R.pA].value = frozen }
        #expect(rig.firstFailover(group: R.pressure, after: c0) == nil)
        rig.run(20) { r, _ in r[R.pA].value = frozen }
        let f = try #require(rig.firstFailover(group: R.pressure, after: c0))
        #expect(f.cycle >= c0 + 38 && f.cycle <= c0 + 42)
        #expect(rig.sensorDiagnosis(R.pA, after: c0)?.finding?.kind == .stuck)
    }

    @Test func aPolicyRowSendingStuckToTheOperatorEscalatesInsteadOfFailingOver() throws {
        var rig = try Self.rig(monitor: """
              policy:
                - { cause: sensor_fault, finding: stuck, decision: operator_intervention }
            """)
        rig.warmUp()
        let c0 = rig.cycle + 1
        rig.run(100) { r, _ in r[R.pA].value = 7.0 } // stuck 1 bar above the process
        let d = try #require(rig.sensorDiagnosis(R.pA, after: c0))
        #expect(d.finding?.kind == .stuck && d.cycle <= c0 + 10, "stuck diagnosed at +\(d.cycle - c0)")
        let escalations = rig.events(.escalation, after: c0)
        #expect(escalations.count == 1)
        let e = try #require(escalations.first)
        #expect(e.escalation == .interventionPolicy && e.sensor == Int32(R.pA) && e.group == Int32(R.pressure))
        #expect(e.cause == .sensorFault && e.finding?.kind == .stuck && e.cycle == d.cycle)
        #expect(rig.policyDecision(e) == .operatorIntervention)
        // No repair: no failover, no failover repair; the active source stays P-A …
        #expect(rig.events(.failover, after: c0).isEmpty)
        #expect(!rig.events(.repair, after: c0).contains { $0.strategy == .failoverToBackup })
        #expect(rig.monitor.repairRecord(.failoverToBackup).attempted == 0)
        #expect(rig.monitor.activeSource(group: R.pressure) == R.pA)
        // … but the stuck value never reaches control: the usable members carry the group.
        #expect(rig.monitor.healthState(sensor: R.pA) == .quarantined)
        #expect(rig.out[R.pressure].quality.isGood)
        #expect(abs(rig.out[R.pressure].value - rig.truePressure()) < 0.2)
        // Other kinds still follow the defaults: a dropout on T-A fails the pair over.
        let c1 = rig.cycle + 1
        rig.run(10) { r, _ in r[R.pA].value = 7.0; r[R.tA].quality = .bad(.timeout); r[R.tA].value = .nan }
        #expect(rig.firstFailover(group: R.temperature, after: c1) != nil)
    }

    @Test func aDevicePolicyRowEscalatesInsteadOfReconnecting() throws {
        var rig = try Self.rig(monitor: """
              policy:
                - { cause: device_fault, finding: "category:communication", decision: operator_intervention }
            """)
        rig.warmUp()
        let c0 = rig.cycle + 1
        rig.run(10) { r, _ in
            for i in [R.pA, R.tA] { r[i].quality = .bad(.disconnected); r[i].value = .nan }
        }
        #expect(rig.events(.diagnosis, after: c0).first?.cause == .deviceFault)
        #expect(!rig.events(.repair, after: c0).contains { $0.strategy == .reconnect })
        #expect(rig.events(.escalation, after: c0).contains { $0.escalation == .interventionPolicy && $0.device == 0 })
        // Sensors of the dead device are still out of use: both groups fail over (device-covered sensors).
        #expect(rig.firstFailover(group: R.pressure, after: c0) != nil)
    }

    @Test func shorterHoldFromTheFileReachesTheGroupsSafeActionSooner() throws {
        var rig = try Self.rig(monitor: "  groups: { hold_max_seconds: 0.05 }")
        #expect(rig.monitor.settings.groups.holdMaxNanoseconds == 50_000_000)
        rig.warmUp()
        let c0 = rig.cycle + 1
        rig.run(30) { r, _ in for i in [R.tA, R.tB] { r[i].quality = .bad(.timeout); r[i].value = .nan } }
        let hold = try #require(rig.events(.repair, after: c0).first { $0.strategy == .holdLastGood })
        let safe = try #require(rig.events(.repair, after: c0).first { $0.strategy == .groupSafeAction })
        #expect(safe.cycle - hold.cycle >= 4 && safe.cycle - hold.cycle <= 6) // 50 ms at 10 ms per cycle
        #expect(!rig.out[R.temperature].quality.isGood)
    }

    @Test func noSettingMovesTheSafetyFloor() {
        var s = MonitorSettings()
        s.policy = [.init(decision: .automaticRepair)] // a wildcard row: covers minor and major only
        s.reasons = [.init(reason: .safetyLimit, decision: .automaticRepair)] // the decoder refuses this; clamped here
        let p = InterventionPolicy(settings: s)
        for cause in RootCause.allCases {
            for kind in FindingKind.allCases {
                #expect(p.lookup(cause: cause, kind: kind, severity: .major) == .automaticRepair)
                #expect(p.lookup(cause: cause, kind: kind, severity: .safety) == .operatorInterventionAndSafeOutputs)
            }
        }
        #expect(p.decision(for: .safetyLimit) == .operatorInterventionAndSafeOutputs)
        #expect(throws: InterventionPolicyError.relaxesSafety(path: "p", found: "operator_intervention")) {
            try InterventionPolicy(entries: [InterventionPolicyEntry(severity: "safety", decision: "operator_intervention", path: "p")])
        }
    }

    @Test func tableMarksWhatTheFileChanged() {
        var s = MonitorSettings()
        s.policy = [.init(cause: .sensorFault, finding: .kind(.stuck), severity: .minor, decision: .operatorIntervention)]
        let lines = InterventionPolicy(settings: s).tableLines()
        let row = lines.first { $0.hasPrefix("sensor_fault") && $0.contains("  minor  ") }
        #expect(row?.contains("operator_intervention: stuck*") == true)
        #expect(lines.filter { $0.contains("*") && !$0.contains(": *") }.count == 1)
        #expect(lines.contains("reason safety_limit: operator_intervention_and_safe_outputs"))
        #expect(InterventionPolicy.defaults.tableLines().allSatisfy { !$0.contains("*") || $0.hasSuffix(": *") || $0.contains(": * |") })
    }
}

extension MonitorRig {
    /// What the runtime's alarm path decides for an escalation (ScanCycle does this lookup).
    func policyDecision(_ e: MonitorEvent) -> InterventionDecision {
        monitor.policy.lookup(cause: e.cause ?? .sensorFault, kind: e.finding?.kind ?? .disagreement, severity: e.severity ?? .major,
                              reason: e.escalation)
    }
}
