// libFuzzer harness: the Sparkplug host command decoder (NCMD/DCMD payloads) against a plant with
// two devices and a GPIO output, one output writable. The first byte picks the topic (the node, each
// device, an unknown device, a foreign edge node). Beyond "no crash": a decoded command is one the
// layout allows (rebirth only from NCMD; writes only to a writable output of the addressed device,
// finite); stored-message decoding of the same bytes never crashes either. Built and run by scripts/fuzz.
import FuzzSupport
import Sparkplug
import VigilCore

#if VIGIL_FUZZ
private let plant = PlantConfig(
    name: "fuzz",
    devices: [DeviceConfig(id: "pump", transport: .tcp(host: "127.0.0.1", port: 502)),
              DeviceConfig(id: "tank", transport: .tcp(host: "127.0.0.1", port: 503))],
    sensors: [SensorConfig(id: "pressure", source: .point(device: "pump", point: "p"), rangeMin: 0, rangeMax: 10, unit: "bar"),
              SensorConfig(id: "level", source: .point(device: "tank", point: "l"), rangeMin: 0, rangeMax: 5, unit: "m")],
    outputs: [OutputConfig(id: "speed", target: .point(device: "pump", point: "s"), initial: 0, safe: 0),
              OutputConfig(id: "valve", target: .point(device: "tank", point: "v"), initial: 0, safe: 0),
              OutputConfig(id: "lamp", target: .gpio(line: "GPIO17", activeLow: false), initial: 0, safe: 0)])
private let layout = try! SparkplugLayout(plant: plant, groupID: "plant", edgeNodeID: "vigil", writableOutputs: ["speed"])
private let topics = ["spBv1.0/plant/NCMD/vigil", "spBv1.0/plant/DCMD/vigil/pump", "spBv1.0/plant/DCMD/vigil/tank",
                      "spBv1.0/plant/DCMD/vigil/gpio", "spBv1.0/plant/DCMD/vigil/nope", "spBv1.0/other/NCMD/vigil"]

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzBytes(data, size)
    guard let first = bytes.first else { return 0 }
    let topic = topics[Int(first) % topics.count]
    let payload = Array(bytes.dropFirst())
    if let commands = try? layout.decodeCommand(topic: topic, payload: payload) {
        if commands.isEmpty { fatalError("a command message decoded to no command") }
        for command in commands {
            switch command {
            case .rebirth:
                if topic != topics[0] { fatalError("rebirth decoded from \(topic)") }
            case .writeOutput(let device, let output, let value):
                if output != "speed" || device != "pump" || topic != topics[1] { fatalError("write to \(device)/\(output) from \(topic) accepted") }
                if !value.isFinite { fatalError("a non-finite write accepted") }
            }
        }
    }
    if let stored = try? SparkplugUnsequenced(encoded: payload) {
        var node = SparkplugEdgeNode(layout: layout)
        _ = node.sequenced(stored, historical: first & 1 == 1)
    }
    return 0
}
#endif

@main struct FuzzSparkplug {
    static func main() { fuzzMain(FuzzSparkplug.self) }
}
