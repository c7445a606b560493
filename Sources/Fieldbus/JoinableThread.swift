#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A thread could not be started (`pthread_create` failed).
public struct ThreadStartError: Error, Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var errno: Int32
    public var description: String { "cannot start thread \(name): pthread_create failed (errno \(errno))" }
}

/// A pthread that can be joined, so `stop()` returns only when the thread is gone.
public final class JoinableThread: @unchecked Sendable {
    private var tid = pthread_t()
    private var joined = false
    private let lock = NSLock()

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    /// Starts `body` on a new pthread (not the Swift concurrency pool).
    public init(name: String, _ body: @escaping @Sendable () -> Void) throws(ThreadStartError) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        #if canImport(Glibc)
        let rc = pthread_create(&tid, nil, { arg in
            let box = Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        #else
        var t: pthread_t?
        let rc = pthread_create(&t, nil, { arg in
            let box = Unmanaged<Box>.fromOpaque(arg).takeRetainedValue()
            box.body()
            return nil
        }, box)
        if let t { tid = t }
        #endif
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw ThreadStartError(name: name, errno: rc)
        }
    }

    /// Waits for the thread to finish. Safe to call more than once.
    public func join() {
        lock.lock()
        defer { lock.unlock() }
        guard !joined else { return }
        joined = true
        pthread_join(tid, nil)
    }
}

