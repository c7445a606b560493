import VigilCore

/// `--map COLUMN=SENSOR`: a CSV column that feeds a sensor whose id it does not carry.
public struct ColumnMap: Sendable, Hashable, CustomStringConvertible {
    public var column: String
    public var sensor: String

    public init(column: String, sensor: String) {
        self.column = column
        self.sensor = sensor
    }

    /// `COLUMN=SENSOR`, split at the last `=` (a column name may hold one, a sensor id does not).
    public init(argument: String) throws(ReplayError) {
        guard let equals = argument.lastIndex(of: "=") else { throw .badMap(argument: argument) }
        let column = String(argument[..<equals]), sensor = String(argument[argument.index(after: equals)...])
        guard !column.isEmpty, !sensor.isEmpty else { throw .badMap(argument: argument) }
        self.init(column: column, sensor: sensor)
    }

    public var description: String { "\(column)=\(sensor)" }
}

/// How a recording's columns meet the plant: which column of which file feeds which sensor.
///
/// A column feeds the sensor `--map` names for it, else the sensor whose id is its name; any other
/// column is ignored (one note each). A sensor no column feeds is an error unless it is a GPIO
/// input or `allowUnmapped` is set: it then stays unread (bad), as a disconnected input would.
public struct ColumnPlan: Sendable, Hashable {
    /// Per file (in order): the columns read and the sensors they feed.
    public var feeds: [[ColumnFeed]]
    /// Sensors (ids, plant order) no column feeds.
    public var unread: [String]
    /// Columns (names, first-seen order) that feed no sensor.
    public var ignoredColumns: [String]

    public init(headers: [CSVHeader], plant: PlantConfig, maps: [ColumnMap], allowUnmapped: Bool) throws(ReplayError) {
        var sensorIndex: [String: Int] = [:]
        for (i, s) in plant.sensors.enumerated() { sensorIndex[s.id] = i }
        var mapped: [String: Int] = [:]
        for m in maps {
            guard mapped[m.column] == nil else { throw .mapRepeated(column: m.column) }
            guard let s = sensorIndex[m.sensor] else { throw .mapUnknownSensor(m, sensors: plant.sensors.map(\.id)) }
            if headers.contains(where: { $0.columns[$0.timeColumn] == m.column }) { throw .mapNamesTimeColumn(m) }
            mapped[m.column] = s
        }
        var used: Set<String> = [], ignored: [String] = [], fed = [Bool](repeating: false, count: plant.sensors.count)
        feeds = []
        for h in headers {
            var fileFeeds: [ColumnFeed] = []
            var columnOf: [Int: String] = [:]
            for (i, name) in h.columns.enumerated() where i != h.timeColumn {
                guard let s = mapped[name] ?? sensorIndex[name] else {
                    if !ignored.contains(name) { ignored.append(name) }
                    continue
                }
                if mapped[name] != nil { used.insert(name) }
                if let other = columnOf[s] {
                    throw .sensorFedTwice(file: h.file, sensor: plant.sensors[s].id, columns: [other, name])
                }
                columnOf[s] = name
                fileFeeds.append(ColumnFeed(column: i, sensor: s))
                fed[s] = true
            }
            feeds.append(fileFeeds)
        }
        for m in maps where !used.contains(m.column) { throw .mapColumnMissing(m, files: headers.map(\.file)) }
        let unfed = plant.sensors.indices.filter { !fed[$0] }
        let required = unfed.filter { i in
            if case .gpio = plant.sensors[i].source { return false }
            return true
        }
        if !allowUnmapped && !required.isEmpty { throw .unfedSensors(required.map { plant.sensors[$0].id }) }
        unread = unfed.map { plant.sensors[$0].id }
        ignoredColumns = ignored
    }
}
