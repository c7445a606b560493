import VigilCore
import Yams

/// Turns a plant document into a `DecodedPlant`, reporting every local problem (types, ranges,
/// unknown and missing keys) to the sink. Cross-references are checked by `PlantValidator`.
enum PlantDecoder {
    static let topKeys = ["name", "board", "cycle", "simulation", "devices", "sensors", "redundancy_groups", "outputs", "limits",
                          "controls", "monitor", "sections", "console", "mqtt", "metrics"]
    static let deviceKeys = ["id", "transport", "unit_id", "response_timeout_ms", "byte_timeout_ms", "poll_interval_ms",
                             "max_gap_registers", "max_gap_bits", "max_registers_per_read", "max_bits_per_read", "points",
                             "backup", "backup_port", "max_poll_interval_ms"]
    static let tcpKeys = ["host", "port"]
    static let rtuKeys = ["port", "baud", "parity", "data_bits", "stop_bits"]
    static let standardBauds = [1200, 2400, 4800, 9600, 14400, 19200, 38400, 57600, 115200, 230400, 460800, 921600]

    static func decode(_ root: Node, sink: DiagnosticSink) -> DecodedPlant {
        var plant = DecodedPlant()
        guard let top = MappingReader(root, path: "", allowed: topKeys, sink: sink) else { return plant }
        plant.name = top.string("name", required: true, expected: "the plant's name")
        plant.board = top.string("board", expected: "a board file path, relative to this file")
        if top.has("cycle") {
            plant.cycle = decodeCycle(top.node("cycle", expected: ""), path: "cycle", sink: sink)
        }
        if top.has("simulation"),
           let sim = MappingReader(top.node("simulation", expected: ""), path: "simulation", allowed: ["signals", "process"], sink: sink) {
            for item in sim.list("signals", expected: "a list of named signals") ?? [] {
                decodeSignal(item.node, path: item.path, sink: sink, into: &plant)
            }
            for item in sim.list("process", expected: "a list of closed-loop process signals") ?? [] {
                decodeProcessSignal(item.node, path: item.path, sink: sink, into: &plant)
            }
        }
        for item in top.list("devices", expected: "a list of devices") ?? [] {
            decodeDevice(item.node, path: item.path, sink: sink, into: &plant)
        }
        for item in top.list("sensors", expected: "a list of sensors") ?? [] {
            decodeSensor(item.node, path: item.path, sink: sink, into: &plant)
        }
        for item in top.list("redundancy_groups", expected: "a list of redundancy groups") ?? [] {
            decodeGroup(item.node, path: item.path, sink: sink, into: &plant)
        }
        for item in top.list("outputs", expected: "a list of outputs") ?? [] {
            decodeOutput(item.node, path: item.path, sink: sink, into: &plant)
        }
        for item in top.list("limits", expected: "a list of limits") ?? [] {
            decodeLimit(item.node, path: item.path, sink: sink, into: &plant)
        }
        for item in top.list("controls", expected: "a list of controls") ?? [] {
            decodeControl(item.node, path: item.path, sink: sink, into: &plant)
        }
        if top.has("monitor") { plant.monitor = decodeMonitor(top.node("monitor", expected: ""), path: "monitor", sink: sink, plant: plant) }
        for item in top.list("sections", expected: "a list of plant sections") ?? [] {
            decodeSection(item.node, path: item.path, sink: sink, into: &plant)
        }
        if top.has("console") { plant.console = decodeConsole(top.node("console", expected: ""), path: "console", sink: sink) }
        if top.has("mqtt") { plant.mqtt = decodeMQTT(top.node("mqtt", expected: ""), path: "mqtt", sink: sink) }
        if top.has("metrics") { plant.metrics = decodeMetrics(top.node("metrics", expected: ""), path: "metrics", sink: sink) }
        return plant
    }

    private static func decodeSignal(_ node: Node, path: String, sink: DiagnosticSink, into plant: inout DecodedPlant) {
        guard let map = MappingReader(node, path: path, allowed: ["name"] + SimulationDecoder.specKeys, sink: sink) else { return }
        let name = map.string("name", required: true, expected: "the signal's name")
        let spec = SimulationDecoder.spec(map)
        plant.declare("signal", name, at: path.key("name"))
        guard let name else { return }
        if let spec { plant.signals.append((NamedSignal(name: name, spec: spec), path)) } else { plant.broken.insert("signal:" + name) }
    }

