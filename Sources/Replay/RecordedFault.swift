import HIL

/// A sensor fault written into a generated recording, as typed on the command line:
/// `SENSOR KIND [VALUE] at SECONDS[s] [for SECONDS[s]]`, e.g. `PT-101A stuck at 120s for 60s`,
/// `FT-110 drift 0.05 at 90s`. KIND is `stuck` (VALUE: the level; default the value at onset),
/// `bias` (VALUE: the offset), `drift` (VALUE: change per second), `noise` (VALUE: extra σ),
/// `spike` (VALUE: the offset, on the first sample at or after the onset) or `dropout` (the
/// sensor's cells stay empty). Without `for` a fault lasts to the end.
public struct RecordedFault: Sendable, Hashable, CustomStringConvertible {
    public var sensor: String
    public var kind: FaultKind
    public var value: Double?
    public var atSeconds: Double
    public var forSeconds: Double?

    public static let kinds: [FaultKind] = [.stuck, .bias, .drift, .noise, .spike, .dropout]

    public init(sensor: String, kind: FaultKind, value: Double? = nil, atSeconds: Double, forSeconds: Double? = nil) {
        self.sensor = sensor
        self.kind = kind
        self.value = value
        self.atSeconds = atSeconds
        self.forSeconds = forSeconds
    }

    public init(argument text: String) throws(RecordingError) {
        var words = text.split(separator: " ").map(String.init)
        func fail(_ why: String) -> RecordingError { .badFault(text, why) }
        guard words.count >= 4 else { throw fail("too few words") }
        let sensor = words.removeFirst()
        guard let kind = FaultKind(rawValue: words.removeFirst()), Self.kinds.contains(kind) else {
            throw fail("unknown fault kind; expected one of \(Self.kinds.map(\.rawValue).joined(separator: ", "))")
        }
        var value: Double?
        if let first = words.first, let v = Double(first), v.isFinite {
            value = v
            words.removeFirst()
        }
        func seconds(_ word: String) -> Double? {
            guard let s = Double(word.hasSuffix("s") ? String(word.dropLast()) : word), s.isFinite, s >= 0 else { return nil }
            return s
        }
        guard words.count >= 2, words[0] == "at", let at = seconds(words[1]) else { throw fail("expected \"at SECONDS\"") }
        words.removeFirst(2)
        var duration: Double?
        if words.first == "for" {
            guard words.count >= 2, let d = seconds(words[1]), d > 0 else { throw fail("\"for\" needs a positive number of seconds") }
            duration = d
            words.removeFirst(2)
        }
        guard words.isEmpty else { throw fail("unexpected \"\(words.joined(separator: " "))\"") }
        if [.bias, .drift, .noise, .spike].contains(kind) && value == nil { throw fail("\(kind.rawValue) needs a VALUE") }
        self.init(sensor: sensor, kind: kind, value: value, atSeconds: at, forSeconds: duration)
    }

    public var description: String {
        var text = "\(sensor) \(kind.rawValue)"
        if let value { text += " \(value)" }
        text += " at \(atSeconds)s"
        if let forSeconds { text += " for \(forSeconds)s" }
        return text
    }

    /// Whether the fault holds at `t` seconds (a spike only at its onset).
    func isActive(atMilliseconds t: Int64) -> Bool {
        let start = Int64((atSeconds * 1000).rounded())
        guard t >= start else { return false }
        guard let forSeconds else { return true }
        return t < start + Int64((forSeconds * 1000).rounded())
    }
}

/// Why a recording cannot be generated.
public enum RecordingError: Error, Sendable, Hashable, CustomStringConvertible {
    case badFault(String, String)
    case unknownSensor(String, sensors: [String])
    case notAModbusSensor(String)
    case overlappingFaults(String)
    case badLength(Double)
    case noModbusSensors

    public var description: String {
        switch self {
        case .badFault(let text, let why):
            return "--fault \"\(text)\": \(why); expected e.g. \"PT-101A stuck at 120s for 60s\" or \"FT-110 drift 0.05 at 90s\""
        case .unknownSensor(let id, let sensors): return "no sensor \(id) in the plant; expected one of \(sensors.joined(separator: ", "))"
        case .notAModbusSensor(let id): return "\(id) is a GPIO input; a recording holds Modbus sensors only"
        case .overlappingFaults(let id): return "two faults on \(id) overlap in time; expected one fault at a time per sensor"
        case .badLength(let s): return "a recording of \(s) s; expected a positive number of seconds up to 31 days"
        case .noModbusSensors: return "the plant has no Modbus sensor to record"
        }
    }
}
