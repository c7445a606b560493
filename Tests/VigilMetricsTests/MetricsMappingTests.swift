import Foundation
import Testing
import Kernel
import VigilCore
@testable import Fieldbus
@testable import Monitor
@testable import Runtime
@testable import VigilMetrics

/// The mapping from a constructed sample to the metric families, without HTTP.
@Suite struct MetricsMappingTests {
    static let layout = MetricsLayout(deviceIDs: ["plc", "rtu"], sensorIDs: ["PT-1", "PT-2", "TT-1"], groupIDs: ["pressure"],
                                      groupMembers: [["PT-1", "PT-2"]], interlockIDs: ["high-high", "low-low"], periodSeconds: 0.01)

    static func snapshot(cycles: UInt64 = 100, trust: Double? = 0.9) -> ControllerSnapshot {
        func reading(_ q: Quality) -> Reading { Reading(value: 1, timestampNanoseconds: 1, latencyNanoseconds: 1, quality: q) }
        return ControllerSnapshot(
            sensorIDs: ["PT-1", "PT-2", "TT-1"], sensors: [reading(.good), reading(.bad(.timeout)), reading(.good)],
            groupIDs: ["pressure"], groups: [reading(.good)], health: [.faulty, .healthy, .probation], activeSources: [1],
            outputIDs: [], outputs: [], cycle: cycles, safeStateReasons: [.interlock, .operatorRequest], trippedInterlocks: ["low-low"],
            timing: CycleTimingSummary(cycles: cycles, overruns: 2, overrunStorms: 1, latenessP50Microseconds: .nan, latenessP99Microseconds: .nan,
                                       latenessP999Microseconds: .nan, latenessMaxMicroseconds: .nan, durationP50Microseconds: .nan,
                                       durationP99Microseconds: .nan, durationMaxMicroseconds: .nan, samplesDropped: 0),
            watchdogStalls: 3, activeAlarms: 2, annunciatedAlarms: 1, trustScore: trust, journalDropped: 4,
            deviceIDs: ["plc", "rtu"], deviceOnBackup: [false, true], devicePollIntervalsMilliseconds: [100, 400], devicePathSwitches: [0, 1])
    }

    static func alarm(_ id: UInt64, _ state: AlarmState, _ severity: DiagnosisSeverity, shelved: Bool = false) -> Alarm {
        let finding = Finding(kind: .stuck, subject: 0, statistic: 1, threshold: 1, cycle: 1)
        return Alarm(id: id, key: AlarmKey(scope: .sensor, index: Int32(id)), cause: .sensorFault, reason: nil, decision: .automaticRepair,
                     severity: severity, state: state, shelvedUntilNanoseconds: shelved ? 99 : 0, firstRaisedNanoseconds: 1,
                     lastRaisedNanoseconds: 1, lastChangeNanoseconds: 1, occurrences: 1, absorbedAlarms: 0, firstFinding: finding, lastFinding: finding)
    }

    static func traffic() -> [DeviceTraffic] {
        var plc = DeviceTraffic()
        plc.requests = 10
        plc.countError(.timeout)
        plc.countError(.timeout)
        plc.countError(.decodeError)
        for rtt: UInt64 in [200_000, 300_000, 400_000, 3_000_000, 2_000_000_000] { plc.recordRoundTrip(rtt) }
        plc.lastAnswered = true
        var rtu = DeviceTraffic()
        rtu.requests = 4
        rtu.countError(.crcFraming)
        return [plc, rtu]
    }

    static func sample(cycles: UInt64 = 100, tally: EventTally? = nil, trust: Double? = 0.9) -> MetricsSample {
        var t = EventTally(groups: 1)
        t.count(.failover(group: 0, from: 0, to: 1, byOperator: false))
        t.count(.repair(.device(0), .slowPolling, .started))
        t.count(.repair(.device(0), .slowPolling, .verified))
        t.count(.repair(.group(0), .groupSafeAction, .failed))
        t.count(.alarm(AlarmChange(id: 7, key: AlarmKey(scope: .sensor, index: 0), state: .unacknowledged, severity: .major, shelved: false)))
        t.modelDeployed = 2
        return MetricsSample(snapshot: snapshot(cycles: cycles, trust: trust),
                             alarms: [alarm(1, .unacknowledged, .major), alarm(2, .acknowledged, .minor, shelved: true), alarm(3, .cleared, .safety),
                                      alarm(4, .returnedUnacknowledged, .safety)],
                             traffic: traffic(), tally: tally ?? t, modelVersion: 3, journalQueueDepth: 5, residentBytes: 12_345_678,
                             startTimeSeconds: 1_700_000_000)
    }

