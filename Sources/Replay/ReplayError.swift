import Kernel

/// Why a replay cannot run: a CSV problem (located), a mapping that does not fit the plant, the
/// plant itself, or an output that cannot be written.
public enum ReplayError: Error, Sendable, Hashable, CustomStringConvertible {
    case noFiles
    case csv(CSVError)
    /// A `--map` argument that is not `COLUMN=SENSOR`.
    case badMap(argument: String)
    case mapRepeated(column: String)
    case mapNamesTimeColumn(ColumnMap)
    /// No file's header has the mapped column.
    case mapColumnMissing(ColumnMap, files: [String])
    case mapUnknownSensor(ColumnMap, sensors: [String])
    /// Two columns of one file feed the same sensor.
    case sensorFedTwice(file: String, sensor: String, columns: [String])
    /// Sensors of the plant no column feeds (GPIO ones excepted).
    case unfedSensors([String])
    /// The rows span more plant time than a replay takes (`Recording.maximumSpanNanoseconds`).
    case spanTooLong(seconds: Double)
    case kernel(KernelError)
    /// A policy model file that does not decode.
    case model(path: String, reason: String)
    /// The policy model reads other features than this build's monitor writes.
    case modelFeatures(expected: [String], found: [String])
    case output(path: String, reason: String)
    /// A file reads differently from when it was checked (changed in place during the replay).
    case fileChanged(file: String, line: Int)

    public var description: String {
        switch self {
        case .model(let path, let reason): return "\(path): not a policy model: \(reason)"
        case .modelFeatures(let expected, let found):
            return "the policy model reads features [\(found.joined(separator: ", "))]; this build's monitor writes [\(expected.joined(separator: ", "))]"
        case .noFiles: return "no CSV file given; expected at least one --csv FILE"
        case .csv(let e): return e.description
        case .badMap(let argument): return "--map \(quoted(argument)): expected COLUMN=SENSOR"
        case .mapRepeated(let column): return "--map names column \(quoted(column)) twice; expected one sensor per column"
        case .mapNamesTimeColumn(let m): return "--map \(m): \(quoted(m.column)) is the time column; expected a value column"
        case .mapColumnMissing(let m, let files):
            return "--map \(m): no file has a column \(quoted(m.column)) (read: \(files.joined(separator: ", ")))"
        case .mapUnknownSensor(let m, let sensors):
            return "--map \(m): the plant has no sensor \(quoted(m.sensor)); expected one of \(sensors.joined(separator: ", "))"
        case .sensorFedTwice(let file, let sensor, let columns):
            return "\(file):1: columns \(columns.map(quoted).joined(separator: " and ")) both feed sensor \(sensor); expected one column per sensor in a file"
        case .unfedSensors(let ids):
            return "no column feeds sensor\(ids.count == 1 ? "" : "s") \(ids.joined(separator: ", ")): name a column after "
                + "\(ids.count == 1 ? "it" : "each"), map one with --map COLUMN=SENSOR, or pass --allow-unmapped (then it stays unread, bad)"
        case .spanTooLong(let seconds):
            return "the rows span \(seconds) s from the first time to the last; expected at most 10^9 s (a replay steps every cycle in between)"
        case .kernel(let e): return "the plant cannot run: \(e)"
        case .output(let path, let reason): return "cannot write \(path): \(reason)"
        case .fileChanged(let file, let line):
            return "\(file):\(line): the file changed while being replayed; expected it to stay as it was when checked until the replay ends"
        }
    }
}
