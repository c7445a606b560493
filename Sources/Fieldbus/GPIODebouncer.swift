import VigilCore

/// Software debounce as pure logic: a new level is reported only once it has persisted for the
/// window, measured on timestamps the caller supplies (edge event times or an injected clock).
///
/// A level that returns to the reported one before the window ends cancels the change, so a
/// bounce burst followed by a settled level reports once, a window after the last toggle.
public struct Debouncer: Sendable, Hashable {
    public let windowNanoseconds: UInt64
    /// The debounced (reported) level.
    public private(set) var level: Bool
    /// A level that differs from `level` and since when it has been seen, if any.
    public var pending: (level: Bool, sinceNanoseconds: UInt64)? { pendingSince.map { (!level, $0) } }
    private var pendingSince: UInt64?

    public init(windowNanoseconds: UInt64, initial: Bool) {
        self.windowNanoseconds = windowNanoseconds
        self.level = initial
    }

    /// A debouncer with the window of a configured input.
    public init(_ settings: GPIOInputSettings, initial: Bool) {
        self.init(windowNanoseconds: UInt64(max(0, settings.debounceMilliseconds)) * 1_000_000, initial: initial)
    }

    /// Feeds a raw level seen at `nanoseconds` (a sample, or the level after an edge at that time).
    /// Returns the new debounced level when it changes, nil otherwise.
    public mutating func observe(_ raw: Bool, atNanoseconds nanoseconds: UInt64) -> Bool? {
        if raw == level {
            pendingSince = nil
            return nil
        }
        if pendingSince == nil { pendingSince = nanoseconds }
        return settle(atNanoseconds: nanoseconds)
    }

    /// Reports a pending level whose window has passed by `nanoseconds`, without a new sample.
    /// Returns the new debounced level when it changes, nil otherwise.
    public mutating func settle(atNanoseconds nanoseconds: UInt64) -> Bool? {
        guard let since = pendingSince, nanoseconds >= since, nanoseconds - since >= windowNanoseconds else { return nil }
        level.toggle()
        pendingSince = nil
        return level
    }
}

/// An input line read through a `Debouncer` on an injected clock.
///
/// `poll()` is meant to be called once per cycle. How it learns about changes:
/// - `.sampling`: reads the line, stamped with the clock's time (bounces between polls are unseen).
/// - `.edges(eventTimestamps: true)`: feeds every pending edge at its own timestamp. Only correct
///   when edge timestamps are on the same clock as `clock`: the mock chip sharing the test's clock,
///   or libgpiod (kernel CLOCK_MONOTONIC stamps, on kernels ≥ 5.7) with `SystemMonotonicClock`.
/// - `.edges(eventTimestamps: false)`: feeds pending edges in order, stamped with the clock's time at
///   the poll; a burst inside one cycle collapses to its final level, the window starts at the poll.
public final class DebouncedInput {
    public enum Source: Sendable, Hashable {
        case sampling
        case edges(eventTimestamps: Bool)
    }

    public let line: any GPIOInputLine
    public let source: Source
    public private(set) var debouncer: Debouncer
    private let clock: any MonotonicClock

    /// Reads the line once to start from its current level. For `.edges`, request the line with edges.
    public init(line: any GPIOInputLine, windowNanoseconds: UInt64, clock: any MonotonicClock, source: Source) throws(GPIOError) {
        self.line = line
        self.clock = clock
        self.source = source
        self.debouncer = Debouncer(windowNanoseconds: windowNanoseconds, initial: try line.read())
    }

    /// The debounced level.
    public var level: Bool { debouncer.level }

    /// Takes in what happened on the line since the last call; returns the debounced level.
    @discardableResult
    public func poll() throws(GPIOError) -> Bool {
        let now = clock.nowNanoseconds()
        switch source {
        case .sampling:
            _ = debouncer.observe(try line.read(), atNanoseconds: now)
        case .edges(let eventTimestamps):
            while let edge = try line.nextEdge(timeoutNanoseconds: 0) {
                _ = debouncer.observe(edge.level, atNanoseconds: eventTimestamps ? edge.timestampNanoseconds : now)
            }
            _ = debouncer.settle(atNanoseconds: now)
        }
        return debouncer.level
    }
}
