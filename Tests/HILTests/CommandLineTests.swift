import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The `vigil` binary as a user runs it: `vigil sim` answers an independent Modbus master
/// (mbpoll), and `vigil poll` prints every point of the demo plant with good quality.
/// README's test command builds the binary (`swift build`) before `swift test`.
@Suite(.serialized) struct CommandLineTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let binary = root + "/.build/debug/vigil"
    static let mbpollPath = "/usr/bin/mbpoll"

    /// A running `vigil` whose stdout is read line by line.
    final class Running {
        let process = Process()
        private let out = Pipe()
        private var buffer = Data()
        private(set) var lines: [String] = []

        init(_ arguments: [String]) throws {
            process.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: CommandLineTests.root)
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
        }

        /// Reads until a line satisfies `match` or the output ends (blocking on the pipe, no sleeps).
        func readUntil(_ match: (String) -> Bool) -> String? {
            while true {
                while let nl = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = String(decoding: buffer[buffer.startIndex..<nl], as: UTF8.self)
                    buffer.removeSubrange(buffer.startIndex...nl)
                    lines.append(line)
                    if match(line) { return line }
                }
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { return nil }
                buffer.append(chunk)
            }
        }

        func finish() -> Int32 {
            _ = readUntil { _ in false }
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    func mbpoll(_ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.mbpollPath)
        p.arguments = arguments
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Values mbpoll printed as `[ref]: value` lines.
    func values(_ text: String) -> [Double] {
        text.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("["), let colon = line.firstIndex(of: ":") else { return nil }
            return Double(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: CommandLineTests.mbpollPath), "needs mbpoll (apt-get install mbpoll)"))
    func vigilSimAnswersMbpollOverTCPAndRTUAndStopsOnSIGTERM() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the binary first: swift build")
        let sim = try Running(["sim", "--config", "configs/demo-pump-station.yaml", "--ephemeral-ports", "--duration", "120"])
        defer { if sim.process.isRunning { sim.process.terminate() } }
        let tcp = try #require(sim.readUntil { $0.contains("pump-plc") && $0.contains("tcp 127.0.0.1:") })
        let port = try #require(tcp.split(separator: ":").last.flatMap { Int($0.split(separator: " ")[0]) })
        let rtu = try #require(sim.readUntil { $0.contains("rtu-temps") && $0.contains("rtu /dev/pts/") })
        let pty = try #require(rtu.split(separator: " ").first { $0.hasPrefix("/dev/pts/") }.map(String.init))
        _ = sim.readUntil { $0.hasPrefix("running") }

        // discharge_pressure_a: float32 ABCD at input register 0 (mbpoll reference 1, -B big-endian words).
        let a = values(try mbpoll(["-m", "tcp", "-a", "1", "-t", "3:float", "-B", "-r", "1", "-c", "1", "-1", "-p", "\(port)", "127.0.0.1"]))
        // discharge_pressure_b: the same process in CDAB order at input register 2 (mbpoll's default word order).
        let b = values(try mbpoll(["-m", "tcp", "-a", "1", "-t", "3:float", "-r", "3", "-c", "1", "-1", "-p", "\(port)", "127.0.0.1"]))
        #expect(a.count == 1 && b.count == 1)
        #expect((5.0...7.0).contains(a.first ?? 0), "discharge pressure is 6.0 ± 0.4 bar: \(a)")
        #expect(abs((a.first ?? 0) - (b.first ?? 99)) < 0.1, "two transmitters of one process agree: \(a) \(b)")

        // water_temp_b: int16 ×0.1 °C at holding register 0 of unit 3 on the paced 19200 baud line.
        let t = values(try mbpoll(["-m", "rtu", "-a", "3", "-b", "19200", "-P", "even", "-t", "4", "-r", "1", "-c", "1", "-1", "-o", "1", pty]))
        #expect(t.count == 1 && (170...200).contains(t.first ?? 0), "18.5 ± 1.5 °C as tenths: \(t)")

        kill(sim.process.processIdentifier, SIGTERM)
        #expect(sim.finish() == 0)
        #expect(sim.lines.contains("vigil sim: stopping"))
    }

    @Test func vigilPollShowsEveryDemoPointWithGoodQuality() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the binary first: swift build")
        let poll = try Running(["poll", "--duration", "2", "--every", "1"])
        #expect(poll.finish() == 0)
        let output = poll.lines
        // The final table: from the last "=== ... ===" header to the end.
        let last = try #require(output.lastIndex { $0.hasPrefix("=== demo-pump-station") })
        let table = output[last...]
        for sensor in ["PT-101A", "PT-101B", "PT-101C", "PT-100", "FT-110", "IT-111", "LT-201", "TT-301A", "TT-301B", "TT-310", "VT-311", "LSH-202", "ESTOP"] {
            let row = table.first { $0.contains(" \(sensor) ") }
            #expect(row?.contains(" good ") == true, "\(sensor): \(row ?? "missing")")
        }
        #expect(!table.contains { $0.contains("bad(") }, "\(table.joined(separator: "\n"))")
        #expect(output.last == "vigil poll: done")
    }
}
