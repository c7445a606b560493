import Testing
import Foundation
import Config
@testable import Scenarios

/// A short soak: random faults in virtual time, scored; the same seed gives the same day.
@Suite struct SoakCampaignTests {
    func campaign(hours: Double, seed: UInt64) throws -> SoakCampaign {
        let path = repositoryRoot.appendingPathComponent("configs/demo-pump-station.yaml").path
        let loaded = try ConfigLoader.loadPlant(path: path)
        var options = SoakOptions(hours: hours, seed: seed)
        options.quietSeconds = 30...60
        options.faultSeconds = 10...40
        options.settleSeconds = 40
        options.warmupSeconds = 40
        return SoakCampaign(plant: loaded.plant, board: loaded.board,
                            boardFile: loaded.plant.board.map { ScenarioDecoder.resolve($0, relativeTo: path) }, options: options)
    }

    @Test func theSameSeedGivesTheSameDay() throws {
        var a = try campaign(hours: 0.25, seed: 11).run()
        var b = try campaign(hours: 0.25, seed: 11).run()
        #expect(a.episodes.count >= 6, "a quarter of an hour with faults of 10–40 s every 1.5–2.5 min")
        a.host = b.host
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        #expect(try encoder.encode(a) == encoder.encode(b))
        b = try campaign(hours: 0.25, seed: 12).run()
        #expect(a.episodes.map(\.kind) != b.episodes.map(\.kind) || a.episodes.map(\.onsetSeconds) != b.episodes.map(\.onsetSeconds))
    }

    @Test func theFiguresAddUp() throws {
        let r = try campaign(hours: 0.25, seed: 3).run()
        let faults = r.episodes.filter { $0.isFault && !$0.onIdlePath }
        #expect(r.faultsInjected == faults.count)
        #expect(r.faultsOnIdlePaths == r.episodes.filter(\.onIdlePath).count)
        #expect(r.faultsDetected == faults.filter(\.detected).count && r.faultsDetected <= r.faultsInjected)
        #expect(r.kinds.map(\.injected).reduce(0, +) == r.episodes.filter { !$0.onIdlePath }.count)
        #expect(r.falseAlarms <= r.alarms && r.falseFailovers <= r.failovers)
        #expect(r.falseAlarmList.count == r.falseAlarms && r.falseFailoverList.count == r.falseFailovers)
        #expect(r.cycles == 90_000)
        for e in faults where e.detected { #expect(e.detectionDelaySeconds! >= 0 && e.detectionDelaySeconds! <= e.endSeconds - e.onsetSeconds + 10) }
        #expect(r.summary.contains("faults injected \(r.faultsInjected)"))
    }
}
