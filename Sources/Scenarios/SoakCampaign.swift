import Foundation
import HIL
import Kernel
import Monitor
import VigilCore

// `vigil hil soak`: a plant-day in virtual time. The demo plant (or any plant file) runs with its
// own cycle and poll intervals against a `VirtualRig`; faults drawn from the scenario vocabulary
// (sensor, device, line, gateway, process excursion) land at random moments, last a random while,
// and are separated by random fault-free stretches. Everything the controller does is scored
// against what was injected. Seeded: the same seed gives the same day, event for event.

/// How the soak is drawn.
public struct SoakOptions: Sendable, Hashable {
    public var hours: Double = 24
    public var seed: UInt64 = 1
    /// Fault-free stretch between two faults (after the settle time), seconds.
    public var quietSeconds: ClosedRange<Double> = 300...1_200
    /// How long a fault lasts, seconds.
    public var faultSeconds: ClosedRange<Double> = 30...300
    /// After a fault is removed, this long still belongs to it (recovery, probation, alarm returns).
    public var settleSeconds: Double = 120
    /// A detection within this long after a fault's end still counts as its detection.
    public var graceSeconds: Double = 10
    /// The plant runs this long before the first fault (warm-up, sections trained).
    public var warmupSeconds: Double = 120

    public init(hours: Double = 24, seed: UInt64 = 1) {
        self.hours = hours
        self.seed = seed
    }
}

/// One injected fault and what the controller made of it.
public struct SoakEpisode: Sendable, Hashable, Codable {
    public var index: Int
    public var kind: String
    public var target: String
    public var onsetSeconds: Double
    public var endSeconds: Double
    /// Whether it is a fault at all (a process excursion is not).
    public var isFault: Bool
    /// It broke a path the device was not using (a dead primary gateway or line after an earlier
    /// switch to the backup): nothing to see until that path is needed, so not scored.
    public var onIdlePath: Bool = false
    public var detected: Bool = false
    public var detectionDelaySeconds: Double?
    /// The monitor named the right root cause about the right subject (or failed over away from it).
    public var isolated: Bool = false
    public var firstDetection: String?
    public var diagnosis: String?
    public var failovers: Int = 0
    public var alarms: Int = 0
}

/// Figures per kind of fault.
public struct SoakKindFigures: Sendable, Hashable, Codable {
    public var kind: String
    public var injected: Int
    public var detected: Int
    public var isolated: Int
    public var delayMedianSeconds: Double?
    public var delayP90Seconds: Double?
    public var delayMaxSeconds: Double?
}

/// What a soak found.
public struct SoakReport: Sendable, Codable {
    public var plant: String
    public var seed: UInt64
    public var plantHours: Double
    public var cycles: UInt64
    public var periodMilliseconds: Double
    public var faultsInjected: Int
    public var faultsDetected: Int
    public var faultsIsolated: Int
    public var excursions: Int
    /// Faults on a path no device was using when they began (not scored).
    public var faultsOnIdlePaths: Int
    public var kinds: [SoakKindFigures]
    /// Failovers away from a sensor no fault was affecting (fault-free stretches included).
    public var falseFailovers: Int
    public var failovers: Int
    /// Each false failover and false alarm, in words (cycle, time, subject).
    public var falseFailoverList: [String]
    public var falseAlarmList: [String]
    /// Alarms about nothing a fault was affecting.
    public var falseAlarms: Int
    public var alarms: Int
    /// Alarms raised while no fault was in force (or settling), per 10 minutes of such time.
    public var faultFreeAlarmRatePer10Minutes: Double
    public var faultFreeMinutes: Double
    /// EEMUA 191: at most one alarm per 10 minutes in steady operation.
    public var meetsEEMUA191: Bool
    public var escalations: Int
    public var interlockTrips: Int
    public var plantWideSafeStates: Int
    public var episodes: [SoakEpisode]
    /// Measured on this host, not part of the deterministic result.
    public var host: SoakHost

    public struct SoakHost: Sendable, Codable {
        public var wallSeconds: Double
        public var cyclesPerSecond: Double
        public var speedUp: Double
        public var residentMegabytesAtStart: Double
        public var residentMegabytesAtEnd: Double
        public var peakResidentMegabytes: Double
    }
}

