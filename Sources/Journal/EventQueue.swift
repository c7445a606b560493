import Synchronization
import VigilCore
import Kernel

/// The bounded hand-off from the cycle thread (the one producer) to the journal writer (the one
/// consumer). `push` never blocks, never takes a lock and never allocates: two preallocated rings
/// of plain `TimedEvent` values indexed by atomic counters.
///
/// When the queue fills up, low severities are refused first: each severity may only be admitted
/// while the main ring is below its watermark (debug 50 %, info 70 %, warning 85 %, alarm 95 % of
/// the capacity). A flood of debug events therefore leaves half the ring for everything else, and
/// a flood of anything leaves the top 5 % for safety events. A refused event is the *newest* of
/// its severity (the producer cannot remove from the consumer's end without a lock); it is counted
/// per severity.
///
/// Safety events are never refused by a watermark. They go to their own ring first
/// (`safetyCapacity`, sized for the worst burst: safety events are state changes, a handful per
/// incident); if that ring is full they spill into the main ring, where the top 5 % is reserved
/// for them. Only if both are full is a safety event lost; that is counted in
/// `droppedCount(.safety)`, which the runtime must treat as a fault. With the default sizes that
/// takes more than 1,000 safety events between two writer polls (10 ms).
public final class EventQueue: @unchecked Sendable {
    // @unchecked: the rings are raw memory; the single-producer/single-consumer protocol below
    // (slot written before `tail` is released, read after it is acquired, and the reverse for
    // `head`) is what makes the accesses safe.

    /// Slots in the main ring.
    public let capacity: Int
    /// Slots in the ring reserved for safety events.
    public let safetyCapacity: Int

    /// A queued event with the producer's push order: the writer merges the two rings by it, so
    /// events of one cycle (which share a plant time) keep the order the kernel gave them.
    private struct Slot {
        var sequence: UInt64
        var event: TimedEvent
    }
    private let ring: UnsafeMutablePointer<Slot>
    private let safetyRing: UnsafeMutablePointer<Slot>
    /// Producer-side push counter.
    private var sequence: UInt64 = 0
    // Monotonic counters; slot = counter % capacity. Written by one side each.
    private let head = Atomic<Int>(0)        // consumer
    private let tail = Atomic<Int>(0)        // producer
    private let safetyHead = Atomic<Int>(0)  // consumer
    private let safetyTail = Atomic<Int>(0)  // producer
    // Drops per severity, written by the producer only.
    private let droppedDebug = Atomic<Int>(0)
    private let droppedInfo = Atomic<Int>(0)
    private let droppedWarning = Atomic<Int>(0)
    private let droppedAlarm = Atomic<Int>(0)
    private let droppedSafety = Atomic<Int>(0)
    // Admission limits (occupancy below which a severity is admitted to the main ring).
    private let limitDebug: Int
    private let limitInfo: Int
    private let limitWarning: Int
    private let limitAlarm: Int

    /// A queue with `capacity` slots for all events and `safetyCapacity` more reserved for safety
    /// events. Both are allocated now, never later.
    public init(capacity: Int, safetyCapacity: Int = 1024) {
        precondition(capacity >= 20, "EventQueue capacity must be at least 20")
        precondition(safetyCapacity >= 1, "EventQueue safety capacity must be at least 1")
        self.capacity = capacity
        self.safetyCapacity = safetyCapacity
        let blank = Slot(sequence: 0, event: TimedEvent(plantNanoseconds: 0, cycle: 0, event: .stopped))
        ring = .allocate(capacity: capacity)
        ring.initialize(repeating: blank, count: capacity)
        safetyRing = .allocate(capacity: safetyCapacity)
        safetyRing.initialize(repeating: blank, count: safetyCapacity)
        limitDebug = capacity * 50 / 100
        limitInfo = capacity * 70 / 100
        limitWarning = capacity * 85 / 100
        limitAlarm = capacity * 95 / 100
    }

