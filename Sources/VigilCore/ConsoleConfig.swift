/// The serial operator console (`console:` in the plant file): where it listens, how the line is set,
/// and the PIN hash of each role that needs one.
public struct ConsoleConfig: Sendable, Hashable {
    /// Roles that log in with a PIN; `viewer` needs none.
    public static let pinRoles = ["operator", "engineer"]

    /// A serial port name from the board file (`console`), or an absolute device path (`/dev/ttyUSB0`).
    public var port: String
    public var baud: Int
    /// Data bits 5...8, parity `N`/`E`/`O`, stop bits 1 or 2: `8N1`.
    public var framing: String
    /// ANSI colours in the console's output.
    public var colour: Bool
    /// A session without input for this long is logged out; 0 never logs out.
    public var idleLogoutSeconds: Int
    /// Wrong PINs in a row that lock logins.
    public var lockoutAttempts: Int
    /// How long logins stay locked after `lockoutAttempts` wrong PINs; each further wrong PIN doubles it.
    public var lockoutSeconds: Int
    /// The longest a lockout grows to.
    public var lockoutMaxSeconds: Int
    /// The line has a carrier (DCD): CLOCAL off, a session ends when the carrier drops.
    public var carrierDetect: Bool
    /// How long a command waiting for confirmation waits for `yes`.
    public var confirmSeconds: Int
    /// PIN hash (`pbkdf2-sha256$ITERATIONS$SALT$DIGEST`) by role name (`operator`, `engineer`).
    public var pins: [String: String]

    public init(port: String, baud: Int = 115_200, framing: String = "8N1", colour: Bool = false,
                idleLogoutSeconds: Int = 600, lockoutAttempts: Int = 5, lockoutSeconds: Int = 300,
                confirmSeconds: Int = 30, pins: [String: String] = [:], lockoutMaxSeconds: Int = 86_400, carrierDetect: Bool = false) {
        self.lockoutMaxSeconds = lockoutMaxSeconds
        self.carrierDetect = carrierDetect
        self.port = port
        self.baud = baud
        self.framing = framing
        self.colour = colour
        self.idleLogoutSeconds = idleLogoutSeconds
        self.lockoutAttempts = lockoutAttempts
        self.lockoutSeconds = lockoutSeconds
        self.confirmSeconds = confirmSeconds
        self.pins = pins
    }

    /// `framing` split into its parts; nil unless it reads like `8N1` (data bits 5...8, N/E/O, stop bits 1 or 2).
    public var line: (dataBits: Int, parity: Parity, stopBits: Int)? { Self.parseFraming(framing) }

    /// Parses `8N1`-style framing (upper case only, as terminals and datasheets write it).
    public static func parseFraming(_ text: String) -> (dataBits: Int, parity: Parity, stopBits: Int)? {
        let characters = Array(text)
        guard characters.count == 3, let dataBits = characters[0].wholeNumberValue, (5...8).contains(dataBits),
              let parity = Parity.allCases.first(where: { $0.libmodbusCharacter == characters[1] }),
              let stopBits = characters[2].wholeNumberValue, (1...2).contains(stopBits), characters[0].isASCII, characters[2].isASCII
        else { return nil }
        return (dataBits, parity, stopBits)
    }

    /// The device to open: `port` itself when it is a path, else the board's serial port of that name.
    public func devicePath(board: BoardConfig?) -> String? {
        port.hasPrefix("/") ? port : board?.serialPort(named: port)?.path
    }
}
