#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import HILShim
import Synchronization

/// Where the operator console listens.
public enum ConsoleEndpoint: Sendable {
    /// A serial port (USB adapter, UART); reopened after it goes away (and, with `carrierDetect`,
    /// after its carrier drops).
    case serial(SerialSettings)
    /// A new pseudo-terminal; its slave path (`ConsoleServer.ptyPath`) is what `screen`/`picocom` attach to.
    /// A session lasts while a terminal holds the slave open: when the last one closes it, the session
    /// ends and the next terminal to open it starts a new one.
    case pty
    /// Standard input and output (raw mode when stdin is a terminal); EOF ends the console.
    case stdio
}

/// Serves one console endpoint on its own thread ("vigil-console"): bytes in through a `LineEditor`,
/// lines to a `ConsoleLineHandler`, replies and unsolicited text out through a bounded buffer.
///
/// A session never outlives its terminal: a hang-up, an end of file or an I/O error on a serial line,
/// a carrier drop (with `carrierDetect`), or the last terminal closing a pty ends it (`handler.end`),
/// and the next terminal gets a fresh handler from `makeHandler`, with nothing of the last one's output
/// or input left in the line.
///
/// Never blocks on output: what the peer does not read waits in a 64 KiB buffer, beyond that it is
/// dropped and counted. Call `stop()` before releasing the server.
public final class ConsoleServer: @unchecked Sendable {
    /// The most output kept for a peer that does not read.
    public static let outputCapacity = 64 * 1024

    public let endpoint: ConsoleEndpoint
    private let makeHandler: @Sendable () -> ConsoleLineHandler
    private let maxLineBytes: Int
    private let monotonicNow: @Sendable () -> UInt64
    private let log: @Sendable (String) -> Void
    /// Descriptors the `.stdio` endpoint uses (tests pass a pipe or pty).
    private let stdioInput: Int32
    private let stdioOutput: Int32
    /// The carrier of a serial line (`SerialPort.carrier`; tests pass their own), nil without modem lines.
    private let carrier: @Sendable (Int32) -> Bool?

    private let inCount = Atomic<Int>(0)
    private let droppedCount = Atomic<Int>(0)
    private let lineCount = Atomic<Int>(0)
    private let reopenCount = Atomic<Int>(0)
    private let sessionCount = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let servingFlag = Atomic<Bool>(false)

    private struct State {
        var started = false
        var stopped = false
        var ptyPath: String?
        var thread: ConsoleThread?
        var wake: (read: Int32, write: Int32)?
        /// Standard input's settings before raw mode, restored by `stop()`.
        var savedStdin: termios?
    }
    private let state = Mutex(State())

    /// A server for `endpoint`; `makeHandler` is called on the server's thread for every new session.
    public convenience init(endpoint: ConsoleEndpoint, makeHandler: @escaping @Sendable () -> ConsoleLineHandler,
                            maxLineBytes: Int = 256, monotonicNow: @escaping @Sendable () -> UInt64,
                            log: @escaping @Sendable (String) -> Void) {
        self.init(endpoint: endpoint, makeHandler: makeHandler, maxLineBytes: maxLineBytes,
                  monotonicNow: monotonicNow, log: log, stdioInput: 0, stdioOutput: 1)
    }

    init(endpoint: ConsoleEndpoint, makeHandler: @escaping @Sendable () -> ConsoleLineHandler, maxLineBytes: Int,
         monotonicNow: @escaping @Sendable () -> UInt64, log: @escaping @Sendable (String) -> Void,
         stdioInput: Int32, stdioOutput: Int32, carrier: @escaping @Sendable (Int32) -> Bool? = { SerialPort.carrier($0) }) {
        self.carrier = carrier
        self.endpoint = endpoint
        self.makeHandler = makeHandler
        self.maxLineBytes = maxLineBytes
        self.monotonicNow = monotonicNow
        self.log = log
        self.stdioInput = stdioInput
        self.stdioOutput = stdioOutput
    }

