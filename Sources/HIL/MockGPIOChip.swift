import Fieldbus
import VigilCore

/// A GPIO chip in memory, for tests of GPIO users: no hardware, time from an injected clock.
///
/// The test drives the *physical* level of input lines (`setLevel`, `injectBounce`); lines requested
/// active-low read and report edges inverted, exactly as libgpiod's active-low flag does. Changes
/// scheduled in the future take effect when the clock reaches them, and produce edge events
/// stamped with their scheduled time. `nextEdge` never blocks and never moves the clock.
public final class MockGPIOChip: GPIOChip {
    public let name: String
    public let label: String
    public let lineCount: Int
    public let clock: any MonotonicClock

    /// One write to an output line.
    public struct OutputWrite: Sendable, Hashable {
        /// Logical value written.
        public var value: Bool
        /// Physical level it drove (inverted for active-low lines).
        public var high: Bool
        public var atNanoseconds: UInt64

        public init(value: Bool, high: Bool, atNanoseconds: UInt64) {
            self.value = value
            self.high = high
            self.atNanoseconds = atNanoseconds
        }
    }

    private enum Change {
        case level(Bool)
        case event(rising: Bool)
    }

    private struct Line {
        var high = false
        var scheduled: [(at: UInt64, change: Change)] = []
        var input: GPIOInputRequest?
        var output: GPIOOutputRequest?
        var requestedAt: UInt64 = 0
        var events: [GPIOEdgeEvent] = []
        var writes: [OutputWrite] = []
        var failure: GPIOError.Kind?
        var readFailure: GPIOError.Kind?
        var requested: Bool { input != nil || output != nil }
    }

    private var lines: [Line]

    public init(name: String = "gpiochip0", label: String = "gpio-mock", lineCount: Int = 32,
                clock: any MonotonicClock = ManualClock()) {
        self.name = name
        self.label = label
        self.lineCount = lineCount
        self.clock = clock
        self.lines = Array(repeating: Line(), count: lineCount)
    }

    /// An opener for `GPIOBoard` that serves these chips by name and fails with `.noSuchChip` otherwise.
    public static func opener(_ chips: [MockGPIOChip]) -> (String) throws(GPIOError) -> any GPIOChip {
        { name throws(GPIOError) in
            guard let chip = chips.first(where: { $0.name == name }) else { throw GPIOError(.noSuchChip, chip: name) }
            return chip
        }
    }

    // MARK: Test API

    /// Sets the physical level of a line, now or at a future time on the clock.
    public func setLevel(_ offset: Int, high: Bool, atNanoseconds: UInt64? = nil) {
        schedule(offset, .level(high), at: atNanoseconds ?? clock.nowNanoseconds())
    }

    /// A contact bounce: the physical level flips at each of the given times (ascending).
    public func injectBounce(_ offset: Int, togglesAtNanoseconds times: [UInt64]) {
        advance()
        var level = projectedLevel(offset)
        for t in times {
            level.toggle()
            schedule(offset, .level(level), at: t)
        }
    }

    /// Queues an edge event (logical, as the line's user will see it) without changing the level,
    /// for testing how users cope with events that disagree with reads.
    public func queueEdgeEvent(_ offset: Int, rising: Bool, atNanoseconds: UInt64) {
        schedule(offset, .event(rising: rising), at: atNanoseconds)
    }

    /// Makes requests of this line fail with `kind` (default: no such line) until `clearFailure`.
    public func failRequests(_ offset: Int, with kind: GPIOError.Kind = .noSuchLine) {
        lines[offset].failure = kind
    }

    public func clearFailure(_ offset: Int) { lines[offset].failure = nil }

    /// Makes reads of a requested line fail with `kind` (an I/O error from the chip) until called
    /// again with nil.
    public func failReads(_ offset: Int, with kind: GPIOError.Kind?) { lines[offset].readFailure = kind }

    /// The physical level of a line at the clock's time.
    public func isHigh(_ offset: Int) -> Bool {
        advance()
        return lines[offset].high
    }

    /// The logical value an output line was last driven to, nil if it is not requested as an output.
    public func outputValue(_ offset: Int) -> Bool? {
        lines[offset].output == nil ? nil : lines[offset].writes.last?.value
    }

    /// Every value driven on a line, its initial value first, across requests.
    public func outputHistory(_ offset: Int) -> [OutputWrite] { lines[offset].writes }

    public func isRequested(_ offset: Int) -> Bool { lines[offset].requested }

    // MARK: GPIOChip

    public func requestInput(offset: Int, _ request: GPIOInputRequest) throws(GPIOError) -> any GPIOInputLine {
        try checkRequest(offset)
        advance()
        lines[offset].input = request
        lines[offset].requestedAt = clock.nowNanoseconds()
        lines[offset].events = []
        return MockInputLine(chip: self, offset: offset)
    }

    public func requestOutput(offset: Int, _ request: GPIOOutputRequest) throws(GPIOError) -> any GPIOOutputLine {
        try checkRequest(offset)
        advance()
        lines[offset].output = request
        lines[offset].writes.reserveCapacity(Self.historyLimit)
        lines[offset].requestedAt = clock.nowNanoseconds()
        record(offset, request.initial)
        return MockOutputLine(chip: self, offset: offset, initial: request.initial)
    }

    // MARK: Internals used by the line handles

