import Testing
import VigilCore
@testable import Monitor

private let second: UInt64 = 1_000_000_000

/// Two devices: device 0 carries sensors 0..<50, device 1 carries sensors 50..<60.
/// Sensors 50 and 51 form redundancy group 0.
private func topology() -> AlarmTopology {
    var devices = [Int32](repeating: 0, count: 50) + [Int32](repeating: 1, count: 10)
    devices.append(-1) // sensor 60: a GPIO line
    var groups = [Int32](repeating: -1, count: 61)
    groups[50] = 0
    groups[51] = 0
    return AlarmTopology(sensorDevice: devices, sensorGroup: groups)
}

private func escalation(_ kind: FindingKind, subject: Int32, cause: RootCause, severity: DiagnosisSeverity = .major,
                        reason: EscalationReason? = .repairFailed, cycle: UInt64 = 0) -> AlarmEscalation {
    let f = Finding(kind: kind, subject: subject, statistic: 1, threshold: 0.5, cycle: cycle)
    let decision = InterventionPolicy.defaults.lookup(cause: cause, kind: kind, severity: severity, reason: reason)
    return AlarmEscalation(finding: f, cause: cause, severity: severity, reason: reason, decision: decision)
}

private func commandError(_ body: () throws(AlarmCommandError) -> Void) -> AlarmCommandError? {
    do { try body(); return nil } catch { return error }
}

@Suite struct AlarmManagerTests {
    @Test func fiftySensorFindingsFromOneDeadDeviceYieldExactlyOneAlarm() {
        var m = AlarmManager(topology: topology())
        _ = m.raise(escalation(.deviceDisconnected, subject: 0, cause: .deviceFault), nowNanoseconds: 1 * second)
        for s in Int32(0)..<50 {
            _ = m.raise(escalation(.dropout, subject: s, cause: .deviceFault), nowNanoseconds: 1 * second + UInt64(s))
        }
        let alarms = m.snapshot()
        #expect(alarms.count == 1)
        #expect(alarms.first?.key == AlarmKey(scope: .device, index: 0))
        #expect(alarms.first?.occurrences == 51)
        #expect(m.raisedCount == 1)
    }

    @Test func deviceAlarmAbsorbsSensorAlarmsRaisedBeforeTheDiagnosisSettled() {
        var m = AlarmManager(topology: topology())
        // The monitor first blames three sensors, then sees the device is gone.
        for s in Int32(0)..<3 {
            if case .raised = m.raise(escalation(.stuck, subject: s, cause: .sensorFault, reason: .noHealthySource),
                                      nowNanoseconds: second) {} else { Issue.record("expected a sensor alarm") }
        }
        #expect(m.activeCount == 3)
        _ = m.raise(escalation(.deviceTimeouts, subject: 0, cause: .deviceFault), nowNanoseconds: 2 * second)
        // Later sensor findings of that device are suppressed onto the device alarm.
        let later = m.raise(escalation(.stuck, subject: 7, cause: .sensorFault, reason: .noHealthySource), nowNanoseconds: 3 * second)
        guard case .suppressed = later else { Issue.record("expected suppression, got \(later)"); return }
        let alarms = m.snapshot()
        #expect(alarms.count == 1)
        #expect(alarms[0].absorbedAlarms == 3)
        #expect(alarms[0].occurrences == 5)
        #expect(alarms[0].firstRaisedNanoseconds == second)
    }

    @Test func otherDevicesSensorsStillGetTheirOwnAlarm() {
        var m = AlarmManager(topology: topology())
        _ = m.raise(escalation(.deviceDisconnected, subject: 0, cause: .deviceFault), nowNanoseconds: second)
        _ = m.raise(escalation(.drift, subject: 55, cause: .sensorFault), nowNanoseconds: second)
        #expect(m.activeCount == 2)
    }

