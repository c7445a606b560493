import Config
import EdgeNode
import Foundation
import HIL
import Journal
import Kernel
import Testing
import VigilCore
#if canImport(Glibc)
import Glibc
#endif

/// Vigil's Sparkplug B edge node end to end: the real `vigil run` on the simulated rig, a real
/// Mosquitto broker on loopback, and a third-party host (`hil/mqtt/sparkplug-host.py`, pysparkplug
/// over paho-mqtt) that decodes what Vigil publishes and sends rebirth requests and writes.
/// Everything real-time is polled with deadlines of tens of seconds.
@Suite(.serialized) struct SparkplugEndToEndTests {
    static let root = RunBinaryTests.root
    static let python = root + "/.build-py/bin/python"
    static let group = "e2e-plant", edgeNode = "station-1", clientID = "vigil-e2e"
    /// The demo plant's only output driven by a PID loop: the only one a host write can reach.
    static let writable = "pump1-speed"

    // MARK: Children

    /// A child process with its output collected to files and, optionally, a pipe to its standard input.
    final class Child {
        let process = Process()
        let outPath: String, errPath: String
        private let input: Pipe?

        init(_ executable: String, _ arguments: [String], in directory: String, name: String, withInput: Bool = false) throws {
            outPath = directory + "/\(name).out"
            errPath = directory + "/\(name).err"
            _ = FileManager.default.createFile(atPath: outPath, contents: nil)
            _ = FileManager.default.createFile(atPath: errPath, contents: nil)
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: SparkplugEndToEndTests.root)
            process.standardOutput = FileHandle(forWritingAtPath: outPath)
            process.standardError = FileHandle(forWritingAtPath: errPath)
            if withInput {
                // A child that exits while a line is on its way must not take the test runner with it.
                signal(SIGPIPE, SIG_IGN)
                let pipe = Pipe()
                process.standardInput = pipe
                input = pipe
            } else {
                process.standardInput = FileHandle.nullDevice
                input = nil
            }
            try process.run()
        }

        deinit { kill9() }

        var pid: Int32 { process.processIdentifier }
        var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

        /// One line to its standard input (nothing once it has exited: SIGPIPE is ignored, see `init`).
        func type(_ line: String) {
            guard process.isRunning else { return }
            try? input?.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
        }

        func terminate() -> Int32 {
            if process.isRunning { kill(pid, SIGTERM) }
            process.waitUntilExit()
            return process.terminationStatus
        }

        func kill9() {
            guard process.isRunning else { return }
            kill(pid, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// The third-party host: its JSON lines read as they come, commands typed on its standard input.
    final class Host {
        let child: Child
        let path: String
        private var offset = 0
        private var partial = Data()
        private(set) var records: [[String: Any]] = []

        init(broker: MosquittoBroker, in directory: String) throws {
            path = directory + "/host.jsonl"
            child = try Child(SparkplugEndToEndTests.python,
                              [SparkplugEndToEndTests.root + "/hil/mqtt/sparkplug-host.py", "--broker", broker.url, "--out", path,
                               "--node", "\(SparkplugEndToEndTests.group)/\(SparkplugEndToEndTests.edgeNode)", "--control", "-"],
                              in: directory, name: "host", withInput: true)
        }

        /// Reads the lines written since the last call.
        func refresh() {
            guard let handle = FileHandle(forReadingAtPath: path) else { return }
            defer { try? handle.close() }
            try? handle.seek(toOffset: UInt64(offset))
            let data = handle.readDataToEndOfFile()
            offset += data.count
            partial.append(data)
            while let newline = partial.firstIndex(of: 0x0A) {
                let line = partial[partial.startIndex..<newline]
                partial = Data(partial[(newline + 1)...])
                if let object = try? JSONSerialization.jsonObject(with: line) as? [String: Any] { records.append(object) }
            }
        }

        /// The index of the first record after `index` that satisfies `condition`, once one arrives
        /// (nil after `seconds`: a deadline, not a synchronisation).
        func first(after index: Int = -1, within seconds: Double = 60, where condition: ([String: Any]) -> Bool) -> Int? {
            var found: Int?
            _ = SparkplugEndToEndTests.poll(within: seconds) {
                refresh()
                found = records.indices.first { $0 > index && condition(records[$0]) }
                return found != nil
            }
            return found
        }

        func command(_ line: String) { child.type(line) }

        /// Asks the host to quit; kills it if it does not.
        func stop() {
            child.type("quit")
            if !SparkplugEndToEndTests.poll(within: 20, { !child.process.isRunning }) { child.kill9() }
            refresh()
        }
    }

    // MARK: Helpers

    /// Polls `condition` every 100 ms until it holds or `seconds` pass.
    static func poll(within seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000) // polling with a deadline, not synchronising on time
        }
        return condition()
    }

