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

    /// Starts `body` on a new pthread (not the Swift concurrency pool), named `name` (its first 15
    /// bytes: what `top -H`, `ps -L`, gdb and perf show).
    public init(name: String, _ body: @escaping @Sendable () -> Void) throws(ThreadStartError) {
        let threadName = String(decoding: Array(name.utf8.prefix(15)), as: UTF8.self)
        let box = Unmanaged.passRetained(Box {
            Self.nameCurrentThread(threadName)
            body()
        }).toOpaque()
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

    /// glibc's `pthread_setname_np`, looked up once: Swift's Glibc module does not declare it (it is a
    /// GNU extension), and `prctl(PR_SET_NAME)` is variadic.
    private static let setName: (@convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32)? = {
        #if canImport(Glibc)
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pthread_setname_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32).self)
        #else
        return nil
        #endif
    }()

    private static func nameCurrentThread(_ name: String) {
        #if canImport(Glibc)
        if let setName { _ = name.withCString { setName(pthread_self(), $0) } }
        #endif
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

