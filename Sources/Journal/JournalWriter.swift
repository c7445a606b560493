import Foundation
import Synchronization
import VigilCore
import Kernel

/// The journal's writer thread: drains an `EventQueue`, writes events in batched transactions,
/// records the queue's drop counters, and prunes for retention. A dedicated thread, not the Swift
/// concurrency pool: its fsyncs must not hold a cooperative-pool thread.
///
/// The producer never signals the writer (so `push` stays free of syscalls); the writer polls the
/// queue every `pollIntervalNanoseconds` and commits when `batchSize` events are pending or
/// `flushIntervalNanoseconds` has passed. A commit that fails is retried at the next flush; while
/// it fails the writer stops draining, the queue fills, and its drop policy decides what is lost.
public final class JournalWriter: @unchecked Sendable {
    // @unchecked: everything mutable is either confined to the writer thread (the loop's locals)
    // or behind `state`.

    /// Batching, polling and retention settings.
    public struct Configuration: Sendable {
        public var batchSize: Int
        public var flushIntervalNanoseconds: UInt64
        public var pollIntervalNanoseconds: UInt64
        public var retention: RetentionPolicy

        public init(batchSize: Int = 256, flushIntervalNanoseconds: UInt64 = 100_000_000,
                    pollIntervalNanoseconds: UInt64 = 10_000_000, retention: RetentionPolicy = RetentionPolicy()) {
            precondition(batchSize > 0)
            self.batchSize = batchSize
            self.flushIntervalNanoseconds = flushIntervalNanoseconds
            self.pollIntervalNanoseconds = pollIntervalNanoseconds
            self.retention = retention
        }
    }

    /// What the writer has done so far.
    public struct Statistics: Sendable, Equatable {
        public var eventsWritten = 0
        public var batchesCommitted = 0
        public var eventsPruned = 0
        /// Read-only audit entries deleted by retention (privileged ones never are).
        public var auditEntriesPruned = 0
        public var failedCommits = 0
        /// The most recent error; nil once a later commit succeeds.
        public var lastError: JournalError?
    }

    private enum Phase { case idle, running, stopped }

    private struct State {
        var phase = Phase.idle
        var statistics = Statistics()
        /// Set if events were still uncommitted when the writer gave up at stop.
        var finalError: JournalError?
    }

    public let journal: Journal
    public let queue: EventQueue
    /// Turns events into rows (subject indices into names).
    public let codec: EventCodec
    /// Wall-clock time minus plant time: an event's wall time is its plant time plus this.
    public let wallOffsetNanoseconds: Int64
    public let configuration: Configuration
    /// Called on the writer thread with each batch just committed (e.g. to log it); nil for none.
    public let onCommit: (@Sendable ([TimedEvent]) -> Void)?

