import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Replay

/// `vigil replay` as a user runs it, in separate processes (each with its own hash seed, so an
/// output that leaned on dictionary order would differ). README's test command builds the binary first.
@Suite(.serialized) struct ReplayCommandLineTests {
    typealias S = ReplayTestSupport
    static let binary = S.root + "/.build/debug/vigil"

    /// Runs the binary from the package root; returns its exit status, stdout and stderr.
    func vigil(_ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: Self.binary)
        p.arguments = arguments
        p.currentDirectoryURL = URL(fileURLWithPath: S.root)
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    @Test func theShippedExampleReplaysToTheSameFilesInTwoProcesses() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the binary first: swift build")
        let a = S.temporaryDirectory(), b = S.temporaryDirectory()
        defer { for d in [a, b] { try? FileManager.default.removeItem(atPath: d) } }
        for d in [a, b] {
            let run = try vigil(["replay", "--config", "configs/demo-pump-station.yaml", "--csv", "hil/recordings/demo-pump-station.csv", "--out", d])
            #expect(run.status == 0, "\(run.err)")
            #expect(run.out.contains("note: no column feeds ESTOP: it stays unread (bad) the whole replay"))
            #expect(run.out.contains("30,001 steps, 5 min of plant time"))
            #expect(run.out.contains("PT-101A ") && run.out.contains("stuck ×"), "\(run.out)")
            #expect(run.out.contains("failovers 1"))
        }
        for file in ["events.txt", "events.jsonl", "state.csv", "replay.svg"] {
            let x = try Data(contentsOf: URL(fileURLWithPath: a + "/" + file)), y = try Data(contentsOf: URL(fileURLWithPath: b + "/" + file))
            #expect(x == y, "\(file)")
        }
        let events = try String(contentsOfFile: a + "/events.txt", encoding: .utf8)
        #expect(events.contains("150.300 s  cycle 15031  warning failover discharge-pressure: PT-101A → PT-101B"), "the stuck PT-101A fails over")
    }

    @Test func aBadCellOrMapEndsTheReplayWithItsPlaceAndStatus1() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the binary first: swift build")
        let directory = S.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let csv = directory + "/bad.csv"
        let good = try String(contentsOfFile: S.root + "/hil/recordings/demo-pump-station.csv", encoding: .utf8).split(separator: "\n")
        try (good[0..<10].joined(separator: "\n") + "\n0.950,\"6,1\",6,6,1.2,42,11.5,3,18.5,18.5,55,2.1\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let bad = try vigil(["replay", "--config", "configs/demo-pump-station.yaml", "--csv", csv, "--out", directory + "/out"])
        #expect(bad.status == 1)
        #expect(bad.err.contains("bad.csv:11 column PT-101A: \"6,1\" is not a number"), "\(bad.err)")
        let map = try vigil(["replay", "--config", "configs/demo-pump-station.yaml", "--csv", "hil/recordings/demo-pump-station.csv",
                             "--map", "PT_A=PT-101A", "--out", directory + "/out"])
        #expect(map.status == 1)
        #expect(map.err.contains("--map PT_A=PT-101A: no file has a column \"PT_A\""), "\(map.err)")
    }

    /// Every row is checked before the first step: a bad cell in the last row of a file many read
    /// buffers long ends the replay with its place before the output folder is even made.
    @Test func aBadCellInTheLastRowOfALargeFileEndsTheReplayBeforeItWritesAnything() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the binary first: swift build")
        let directory = S.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let lines = String(decoding: try RecordingGenerator(plant: try S.demoPlant()).csv(seconds: 3_600), as: UTF8.self).split(separator: "\n")
        var cells = lines.last!.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        cells[5] = "4o.2"
        let csv = directory + "/hour.csv"
        try (lines.dropLast().joined(separator: "\n") + "\n" + cells.joined(separator: ",") + "\n").write(toFile: csv, atomically: true, encoding: .utf8)
        let run = try vigil(["replay", "--config", "configs/demo-pump-station.yaml", "--csv", csv, "--out", directory + "/out"])
        #expect(run.status == 1)
        #expect(run.err.contains("hour.csv:\(lines.count) column FT-110: \"4o.2\" is not a number"), "\(run.err)")
        #expect(!run.out.contains("steps"), "no step was taken: \(run.out)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/out"), "no report folder")
    }

    /// Runs the binary as a child of its own and reads its peak resident set (`VmHWM` of
    /// /proc/PID/status, its own address space's high-water mark) while it runs. Not `wait4`'s
    /// `ru_maxrss`: `posix_spawn` starts the child in the parent's address space, and Linux carries
    /// that space's high-water mark into the child's at exec, so a test process that had grown
    /// (the whole suite in one process) made the child look as large. Output goes to `log`.
    func vigilPeakResidentKiB(_ arguments: [String], log: String) throws -> (status: Int32, peakKiB: Int) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let argv: [UnsafeMutablePointer<CChar>?] = ([Self.binary] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, Self.binary, &actions, nil, argv, environ)
        try #require(spawned == 0, "posix_spawn: \(String(cString: strerror(spawned)))")
        var status: Int32 = 0
        var peakKiB = 0
        while true {
            if let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
               let line = text.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
               let kiB = Int(line.split(separator: " ").dropFirst().first ?? "") {
                peakKiB = max(peakKiB, kiB)
            }
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { break }
            if done < 0 && errno != EINTR { break }
            usleep(20_000)
        }
        let exited = status & 0x7f == 0
        return (exited ? (status >> 8) & 0xff : -1, peakKiB)
    }

    /// Memory does not grow with the recording: a 200 MB file (600,000 rows, five minutes of plant
    /// time) replays in well under half its size of resident memory. Holding the file's bytes would
    /// take 200 MB, holding its rows' values another 50.
    @Test func aRecordingOf200MBReplaysInAFractionOfItsSizeOfMemory() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the binary first: swift build")
        let directory = S.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // The shipped example's values, a row every 0.5 ms, each with a 280-byte column no sensor reads.
        let example = try String(contentsOfFile: S.root + "/hil/recordings/demo-pump-station.csv", encoding: .utf8).split(separator: "\n")
        let note = String(repeating: "n", count: 280)
        let tails = example.dropFirst().map { line in Array(("," + line.split(separator: ",", maxSplits: 1)[1] + "," + note + "\n").utf8) }
        let csv = directory + "/dense.csv"
        FileManager.default.createFile(atPath: csv, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: csv))
        var chunk = Array((example[0] + ",note\n").utf8)
        let rows = 600_000
        for row in 0..<rows {
            let tenths = row * 5  // tenths of a millisecond
            chunk.append(contentsOf: "\(tenths / 10_000).\(String(String(10_000 + tenths % 10_000).dropFirst()))".utf8)
            chunk.append(contentsOf: tails[row % tails.count])
            if chunk.count > 1 << 22 || row == rows - 1 {
                try handle.write(contentsOf: chunk)
                chunk.removeAll(keepingCapacity: true)
            }
        }
        try handle.close()
        let size = try #require(try FileManager.default.attributesOfItem(atPath: csv)[.size] as? Int)
        #expect(size > 200_000_000)
        let (status, peakKiB) = try vigilPeakResidentKiB(["replay", "--config", S.demoConfig, "--csv", csv, "--out", directory + "/out"],
                                                         log: directory + "/log.txt")
        let log = (try? String(contentsOfFile: directory + "/log.txt", encoding: .utf8)) ?? ""
        #expect(status == 0, "\(log)")
        #expect(log.contains("600,000 rows") && log.contains("30,001 steps"), "\(log)")
        #expect(peakKiB > 0 && peakKiB < 100_000, "peak RSS \(peakKiB) KiB replaying \(size / 1_000_000) MB")
    }

    /// The shipped model runs on every step: its verdicts are journalled and counted, and, advisory
    /// (the demo plant does not let it assist), it changes none of the monitor's own events.
    @Test func aPolicyModelRunsOnEveryStepAndLeavesTheRulesAlone() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the binary first: swift build")
        let plain = S.temporaryDirectory(), modelled = S.temporaryDirectory()
        defer { for d in [plain, modelled] { try? FileManager.default.removeItem(atPath: d) } }
        let arguments = ["replay", "--config", "configs/demo-pump-station.yaml", "--csv", "hil/recordings/demo-pump-station.csv"]
        let a = try vigil(arguments + ["--out", plain])
        let b = try vigil(arguments + ["--out", modelled, "--model", "models/default.vglm"])
        #expect(a.status == 0 && b.status == 0, "\(a.err)\(b.err)")
        #expect(b.out.contains("policy model v1: confirmed verdicts "), "\(b.out)")
        #expect(!a.out.contains("policy model"))
        let withoutModel = try String(contentsOfFile: plain + "/events.txt", encoding: .utf8).split(separator: "\n")
        let withModel = try String(contentsOfFile: modelled + "/events.txt", encoding: .utf8).split(separator: "\n")
        let verdicts = withModel.filter { $0.contains("model verdict ") }
        #expect(verdicts.count > 10)
        #expect(withModel.filter { !$0.contains("model verdict ") } == withoutModel)
        let summary = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: modelled + "/summary.json"))) as? [String: Any]
        let counted = (summary?["model_verdicts_by_sensor"] as? [String: [String: Int]])?.values.reduce(0) { $0 + $1.values.reduce(0, +) }
        #expect(counted == verdicts.count)
        #expect(summary?["policy_model"] as? String == "v1")
    }

    @Test func aFileThatIsNotAPolicyModelIsRefusedByName() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the binary first: swift build")
        let directory = S.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bogus = directory + "/bogus.vglm"
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: bogus))
        let run = try vigil(["replay", "--config", "configs/demo-pump-station.yaml", "--csv", "hil/recordings/demo-pump-station.csv",
                             "--model", bogus, "--out", directory + "/out"])
        #expect(run.status == 1)
        #expect(run.err.contains("bogus.vglm: not a policy model"), "\(run.err)")
    }
}
