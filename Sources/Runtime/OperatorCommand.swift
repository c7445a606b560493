import Synchronization
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
    /// Clear latched safe-state reasons (operator request, watchdog stall, overrun storm, fatal fault).
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
        }
    }
}

/// A command's result as the cycle publishes it: slot `ticket % count` of the receipt board.
struct CommandReceipt {
    var ticket: UInt64 = 0
    var result: Int32 = 0
}

/// Commands from any thread to the cycle. Producers take a mutex among themselves; the cycle only
/// ever tries it (`withLockIfAvailable`), so it never waits: a busy queue is drained next cycle.
final class CommandQueue: @unchecked Sendable {
    private struct State: ~Copyable {
        var items: [(ticket: UInt64, command: ControllerCommand)]
        var count = 0
        var head = 0
    }
    private let state: Mutex<State>
    private let capacity: Int

    init(capacity: Int = 64) {
        self.capacity = capacity
        state = Mutex(State(items: Array(repeating: (0, .resetSafeState), count: capacity)))
    }

    /// Producer: false when the queue is full. `ticket` (non-zero) asks for a receipt.
    func submit(_ command: ControllerCommand, ticket: UInt64 = 0) -> Bool {
        state.withLock { s in
            guard s.count < capacity else { return false }
            s.items[(s.head + s.count) % capacity] = (ticket, command)
            s.count += 1
            return true
        }
    }

    /// Cycle thread: hands queued commands to `body` if the lock is free right now.
    @inline(__always)
    func drainIfAvailable(_ body: (ControllerCommand, UInt64) -> Void) {
        _ = state.withLockIfAvailable { s in
            while s.count > 0 {
                body(s.items[s.head].command, s.items[s.head].ticket)
                s.head = (s.head + 1) % capacity
                s.count -= 1
            }
        }
    }
}
