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
}

/// Commands from any thread to the cycle. Producers take a mutex among themselves; the cycle only
/// ever tries it (`withLockIfAvailable`), so it never waits: a busy queue is drained next cycle.
final class CommandQueue: @unchecked Sendable {
    private struct State: ~Copyable {
        var items: [ControllerCommand]
        var count = 0
        var head = 0
    }
    private let state: Mutex<State>
    private let capacity: Int

    init(capacity: Int = 64) {
        self.capacity = capacity
        state = Mutex(State(items: Array(repeating: .resetSafeState, count: capacity)))
    }

    /// Producer: false when the queue is full.
    func submit(_ command: ControllerCommand) -> Bool {
        state.withLock { s in
            guard s.count < capacity else { return false }
            s.items[(s.head + s.count) % capacity] = command
            s.count += 1
            return true
        }
    }

    /// Cycle thread: hands queued commands to `body` if the lock is free right now.
    @inline(__always)
    func drainIfAvailable(_ body: (ControllerCommand) -> Void) {
        _ = state.withLockIfAvailable { s in
            while s.count > 0 {
                body(s.items[s.head])
                s.head = (s.head + 1) % capacity
                s.count -= 1
            }
        }
    }
}
