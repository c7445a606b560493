#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import VigilCore
import Fieldbus
import HILShim

/// Which way bytes travel on a virtual serial line.
public enum LineDirection: Sendable, Hashable {
    /// From the client (master) to the device (slave): requests.
    case toDevice
    /// From the device to the client: responses.
    case toClient
    /// Both ways.
    case both

    func includes(_ d: LineDirection) -> Bool { self == .both || self == d }
}

/// The faults currently injected into a virtual serial line.
public struct LineFaults: Sendable, Hashable {
    /// Flip one bit of the last byte in each of the next this-many frames (a frame: one burst read from a side).
    public var corruptNextFrames: Int = 0
    /// Probability of flipping a bit in any frame.
    public var corruptionProbability: Double = 0
    public var corruptDirection: LineDirection = .toClient
    /// Drop one byte from each of the next this-many frames.
    public var dropNextFrames: Int = 0
    /// Probability of dropping each byte.
    public var byteDropProbability: Double = 0
    public var dropDirection: LineDirection = .both
    /// Pause this long in the middle of each of the next `gapFrames` frames.
    public var gapMilliseconds: Int = 0
    public var gapFrames: Int = 0
    public var gapDirection: LineDirection = .toClient
    /// Nothing passes while the line is broken (bytes are lost).
    public var broken: Bool = false
    /// When set, the break ends by itself at this `CLOCK_MONOTONIC` time.
    public var brokenUntilNanoseconds: UInt64?

    public init() {}
}

/// Bytes counted by a virtual serial line.
public struct LineCounters: Sendable, Hashable {
    public var bytesRelayed = 0
    public var bytesCorrupted = 0
    public var bytesDropped = 0
    public init() {}
}

/// A virtual RS-485 line: two pseudo-terminals joined by a relay thread. A Modbus client opens
/// `clientPath`, a simulated device opens `devicePath`, and bytes pass between them either at
/// memory speed or paced at the line's baud rate, with deterministic (seeded) fault injection.
public final class VirtualSerialLine: @unchecked Sendable {
    /// How fast bytes cross the line.
    public enum Pacing: Sendable, Hashable {
        case unpaced
        /// No faster than `baud` with `bitsPerCharacter` bits per byte on the wire (start + data + parity + stop).
        case paced(baud: Int, bitsPerCharacter: Int = 11)

        var nanosecondsPerByte: UInt64 {
            switch self {
            case .unpaced: return 0
            case .paced(let baud, let bits): return UInt64(bits) * 1_000_000_000 / UInt64(max(1, baud))
            }
        }
    }

    /// Path of the pty the client opens (e.g. `/dev/pts/7`).
    public let clientPath: String
    /// Path of the pty the simulated device opens.
    public let devicePath: String
    public let pacing: Pacing

    private let clientMaster: Int32
    private let deviceMaster: Int32
    // Slave ends held open so the masters never see a hang-up while nobody has the path open.
    private let clientSlaveHold: Int32
    private let deviceSlaveHold: Int32
    private let pipe: WakePipe
    private var thread: JoinableThread?

    private let lock = NSLock()
    // Guarded by `lock`.
    private var state = LineFaults()
    private var counts = LineCounters()
    private var random: SeededRandom
    private var stopping = false
    private var closed = false

    /// Creates both ptys (raw mode) and starts the relay.
    public init(pacing: Pacing = .unpaced, seed: UInt64 = 1) throws {
        self.pacing = pacing
        random = SeededRandom(seed: seed)
        pipe = try WakePipe()
        let (cm, cp, ch) = try Self.openPTY()
        let device: (Int32, String, Int32)
        do {
            device = try Self.openPTY()
        } catch {
            Glibc.close(cm)
            Glibc.close(ch)
            throw error
        }
        clientMaster = cm
        clientPath = cp
        clientSlaveHold = ch
        (deviceMaster, devicePath, deviceSlaveHold) = device
        thread = try JoinableThread(name: "sim-line") { [self] in relay() }
    }

    deinit {
        close()
    }

    private static func openPTY() throws -> (master: Int32, path: String, slave: Int32) {
        var name = [CChar](repeating: 0, count: 128)
        let m = vigil_open_pty_master(O_RDWR | O_NOCTTY, &name, name.count)
        guard m >= 0 else { throw HILError.lastErrno("posix_openpt/grantpt/unlockpt/ptsname_r") }
        let path = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let s = open(path, O_RDWR | O_NOCTTY)
        guard s >= 0 else {
            let e = HILError.lastErrno("open", path)
            Glibc.close(m)
            throw e
        }
        for fd in [m, s] {
            var t = termios()
            tcgetattr(fd, &t)
            cfmakeraw(&t)
            tcsetattr(fd, TCSANOW, &t)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        _ = fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK)
        return (m, path, s)
    }