    private let state = Mutex(State())
    private let stopRequested = Atomic<Bool>(false)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)
    private let clock = SystemMonotonicClock()

    /// A writer for `queue` into `journal`. Plant time is `CLOCK_MONOTONIC` unless
    /// `wallOffsetNanoseconds` (wall time minus plant time) says otherwise.
    public init(journal: Journal, queue: EventQueue, codec: EventCodec, wallOffsetNanoseconds: Int64? = nil,
                configuration: Configuration = Configuration(), onCommit: (@Sendable ([TimedEvent]) -> Void)? = nil) {
        self.onCommit = onCommit
        self.journal = journal
        self.queue = queue
        self.codec = codec
        self.wallOffsetNanoseconds = wallOffsetNanoseconds ?? JournalWriter.monotonicToWallOffset()
        self.configuration = configuration
    }

    /// Starts the writer thread. Call once.
    public func start() {
        let canStart = state.withLock { state -> Bool in
            guard state.phase == .idle else { return false }
            state.phase = .running
            return true
        }
        precondition(canStart, "JournalWriter.start() called twice")
        let thread = Thread { [self] in run() }
        thread.name = "vigil-journal"
        thread.start()
    }

    /// Drains the queue, commits everything, and returns once the writer thread has finished.
    /// Call it after the producer has stopped pushing (services stop in reverse order: the cycle
    /// first, then the journal); a producer still pushing flat out would keep the drain going.
    /// Throws the error of the final commit if it failed (those events are lost). The thread holds
    /// the writer alive until `stop()` returns.
    public func stop() throws(JournalError) {
        let wasRunning = state.withLock { state -> Bool in
            defer { if state.phase == .idle { state.phase = .stopped } }
            return state.phase == .running
        }
        guard wasRunning else { return }
        stopRequested.store(true, ordering: .releasing)
        wake.signal()
        finished.wait()
        if let error = state.withLock({ $0.finalError }) { throw error }
    }

    /// A snapshot of the writer's counters.
    public var statistics: Statistics { state.withLock { $0.statistics } }

    // MARK: Writer thread

    private func run() {
        defer {
            state.withLock { $0.phase = .stopped }
            finished.signal()
        }
        var pending: [TimedEvent] = []
        pending.reserveCapacity(configuration.batchSize)
        var recordedDrops = Dictionary(uniqueKeysWithValues: EventSeverity.allCases.map { ($0, 0) })
        var eventCount = (try? journal.counts().events) ?? 0
        var lastFlush = clock.nowNanoseconds()
        var lastAuditPrune: UInt64 = 0

        while true {
            let stopping = stopRequested.load(ordering: .acquiring)
            if pending.count < configuration.batchSize {
                queue.drain(into: &pending, maxCount: configuration.batchSize - pending.count)
            }
            let now = clock.nowNanoseconds()
            let drops = queue.droppedCounts
            let dropsChanged = drops != recordedDrops
            let due = pending.count >= configuration.batchSize
                || (now &- lastFlush >= configuration.flushIntervalNanoseconds && (!pending.isEmpty || dropsChanged))
                || (stopping && (!pending.isEmpty || dropsChanged))
            var committed = true
            if due {
                lastFlush = now
                let delta = Dictionary(uniqueKeysWithValues: drops.map { ($0.key, $0.value - recordedDrops[$0.key, default: 0]) })
                do {
                    try journal.appendEvents(pending, codec: codec, wallOffsetNanoseconds: wallOffsetNanoseconds, droppedDelta: delta)
                    onCommit?(pending)
                    eventCount += pending.count
                    let written = pending.count
                    pending.removeAll(keepingCapacity: true)
                    recordedDrops = drops
                    state.withLock {
                        $0.statistics.eventsWritten += written
                        $0.statistics.batchesCommitted += 1
                        $0.statistics.lastError = nil
                    }
                } catch {
                    committed = false
                    state.withLock {
                        $0.statistics.failedCommits += 1
                        $0.statistics.lastError = error
                    }
                }
                if committed && eventCount > configuration.retention.maxEvents {
                    do {
                        let pruned = try journal.prune(configuration.retention)
                        eventCount -= pruned
                        if pruned == 0 { eventCount = (try? journal.counts().events) ?? eventCount }
                        state.withLock { $0.statistics.eventsPruned += pruned }
                    } catch {
                        state.withLock { $0.statistics.lastError = error }
                    }
                }
            }
            // The console writes audit entries itself; the writer keeps their read-only part bounded.
            if !stopping && now &- lastAuditPrune >= Self.auditPruneInterval {
                lastAuditPrune = now
                if let pruned = try? journal.pruneAudit(keepReadOnly: configuration.retention.maxReadOnlyAuditEntries,
                                                        batch: configuration.retention.pruneBatch), pruned > 0 {
                    state.withLock { $0.statistics.auditEntriesPruned += pruned }
                }
            }
            if stopping {
                // Drain to the end; give up only if a commit fails while stopping.
                if !committed {
                    state.withLock { $0.finalError = $0.statistics.lastError }
                    return
                }
                if pending.isEmpty && queue.count == 0 && queue.droppedCounts == recordedDrops { return }
                continue
            }
            if committed && pending.count >= configuration.batchSize { continue }
            _ = wake.wait(timeout: .now() + .nanoseconds(Int(configuration.pollIntervalNanoseconds)))
        }
    }

    /// How often the writer prunes read-only audit entries beyond the retention's cap.
    static let auditPruneInterval: UInt64 = 1_000_000_000

    /// `CLOCK_REALTIME − CLOCK_MONOTONIC` now: what turns a monotonic plant time into wall time.
    public static func monotonicToWallOffset() -> Int64 {
        var wall = timespec(), mono = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        clock_gettime(CLOCK_MONOTONIC, &mono)
        return (Int64(wall.tv_sec) - Int64(mono.tv_sec)) * 1_000_000_000 + (Int64(wall.tv_nsec) - Int64(mono.tv_nsec))
    }
}
