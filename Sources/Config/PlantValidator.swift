import VigilCore

/// Checks that span elements: unique ids, overlapping registers, references to devices, points,
/// sensors, outputs, signals and board resources, and consistency of groups and outputs.
///
/// Every lookup goes through indices built once (`Index`), so a check is linear in the size of the
/// plant (`vigil-bench config` measures it).
struct PlantValidator {
    let plant: DecodedPlant
    /// Nil when the plant names no board or its board failed to load.
    let board: BoardConfig?
    /// Whether a board was named but could not be loaded (its own diagnostics say why).
    let boardBroken: Bool
    let sink: DiagnosticSink
    private let index: Index

    init(plant: DecodedPlant, board: BoardConfig?, boardBroken: Bool, sink: DiagnosticSink) {
        self.plant = plant
        self.board = board
        self.boardBroken = boardBroken
        self.sink = sink
        index = Index(plant)
    }

    /// The plant's elements by id, first declaration first (a repeated id is reported by `checkIDs`).
    private struct Index {
        var devices: [String: Int] = [:]
        /// Per device (same order as `plant.devices`): its points by id.
        var points: [[String: Int]] = []
        var sensors: [String: Int] = [:]
        var groups: Set<String> = []
        /// How often each id is declared, per namespace.
        var declarations: [String: [String: Int]] = [:]
        /// Device display names by the key path of their `id`.
        var deviceAtPath: [String: String] = [:]

        init(_ plant: DecodedPlant) {
            for (d, entry) in plant.devices.enumerated() {
                if devices[entry.0.id] == nil { devices[entry.0.id] = d }
                var byID: [String: Int] = [:]
                for (p, point) in entry.0.points.enumerated() where byID[point.id] == nil { byID[point.id] = p }
                points.append(byID)
            }
            for (i, entry) in plant.sensors.enumerated() where sensors[entry.0.id] == nil { sensors[entry.0.id] = i }
            groups = Set(plant.groups.map(\.0.id))
            for (namespace, entries) in plant.declared {
                var counts: [String: Int] = [:]
                for e in entries { counts[e.id, default: 0] += 1 }
                declarations[namespace] = counts
            }
            for e in plant.declared["device"] ?? [] where deviceAtPath[e.path] == nil { deviceAtPath[e.path] = e.id }
        }
    }

    func validate() {
        checkIDs()
        checkDevices()
        checkSensors()
        checkGroups()
        checkOutputs()
        checkLimits()
        checkControls()
        checkGPIOLines()
        checkSections()
        checkConsole()
        checkMQTT()
    }

    /// Limits name either a sensor or a group as their subject, so the two share the `sensor` namespace.
    private func checkIDs() {
        let names = ["signal": "signal name", "device": "device id", "sensor": "sensor or redundancy group id",
                     "output": "output id", "limit": "limit id", "control": "control id",
                     "section": "section id"]
        for (namespace, entries) in plant.declared.sorted(by: { $0.key < $1.key }) {
            let what = names[namespace] ?? "point id within \(deviceName(path: String(namespace.dropFirst("point:".count))))"
            checkUnique(entries.map { ($0.id, $0.path) }, what: what, sink: sink)
        }
    }

    private func deviceName(path: String) -> String {
        index.deviceAtPath[path.key("id")].map { "device \(quoted($0))" } ?? path
    }

    /// Ids declared more than once in a namespace: references to them are ambiguous and not checked.
    private func isAmbiguous(_ namespace: String, _ id: String) -> Bool {
        (index.declarations[namespace]?[id] ?? 0) > 1
    }

