import Foundation
import Testing
import VigilCore
@testable import Replay

/// Recordings made by the plant simulator: the shipped example is what `vigil sim record` writes,
/// values are what the registers hold, faults land where they are asked for.
@Suite struct RecordingGeneratorTests {
    typealias S = ReplayTestSupport
    static let shipped = S.root + "/hil/recordings/demo-pump-station.csv"
    /// The arguments the shipped example was written with (docs/REPLAY.md gives the command).
    static let shippedSeconds = 300.0, shippedFault = "PT-101A stuck at 150s for 60s"

    func rows(_ bytes: [UInt8]) -> [[String]] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    @Test func theShippedRecordingIsWhatTheRecordCommandWrites() throws {
        let shipped = Array(try Data(contentsOf: URL(fileURLWithPath: Self.shipped)))
        let regenerated = try RecordingGenerator(plant: try S.demoPlant(), seed: 1)
            .csv(seconds: Self.shippedSeconds, faults: [RecordedFault(argument: Self.shippedFault)])
        #expect(regenerated == shipped, """
            regenerate with: vigil sim record --config configs/demo-pump-station.yaml --seconds 300 \
            --fault "\(Self.shippedFault)" --out hil/recordings/demo-pump-station.csv
            """)
        #expect(shipped.count < 1_000_000)
    }

    @Test func devicesAreSampledAtTheirPollIntervalsWithTheirRegistersResolution() throws {
        let table = rows(try RecordingGenerator(plant: try S.demoPlant()).csv(seconds: 2))
        #expect(table[0] == ["time", "PT-101A", "PT-101B", "PT-101C", "PT-100", "FT-110", "IT-111", "LT-201", "TT-301A", "TT-301B", "TT-310", "VT-311"],
                "Modbus sensors only, in plant order")
        #expect(table.count == 1 + 21, "a row every 100 ms (the pump PLC's poll) from 0 to 2 s")
        for row in table.dropFirst() {
            let ms = Int((Double(row[0])! * 1000).rounded())
            #expect(!row[1].isEmpty && !row[5].isEmpty, "pump PLC (100 ms) at \(row[0])")
            #expect(row[3].isEmpty == (ms % 200 != 0), "tank I/O (200 ms) at \(row[0])")
            #expect(row[9].isEmpty == (ms % 500 != 0), "RTU temperatures (500 ms) at \(row[0])")
            if !row[8].isEmpty { #expect((row[8].split(separator: ".").last?.count ?? 0) <= 1 || !row[8].contains("."), "int16 × 0.1: \(row[8])") }
            #expect(!row[4].contains(".") || row[4].split(separator: ".")[1].count <= 2, "int16 × 0.01: \(row[4])")
        }
    }

    @Test func aStuckSensorHoldsItsValueAndADropoutLeavesItsCellsEmpty() throws {
        let faults = [try RecordedFault(argument: "PT-101A stuck at 1s for 1s"), try RecordedFault(argument: "FT-110 dropout at 0.5s for 0.3s")]
        let table = rows(try RecordingGenerator(plant: try S.demoPlant()).csv(seconds: 3, faults: faults)).dropFirst()
        let stuck = table.filter { (1.0..<2.0).contains(Double($0[0])!) }.map { $0[1] }
        #expect(stuck.count == 10 && Set(stuck).count == 1, "PT-101A frozen from 1 s to 2 s: \(stuck)")
        let after = table.filter { (2.0..<3.0).contains(Double($0[0])!) }.map { $0[1] }
        #expect(Set(after).count > 5, "and moving again after")
        let gap = table.filter { (0.5..<0.8).contains(Double($0[0])!) }.map { $0[5] }
        #expect(gap == ["", "", ""])
        #expect(table.first { $0[0] == "0.800" }?[5].isEmpty == false)
    }

    @Test func faultsThatDoNotFitAreRefused() throws {
        let generator = RecordingGenerator(plant: try S.demoPlant())
        #expect(throws: RecordingError.overlappingFaults("PT-101A")) {
            try generator.csv(seconds: 10, faults: [RecordedFault(sensor: "PT-101A", kind: .stuck, atSeconds: 1, forSeconds: 5),
                                                    RecordedFault(sensor: "PT-101A", kind: .bias, value: 1, atSeconds: 3)])
        }
        #expect(throws: RecordingError.notAModbusSensor("ESTOP")) {
            try generator.csv(seconds: 10, faults: [RecordedFault(sensor: "ESTOP", kind: .stuck, atSeconds: 1)])
        }
        #expect(throws: RecordingError.badLength(0)) { try generator.csv(seconds: 0) }
        for bad in ["PT-101A stuck", "PT-101A melts at 5s", "PT-101A bias at 5s", "PT-101A stuck at soon", "PT-101A stuck at 5s for -1s",
                    "PT-101A stuck at 5s and more"] {
            #expect(throws: RecordingError.self, "\(bad)") { try RecordedFault(argument: bad) }
        }
        #expect(try RecordedFault(argument: "FT-110 drift 0.05 at 90s for 30s")
                == RecordedFault(sensor: "FT-110", kind: .drift, value: 0.05, atSeconds: 90, forSeconds: 30))
    }
}