    /// `{name, law: first_order|integrator, tau_s, inputs: [{output|signal, gain}], offset, initial, min, max}`.
    private static func decodeProcessSignal(_ node: Node, path: String, sink: DiagnosticSink, into plant: inout DecodedPlant) {
        let keys = ["name", "law", "tau_s", "inputs", "offset", "initial", "min", "max"]
        guard let map = MappingReader(node, path: path, allowed: keys, sink: sink) else { return }
        let before = sink.diagnostics.count
        let name = map.string("name", required: true, expected: "the signal's name")
        plant.declare("signal", name, at: path.key("name"))
        let lawName = map.string("law", required: true, expected: "first_order or integrator")
        var law: ProcessSignal.Law?
        switch lawName {
        case "first_order"?:
            if let tau = map.double("tau_s", required: true, expected: "a time constant in seconds > 0", isValid: { $0 > 0 }) {
                law = .firstOrder(timeConstantSeconds: tau)
            }
        case "integrator"?:
            let lo = map.double("min") ?? -Double.greatestFiniteMagnitude
            let hi = map.double("max", expected: "a number ≥ min") { $0 >= lo } ?? Double.greatestFiniteMagnitude
            law = .integrator(min: lo, max: hi)
        case let other?:
            sink.report(.wrongType, path.key("law"), found: quoted(other), expected: "first_order or integrator")
        case nil:
            break
        }
        var terms: [ProcessSignal.Term] = []
        for item in map.list("inputs", required: true, expected: "a list of {output: ID, gain: G} or {signal: NAME, gain: G}") ?? [] {
            guard let input = MappingReader(item.node, path: item.path, allowed: ["output", "signal", "gain"], sink: sink) else { continue }
            let gain = input.double("gain", required: true)
            let output = input.string("output", expected: "an output id")
            let signal = input.string("signal", expected: "a signal name")
            switch (output, signal, gain) {
            case (let o?, nil, let g?): terms.append(ProcessSignal.Term(input: .output(o), gain: g))
            case (nil, let s?, let g?): terms.append(ProcessSignal.Term(input: .signal(s), gain: g))
            case (nil, nil, _):
                sink.report(.missingKey, item.path.key("output"), found: "nothing", expected: "output: ID or signal: NAME")
            case (_?, _?, _):
                sink.report(.inconsistent, item.path, found: "both output and signal", expected: "one input per entry")
            default: break
            }
        }
        let offset = map.double("offset") ?? 0
        let initial = map.double("initial") ?? 0
        guard let name else { return }
        guard let law, sink.diagnostics.count == before else {
            plant.broken.insert("signal:" + name)
            return
        }
        plant.process.append((ProcessSignal(name: name, law: law, terms: terms, offset: offset, initial: initial), path))
    }

