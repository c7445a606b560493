import Testing
import Foundation
import Config
@testable import Scenarios

/// The score campaign through the whole controller on the lift station (slow shared RS-485 line,
/// TCP gateway): a few runs of the kinds its plant shape made go wrong.
@Suite struct PlantScoreCampaignTests {
    func campaign(_ file: String = "hil/configs/lift-station.yaml") throws -> PlantScoreCampaign {
        let path = repositoryRoot.appendingPathComponent(file).path
        let loaded = try ConfigLoader.loadPlant(path: path)
        var options = PlantScoreOptions(seeds: 3)
        options.secondsAfterOnset = 30
        return PlantScoreCampaign(plant: loaded.plant, board: loaded.board,
                                  boardFile: loaded.plant.board.map { ScenarioDecoder.resolve($0, relativeTo: path) }, options: options)
    }

    /// The sump level (or the discharge pressure) really moves 3–8 % of span over 0.4–12 s: every
    /// member sees it, each on its own poll of the line. Nobody is faulty, nothing fails over, and
    /// no start takes a safe action. (A step of the process is `CommonModeNoiseTests`.)
    @Test func aProcessExcursionBlamesNoSensor() throws {
        let c = try campaign()
        for seed in UInt64(1)...4 {
            let (o, startUp) = try #require(try c.runOne(kind: .excursion, seed: seed))
            #expect(o.falsePositives == 0, "seed \(seed): \(o.subject)")
            #expect(!o.escalated, "seed \(seed): \(o.subject)")
            #expect(startUp.isEmpty, "\(startUp)")
        }
    }

    /// The demo's water temperature steps 3–8 °C: TT-301A (tank I/O, 200 ms) sees it first,
    /// TT-301B (RTU line, 500 ms) a second later, through its spike filter as three outliers in a
    /// row once TT-301A's move is no longer recent. Its shift takes it to where its peer is: the
    /// step it sampled late, not a spike fault (seeds that failed TT-301B over before).
    @Test func aPairMemberThatSamplesTheStepLateIsNotASpikeFault() throws {
        let c = try campaign("configs/demo-pump-station.yaml")
        for seed: UInt64 in [4, 26] {
            let (o, _) = try #require(try c.runOne(kind: .excursion, seed: seed))
            #expect(o.subject == "water-temperature")
            #expect(o.falsePositives == 0, "seed \(seed)")
        }
    }

    /// A level transmitter stops answering and holds the line for its timeout every round: its
    /// device is diagnosed, its neighbours on the line are not charged with it.
    @Test func aDeadUnitOnTheSharedLineIsItsOwnFault() throws {
        let c = try campaign()
        for seed in UInt64(1)...3 {
            let (o, _) = try #require(try c.runOne(kind: .timeout, seed: seed))
            #expect(o.detected, "seed \(seed): \(o.subject)")
            #expect(o.falsePositives == 0, "seed \(seed): \(o.subject)")
        }
    }

    /// The figures add up and the plant's shape is read right (which kinds land where).
    @Test func theCampaignCoversThePlantsShape() throws {
        let c = try campaign()
        let all = c.candidates()
        #expect(all.map(\.id) == ["LT-401A", "LT-401B", "LT-401C", "PT-501A", "PT-501B", "FT-502"])
        #expect(PlantScoreCampaign.eligible(.timeout, all).map(\.id) == ["LT-401A", "LT-401B", "LT-401C", "FT-502"],
                "a device timeout is one sensor's fault only where that sensor is alone on its device")
        #expect(PlantScoreCampaign.eligible(.disconnect, all).map(\.id) == ["FT-502"])
        #expect(all.first { $0.id == "LT-401A" }.map(PlantScoreCampaign.sensorClass) == "triple")
        #expect(all.first { $0.id == "FT-502" }.map(PlantScoreCampaign.sensorClass) == "single")
    }
}
