import VigilCore

/// Which edges of an input line produce events.
public enum GPIOEdgeDetection: Sendable, Hashable, CaseIterable {
    case none, rising, falling, both
}

/// One edge of an input line, in logical terms (active-low already applied).
public struct GPIOEdgeEvent: Sendable, Hashable {
    /// true for an inactive → active change, false for active → inactive.
    public var rising: Bool
    /// When the edge happened: the kernel's monotonic timestamp (libgpiod) or the mock's clock.
    public var timestampNanoseconds: UInt64

    public init(rising: Bool, timestampNanoseconds: UInt64) {
        self.rising = rising
        self.timestampNanoseconds = timestampNanoseconds
    }

    /// The logical level after the edge.
    public var level: Bool { rising }
}

/// How to request an input line.
public struct GPIOInputRequest: Sendable, Hashable {
    /// Shown by `gpioinfo` as the line's user.
    public var consumer: String
    /// Reads and edges are inverted by the backend (libgpiod's active-low flag), not by the caller.
    public var activeLow: Bool
    public var bias: GPIOBias
    public var edges: GPIOEdgeDetection

    public init(consumer: String = "vigil", activeLow: Bool = false, bias: GPIOBias = .asIs, edges: GPIOEdgeDetection = .none) {
        self.consumer = consumer
        self.activeLow = activeLow
        self.bias = bias
        self.edges = edges
    }

    /// The request for a configured input (its debounce is applied above the line, see `Debouncer`).
    public init(_ settings: GPIOInputSettings, consumer: String = "vigil", edges: GPIOEdgeDetection = .none) {
        self.init(consumer: consumer, activeLow: settings.activeLow, bias: settings.bias, edges: edges)
    }
}

/// How to request an output line.
public struct GPIOOutputRequest: Sendable, Hashable {
    public var consumer: String
    /// Writes are inverted by the backend (libgpiod's active-low flag).
    public var activeLow: Bool
    /// Logical value driven from the moment the line is requested.
    public var initial: Bool

    public init(consumer: String = "vigil", activeLow: Bool = false, initial: Bool = false) {
        self.consumer = consumer
        self.activeLow = activeLow
        self.initial = initial
    }
}

/// A GPIO chip that hands out lines (libgpiod backend, mock chip). Owned by the cycle thread.
public protocol GPIOChip: AnyObject {
    /// Name or path it was opened by (`gpiochip0`).
    var name: String { get }
    /// Kernel label (`pinctrl-bcm2711`), empty when the backend has none.
    var label: String { get }
    var lineCount: Int { get }
    /// Requests one line as an input.
    func requestInput(offset: Int, _ request: GPIOInputRequest) throws(GPIOError) -> any GPIOInputLine
    /// Requests one line as an output, driven to `request.initial` at once.
    func requestOutput(offset: Int, _ request: GPIOOutputRequest) throws(GPIOError) -> any GPIOOutputLine
}

/// A requested input line. Values are logical (active-low applied by the backend).
public protocol GPIOInputLine: AnyObject {
    var offset: Int { get }
    /// The current logical level.
    func read() throws(GPIOError) -> Bool
    /// The next edge event, waiting at most `timeoutNanoseconds` (0 polls); nil when none came.
    /// Fails with `.unsupported` when the line was requested without edge detection.
    func nextEdge(timeoutNanoseconds: UInt64) throws(GPIOError) -> GPIOEdgeEvent?
    /// Gives the line back to the kernel. Further calls fail with `.released`.
    func release()
}

/// A requested output line. Values are logical (active-low applied by the backend).
public protocol GPIOOutputLine: AnyObject {
    var offset: Int { get }
    /// Drives the line.
    func write(_ value: Bool) throws(GPIOError)
    /// The value last written (or the initial value), as embedded-hal's `StatefulOutputPin`.
    var lastWritten: Bool { get }
    /// Gives the line back to the kernel. Further writes fail with `.released`.
    func release()
}