    /// Stops the relay, waits for it and closes the ptys. Safe to call more than once.
    public func close() {
        let first = lock.withLock { () -> Bool in
            defer { closed = true }
            stopping = true
            return !closed
        }
        guard first else { return }
        pipe.wake()
        thread?.join()
        for fd in [clientMaster, deviceMaster, clientSlaveHold, deviceSlaveHold] { Glibc.close(fd) }
    }

    // MARK: Fault injection

    /// The faults in force.
    public var faults: LineFaults { lock.withLock { state } }
    /// Bytes relayed, corrupted and dropped so far.
    public var counters: LineCounters { lock.withLock { counts } }

    /// Flips one bit in each of the next `frames` frames going `direction` (the receiver sees a bad CRC).
    public func corruptNextFrames(_ frames: Int, direction: LineDirection = .toClient) {
        update { $0.corruptNextFrames = frames; $0.corruptDirection = direction }
    }

    /// Flips a bit in each frame going `direction` with this probability (0 turns it off).
    public func setCorruptionProbability(_ p: Double, direction: LineDirection = .toClient) {
        update { $0.corruptionProbability = p; $0.corruptDirection = direction }
    }

    /// Drops one byte of each of the next `frames` frames going `direction`.
    public func dropNextFrames(_ frames: Int, direction: LineDirection = .both) {
        update { $0.dropNextFrames = frames; $0.dropDirection = direction }
    }

    /// Drops each byte going `direction` with this probability (0 turns it off).
    public func setByteDropProbability(_ p: Double, direction: LineDirection = .both) {
        update { $0.byteDropProbability = p; $0.dropDirection = direction }
    }

    /// Pauses `milliseconds` in the middle of each of the next `frames` frames going `direction`.
    public func insertGap(milliseconds: Int, frames: Int = 1, direction: LineDirection = .toClient) {
        update { $0.gapMilliseconds = milliseconds; $0.gapFrames = frames; $0.gapDirection = direction }
    }

    /// Breaks the line: nothing passes until `clearBreak()` or, when given, for `milliseconds`.
    public func breakLine(forMilliseconds milliseconds: Int? = nil) {
        update {
            $0.broken = true
            $0.brokenUntilNanoseconds = milliseconds.map { monotonicNanoseconds() + UInt64(max(0, $0)) * 1_000_000 }
        }
    }

    /// Ends a line break.
    public func clearBreak() { update { $0.broken = false; $0.brokenUntilNanoseconds = nil } }

    /// Removes every fault.
    public func clearFaults() { update { $0 = LineFaults() } }

    private func update(_ change: (inout LineFaults) -> Void) {
        lock.withLock { change(&state) }
    }

    // MARK: Relay thread

    private var isStopping: Bool { lock.withLock { stopping } }

    private func relay() {
        _ = vigil_set_timer_slack_ns(1) // paced bytes are ~100 us apart at 115200 baud
        var buffer = [UInt8](repeating: 0, count: 1024)
        var schedule = LineSchedule()
        while !isStopping {
            var fds = [pollfd(fd: pipe.readFD, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: clientMaster, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: deviceMaster, events: Int16(POLLIN), revents: 0)]
            let n = poll(&fds, 3, -1)
            if n < 0 { if errno == EINTR { continue } else { return } }
            if fds[0].revents != 0 { pipe.drain() }
            for (i, direction) in [(1, LineDirection.toDevice), (2, LineDirection.toClient)] where fds[i].revents & Int16(POLLIN) != 0 {
                let from = i == 1 ? clientMaster : deviceMaster
                let to = i == 1 ? deviceMaster : clientMaster
                let r = read(from, &buffer, buffer.count)
                guard r > 0 else { continue }
                let frame = applyFaults(Array(buffer[0..<r]), direction: direction)
                deliver(frame.bytes, gapAfter: frame.gapAfter, gapNanoseconds: frame.gapNanoseconds,
                        to: to, direction: direction, schedule: &schedule)
            }
        }
    }

    private struct FaultedFrame {
        var bytes: [UInt8]
        /// Pause after this many bytes (nil: no gap).
        var gapAfter: Int?
        var gapNanoseconds: UInt64
    }

