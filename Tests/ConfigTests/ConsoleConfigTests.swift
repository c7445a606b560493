import Config
import Foundation
import Testing
import VigilCore

/// `console:` decodes to `ConsoleConfig`; bad values, unknown keys and roles, malformed PIN hashes
/// and unknown ports are reported with file, line and key path.
@Suite struct ConsoleConfigTests {
    static let operatorHash = "pbkdf2-sha256$200000$vv75nRhxv5meCGUgOW4V1Q==$ky4N7M8LMIQhZKaeU4F/A3Tp5U+xGHYBmQxLD0yqqcQ="
    static let engineerHash = "pbkdf2-sha256$200000$mT7GYWm7mfDYIzqP2Y3P+A==$zIaSaVBqhT96vwUj20fiLTVZaBLRc3d0LXpZI/CYihU="
    static let board = """
        name: test-board
        serial_ports:
          - { name: rs485-0, path: /dev/ttyAMA0, rs485: true }
          - { name: console, path: /dev/ttyS0 }

        """

    func write(_ text: String, suffix: String = ".yaml") throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(UUID().uuidString)\(suffix)").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A plant file `name: x` plus `body`, with the test board unless `board` is false.
    func check(_ body: String, board: Bool = true) throws -> (plant: PlantConfig?, diagnostics: [String]) {
        let boardPath = try write(Self.board)
        defer { try? FileManager.default.removeItem(atPath: boardPath) }
        let path = try write("name: x\n" + (board ? "board: \(boardPath)\n" : "") + body)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            return (try ConfigLoader.loadPlant(path: path).plant, [])
        } catch {
            return (nil, error.diagnostics.map { $0.description.replacingOccurrences(of: path, with: "F") })
        }
    }

    func console(_ body: String, board: Bool = true) throws -> ConsoleConfig? {
        let (plant, diagnostics) = try check(body, board: board)
        #expect(diagnostics == [])
        return plant?.console
    }

    @Test func noConsoleByDefault() throws {
        #expect(try check("").plant?.console == nil)
    }

    @Test func fullSectionDecodesEveryField() throws {
        let console = try console("""
            console:
              port: console
              baud: 9600
              framing: 7E2
              carrier_detect: true
              colour: true
              idle_logout_s: 0
              confirm_s: 45
              lockout: { attempts: 3, seconds: 900, max_seconds: 7200 }
              pins:
                operator: "\(Self.operatorHash)"
                engineer: "\(Self.engineerHash)"

            """)
        #expect(console == ConsoleConfig(port: "console", baud: 9600, framing: "7E2", colour: true, idleLogoutSeconds: 0,
                                         lockoutAttempts: 3, lockoutSeconds: 900, confirmSeconds: 45,
                                         pins: ["operator": Self.operatorHash, "engineer": Self.engineerHash],
                                         lockoutMaxSeconds: 7200, carrierDetect: true))
        #expect(console?.line.map { "\($0.dataBits) \($0.parity) \($0.stopBits)" } == "7 even 2")
    }

    @Test func onlyPortIsRequiredAndTheRestDefaults() throws {
        let console = try #require(try console("console: { port: /dev/ttyUSB0 }\n", board: false))
        #expect(console == ConsoleConfig(port: "/dev/ttyUSB0"))
        #expect(console.baud == 115_200 && console.framing == "8N1" && !console.colour)
        #expect(console.idleLogoutSeconds == 600 && console.confirmSeconds == 30)
        #expect(console.lockoutAttempts == 5 && console.lockoutSeconds == 300 && console.pins.isEmpty)
        #expect(console.lockoutMaxSeconds == 86_400 && !console.carrierDetect)
        #expect(console.devicePath(board: nil) == "/dev/ttyUSB0")
    }

    @Test func boardPortNameResolvesToItsDevice() throws {
        let (plant, diagnostics) = try check("console: { port: console }\n")
        #expect(diagnostics == [])
        let board = BoardConfig(name: "b", serialPorts: [SerialPortSpec(name: "console", path: "/dev/ttyS0")])
        #expect(plant?.console?.devicePath(board: board) == "/dev/ttyS0")
    }

    @Test func demoConfigHasTheDemoConsole() throws {
        let (plant, board) = try ConfigLoader.loadPlant(path: FixturePaths.demoConfig)
        let console = try #require(plant.console)
        #expect(console.port == "console" && console.baud == 115_200 && console.framing == "8N1")
        #expect(Set(console.pins.keys) == ["operator", "engineer"])
        #expect(console.devicePath(board: board) == board?.serialPort(named: "console")?.path)
    }

    @Test(arguments: [
        ("baud: 115201", "console.baud: found \"115201\", expected a standard baud rate: 1200, 2400"),
        ("baud: fast", "console.baud: found \"fast\", expected a standard baud rate"),
        ("framing: 9N1", "console.framing: found \"9N1\", expected framing such as 8N1"),
        ("framing: 8X1", "console.framing: found \"8X1\", expected framing such as 8N1"),
        ("framing: 8N3", "console.framing: found \"8N3\", expected framing such as 8N1"),
        ("framing: 8n1", "console.framing: found \"8n1\", expected framing such as 8N1"),
        ("framing: 8N1x", "console.framing: found \"8N1x\", expected framing such as 8N1"),
        ("colour: yes", "console.colour: found \"yes\", expected true or false"),
        ("idle_logout_s: 29", "console.idle_logout_s: found \"29\", expected 0 (never) or an integer in 30...86400"),
        ("idle_logout_s: 86401", "console.idle_logout_s: found \"86401\", expected 0 (never) or an integer in 30...86400"),
        ("idle_logout_s: -1", "console.idle_logout_s: found \"-1\", expected 0 (never) or an integer in 30...86400"),
        ("confirm_s: 4", "console.confirm_s: found \"4\", expected an integer in 5...600"),
        ("confirm_s: \"30\"", "console.confirm_s: found the quoted string \"30\", expected an integer in 5...600"),
        ("lockout: { attempts: 0 }", "console.lockout.attempts: found \"0\", expected an integer in 1...100"),
        ("lockout: { attempts: 101 }", "console.lockout.attempts: found \"101\", expected an integer in 1...100"),
        ("lockout: { seconds: 0 }", "console.lockout.seconds: found \"0\", expected an integer in 1...86400"),
        ("lockout: { seconds: 86401 }", "console.lockout.seconds: found \"86401\", expected an integer in 1...86400"),
        ("lockout: 5", "console.lockout: found \"5\", expected a mapping"),
        ("lockout: { tries: 5 }", "console.lockout.tries: found unknown key \"tries\", expected one of attempts, seconds, max_seconds"),
        ("idle_logout: 600", "console.idle_logout: found unknown key \"idle_logout\", expected one of port, baud, framing"),
        ("pins: [1111]", "console.pins: found a list, expected a mapping of role to PIN hash (operator, engineer)"),
    ])
    func badValueIsReportedAtItsKeyPath(line: String, message: String) throws {
        let (plant, diagnostics) = try check("console:\n  port: console\n  \(line)\n")
        #expect(plant == nil)
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.hasPrefix("F:5:") == true, "\(diagnostics)")
        #expect(diagnostics.first?.contains(message) == true, "\(diagnostics)")
    }

    @Test func everyProblemOfTheSectionIsReportedAtOnce() throws {
        let (_, diagnostics) = try check("""
            console:
              baud: 1
              framing: x
              lockout: { attempts: 0, seconds: 0 }

            """)
        #expect(diagnostics.map { $0.split(separator: ":")[3] }
                == [" console.port", " console.baud", " console.framing", " console.lockout.attempts", " console.lockout.seconds"])
        #expect(diagnostics.first == "F:4:3: console.port: found nothing, expected a serial port name from the board file or an absolute device path (/dev/...)")
    }

    @Test func sectionThatIsNotAMappingIsReported() throws {
        #expect(try check("console: /dev/ttyS0\n").diagnostics == ["F:3:10: console: found \"/dev/ttyS0\", expected a mapping"])
    }

    @Test func unknownRoleIsReported() throws {
        let (_, diagnostics) = try check("""
            console:
              port: console
              pins:
                operator: "\(Self.operatorHash)"
                admin: "\(Self.engineerHash)"
                viewer: "\(Self.engineerHash)"

            """)
        #expect(diagnostics == [
            "F:7:5: console.pins.admin: found unknown role \"admin\", expected one of operator, engineer",
            "F:8:5: console.pins.viewer: found a PIN for \"viewer\", which logs in without one, expected one of operator, engineer",
        ])
    }

    static let salt = "vv75nRhxv5meCGUgOW4V1Q=="
    static let digest = "ky4N7M8LMIQhZKaeU4F/A3Tp5U+xGHYBmQxLD0yqqcQ="

    @Test(arguments: [
        ("1111", "found a string of 1 $-separated field, not a PIN hash, expected a PIN hash pbkdf2-sha256$ITERATIONS$SALT$DIGEST (make one with `vigil console hash-pin`)"),
        ("pbkdf2-sha256$200000$\(salt)", "found a string of 3 $-separated fields, not a PIN hash"),
        ("sha256$200000$\(salt)$\(digest)", "found scheme \"sha256\", expected scheme pbkdf2-sha256"),
        ("pbkdf2-sha256$9999$\(salt)$\(digest)", "found iterations \"9999\", expected iterations an integer in 10000...2147483647"),
        ("pbkdf2-sha256$many$\(salt)$\(digest)", "found iterations \"many\""),
        ("pbkdf2-sha256$2147483648$\(salt)$\(digest)", "found iterations \"2147483648\""),
        ("pbkdf2-sha256$200000$vv75nRhxv5meCGUgOW4V1Q$\(digest)", "found a salt that is not base64, expected standard base64 with = padding for the salt"),
        ("pbkdf2-sha256$200000$====$\(digest)", "found a salt that is not base64"),
        ("pbkdf2-sha256$200000$vv75nRhxv5me$\(digest)", "found a salt of 9 bytes, expected a salt of at least 16 bytes"),
        ("pbkdf2-sha256$200000$\(salt)$ky4N7M8LMIQhZKaeU4F_A3Tp5U+xGHYBmQxLD0yqqcQ=", "found a digest that is not base64"),
        ("pbkdf2-sha256$200000$\(salt)$\(salt)", "found a digest of 16 bytes, expected a 32-byte digest (PBKDF2-HMAC-SHA256)"),
    ])
    func malformedPINHashIsReported(hash: String, message: String) throws {
        let (_, diagnostics) = try check("console:\n  port: console\n  pins:\n    engineer: \"\(hash)\"\n")
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.hasPrefix("F:6:15: console.pins.engineer: " + message) == true, "\(diagnostics)")
        #expect(diagnostics.first?.contains("1111") == false, "a PIN typed in plain is not echoed")
    }

    @Test func pinHashThatIsNotAStringIsReported() throws {
        let (_, diagnostics) = try check("console:\n  port: console\n  pins:\n    operator: [a]\n")
        #expect(diagnostics == ["F:6:15: console.pins.operator: found a list, expected a PIN hash pbkdf2-sha256$ITERATIONS$SALT$DIGEST (make one with `vigil console hash-pin`)"])
    }

    @Test func unknownBoardSerialPortIsReported() throws {
        #expect(try check("console: { port: com9 }\n").diagnostics == [
            "F:3:18: console.port: found \"com9\", expected a serial port of the board (rs485-0, console) or an absolute device path (/dev/...)",
        ])
    }

    @Test func portNameWithoutABoardIsReported() throws {
        #expect(try check("console: { port: console }\n", board: false).diagnostics == [
            "F:2:18: console.port: found \"console\", but the plant names no board, expected an absolute device path (/dev/...), or a board file (board: key or --board) with a serial port of this name",
        ])
    }

    @Test func consoleOnAModbusLineIsReported() throws {
        let device = """
            devices:
              - id: temps
                transport: rtu
                port: rs485-0
                points: [{ id: t, function: input, address: 0, type: int16 }]

            """
        for port in ["rs485-0", "/dev/ttyAMA0"] {
            let (_, diagnostics) = try check(device + "console: { port: \(port) }\n")
            #expect(diagnostics.count == 1)
            #expect(diagnostics.first?.contains("console.port: found \"\(port)\", the Modbus line \"rs485-0\" of device \"temps\", expected a serial port of its own for the console") == true,
                    "\(diagnostics)")
        }
        #expect(try check(device + "console: { port: console }\n").diagnostics == [])
    }
}
