import Config
import Foundation
import Testing

/// Whatever the bytes, the checker answers with diagnostics, never a crash.
@Suite struct GarbageInputTests {
    static let garbage: [String] = [
        "", "just a scalar", "- a\n- list\n", "name: x\n\tdevices: []\n", "{", "]]]", "name: [unclosed\n",
        "devices: 5\n", "name: x\ndevices:\n  - 7\n  - [1, 2]\n  - {}\n", "&a [*a]\n", "name: *undefined\n",
        "? [complex, key]\n: value\n", "name: x\nsensors: [{range: [1, 2, 3]}, {range: {}}, {id: [x]}]\n",
        "name: x\ndevices: [{id: d, transport: tcp, host: h, port: 1, points: [{id: p, function: coil, address: 0x10, type: bitfield}]}]\n",
        "name: x\nlimits: [{id: l, subject: s, low: .nan, high: .inf}]\n",
        "name: x\ndevices: [{id: d, transport: tcp, host: h, port: 1, points: [{id: p, function: input, address: 0, type: int16, sim: {signal: \"\"}}]}]\n",
        "name: x\ndevices: [{id: \"\", transport: rtu, port: \"\", points: [{}]}]\noutputs: [{id: o, gpio: [], safe: 0}]\n", "\u{0}\u{1}\u{2}", "name: \"unterminated\n",
        String(repeating: "[", count: 500),
    ]

    @Test(arguments: garbage.indices)
    func garbageYieldsDiagnosticsNotACrash(index: Int) throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-garbage-\(index)-\(UUID()).yaml").path
        try Self.garbage[index].write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let diagnostics = ConfigChecker.check(path: path)
        #expect(!diagnostics.isEmpty)
        #expect(diagnostics.allSatisfy { $0.file == path })
        #expect(throws: ConfigError.self) { _ = try ConfigLoader.loadPlant(path: path) }
        #expect(throws: ConfigError.self) { _ = try ConfigLoader.loadBoard(path: path) }
    }

    @Test func nonUTF8BytesAreReported() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-latin1-\(UUID()).yaml").path
        try Data([0x6E, 0x61, 0x6D, 0x65, 0x3A, 0x20, 0xFF, 0xFE, 0x0A]).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(ConfigChecker.check(path: path).map(\.kind) == [.fileNotReadable])
    }
}
