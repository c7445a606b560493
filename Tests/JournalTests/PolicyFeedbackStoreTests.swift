import Foundation
import Journal
import Kernel
import Monitor
import Testing
import VigilCore

/// The learner's records: what the model saw around an event, feedback stored with its samples in
/// one transaction, and every learner run.
@Suite struct PolicyFeedbackStoreTests {
    @Test func eventFeaturesRoundTripBitForBit() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        let samples: [[Float]] = [[0, -1.5, .greatestFiniteMagnitude, 1e-30], [3.25, -Float(0), 7, .leastNonzeroMagnitude]]
        let record = EventFeatures(eventID: 12, sensor: "PT-101A", monotonicNanoseconds: UInt64.max - 5, samples: samples,
                                   modelVersion: 3, diagnosis: "noise", action: "fail_over", margin: 4)
        try journal.recordEventFeatures([record])
        let back = try #require(try journal.eventFeatures(12))
        #expect(back == record)
        #expect(back.samples[1][1].sign == .minus, "−0 keeps its sign: the blob is the bit pattern")
        #expect(try journal.eventFeatures(13) == nil)
        // Recording again replaces (a later, fuller window of the same event).
        var wider = record
        wider.samples.append([1, 2, 3, 4])
        try journal.recordEventFeatures([wider])
        #expect(try journal.eventFeatures(12)?.samples.count == 3)
    }

    @Test func feedbackIsStoredWithItsSamplesInOneTransaction() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        let feedback = OperatorFeedback(wallNanoseconds: 5, operatorName: "anna", subject: "TT-310", eventID: 40, verdict: .falseAlarm)
        let samples = [FeedbackSample(features: [1, 2], label: "healthy", bucket: .failure),
                       FeedbackSample(features: [3, 4], label: "healthy", action: "escalate", reward: -1, bucket: .edgeCase)]
        let id = try journal.recordFeedback(feedback, samples: samples)
        let stored = try journal.feedbackSamples()
        #expect(stored.map(\.feedbackID) == [id, id])
        #expect(stored.map(\.sample) == samples)
        #expect(try journal.feedback().map(\.value) == [feedback])
    }

    @Test func learnerRunsAreRecordedNewestFirst() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        let a = ModelUpdateRecord(wallNanoseconds: 1, baseVersion: 1, lastFeedbackID: 3, outcome: .accepted, newVersion: 2,
                                  reportJSON: "{\"golden_after\":0.93}", durationMilliseconds: 812)
        let b = ModelUpdateRecord(wallNanoseconds: 2, baseVersion: 2, lastFeedbackID: 4, outcome: .rejected,
                                  reasons: "recall of drift would drop from 52.5 % to 50.1 %")
        try journal.recordModelUpdate(a)
        try journal.recordModelUpdate(b)
        #expect(try journal.modelUpdates() == [b, a])
    }

    @Test func eventsAfterAnIdComeOldestFirstOfTheKindsAsked() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        let codec = EventCodec(names: SubjectTable(sensors: ["PT-101A", "PT-101B"], groups: ["pressure"]))
        try journal.appendEvents([TimedEvent(plantNanoseconds: 1, cycle: 1, event: .findingRaised(.sensor(0), .stuck, statistic: 1, threshold: 1)),
                                  TimedEvent(plantNanoseconds: 2, cycle: 2, event: .failover(group: 0, from: 0, to: 1, byOperator: false)),
                                  TimedEvent(plantNanoseconds: 3, cycle: 3, event: .diagnosis(.sensor(0), .sensorFault, evidence: .stuck,
                                                                                              statistic: 1, severity: .major))],
                                 codec: codec, wallOffsetNanoseconds: 0)
        let last = try journal.lastEventID()
        let all = try journal.events(after: 0, kinds: [.detection, .diagnosis])
        #expect(all.map(\.kind) == [.detection, .diagnosis])
        #expect(all.map(\.subject) == ["PT-101A", "PT-101A"])
        #expect(try journal.events(after: all[0].id, kinds: [.detection, .diagnosis]).map(\.id) == [all[1].id])
        #expect(try journal.event(last)?.kind == .diagnosis)
    }
}
