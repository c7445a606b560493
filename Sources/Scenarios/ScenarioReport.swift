import Foundation

/// Writes a result's report: `DIR/NAME.json` (sorted keys, stable) and `DIR/NAME.svg` (the traces).
public enum ScenarioReport {
    /// The JSON report of a result.
    public static func json(_ result: ScenarioResult) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return try encoder.encode(result)
    }

    /// A file name from a scenario name: letters, digits, `-` and `_`.
    public static func fileStem(_ name: String) -> String {
        let stem = String(name.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "-" })
        return stem.isEmpty ? "scenario" : stem
    }

    /// Writes the report (`NAME.json`), the plot (`NAME.svg`) and every event in words
    /// (`NAME.events.txt`) into `directory` (created if missing) and returns the first two paths.
    @discardableResult
    public static func write(_ result: ScenarioResult, scenario: Scenario, to directory: String) throws -> (json: String, svg: String) {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let base = URL(fileURLWithPath: directory).appendingPathComponent(fileStem(result.name))
        let json = base.appendingPathExtension("json"), svg = base.appendingPathExtension("svg")
        try self.json(result).write(to: json, options: .atomic)
        try Data(ScenarioPlot.svg(result, scenario: scenario).utf8).write(to: svg, options: .atomic)
        let events = URL(fileURLWithPath: base.path + ".events.txt")
        try Data((result.eventLog.joined(separator: "\n") + "\n").utf8).write(to: events, options: .atomic)
        return (json.path, svg.path)
    }
}