    @Test func noHealthySourceIsOneAlarmPerRedundancyGroup() {
        var m = AlarmManager(topology: topology())
        _ = m.raise(escalation(.stuck, subject: 50, cause: .sensorFault, reason: .noHealthySource), nowNanoseconds: second)
        _ = m.raise(escalation(.outOfRange, subject: 51, cause: .sensorFault, reason: .noHealthySource), nowNanoseconds: second)
        let alarms = m.snapshot()
        #expect(alarms.count == 1)
        #expect(alarms.first?.key == AlarmKey(scope: .group, index: 0))
        #expect(alarms.first?.occurrences == 2)
    }

    @Test func automaticRepairsAreNotAlarms() {
        var m = AlarmManager(topology: topology())
        let e = escalation(.noise, subject: 3, cause: .sensorFault, severity: .minor, reason: nil)
        #expect(e.decision == .automaticRepair)
        #expect(m.raise(e, nowNanoseconds: second) == .notAnAlarm)
        #expect(m.snapshot().isEmpty)
    }

    @Test func acknowledgedAlarmClearsOnReturnToNormal() throws {
        var m = AlarmManager(topology: topology())
        let e = escalation(.drift, subject: 3, cause: .sensorFault)
        guard case .raised(let id) = m.raise(e, nowNanoseconds: second) else { Issue.record("no alarm"); return }
        #expect(m.alarm(id: id)?.state == .unacknowledged)
        try m.acknowledge(id: id, nowNanoseconds: 2 * second)
        #expect(m.alarm(id: id)?.state == .acknowledged)
        let changed = m.returnToNormal(e, nowNanoseconds: 3 * second)
        #expect(changed)
        #expect(m.alarm(id: id)?.state == .cleared)
        #expect(m.snapshot().isEmpty)
        #expect(m.snapshot(includeCleared: true).count == 1)
    }

    @Test func returnToNormalWhileUnacknowledgedKeepsTheAlarmUntilAcknowledged() throws {
        var m = AlarmManager(topology: topology())
        let e = escalation(.drift, subject: 3, cause: .sensorFault)
        guard case .raised(let id) = m.raise(e, nowNanoseconds: second) else { Issue.record("no alarm"); return }
        m.returnToNormal(e, nowNanoseconds: 2 * second)
        m.tick(nowNanoseconds: 1_000 * second)
        #expect(m.alarm(id: id)?.state == .returnedUnacknowledged)
        #expect(m.snapshot().count == 1)
        try m.acknowledge(id: id, nowNanoseconds: 1_001 * second)
        #expect(m.alarm(id: id)?.state == .cleared)
    }

    @Test func clearedAlarmIsFreedAfterTheGroupingWindow() throws {
        var m = AlarmManager(topology: topology(), configuration: AlarmConfiguration(groupingWindowNanoseconds: 10 * second))
        let e = escalation(.drift, subject: 3, cause: .sensorFault)
        guard case .raised(let id) = m.raise(e, nowNanoseconds: second) else { return }
        try m.acknowledge(id: id, nowNanoseconds: second)
        m.returnToNormal(e, nowNanoseconds: 2 * second)
        m.tick(nowNanoseconds: 5 * second)
        #expect(m.alarm(id: id) != nil)
        m.tick(nowNanoseconds: 13 * second)
        #expect(m.alarm(id: id) == nil)
        guard case .raised(let second2) = m.raise(e, nowNanoseconds: 14 * second) else { Issue.record("expected new alarm"); return }
        #expect(second2 != id)
    }

    @Test func chatteringWithinTheWindowReopensTheSameAlarm() throws {
        var m = AlarmManager(topology: topology())
        let e = escalation(.spike, subject: 4, cause: .sensorFault, reason: .repairFailed)
        var ids = Set<UInt64>()
        for k in UInt64(0)..<20 {
            switch m.raise(e, nowNanoseconds: k * second) {
            case .raised(let id), .merged(let id): ids.insert(id)
            default: Issue.record("unexpected outcome")
            }
            if let id = ids.first { try? m.acknowledge(id: id, nowNanoseconds: k * second) }
            m.returnToNormal(e, nowNanoseconds: k * second + 1)
        }
        #expect(ids.count == 1)
        #expect(m.alarm(id: ids.first!)?.occurrences == 20)
    }

