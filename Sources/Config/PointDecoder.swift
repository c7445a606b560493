import VigilCore
import Yams

/// Decodes one point of a device's register map.
enum PointDecoder {
    static let keys = ["id", "function", "address", "type", "order", "scale", "offset", "unit", "bit", "width", "sim"]
    static let typeNames = ["bool", "int16", "uint16", "int32", "uint32", "int64", "uint64", "float32", "float64", "bitfield"]

    static func decode(_ node: Node, path: String, sink: DiagnosticSink) -> PointConfig? {
        guard let map = MappingReader(node, path: path, allowed: keys, sink: sink) else { return nil }
        let id = map.string("id", required: true, expected: "the point's id")
        let function = map.choice("function", RegisterFunction.self, required: true)
        let address = map.int("address", in: 0...65_535, required: true)
        let type = decodeType(map, function: function)
        let order = map.choice("order", WordOrder.self)
        let scale = map.double("scale")
        let offset = map.double("offset")
        let unit = map.string("unit")
        var simulation: PointSimulation?
        var simulationOK = true
        if map.has("sim") {
            simulation = SimulationDecoder.point(map.node("sim", expected: ""), path: path.key("sim"), sink: sink)
            simulationOK = simulation != nil
        }
        guard let id, let function, let address, let type, simulationOK else { return nil }
        let point = PointConfig(id: id, function: function, address: address, type: type, order: order ?? .abcd,
                                scale: scale ?? 1, offset: offset ?? 0, unit: unit, simulation: simulation)
        if point.endAddress > 65_536 {
            map.wrong("address", map.node("address", expected: "")!,
                      expected: "address + width (\(point.width)) ≤ 65536", kind: .outOfRange)
            return nil
        }
        return point
    }

    private static func decodeType(_ map: MappingReader, function: RegisterFunction?) -> PointDataType? {
        let expected = "one of " + typeNames.joined(separator: ", ")
        // Bit tables hold nothing but bits, so `type` may be left out there.
        let isBitTable = function?.isBit == true
        guard let name = map.string("type", required: !isBitTable && function != nil, expected: expected) else {
            rejectBitKeys(map, type: nil)
            return isBitTable ? .bool : nil
        }
        let simple: [String: PointDataType] = ["bool": .bool, "int16": .int16, "uint16": .uint16, "int32": .int32,
                                               "uint32": .uint32, "int64": .int64, "uint64": .uint64,
                                               "float32": .float32, "float64": .float64]
        let node = map.node("type", expected: "")!
        if isBitTable && name != "bool" {
            map.wrong("type", node, expected: "bool (\(function!.rawValue) holds single bits)")
            return nil
        }
        if let type = simple[name] {
            rejectBitKeys(map, type: name)
            return type
        }
        guard name == "bitfield" else {
            map.wrong("type", node, expected: expected)
            return nil
        }
        guard let bit = map.int("bit", in: 0...15, required: true) else { return nil }
        guard let width = map.int("width", in: 1...(16 - bit)) else {
            return map.has("width") ? nil : .bitField(bit: bit, width: 1)
        }
        return .bitField(bit: bit, width: width)
    }

    private static func rejectBitKeys(_ map: MappingReader, type: String?) {
        for key in ["bit", "width"] where map.has(key) {
            let node = map.node(key, expected: "")
            map.sink.report(.unknownKey, at: node?.mark, map.path.key(key),
                            found: "key \(quoted(key)) on a point of type \(type ?? "bool")", expected: "bit and width only with type bitfield")
        }
    }
}

/// Decodes `sim:` blocks and named simulation signals.
enum SimulationDecoder {
    static let specKeys = ["shape", "base", "amplitude", "period_s", "noise"]

    /// Shape, base, amplitude, period and noise of a waveform; nil after a diagnostic.
    static func spec(_ map: MappingReader) -> SignalSpec? {
        let before = map.sink.diagnostics.count
        let defaults = SignalSpec()
        let shape = map.choice("shape", SignalSpec.Shape.self)
        let base = map.double("base")
        let amplitude = map.double("amplitude")
        let period = map.double("period_s", expected: "a number of seconds > 0") { $0 > 0 }
        let noise = map.double("noise", expected: "a standard deviation ≥ 0") { $0 >= 0 }
        guard map.sink.diagnostics.count == before else { return nil }
        return SignalSpec(shape: shape ?? defaults.shape, base: base ?? defaults.base, amplitude: amplitude ?? defaults.amplitude,
                          periodSeconds: period ?? defaults.periodSeconds, noise: noise ?? defaults.noise)
    }

    /// `{signal: NAME, noise, bias}` or an inline `{shape, base, amplitude, period_s, noise, bias}`.
    static func point(_ node: Node?, path: String, sink: DiagnosticSink) -> PointSimulation? {
        let isNamed = node.map { MappingReader.peekString($0, "signal") != nil } ?? false
        let allowed = isNamed ? ["signal", "noise", "bias"] : specKeys + ["bias"]
        guard let map = MappingReader(node, path: path, allowed: allowed, sink: sink) else { return nil }
        let before = sink.diagnostics.count
        let bias = map.double("bias") ?? 0
        if isNamed {
            let signal = map.string("signal", required: true, expected: "a signal name from simulation.signals")
            let noise = map.double("noise", expected: "a standard deviation ≥ 0") { $0 >= 0 }
            guard let signal, sink.diagnostics.count == before else { return nil }
            return PointSimulation(source: .signal(signal), noise: noise ?? 0, bias: bias)
        }
        // Inline noise belongs to the waveform; the point adds none of its own.
        guard let spec = spec(map), sink.diagnostics.count == before else { return nil }
        return PointSimulation(source: .inline(spec), noise: 0, bias: bias)
    }
}
