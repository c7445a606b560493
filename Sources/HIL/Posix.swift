#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import VigilCore

/// Why the rig could not set something up.
public enum HILError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A system call failed; `call` names it (`bind`, `posix_openpt`), `errno` is its error.
    case system(call: String, errno: Int32, detail: String)
    /// The configuration asks for something the rig cannot simulate.
    case unsupported(String)

    public var description: String {
        switch self {
        case .system(let call, let e, let detail):
            return "\(call) failed: \(String(cString: strerror(e))) (errno \(e))" + (detail.isEmpty ? "" : " — \(detail)")
        case .unsupported(let s):
            return s
        }
    }

    static func lastErrno(_ call: String, _ detail: String = "") -> HILError {
        .system(call: call, errno: errno, detail: detail)
    }
}

/// A self-pipe: another thread writes a byte to wake a thread blocked in `poll`.
final class WakePipe: @unchecked Sendable {
    let readFD: Int32
    let writeFD: Int32

    init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw HILError.lastErrno("pipe") }
        readFD = fds[0]
        writeFD = fds[1]
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
    }

    func wake() {
        var b: UInt8 = 1
        _ = write(writeFD, &b, 1)
    }

    /// Empties the pipe (called by the woken thread).
    func drain() {
        var buf = [UInt8](repeating: 0, count: 64)
        while read(readFD, &buf, buf.count) > 0 {}
    }

    deinit {
        close(readFD)
        close(writeFD)
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds.
func monotonicNanoseconds() -> UInt64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
}

/// Sleeps until an absolute `CLOCK_MONOTONIC` deadline (restarting after signals).
func sleepUntil(monotonicNanoseconds deadline: UInt64) {
    var ts = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
    while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nil) == EINTR {}
}

/// Milliseconds to a deadline for `poll`, rounded up; -1 (forever) without a deadline.
func pollTimeout(until deadline: UInt64?) -> Int32 {
    guard let deadline else { return -1 }
    let now = monotonicNanoseconds()
    if deadline <= now { return 0 }
    return Int32(min(UInt64(Int32.max), (deadline - now + 999_999) / 1_000_000))
}
