import VigilCore
import Monitor

/// The plant's state rebuilt from events alone: open findings, each sensor's health, each group's
/// active source, alarms, tripped interlocks, crossed limits, holding controls and safe-state
/// reasons. Folding a run's journal into a ledger gives the state the kernel had at the last
/// event folded; replay's per-row report and the console's history are built the same way.
public struct PlantLedger: Sendable, Hashable {
    /// A finding that started and has not ended.
    public struct OpenFinding: Sendable, Hashable {
        public var subject: FindingSubject
        public var kind: FindingKind
        public init(subject: FindingSubject, kind: FindingKind) {
            self.subject = subject
            self.kind = kind
        }
    }

    public var openFindings: Set<OpenFinding> = []
    /// Health per sensor index; a sensor never mentioned is healthy.
    public var health: [Int32: HealthState] = [:]
    /// Per group index: the member control follows, once a failover or failback moved it.
    public var activeSources: [Int32: Int32] = [:]
    /// Alarms held (not removed), by id, with their last journalled state.
    public var alarms: [UInt64: AlarmChange] = [:]
    public var trippedInterlocks: Set<Int32> = []
    public var crossedLimits: Set<Int32> = []
    public var holdingControls: Set<Int32> = []
    public var safeStateReasons: Set<SafeStateReason> = [.startup]
    /// Repairs started and not yet verified or failed, by subject and strategy.
    public var repairsInProgress: Set<RepairKey> = []
    /// The last event's plant time and cycle.
    public var plantNanoseconds: UInt64 = 0
    public var cycle: UInt64 = 0

    public struct RepairKey: Sendable, Hashable {
        public var subject: EventSubject
        public var strategy: RepairStrategy
    }

    public init() {}

    public func health(sensor: Int32) -> HealthState { health[sensor] ?? .healthy }

    /// Alarms not cleared.
    public var activeAlarms: [AlarmChange] { alarms.values.filter { $0.state != .cleared }.sorted { $0.id < $1.id } }

    public mutating func apply(_ e: TimedEvent) {
        plantNanoseconds = e.plantNanoseconds
        cycle = e.cycle
        apply(e.event)
    }

    public mutating func apply(_ event: ControllerEvent) {
        switch event {
        case .findingRaised(let subject, let kind, _, _): openFindings.insert(OpenFinding(subject: subject, kind: kind))
        case .findingCleared(let subject, let kind): openFindings.remove(OpenFinding(subject: subject, kind: kind))
        case .healthChanged(let sensor, _, let to): health[sensor] = to == .healthy ? nil : to
        case .failover(let group, _, let to, _), .failback(let group, _, let to): activeSources[group] = to
        case .alarm(let a):
            if a.removed { alarms[a.id] = nil } else { alarms[a.id] = a }
        case .interlockTripped(let limit, _): trippedInterlocks.insert(limit)
        case .interlockCleared(let limit, _): trippedInterlocks.remove(limit)
        case .limitCrossed(let limit, _): crossedLimits.insert(limit)
        case .limitCleared(let limit, _): crossedLimits.remove(limit)
        case .controlHolding(let control, _): holdingControls.insert(control)
        case .controlResumed(let control, _): holdingControls.remove(control)
        case .safeStateEntered(let reason): safeStateReasons.insert(reason)
        case .safeStateLeft(let reason): safeStateReasons.remove(reason)
        case .repair(let subject, let strategy, let phase):
            let key = RepairKey(subject: subject, strategy: strategy)
            if phase == .started { repairsInProgress.insert(key) } else { repairsInProgress.remove(key) }
        default: break
        }
    }
}
