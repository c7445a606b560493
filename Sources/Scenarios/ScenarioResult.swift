import Foundation

/// A fault as it was really applied: the cycles the driver saw when it applied and removed it.
public struct InjectedRecord: Sendable, Hashable, Codable {
    public var target: String
    public var kind: String
    public var startCycle: UInt64
    public var endCycle: UInt64?
    enum CodingKeys: String, CodingKey { case target, kind, startCycle = "start_cycle", endCycle = "end_cycle" }
}

/// A `.detection` event from the journal.
public struct DetectionRecord: Sendable, Hashable, Codable {
    public var cycle: UInt64
    /// The sensor (or device) the finding is about.
    public var sensor: String
    /// `FindingKind` name, or `code N` for a code this build does not know.
    public var kind: String
    public var statistic: Double
    public var threshold: Double
    public var severity: String
}

/// Detections of one subject at severity ≥ warning, taken together as one diagnosis.
/// A root cause the monitor settled on: `cause` (sensorFault, deviceFault, busFault,
/// processExcursion, configurationError), the finding kind of its evidence and its statistic.
public struct DiagnosisRecord: Sendable, Hashable, Codable {
    public var cycle: UInt64
    public var target: String
    public var cause: String
    public var evidence: String
    public var statistic: Double
    /// The journal's severity: `alarm` for a safety-severity diagnosis, else `warning`.
    public var severity: String
}

public struct FailoverRecord: Sendable, Hashable, Codable {
    public var cycle: UInt64
    public var group: String
    public var from: String
    public var to: String
}

public struct RepairRecord: Sendable, Hashable, Codable {
    public var cycle: UInt64
    public var target: String
    public var strategy: String
    public var verified: Bool
}

public struct EscalationRecord: Sendable, Hashable, Codable {
    public var cycle: UInt64
    public var target: String
    public var reason: String
}

public struct InterlockRecord: Sendable, Hashable, Codable {
    public var cycle: UInt64
    public var id: String
    public var tripped: Bool
    public var value: Double
}

public struct SafeStateRecord: Sendable, Hashable, Codable {
    public var cycle: UInt64
    public var entered: Bool
    public var reason: String
}

/// The intervention policy forced the outputs depending on `target` to their safe values (latched
/// until an operator resets the safe state).
public struct SafeOutputsRecord: Sendable, Hashable, Codable {
    public var cycle: UInt64
    public var target: String
    public var outputs: Int
}

/// A new alarm (ISA-18.2): one per root cause, however many escalations it counted.
public struct AlarmRecord: Sendable, Hashable, Codable {
    public var cycle: UInt64
    public var id: UInt64
    /// The sensor, device, group or section the alarm is keyed by.
    public var target: String
    /// minor, major or safety (the highest severity the alarm reached).
    public var priority: String
}

/// One expectation judged: pass or fail, and a sentence saying what was expected and what happened.
public struct ExpectationResult: Sendable, Hashable, Codable {
    public var passed: Bool
    public var sentence: String
}

/// One sample of the controller, taken by the runner once per cycle (when it keeps up).
public struct TraceSample: Sendable, Hashable {
    public var cycle: UInt64
    /// By sensor index; NaN when the reading was not usable.
    public var sensors: [Double]
    /// By output index.
    public var outputs: [Double]
    /// By redundancy group index: the value the group hands to control (NaN when none).
    public var groupValues: [Double]
    public var trippedInterlocks: [String]
    public var inSafeState: Bool
    /// By device index: reached over its backup path, and the poll interval in use (ms).
    public var devicesOnBackup: [Bool] = []
    public var devicePollIntervals: [Int] = []
    /// By redundancy group: the sensor control follows (nil: unknown).
    public var activeSources: [String?] = []
    /// By output: latched safe by the intervention policy (empty: unknown).
    public var latchedOutputs: [Bool] = []
}

/// What came of running one scenario.
public struct ScenarioResult: Sendable, Codable {
    public enum Status: String, Sendable, Hashable, Codable { case passed, failed, skipped }
    /// Which time the run took place in: virtual (simulated devices and manual clocks, exactly
    /// reproducible) or real (loopback sockets, ptys and the host's clock).
    public enum Clock: String, Sendable, Hashable, Codable { case virtual, realtime }

    public var name: String
    public var file: String
    public var status: Status
    /// Why the scenario was skipped.
    public var skipReason: String?
    public var cycles: UInt64
    public var periodMilliseconds: Double
    public var seed: UInt64
    public var clock: Clock = .virtual
    /// The cycle the plant left its start-up safe state (nil: never).
    public var firstGoodCycle: UInt64?
    public var injected: [InjectedRecord] = []
    public var detections: [DetectionRecord] = []
    public var diagnoses: [DiagnosisRecord] = []
    public var failovers: [FailoverRecord] = []
    public var repairs: [RepairRecord] = []
    public var escalations: [EscalationRecord] = []
    public var interlocks: [InterlockRecord] = []
    public var safeStates: [SafeStateRecord] = []
    public var safeOutputsForced: [SafeOutputsRecord] = []
    public var alarms: [AlarmRecord] = []
    public var expectations: [ExpectationResult] = []

    // Not in the JSON report: the traces (drawn in the SVG), every event in words (NAME.events.txt)
    // and the plant's names.
    public var samples: [TraceSample] = []
    public var eventLog: [String] = []
    public var sensorIDs: [String] = []
    public var outputIDs: [String] = []
    public var groups: [(id: String, members: [String])] { zip(groupIDs, groupMembers).map { ($0, $1) } }
    public var groupIDs: [String] = []
    public var groupMembers: [[String]] = []
    public var deviceIDs: [String] = []
    /// Sensors worth a panel of their own besides the groups (fault targets, limit subjects).
    public var keySensors: [String] = []
    /// Limit lines for the plot: (subject, label, level).
    public var limitLines: [LimitLine] = []

    public struct LimitLine: Sendable, Hashable {
        public var subject: String
        public var label: String
        public var level: Double
    }

    public var passedCount: Int { expectations.filter(\.passed).count }
    public var failedCount: Int { expectations.count - passedCount }

    enum CodingKeys: String, CodingKey {
        case name, file, status, cycles, seed, clock, injected, detections, diagnoses, failovers, repairs, escalations, interlocks, expectations
        case skipReason = "skip_reason", periodMilliseconds = "period_ms", firstGoodCycle = "first_good_cycle", safeStates = "safe_states"
        case safeOutputsForced = "safe_outputs_forced", alarms
    }
}