    static func render(_ exporter: MetricsExporter) -> ExpositionText {
        ExpositionText(String(decoding: exporter.render(), as: UTF8.self))
    }

    @Test func everyContractFamilyIsExposedWithItsTypeAndHelp() {
        let exporter = MetricsExporter(layout: Self.layout, build: BuildInfo(version: "1.2.3"))
        exporter.apply(Self.sample())
        exporter.recordCycle(latenessNanoseconds: 20_000, durationNanoseconds: 300_000)
        let text = Self.render(exporter)
        for (name, type) in contractFamilies {
            #expect(text.types[name] == type, "\(name)")
            #expect(!(text.helps[name] ?? "").isEmpty, "\(name) has a HELP line")
            let suffix = type == "histogram" ? "_count" : ""
            #expect(!text.all(name + suffix).isEmpty, "\(name) has samples")
        }
        #expect(Set(text.types.keys) == Set(contractFamilies.map(\.0)), "no family beyond the contract")
    }

    @Test func cycleAndSafetyFamiliesCarryTheSnapshot() {
        let exporter = MetricsExporter(layout: Self.layout, build: BuildInfo(version: "1.2.3", swiftVersion: "6.3"))
        exporter.apply(Self.sample())
        var text = Self.render(exporter)
        #expect(text.value("vigil_build_info", ["version": "1.2.3", "swift_version": "6.3"]) == 1)
        #expect(text.value("vigil_cycle_period_seconds") == 0.01)
        #expect(text.value("vigil_cycles_total") == 100)
        #expect(text.value("vigil_cycle_overruns_total") == 2)
        #expect(text.value("vigil_cycle_overrun_storms_total") == 1)
        #expect(text.value("vigil_watchdog_stalls_total") == 3)
        #expect(text.value("vigil_safe_state") == 1)
        #expect(text.all("vigil_safe_state_reasons").count == SafeStateReason.allCases.count)
        #expect(text.value("vigil_safe_state_reasons", ["reason": "interlock"]) == 1)
        #expect(text.value("vigil_safe_state_reasons", ["reason": "operator_request"]) == 1)
        #expect(text.value("vigil_safe_state_reasons", ["reason": "startup"]) == 0)
        #expect(text.value("vigil_interlocks_tripped") == 1)
        #expect(text.value("vigil_interlock_tripped", ["interlock": "low-low"]) == 1)
        #expect(text.value("vigil_interlock_tripped", ["interlock": "high-high"]) == 0)
        #expect(text.value("vigil_trust_score") == 0.9)
        #expect(text.value("vigil_model_version") == 3)
        #expect(text.value("vigil_journal_queue_depth") == 5)
        #expect(text.value("vigil_journal_dropped_total") == 4)
        #expect(text.value("process_resident_memory_bytes") == 12_345_678)
        #expect(text.value("process_start_time_seconds") == 1_700_000_000)

        // Counters follow the running totals.
        exporter.apply(Self.sample(cycles: 250))
        text = Self.render(exporter)
        #expect(text.value("vigil_cycles_total") == 250)
        #expect(text.value("vigil_cycle_overruns_total") == 2)
    }

    @Test func trustScoreIsAbsentBeforeAnyOutcome() {
        let exporter = MetricsExporter(layout: Self.layout, build: BuildInfo(version: "1"))
        exporter.apply(Self.sample(trust: nil))
        #expect(Self.render(exporter).all("vigil_trust_score").isEmpty)
        exporter.apply(Self.sample(trust: 0.5))
        #expect(Self.render(exporter).value("vigil_trust_score") == 0.5)
    }