    private static func decodeDevice(_ node: Node, path: String, sink: DiagnosticSink, into plant: inout DecodedPlant) {
        guard let map = MappingReader(node, path: path, allowed: deviceKeys + tcpKeys + rtuKeys.dropFirst(), sink: sink) else { return }
        let id = map.string("id", required: true, expected: "the device's id")
        let errorsBefore = map.sink.diagnostics.count
        let transport = decodeTransport(map)
        plant.declare("device", id, at: path.key("id"))
        let unitID = map.int("unit_id", in: 1...247)
        if map.sink.diagnostics.count != errorsBefore { plant.broken.insert("address:" + path) }
        let responseTimeout = map.int("response_timeout_ms", in: 1...60_000)
        let byteTimeout = map.int("byte_timeout_ms", in: 1...60_000)
        let poll = map.int("poll_interval_ms", in: 1...Int.max)
        let gapRegisters = map.int("max_gap_registers", in: 0...Int.max)
        let gapBits = map.int("max_gap_bits", in: 0...Int.max)
        let maxRegisters = map.int("max_registers_per_read", in: 1...125)
        let maxBits = map.int("max_bits_per_read", in: 1...2000)
        let backup = decodeBackup(map, primary: transport)
        let maxPoll = map.int("max_poll_interval_ms", in: 1...Int.max)

        var points: [PointConfig] = []
        var pointPaths: [String] = []
        for item in map.list("points", required: true, expected: "a list of points") ?? [] {
            plant.declare("point:" + path, MappingReader.peekString(item.node, "id"), at: item.path.key("id"))
            if let point = PointDecoder.decode(item.node, path: item.path, sink: sink) {
                points.append(point)
                pointPaths.append(item.path)
            } else if let pointID = MappingReader.peekString(item.node, "id"), let id {
                plant.broken.insert("point:\(id)/\(pointID)")
            }
        }
        guard let id else { return }
        let defaults = DeviceConfig(id: id, transport: .tcp(host: "", port: 502))
        guard let transport, map.has("points") else {
            plant.broken.insert("device:" + id)
            return
        }
        let device = DeviceConfig(
            id: id, transport: transport, unitID: unitID ?? defaults.unitID,
            responseTimeoutMilliseconds: responseTimeout ?? defaults.responseTimeoutMilliseconds,
            byteTimeoutMilliseconds: byteTimeout ?? defaults.byteTimeoutMilliseconds,
            pollIntervalMilliseconds: poll ?? defaults.pollIntervalMilliseconds,
            maxGapRegisters: gapRegisters ?? defaults.maxGapRegisters, maxGapBits: gapBits ?? defaults.maxGapBits,
            maxRegistersPerRead: maxRegisters ?? defaults.maxRegistersPerRead,
            maxBitsPerRead: maxBits ?? defaults.maxBitsPerRead, points: points,
            backup: backup, maxPollIntervalMilliseconds: maxPoll)
        plant.devices.append((device, path, pointPaths))
    }

    private static func decodeTransport(_ map: MappingReader) -> DeviceTransport? {
        guard let transport = map.string("transport", required: true, expected: "one of tcp, rtu") else { return nil }
        let misplaced: [String]
        let result: DeviceTransport?
        switch transport {
        case "tcp":
            misplaced = rtuKeys.filter { !tcpKeys.contains($0) }
            let host = map.string("host", required: true, expected: "a host name or IP address")
            let port = map.int("port", in: 1...65_535, required: true)
            // A bad host or port is reported; the device is still built so references to it are checked.
            result = .tcp(host: host ?? "", port: port ?? 0)
        case "rtu":
            misplaced = tcpKeys.filter { !rtuKeys.contains($0) }
            let port = map.string("port", required: true,
                                  expected: "a serial port name from the board file or a /dev/... path")
            let defaults = RTUSettings(port: "")
            let baud = map.int("baud", expected: "a standard baud rate: " + standardBauds.map(String.init).joined(separator: ", ")) {
                standardBauds.contains($0)
            }
            let parity = map.choice("parity", Parity.self)
            let dataBits = map.int("data_bits", in: 7...8)
            let stopBits = map.int("stop_bits", in: 1...2)
            result = .rtu(RTUSettings(port: port ?? "/dev/null", baud: baud ?? defaults.baud, parity: parity ?? defaults.parity,
                                      dataBits: dataBits ?? defaults.dataBits, stopBits: stopBits ?? defaults.stopBits))
        default:
            map.wrong("transport", map.node("transport", expected: "")!, expected: "one of tcp, rtu")
            return nil
        }
        for key in misplaced where map.has(key) {
            let node = map.node(key, expected: "")
            map.sink.report(.unknownKey, at: node?.mark, map.path.key(key), found: "key \(quoted(key)) on \(transport == "rtu" ? "an rtu" : "a tcp") device",
                            expected: transport == "tcp" ? "serial settings only on rtu devices" : "host only on tcp devices")
        }
        return result
    }
}

extension MappingReader {
    /// A string value from a mapping node without any diagnostics (to name an element that failed to decode).
    static func peekString(_ node: Node, _ key: String) -> String? {
        guard case .mapping(let mapping) = node, let value = mapping[key] else { return nil }
        return ScalarValue.string(value)
    }
}