    /// Bytes read from the endpoint.
    public var bytesIn: Int { inCount.load(ordering: .relaxed) }
    /// Output bytes never written: beyond the output bound, or pending when a serial line was lost.
    public var bytesDropped: Int { droppedCount.load(ordering: .relaxed) }
    /// Lines handed to the handler, taken or not (`handle(line:)` and `handle(problem:)`).
    public var linesHandled: Int { lineCount.load(ordering: .relaxed) }
    /// Times a lost serial port was opened again.
    public var reopens: Int { reopenCount.load(ordering: .relaxed) }
    /// Sessions begun (a terminal attached, a port opened with its carrier up).
    public var sessionsBegun: Int { sessionCount.load(ordering: .relaxed) }
    /// Whether the thread is still serving (false after `stop()`, and after EOF on `.stdio`).
    public var isServing: Bool { servingFlag.load(ordering: .acquiring) }
    /// The pty slave path for `.pty`, known once `start()` returned.
    public var ptyPath: String? { state.withLock { $0.ptyPath } }

    /// Opens the endpoint and starts the thread, which starts the first session. With
    /// `waitingForPort`, a serial port that cannot be opened now (the adapter is not plugged in)
    /// is not an error: the thread retries it every second, as after an unplug.
    public func start(waitingForPort: Bool = false) throws(ConsoleTransportError) {
        let already = state.withLock { s -> Bool in
            defer { s.started = true }
            return s.started || s.stopped
        }
        guard !already else { throw .server(detail: "start() called twice, or after stop()") }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            state.withLock { $0.started = false }
            throw .server(detail: "pipe: \(String(cString: strerror(errno)))")
        }
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        let link: ConsoleLink?
        do {
            link = try openEndpoint()
        } catch {
            if waitingForPort, case .serial(let settings) = endpoint {
                log("console \(settings.path): \(error); retrying every 1 s")
                link = nil
            } else {
                close(fds[0])
                close(fds[1])
                state.withLock { $0.started = false }   // a failed start may be tried again
                throw error
            }
        }
        servingFlag.store(true, ordering: .releasing)
        let wakeFD = fds[0]
        let thread: ConsoleThread
        do {
            thread = try ConsoleThread(name: "vigil-console") { [self] in
                serve(link, wakeFD: wakeFD)
                servingFlag.store(false, ordering: .releasing)
            }
        } catch {
            servingFlag.store(false, ordering: .releasing)
            link?.close()
            restoreStdin()
            close(fds[0])
            close(fds[1])
            state.withLock { $0.started = false }
            throw .server(detail: "cannot start thread vigil-console: pthread_create failed (errno \(error.errno))")
        }
        let stoppedMeanwhile = state.withLock { s -> Bool in
            guard !s.stopped else { return true }
            s.thread = thread
            s.wake = (fds[0], fds[1])
            return false
        }
        if stoppedMeanwhile {
            // stop() ran while the thread started: it sees `stopping` within one poll period.
            thread.join()
            restoreStdin()
            close(fds[0])
            close(fds[1])
        }
    }

    /// Ends the session (`handler.end`), joins the thread, closes the endpoint and restores stdin's
    /// terminal settings. Safe to call more than once.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        let (thread, wake) = state.withLock { s -> (ConsoleThread?, (read: Int32, write: Int32)?) in
            guard !s.stopped else { return (nil, nil) }
            s.stopped = true
            defer { s.thread = nil; s.wake = nil }
            return (s.thread, s.wake)
        }
        if let wake {
            var b: UInt8 = 1
            _ = write(wake.write, &b, 1)
        }
        thread?.join()
        restoreStdin()
        if let wake {
            close(wake.read)
            close(wake.write)
        }
    }

    private func restoreStdin() {
        guard var saved = state.withLock({ s -> termios? in defer { s.savedStdin = nil }; return s.savedStdin }) else { return }
        _ = tcsetattr(stdioInput, TCSANOW, &saved)
    }

    // MARK: Endpoints

    private func openEndpoint() throws(ConsoleTransportError) -> ConsoleLink {
        switch endpoint {
        case .serial(let settings):
            return try openSerial(settings)
        case .pty:
            return try openPTY()
        case .stdio:
            return try openStdio()
        }
    }

    private func openPTY() throws(ConsoleTransportError) -> ConsoleLink {
        var name = [CChar](repeating: 0, count: 128)
        let master = vigil_open_pty_master(O_RDWR | O_NOCTTY, &name, name.count)
        guard master >= 0 else { throw .pty(detail: "posix_openpt: \(String(cString: strerror(errno)))") }
        _ = fcntl(master, F_SETFD, FD_CLOEXEC)
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        let path = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        do {
            try Self.resetPTY(master: master, path: path)
        } catch {
            close(master)
            throw .pty(detail: error.description)
        }
        state.withLock { $0.ptyPath = path }
        return ConsoleLink(kind: .pty, readFD: master, writeFD: master, owned: [master], path: path)
    }

    /// Makes the pty's slave raw (so its line discipline does not echo our own output back to us) and
    /// empties both directions, by opening the slave for a moment: nothing a detached terminal typed or
    /// was shown reaches the next one. Not held open: the master sees a hang-up when the last terminal
    /// closes the slave, and that ends the session.
    private static func resetPTY(master: Int32, path: String) throws(ConsoleTransportError) {
        let slave = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard slave >= 0 else { throw .pty(detail: "open \(path): \(String(cString: strerror(errno)))") }
        defer { close(slave) }
        try configureRaw(slave, path: path)
        _ = tcflush(slave, TCIOFLUSH)
        _ = tcflush(master, TCIOFLUSH)
        var b = [UInt8](repeating: 0, count: 1024)
        while read(master, &b, b.count) > 0 {}
    }

    private func openSerial(_ settings: SerialSettings) throws(ConsoleTransportError) -> ConsoleLink {
        let port = try SerialPort.open(settings)
        if settings.carrierDetect, carrier(port.descriptor) == nil {
            log("console \(settings.path): carrier detect is on but the device reports no modem lines; only a hang-up ends a session")
        }
        return ConsoleLink(kind: .serial, readFD: port.descriptor, writeFD: port.descriptor, owned: [port.descriptor], path: settings.path)
    }

    private func openStdio() throws(ConsoleTransportError) -> ConsoleLink {
        let input = stdioInput
        var link = ConsoleLink(kind: .stdio, readFD: input, writeFD: stdioOutput, echo: false, owned: [], path: "stdin")
        if isatty(input) == 1 {
            var saved = termios()
            guard tcgetattr(input, &saved) == 0 else { throw .stdio(detail: "tcgetattr: \(String(cString: strerror(errno)))") }
            var t = saved
            cfmakeraw(&t)
            // Output processing stays on: log lines written to the same terminal keep their `\n` → `\r\n`.
            t.c_oflag = saved.c_oflag
            withUnsafeMutableBytes(of: &t.c_cc) { cc in
                cc[Int(VMIN)] = 1
                cc[Int(VTIME)] = 0
            }
            guard tcsetattr(input, TCSANOW, &t) == 0 else { throw .stdio(detail: "tcsetattr: \(String(cString: strerror(errno)))") }
            state.withLock { $0.savedStdin = saved }
            link.echo = true
        }
        // A private, non-blocking open file description of stdout (a terminal or pipe), so O_NONBLOCK does
        // not leak into the shell's description. Regular files never block; anything else is written with care.
        var st = stat()
        if fstat(stdioOutput, &st) == 0, (st.st_mode & S_IFMT) == S_IFCHR || (st.st_mode & S_IFMT) == S_IFIFO {
            let fd = open("/proc/self/fd/\(stdioOutput)", O_WRONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
            if fd >= 0 {
                link.writeFD = fd
                link.owned = [fd]
            } else {
                link.outputMayBlock = true
            }
        } else if (st.st_mode & S_IFMT) != S_IFREG {
            link.outputMayBlock = true
        }
        return link
    }

    // MARK: The thread

    private enum Connection {
        case connected(ConsoleLink)
        /// Open, and nobody there: a pty whose last terminal detached, a serial line whose carrier is
        /// down. No session runs; one begins when a terminal attaches (the carrier comes up).
        case waiting(ConsoleLink)
        /// A serial port gone: retried at `retryAt`; `since` for the recovery line, `lastError` logged once.
        case lost(since: UInt64, retryAt: UInt64, lastError: String?)
    }

    private static let second: UInt64 = 1_000_000_000
    private static let pollPeriod: UInt64 = 100_000_000
    private static let readsPerIteration = 16
    private static let attachSettle: UInt64 = 200_000_000

    /// The console thread's nice value: below the cycle (and the bus threads) when CPUs are short,
    /// above the learner (SCHED_IDLE); a person typing still gets answers in milliseconds.
    public static let threadNice: Int32 = 5

    private func serve(_ initial: ConsoleLink?, wakeFD: Int32) {
        _ = vigil_set_thread_nice(Self.threadNice)
        // A closed stdout pipe is EPIPE for this thread (the end of the session), not a SIGPIPE for the process.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
        var session = Session(maxLineBytes: maxLineBytes, capacity: Self.outputCapacity)
        var connection: Connection
        var handler: ConsoleLineHandler?
        var lastPoll = monotonicNow()
        /// A fresh session (a viewer, nothing inherited) on a link whose far end is there.
        func beginSession(on link: ConsoleLink) -> Connection {
            let h = makeHandler()
            handler = h
            lastPoll = monotonicNow()
            sessionCount.add(1, ordering: .relaxed)
            session.begin(h, link: link, now: lastPoll)
            return .connected(link)
        }
        if let initial {
            if peerPresent(initial) {
                connection = beginSession(on: initial)
            } else {
                connection = .waiting(initial)
            }
        } else {
            // Started without its port (`waitingForPort`): the first session begins once it opens.
            connection = .lost(since: lastPoll, retryAt: lastPoll &+ Self.second, lastError: nil)
        }
        var readBuffer = [UInt8](repeating: 0, count: 1024)
        /// When a terminal was first seen on a waiting pty.
        var attachedAt: UInt64?

        loop: while !stopping.load(ordering: .acquiring) {
            switch connection {
            case .connected(let link):
                let now0 = monotonicNow()
                let untilPoll = lastPoll &+ Self.pollPeriod > now0 ? lastPoll &+ Self.pollPeriod - now0 : 0
                let timeoutMilliseconds = Int32(min(Self.pollPeriod, untilPoll) / 1_000_000)
                // Back-pressure: while half the output bound waits for the peer, input waits in the kernel.
                let throttled = session.output.count >= Self.outputCapacity / 2
                let shared = link.writeFD == link.readFD
                var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0),
                           pollfd(fd: link.readFD, events: throttled ? 0 : Int16(POLLIN), revents: 0)]
                if !session.output.isEmpty {
                    if shared {
                        fds[1].events |= Int16(POLLOUT)
                    } else {
                        fds.append(pollfd(fd: link.writeFD, events: Int16(POLLOUT), revents: 0))
                    }
                }
                // A pipe's hang-up is reported whatever is asked: leave stdin out while it may not be read.
                if throttled, !shared { fds[1].fd = -1 }
                let n = poll(&fds, nfds_t(fds.count), timeoutMilliseconds)
                if n < 0, errno != EINTR {
                    log("console: poll failed: \(String(cString: strerror(errno))); console stopped")
                    break loop
                }
                if fds[0].revents != 0 { drain(wakeFD) }
                if stopping.load(ordering: .acquiring) { break loop }

                var failure: String?
                let readEvents = fds[1].revents
                if link.kind != .stdio, readEvents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                    // Serial: unplugged, hung up (carrier lost), or the pty pair behind it closed.
                    // Pty master: the last terminal closed the slave.
                    failure = readEvents & Int16(POLLNVAL) != 0 ? "descriptor closed"
                        : readEvents & Int16(POLLHUP) != 0 ? "hang-up" : "poll error"
                } else if carrierLost(link) {
                    failure = "carrier lost"
                } else if readEvents & Int16(POLLNVAL) != 0 {
                    failure = "descriptor closed"
                } else if readEvents & Int16(POLLIN | POLLHUP | POLLERR) != 0, let h = handler {
                    for _ in 0..<Self.readsPerIteration where session.output.count < Self.outputCapacity / 2 {
                        let r = readBuffer.withUnsafeMutableBytes { read(link.readFD, $0.baseAddress, $0.count) }
                        if r > 0 {
                            inCount.add(r, ordering: .relaxed)
                            session.feed(readBuffer[0..<r], handler: h, link: link, now: monotonicNow())
                            if r < readBuffer.count { break }
                        } else if r == 0 {
                            // VMIN=1 on a non-blocking tty: empty reads EAGAIN, so 0 is a hang-up (or stdin's EOF).
                            failure = link.kind == .stdio ? "end of input" : "end of file (hang-up)"
                            break
                        } else {
                            let e = errno
                            if e == EAGAIN || e == EWOULDBLOCK || e == EINTR { break }
                            failure = String(cString: strerror(e))
                            break
                        }
                    }
                }
                // Counted before the output goes: whoever reads a reply sees its line counted.
                publish(&session)
                if failure == nil, !session.output.isEmpty {
                    if let e = session.output.write(to: link.writeFD, mayBlock: link.outputMayBlock) {
                        failure = String(cString: strerror(e))
                    }
                }
                if failure == nil, let h = handler {
                    let now = monotonicNow()
                    lastPoll = now
                    if let text = h.poll(nowNanoseconds: now) { session.unsolicited(text, handler: h, link: link) }
                    publish(&session)
                    if !session.output.isEmpty, let e = session.output.write(to: link.writeFD, mayBlock: link.outputMayBlock) {
                        failure = String(cString: strerror(e))
                    }
                }
                guard let failure else { continue }

                handler?.end(nowNanoseconds: monotonicNow())
                handler = nil
                droppedCount.add(session.output.count, ordering: .relaxed)
                session.reset()
                if link.kind == .pty, failure != "descriptor closed" {
                    do {
                        try Self.resetPTY(master: link.readFD, path: link.path)
                        log("console \(link.path): the terminal detached (\(failure)); session ended, waiting for the next terminal")
                        connection = .waiting(link)
                        continue
                    } catch {
                        log("console \(link.path): the terminal detached and the pty cannot be reset: \(error); console stopped")
                    }
                }
                link.close()
                guard link.kind == .serial, case .serial(let settings) = endpoint else {
                    log(link.raw ? "console lost: \(failure); console stopped" : "console: standard input ended (\(failure)); session ended")
                    connection = .lost(since: 0, retryAt: .max, lastError: nil)
                    break loop
                }
                log("console \(settings.path) lost: \(failure); retrying every 1 s")
                let now = monotonicNow()
                connection = .lost(since: now, retryAt: now &+ Self.second, lastError: nil)

            case .waiting(let link):
                var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
                _ = poll(&fds, 1, Int32(Self.pollPeriod / 1_000_000))
                if fds[0].revents != 0 { drain(wakeFD) }
                if stopping.load(ordering: .acquiring) { break loop }
                if link.kind == .serial {
                    // Waiting for the carrier: the adapter may still be unplugged meanwhile.
                    var p = pollfd(fd: link.readFD, events: 0, revents: 0)
                    if poll(&p, 1, 0) == 1, p.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 {
                        link.close()
                        log("console \(link.path) lost while waiting for the carrier; retrying every 1 s")
                        let now = monotonicNow()
                        connection = .lost(since: now, retryAt: now &+ Self.second, lastError: nil)
                        continue
                    }
                }
                guard peerPresent(link) else { attachedAt = nil; continue }
                // A terminal program sets its line up right after opening it (`TCSAFLUSH` would throw
                // away a banner already sent): the session begins once the terminal has been there a moment.
                let seen = attachedAt ?? monotonicNow()
                attachedAt = seen
                guard link.kind != .pty || monotonicNow() &- seen >= Self.attachSettle else { continue }
                attachedAt = nil
                log(link.kind == .pty ? "console \(link.path): a terminal attached; new session"
                                      : "console \(link.path): carrier up; new session")
                connection = beginSession(on: link)

            case let .lost(since, retryAt, lastError):
                guard case .serial(let settings) = endpoint else { break loop }
                let now = monotonicNow()
                if now < retryAt {
                    var fds = [pollfd(fd: wakeFD, events: Int16(POLLIN), revents: 0)]
                    _ = poll(&fds, 1, Int32(min(Self.second, retryAt - now) / 1_000_000) + 1)
                    if fds[0].revents != 0 { drain(wakeFD) }
                    continue
                }
                do {
                    let link = try openSerial(settings)
                    reopenCount.add(1, ordering: .relaxed)
                    let seconds = Double((now &- since) / 1_000_000) / 1000
                    guard peerPresent(link) else {
                        log("console \(settings.path) reopened after \(seconds) s; waiting for the carrier")
                        connection = .waiting(link)
                        continue
                    }
                    log("console \(settings.path) reopened after \(seconds) s; new session")
                    connection = beginSession(on: link)
                } catch {
                    let text = error.description
                    if text != lastError { log("console \(settings.path): \(text); still retrying every 1 s") }
                    connection = .lost(since: since, retryAt: max(now, retryAt &+ Self.second), lastError: text)
                }
            }
        }

        handler?.end(nowNanoseconds: monotonicNow())
        publish(&session)
        switch connection {
        case .connected(let link):
            // What was already queued goes if the peer takes it now; nothing new is printed.
            _ = session.output.write(to: link.writeFD, mayBlock: link.outputMayBlock)
            droppedCount.add(session.output.count, ordering: .relaxed)
            link.close()
        case .waiting(let link):
            link.close()
        case .lost:
            break
        }
    }

    /// Whether someone is at the far end: a terminal holds the pty's slave (the master reports no
    /// hang-up), a carrier-detect line has its carrier. Lines without a notion of it always are.
    private func peerPresent(_ link: ConsoleLink) -> Bool {
        switch link.kind {
        case .pty:
            var p = pollfd(fd: link.readFD, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, 0)
            return p.revents & Int16(POLLHUP) == 0
        case .serial:
            return !carrierLost(link)
        case .stdio:
            return true
        }
    }

    /// A carrier-detect serial line whose carrier is down.
    private func carrierLost(_ link: ConsoleLink) -> Bool {
        guard link.kind == .serial, case .serial(let settings) = endpoint, settings.carrierDetect else { return false }
        return carrier(link.readFD) == false
    }

    /// Moves the session's counts to the atomics the status and tests read.
    private func publish(_ session: inout Session) {
        if session.dropped > 0 { droppedCount.add(session.dropped, ordering: .relaxed); session.dropped = 0 }
        if session.lines > 0 { lineCount.add(session.lines, ordering: .relaxed); session.lines = 0 }
    }

    private func drain(_ fd: Int32) {
        var b = [UInt8](repeating: 0, count: 16)
        while read(fd, &b, b.count) > 0 {}
    }
}

