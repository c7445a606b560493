#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VigilCore

/// Why a console endpoint could not be opened or served. Each case names the path and the system's words.
public enum ConsoleTransportError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The device does not exist (adapter unplugged, wrong path): ENOENT, ENODEV, ENXIO.
    case notFound(path: String, detail: String)
    /// EACCES/EPERM: the user may not open the device.
    case permissionDenied(path: String, detail: String)
    /// The path is not a terminal device (`isatty` is false).
    case notATerminal(path: String)
    /// A termios call (`tcgetattr`, `tcsetattr`, `cfsetispeed`, …) failed or was not honoured.
    case termios(path: String, call: String, detail: String)
    /// The baud rate has no standard `Bxxxx` constant.
    case unsupportedBaud(path: String, baud: Int, supported: [Int])
    /// Data bits outside 5...8 or stop bits other than 1 and 2.
    case invalidSettings(path: String, detail: String)
    /// A framing string such as `8N1` that does not parse.
    case invalidFraming(String)
    /// `open` failed for another reason (EBUSY, EIO, …).
    case openFailed(path: String, errno: Int32, detail: String)
    /// The pseudo-terminal could not be created or its slave opened.
    case pty(detail: String)
    /// Standard input could not be put into raw mode.
    case stdio(detail: String)
    /// The server's thread could not be started, or `start()` was called twice.
    case server(detail: String)

    public var description: String {
        switch self {
        case let .notFound(path, detail):
            return "serial port \(path) not found (\(detail))"
        case let .permissionDenied(path, detail):
            return "cannot open \(path): \(detail); add the user to group dialout (sudo usermod -aG dialout USER, then log in again)"
        case let .notATerminal(path):
            return "\(path) is not a serial port (not a tty)"
        case let .termios(path, call, detail):
            return "cannot configure \(path): \(call) failed: \(detail)"
        case let .unsupportedBaud(path, baud, supported):
            return "unsupported baud \(baud) for \(path); supported: \(supported.map(String.init).joined(separator: ", "))"
        case let .invalidSettings(path, detail):
            return "invalid serial settings for \(path): \(detail)"
        case let .invalidFraming(text):
            return "invalid serial framing \"\(text)\": expected data bits 5-8, parity N/E/O and stop bits 1 or 2, e.g. 8N1, 7E1, 8E2"
        case let .openFailed(path, _, detail):
            return "cannot open \(path): \(detail)"
        case let .pty(detail):
            return "cannot create the console pty: \(detail)"
        case let .stdio(detail):
            return "cannot use standard input as the console: \(detail)"
        case let .server(detail):
            return "console: \(detail)"
        }
    }
}

/// How the console's serial line is set: device path, baud and framing (`8N1` by default).
public struct SerialSettings: Sendable, Hashable {
    public var path: String
    public var baud: Int
    /// 5...8.
    public var dataBits: Int
    public var parity: Parity
    /// 1 or 2.
    public var stopBits: Int
    /// The line has a carrier (DCD wired, e.g. a modem or a null-modem cable with DTR→DCD): `CLOCAL`
    /// is off, a session starts only while the carrier is up and ends when it drops (the kernel hangs
    /// the line up). Off (the default): `CLOCAL` on, the modem lines are ignored, and only a hang-up of
    /// the device itself (an unplugged USB adapter) ends the session.
    public var carrierDetect: Bool

    public init(path: String, baud: Int = 115_200, dataBits: Int = 8, parity: Parity = .none, stopBits: Int = 1,
                carrierDetect: Bool = false) {
        self.path = path
        self.baud = baud
        self.dataBits = dataBits
        self.parity = parity
        self.stopBits = stopBits
        self.carrierDetect = carrierDetect
    }

    /// Settings from a framing string such as `8N1`.
    public init(path: String, baud: Int, framing: String, carrierDetect: Bool = false) throws(ConsoleTransportError) {
        let f = try Self.framing(framing)
        self.init(path: path, baud: baud, dataBits: f.dataBits, parity: f.parity, stopBits: f.stopBits, carrierDetect: carrierDetect)
    }

