import Testing
import VigilCore
import Monitor
@testable import Kernel

@Suite struct EventCodecTests {
    static let names = SubjectTable(limits: ["PT-HI"], controls: ["pid-1"], devices: ["plc"], sensors: ["PT-1", "PT-2"],
                                    outputs: ["valve"], groups: ["pressure"], sections: ["pump"])

    @Test func everyKindRoundTrips() {
        let codec = EventCodec(names: Self.names)
        let events: [ControllerEvent] = [
            .started(periodNanoseconds: 10_000_000), .stopped, .overrun(lateNanoseconds: 1_500_000), .overrunStorm(consecutive: 5),
            .watchdogStall,
            .firstRound(waitedNanoseconds: 60_000_000, unread: 0, firstUnread: -1),
            .firstRound(waitedNanoseconds: 1_300_000_000, unread: 2, firstUnread: 1),
            .findingRaised(.sensor(1), .stuck, statistic: 12, threshold: 10),
            .findingRaised(.device(0), .deviceTimeouts, statistic: 3, threshold: 3),
            .findingRaised(.section(0), .multivariateSPE, statistic: 9.5, threshold: 4.2),
            .findingCleared(.sensor(0), .drift), .findingCleared(.section(0), .multivariateT2),
            .diagnosis(.sensor(0), .sensorFault, evidence: .stuck, statistic: 12, severity: .major),
            .diagnosis(.group(0), .processExcursion, evidence: .rateOfChange, statistic: 2, severity: .minor),
            .diagnosis(.section(0), .processExcursion, evidence: .multivariateT2, statistic: 0.5, severity: .major),
            .diagnosis(.device(0), .busFault, evidence: .deviceTimeouts, statistic: 3, severity: .safety),
            .healthChanged(sensor: 1, from: .suspect, to: .faulty),
            .failover(group: 0, from: 0, to: 1, byOperator: false), .failover(group: 0, from: 1, to: 0, byOperator: true),
            .failback(group: 0, from: 1, to: 0),
            .repair(.device(0), .switchToBackupGateway, .started), .repair(.group(0), .holdLastGood, .verified),
            .repair(.sensor(1), .failoverToBackup, .failed),
            .escalation(.group(0), .noHealthySource), .escalation(.sensor(1), .interventionPolicy), .escalation(.device(0), .repairFailed),
            .modelVerdict(sensor: 0, diagnosis: 3, action: 2, logit: 77), .modelAssist(sensor: 1, .resolvedPair, rule: .disagreement, statistic: 2.5),
            .alarm(AlarmChange(id: 42, key: AlarmKey(scope: .group, index: 0), state: .unacknowledged, severity: .safety, shelved: false)),
            .alarm(AlarmChange(id: 43, key: AlarmKey(scope: .sensor, index: 1), state: .acknowledged, severity: .minor, shelved: true)),
            .alarm(AlarmChange(id: 44, key: AlarmKey(scope: .section, index: 0), state: .cleared, severity: .major, shelved: false, removed: true)),
            .interlockTripped(limit: 0, value: 9.1), .interlockCleared(limit: 0, value: 7), .limitCrossed(limit: 0, value: 8),
            .limitCleared(limit: 0, value: 6), .controlHolding(control: 0, value: 1), .controlResumed(control: 0, value: 2),
            .safeStateEntered(.interlock), .safeStateLeft(.startup), .safeOutputsForced(.group(0), outputs: 2),
            .commandApplied(.forceSource), .commandRefused(.resetSafeState, .interlockHolds),
        ]
        for e in events {
            let row = codec.encode(e)
            #expect(row.kindName == e.kind.journalName)
            #expect(row.severity == e.severity)
            #expect(codec.decode(row) == e, "\(e) → \(row)")
        }
    }

    @Test func unknownKindsAndSubjectsDoNotDecode() {
        let codec = EventCodec(names: Self.names)
        #expect(codec.decode(EventRow(kindName: "somethingNew", severity: .info, subject: nil)) == nil)
        #expect(codec.decode(EventRow(kindName: "healthChanged", severity: .info, subject: "PT-9", code: 3, value: 1)) == nil)
        #expect(codec.decode(EventRow(kindName: "detection", severity: .info, subject: "PT-1", code: 999)) == nil)
    }

    @Test func anIndexBeyondThePlantKeepsItsNumber() {
        let codec = EventCodec(names: Self.names)
        let e = ControllerEvent.healthChanged(sensor: 7, from: .healthy, to: .suspect)
        #expect(codec.encode(e).subject == "#7")
        #expect(codec.decode(codec.encode(e)) == e)
    }
}