    fileprivate func read(_ offset: Int) throws(GPIOError) -> Bool {
        guard let input = lines[offset].input else { throw GPIOError(.released, chip: name, offset: offset) }
        if let kind = lines[offset].readFailure { throw GPIOError(kind, chip: name, offset: offset) }
        advance()
        return lines[offset].high != input.activeLow
    }

    fileprivate func nextEdge(_ offset: Int) throws(GPIOError) -> GPIOEdgeEvent? {
        guard let input = lines[offset].input else { throw GPIOError(.released, chip: name, offset: offset) }
        guard input.edges != .none else { throw GPIOError(.unsupported, chip: name, offset: offset) }
        advance()
        return lines[offset].events.isEmpty ? nil : lines[offset].events.removeFirst()
    }

    fileprivate func write(_ offset: Int, _ value: Bool) throws(GPIOError) {
        guard lines[offset].output != nil else { throw GPIOError(.released, chip: name, offset: offset) }
        advance()
        record(offset, value)
    }

    fileprivate func release(_ offset: Int) {
        lines[offset].input = nil
        lines[offset].output = nil
        lines[offset].events = []
    }

    private func checkRequest(_ offset: Int) throws(GPIOError) {
        guard offset >= 0, offset < lineCount else { throw GPIOError(.noSuchLine, chip: name, offset: offset) }
        if let kind = lines[offset].failure { throw GPIOError(kind, chip: name, offset: offset) }
        guard !lines[offset].requested else { throw GPIOError(.busy, chip: name, offset: offset) }
    }

    /// Writes kept per output line: the history is preallocated at the request and bounded (the
    /// oldest half goes when it is full), so a mock chip driven from the scan cycle never allocates
    /// there and a long `vigil run --mock-gpio` does not grow without bound.
    public static let historyLimit = 4096

    private func record(_ offset: Int, _ value: Bool) {
        let high = value != (lines[offset].output?.activeLow ?? false)
        lines[offset].high = high
        if lines[offset].writes.count >= Self.historyLimit { lines[offset].writes.removeFirst(Self.historyLimit / 2) }
        lines[offset].writes.append(OutputWrite(value: value, high: high, atNanoseconds: clock.nowNanoseconds()))
    }

    private func schedule(_ offset: Int, _ change: Change, at: UInt64) {
        // Stable insert by time, so changes at equal times apply in the order given.
        let index = lines[offset].scheduled.firstIndex { $0.at > at } ?? lines[offset].scheduled.endIndex
        lines[offset].scheduled.insert((at, change), at: index)
        advance()
    }

    /// The level a line will have once everything scheduled has happened.
    private func projectedLevel(_ offset: Int) -> Bool {
        for item in lines[offset].scheduled.reversed() {
            if case .level(let high) = item.change { return high }
        }
        return lines[offset].high
    }

    /// Applies every scheduled change due by the clock's time, queueing edge events for inputs.
    private func advance() {
        let now = clock.nowNanoseconds()
        for offset in lines.indices where !lines[offset].scheduled.isEmpty {
            while let first = lines[offset].scheduled.first, first.at <= now {
                lines[offset].scheduled.removeFirst()
                var line = lines[offset]
                switch first.change {
                case .level(let high):
                    guard high != line.high else { break }
                    line.high = high
                    if let input = line.input, first.at >= line.requestedAt {
                        let rising = high != input.activeLow
                        if Self.reports(input.edges, rising: rising) {
                            line.events.append(GPIOEdgeEvent(rising: rising, timestampNanoseconds: first.at))
                        }
                    }
                case .event(let rising):
                    if let input = line.input, input.edges != .none {
                        line.events.append(GPIOEdgeEvent(rising: rising, timestampNanoseconds: first.at))
                    }
                }
                lines[offset] = line
            }
        }
    }

    private static func reports(_ edges: GPIOEdgeDetection, rising: Bool) -> Bool {
        switch edges {
        case .none: return false
        case .rising: return rising
        case .falling: return !rising
        case .both: return true
        }
    }
}

/// An input line of a `MockGPIOChip`.
final class MockInputLine: GPIOInputLine {
    let chip: MockGPIOChip
    let offset: Int
    private var released = false

    init(chip: MockGPIOChip, offset: Int) {
        self.chip = chip
        self.offset = offset
    }

    func read() throws(GPIOError) -> Bool {
        guard !released else { throw GPIOError(.released, chip: chip.name, offset: offset) }
        return try chip.read(offset)
    }

    func nextEdge(timeoutNanoseconds: UInt64) throws(GPIOError) -> GPIOEdgeEvent? {
        guard !released else { throw GPIOError(.released, chip: chip.name, offset: offset) }
        return try chip.nextEdge(offset)
    }

    func release() {
        guard !released else { return }
        released = true
        chip.release(offset)
    }
}

/// An output line of a `MockGPIOChip`.
final class MockOutputLine: GPIOOutputLine {
    let chip: MockGPIOChip
    let offset: Int
    private(set) var lastWritten: Bool
    private var released = false

    init(chip: MockGPIOChip, offset: Int, initial: Bool) {
        self.chip = chip
        self.offset = offset
        self.lastWritten = initial
    }

    func write(_ value: Bool) throws(GPIOError) {
        guard !released else { throw GPIOError(.released, chip: chip.name, offset: offset) }
        try chip.write(offset, value)
        lastWritten = value
    }

    func release() {
        guard !released else { return }
        released = true
        chip.release(offset)
    }
}
