// libFuzzer harness: the recording (CSV) reader of `vigil replay` on arbitrary bytes, against the
// demo plant's sensors (columns may map to any of them). Built and run by scripts/fuzz.
import Config
import FuzzSupport
import Replay
import VigilCore

#if VIGIL_FUZZ
/// A small plant with a few sensors the recording's columns name (time column `time`).
private let plant: PlantConfig = {
    let yaml = """
        name: fuzz
        cycle: { period_ms: 10 }
        devices:
          - id: plc
            transport: tcp
            host: 127.0.0.1
            port: 15020
            unit_id: 1
            poll_interval_ms: 100
            points:
              - { id: a, function: input, address: 0, type: float32, unit: bar }
              - { id: b, function: input, address: 2, type: int16, scale: 0.1, unit: degC }
        sensors:
          - { id: PT-1, device: plc, point: a, range: [0, 16], unit: bar }
          - { id: TT-1, device: plc, point: b, range: [-20, 80], unit: degC }
        """
    let path = "/tmp/vigil-fuzz-recording-plant.yaml"
    try! yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return try! ConfigLoader.loadPlant(path: path).plant
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzBytes(data, size)
    _ = try? Recording.parse([(name: "fuzz.csv", bytes: bytes)], plant: plant, options: RecordingOptions())
    _ = try? Recording.parse([(name: "fuzz.csv", bytes: bytes)], plant: plant, options: RecordingOptions(allowUnmapped: true))
    return 0
}
#endif

@main struct FuzzRecording {
    static func main() { fuzzMain(FuzzRecording.self) }
}