    /// Decides, under the lock and from the seeded generator, what happens to one frame.
    private func applyFaults(_ input: [UInt8], direction: LineDirection) -> FaultedFrame {
        lock.withLock {
            var bytes = input
            if state.broken, let until = state.brokenUntilNanoseconds, monotonicNanoseconds() >= until {
                state.broken = false
                state.brokenUntilNanoseconds = nil
            }
            if state.broken {
                counts.bytesDropped += bytes.count
                return FaultedFrame(bytes: [], gapAfter: nil, gapNanoseconds: 0)
            }
            if state.dropDirection.includes(direction) {
                if state.dropNextFrames > 0, !bytes.isEmpty {
                    state.dropNextFrames -= 1
                    bytes.remove(at: Int(random.next() % UInt64(bytes.count)))
                    counts.bytesDropped += 1
                }
                if state.byteDropProbability > 0 {
                    let before = bytes.count
                    bytes = bytes.filter { _ in Double(random.next() >> 11) / Double(1 << 53) >= state.byteDropProbability }
                    counts.bytesDropped += before - bytes.count
                }
            }
            if state.corruptDirection.includes(direction), !bytes.isEmpty {
                var corrupt = false, counted = false
                if state.corruptNextFrames > 0 {
                    state.corruptNextFrames -= 1
                    corrupt = true
                    counted = true
                } else if state.corruptionProbability > 0 {
                    corrupt = Double(random.next() >> 11) / Double(1 << 53) < state.corruptionProbability
                }
                if corrupt {
                    // Counted corruption hits the last byte (the CRC's high byte on Modbus RTU), so the
                    // receiver's framing is intact and it sees exactly a bad CRC. Random corruption hits
                    // any byte but the first (a wrong unit id would be silence, not a bad CRC).
                    let i = counted || bytes.count == 1 ? bytes.count - 1 : 1 + Int(random.next() % UInt64(bytes.count - 1))
                    bytes[i] ^= UInt8(1) << UInt8(random.next() % 8)
                    counts.bytesCorrupted += 1
                }
            }
            var gapAfter: Int?
            var gapNanoseconds: UInt64 = 0
            if state.gapDirection.includes(direction), state.gapFrames > 0, bytes.count >= 2 {
                state.gapFrames -= 1
                gapAfter = bytes.count / 2
                gapNanoseconds = UInt64(max(0, state.gapMilliseconds)) * 1_000_000
            }
            counts.bytesRelayed += bytes.count
            return FaultedFrame(bytes: bytes, gapAfter: gapAfter, gapNanoseconds: gapNanoseconds)
        }
    }

    /// When the (half-duplex, like RS-485) line is free again, and which way it last carried bytes.
    private struct LineSchedule {
        var freeAt: UInt64 = 0
        var lastDirection: LineDirection?
    }

    /// Writes bytes to a master, no faster than the line allows, with an optional mid-frame gap.
    ///
    /// Paced mode follows the wire: both directions share one byte schedule (half duplex), a byte
    /// arrives when its last bit has crossed (`bitsPerCharacter / baud` after the previous one), and
    /// a turnaround waits the 3.5-character silence that ends a Modbus RTU frame. Deadlines are
    /// absolute, so a late wake-up is caught up rather than added to every following byte.
    private func deliver(_ bytes: [UInt8], gapAfter: Int?, gapNanoseconds: UInt64, to fd: Int32,
                         direction: LineDirection, schedule: inout LineSchedule) {
        let perByte = pacing.nanosecondsPerByte
        guard perByte > 0 else {
            // Unpaced: the frame goes in one write, or two around a gap.
            let split = gapAfter.map { min($0, bytes.count) } ?? bytes.count
            writeAll(fd, bytes[0..<split])
            if split < bytes.count {
                if !wait(until: monotonicNanoseconds() + gapNanoseconds) { return }
                writeAll(fd, bytes[split...])
            }
            return
        }
        let turnaround = schedule.lastDirection.map { $0 != direction } ?? false
        var t = max(monotonicNanoseconds(), schedule.freeAt + (turnaround ? perByte * 7 / 2 : 0))
        schedule.lastDirection = direction
        var i = 0
        while i < bytes.count {
            if i == gapAfter { t += gapNanoseconds } // a gap is silence on the wire
            t += perByte
            if !wait(until: t) { return }
            // Deliver this byte and every later one whose time has also come.
            var end = i + 1
            let now = monotonicNanoseconds()
            while end < bytes.count, end != gapAfter, t + perByte <= now {
                t += perByte
                end += 1
            }
            writeAll(fd, bytes[i..<end])
            i = end
        }
        schedule.freeAt = t
    }

    /// Sleeps until an absolute deadline; long waits watch the wake pipe so `close()` need not wait
    /// them out. Returns false when the line is closing.
    private func wait(until deadline: UInt64) -> Bool {
        while !isStopping {
            let now = monotonicNanoseconds()
            if now >= deadline { return true }
            if deadline - now < 20_000_000 {
                sleepUntil(monotonicNanoseconds: deadline)
                return !isStopping
            }
            var p = pollfd(fd: pipe.readFD, events: Int16(POLLIN), revents: 0)
            _ = poll(&p, 1, pollTimeout(until: deadline - 10_000_000))
        }
        return false
    }

    private func writeAll(_ fd: Int32, _ bytes: ArraySlice<UInt8>) {
        var rest = bytes
        while !rest.isEmpty {
            let w = rest.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if w > 0 {
                rest = rest.dropFirst(w)
            } else if w < 0 && (errno == EAGAIN || errno == EINTR) {
                var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = poll(&p, 1, 100)
                if isStopping { return }
            } else {
                return
            }
        }
    }
}