/// An open endpoint as the server's thread sees it.
private struct ConsoleLink: Sendable {
    enum Kind { case serial, pty, stdio }
    var kind: Kind
    var readFD: Int32
    var writeFD: Int32
    /// Raw line (serial, pty): the server turns `\n` into `\r\n`.
    var raw: Bool { kind != .stdio }
    /// Whether the editor's echo is written (false when stdin is a pipe).
    var echo = true
    /// The output descriptor may block (no private non-blocking one could be had): small writes after POLLOUT.
    var outputMayBlock = false
    /// Everything to close at the end.
    var owned: [Int32]
    /// The device or pty path, for the log.
    var path: String

    func close() { for fd in owned { Glibc.close(fd) } }
}

/// One session's editor and output, on the server's thread.
private struct Session {
    var editor: LineEditor
    let maxLineBytes: Int
    var output: OutputBuffer
    /// Scratch for the editor's echo and for text being converted to line bytes (capacity kept).
    private var echo: [UInt8] = []
    private var text: [UInt8] = []
    private var secret = false
    /// Counted here, moved to the server's atomics once per iteration.
    var dropped = 0
    var lines = 0

    init(maxLineBytes: Int, capacity: Int) {
        self.maxLineBytes = maxLineBytes
        editor = LineEditor(maxLineBytes: maxLineBytes)
        output = OutputBuffer(capacity: capacity)
        echo.reserveCapacity(4096)
        text.reserveCapacity(4096)
    }

