import Foundation
import Testing
import VigilCore
import Monitor
import Kernel
@testable import Replay

/// A recording through the kernel in virtual time: detections at the plant time the recording puts
/// them, the same bytes on every run, training windows in plant time, pacing.
@Suite struct ReplayRunTests {
    typealias S = ReplayTestSupport

    /// The demo plant replaying `seconds` of its own simulation with `faults`.
    func replay(seconds: Double, faults: [String], plant: PlantConfig? = nil, into directory: String? = nil) throws -> (ReplayRun, ReplayResult) {
        let plant = try plant ?? S.demoPlant()
        let csv = try RecordingGenerator(plant: plant).csv(seconds: seconds, faults: faults.map { try RecordedFault(argument: $0) })
        let recording = try Recording.parse([("demo.csv", csv)], plant: plant, options: RecordingOptions())
        let run = try ReplayRun(plant: plant, recording: recording)
        let report = try directory.map { try ReplayReport(directory: $0, run: run) }
        let result = try run.run(report: report)
        if let report { try report.finish(run: run, result: result, readNanoseconds: 0) }
        return (run, result)
    }

    /// PT-101A sticks at 60 s: from then its 100 ms samples repeat the 60 s value. The stuck
    /// finding comes in the step that reads the repeat completing the run (its statistic, at least
    /// stuck_min_samples, at most the second the detector's learned run length allows): plant time
    /// 60 s + run × 100 ms. The discharge-pressure group fails over to PT-101B in that same step,
    /// and nothing was found on PT-101A before.
    @Test func aStuckSensorIsDetectedAtThePlantTimeItsRepeatsPutIt() throws {
        let (run, result) = try replay(seconds: 75, faults: ["PT-101A stuck at 60s"])
        let settings = try #require(run.kernel.monitorSettings)
        let onPT101A = result.events.filter {
            if case .findingRaised(.sensor(0), _, _, _) = $0.event { true } else { false }
        }
        let first = try #require(onPT101A.first)
        guard case .findingRaised(_, let kind, let statistic, let threshold) = first.event else { return }
        #expect(kind == .stuck)
        let repeats = UInt64(statistic)
        #expect(Double(repeats) == statistic && statistic >= threshold && repeats >= UInt64(settings.sensorDefaults.stuckMinSamples) && repeats <= 10)
        let expected = ReplayRun.epochNanoseconds + 60_000_000_000 + repeats * 100_000_000
        #expect(first.plantNanoseconds == expected, "\(first)")
        let failover = try #require(result.events.first { if case .failover = $0.event { true } else { false } })
        #expect(failover.event == .failover(group: 0, from: 0, to: 1, byOperator: false) && failover.plantNanoseconds == expected)
        #expect(run.kernel.activeSource(group: 0) == 1)
        #expect(result.steps == 7_501 && result.rowsRead == 751)
    }

    @Test func twoRunsWriteTheSameBytes() throws {
        let a = S.temporaryDirectory(), b = S.temporaryDirectory()
        defer { for d in [a, b] { try? FileManager.default.removeItem(atPath: d) } }
        _ = try replay(seconds: 50, faults: ["PT-101A stuck at 30s for 10s"], into: a)
        _ = try replay(seconds: 50, faults: ["PT-101A stuck at 30s for 10s"], into: b)
        for file in [ReplayReport.eventsText, ReplayReport.eventsJSON, ReplayReport.stateCSV, ReplayReport.plotSVG] {
            let x = try Data(contentsOf: URL(fileURLWithPath: a + "/" + file)), y = try Data(contentsOf: URL(fileURLWithPath: b + "/" + file))
            #expect(x == y, "\(file)")
            #expect(x.count > 100, "\(file) holds something")
        }
        func summary(_ d: String) throws -> ReplaySummary {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            var s = try decoder.decode(ReplaySummary.self, from: Data(contentsOf: URL(fileURLWithPath: d + "/" + ReplayReport.summaryJSON)))
            s.timing = ReplaySummary.Timing(readSeconds: 0, replaySeconds: 0, stepsPerSecond: 0)
            return s
        }
        #expect(try summary(a) == summary(b), "everything but the wall-clock timing")
        #expect(try summary(a).findingsBySensor["PT-101A"]?["stuck"] ?? 0 > 0)
        let state = try String(contentsOfFile: a + "/" + ReplayReport.stateCSV, encoding: .utf8).split(separator: "\n")
        #expect(state.count == 1 + 501, "a row per step that brought rows: every 100 ms over 50 s")
        #expect(state[0].hasPrefix("time_s,PT-101A.health,") && state[0].hasSuffix("pump-1.spe,pump-1.spe_limit,pump-1.spe_finding"))
        #expect(state[400].hasPrefix("39.900,") && state[400].contains(",quarantined,"), "PT-101A out of use at 39.9 s: \(state[400])")
    }

    /// `training_seconds` (what `--train-seconds 10` sets): pump-1's sensors are all on the pump PLC,
    /// polled every 100 ms, so the section learns the 100 samples of 0.0…9.9 s, fits in the step at
    /// 10 s and is live from the next.
    @Test func aSectionTrainsOnTheFirstSecondsOfTheRecording() throws {
        var plant = try S.demoPlant()
        for s in plant.sections.indices { plant.sections[s].trainingSeconds = 10 }
        let (_, result) = try replay(seconds: 20, faults: [], plant: plant)
        #expect(result.trainedSamples == [100])
        #expect(result.sectionLiveNanoseconds == [ReplayRun.epochNanoseconds + 10_010_000_000])
    }

    @Test func isoTimesAreReportedBesidePlantTime() throws {
        let plant = S.smallPlant()
        var text = "time,PT-1,PT-2,FT-1\n"
        for k in 0..<30 { text += "2026-03-01T12:00:\(k < 10 ? "0" : "")\(k).500+01:00,5,5,\(k == 20 ? 500 : 40)\n" }
        let recording = try S.recording([("iso.csv", text)], plant: plant)
        let run = try ReplayRun(plant: plant, recording: recording)
        let directory = S.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let report = try ReplayReport(directory: directory, run: run)
        let result = try run.run(report: report)
        try report.finish(run: run, result: result, readNanoseconds: 0)
        #expect(result.steps == 2_901)
        let state = try String(contentsOfFile: directory + "/" + ReplayReport.stateCSV, encoding: .utf8).split(separator: "\n")
        #expect(state[0].hasPrefix("time_s,recording_time,PT-1.health"))
        #expect(state[1].hasPrefix("0.000,2026-03-01T11:00:00.500Z,healthy"))
        #expect(state.count == 31)
        let events = try String(contentsOfFile: directory + "/" + ReplayReport.eventsText, encoding: .utf8)
        #expect(events.contains("20.000 s  2026-03-01T11:00:20.500Z  cycle 2001  info    detection FT-1: out of range 500"), "\(events)")
    }

    @Test func aRateHoldsPlantTimeToWallTime() throws {
        let plant = S.smallPlant()
        let recording = try S.recording([("a.csv", "time,PT-1,PT-2,FT-1\n0,5,5,40\n1,5,5,40\n2,5,5,40\n")], plant: plant)
        let result = try ReplayRun(plant: plant, recording: recording).run(pacer: ReplayPacer(rate: 20))
        #expect(result.wallNanoseconds >= 95_000_000, "2 s of plant time at 20× is 100 ms of wall time: \(result.wallNanoseconds) ns")
    }
}
