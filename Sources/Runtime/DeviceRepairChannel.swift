import Synchronization
import Monitor
import Fieldbus

/// One device's mailbox between the cycle thread and its bus thread: the cycle ORs repair
/// requests into an atomic word, the bus thread takes them at its next pass and reports the path
/// and poll interval it uses. Lock-free atomics only: no allocation, no waiting on either side.
final class DeviceRepairChannel: Sendable {
    /// The request bits that execute a monitor repair strategy (0: not a bus-thread action). A
    /// switch goes to the other path than the one in use when the monitor decided.
    func bits(for strategy: RepairStrategy?) -> UInt32 {
        let onBackup = self.onBackup.load(ordering: .relaxed)
        switch strategy {
        case .reconnect?: return LinkSchedule.requestBits(for: .reconnect, onBackup: onBackup)
        case .switchToBackupGateway?: return LinkSchedule.requestBits(for: .switchPath, onBackup: onBackup)
        case .slowPolling?: return LinkSchedule.requestBits(for: .slowPolling, onBackup: onBackup)
        default: return 0
        }
    }

    private let requests = Atomic<UInt32>(0)
    /// Whether the device is reached over its backup path (set by the bus thread).
    let onBackup = Atomic<Bool>(false)
    /// The poll interval in use, in milliseconds (set by the bus thread).
    let pollIntervalMilliseconds: Atomic<Int>
    /// Requests executed and path switches made (for status and tests).
    let executed = Atomic<Int>(0)
    let switches = Atomic<Int>(0)
    /// Whether the device has a backup path at all.
    let hasBackup: Bool

    init(pollIntervalMilliseconds: Int, hasBackup: Bool) {
        self.pollIntervalMilliseconds = Atomic(pollIntervalMilliseconds)
        self.hasBackup = hasBackup
    }

    /// Called by the cycle thread.
    @inline(__always)
    func request(_ bits: UInt32) { _ = requests.bitwiseOr(bits, ordering: .releasing) }

    /// Called by the bus thread: the pending requests, cleared.
    @inline(__always)
    func take() -> UInt32 { requests.exchange(0, ordering: .acquiring) }
}
