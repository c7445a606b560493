import ArgumentParser
import CommandSupport
import Foundation
import Replay

/// `vigil sim record`: a recording of a plant's Modbus sensors made by its simulator, for `vigil replay`.
struct SimRecordCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Write a CSV recording of a plant's Modbus sensors from its simulator (for vigil replay).",
        discussion: """
            Samples every Modbus sensor at its device's poll interval from the plant's simulation (seeded, \
            values quantized as the registers hold them), with the faults given, into a CSV that vigil \
            replay reads. The same arguments write the same bytes. \
            Example: vigil sim record --config configs/demo-pump-station.yaml --seconds 300 \
            --fault "PT-101A stuck at 150s for 60s" --out hil/recordings/demo-pump-station.csv
            """
    )

    @Option(help: "Plant configuration file (configs/*.yaml).")
    var config: String

    @Option(help: "Length of the recording in seconds of plant time.")
    var seconds: Double

    @Option(help: ArgumentHelp("The CSV file to write.", valueName: "FILE"))
    var out: String

    @Option(help: ArgumentHelp("A sensor fault (repeatable): SENSOR KIND [VALUE] at S[s] [for S[s]], KIND one of "
                               + RecordedFault.kinds.map(\.rawValue).joined(separator: ", ") + ".", valueName: "FAULT"))
    var fault: [String] = []

    @Option(help: "Seed of the simulated noise.")
    var seed: UInt64 = 1

    func run() throws {
        let plant = try loadPlantOrExit(path: config, boardPath: nil).plant
        let bytes: [UInt8]
        do throws(RecordingError) {
            let faults = try fault.map { f throws(RecordingError) in try RecordedFault(argument: f) }
            bytes = try RecordingGenerator(plant: plant, seed: seed).csv(seconds: seconds, faults: faults)
        } catch {
            printToStandardError("vigil sim record: \(error)")
            throw ExitCode(1)
        }
        do {
            try Data(bytes).write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            printToStandardError("vigil sim record: cannot write \(out): \(error.localizedDescription)")
            throw ExitCode(1)
        }
        let rows = bytes.reduce(0) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) } - 1
        print("vigil sim record: \(plant.name), \(rows) rows over \(seconds) s, seed \(seed)"
              + (fault.isEmpty ? "" : ", faults: " + fault.joined(separator: "; ")) + " → \(out) (\(bytes.count) bytes)")
    }
}