    @Test func deviceFamiliesCarryTrafficPathAndPollInterval() {
        let exporter = MetricsExporter(layout: Self.layout, build: BuildInfo(version: "1"))
        exporter.apply(Self.sample())
        let text = Self.render(exporter)
        #expect(text.value("vigil_device_requests_total", ["device": "plc"]) == 10)
        #expect(text.value("vigil_device_requests_total", ["device": "rtu"]) == 4)
        #expect(text.all("vigil_device_errors_total", ["device": "plc"]).count == DeviceTraffic.ErrorClass.allCases.count)
        #expect(text.value("vigil_device_errors_total", ["device": "plc", "class": "timeout"]) == 2)
        #expect(text.value("vigil_device_errors_total", ["device": "plc", "class": "decode_error"]) == 1)
        #expect(text.value("vigil_device_errors_total", ["device": "rtu", "class": "crc_framing"]) == 1)
        #expect(text.value("vigil_device_errors_total", ["device": "rtu", "class": "unexpected_exception"]) == 0)
        #expect(text.value("vigil_device_up", ["device": "plc"]) == 1)
        #expect(text.value("vigil_device_up", ["device": "rtu"]) == 0)
        #expect(text.value("vigil_device_on_backup_path", ["device": "plc"]) == 0)
        #expect(text.value("vigil_device_on_backup_path", ["device": "rtu"]) == 1)
        #expect(text.value("vigil_device_poll_interval_seconds", ["device": "rtu"]) == 0.4)
        // Round trips: exact bucket counts and sum.
        #expect(text.value("vigil_device_round_trip_seconds_count", ["device": "plc"]) == 5)
        #expect(text.value("vigil_device_round_trip_seconds_bucket", ["device": "plc", "le": "0.00025"]) == 1)
        #expect(text.value("vigil_device_round_trip_seconds_bucket", ["device": "plc", "le": "0.0005"]) == 3)
        #expect(text.value("vigil_device_round_trip_seconds_bucket", ["device": "plc", "le": "0.005"]) == 4)
        #expect(text.value("vigil_device_round_trip_seconds_bucket", ["device": "plc", "le": "1.0"]) == 4)
        #expect(text.value("vigil_device_round_trip_seconds_bucket", ["device": "plc", "le": "+Inf"]) == 5)
        let sum = text.value("vigil_device_round_trip_seconds_sum", ["device": "plc"])
        #expect(sum != nil && abs(sum! - 2.0039) < 1e-9)
    }

    @Test func sensorGroupAlarmAndRepairFamilies() {
        let exporter = MetricsExporter(layout: Self.layout, build: BuildInfo(version: "1"))
        exporter.apply(Self.sample())
        let text = Self.render(exporter)
        for sensor in Self.layout.sensorIDs {
            let states = text.all("vigil_sensor_health", ["sensor": sensor])
            #expect(states.count == HealthState.allCases.count)
            #expect(states.reduce(0) { $0 + $1.value } == 1, "a state set sums to 1")
        }
        #expect(text.value("vigil_sensor_health", ["sensor": "PT-1", "state": "faulty"]) == 1)
        #expect(text.value("vigil_sensor_health", ["sensor": "TT-1", "state": "probation"]) == 1)
        #expect(text.value("vigil_sensor_quality_good", ["sensor": "PT-1"]) == 1)
        #expect(text.value("vigil_sensor_quality_good", ["sensor": "PT-2"]) == 0)
        #expect(text.value("vigil_group_active_source", ["group": "pressure", "sensor": "PT-2"]) == 1)
        #expect(text.value("vigil_group_active_source", ["group": "pressure", "sensor": "PT-1"]) == 0)
        #expect(text.value("vigil_group_failovers_total", ["group": "pressure"]) == 1)
        #expect(text.all("vigil_repairs_total").count == RepairStrategy.allCases.count * 2)
        #expect(text.value("vigil_repairs_total", ["strategy": "slow_polling", "outcome": "verified"]) == 1)
        #expect(text.value("vigil_repairs_total", ["strategy": "group_safe_action", "outcome": "failed"]) == 1)
        #expect(text.value("vigil_repairs_total", ["strategy": "reconnect", "outcome": "verified"]) == 0)
        #expect(text.all("vigil_alarms").count == 4 * DiagnosisSeverity.allCases.count)
        #expect(text.value("vigil_alarms", ["state": "unacknowledged", "priority": "major"]) == 1)
        #expect(text.value("vigil_alarms", ["state": "shelved", "priority": "minor"]) == 1)
        #expect(text.value("vigil_alarms", ["state": "acknowledged", "priority": "minor"]) == 0, "a shelved alarm counts as shelved only")
        #expect(text.value("vigil_alarms", ["state": "returned_unacknowledged", "priority": "safety"]) == 1)
        #expect(text.all("vigil_alarms").reduce(0) { $0 + $1.value } == 3, "a cleared alarm is not counted")
        #expect(text.value("vigil_alarms_raised_total", ["priority": "major"]) == 1)
        #expect(text.value("vigil_model_updates_total", ["outcome": "deployed"]) == 2)
        #expect(text.value("vigil_model_updates_total", ["outcome": "rolled_back"]) == 0)
    }

