import VigilCore
import Fieldbus
import HIL

/// A recording of a plant made by its own simulator (`PlantModel`), in the CSV format replay reads:
/// a `time` column in seconds from 0, then one column per Modbus sensor (named by its id, plant
/// order). Each device is sampled at its poll interval from time 0; a row is written at every time
/// some device is polled, holding the values of that device's sensors (the other cells empty).
/// A value is what Vigil would read: the model's engineering value encoded into the point's
/// registers and decoded again, so an int16 × 0.1 point is quantized to 0.1. Deterministic: the
/// same plant, seed, length and faults give the same bytes.
public struct RecordingGenerator: Sendable {
    public let plant: PlantConfig
    public let seed: UInt64

    public init(plant: PlantConfig, seed: UInt64 = 1) {
        self.plant = plant
        self.seed = seed
    }

    private struct Column {
        var sensor: String
        var device: Int
        var key: PointKey
        var point: PointConfig
        /// Decimals that show the point's resolution (scaled integers).
        var decimals: Int
    }

    /// The CSV of `seconds` of plant time with `faults` applied.
    public func csv(seconds: Double, faults: [RecordedFault] = []) throws(RecordingError) -> [UInt8] {
        guard seconds > 0, seconds <= 31 * 86_400 else { throw .badLength(seconds) }
        var columns: [Column] = []
        for sensor in plant.sensors {
            guard case .point(let deviceID, let pointID) = sensor.source,
                  let d = plant.devices.firstIndex(where: { $0.id == deviceID }),
                  let point = plant.devices[d].points.first(where: { $0.id == pointID }) else { continue }
            columns.append(Column(sensor: sensor.id, device: d, key: PointKey(device: deviceID, point: pointID), point: point,
                                  decimals: max(Self.decimals(of: point.scale), Self.decimals(of: point.offset))))
        }
        guard !columns.isEmpty else { throw .noModbusSensors }
        var faultColumn: [Int] = []
        for (k, fault) in faults.enumerated() {
            guard let c = columns.firstIndex(where: { $0.sensor == fault.sensor }) else {
                if plant.sensors.contains(where: { $0.id == fault.sensor }) { throw .notAModbusSensor(fault.sensor) }
                throw .unknownSensor(fault.sensor, sensors: columns.map(\.sensor))
            }
            for other in faults[..<k] where other.sensor == fault.sensor && Self.overlap(other, fault) {
                throw .overlappingFaults(fault.sensor)
            }
            faultColumn.append(c)
        }

        let polls = plant.devices.map { Int64(max(1, $0.pollIntervalMilliseconds)) }
        let used = Set(columns.map(\.device))
        let grid = used.map { polls[$0] }.reduce(0) { Self.gcd($0, $1) }
        let model = PlantModel(plant: plant, seed: seed)
        var applied = [Bool](repeating: false, count: faults.count)
        var registers = [UInt16](repeating: 0, count: 4)

        var out: [UInt8] = Array("time".utf8)
        for c in columns { out += Array(("," + CSVText.field(c.sensor)).utf8) }
        out.append(UInt8(ascii: "\n"))
        let end = Int64((seconds * 1000).rounded(.down))
        var t: Int64 = 0
        while t <= end {
            defer { t += grid }
            let polled = polls.map { t % $0 == 0 }
            guard used.contains(where: { polled[$0] }) else { continue }
            let nanoseconds = UInt64(t) * 1_000_000
            for (k, fault) in faults.enumerated() {
                let key = columns[faultColumn[k]].key
                let active = fault.isActive(atMilliseconds: t)
                if active && !applied[k] {
                    applied[k] = true
                    let level = fault.value ?? model.value(of: key, atNanoseconds: nanoseconds) ?? 0
                    switch fault.kind {
                    case .stuck: model.setOverride(.stuck(at: level), for: key)
                    case .bias: model.setOverride(.bias(level), for: key)
                    case .drift: model.setOverride(.drift(ratePerSecond: level, fromNanoseconds: UInt64(fault.atSeconds * 1e9)), for: key)
                    case .noise: model.setOverride(.noise(level), for: key)
                    case .spike: model.setSampleSpike(level, samples: 1, for: key)
                    default: break // dropout: the cells stay empty
                    }
                } else if !active && applied[k] && fault.kind != .spike {
                    applied[k] = false
                    model.clearOverride(for: key)
                }
            }
            DecimalFormat.appendSeconds(nanoseconds: Int64(nanoseconds), decimals: 3, to: &out)
            for (i, c) in columns.enumerated() {
                out.append(UInt8(ascii: ","))
                guard polled[c.device] else { continue }
                if faults.indices.contains(where: { faultColumn[$0] == i && faults[$0].kind == .dropout && applied[$0] }) { continue }
                guard var value = model.value(of: c.key, atNanoseconds: nanoseconds) else { continue }
                value += model.consumeSampleSpike(for: c.key)
                Self.appendRead(value, c, registers: &registers, to: &out)
            }
            out.append(UInt8(ascii: "\n"))
        }
        return out
    }

    /// The value as Vigil reads the point: through its registers and back to engineering units.
    private static func appendRead(_ value: Double, _ c: Column, registers: inout [UInt16], to out: inout [UInt8]) {
        let p = c.point
        if p.function.isBit {
            out.append(p.raw(fromEngineering: value).doubleValue != 0 ? UInt8(ascii: "1") : UInt8(ascii: "0"))
            return
        }
        let raw: RawValue? = registers.withUnsafeMutableBufferPointer { r in
            RegisterCodec.encode(p.raw(fromEngineering: value), as: p.type, order: p.order, into: r)
            return RegisterCodec.decode(p.type, order: p.order, registers: UnsafeBufferPointer(r))
        }
        guard let raw else { return }
        let engineering = p.engineering(raw)
        switch p.type {
        case .float32:
            var text = Float(engineering).description
            text.withUTF8 { out.append(contentsOf: $0) }
        case .float64:
            var text = engineering.description
            text.withUTF8 { out.append(contentsOf: $0) }
        default:
            DecimalFormat.appendFixed(engineering, decimals: c.decimals, to: &out)
        }
    }

    /// The fewest decimals (0…9) that write `x` exactly enough: 0.01 → 2, 0.5 → 1, 10 → 0.
    static func decimals(of x: Double) -> Int {
        var scaled = abs(x)
        for d in 0...9 {
            if abs(scaled - scaled.rounded()) <= 1e-9 * max(1, scaled) { return d }
            scaled *= 10
        }
        return 9
    }

    static func gcd(_ a: Int64, _ b: Int64) -> Int64 { b == 0 ? a : gcd(b, a % b) }

    static func overlap(_ a: RecordedFault, _ b: RecordedFault) -> Bool {
        let aEnd = a.forSeconds.map { a.atSeconds + $0 } ?? .infinity, bEnd = b.forSeconds.map { b.atSeconds + $0 } ?? .infinity
        return a.atSeconds < bEnd && b.atSeconds < aEnd
    }
}