    @Test func acknowledgedAlarmReannunciatesWhenSeverityRises() throws {
        var m = AlarmManager(topology: topology())
        guard case .raised(let id) = m.raise(escalation(.drift, subject: 3, cause: .sensorFault), nowNanoseconds: second) else { return }
        try m.acknowledge(id: id, nowNanoseconds: second)
        _ = m.raise(escalation(.drift, subject: 3, cause: .sensorFault), nowNanoseconds: 2 * second)
        #expect(m.alarm(id: id)?.state == .acknowledged)
        _ = m.raise(escalation(.drift, subject: 3, cause: .sensorFault, severity: .safety), nowNanoseconds: 3 * second)
        #expect(m.alarm(id: id)?.state == .unacknowledged)
        #expect(m.alarm(id: id)?.decision == .operatorInterventionAndSafeOutputs)
    }

    @Test func shelvedAlarmIsHiddenAndUnshelvesAtExpiry() throws {
        var m = AlarmManager(topology: topology())
        guard case .raised(let id) = m.raise(escalation(.drift, subject: 3, cause: .sensorFault), nowNanoseconds: second) else { return }
        try m.shelve(id: id, durationNanoseconds: 60 * second, nowNanoseconds: 2 * second)
        #expect(m.annunciatedCount == 0)
        #expect(m.snapshot(includeShelved: false).isEmpty)
        _ = m.raise(escalation(.drift, subject: 3, cause: .sensorFault), nowNanoseconds: 10 * second)
        #expect(m.alarm(id: id)?.isShelved == true)
        #expect(m.alarm(id: id)?.occurrences == 2)
        m.tick(nowNanoseconds: 61 * second)
        #expect(m.alarm(id: id)?.isShelved == true)
        m.tick(nowNanoseconds: 62 * second)
        #expect(m.alarm(id: id)?.isShelved == false)
        #expect(m.annunciatedCount == 1)
        #expect(m.shelveExpiredCount == 1)
    }

    @Test func operatorCanUnshelveEarly() throws {
        var m = AlarmManager(topology: topology())
        guard case .raised(let id) = m.raise(escalation(.drift, subject: 3, cause: .sensorFault), nowNanoseconds: second) else { return }
        try m.shelve(id: id, durationNanoseconds: 60 * second, nowNanoseconds: second)
        try m.unshelve(id: id, nowNanoseconds: 2 * second)
        #expect(m.annunciatedCount == 1)
    }