    deinit {
        ring.deinitialize(count: capacity)
        ring.deallocate()
        safetyRing.deinitialize(count: safetyCapacity)
        safetyRing.deallocate()
    }

    // MARK: Producer (the cycle thread only)

    /// Hands `event` to the journal. Returns false if it was dropped (and counted). Call from one
    /// thread only.
    @discardableResult
    @inline(__always)
    public func push(_ event: TimedEvent) -> Bool {
        sequence &+= 1
        let event = Slot(sequence: sequence, event: event)
        switch event.event.severity {
        case .debug: return pushMain(event, limit: limitDebug, dropped: droppedDebug)
        case .info: return pushMain(event, limit: limitInfo, dropped: droppedInfo)
        case .warning: return pushMain(event, limit: limitWarning, dropped: droppedWarning)
        case .alarm: return pushMain(event, limit: limitAlarm, dropped: droppedAlarm)
        case .safety:
            let t = safetyTail.load(ordering: .relaxed)
            if t - safetyHead.load(ordering: .acquiring) < safetyCapacity {
                safetyRing[t % safetyCapacity] = event
                safetyTail.store(t + 1, ordering: .releasing)
                return true
            }
            return pushMain(event, limit: capacity, dropped: droppedSafety)
        }
    }

    @inline(__always)
    private func pushMain(_ event: Slot, limit: Int, dropped: borrowing Atomic<Int>) -> Bool {
        let t = tail.load(ordering: .relaxed)
        if t - head.load(ordering: .acquiring) >= limit {
            dropped.wrappingAdd(1, ordering: .relaxed)
            return false
        }
        ring[t % capacity] = event
        tail.store(t + 1, ordering: .releasing)
        return true
    }

    // MARK: Consumer (the writer thread only)

    /// Takes the oldest event, merging the two rings in push order. Call from one thread only.
    public func pop() -> TimedEvent? {
        let h = head.load(ordering: .relaxed)
        let mainAvailable = tail.load(ordering: .acquiring) > h
        let sh = safetyHead.load(ordering: .relaxed)
        let safetyAvailable = safetyTail.load(ordering: .acquiring) > sh
        if safetyAvailable {
            let s = safetyRing[sh % safetyCapacity]
            if !mainAvailable || s.sequence <= ring[h % capacity].sequence {
                safetyHead.store(sh + 1, ordering: .releasing)
                return s.event
            }
        }
        guard mainAvailable else { return nil }
        let e = ring[h % capacity]
        head.store(h + 1, ordering: .releasing)
        return e.event
    }

    /// Moves up to `maxCount` events into `buffer` (appending), oldest first. Returns how many.
    @discardableResult
    public func drain(into buffer: inout [TimedEvent], maxCount: Int) -> Int {
        var n = 0
        while n < maxCount, let event = pop() {
            buffer.append(event)
            n += 1
        }
        return n
    }

    /// Events waiting, both rings. Exact from the consumer when the producer is idle.
    public var count: Int {
        (tail.load(ordering: .acquiring) - head.load(ordering: .acquiring))
            + (safetyTail.load(ordering: .acquiring) - safetyHead.load(ordering: .acquiring))
    }

    /// Events of `severity` dropped since the queue was created.
    public func droppedCount(_ severity: EventSeverity) -> Int {
        switch severity {
        case .debug: return droppedDebug.load(ordering: .relaxed)
        case .info: return droppedInfo.load(ordering: .relaxed)
        case .warning: return droppedWarning.load(ordering: .relaxed)
        case .alarm: return droppedAlarm.load(ordering: .relaxed)
        case .safety: return droppedSafety.load(ordering: .relaxed)
        }
    }

    /// Drops per severity since the queue was created.
    public var droppedCounts: [EventSeverity: Int] {
        Dictionary(uniqueKeysWithValues: EventSeverity.allCases.map { ($0, droppedCount($0)) })
    }
}