    @Test func cycleHistogramsTakeTheDrainedSamples() {
        let exporter = MetricsExporter(layout: Self.layout, build: BuildInfo(version: "1"))
        exporter.recordCycle(latenessNanoseconds: 20_000, durationNanoseconds: 300_000)
        exporter.recordCycle(latenessNanoseconds: 2_000_000, durationNanoseconds: 400_000)
        let text = Self.render(exporter)
        #expect(text.value("vigil_cycle_lateness_seconds_count") == 2)
        #expect(text.value("vigil_cycle_lateness_seconds_bucket", ["le": "0.000025"]) == 1)
        #expect(text.value("vigil_cycle_duration_seconds_bucket", ["le": "0.0005"]) == 2)
        #expect(abs((text.value("vigil_cycle_duration_seconds_sum") ?? 0) - 0.0007) < 1e-12)
    }

    @Test func promtoolAcceptsTheRenderedText() throws {
        let exporter = MetricsExporter(layout: Self.layout, build: BuildInfo(version: "1"))
        exporter.apply(Self.sample())
        exporter.recordCycle(latenessNanoseconds: 20_000, durationNanoseconds: 300_000)
        let (status, output) = try promtoolCheck(String(decoding: exporter.render(), as: UTF8.self))
        #expect(status == 0, "\(output)")
        #expect(output.isEmpty, "promtool lint: \(output)")
    }
}

@Suite struct EventTallyTests {
    static let key = AlarmKey(scope: .sensor, index: 0)

    @Test func anAlarmIsRaisedOnEnteringUnacknowledgedOnly() {
        var t = EventTally(groups: 0)
        t.count(.alarm(AlarmChange(id: 1, key: Self.key, state: .unacknowledged, severity: .minor, shelved: false)))
        t.count(.alarm(AlarmChange(id: 1, key: Self.key, state: .unacknowledged, severity: .minor, shelved: true)))
        #expect(t.alarmsRaised(.minor) == 1, "shelving is not a raise")
        t.count(.alarm(AlarmChange(id: 1, key: Self.key, state: .acknowledged, severity: .minor, shelved: false)))
        t.count(.alarm(AlarmChange(id: 1, key: Self.key, state: .unacknowledged, severity: .minor, shelved: false)))
        #expect(t.alarmsRaised(.minor) == 2, "raised again after an acknowledgement")
        t.count(.alarm(AlarmChange(id: 1, key: Self.key, state: .cleared, severity: .minor, shelved: false, removed: true)))
        t.count(.alarm(AlarmChange(id: 1, key: Self.key, state: .unacknowledged, severity: .safety, shelved: false)))
        #expect(t.alarmsRaised(.safety) == 1)
    }

    @Test func anAlarmKnownAtStartIsNotCountedAgain() {
        var t = EventTally(groups: 0, knownAlarms: [(id: 5, state: .unacknowledged)])
        t.count(.alarm(AlarmChange(id: 5, key: Self.key, state: .unacknowledged, severity: .major, shelved: true)))
        #expect(t.alarmsRaised(.major) == 0)
    }

    @Test func repairsCountFinishedOnesAndFailoversTheirGroup() {
        var t = EventTally(groups: 2)
        t.count(.repair(.sensor(0), .holdLastGood, .started))
        #expect(t.repairs(.holdLastGood, verified: true) == 0 && t.repairs(.holdLastGood, verified: false) == 0)
        t.count(.repair(.sensor(0), .holdLastGood, .failed))
        t.count(.failover(group: 1, from: 0, to: 2, byOperator: true))
        t.count(.failover(group: 9, from: 0, to: 2, byOperator: false))
        #expect(t.repairs(.holdLastGood, verified: false) == 1)
        #expect(t.failovers == [0, 1])
    }
}

@Suite struct DeviceTrafficTests {
    @Test func roundTripsLandInTheirInclusiveBucket() {
        var t = DeviceTraffic()
        for (b, bound) in DeviceTraffic.roundTripBoundsNanoseconds.enumerated() {
            #expect(DeviceTraffic.bound(b) == bound)
            t.recordRoundTrip(bound)
        }
        t.recordRoundTrip(DeviceTraffic.roundTripBoundsNanoseconds.last! + 1)
        for b in 0..<DeviceTraffic.roundTripBucketCount { #expect(t.roundTripCounts[b] == 1) }
    }
}