    private func checkDevices() {
        let signalNames = Set(plant.signals.map(\.0.name) + plant.process.map(\.0.name))
        checkProcess(signalNames)
        for (device, path, pointPaths) in plant.devices {
            if case .rtu(let settings) = device.transport, !settings.port.hasPrefix("/dev/") {
                checkBoard(path.key("port"), settings.port, exists: board?.serialPort(named: settings.port) != nil,
                           expected: "a serial port of the board (\(board?.serialPorts.map(\.name).joined(separator: ", ") ?? "")) or a /dev/... path")
            }
            checkBackup(device, path: path)
            for (point, pointPath) in zip(device.points, pointPaths) {
                if case .signal(let name)? = point.simulation?.source, !signalNames.contains(name),
                   !plant.broken.contains("signal:" + name) {
                    sink.report(.unresolvedReference, pointPath.key("sim.signal"), found: quoted(name),
                                expected: "a signal named in simulation.signals or simulation.process")
                }
            }
            checkOverlaps(device, pointPaths: pointPaths)
        }
        checkBuses()
    }

    /// A process signal's inputs name existing outputs and signals; a process signal may use only
    /// waveforms and process signals declared before it (evaluation order).
    private func checkProcess(_ signalNames: Set<String>) {
        let outputIDs = Set(plant.outputs.map(\.0.id))
        var earlier = Set(plant.signals.map(\.0.name))
        for (signal, path) in plant.process {
            for (k, term) in signal.terms.enumerated() {
                let at = path.key("inputs[\(k)]")
                switch term.input {
                case .output(let id) where !outputIDs.contains(id) && !plant.broken.contains("output:" + id):
                    sink.report(.unresolvedReference, at.key("output"), found: quoted(id), expected: "an output id of this plant")
                case .signal(let name) where !earlier.contains(name) && !plant.broken.contains("signal:" + name):
                    let expected = signalNames.contains(name) ? "a signal declared before \(quoted(signal.name)) (process signals are evaluated in order)"
                        : "a signal of simulation.signals or an earlier simulation.process entry"
                    sink.report(.unresolvedReference, at.key("signal"), found: quoted(name), expected: expected)
                default: break
                }
            }
            earlier.insert(signal.name)
        }
    }

    /// A backup path must differ from the primary, and a backup serial port must exist like the primary's.
    private func checkBackup(_ device: DeviceConfig, path: String) {
        if let maxPoll = device.maxPollIntervalMilliseconds, maxPoll < device.pollIntervalMilliseconds {
            sink.report(.outOfRange, path.key("max_poll_interval_ms"), found: "\(maxPoll)",
                        expected: "at least poll_interval_ms (\(device.pollIntervalMilliseconds))")
        }
        switch (device.transport, device.backup) {
        case (.tcp(let host, let port), .tcp(let backupHost, let backupPort)?):
            if host == backupHost && port == backupPort {
                sink.report(.inconsistent, path.key("backup"), found: "\(backupHost):\(backupPort), the primary gateway itself",
                            expected: "a second gateway: another host or port than \(host):\(port)")
            }
        case (.rtu(let settings), .rtu(let backup)?):
            if backup.port == settings.port {
                sink.report(.inconsistent, path.key("backup_port"), found: "\(quoted(backup.port)), the primary port itself",
                            expected: "a second serial port, not \(quoted(settings.port))")
            } else if !backup.port.hasPrefix("/dev/") {
                checkBoard(path.key("backup_port"), backup.port, exists: board?.serialPort(named: backup.port) != nil,
                           expected: "a serial port of the board (\(board?.serialPorts.map(\.name).joined(separator: ", ") ?? "")) or a /dev/... path")
            }
            // The line switches as a whole: every device on it must name the same backup line.
            for (other, otherPath, _) in plant.devices where other.id != device.id {
                guard case .rtu(let o) = other.transport, o.port == settings.port else { continue }
                let otherBackup: String? = if case .rtu(let b)? = other.backup { b.port } else { nil }
                if otherBackup != backup.port {
                    sink.report(.inconsistent, path.key("backup_port"), found: "\(quoted(backup.port)) on line \(quoted(settings.port))",
                                expected: "the same backup_port on every device of the line (device \(quoted(other.id)) at \(sink.position(of: otherPath)) has \(otherBackup.map(quoted) ?? "none"))")
                    break
                }
            }
        default:
            break
        }
    }

