import Foundation
import Journal
import Kernel
import Testing

/// The model watch's records: each version's figures survive a reopen, an outcome is counted once
/// per event and proof, the cursors and the queries the watch reads by.
@Suite struct ModelWatchStoreTests {
    @Test func figuresSurviveAReopenAndAnOutcomeCountsOnce() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.path("j.sqlite")
        let figures = ModelWatchFigures(version: 3, lineage: "fleet", fleetVersion: 12, baseline: 0.9, baselineSource: "parent v2",
                                        recent: [true, false, true], outcomes: 40, agreed: 31, contradictions: 1, state: .rolledBack,
                                        afterRollback: true, reason: "rolled back to v2: agreement 67%")
        do {
            let journal = try Journal(path: path)
            try journal.recordModelWatch([figures, ModelWatchFigures(version: 2)], wallNanoseconds: 5,
                                         audit: AuditEntry(wallNanoseconds: 5, source: "vigil", command: "(model watch)", result: "v3 rolled back", role: "system"))
            let outcome = ModelOutcome(version: 3, proof: .confirmedFault, modelSaid: "healthy", truth: nil, margin: 40)
            #expect(try journal.recordModelOutcome(outcome, eventID: 7, wallNanoseconds: 5))
            #expect(try !journal.recordModelOutcome(outcome, eventID: 7, wallNanoseconds: 6), "the same proof of the same event counts once")
            #expect(try journal.recordModelOutcome(ModelOutcome(version: 3, proof: .verifiedRepair, modelSaid: "healthy", truth: nil, margin: 40),
                                                   eventID: 7, wallNanoseconds: 6), "another proof of it counts")
            try journal.setModelWatchCursor("event", 99)
        }
        let reopened = try Journal(path: path)
        #expect(try reopened.modelWatchFigures() == [ModelWatchFigures(version: 2), figures])
        #expect(try reopened.modelWatchCursor("event") == 99)
        #expect(try reopened.modelWatchCursor("feedback") == nil)
        #expect(try reopened.auditLog().first?.value.command == "(model watch)")
    }

    @Test func theWatchReadsFeedbackInOrderAndTheLatestOpinionOnASensor() throws {
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let journal = try Journal(path: dir.path("j.sqlite"))
        let first = try journal.recordFeedback(OperatorFeedback(wallNanoseconds: 1, operatorName: "a", subject: "tank.level", eventID: 4, verdict: .confirmed))
        let second = try journal.recordFeedback(OperatorFeedback(wallNanoseconds: 2, operatorName: "a", subject: "tank.level", eventID: 5, verdict: .falseAlarm))
        #expect(try journal.feedback(after: 0).map(\.id) == [first, second])
        #expect(try journal.feedback(after: first).map(\.value.verdict) == [.falseAlarm])

        try journal.recordEventFeatures([
            EventFeatures(eventID: 4, sensor: "tank.level", monotonicNanoseconds: 1_000, samples: [[1]], modelVersion: 1, diagnosis: "stuck", margin: 20),
            EventFeatures(eventID: 5, sensor: "tank.level", monotonicNanoseconds: 2_000, samples: [[1]], modelVersion: 2, diagnosis: "healthy", margin: 50),
            EventFeatures(eventID: 6, sensor: "pump1.flow", monotonicNanoseconds: 2_500, samples: [[1]], modelVersion: 2, diagnosis: "drift", margin: 9),
        ])
        #expect(try journal.latestEventFeatures(sensor: "tank.level", atOrBefore: 3_000, maxAge: 10_000)?.eventID == 5)
        #expect(try journal.latestEventFeatures(sensor: "tank.level", atOrBefore: 1_500, maxAge: 10_000)?.eventID == 4)
        #expect(try journal.latestEventFeatures(sensor: "tank.level", atOrBefore: 900, maxAge: 10_000) == nil)
        #expect(try journal.latestEventFeatures(sensor: "tank.level", atOrBefore: 30_000, maxAge: 1_000) == nil, "too old to judge")
    }
}