    /// Parses `8N1`, `7E1`, `8E2`, `8o1` …: data bits, parity (N/E/O), stop bits.
    public static func framing(_ s: String) throws(ConsoleTransportError) -> (dataBits: Int, parity: Parity, stopBits: Int) {
        let c = Array(s.uppercased())
        guard c.count == 3, let data = c[0].wholeNumberValue, (5...8).contains(data),
              let stop = c[2].wholeNumberValue, stop == 1 || stop == 2 else { throw .invalidFraming(s) }
        let parity: Parity
        switch c[1] {
        case "N": parity = .none
        case "E": parity = .even
        case "O": parity = .odd
        default: throw .invalidFraming(s)
        }
        return (data, parity, stop)
    }

    /// The framing as a string (`8N1`).
    public var framing: String { "\(dataBits)\(parity.libmodbusCharacter)\(stopBits)" }

    /// Baud rates with a standard termios constant, ascending.
    public static let supportedBauds: [Int] = bauds.map(\.baud)

    static let bauds: [(baud: Int, speed: speed_t)] = [
        (1200, speed_t(B1200)), (1800, speed_t(B1800)), (2400, speed_t(B2400)), (4800, speed_t(B4800)),
        (9600, speed_t(B9600)), (19_200, speed_t(B19200)), (38_400, speed_t(B38400)), (57_600, speed_t(B57600)),
        (115_200, speed_t(B115200)), (230_400, speed_t(B230400)), (460_800, speed_t(B460800)),
        (500_000, speed_t(B500000)), (576_000, speed_t(B576000)), (921_600, speed_t(B921600)),
    ]
}

/// An open, configured serial device (raw 8-bit line, no flow control, non-blocking).
public struct SerialPort: Sendable {
    public let settings: SerialSettings
    /// The open file descriptor (non-blocking, close-on-exec).
    let descriptor: Int32