    /// Devices on one serial line share its settings; one unit id answers per line or TCP endpoint.
    private func checkBuses() {
        var firstOnPort: [String: (DeviceConfig, RTUSettings)] = [:]
        var firstAt: [String: (device: String, path: String)] = [:]
        for (device, path, _) in plant.devices where !isAmbiguous("device", device.id) && !plant.broken.contains("address:" + path) {
            let endpoint: String
            switch device.transport {
            case .rtu(let settings): endpoint = "serial port \(quoted(settings.port))"
            case .tcp(let host, let port): endpoint = "\(host):\(port)"
            }
            if let first = firstAt[endpoint + " \(device.unitID)"] {
                sink.report(.duplicate, path.key("unit_id"),
                            found: "unit \(device.unitID) on \(endpoint) again (device \(quoted(first.device)) at \(sink.position(of: first.path)))",
                            expected: "one device per unit id on a serial port or TCP endpoint")
            } else {
                firstAt[endpoint + " \(device.unitID)"] = (device.id, path.key("unit_id"))
            }
            switch device.transport {
            case .rtu(let settings):
                if let (first, line) = firstOnPort[settings.port] {
                    if (line.baud, line.parity, line.dataBits, line.stopBits) != (settings.baud, settings.parity, settings.dataBits, settings.stopBits) {
                        sink.report(.inconsistent, path.key("port"), found: "\(lineSettings(settings)) on \(quoted(settings.port))",
                                    expected: "\(lineSettings(line)) like device \(quoted(first.id)) on the same line")
                    }
                } else {
                    firstOnPort[settings.port] = (device, settings)
                }
            case .tcp:
                break
            }
        }
    }

    private func lineSettings(_ s: RTUSettings) -> String {
        "\(s.baud) \(s.dataBits)\(s.parity.libmodbusCharacter)\(s.stopBits)"
    }

    /// Reports a point whose registers or bits overlap an earlier point of the same table.
    /// Bit fields may share a register as long as their bits do not overlap.
    private func checkOverlaps(_ device: DeviceConfig, pointPaths: [String]) {
        // A sweep in address order per table: `active` holds the points whose registers reach the
        // current address. Each point is reported once, in declaration order, against the first
        // declared point it overlaps.
        let points = device.points
        let order = points.indices.sorted {
            (points[$0].function.rawValue, points[$0].address, $0) < (points[$1].function.rawValue, points[$1].address, $1)
        }
        var firstOverlapped: [Int: Int] = [:] // later-declared point → earliest-declared point it overlaps
        var active: [Int] = []
        var table: RegisterFunction?
        for j in order {
            let point = points[j]
            if point.function != table { active.removeAll(keepingCapacity: true); table = point.function }
            active.removeAll { points[$0].endAddress <= point.address }
            for i in active {
                if case .bitField(let b1, let w1) = points[i].type, case .bitField(let b2, let w2) = point.type,
                   b1 + w1 <= b2 || b2 + w2 <= b1 {
                    continue
                }
                let (first, second) = i < j ? (i, j) : (j, i)
                firstOverlapped[second] = min(firstOverlapped[second] ?? first, first)
            }
            active.append(j)
        }
        for (second, first) in firstOverlapped.sorted(by: { $0.key < $1.key }) {
            let a = points[first], b = points[second]
            sink.report(.overlap, pointPaths[second].key("address"),
                        found: "\(b.function.rawValue) \(span(b)) overlapping point \(quoted(a.id)) (\(span(a)))",
                        expected: "points that do not share registers or bits")
        }
    }

    private func span(_ point: PointConfig) -> String {
        var text = point.width == 1 ? "\(point.address)" : "\(point.address)...\(point.endAddress - 1)"
        if case .bitField(let bit, let width) = point.type { text += " bits \(bit)...\(bit + width - 1)" }
        return text
    }

