import VigilCore

/// A command to the running controller, applied by the cycle at a cycle boundary.
public enum ControllerCommand: Sendable, Hashable {
    /// Switch a control loop (index into the plant's `controls`) to manual or auto.
    case setMode(control: Int, ControlMode)
    /// In manual, the loop's output value.
    case setManualOutput(control: Int, value: Double)
    case setSetpoint(control: Int, value: Double)
    /// Put every output in its safe state until `resetSafeState`.
    case requestSafeState
    /// Clear latched safe-state reasons (operator request, watchdog stall, overrun storm, fatal fault)
    /// and the outputs the intervention policy latched safe. Refused while an interlock holds.
    case resetSafeState
    /// Test and drill aid: the cycle thread blocks for this long once (exercises the watchdog).
    case stallCycle(milliseconds: Int)
    /// Alarm handling (alarm ids as the console shows them).
    case acknowledgeAlarm(id: UInt64)
    case shelveAlarm(id: UInt64, seconds: Int)
    case unshelveAlarm(id: UInt64)
    /// Put a redundancy group's control on one member (indices into plant groups and sensors),
    /// until `releaseSource` or until that member stops being usable.
    case forceSource(group: Int, sensor: Int)
    case releaseSource(group: Int)
}

/// What the cycle made of a command (`Controller.execute`).
public enum CommandResult: Int32, Sendable, Hashable, CustomStringConvertible {
    case applied = 1
    /// Nothing to do (e.g. releasing a group already in automatic, acknowledging an acknowledged alarm).
    case unchanged
    case unknownAlarm
    case alarmCleared
    case safetyAlarmNotShelvable
    case shelveTooLong
    /// The controller runs without the self-healing monitor.
    case noMonitor
    case unknownGroup
    case notAGroupMember
    /// The chosen member is out of use (faulty, quarantined or without a good reading).
    case sourceNotUsable
    case unknownControl
    /// The command queue was full: nothing was done.
    case queueFull
    /// Refused: an interlock holds, so the plant may not leave safe state (reset when it clears).
    case interlockHolds
    /// Refused: the output is held at its safe value (an interlock, the plant's safe state or a
    /// safety escalation); nothing may drive it until that ends.
    case outputHeldSafe
    /// No answer from the cycle in time (it may still apply the command).
    case timedOut

    public var description: String {
        switch self {
        case .applied: return "applied"
        case .unchanged: return "nothing to change"
        case .unknownAlarm: return "no such alarm"
        case .alarmCleared: return "the alarm is cleared"
        case .safetyAlarmNotShelvable: return "a safety alarm cannot be shelved"
        case .shelveTooLong: return "shelving longer than allowed"
        case .noMonitor: return "the self-healing monitor is not running"
        case .unknownGroup: return "no such redundancy group"
        case .notAGroupMember: return "the sensor is not a member of that group"
        case .sourceNotUsable: return "that sensor is out of use (faulty, quarantined or without a good reading)"
        case .unknownControl: return "no such control loop"
        case .queueFull: return "the command queue is full; try again"
        case .timedOut: return "no answer from the cycle in time"
        case .interlockHolds: return "an interlock holds: the plant stays in safe state until it clears"
        case .outputHeldSafe: return "the output is held at its safe value (interlock or safe state)"
        }
    }
}


extension ControllerCommand {
    /// The command's kind, as events name it.
    public var kind: CommandKind {
        switch self {
        case .setMode: return .setMode
        case .setManualOutput: return .setManualOutput
        case .setSetpoint: return .setSetpoint
        case .requestSafeState: return .requestSafeState
        case .resetSafeState: return .resetSafeState
        case .stallCycle: return .stallCycle
        case .acknowledgeAlarm: return .acknowledgeAlarm
        case .shelveAlarm: return .shelveAlarm
        case .unshelveAlarm: return .unshelveAlarm
        case .forceSource: return .forceSource
        case .releaseSource: return .releaseSource
        }
    }
}