    /// Opens and configures the device: `open(O_RDWR|O_NOCTTY|O_NONBLOCK|O_CLOEXEC)`, `isatty`, termios raw
    /// (`cfmakeraw`, CREAD, CLOCAL unless `carrierDetect` (then HUPCL), VMIN=1/VTIME=0 so an empty read
    /// is EAGAIN and a read of 0 means hang-up), speed, framing, then `tcflush`.
    public static func open(_ settings: SerialSettings) throws(ConsoleTransportError) -> SerialPort {
        let path = settings.path
        guard let speed = SerialSettings.bauds.first(where: { $0.baud == settings.baud })?.speed else {
            throw .unsupportedBaud(path: path, baud: settings.baud, supported: SerialSettings.supportedBauds)
        }
        guard (5...8).contains(settings.dataBits) else {
            throw .invalidSettings(path: path, detail: "data bits \(settings.dataBits), expected 5...8")
        }
        guard settings.stopBits == 1 || settings.stopBits == 2 else {
            throw .invalidSettings(path: path, detail: "stop bits \(settings.stopBits), expected 1 or 2")
        }
        let fd = Glibc.open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw openError(path: path, errno: errno) }
        do throws(ConsoleTransportError) {
            guard isatty(fd) == 1 else { throw ConsoleTransportError.notATerminal(path: path) }
            // Exclusive: a second program opening the console port (a stray getty, another
            // terminal program) gets EBUSY instead of stealing half of the operator's keystrokes.
            _ = ioctl(fd, UInt(TIOCEXCL))
            try configureRaw(fd, path: path) { t throws(ConsoleTransportError) in
                t.c_cflag &= ~(tcflag_t(CSIZE) | tcflag_t(PARENB) | tcflag_t(PARODD) | tcflag_t(CSTOPB) | tcflag_t(CRTSCTS))
                t.c_cflag |= tcflag_t(CLOCAL | CREAD)
                if settings.carrierDetect {
                    // Carrier loss hangs the line up; closing drops DTR, so the far end's modem hangs up too.
                    t.c_cflag &= ~tcflag_t(CLOCAL)
                    t.c_cflag |= tcflag_t(HUPCL)
                }
                switch settings.dataBits {
                case 5: t.c_cflag |= tcflag_t(CS5)
                case 6: t.c_cflag |= tcflag_t(CS6)
                case 7: t.c_cflag |= tcflag_t(CS7)
                default: t.c_cflag |= tcflag_t(CS8)
                }
                switch settings.parity {
                case .none: break
                // A byte with a parity error reads as NUL, which the line editor drops.
                case .even: t.c_cflag |= tcflag_t(PARENB); t.c_iflag |= tcflag_t(INPCK)
                case .odd: t.c_cflag |= tcflag_t(PARENB | PARODD); t.c_iflag |= tcflag_t(INPCK)
                }
                if settings.stopBits == 2 { t.c_cflag |= tcflag_t(CSTOPB) }
                guard cfsetispeed(&t, speed) == 0 else { throw termiosError(path, "cfsetispeed") }
                guard cfsetospeed(&t, speed) == 0 else { throw termiosError(path, "cfsetospeed") }
            }
            var check = termios()
            guard tcgetattr(fd, &check) == 0 else { throw termiosError(path, "tcgetattr") }
            guard cfgetospeed(&check) == speed else {
                throw ConsoleTransportError.termios(path: path, call: "tcsetattr",
                                                    detail: "the driver did not accept \(settings.baud) baud")
            }
            guard tcflush(fd, TCIOFLUSH) == 0 else { throw termiosError(path, "tcflush") }
        } catch {
            Glibc.close(fd)
            throw error
        }
        return SerialPort(settings: settings, descriptor: fd)
    }

    /// Closes the device.
    public func close() {
        Glibc.close(descriptor)
    }

    /// Whether the line's carrier (DCD) is up (`TIOCMGET`); nil when the device has no modem lines (a pty).
    static func carrier(_ fd: Int32) -> Bool? {
        var bits: Int32 = 0
        guard ioctl(fd, UInt(TIOCMGET), &bits) == 0 else { return nil }
        return bits & TIOCM_CAR != 0
    }

    static func openError(path: String, errno e: Int32) -> ConsoleTransportError {
        let detail = String(cString: strerror(e))
        switch e {
        case ENOENT, ENODEV, ENXIO, ENOTDIR: return .notFound(path: path, detail: detail)
        case EACCES, EPERM: return .permissionDenied(path: path, detail: detail)
        default: return .openFailed(path: path, errno: e, detail: detail)
        }
    }
}

private func termiosError(_ path: String, _ call: String) -> ConsoleTransportError {
    .termios(path: path, call: call, detail: String(cString: strerror(errno)))
}

/// `cfmakeraw` semantics (no echo, no canonical mode, no OPOST, no ISIG, no IXON/IXOFF), VMIN=1/VTIME=0
/// (on a non-blocking descriptor an empty line reads EAGAIN, so a read of 0 is a hang-up), then `adjust`,
/// applied with `tcsetattr(TCSANOW)`.
func configureRaw(_ fd: Int32, path: String,
                  adjust: (inout termios) throws(ConsoleTransportError) -> Void = { _ in }) throws(ConsoleTransportError) {
    var t = termios()
    guard tcgetattr(fd, &t) == 0 else { throw termiosError(path, "tcgetattr") }
    cfmakeraw(&t)
    t.c_iflag &= ~tcflag_t(IXOFF | IXANY)
    t.c_cflag |= tcflag_t(CLOCAL | CREAD)
    withUnsafeMutableBytes(of: &t.c_cc) { cc in
        cc[Int(VMIN)] = 1
        cc[Int(VTIME)] = 0
    }
    try adjust(&t)
    guard tcsetattr(fd, TCSANOW, &t) == 0 else { throw termiosError(path, "tcsetattr") }
}