    /// Finds a device's point, reporting a missing device or point at `path`.
    private func point(device deviceID: String, point pointID: String, path: String) -> PointConfig? {
        if isAmbiguous("device", deviceID) { return nil }
        guard let d = index.devices[deviceID] else {
            if !plant.broken.contains("device:" + deviceID) {
                sink.report(.unresolvedReference, path.key("device"), found: quoted(deviceID),
                            expected: "a device id (" + plant.devices.map(\.0.id).joined(separator: ", ") + ")")
            }
            return nil
        }
        guard let p = index.points[d][pointID] else {
            if !plant.broken.contains("point:\(deviceID)/\(pointID)") {
                sink.report(.unresolvedReference, path.key("point"), found: quoted(pointID),
                            expected: "a point of device \(quoted(deviceID))")
            }
            return nil
        }
        return plant.devices[d].0.points[p]
    }

    /// Reports a board resource that does not exist; silent when the board itself is broken.
    private func checkBoard(_ path: String, _ name: String, exists: Bool, expected: String) {
        guard !exists, !boardBroken else { return }
        sink.report(.unresolvedReference, path, found: quoted(name),
                    expected: board == nil ? "a board file (board: key or --board) that defines it" : expected)
    }

    private func checkLine(_ path: String, _ name: String) {
        checkBoard(path, name, exists: board?.line(named: name) != nil, expected: "a GPIO line of board \(quoted(board?.name ?? ""))")
    }

    private func checkSensors() {
        for (sensor, path) in plant.sensors {
            switch sensor.source {
            case .point(let device, let pointID): _ = point(device: device, point: pointID, path: path)
            case .gpio(let settings): checkLine(path.key("gpio.line"), settings.line)
            }
        }
    }

    /// The unit a sensor reports in: its own, or its point's.
    private func unit(of sensor: SensorConfig) -> String? {
        if let unit = sensor.unit { return unit }
        guard case .point(let deviceID, let pointID) = sensor.source else { return nil }
        guard let d = index.devices[deviceID], let p = index.points[d][pointID] else { return nil }
        return plant.devices[d].0.points[p].unit
    }

    private func checkGroups() {
        var groupOf: [String: String] = [:]
        for (group, path) in plant.groups {
            var first: SensorConfig?
            for (i, member) in group.members.enumerated() {
                let memberPath = i == 0 ? path.key("primary") : path.key("backups").index(i - 1)
                guard let s = index.sensors[member] else {
                    if !plant.broken.contains("sensor:" + member) {
                        let isGroup = index.groups.contains(member)
                        sink.report(.unresolvedReference, memberPath, found: quoted(member),
                                    expected: isGroup ? "a sensor id, not a redundancy group" : "a sensor id")
                    }
                    continue
                }
                let sensor = plant.sensors[s].0
                if let other = groupOf[member] {
                    sink.report(.duplicate, memberPath, found: "sensor \(quoted(member)) already in group \(quoted(other))",
                                expected: "each sensor in at most one redundancy group")
                    continue
                }
                groupOf[member] = group.id
                if let quantity = group.quantity, sensor.quantity != quantity {
                    sink.report(.inconsistent, memberPath, found: "sensor \(quoted(member)) measuring \(describeOptional(sensor.quantity))",
                                expected: "quantity \(quoted(quantity)) like its group")
                } else if let first, group.quantity == nil, sensor.quantity != first.quantity {
                    sink.report(.inconsistent, memberPath, found: "sensor \(quoted(member)) measuring \(describeOptional(sensor.quantity))",
                                expected: "quantity \(describeOptional(first.quantity)) like \(quoted(first.id))")
                } else if let first, unit(of: sensor) != unit(of: first) {
                    sink.report(.inconsistent, memberPath, found: "sensor \(quoted(member)) in unit \(describeOptional(unit(of: sensor)))",
                                expected: "unit \(describeOptional(unit(of: first))) like \(quoted(first.id))")
                }
                if first == nil { first = sensor }
            }
        }
    }

    private func describeOptional(_ text: String?) -> String { text.map(quoted) ?? "nothing" }

