import Synchronization
import VigilCore
import Kernel

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

    /// Cycle thread: hands queued commands to `body`, oldest first, if the lock is free right now;
    /// stops early when `body` returns false (the command it was handed is taken either way).
    @inline(__always)
    func drainIfAvailable(_ body: (ControllerCommand, UInt64) -> Bool) {
        _ = state.withLockIfAvailable { s in
            while s.count > 0 {
                let more = body(s.items[s.head].command, s.items[s.head].ticket)
                s.head = (s.head + 1) % capacity
                s.count -= 1
                if !more { break }
            }
        }
    }
}