    @Test func safetyAlarmsCannotBeShelvedAndSafetyEscalationUnshelves() throws {
        var m = AlarmManager(topology: topology())
        guard case .raised(let s) = m.raise(escalation(.outOfRange, subject: 1, cause: .sensorFault, severity: .safety, reason: .safetyLimit),
                                            nowNanoseconds: second) else { return }
        #expect(commandError { () throws(AlarmCommandError) in try m.shelve(id: s, durationNanoseconds: second, nowNanoseconds: second) }
                == .safetyAlarmNotShelvable(id: s))
        guard case .raised(let id) = m.raise(escalation(.drift, subject: 3, cause: .sensorFault), nowNanoseconds: second) else { return }
        try m.shelve(id: id, durationNanoseconds: 600 * second, nowNanoseconds: second)
        _ = m.raise(escalation(.drift, subject: 3, cause: .sensorFault, severity: .safety), nowNanoseconds: 2 * second)
        #expect(m.alarm(id: id)?.isShelved == false)
    }

    @Test func operatorCommandsOnUnknownAlarmsAndOverlongShelvesAreRefused() {
        var m = AlarmManager(topology: topology())
        #expect(commandError { () throws(AlarmCommandError) in try m.acknowledge(id: 99, nowNanoseconds: 0) } == .unknownAlarm(id: 99))
        guard case .raised(let id) = m.raise(escalation(.drift, subject: 3, cause: .sensorFault), nowNanoseconds: second) else { return }
        let e = commandError { () throws(AlarmCommandError) in try m.shelve(id: id, durationNanoseconds: 9 * 3_600 * second, nowNanoseconds: second) }
        guard case .shelveDurationTooLong = e else { Issue.record("expected refusal, got \(String(describing: e))"); return }
    }

    @Test func overflowIsCountedWhenEverySlotHoldsALiveAlarm() {
        var m = AlarmManager(topology: topology(), configuration: AlarmConfiguration(capacity: 4))
        for s in Int32(0)..<6 {
            _ = m.raise(escalation(.drift, subject: 50 + s, cause: .sensorFault), nowNanoseconds: second)
        }
        #expect(m.activeCount == 4)
        #expect(m.overflowCount == 2)
    }

    @Test func clearedSlotIsReusedBeforeOverflowing() throws {
        var m = AlarmManager(topology: topology(), configuration: AlarmConfiguration(capacity: 1))
        let e = escalation(.drift, subject: 3, cause: .sensorFault)
        guard case .raised(let id) = m.raise(e, nowNanoseconds: second) else { return }
        try m.acknowledge(id: id, nowNanoseconds: second)
        m.returnToNormal(e, nowNanoseconds: second)
        guard case .raised = m.raise(escalation(.drift, subject: 4, cause: .sensorFault), nowNanoseconds: 2 * second) else {
            Issue.record("expected the cleared slot to be reused"); return
        }
        #expect(m.overflowCount == 0)
    }

    @Test func snapshotListsSafetyFirstThenUnacknowledged() throws {
        var m = AlarmManager(topology: topology())
        guard case .raised(let a) = m.raise(escalation(.drift, subject: 3, cause: .sensorFault), nowNanoseconds: 1) else { return }
        guard case .raised(let b) = m.raise(escalation(.drift, subject: 4, cause: .sensorFault), nowNanoseconds: 2) else { return }
        guard case .raised(let c) = m.raise(escalation(.outOfRange, subject: 5, cause: .sensorFault, severity: .safety), nowNanoseconds: 3) else { return }
        try m.acknowledge(id: a, nowNanoseconds: 4)
        #expect(m.snapshot().map(\.id) == [c, b, a])
    }
}

/// What the cycle publishes for the console: every change moves the revision, the copy holds every
/// held alarm and blanks the rest, and a group-level escalation is keyed by its group.
@Suite struct AlarmPublishingTests {
    @Test func everyChangeMovesTheRevisionAndTheCopyHoldsTheAlarms() throws {
        var m = AlarmManager(topology: topology())
        var r = m.revision
        func moved() -> Bool { defer { r = m.revision }; return m.revision != r }
        guard case .raised(let id) = m.raise(escalation(.stuck, subject: 60, cause: .sensorFault), nowNanoseconds: second) else {
            Issue.record("not raised"); return
        }
        #expect(moved())
        m.tick(nowNanoseconds: 2 * second)
        #expect(!moved(), "a tick that changes nothing leaves the revision")
        try m.acknowledge(id: id, nowNanoseconds: 3 * second)
        #expect(moved())
        try m.acknowledge(id: id, nowNanoseconds: 4 * second)
        #expect(!moved(), "acknowledging twice changes nothing")
        try m.shelve(id: id, durationNanoseconds: second, nowNanoseconds: 5 * second)
        #expect(moved())
        m.tick(nowNanoseconds: 7 * second)
        #expect(moved(), "the shelve expired")

        let buffer = UnsafeMutableBufferPointer<Alarm>.allocate(capacity: 4)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: m.blankAlarm)
        buffer[3].id = 99 // stale content from an earlier copy
        #expect(m.copyAlarms(into: buffer) == 1)
        #expect(buffer[0].id == id && buffer[0].state == .acknowledged)
        #expect(buffer[1...].allSatisfy { $0.id == 0 })
    }

    @Test func groupLevelEscalationIsKeyedByItsGroupNotBySensorIndex() {
        var m = AlarmManager(topology: topology())
        // Group 0's "no healthy source" arrives with subject 1 (the group's index): it must not be
        // taken for sensor 1 (device 0's) and folded into a device alarm.
        var e = escalation(.disagreement, subject: 1, cause: .sensorFault, reason: .noHealthySource)
        e.group = 0
        _ = m.raise(e, nowNanoseconds: second)
        #expect(m.snapshot().first?.key == AlarmKey(scope: .group, index: 0))
    }
}