/// Runs one soak.
public struct SoakCampaign {
    public let plant: PlantConfig
    public let board: BoardConfig?
    public let boardFile: String?
    public let options: SoakOptions

    public init(plant: PlantConfig, board: BoardConfig?, boardFile: String?, options: SoakOptions) {
        self.plant = plant
        self.board = board
        self.boardFile = boardFile
        self.options = options
    }

    /// A fault the soak can draw, with what it affects (the subjects whose findings, failovers and
    /// alarms belong to it) and what isolating it means.
    struct Draw {
        var fault: ScheduledFault
        var kindName: String
        var targetName: String
        /// Subjects (sensors, devices, groups, sections) the fault affects.
        var affected: Set<String>
        /// Subjects whose detection counts as detecting it.
        var detectedBy: Set<String>
        /// Accepted diagnoses: (subject, cause).
        var isolatedBy: [(String, RootCause)]
        /// Failing over away from this sensor isolates it too.
        var failoverFrom: String?
        var isFault: Bool
    }

    /// Runs the day; `progress(hoursDone)` is called every plant-hour, `log(line)` with every event
    /// in words (with its cycle and plant time) and every fault applied and removed.
    public func run(progress: (Double) -> Void = { _ in }, log: ((String) -> Void)? = nil) throws -> SoakReport {
        let wallStart = Date()
        let rssStart = Self.residentMegabytes()
        let controller = try VirtualController(plant: plant, board: board, boardFile: boardFile, seed: options.seed,
                                               pacing: .paced, options: KernelOptions(sectionFitting: .inline))
        let injector = FaultInjector(rig: controller.rig)
        let names = controller.kernel.names
        let period = Double(controller.periodNanoseconds) / 1e9
        let totalCycles = UInt64((options.hours * 3600 / period).rounded())
        func cycle(_ seconds: Double) -> UInt64 { UInt64((seconds / period).rounded()) }

        // Relations between subjects: a device's sensors, a sensor's device and group, a line's devices.
        var deviceSensors: [String: [String]] = [:], sensorDevice: [String: String] = [:], sensorGroup: [String: String] = [:]
        for s in plant.sensors {
            if case .point(let d, _) = s.source { deviceSensors[d, default: []].append(s.id); sensorDevice[s.id] = d }
        }
        for g in plant.redundancyGroups { for m in g.members { sensorGroup[m] = g.id } }
        var lineDevices: [String: [String]] = [:]
        for d in plant.devices { if case .rtu(let s) = d.transport { lineDevices[s.port, default: []].append(d.id) } }
        func withContext(_ sensors: [String]) -> Set<String> {
            var out = Set(sensors)
            for s in sensors { if let g = sensorGroup[s] { out.insert(g) } }
            for section in plant.sections where section.sensors.contains(where: sensors.contains) { out.insert(section.id) }
            return out
        }

        // The vocabulary, as draws the random schedule picks from.
        let modbusSensors = plant.sensors.filter { if case .point = $0.source { true } else { false } }
        let tcpDevices = plant.devices.filter { if case .tcp = $0.transport { true } else { false } }.map(\.id)
        let gateways = plant.devices.filter { if case .tcp? = $0.backup { true } else { false } }.map(\.id)
        var random = SeededRandom(seed: options.seed &* 0x9E37_79B9_7F4A_7C15 &+ 17)
        func uniform(_ r: ClosedRange<Double>) -> Double { r.lowerBound + (r.upperBound - r.lowerBound) * Double(random.next() >> 11) / Double(1 << 53) }
        func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
        func draw(at onset: UInt64, until end: UInt64) -> Draw {
            let kinds = ["stuck", "bias", "drift", "spike", "noise", "dropout", "device-timeout", "device-exception", "device-delay",
                         "device-disconnect", "line-corrupt", "line-break", "gateway-disconnect", "excursion"]
                .filter { k in
                    switch k {
                    case "line-corrupt", "line-break": return !lineDevices.isEmpty
                    case "gateway-disconnect": return !gateways.isEmpty
                    case "excursion": return !plant.simulationSignals.isEmpty && !plant.redundancyGroups.isEmpty
                    case "device-disconnect": return !tcpDevices.isEmpty
                    default: return !modbusSensors.isEmpty
                    }
                }
            let kind = pick(kinds)
            switch kind {
            case "stuck", "bias", "drift", "spike", "noise", "dropout":
                let s = pick(modbusSensors)
                let span = s.rangeMax - s.rangeMin
                var p = FaultParameters()
                let faultKind: FaultKind
                switch kind {
                case "stuck": faultKind = .stuck
                case "bias": faultKind = .bias; p.value = (random.next() % 2 == 0 ? 1 : -1) * uniform(0.03...0.10) * span
                case "drift": faultKind = .drift; p.ratePerSecond = (random.next() % 2 == 0 ? 1 : -1) * uniform(0.0005...0.005) * span
                case "spike": faultKind = .spike; p.magnitude = uniform(0.2...0.5) * span; p.samples = 1 + Int(random.next() % 3)
                case "noise": faultKind = .noise; p.magnitude = uniform(0.02...0.05) * span
                default: faultKind = .dropout
                }
                let device = sensorDevice[s.id] ?? ""
                // A dropout is an exception on the point's registers: its read block's neighbours go bad too.
                let affected = kind == "dropout" ? withContext(deviceSensors[device] ?? [s.id]).union([device]) : withContext([s.id])
                return Draw(fault: ScheduledFault(at: onset, until: end, target: .sensor(s.id), kind: faultKind, parameters: p),
                            kindName: kind, targetName: s.id, affected: affected, detectedBy: [s.id],
                            isolatedBy: [(s.id, .sensorFault), (s.id, .deviceFault)], failoverFrom: s.id, isFault: true)
            case "device-timeout", "device-exception", "device-delay", "device-disconnect":
                let d = kind == "device-disconnect" ? pick(tcpDevices) : pick(plant.devices.map(\.id))
                var p = FaultParameters()
                let faultKind: FaultKind
                switch kind {
                case "device-timeout": faultKind = .timeout
                case "device-exception": faultKind = .exception
                case "device-delay": faultKind = .delay; p.milliseconds = Int(uniform(20...80))
                default: faultKind = .disconnect
                }
                let sensors = deviceSensors[d] ?? []
                return Draw(fault: ScheduledFault(at: onset, until: end, target: .device(d), kind: faultKind, parameters: p),
                            kindName: kind, targetName: d, affected: withContext(sensors).union([d]), detectedBy: Set(sensors + [d]),
                            isolatedBy: [(d, .deviceFault), (d, .busFault)] + sensors.map { ($0, .deviceFault) }, failoverFrom: nil,
                            isFault: true)
            case "line-corrupt", "line-break":
                let (port, devices) = pick(lineDevices.sorted { $0.key < $1.key })
                var p = FaultParameters()
                if kind == "line-corrupt" { p.probability = uniform(0.3...0.9) }
                let sensors = devices.flatMap { deviceSensors[$0] ?? [] }
                return Draw(fault: ScheduledFault(at: onset, until: end, target: .line(port), kind: kind == "line-corrupt" ? .corrupt : .timeout,
                                                  parameters: p),
                            kindName: kind, targetName: port, affected: withContext(sensors).union(devices), detectedBy: Set(sensors + devices),
                            isolatedBy: devices.flatMap { [($0, RootCause.deviceFault), ($0, .busFault)] } + sensors.map { ($0, .deviceFault) },
                            failoverFrom: nil, isFault: true)
            case "gateway-disconnect":
                let d = pick(gateways)
                let sensors = deviceSensors[d] ?? []
                return Draw(fault: ScheduledFault(at: onset, until: end, target: .gateway(d), kind: .disconnect),
                            kindName: kind, targetName: d, affected: withContext(sensors).union([d]), detectedBy: Set(sensors + [d]),
                            isolatedBy: [(d, .deviceFault), (d, .busFault)] + sensors.map { ($0, .deviceFault) }, failoverFrom: nil, isFault: true)
            default: // excursion: the process itself moves; every member of the group follows
                let group = pick(plant.redundancyGroups)
                let signal = plant.devices.flatMap(\.points).first { p in
                    plant.sensors.contains { s in
                        if case .point(_, p.id) = s.source { return group.members.contains(s.id) } else { return false }
                    }
                }?.simulation.flatMap { sim -> String? in if case .signal(let n) = sim.source { n } else { nil } }
                let name = signal ?? plant.simulationSignals[0].name
                let spanOfGroup = plant.sensors.first { $0.id == group.primary }.map { $0.rangeMax - $0.rangeMin } ?? 1
                var p = FaultParameters()
                p.magnitude = (random.next() % 2 == 0 ? 1 : -1) * uniform(0.03...0.08) * spanOfGroup
                return Draw(fault: ScheduledFault(at: onset, until: end, target: .signal(name), kind: .excursion, parameters: p),
                            kindName: "excursion", targetName: name, affected: withContext(group.members), detectedBy: [],
                            isolatedBy: [(group.id, .processExcursion)], failoverFrom: nil, isFault: false)
            }
        }

        // The schedule.
        var draws: [Draw] = []
        var t = options.warmupSeconds
        let totalSeconds = options.hours * 3600
        while true {
            let length = uniform(options.faultSeconds)
            guard t + length + options.settleSeconds < totalSeconds else { break }
            draws.append(draw(at: cycle(t), until: cycle(t + length)))
            t += length + options.settleSeconds + uniform(options.quietSeconds)
        }
        for d in draws { try injector.validate(d.fault) }

        var episodes = draws.enumerated().map { i, d in
            SoakEpisode(index: i, kind: d.kindName, target: d.targetName, onsetSeconds: Double(d.fault.at) * period,
                        endSeconds: Double(d.fault.until ?? d.fault.at) * period, isFault: d.isFault)
        }
        let settle = cycle(options.settleSeconds), grace = cycle(options.graceSeconds)
        /// Episodes in force (or settling) at cycle c.
        func active(_ c: UInt64) -> [Int] {
            draws.indices.filter { draws[$0].fault.at < c && c <= (draws[$0].fault.until ?? 0) + settle }
        }
        var failovers = 0, falseFailovers = 0, alarms = 0, falseAlarms = 0, faultFreeAlarms = 0, escalations = 0
        var interlockTrips = 0, safeStates = 0
        var seenAlarms = Set<UInt64>()
        var falseFailoverList: [String] = [], falseAlarmList: [String] = []
        func when(_ c: UInt64) -> String { String(format: "cycle %llu (%.1f s)", c, Double(c) * period) }
        var faultFreeCycles: UInt64 = 0

        let text = EventText(names: names)
        controller.start()
        var next = 0, removeAt: [(UInt64, Int)] = []
        var settled = false
        for c in UInt64(1)...max(1, totalCycles) {
            while next < draws.count, draws[next].fault.at < c {
                episodes[next].onIdlePath = isOnIdlePath(draws[next].fault.target, controller)
                log?("\(when(c))  FAULT \(draws[next].kindName) \(draws[next].targetName) applied (#\(next))"
                     + (episodes[next].onIdlePath ? ", on a path not in use" : ""))
                try injector.apply(draws[next].fault, index: next)
                removeAt.append((draws[next].fault.until ?? totalCycles, next))
                next += 1
            }
            if let k = removeAt.firstIndex(where: { $0.0 < c }) {
                let (_, i) = removeAt.remove(at: k)
                log?("\(when(c))  FAULT \(draws[i].kindName) \(draws[i].targetName) removed (#\(i))")
                try injector.remove(draws[i].fault, index: i)
            }
            controller.step()
            let now = active(c)
            if now.isEmpty && settled { faultFreeCycles += 1 }
            for e in controller.kernel.events {
                if let log {
                    switch e.event {
                    case .findingCleared, .modelVerdict, .alarm: break
                    default: log("\(when(c))  \(text.describe(e.event))")
                    }
                }
                switch e.event {
                case .safeStateLeft(.startup): settled = true
                case .findingRaised(let subject, _, _, _):
                    let name = names.name(subject)
                    for i in now where !episodes[i].detected && draws[i].detectedBy.contains(name)
                        && c <= (draws[i].fault.until ?? 0) + grace {
                        episodes[i].detected = true
                        episodes[i].detectionDelaySeconds = Double(c - draws[i].fault.at) * period
                        episodes[i].firstDetection = "\(name)"
                    }
                case .diagnosis(let subject, let cause, _, _, _):
                    let name = names.name(subject)
                    for i in now where !episodes[i].isolated && draws[i].isolatedBy.contains(where: { $0.0 == name && $0.1 == cause }) {
                        episodes[i].isolated = true
                        episodes[i].diagnosis = "\(cause.scenarioName) about \(name)"
                    }
                case .failover(_, let from, _, false):
                    failovers += 1
                    let name = names.name(.sensor, from)
                    let owners = now.filter { draws[$0].affected.contains(name) && draws[$0].isFault }
                    if owners.isEmpty {
                        falseFailovers += 1
                        falseFailoverList.append("\(when(c)): failover away from \(name)" + (now.isEmpty ? " (no fault in force)"
                            : " (in force: " + now.map { "\(draws[$0].kindName) \(draws[$0].targetName)" }.joined(separator: ", ") + ")"))
                    }
                    for i in owners {
                        episodes[i].failovers += 1
                        if draws[i].failoverFrom == name && !episodes[i].isolated {
                            episodes[i].isolated = true
                            episodes[i].diagnosis = "failover away from \(name)"
                        }
                    }
                case .alarm(let a) where !a.removed && seenAlarms.insert(a.id).inserted:
                    alarms += 1
                    let name = names.name(EventCodec.category(a.key.scope), a.key.index)
                    let owners = now.filter { draws[$0].affected.contains(name) }
                    if owners.isEmpty {
                        falseAlarms += 1
                        falseAlarmList.append("\(when(c)): alarm #\(a.id) \(name) (\(a.severity.scenarioName))" + (now.isEmpty ? " (no fault in force)"
                            : " (in force: " + now.map { "\(draws[$0].kindName) \(draws[$0].targetName)" }.joined(separator: ", ") + ")"))
                    }
                    if now.isEmpty && settled { faultFreeAlarms += 1 }
                    for i in owners { episodes[i].alarms += 1 }
                case .escalation: escalations += 1
                case .interlockTripped: if settled { interlockTrips += 1 }
                case .safeStateEntered(let reason) where reason != .startup && reason != .shutdown: safeStates += 1
                default: break
                }
            }
            if c % UInt64((3600 / period).rounded()) == 0 { progress(Double(c) * period / 3600) }
        }
        controller.stop()

        let kinds = Array(Set(episodes.map(\.kind))).sorted().map { kind -> SoakKindFigures in
            let e = episodes.filter { $0.kind == kind && !$0.onIdlePath }
            let delays = e.compactMap(\.detectionDelaySeconds).sorted()
            func quantile(_ q: Double) -> Double? { delays.isEmpty ? nil : delays[min(delays.count - 1, Int((Double(delays.count - 1) * q).rounded()))] }
            return SoakKindFigures(kind: kind, injected: e.count, detected: e.filter(\.detected).count, isolated: e.filter(\.isolated).count,
                                   delayMedianSeconds: quantile(0.5), delayP90Seconds: quantile(0.9), delayMaxSeconds: delays.last)
        }
        let faults = episodes.filter { $0.isFault && !$0.onIdlePath }
        let faultFreeMinutes = Double(faultFreeCycles) * period / 60
        let rate = faultFreeMinutes > 0 ? Double(faultFreeAlarms) / (faultFreeMinutes / 10) : 0
        let wall = Date().timeIntervalSince(wallStart)
        return SoakReport(plant: plant.name, seed: options.seed, plantHours: options.hours, cycles: totalCycles,
                          periodMilliseconds: period * 1000, faultsInjected: faults.count, faultsDetected: faults.filter(\.detected).count,
                          faultsIsolated: faults.filter(\.isolated).count, excursions: episodes.filter { !$0.isFault }.count,
                          faultsOnIdlePaths: episodes.filter(\.onIdlePath).count, kinds: kinds,
                          falseFailovers: falseFailovers, failovers: failovers, falseFailoverList: falseFailoverList,
                          falseAlarmList: falseAlarmList, falseAlarms: falseAlarms, alarms: alarms,
                          faultFreeAlarmRatePer10Minutes: rate, faultFreeMinutes: faultFreeMinutes, meetsEEMUA191: rate <= 1,
                          escalations: escalations, interlockTrips: interlockTrips, plantWideSafeStates: safeStates, episodes: episodes,
                          host: .init(wallSeconds: wall, cyclesPerSecond: Double(totalCycles) / max(wall, 1e-9),
                                      speedUp: options.hours * 3600 / max(wall, 1e-9), residentMegabytesAtStart: rssStart,
                                      residentMegabytesAtEnd: Self.residentMegabytes(), peakResidentMegabytes: Self.residentMegabytes(peak: true)))
    }

