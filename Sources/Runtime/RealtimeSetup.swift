#if canImport(Glibc)
import Glibc
#endif
import VigilCore
import CRuntime

/// Applies the optional real-time settings to the calling (cycle) thread. Each setting is best
/// effort: what the process may not do becomes one warning, and the cycle runs without it.
enum RealtimeSetup {
    /// Returns one human-readable warning per setting that could not be applied.
    static func apply(_ rt: RealtimeConfig, boardCPU: Int?) -> [String] {
        var warnings: [String] = []
        if rt.timerSlackNanoseconds > 0 {
            let rc = vigil_rt_set_timer_slack(UInt(rt.timerSlackNanoseconds))
            if rc != 0 { warnings.append("timer slack \(rt.timerSlackNanoseconds) ns not set: \(describe(-rc))") }
        }
        if let cpu = rt.cpu ?? boardCPU {
            let rc = vigil_rt_pin_to_cpu(Int32(cpu))
            if rc != 0 { warnings.append("cycle thread not pinned to CPU \(cpu): \(describe(-rc)); running unpinned") }
        }
        if rt.lockMemory {
            let rc = vigil_rt_lock_memory()
            if rc != 0 { warnings.append("mlockall refused: \(describe(-rc)) (needs CAP_IPC_LOCK or a higher RLIMIT_MEMLOCK); memory may page") }
            vigil_rt_prefault_stack()
        }
        if let priority = rt.schedFIFOPriority {
            let rc = vigil_rt_set_fifo(Int32(priority))
            if rc != 0 { warnings.append("SCHED_FIFO priority \(priority) refused: \(describe(-rc)) (needs CAP_SYS_NICE or an rtprio limit); running with the normal scheduler") }
        }
        return warnings
    }

    private static func describe(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 128)
        guard strerror_r(code, &buffer, buffer.count) == 0 else { return "errno \(code)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Background work beside the cycle (the policy learner, benchmarks of it).
public enum BackgroundPriority {
    /// Nice value of the learner: below the console, the journal and the bus threads (nice 0 has
    /// about ten times its CPU share under contention), yet never starved. SCHED_IDLE (or nice 19)
    /// got no CPU for minutes on a busy host while it held the journal's write lock or the
    /// operator waited for a verdict.
    public static let learnerNice: Int32 = 10

    /// Moves the calling thread to `nice` (a lower priority than normal, still scheduled); says which.
    @discardableResult
    public static func applyNice(_ nice: Int32 = learnerNice) -> String {
        let r = vigil_rt_set_thread_nice(nice)
        return r == 0 ? "nice \(nice)" : "normal priority (nice \(nice) refused: errno \(-r))"
    }

    /// Moves the calling thread to SCHED_IDLE, or nice 19 where that is refused; says which.
    @discardableResult
    public static func applyToCurrentThread() -> String {
        switch vigil_rt_make_background() {
        case 0: return "SCHED_IDLE"
        case 1: return "nice 19"
        case let e: return "normal priority (refused: errno \(-e))"
        }
    }
}
