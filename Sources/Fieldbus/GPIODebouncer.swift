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

    public static func == (a: Debouncer, b: Debouncer) -> Bool {
        a.windowNanoseconds == b.windowNanoseconds && a.level == b.level && a.pendingSince == b.pendingSince
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(windowNanoseconds)
        hasher.combine(level)
        hasher.combine(pendingSince)
    }
}

/// An input line read through a `Debouncer` on an injected clock.
///
/// With edge detection, every pending edge is fed at its own timestamp; otherwise the line is
/// sampled at the clock's time. Either way `poll()` is meant to be called once per cycle.
public final class DebouncedInput {
    public let line: any GPIOInputLine
    public private(set) var debouncer: Debouncer
    private let clock: any MonotonicClock
    private let usesEdges: Bool

    /// Reads the line once to start from its current level.
    public init(line: any GPIOInputLine, windowNanoseconds: UInt64, clock: any MonotonicClock, usesEdges: Bool) throws(GPIOError) {
        self.line = line
        self.clock = clock
        self.usesEdges = usesEdges
        self.debouncer = Debouncer(windowNanoseconds: windowNanoseconds, initial: try line.read())
    }

    /// The debounced level.
    public var level: Bool { debouncer.level }

    /// Takes in what happened on the line since the last call; returns the debounced level.
    @discardableResult
    public func poll() throws(GPIOError) -> Bool {
        let now = clock.nowNanoseconds()
        if usesEdges {
            while let edge = try line.nextEdge(timeoutNanoseconds: 0) {
                _ = debouncer.observe(edge.level, atNanoseconds: edge.timestampNanoseconds)
            }
            _ = debouncer.settle(atNanoseconds: now)
        } else {
            _ = debouncer.observe(try line.read(), atNanoseconds: now)
        }
        return debouncer.level
    }
}
