import Testing
import Scenarios

@Suite struct ScoreCampaignTests {
    /// A tiny campaign runs and its figures agree with each other (no timing assertions).
    @Test func tinyCampaignYieldsConsistentFigures() throws {
        let options = ScoreOptions(seeds: 2, cyclesAfterOnset: 200, warmupCycles: 1_200,
                                   faultFreeSensorCycles: 7_000, faultFreeSeeds: 1, driftCaseCycles: 200)
        let d = try ScoreCampaign.run(options: options)
        #expect(d.kinds.count == ScoreFaultKind.allCases.count)
        for k in d.kinds {
            #expect(k.runs == options.seeds)
            if k.kind.isFault {
                #expect(k.truePositives + k.falseNegatives == k.runs)
                if let f1 = k.f1 { #expect(f1 >= 0 && f1 <= 1) }
                if let r = k.recall { #expect(r >= 0 && r <= 1) }
            } else {
                #expect(k.truePositives == 0 && k.falseNegatives == 0)
            }
            if let p = k.precision { #expect(p >= 0 && p <= 1) }
            #expect(k.runsByClass.values.reduce(0, +) == k.runs)
            if let hard = k.hardWithinThree { #expect(hard <= k.truePositives) }
        }
        let faulted = d.kinds.filter { $0.kind.isFault }.reduce(0) { $0 + $1.runs }
        let tp = d.kinds.reduce(0) { $0 + $1.truePositives }
        let fn = d.kinds.reduce(0) { $0 + $1.falseNegatives }
        #expect(tp + fn == faulted)
        if let f1 = d.overallF1 { #expect(f1 >= 0 && f1 <= 1) }
        #expect(d.faultFree.sensorCycles >= 7_000)
        #expect(d.faultFree.sensorCycles == d.faultFree.cycles * ScoreCampaign.sensorCount)
        #expect(d.drift1000.runs == options.seeds)
        #expect(d.drift1000.detected <= d.drift1000.runs)
        #expect(d.runs.count == faulted + options.seeds + options.seeds) // fault runs + excursions + drift case
        #expect(!ScoreCampaign.table(d).isEmpty)
        #expect(try ScoreCampaign.json(d).count > 0)
    }

    @Test func sameSeedGivesTheSameRun() throws {
        let options = ScoreOptions(seeds: 1, cyclesAfterOnset: 100)
        let a = try ScoreCampaign.runOne(kind: .bias, seed: 5, options: options)
        let b = try ScoreCampaign.runOne(kind: .bias, seed: 5, options: options)
        #expect(a == b)
    }

    @Test func faultFreeCampaignReportsItsSensorCycles() throws {
        let options = ScoreOptions(seeds: 1, faultFreeSensorCycles: 14_000, faultFreeSeeds: 2)
        let ff = try ScoreCampaign.runFaultFree(options: options)
        #expect(ff.sensorCycles == 14_000)
        #expect(ff.seeds == 2)
        #expect(ff.failoversPer100k >= 0)
    }
}