    /// Whether a fault breaks a path its device is not using now (after an earlier path switch).
    func isOnIdlePath(_ target: FaultTarget, _ controller: VirtualController) -> Bool {
        let onBackup = controller.devicesOnBackup
        func device(_ id: String) -> Int? { plant.devices.firstIndex { $0.id == id } }
        switch target {
        case .gateway(let id): return device(id).map { onBackup[$0] } ?? false
        case .backupGateway(let id): return device(id).map { !onBackup[$0] } ?? false
        case .line(let port):
            let primaries = plant.devices.indices.filter { if case .rtu(let s) = plant.devices[$0].transport { s.port == port } else { false } }
            let backups = plant.devices.indices.filter { if case .rtu(let s)? = plant.devices[$0].backup { s.port == port } else { false } }
            let users = primaries.filter { !onBackup[$0] } + backups.filter { onBackup[$0] }
            return users.isEmpty && !(primaries + backups).isEmpty
        default: return false
        }
    }

    /// This process's resident set (VmRSS) or its peak (VmHWM), in MB, from /proc (0 where unknown).
    static func residentMegabytes(peak: Bool = false) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        let key = peak ? "VmHWM:" : "VmRSS:"
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key) }) else { return 0 }
        let kB = Double(line.split(separator: " ").dropFirst().first.map(String.init) ?? "") ?? 0
        return kB / 1024
    }
}

