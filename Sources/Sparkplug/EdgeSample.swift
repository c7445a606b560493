import VigilCore

/// What the edge node publishes about the controller at one moment: plain arrays in plant config
/// order, so a runtime thread can fill one from a controller snapshot.
public struct EdgeSample: Sendable, Hashable {
    /// When the sample was taken, ms since the Unix epoch (every metric of a message carries it).
    public var timestamp: UInt64
    /// Per sensor (`plant.sensors` order): engineering value (non-finite: sent as null), quality
    /// text (`qualityText(_:)`), health state text (`healthy`, `suspect`, …).
    public var sensorValues: [Double]
    public var sensorQualities: [String]
    public var sensorHealth: [String]
    /// Per redundancy group (`plant.redundancyGroups` order): the value control uses, and the id of
    /// the active source sensor ("" when there is none).
    public var groupValues: [Double]
    public var groupActiveSources: [String]
    /// Per output (`plant.outputs` order): the value driven.
    public var outputs: [Double]
    /// Why the controller is in its safe state; empty when it is not.
    public var safeStateReasons: [String]
    public var trippedInterlocks: [String]
    public var activeAlarms: Int
    public var annunciatedAlarms: Int
    /// nil before any outcome.
    public var trustScore: Double?
    /// The deployed policy model's version; nil without one.
    public var modelVersion: Int?

    public init(timestamp: UInt64, sensorValues: [Double], sensorQualities: [String], sensorHealth: [String],
                groupValues: [Double], groupActiveSources: [String], outputs: [Double], safeStateReasons: [String] = [],
                trippedInterlocks: [String] = [], activeAlarms: Int = 0, annunciatedAlarms: Int = 0,
                trustScore: Double? = nil, modelVersion: Int? = nil) {
        self.timestamp = timestamp
        self.sensorValues = sensorValues
        self.sensorQualities = sensorQualities
        self.sensorHealth = sensorHealth
        self.groupValues = groupValues
        self.groupActiveSources = groupActiveSources
        self.outputs = outputs
        self.safeStateReasons = safeStateReasons
        self.trippedInterlocks = trippedInterlocks
        self.activeAlarms = activeAlarms
        self.annunciatedAlarms = annunciatedAlarms
        self.trustScore = trustScore
        self.modelVersion = modelVersion
    }

    /// A sample of the right shape for `layout` with nothing read yet: values NaN, quality
    /// `bad: not yet read`, health `healthy`, no active source, outputs NaN, no safe state.
    public init(unreadFor layout: SparkplugLayout, timestamp: UInt64) {
        self.init(timestamp: timestamp,
                  sensorValues: Array(repeating: .nan, count: layout.sensorCount),
                  sensorQualities: Array(repeating: Self.qualityText(.bad(.notYetRead)), count: layout.sensorCount),
                  sensorHealth: Array(repeating: "healthy", count: layout.sensorCount),
                  groupValues: Array(repeating: .nan, count: layout.groupCount),
                  groupActiveSources: Array(repeating: "", count: layout.groupCount),
                  outputs: Array(repeating: .nan, count: layout.outputCount))
    }

    /// A reading's quality as published: `good`, `stale` (the age left out, so a held value does not
    /// report every cycle) or `bad: <reason>`.
    public static func qualityText(_ quality: Quality) -> String {
        switch quality {
        case .good: return "good"
        case .stale: return "stale"
        case .bad(let reason): return "bad: \(reason)"
        }
    }
}

/// A sample whose arrays do not match the layout's plant.
public enum SparkplugSampleError: Error, Sendable, Hashable, CustomStringConvertible {
    case countMismatch(field: String, expected: Int, found: Int)

    public var description: String {
        switch self {
        case .countMismatch(let field, let expected, let found): return "EdgeSample.\(field) has \(found) entries, the plant \(expected)"
        }
    }
}

extension EdgeSample {
    func check(against layout: SparkplugLayout) throws(SparkplugSampleError) {
        let counts: [(String, Int, Int)] = [
            ("sensorValues", sensorValues.count, layout.sensorCount),
            ("sensorQualities", sensorQualities.count, layout.sensorCount),
            ("sensorHealth", sensorHealth.count, layout.sensorCount),
            ("groupValues", groupValues.count, layout.groupCount),
            ("groupActiveSources", groupActiveSources.count, layout.groupCount),
            ("outputs", outputs.count, layout.outputCount),
        ]
        for (field, found, expected) in counts where found != expected {
            throw .countMismatch(field: field, expected: expected, found: found)
        }
    }

    /// The sample's value of a metric (`bdSeq`, rebirth and events are the edge node's own state).
    func value(of role: SparkplugMetricRole) -> SparkplugValue? {
        switch role {
        case .bdSeq, .rebirth, .monitorEvent, .alarmEvent: return nil
        case .safeState: return .boolean(!safeStateReasons.isEmpty)
        case .safeStateReasons: return .string(safeStateReasons.joined(separator: ", "))
        case .trippedInterlocks: return .string(trippedInterlocks.joined(separator: ", "))
        case .activeAlarms: return .int32(Int32(clamping: activeAlarms))
        case .annunciatedAlarms: return .int32(Int32(clamping: annunciatedAlarms))
        case .trustScore: return trustScore.map(SparkplugValue.number) ?? .null
        case .modelVersion: return modelVersion.map { .int64(Int64($0)) } ?? .null
        case .groupValue(let g): return .number(groupValues[g])
        case .groupActiveSource(let g): return .string(groupActiveSources[g])
        case .sensorValue(let s): return .number(sensorValues[s])
        case .sensorQuality(let s): return .string(sensorQualities[s])
        case .sensorHealth(let s): return .string(sensorHealth[s])
        case .outputValue(let o): return .number(outputs[o])
        }
    }
}
