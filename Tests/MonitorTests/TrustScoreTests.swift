import Testing
import VigilCore
@testable import Monitor

@Suite struct TrustScoreTests {
    @Test func noOutcomesYetMeansNoScore() {
        let r = TrustScore().report()
        #expect(r.score == nil)
        #expect(r.repairSuccessRate == nil)
        #expect(r.humanInterventionRate == nil)
        #expect(r.outcomes == 0)
    }

    @Test func allRepairsSucceedingScoresOne() {
        var t = TrustScore()
        for _ in 0..<10 { t.record(.repairSucceeded) }
        #expect(t.report().score == 1.0)
    }

    @Test func allEscalationsScoreZeroAndReportNoRepairRate() {
        var t = TrustScore()
        for _ in 0..<10 { t.record(.humanIntervention) }
        let r = t.report()
        #expect(r.score == 0)
        #expect(r.repairSuccessRate == nil)
        #expect(r.humanInterventionRate == 1)
    }

    @Test func scoreWeighsRepairSuccessSeventyAndAutonomyThirty() {
        var t = TrustScore()
        // 6 succeeded, 2 failed, 2 interventions: success 0.75, intervention rate 0.2.
        for _ in 0..<6 { t.record(.repairSucceeded) }
        for _ in 0..<2 { t.record(.repairFailed) }
        for _ in 0..<2 { t.record(.humanIntervention) }
        let r = t.report()
        #expect(r.repairSuccessRate == 0.75)
        #expect(r.humanInterventionRate == 0.2)
        #expect(abs(r.score! - (0.7 * 0.75 + 0.3 * 0.8)) < 1e-12)
    }

    @Test func oldOutcomesLeaveTheSlidingWindow() {
        var t = TrustScore(windowCapacity: 5)
        for _ in 0..<5 { t.record(.humanIntervention) }
        #expect(t.report().score == 0)
        for _ in 0..<5 { t.record(.repairSucceeded) }
        let r = t.report()
        #expect(r.outcomes == 5)
        #expect(r.humanInterventions == 0)
        #expect(r.score == 1)
    }

    @Test func windowSlidesOneOutcomeAtATime() {
        var t = TrustScore(windowCapacity: 4)
        for o in [TrustOutcome.repairFailed, .repairSucceeded, .repairSucceeded, .repairSucceeded, .repairSucceeded] {
            t.record(o)
        }
        let r = t.report()
        #expect(r.repairsFailed == 0)
        #expect(r.repairsSucceeded == 4)
    }
}