    static func typeOf(_ r: [String: Any]) -> String? { r["type"] as? String }
    static func event(_ r: [String: Any]) -> String? { r["event"] as? String }
    static func metrics(_ r: [String: Any]) -> [[String: Any]] { r["metrics"] as? [[String: Any]] ?? [] }
    static func metric(_ r: [String: Any], _ name: String) -> [String: Any]? { metrics(r).first { $0["name"] as? String == name } }
    static func isHistorical(_ r: [String: Any]) -> Bool { metrics(r).contains { $0["is_historical"] as? Bool == true } }

    /// The demo plant on `rig`, with an `mqtt:` section for `broker`, in `directory`.
    static func plantFile(rig: SimulatedRig, broker: MosquittoBroker, in directory: String) throws -> String {
        var text = rig.configText(rewriting: try String(contentsOfFile: root + "/configs/demo-pump-station.yaml", encoding: .utf8),
                                  configDirectory: root + "/configs")
        text += """

            mqtt:
              brokers: [\(broker.url)]
              client_id: \(clientID)
              group: \(group)
              edge_node: \(edgeNode)
              publish_interval_ms: 100
              writable_outputs: [\(writable)]

            """
        let path = directory + "/plant.yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func temporaryDirectory(_ name: String) throws -> String {
        let dir = NSTemporaryDirectory() + "vigil-\(name)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func requirePrerequisites() throws {
        try #require(FileManager.default.isExecutableFile(atPath: RunBinaryTests.binary), "build the binary first: swift build")
        try #require(MosquittoBroker.isInstalled, "no /usr/sbin/mosquitto: run scripts/install-deps (Debian package mosquitto)")
        try #require(FileManager.default.isExecutableFile(atPath: Self.python),
                     "no .build-py venv with pysparkplug: run scripts/install-deps (it runs `/usr/bin/python3 -m venv .build-py && .build-py/bin/pip install pysparkplug==0.6.1`)")
    }

    /// Device id → the metric names its DBIRTH must carry, from the plant (Modbus devices in plant
    /// order, then `gpio`; sensors' value, quality and health, then outputs).
    static func expectedDevices(_ plant: PlantConfig) -> [(id: String, metrics: Set<String>)] {
        (plant.devices.map(\.id) + ["gpio"]).compactMap { device in
            var names: Set<String> = []
            for sensor in plant.sensors {
                switch sensor.source {
                case .point(let d, _) where d == device: break
                case .gpio where device == "gpio": break
                default: continue
                }
                names.formUnion(["Sensors/\(sensor.id)/Value", "Sensors/\(sensor.id)/Quality", "Sensors/\(sensor.id)/Health"])
            }
            for output in plant.outputs {
                switch output.target {
                case .point(let d, _) where d == device: break
                case .gpio where device == "gpio": break
                default: continue
                }
                names.insert("Outputs/\(output.id)/Value")
            }
            return names.isEmpty ? nil : (device, names)
        }
    }

    static func expectedNodeMetrics(_ plant: PlantConfig) -> Set<String> {
        var names: Set<String> = ["bdSeq", "Node Control/Rebirth", "Controller/Safe State", "Controller/Safe State Reasons",
                                  "Controller/Tripped Interlocks", "Controller/Active Alarms", "Controller/Annunciated Alarms",
                                  "Controller/Trust Score", "Controller/Model Version", "Events/Monitor", "Events/Alarm"]
        for g in plant.redundancyGroups { names.formUnion(["Groups/\(g.id)/Value", "Groups/\(g.id)/Active Source"]) }
        return names
    }

    /// The latest value of a node metric the host saw (NBIRTH or NDATA), nil when none yet.
    static func latestNodeValue(_ records: [[String: Any]], _ name: String) -> Any? {
        for r in records.reversed() where typeOf(r) == "NBIRTH" || typeOf(r) == "NDATA" {
            if let m = metric(r, name) { return m["value"] }
        }
        return nil
    }

    // MARK: Interop

    /// The host decodes NBIRTH (bdSeq, every node metric), a DBIRTH per device with every sensor's
    /// value, unit, quality and health, then DDATA; a rebirth request gives NBIRTH again with seq 0
    /// and the same bdSeq; a write to the writable output reaches the rig's device and is audited;
    /// a write to another output, and one during safe state, are refused and not applied; SIGTERM
    /// gives NDEATH with the session's bdSeq, and after `kill -9` the broker publishes the will.
    @Test func aThirdPartyHostDecodesBirthsDataCommandsAndDeaths() throws {
        try requirePrerequisites()
        let dir = try Self.temporaryDirectory("sparkplug-interop")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let broker = try MosquittoBroker()
        let plant = try ConfigLoader.loadPlant(path: Self.root + "/configs/demo-pump-station.yaml").plant
        let rig = try SimulatedRig(plant: plant, ports: .ephemeral, pacing: .unpaced, seed: 5)
        defer { rig.stop() }
        let config = try Self.plantFile(rig: rig, broker: broker, in: dir)
        let journalPath = dir + "/journal.sqlite"
        let host = try Host(broker: broker, in: dir)
        defer { host.stop() }
        try #require(host.first(within: 30) { Self.event($0) == "subscribed" } != nil, "the host did not subscribe: \(host.child.stderr)")

        let run = try Child(RunBinaryTests.binary, ["run", "--config", config, "--journal", journalPath, "--mock-gpio", "--console", "stdio"],
                            in: dir, name: "vigil", withInput: true)
        defer { run.kill9() }

        // NBIRTH: seq 0, bdSeq, every node metric; then one DBIRTH per device, then data.
        let birthIndex = try #require(host.first(within: 90) { Self.typeOf($0) == "NBIRTH" }, "no NBIRTH: \(run.stderr.suffix(3000))")
        let nbirth = host.records[birthIndex]
        let bdSeq = try #require(nbirth["bdSeq"] as? Int, "NBIRTH without bdSeq: \(nbirth)")
        #expect(nbirth["seq"] as? Int == 0)
        #expect(nbirth["group"] as? String == Self.group && nbirth["node"] as? String == Self.edgeNode)
        #expect(Set(Self.metrics(nbirth).compactMap { $0["name"] as? String }) == Self.expectedNodeMetrics(plant))
        let groupProperties = Self.metric(nbirth, "Groups/discharge-pressure/Value")?["properties"] as? [String: Any] ?? [:]
        #expect(groupProperties["engUnit"] as? String == "bar" && groupProperties["engLow"] as? Double == 0
                && groupProperties["engHigh"] as? Double == 16, "\(groupProperties)")
        #expect(Self.metric(nbirth, "Node Control/Rebirth")?["datatype"] as? String == "BOOLEAN")

        let devices = Self.expectedDevices(plant)
        #expect(devices.map(\.id) == ["pump-plc", "tank-io", "rtu-temps", "gpio"])
        func checkDeviceBirths(after index: Int) -> Int? {
            var last = index
            for (n, device) in devices.enumerated() {
                guard let i = host.first(after: index, within: 30, where: { Self.typeOf($0) == "DBIRTH" && $0["device"] as? String == device.id }) else {
                    Issue.record("no DBIRTH for \(device.id)")
                    return nil
                }
                let birth = host.records[i]
                #expect(birth["seq"] as? Int == n + 1, "DBIRTHs follow NBIRTH in device order: \(device.id)")
                #expect(Set(Self.metrics(birth).compactMap { $0["name"] as? String }) == device.metrics, "\(device.id)")
                for sensor in plant.sensors where device.metrics.contains("Sensors/\(sensor.id)/Value") {
                    let value = Self.metric(birth, "Sensors/\(sensor.id)/Value")
                    #expect(value?["datatype"] as? String == "DOUBLE", "\(sensor.id)")
                    #expect(value?["value"] as? Double != nil || value?["is_null"] as? Bool == true, "\(sensor.id): \(value ?? [:])")
                    let properties = value?["properties"] as? [String: Any] ?? [:]
                    #expect(properties["engUnit"] as? String == sensor.unit, "\(sensor.id): \(properties)")
                    #expect(properties["engLow"] as? Double == sensor.rangeMin && properties["engHigh"] as? Double == sensor.rangeMax, "\(sensor.id)")
                    let quality = Self.metric(birth, "Sensors/\(sensor.id)/Quality")?["value"] as? String ?? "-"
                    #expect(quality == "good" || quality == "stale" || quality.hasPrefix("bad: "), "\(sensor.id): quality \(quality)")
                    let health = Self.metric(birth, "Sensors/\(sensor.id)/Health")?["value"] as? String ?? "-"
                    #expect(["healthy", "suspect", "faulty", "quarantined", "probation"].contains(health), "\(sensor.id): health \(health)")
                }
                for output in plant.outputs where device.metrics.contains("Outputs/\(output.id)/Value") {
                    let properties = Self.metric(birth, "Outputs/\(output.id)/Value")?["properties"] as? [String: Any] ?? [:]
                    #expect(properties["writable"] as? Bool == (output.id == Self.writable), "\(output.id): \(properties)")
                }
                last = max(last, i)
            }
            return last
        }
        let birthsEnd = try #require(checkDeviceBirths(after: birthIndex))
        let ddata = try #require(host.first(after: birthIndex, within: 30) { Self.typeOf($0) == "DDATA" }, "no DDATA")
        #expect(ddata > birthsEnd, "DDATA only after every DBIRTH")
        // What was sampled before the first connection comes as history; then live data.
        let live = try #require(host.first(after: birthIndex, within: 30) { Self.typeOf($0) == "DDATA" && !Self.isHistorical($0) }, "no live DDATA")
        #expect(host.records[ddata...live].filter { Self.typeOf($0) == "DDATA" }.allSatisfy { r in
            Self.metrics(r).allSatisfy { $0["name"] is String && $0["datatype"] is String && $0["timestamp"] != nil }
        }, "DDATA metrics resolved by alias from the DBIRTH")

        // The controller leaves its start-up safe state.
        #expect(Self.poll(within: 90) { host.refresh(); return Self.latestNodeValue(host.records, "Controller/Safe State") as? Bool == false },
                "the controller never left safe state: \(run.stderr.suffix(3000))")
        // Every message of the session so far is numbered 0, 1, 2, … from the NBIRTH (mod 256).
        host.refresh()
        let session = host.records[birthIndex...].filter { Self.typeOf($0) != nil && Self.typeOf($0) != "NCMD" && Self.typeOf($0) != "DCMD" }
        #expect(session.enumerated().allSatisfy { $0.element["seq"] as? Int == $0.offset % 256 },
                "seq runs 0, 1, 2, …: \(session.prefix(12).map { "\(Self.typeOf($0) ?? "") \($0["seq"] ?? "-")" })")

        // Rebirth: NBIRTH again, seq 0, the same bdSeq (same MQTT session), then the DBIRTHs, now with good readings.
        let beforeRebirth = host.records.count - 1
        host.command("rebirth")
        let rebirth = try #require(host.first(after: beforeRebirth, within: 30) { Self.typeOf($0) == "NBIRTH" }, "no NBIRTH after a rebirth request")
        #expect(host.records[rebirth]["seq"] as? Int == 0)
        #expect(host.records[rebirth]["bdSeq"] as? Int == bdSeq)
        _ = checkDeviceBirths(after: rebirth)
        if let i = host.first(after: rebirth, within: 30, where: { Self.typeOf($0) == "DBIRTH" && $0["device"] as? String == "pump-plc" }) {
            let pt = Self.metric(host.records[i], "Sensors/PT-101A/Value")?["value"] as? Double ?? .nan
            #expect(pt > 5 && pt < 7, "discharge pressure about 6 bar: \(pt)")
            #expect(Self.metric(host.records[i], "Sensors/PT-101A/Quality")?["value"] as? String == "good")
        }

        // A write to an output the plant file does not open to hosts is refused before any check;
        // the write that follows it to the writable output reaches the device and is audited.
        let valve = rig.device("tank-io")!.currentValue(ofPoint: "inlet_valve_position")
        host.command("write tank-io Outputs/inlet-valve/Value 10")
        host.command("write pump-plc Outputs/\(Self.writable)/Value 42.5")
        #expect(Self.poll(within: 30) { abs((rig.device("pump-plc")!.currentValue(ofPoint: "pump1_speed_setpoint") ?? -1) - 42.5) < 0.05 },
                "the write reached the device: \(run.stderr.suffix(2000))")
        let journal = try Journal(path: journalPath)
        func hostAudit() -> [AuditEntry] { ((try? journal.auditLog(limit: 1_000)) ?? []).map(\.value).filter { $0.source == "mqtt:\(Self.clientID)" } }
        #expect(Self.poll(within: 30) { hostAudit().contains { $0.command.contains("output \(Self.writable) 42.5") && $0.result.hasPrefix("ok") } },
                "audit: \(hostAudit())")
        #expect(!hostAudit().contains { $0.command.contains("inlet-valve") }, "a write to an output not open to hosts reaches no check")
        #expect(run.stderr.contains("host command on spBv1.0/\(Self.group)/DCMD/\(Self.edgeNode)/tank-io refused"), "\(run.stderr.suffix(2000))")
        #expect(rig.device("tank-io")!.currentValue(ofPoint: "inlet_valve_position") == valve, "the refused write changed nothing")
        #expect(host.first(within: 30) { r in
            Self.typeOf(r) == "DDATA" && (Self.metric(r, "Outputs/\(Self.writable)/Value")?["value"] as? Double).map { abs($0 - 42.5) < 1e-9 } == true
        } != nil, "the host sees the output it wrote")

        // Safe state (an operator at the console): a host write is refused, audited, and not applied.
        run.type("login operator")
        #expect(Self.poll(within: 30) { run.stdout.contains("PIN: ") }, "\(run.stdout.suffix(500))")
        run.type("1111")
        #expect(Self.poll(within: 30) { run.stdout.contains("logged in as operator") }, "\(run.stdout.suffix(500))")
        run.type("safe-state enter")
        #expect(Self.poll(within: 30) { host.refresh(); return Self.latestNodeValue(host.records, "Controller/Safe State") as? Bool == true },
                "the host sees safe state: \(run.stdout.suffix(500))")
        host.command("write pump-plc Outputs/\(Self.writable)/Value 30")
        #expect(Self.poll(within: 30) {
            hostAudit().contains { $0.command.contains("output \(Self.writable) 30") && $0.result.hasPrefix("refused") && $0.result.contains("safe state") }
        }, "audit: \(hostAudit())")
        #expect(Self.poll(within: 30) { rig.device("pump-plc")!.currentValue(ofPoint: "pump1_speed_setpoint") == 0 }, "the output holds its safe value")
        #expect(run.stderr.contains("host write \(Self.writable) = 30.0 refused"), "\(run.stderr.suffix(2000))")

        #expect(!host.records.contains { r in
            Self.typeOf(r) == "DDATA" && (Self.metric(r, "Outputs/\(Self.writable)/Value")?["value"] as? Double).map { abs($0 - 30) < 1e-9 } == true
        }, "the refused value never reached the output")

        // SIGTERM: NDEATH with the session's bdSeq.
        let beforeStop = host.records.count - 1
        #expect(run.terminate() == 0, "\(run.stderr.suffix(2000))")
        let death = try #require(host.first(after: beforeStop, within: 30) { Self.typeOf($0) == "NDEATH" }, "no NDEATH after SIGTERM")
        #expect(host.records[death]["bdSeq"] as? Int == bdSeq)
        #expect(run.stderr.contains("MQTT: edge node stopped: "), "\(run.stderr.suffix(1000))")

        // kill -9: the broker publishes the will, NDEATH with the bdSeq of that session's NBIRTH.
        let beforeSecond = host.records.count - 1
        let second = try Child(RunBinaryTests.binary, ["run", "--config", config, "--journal", journalPath, "--mock-gpio", "--console", "none"],
                               in: dir, name: "vigil-2")
        defer { second.kill9() }
        let secondBirth = try #require(host.first(after: beforeSecond, within: 90) { Self.typeOf($0) == "NBIRTH" }, "\(second.stderr.suffix(2000))")
        let secondBdSeq = try #require(host.records[secondBirth]["bdSeq"] as? Int)
        #expect(secondBdSeq == bdSeq + 1, "the second run (same journal) counts bdSeq on from the first's connection")
        second.kill9()
        let will = try #require(host.first(after: secondBirth, within: 60) { Self.typeOf($0) == "NDEATH" }, "the broker published no will")
        #expect(host.records[will]["bdSeq"] as? Int == secondBdSeq)
        #expect(host.records.allSatisfy { Self.event($0) != "undecodable" }, "\(host.records.filter { Self.event($0) == "undecodable" }.prefix(3))")
    }

    // MARK: Reliability

    /// The broker is killed (`kill -9`) and restarted on the same port ~10 s later, while the rig
    /// raises an alarm and the monitor fails a gateway over: after the edge node reconnects, its
    /// NBIRTH comes before the backlog, the backlog (historical) covers the outage without gaps,
    /// every journal event published during the run reaches the subscriber once, in order, and the
    /// outbox empties.
    @Test func brokerKilledAndRestartedLosesNoReadingsEventsOrAlarms() throws {
        try requirePrerequisites()
        let dir = try Self.temporaryDirectory("sparkplug-outage")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let broker = try MosquittoBroker()
        let plant = try ConfigLoader.loadPlant(path: Self.root + "/configs/demo-pump-station.yaml").plant
        let rig = try SimulatedRig(plant: plant, ports: .ephemeral, pacing: .unpaced, seed: 5)
        defer { rig.stop() }
        let config = try Self.plantFile(rig: rig, broker: broker, in: dir)
        let journalPath = dir + "/journal.sqlite"
        let host = try Host(broker: broker, in: dir)
        defer { host.stop() }
        try #require(host.first(within: 30) { Self.event($0) == "subscribed" } != nil, "the host did not subscribe: \(host.child.stderr)")
        let run = try Child(RunBinaryTests.binary, ["run", "--config", config, "--journal", journalPath, "--mock-gpio", "--console", "none"],
                            in: dir, name: "vigil")
        defer { run.kill9() }

        try #require(host.first(within: 90) { Self.typeOf($0) == "NBIRTH" } != nil, "no NBIRTH: \(run.stderr.suffix(3000))")
        try #require(Self.poll(within: 90) { host.refresh(); return Self.latestNodeValue(host.records, "Controller/Safe State") as? Bool == false },
                     "the controller never left safe state: \(run.stderr.suffix(3000))")
        let journal = try Journal(path: journalPath)
        try #require(Self.poll(within: 60) { (try? journal.outboxState().kept) == 0 }, "the start-up backlog never drained")
        // Every published event after this one must reach the host (the edge node's cursor is at or before it).
        let baseline = try journal.lastEventID()
        func failures() -> Int {
            run.stderr.components(separatedBy: "\n").filter { $0.contains("MQTT: cannot connect to") || $0.contains("refused or unreachable") }.count
        }

        // The outage: the broker vanishes; the rig raises the discharge pressure above its 10 bar
        // interlock (an alarm-kind event: the interlock trips) and the pump PLC's first gateway dies
        // (monitor events: diagnosis, health, failover).
        host.refresh()
        let beforeOutage = host.records.count - 1
        let killed = Date()
        broker.kill9()
        let injector = FaultInjector(rig: rig)
        let excursion = ScheduledFault(at: 0, target: .signal("discharge_pressure"), kind: .excursion, parameters: FaultParameters(value: 11.0))
        let gateway = ScheduledFault(at: 0, target: .gateway("pump-plc"), kind: .disconnect)
        try injector.apply(excursion, index: 0)
        try injector.apply(gateway, index: 1)
        func published(after id: Int64) -> [StoredEvent] { (try? journal.events(after: id, kinds: EdgeSampling.publishedKinds, limit: 100_000)) ?? [] }
        #expect(Self.poll(within: 120) {
            let events = published(after: baseline)
            return events.contains { EdgeSampling.alarmKinds.map(\.journalName).contains($0.kindName) }
                && events.contains { EdgeSampling.monitorKinds.map(\.journalName).contains($0.kindName) }
        }, "the faults raised no alarm or monitor event: \(published(after: baseline).map(\.kindName))")
        try injector.remove(excursion, index: 0)
        // Restart right after a failed attempt made at least 5 s into the outage: the edge node's
        // back-off (1 s doubling) then gives the host, which retries every 0.5 s, seconds to
        // subscribe again before the edge node's next attempt.
        _ = Self.poll(within: 5) { false }
        let failed = failures()
        #expect(Self.poll(within: 120) { failures() > failed }, "no further attempt: \(run.stderr.suffix(2000))")
        let keptDuringOutage = (try? journal.outboxState().kept) ?? 0
        let eventsDuringOutage = published(after: baseline)
        try broker.restart()
        let restarted = Date()
        try #require(host.first(after: beforeOutage, within: 60) { Self.event($0) == "subscribed" } != nil, "the host did not subscribe again")
        #expect(keptDuringOutage > 0, "messages went to the outbox while the broker was down")

        // The edge node reconnects, sends NBIRTH, then its backlog as history; the outbox empties.
        let rebirth = try #require(host.first(after: beforeOutage, within: 120) { Self.typeOf($0) == "NBIRTH" },
                                   "no NBIRTH after the broker came back: \(run.stderr.suffix(3000))")
        #expect(Self.poll(within: 120) { (try? journal.outboxState().kept) == 0 }, "the outbox never drained: \(run.stderr.suffix(2000))")
        // Live again (a message without history after the backlog), and every event journalled so far received.
        let endEvents = published(after: baseline)
        func receivedEventIDs() -> [Int64] {
            host.records.filter { Self.typeOf($0) == "NDATA" }.flatMap { r in
                Self.metrics(r).filter { ($0["name"] as? String)?.hasPrefix("Events/") == true }.compactMap { m -> Int64? in
                    guard let text = m["value"] as? String, let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { return nil }
                    return (object["id"] as? NSNumber)?.int64Value
                }
            }
        }
        #expect(Self.poll(within: 60) { host.refresh(); return Set(endEvents.map(\.id)).isSubset(of: Set(receivedEventIDs())) },
                "events not received: \(Set(endEvents.map(\.id)).subtracting(receivedEventIDs()).sorted())")
        let stoppedAt = host.records.count
        #expect(run.terminate() == 0, "\(run.stderr.suffix(2000))")
        host.refresh()
        let records = Array(host.records[..<stoppedAt])

        // NBIRTH first, then the history.
        let historical = records.indices.filter { $0 > beforeOutage && Self.isHistorical(records[$0]) }
        #expect(!historical.isEmpty, "the backlog was sent as history")
        #expect(historical.allSatisfy { $0 > rebirth }, "no historical message before the NBIRTH after reconnect")
        // Every event once in order (a message whose acknowledgement died with the broker may come twice).
        var firstSeen: [Int64] = []
        for id in receivedEventIDs() where !firstSeen.contains(id) { firstSeen.append(id) }
        let expected = endEvents.map(\.id)
        #expect(firstSeen == firstSeen.sorted(), "events in journal order: \(firstSeen)")
        #expect(firstSeen.filter { $0 > baseline && $0 <= (expected.last ?? 0) } == expected, "expected \(expected), got \(firstSeen)")
        #expect(eventsDuringOutage.count > 0)
        let outageEvents = Set(eventsDuringOutage.map(\.id))
        #expect(outageEvents.isSubset(of: Set(firstSeen)), "events written during the outage arrive as history")

        // No message lost between the edge node and the host: the session after the reconnect is
        // numbered without a gap from its NBIRTH (seq 0, 1, …, mod 256), the outbox dropped nothing,
        // and the host received as many historical messages as the edge node sent from its outbox.
        let after = records[rebirth...].filter { Self.typeOf($0) != nil && Self.typeOf($0) != "NCMD" && Self.typeOf($0) != "DCMD" }
        let seqs = after.compactMap { $0["seq"] as? Int }
        #expect(seqs.count == after.count && zip(seqs, seqs.dropFirst()).allSatisfy { $1 == ($0 + 1) % 256 },
                "seq after the reconnect: \(seqs.prefix(20))…")
        let counters = run.stderr.components(separatedBy: "\n").last { $0.contains("MQTT: edge node stopped: ") } ?? ""
        func count(_ label: String) -> Int? {
            guard let r = counters.range(of: #"(\d+) "# + label, options: .regularExpression) else { return nil }
            return Int(counters[r].split(separator: " ")[0])
        }
        let fromOutbox = try #require(count("from the outbox"), "\(counters)")
        #expect(count("stored").map { $0 > 0 } == true && count("dropped for space") == 0, "\(counters)")
        #expect(records.filter(Self.isHistorical).count == fromOutbox, "historical messages received, of \(fromOutbox) sent: \(counters)")

        // The readings cover the outage: from the last data before the kill to the first after the
        // restart, no gap between data timestamps wider than 50 publish intervals. (Data is sampled
        // every 100 ms; a busy machine that stops the whole controller for a few seconds, as its
        // cycle watchdog then reports, is the only thing expected to open a gap beyond a few.)
        let stamps = records.filter { Self.typeOf($0) == "NDATA" || Self.typeOf($0) == "DDATA" }
            .compactMap { r in Self.metrics(r).compactMap { ($0["timestamp"] as? NSNumber)?.int64Value }.max() }.sorted()
        let from = Int64(killed.timeIntervalSince1970 * 1000), to = Int64(restarted.timeIntervalSince1970 * 1000)
        let first = try #require(stamps.last { $0 <= from }, "no data before the kill")
        let last = try #require(stamps.first { $0 >= to }, "no data after the restart")
        let window = stamps.filter { $0 >= first && $0 <= last }
        let gaps = zip(window, window.dropFirst()).map { $1 - $0 }
        #expect((gaps.max() ?? .max) <= 5_000,
                "largest gap \(gaps.max() ?? -1) ms in \(window.count) data messages over an outage of \(to - from) ms")
        #expect(records.allSatisfy { Self.event($0) != "undecodable" }, "\(records.filter { Self.event($0) == "undecodable" }.prefix(3))")
    }
}
