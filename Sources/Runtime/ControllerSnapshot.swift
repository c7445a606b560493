import VigilCore

/// Cycle-level status published every cycle (a trivial value, so it fits the seqlock board).
struct CycleStatus {
    var cycle: UInt64 = 0
    var safeStateBits: UInt32 = 0
    var interlocksTripped: UInt64 = 0
    var consecutiveOverruns: UInt32 = 0
    var firstGoodCycle: Bool = false
}

/// What the controller looks like right now, for status views and tests. Copied out of the
/// cycle's seqlock boards; building one allocates, so it is never made on the cycle thread.
public struct ControllerSnapshot: Sendable {
    public var sensorIDs: [String]
    public var sensors: [Reading]
    public var outputIDs: [String]
    public var outputs: [Double]
    public var cycle: UInt64
    public var safeStateReasons: [SafeStateReason]
    public var trippedInterlocks: [String]
    public var timing: CycleTimingSummary
    public var watchdogStalls: Int
    public var journalDropped: Int

    public func sensor(_ id: String) -> Reading? { sensorIDs.firstIndex(of: id).map { sensors[$0] } }
    public func output(_ id: String) -> Double? { outputIDs.firstIndex(of: id).map { outputs[$0] } }
    public var inSafeState: Bool { !safeStateReasons.isEmpty }
}
