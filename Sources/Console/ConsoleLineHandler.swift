/// What the line editor hands the session instead of a line.
public enum LineProblem: Sendable, Hashable {
    /// The line grew past the editor's bound; its bytes were dropped up to the end of the line.
    case tooLong(limit: Int)
    /// The line's bytes are not valid UTF-8.
    case invalidUTF8
    /// Ctrl-C: the operator abandoned the line.
    case cancelled
    /// The line holds a bidirectional-text control (U+202E …), which could make what is shown differ
    /// from what is stored; it is refused, never stored.
    case bidiControl
}

/// One operator session on a console endpoint: the transport (`ConsoleServer`) owns the bytes,
/// the handler owns the meaning. All calls come from the server's thread, one at a time, with the
/// monotonic time in nanoseconds. Text uses `\n`; the server turns it into `\r\n` on a raw line.
public protocol ConsoleLineHandler: AnyObject {
    /// A terminal attached (port opened, pty slave opened, stdin started): the banner.
    func begin(nowNanoseconds: UInt64) -> String
    /// The prompt shown before each line (e.g. `vigil(viewer)> `).
    var prompt: String { get }
    /// Whether the next line is secret (a PIN): the editor echoes `*` instead of its characters.
    var nextLineIsSecret: Bool { get }
    /// A complete line (without its end), valid UTF-8, within the bound. Returns the reply.
    func handle(line: String, nowNanoseconds: UInt64) -> String
    /// A line that could not be taken. Returns the reply (short).
    func handle(problem: LineProblem, nowNanoseconds: UInt64) -> String
    /// Called at least every 100 ms while the session lasts: unsolicited text (a new alarm, an idle
    /// logout), or nil. The server prints it above the line being typed and redraws that line.
    func poll(nowNanoseconds: UInt64) -> String?
    /// The terminal went away (port unplugged, EOF, shutdown): end the session (log out).
    func end(nowNanoseconds: UInt64)
}