extension SoakReport {
    /// The report in words: the figures a plant engineer asks about first.
    public var summary: String {
        var lines: [String] = []
        lines.append("soak of \(plant): \(format(plantHours)) plant-hours (\(cycles) cycles of \(format(periodMilliseconds)) ms), seed \(seed)")
        lines.append("faults injected \(faultsInjected), detected \(faultsDetected), isolated \(faultsIsolated); process excursions \(excursions)"
                     + (faultsOnIdlePaths > 0 ? "; \(faultsOnIdlePaths) more on a path not in use (not scored)" : ""))
        lines.append("kind                 injected detected isolated  delay median / p90 / max (s)")
        for k in kinds {
            let delays = [k.delayMedianSeconds, k.delayP90Seconds, k.delayMaxSeconds].map { $0.map { String(format: "%.2f", $0) } ?? "-" }.joined(separator: " / ")
            lines.append(k.kind.padding(toLength: 20, withPad: " ", startingAt: 0) + String(format: " %8d %8d %8d  ", k.injected, k.detected, k.isolated) + delays)
        }
        lines.append("failovers \(failovers), of them false (away from a sensor no fault affected) \(falseFailovers)")
        lines.append("alarms \(alarms), of them false (about nothing a fault affected) \(falseAlarms)")
        lines.append(String(format: "alarm rate in fault-free stretches: %.3f per 10 minutes over %.0f minutes (EEMUA 191: at most 1) — %@",
                            faultFreeAlarmRatePer10Minutes, faultFreeMinutes, meetsEEMUA191 ? "met" : "NOT met"))
        lines.append("escalations \(escalations), interlock trips \(interlockTrips), plant-wide safe states \(plantWideSafeStates)")
        lines.append(String(format: "host: %.1f s wall, %.0f cycles/s, %.0f× real time; memory %.1f MB at start, %.1f MB at end, peak %.1f MB",
                            host.wallSeconds, host.cyclesPerSecond, host.speedUp, host.residentMegabytesAtStart, host.residentMegabytesAtEnd,
                            host.peakResidentMegabytes))
        for line in (falseFailoverList + falseAlarmList).prefix(20) { lines.append("  false: " + line) }
        let missed = episodes.filter { $0.isFault && !$0.onIdlePath && !$0.detected }
        if !missed.isEmpty {
            lines.append("not detected: " + missed.prefix(12).map { "\($0.kind) \($0.target) at \(Int($0.onsetSeconds)) s" }.joined(separator: ", ")
                         + (missed.count > 12 ? ", …" : ""))
        }
        return lines.joined(separator: "\n")
    }
}
