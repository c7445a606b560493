import Foundation
import VigilCore
import Yams

/// The `console:` section: the serial operator console's line, timers, lockout and PIN hashes.
/// Every key but `port` is optional and keeps `ConsoleConfig`'s default; a wrong value is reported.
extension PlantDecoder {
    static let consoleKeys = ["port", "baud", "framing", "carrier_detect", "colour", "idle_logout_s", "confirm_s", "lockout", "pins"]
    static let consolePortExpected = "a serial port name from the board file or an absolute device path (/dev/...)"

    /// Nil (after diagnostics) when the section is not a mapping or has no usable `port`.
    static func decodeConsole(_ node: Node?, path: String, sink: DiagnosticSink) -> ConsoleConfig? {
        guard let map = MappingReader(node, path: path, allowed: consoleKeys, sink: sink) else { return nil }
        let port = map.string("port", required: true, expected: consolePortExpected)
        var console = ConsoleConfig(port: port ?? "")
        if let baud = map.int("baud", expected: "a standard baud rate: " + standardBauds.map(String.init).joined(separator: ", "),
                              isValid: standardBauds.contains) {
            console.baud = baud
        }
        if let framing = map.string("framing", expected: "framing such as 8N1 (data bits 5...8, parity N, E or O, stop bits 1 or 2)") {
            if ConsoleConfig.parseFraming(framing) != nil {
                console.framing = framing
            } else {
                map.wrong("framing", map.node("framing", expected: "")!,
                          expected: "framing such as 8N1 (data bits 5...8, parity N, E or O, stop bits 1 or 2)", kind: .outOfRange)
            }
        }
        if let colour = map.bool("colour") { console.colour = colour }
        if let carrier = map.bool("carrier_detect") { console.carrierDetect = carrier }
        if let idle = map.int("idle_logout_s", expected: "0 (never) or an integer in 30...86400", isValid: { $0 == 0 || (30...86_400).contains($0) }) {
            console.idleLogoutSeconds = idle
        }
        if let confirm = map.int("confirm_s", in: 5...600) { console.confirmSeconds = confirm }
        if map.has("lockout"),
           let lockout = MappingReader(map.node("lockout", expected: ""), path: path.key("lockout"), allowed: ["attempts", "seconds", "max_seconds"], sink: sink) {
            if let attempts = lockout.int("attempts", in: 1...100) { console.lockoutAttempts = attempts }
            if let seconds = lockout.int("seconds", in: 1...86_400) { console.lockoutSeconds = seconds }
            if let max = lockout.int("max_seconds", in: 1...604_800) { console.lockoutMaxSeconds = max }
        }
        if map.has("pins") { console.pins = decodePins(map.node("pins", expected: ""), path: path.key("pins"), sink: sink) }
        return port == nil ? nil : console
    }