    mutating func reset() {
        editor = LineEditor(maxLineBytes: maxLineBytes)
        output.removeAll()
        secret = false
    }

    mutating func begin(_ handler: ConsoleLineHandler, link: ConsoleLink, now: UInt64) {
        let banner = handler.begin(nowNanoseconds: now)
        emit(banner, raw: link.raw, endLine: true)
        showPrompt(handler, raw: link.raw)
    }

    mutating func feed(_ bytes: ArraySlice<UInt8>, handler: ConsoleLineHandler, link: ConsoleLink, now: UInt64) {
        for byte in bytes {
            guard let event = editor.feed(byte, secret: secret, echo: &echo) else { continue }
            flushEcho(link)
            lines += 1
            let reply: String
            switch event {
            case .line(let line): reply = handler.handle(line: line, nowNanoseconds: now)
            case .problem(let problem): reply = handler.handle(problem: problem, nowNanoseconds: now)
            }
            emit(reply, raw: link.raw, endLine: true)
            showPrompt(handler, raw: link.raw)
        }
        flushEcho(link)
    }

    /// Text above the line being typed: new line, the text, the prompt and the partial line again.
    mutating func unsolicited(_ message: String, handler: ConsoleLineHandler, link: ConsoleLink) {
        guard !message.isEmpty else { return }
        text.removeAll(keepingCapacity: true)
        appendNewline(raw: link.raw)
        append(message, raw: link.raw)
        if text.last != 0x0A { appendNewline(raw: link.raw) }
        dropped += output.append(text)
        showPrompt(handler, raw: link.raw)
        if link.echo { dropped += output.append(editor.redraw(secret: secret)) }
    }

