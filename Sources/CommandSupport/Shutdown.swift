import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// SIGINT/SIGTERM become a flag and a wake-up that long-running commands check, so they stop in
/// order (simulators stopped, lines closed) instead of dying mid-write. Signals arrive on a
/// dispatch source, not in a handler, so nothing async-signal-unsafe runs in signal context.
public enum Shutdown {
    private static let requested = Atomic<Bool>(false)
    private static let wakeUp = DispatchSemaphore(value: 0)
    private static let sources = Mutex<[any DispatchSourceSignal]>([])

    public static var isRequested: Bool { requested.load(ordering: .acquiring) }

    /// Routes SIGINT and SIGTERM to the flag. Call before starting anything that must be stopped.
    public static func install() {
        sources.withLock { sources in
            guard sources.isEmpty else { return }
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
                s.setEventHandler {
                    requested.store(true, ordering: .releasing)
                    wakeUp.signal()
                }
                s.resume()
                sources.append(s)
            }
        }
    }

    /// Waits up to `nanoseconds` (forever when nil); returns early when a stop is requested.
    public static func sleep(nanoseconds: UInt64?) {
        guard !isRequested else { return }
        if let nanoseconds {
            _ = wakeUp.wait(timeout: .now() + .nanoseconds(Int(min(nanoseconds, UInt64(Int.max)))))
        } else {
            wakeUp.wait()
        }
        if isRequested { wakeUp.signal() } // let any other waiter see it too
    }
}
