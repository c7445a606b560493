import VigilCore
import Monitor

/// Cycle-level status published every cycle (a trivial value, so it fits the seqlock board).
struct CycleStatus {
    var cycle: UInt64 = 0
    var safeStateBits: UInt32 = 0
    var interlocksTripped: UInt64 = 0
    var consecutiveOverruns: UInt32 = 0
    var firstGoodCycle: Bool = false
    var activeAlarms: Int32 = 0
    var annunciatedAlarms: Int32 = 0
    var trustScore: Double = .nan
}

/// What the controller looks like right now, for status views and tests. Copied out of the
/// cycle's seqlock boards; building one allocates, so it is never made on the cycle thread.
public struct ControllerSnapshot: Sendable {
    public var sensorIDs: [String]
    public var sensors: [Reading]
    public var groupIDs: [String]
    /// The value control uses per redundancy group (from the monitor; unread without one).
    public var groups: [Reading]
    /// Health state per sensor (all healthy without a monitor).
    public var health: [HealthState]
    /// Index (into sensors) of each group's active source; -1 without a monitor.
    public var activeSources: [Int]
    /// Index (into sensors) of the member an operator put each group's control on; -1 in automatic.
    public var operatorSources: [Int] = []
    public var outputIDs: [String]
    public var outputs: [Double]
    public var cycle: UInt64
    public var safeStateReasons: [SafeStateReason]
    public var trippedInterlocks: [String]
    public var timing: CycleTimingSummary
    public var watchdogStalls: Int
    /// Alarms not cleared, and those shown to the operator (not shelved).
    public var activeAlarms: Int
    public var annunciatedAlarms: Int
    /// Repair success × 0.7 + (1 − human intervention rate) × 0.3 over the recent window; nil before any outcome.
    public var trustScore: Double?
    public var journalDropped: Int
    /// Per plant device (config order): its id, whether its bus thread reaches it over the backup
    /// path, the poll interval in use (slow polling raises it), and path switches so far.
    public var deviceIDs: [String] = []
    public var deviceOnBackup: [Bool] = []
    public var devicePollIntervalsMilliseconds: [Int] = []
    public var devicePathSwitches: [Int] = []

    /// Whether a device is reached over its backup gateway or port (nil: unknown device).
    public func onBackup(_ deviceID: String) -> Bool? {
        deviceIDs.firstIndex(of: deviceID).flatMap { $0 < deviceOnBackup.count ? deviceOnBackup[$0] : nil }
    }
    /// The poll interval a device's bus thread uses now, in milliseconds.
    public func pollInterval(_ deviceID: String) -> Int? {
        deviceIDs.firstIndex(of: deviceID).flatMap { $0 < devicePollIntervalsMilliseconds.count ? devicePollIntervalsMilliseconds[$0] : nil }
    }

    public func sensor(_ id: String) -> Reading? { sensorIDs.firstIndex(of: id).map { sensors[$0] } }
    public func group(_ id: String) -> Reading? { groupIDs.firstIndex(of: id).map { groups[$0] } }
    public func health(_ sensorID: String) -> HealthState? { sensorIDs.firstIndex(of: sensorID).map { health[$0] } }
    /// The id of a group's active source, if the monitor has one.
    public func activeSource(_ groupID: String) -> String? {
        guard let g = groupIDs.firstIndex(of: groupID), g < activeSources.count, activeSources[g] >= 0 else { return nil }
        return sensorIDs[activeSources[g]]
    }
    /// The sensor an operator put a group's control on (nil: automatic).
    public func operatorSource(_ groupID: String) -> String? {
        guard let g = groupIDs.firstIndex(of: groupID), g < operatorSources.count, operatorSources[g] >= 0 else { return nil }
        return sensorIDs[operatorSources[g]]
    }
    public func output(_ id: String) -> Double? { outputIDs.firstIndex(of: id).map { outputs[$0] } }
    public var inSafeState: Bool { !safeStateReasons.isEmpty }
}