    private mutating func showPrompt(_ handler: ConsoleLineHandler, raw: Bool) {
        secret = handler.nextLineIsSecret
        emit(handler.prompt, raw: raw, endLine: false)
    }

    private mutating func flushEcho(_ link: ConsoleLink) {
        if link.echo, !echo.isEmpty { dropped += output.append(echo) }
        echo.removeAll(keepingCapacity: true)
    }

    /// Queues `s`, with `\n` as `\r\n` on a raw line; `endLine` adds a line end to non-empty text without one.
    private mutating func emit(_ s: String, raw: Bool, endLine: Bool) {
        guard !s.isEmpty else { return }
        text.removeAll(keepingCapacity: true)
        append(s, raw: raw)
        if endLine, text.last != 0x0A { appendNewline(raw: raw) }
        dropped += output.append(text)
    }

    /// Converts into `text`, which never holds more than the output bound (the rest could not be sent anyway).
    private mutating func append(_ s: String, raw: Bool) {
        var previous: UInt8 = 0
        for b in s.utf8 {
            guard text.count < output.capacity else { dropped += 1; continue }
            if raw, b == 0x0A, previous != 0x0D { text.append(0x0D) }
            text.append(b)
            previous = b
        }
    }

    private mutating func appendNewline(raw: Bool) {
        if raw { text.append(0x0D) }
        text.append(0x0A)
    }
}

