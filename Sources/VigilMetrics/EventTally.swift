import Kernel
import Monitor

/// Counts of things that happened, folded from controller events (as the journal stores them) and
/// learner runs: failovers per group, repairs by strategy and outcome, alarms raised by priority,
/// model updates by outcome. Pure: the collector feeds it what it reads.
public struct EventTally: Sendable, Hashable {
    /// Failovers per group (plant order), the operator's included.
    public private(set) var failovers: [UInt64]
    /// Finished repairs: `[strategy index][0 verified, 1 failed]`, strategies in `RepairStrategy.allCases` order.
    public private(set) var repairs: [[UInt64]]
    /// Alarms raised per priority, in `DiagnosisSeverity.allCases` order.
    public private(set) var alarmsRaised: [UInt64]
    /// Model updates: deployed (a learner run accepted), refused (rejected), rolled back (by the model watch).
    public var modelDeployed: UInt64 = 0
    public var modelRefused: UInt64 = 0
    public var modelRolledBack: UInt64 = 0
    /// The last state seen of each alarm still held, so a raise is counted once.
    private var alarmStates: [UInt64: AlarmState] = [:]

    public init(groups: Int, knownAlarms: [(id: UInt64, state: AlarmState)] = []) {
        failovers = Array(repeating: 0, count: groups)
        repairs = Array(repeating: [0, 0], count: RepairStrategy.allCases.count)
        alarmsRaised = Array(repeating: 0, count: DiagnosisSeverity.allCases.count)
        for a in knownAlarms { alarmStates[a.id] = a.state }
    }

    public func repairs(_ strategy: RepairStrategy, verified: Bool) -> UInt64 {
        repairs[RepairStrategy.allCases.firstIndex(of: strategy)!][verified ? 0 : 1]
    }

    public func alarmsRaised(_ priority: DiagnosisSeverity) -> UInt64 {
        alarmsRaised[DiagnosisSeverity.allCases.firstIndex(of: priority)!]
    }

    /// Counts one event. An alarm is raised when it enters `unacknowledged` from anything else (new,
    /// acknowledged, returned); shelving or re-announcing an alarm already unacknowledged is not a raise.
    public mutating func count(_ event: ControllerEvent) {
        switch event {
        case .failover(let group, _, _, _):
            if group >= 0 && Int(group) < failovers.count { failovers[Int(group)] += 1 }
        case .repair(_, let strategy, let phase):
            guard phase != .started, let s = RepairStrategy.allCases.firstIndex(of: strategy) else { return }
            repairs[s][phase == .verified ? 0 : 1] += 1
        case .alarm(let change):
            let previous = alarmStates[change.id]
            if change.removed || change.state == .cleared {
                alarmStates[change.id] = nil
            } else {
                alarmStates[change.id] = change.state
            }
            if change.state == .unacknowledged && !change.removed && previous != .unacknowledged,
               let p = DiagnosisSeverity.allCases.firstIndex(of: change.severity) {
                alarmsRaised[p] += 1
            }
        default:
            return
        }
    }

    /// The journal event kinds `count` looks at.
    public static let kinds: Set<EventKind> = [.failover, .repair, .alarm]
}