    /// `pins: {operator: HASH, engineer: HASH}`; a role's bad hash is reported and the role left out.
    private static func decodePins(_ node: Node?, path: String, sink: DiagnosticSink) -> [String: String] {
        let roles = ConsoleConfig.pinRoles
        guard case .mapping(let mapping)? = node else {
            sink.report(.wrongType, at: node?.mark, path, found: describe(node), expected: "a mapping of role to PIN hash ("
                        + roles.joined(separator: ", ") + ")")
            return [:]
        }
        sink.remember(path, mapping.mark)
        var pins: [String: String] = [:]
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key, roles.contains(scalar.string) else {
                let name = ScalarValue.key(key)
                sink.report(.unknownKey, at: key.mark, name.map { path.key($0) } ?? path,
                            found: name == "viewer" ? "a PIN for \"viewer\", which logs in without one"
                                                    : name.map { "unknown role \(quoted($0))" } ?? describeKey(key),
                            expected: "one of " + roles.joined(separator: ", "))
                continue
            }
            let role = scalar.string
            let rolePath = path.key(role)
            sink.remember(rolePath, value.mark)
            guard let text = ScalarValue.string(value) else {
                sink.report(.wrongType, at: value.mark, rolePath, found: describe(value), expected: pinHashExpected)
                continue
            }
            if let problem = pinHashProblem(text) {
                sink.report(.outOfRange, at: value.mark, rolePath, found: problem.found, expected: problem.expected)
            } else {
                pins[role] = text
            }
        }
        return pins
    }

    static let pinHashExpected = "a PIN hash pbkdf2-sha256$ITERATIONS$SALT$DIGEST (make one with `vigil console hash-pin`)"

    /// What is wrong with a PIN hash string, or nil. Mirrors `PINHash(parsing:)` in Console (which Config
    /// cannot import): 4 `$` fields, scheme `pbkdf2-sha256`, iterations 10000...2147483647 in plain digits,
    /// canonical padded base64, a salt of at least 16 bytes and a 32-byte digest.
    static func pinHashProblem(_ text: String) -> (found: String, expected: String)? {
        let fields = text.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 4 else {
            // A plain PIN typed into the file must not be echoed into logs.
            return ("a string of \(fields.count) $-separated field\(fields.count == 1 ? "" : "s"), not a PIN hash", pinHashExpected)
        }
        guard fields[0] == "pbkdf2-sha256" else { return ("scheme \(quoted(fields[0]))", "scheme pbkdf2-sha256 in " + pinHashExpected) }
        let iterations = fields[1]
        guard !iterations.isEmpty, iterations.count <= 10, iterations.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              let count = Int(iterations), (10_000...Int(Int32.max)).contains(count) else {
            return ("iterations \(quoted(iterations))", "iterations an integer in 10000...2147483647 (200000 recommended)")
        }
        guard let salt = canonicalBase64(fields[2]) else { return ("a salt that is not base64", "standard base64 with = padding for the salt") }
        guard salt >= 16 else { return ("a salt of \(salt) bytes", "a salt of at least 16 bytes") }
        guard let digest = canonicalBase64(fields[3]) else { return ("a digest that is not base64", "standard base64 with = padding for the digest") }
        guard digest == 32 else { return ("a digest of \(digest) bytes", "a 32-byte digest (PBKDF2-HMAC-SHA256)") }
        return nil
    }

    /// Byte count of standard padded base64 in its canonical spelling (Foundation alone accepts `====`).
    private static func canonicalBase64(_ text: String) -> Int? {
        guard let data = Data(base64Encoded: text), data.base64EncodedString() == text else { return nil }
        return data.count
    }
}

/// The console's cross-references, checked with the board (kept beside the decoder of its section).
extension PlantValidator {
    /// The port must name a serial port of the board (or be a path), and no Modbus line may use it.
    func checkConsole() {
        guard let console = plant.console else { return }
        let path = "console.port"
        if !console.port.hasPrefix("/"), !boardBroken {
            if let board {
                if board.serialPort(named: console.port) == nil {
                    let names = board.serialPorts.map(\.name).joined(separator: ", ")
                    sink.report(.unresolvedReference, path, found: quoted(console.port),
                                expected: "a serial port of the board (\(names.isEmpty ? "it has none" : names)) or an absolute device path (/dev/...)")
                }
            } else {
                sink.report(.unresolvedReference, path, found: "\(quoted(console.port)), but the plant names no board",
                            expected: "an absolute device path (/dev/...), or a board file (board: key or --board) with a serial port of this name")
            }
        }
        guard let consoleDevice = console.devicePath(board: board) else { return }
        for (device, _, _) in plant.devices {
            var lines: [String] = []
            if case .rtu(let settings) = device.transport { lines.append(settings.port) }
            if case .rtu(let backup)? = device.backup { lines.append(backup.port) }
            for line in lines {
                let linePath = line.hasPrefix("/") ? line : board?.serialPort(named: line)?.path
                guard line == console.port || linePath == consoleDevice else { continue }
                sink.report(.inconsistent, path, found: "\(quoted(console.port)), the Modbus line \(quoted(line)) of device \(quoted(device.id))",
                            expected: "a serial port of its own for the console")
                return
            }
        }
    }
}