/// A fixed-capacity byte ring: output waits here while the peer does not read; what does not fit is dropped.
struct OutputBuffer {
    private var storage: [UInt8]
    private var head = 0
    private(set) var count = 0

    init(capacity: Int) { storage = [UInt8](repeating: 0, count: capacity) }

    var isEmpty: Bool { count == 0 }
    var capacity: Int { storage.count }

    /// Appends what fits; returns how many bytes were dropped.
    mutating func append(_ bytes: [UInt8]) -> Int {
        let n = min(bytes.count, capacity - count)
        var tail = (head + count) % capacity
        var i = 0
        while i < n {
            let run = min(n - i, capacity - tail)
            storage.withUnsafeMutableBufferPointer { dst in
                bytes.withUnsafeBufferPointer { src in
                    dst.baseAddress!.advanced(by: tail).update(from: src.baseAddress!.advanced(by: i), count: run)
                }
            }
            i += run
            tail = (tail + run) % capacity
        }
        count += n
        return bytes.count - n
    }

    mutating func removeAll() {
        head = 0
        count = 0
    }

    /// Writes as much as the descriptor takes without waiting. Returns errno on a failure other than EAGAIN/EINTR.
    mutating func write(to fd: Int32, mayBlock: Bool) -> Int32? {
        while count > 0 {
            var run = min(count, capacity - head)
            if mayBlock {
                // Only after POLLOUT, and small: a blocking descriptor is written as little as it surely takes.
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                guard poll(&p, 1, 0) == 1, p.revents & Int16(POLLOUT) != 0 else { return nil }
                run = min(run, 256)
            }
            let start = head
            let n = storage.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!.advanced(by: start), run) }
            if n > 0 {
                head = (head + n) % capacity
                count -= n
                if count == 0 { head = 0 }
                continue
            }
            if n == 0 { return nil }
            let e = errno
            if e == EAGAIN || e == EWOULDBLOCK { return nil }
            if e == EINTR { continue }
            return e
        }
        return nil
    }
}

