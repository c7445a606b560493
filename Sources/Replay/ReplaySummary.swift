import VigilCore
import Monitor
import Kernel

/// `summary.json`: what a replay read, ran and found. Everything but `timing` is the same on every
/// run of the same plant and files.
public struct ReplaySummary: Codable, Sendable, Hashable {
    public struct Timing: Codable, Sendable, Hashable {
        /// Checking the CSV files (their first read).
        public var readSeconds: Double
        /// Stepping the kernel, which reads the files' rows again, and writing the streamed files.
        public var replaySeconds: Double
        public var stepsPerSecond: Double
    }

    public struct Section: Codable, Sendable, Hashable {
        /// Samples the model was fitted from (nil: still learning at the end).
        public var trainedSamples: Int?
        /// Plant seconds from the start when the model went live (nil: never).
        public var liveAtSeconds: Double?
        public var t2Findings: Int
        public var speFindings: Int
    }

    public var plant: String
    public var files: [String]
    public var timeFormat: String
    public var rowsRead: Int
    public var steps: Int64
    public var periodMilliseconds: Double
    public var plantSeconds: Double
    public var timing: Timing
    /// Raised findings by sensor id, then finding kind.
    public var findingsBySensor: [String: [String: Int]]
    /// Raised findings by device id, then finding kind.
    public var findingsByDevice: [String: [String: Int]]
    public var failovers: Int
    public var failbacks: Int
    public var escalations: Int
    /// Distinct alarms raised.
    public var alarmsRaised: Int
    public var interlockTrips: Int
    public var sections: [String: Section]
    public var eventsBySeverity: [String: Int]
    /// Events the kernel could not hold in one step (should be 0).
    public var eventsDropped: UInt64
    /// Sensors no column fed (unread, bad, the whole run).
    public var unreadSensors: [String]
    /// Columns that fed no sensor.
    public var ignoredColumns: [String]
    /// The version of the policy model run on every step (`vN`), nil when none was.
    public var policyModel: String?
    /// The policy model's confirmed verdicts by sensor id, then class name.
    public var modelVerdictsBySensor: [String: [String: Int]]

    init(run: ReplayRun, result: ReplayResult, readNanoseconds: UInt64) {
        let names = run.kernel.names
        plant = run.plant.name
        files = run.recording.files.map(\.file)
        timeFormat = run.recording.timeFormat.rawValue
        rowsRead = result.rowsRead
        steps = result.steps
        periodMilliseconds = Double(run.periodNanoseconds) / 1e6
        plantSeconds = Double(result.plantNanoseconds) / 1e9
        timing = Timing(readSeconds: Double(readNanoseconds) / 1e9, replaySeconds: Double(result.wallNanoseconds) / 1e9,
                        stepsPerSecond: result.stepsPerSecond.rounded())
        // Counted by index while folding (events can number millions), named once at the end.
        let kinds = FindingKind.allCases
        func kindIndex(_ k: FindingKind) -> Int { kinds.firstIndex(of: k) ?? 0 }
        var sensorCounts = [[Int]](repeating: [Int](repeating: 0, count: kinds.count), count: run.plant.sensors.count)
        var deviceCounts = [[Int]](repeating: [Int](repeating: 0, count: kinds.count), count: run.plant.devices.count)
        var sectionFindings = [(t2: Int, spe: Int)](repeating: (0, 0), count: run.plant.sections.count)
        var severityCounts = [Int](repeating: 0, count: EventSeverity.allCases.count)
        var failovers = 0, failbacks = 0, escalations = 0, trips = 0
        let classes = run.policyModel?.schema.classes ?? []
        var verdictCounts = [[Int]](repeating: [Int](repeating: 0, count: classes.count), count: classes.isEmpty ? 0 : run.plant.sensors.count)
        var alarms: Set<UInt64> = []
        for e in result.events {
            severityCounts[Int(e.severity.rawValue)] += 1
            switch e.event {
            case .findingRaised(.sensor(let i), let kind, _, _) where Int(i) < sensorCounts.count: sensorCounts[Int(i)][kindIndex(kind)] += 1
            case .findingRaised(.device(let i), let kind, _, _) where Int(i) < deviceCounts.count: deviceCounts[Int(i)][kindIndex(kind)] += 1
            case .findingRaised(.section(let i), let kind, _, _) where Int(i) < sectionFindings.count:
                if kind == .multivariateT2 { sectionFindings[Int(i)].t2 += 1 } else { sectionFindings[Int(i)].spe += 1 }
            case .failover: failovers += 1
            case .failback: failbacks += 1
            case .escalation: escalations += 1
            case .modelVerdict(let sensor, let diagnosis, _, _)
                where Int(sensor) < verdictCounts.count && Int(diagnosis) >= 0 && Int(diagnosis) < classes.count:
                verdictCounts[Int(sensor)][Int(diagnosis)] += 1
            case .interlockTripped: trips += 1
            case .alarm(let change) where !change.removed: alarms.insert(change.id)
            default: break
            }
        }
        func named(_ counts: [[Int]], _ category: SubjectTable.Category) -> [String: [String: Int]] {
            var out: [String: [String: Int]] = [:]
            for (i, row) in counts.enumerated() where row.contains(where: { $0 > 0 }) {
                var byKind: [String: Int] = [:]
                for (k, n) in row.enumerated() where n > 0 { byKind["\(kinds[k])"] = n }
                out[names.name(category, Int32(i))] = byKind
            }
            return out
        }
        findingsBySensor = named(sensorCounts, .sensor)
        findingsByDevice = named(deviceCounts, .device)
        self.failovers = failovers
        self.failbacks = failbacks
        self.escalations = escalations
        alarmsRaised = alarms.count
        interlockTrips = trips
        var severities: [String: Int] = [:]
        for (k, n) in severityCounts.enumerated() where n > 0 { severities["\(EventSeverity.allCases[k])"] = n }
        var sections: [String: Section] = [:]
        for (s, config) in run.plant.sections.enumerated() {
            sections[config.id] = Section(
                trainedSamples: result.trainedSamples[s],
                liveAtSeconds: result.sectionLiveNanoseconds[s].map { Double($0 - ReplayRun.epochNanoseconds) / 1e9 },
                t2Findings: sectionFindings[s].t2, speFindings: sectionFindings[s].spe)
        }
        self.sections = sections
        eventsBySeverity = severities
        eventsDropped = result.eventsDropped
        unreadSensors = run.recording.plan.unread
        policyModel = run.policyModel.map { "v\($0.lineage.version)" }
        var verdicts: [String: [String: Int]] = [:]
        for (i, row) in verdictCounts.enumerated() where row.contains(where: { $0 > 0 }) {
            var byClass: [String: Int] = [:]
            for (c, n) in row.enumerated() where n > 0 { byClass[classes[c]] = n }
            verdicts[names.name(.sensor, Int32(i))] = byClass
        }
        modelVerdictsBySensor = verdicts
        ignoredColumns = run.recording.plan.ignoredColumns
    }

    /// Findings of every kind on every sensor, device and section.
    public var findingCount: Int {
        findingsBySensor.values.reduce(0) { $0 + $1.values.reduce(0, +) } + findingsByDevice.values.reduce(0) { $0 + $1.values.reduce(0, +) }
            + sections.values.reduce(0) { $0 + $1.t2Findings + $1.speFindings }
    }
}