    private func checkOutputs() {
        var targets: [String: String] = [:]
        for (output, path) in plant.outputs {
            let key: String
            let isBinary: Bool
            switch output.target {
            case .point(let deviceID, let pointID):
                guard let point = point(device: deviceID, point: pointID, path: path) else { continue }
                if !point.function.isWritable {
                    sink.report(.inconsistent, path.key("point"),
                                found: "\(quoted(pointID)) in the read-only \(point.function.rawValue) table",
                                expected: "a coil or holding register point")
                }
                key = "point \(quoted(deviceID + "/" + pointID))"
                isBinary = point.type == .bool || point.type == .bitField(bit: point.type.bitFieldBit, width: 1)
            case .gpio(let line, _):
                checkLine(path.key("gpio.line"), line)
                key = "GPIO line \(quoted(line))"
                isBinary = true
            }
            if let other = targets[key] {
                sink.report(.duplicate, path, found: "\(key) already driven by output \(quoted(other))",
                            expected: "one output per point or line")
            } else {
                targets[key] = output.id
            }
            if isBinary {
                for (name, value) in [("initial", output.initial), ("safe", output.safe)] where value != 0 && value != 1 {
                    sink.report(.outOfRange, path.key(name), found: quoted(format(value)), expected: "0 or 1 for a binary output")
                }
            }
        }
    }

    private func checkLimits() {
        let subjects = Set(plant.sensors.map(\.0.id) + plant.groups.map(\.0.id))
        let outputs = Set(plant.outputs.map(\.0.id))
        for (limit, path) in plant.limits {
            if !subjects.contains(limit.subject), !plant.broken.contains("sensor:" + limit.subject) {
                sink.report(.unresolvedReference, path.key("subject"), found: quoted(limit.subject),
                            expected: "a sensor or redundancy group id")
            }
            for (i, output) in limit.safeOutputs.enumerated()
            where !outputs.contains(output) && !plant.broken.contains("output:" + output) {
                sink.report(.unresolvedReference, path.key("safe_outputs").index(i), found: quoted(output), expected: "an output id")
            }
        }
    }

    /// A control reads a sensor or group that exists and drives an output no other control drives.
    private func checkControls() {
        let subjects = Set(plant.sensors.map(\.0.id) + plant.groups.map(\.0.id))
        let outputs = Set(plant.outputs.map(\.0.id))
        var driver: [String: (id: String, path: String)] = [:]
        for (control, path) in plant.controls {
            if !subjects.contains(control.input), !plant.broken.contains("sensor:" + control.input) {
                sink.report(.unresolvedReference, path.key("input"), found: quoted(control.input),
                            expected: "a sensor or redundancy group id (no sensor or group \(quoted(control.input)) is defined)")
            }
            guard outputs.contains(control.output) || plant.broken.contains("output:" + control.output) else {
                sink.report(.unresolvedReference, path.key("output"), found: quoted(control.output), expected: "an output id")
                continue
            }
            if let first = driver[control.output] {
                sink.report(.duplicate, path.key("output"),
                            found: "output \(quoted(control.output)) already driven by control \(quoted(first.id)) (at \(sink.position(of: first.path)))",
                            expected: "one control per output")
            } else {
                driver[control.output] = (control.id, path.key("output"))
            }
        }
    }

    /// A GPIO line is requested once: as one sensor's input or as one output.
    private func checkGPIOLines() {
        var inputs: [String: String] = [:]
        for (sensor, path) in plant.sensors {
            guard case .gpio(let settings) = sensor.source else { continue }
            if let other = inputs[settings.line] {
                sink.report(.duplicate, path.key("gpio.line"), found: "line \(quoted(settings.line)) already read by sensor \(quoted(other))",
                            expected: "each GPIO line requested once")
            } else {
                inputs[settings.line] = sensor.id
            }
        }
        for (output, path) in plant.outputs {
            guard case .gpio(let line, _) = output.target, let sensor = inputs[line] else { continue }
            sink.report(.inconsistent, path.key("gpio.line"), found: "line \(quoted(line)) also read by sensor \(quoted(sensor))",
                        expected: "a line used either as input or as output")
        }
    }
}

extension PointDataType {
    /// The first bit of a bit field, 0 for other types.
    var bitFieldBit: Int {
        if case .bitField(let bit, _) = self { return bit }
        return 0
    }
}