/// A joinable pthread named for `top -H`/`ps -L` (the idea of Fieldbus's `JoinableThread`; Console may not import it).
private final class ConsoleThread: @unchecked Sendable {
    struct StartError: Error { var errno: Int32 }

    private var tid = pthread_t()
    private let joined = Mutex(false)

    private final class Box {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    init(name: String, _ body: @escaping @Sendable () -> Void) throws(StartError) {
        let threadName = String(decoding: Array(name.utf8.prefix(15)), as: UTF8.self)
        let box = Unmanaged.passRetained(Box {
            Self.nameCurrentThread(threadName)
            body()
        }).toOpaque()
        let rc = pthread_create(&tid, nil, { arg in
            Unmanaged<Box>.fromOpaque(arg!).takeRetainedValue().body()
            return nil
        }, box)
        guard rc == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            throw StartError(errno: rc)
        }
    }

    /// `pthread_setname_np`, looked up once: Swift's Glibc module does not declare the GNU extension.
    private static let setName: (@convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "pthread_setname_np") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32).self)
    }()

    private static func nameCurrentThread(_ name: String) {
        if let setName { _ = name.withCString { setName(pthread_self(), $0) } }
    }

    func join() {
        let first = joined.withLock { j -> Bool in defer { j = true }; return !j }
        if first { pthread_join(tid, nil) }
    }
}
