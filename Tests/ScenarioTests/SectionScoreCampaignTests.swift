import Testing
@testable import Scenarios

/// The equipment-anomaly campaign is deterministic by seed and counts what the section monitor did.
@Suite struct SectionScoreCampaignTests {
    @Test func aSmallCampaignIsDeterministicAndCountsEveryRun() throws {
        let a = try SectionScoreCampaign.run(seeds: 3, cyclesAfterOnset: 400)
        let b = try SectionScoreCampaign.run(seeds: 3, cyclesAfterOnset: 400)
        #expect(a == b)
        #expect(a.truePositives + a.falseNegatives == 3)
        #expect(a.anomalyRuns == 3 && a.normalRuns == 3)
        #expect(a.truePositives == 3 && a.falsePositives == 0, "\(a)")
        #expect((a.delayMedian ?? 0) >= 1 && (a.delayMedian ?? .infinity) <= 400)
        #expect(SectionScoreCampaign.table(a).contains("F1 1.000"))
    }
}
