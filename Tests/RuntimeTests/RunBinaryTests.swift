import Foundation
import Testing
import VigilCore
import Config
import Journal
import HIL
#if canImport(Glibc)
import Glibc
#endif

/// The `vigil` binary as systemd and an operator run it: `vigil run` against simulated devices
/// over loopback, with a notify socket; `vigil demo` on the built-in rig; bad configs refused.
/// README's test command builds the binary before `swift test`.
@Suite(.serialized) struct RunBinaryTests {
    static let root = RuntimeHarness.root.path
    static let binary = root + "/.build/debug/vigil"

    struct Output { var status: Int32; var stdout: String; var stderr: String }

    /// A `vigil` child process with its output collected to files (no pipes to drain).
    final class Child {
        let process = Process()
        let outPath = NSTemporaryDirectory() + "vigil-out-\(UUID().uuidString)"
        let errPath = NSTemporaryDirectory() + "vigil-err-\(UUID().uuidString)"
        init(_ arguments: [String], environment: [String: String] = [:], directory: String = RunBinaryTests.root) throws {
            _ = FileManager.default.createFile(atPath: outPath, contents: nil)
            _ = FileManager.default.createFile(atPath: errPath, contents: nil)
            process.executableURL = URL(fileURLWithPath: RunBinaryTests.binary)
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: directory)
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
            process.standardOutput = FileHandle(forWritingAtPath: outPath)
            process.standardError = FileHandle(forWritingAtPath: errPath)
            try process.run()
        }
        /// The pty `vigil demo --console pty` printed it serves the console on, once it has (nil
        /// after `seconds`: a deadline, not a synchronisation).
        func consolePty(within seconds: Double = 120) -> String? {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                let out = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
                if let r = out.range(of: #"console on (/dev/pts/\d+)"#, options: .regularExpression) {
                    return String(out[r].dropFirst("console on ".count))
                }
                usleep(50_000) // polling a file with a deadline
            }
            return nil
        }
        func wait() -> Output {
            process.waitUntilExit()
            defer { try? FileManager.default.removeItem(atPath: outPath); try? FileManager.default.removeItem(atPath: errPath) }
            return Output(status: process.terminationStatus,
                          stdout: (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "",
                          stderr: (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "")
        }
    }

    /// A unix datagram socket standing in for systemd's notify socket.
    final class NotifySocket {
        let fd: Int32
        let path = NSTemporaryDirectory() + "vigil-notify-\(UUID().uuidString.prefix(8))"
        init(timeoutSeconds: Int = 20) {
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
            withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { _ = bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
            var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0) // a bound, not a synchronisation
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        deinit { close(fd); unlink(path) }
        /// A datagram already waiting, or nil.
        func receiveWithoutWaiting() -> String? {
            var buffer = [UInt8](repeating: 0, count: 512)
            let n = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
        }

        /// Blocks until a datagram arrives (or the bound passes: nil).
        func receive() -> String? {
            var buffer = [UInt8](repeating: 0, count: 512)
            let n = recv(fd, &buffer, buffer.count, 0)
            return n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self) : nil
        }
    }

    /// The demo config rewritten to the rig's actual endpoints, in a temporary file.
    func demoConfig(for rig: SimulatedRig) throws -> String {
        let text = rig.configText(rewriting: try String(contentsOfFile: Self.root + "/configs/demo-pump-station.yaml", encoding: .utf8),
                                  configDirectory: Self.root + "/configs")
        let path = NSTemporaryDirectory() + "vigil-run-\(UUID().uuidString).yaml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The controller that runs a plant carries no test or benchmark instrumentation: neither the
    /// malloc interposer that counts allocations nor the C reference loops (they live in `vigil-bench`).
    /// `vigil model info` with an empty registry (a fresh checkout) describes the shipped model that
    /// `vigil run` would install, and prints no usage text. The shipped model is found beside the
    /// executable (here: the checkout it was built in), not in the current directory.
    @Test func modelInfoWithAnEmptyRegistryDescribesTheShippedModel() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the binary first: swift build")
        let journal = NSTemporaryDirectory() + "vigil-info-\(UUID().uuidString.prefix(8)).sqlite"
        defer { for s in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: journal + s) } }
        let out = try Child(["model", "info", "--journal", journal], directory: NSTemporaryDirectory()).wait()
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("no model is deployed in \(journal) yet; `vigil run` installs the shipped model"))
        #expect(out.stdout.contains("shipped \(Self.root)/models/default.vglm") && out.stdout.contains("diagnoses: healthy"))
        #expect(!out.stdout.contains("Usage") && !out.stderr.contains("Usage"))
    }

    /// `vigil run --shipped-models DIR` installs the model found there (and its learning set beside
    /// it), not the checkout's; a directory without one is refused before anything starts.
    @Test func runTakesTheShippedModelFromAnExplicitDirectory() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the binary first: swift build")
        let plant = try ConfigLoader.loadPlant(path: Self.root + "/configs/demo-pump-station.yaml").plant
        let rig = try SimulatedRig(plant: plant, ports: .ephemeral, pacing: .unpaced, seed: 5)
        defer { rig.stop() }
        let config = try demoConfig(for: rig)
        let base = NSTemporaryDirectory() + "vigil-shipped-\(UUID().uuidString.prefix(8))"
        let shipped = base + "/share", empty = base + "/empty", journal = base + "/journal.sqlite"
        for d in [shipped, empty] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        defer { try? FileManager.default.removeItem(atPath: base); try? FileManager.default.removeItem(atPath: config) }
        for f in ["default.vglm", "default.vgls"] { try FileManager.default.copyItem(atPath: Self.root + "/models/" + f, toPath: shipped + "/" + f) }

        let refused = try Child(["run", "--config", config, "--journal", journal, "--mock-gpio", "--shipped-models", empty],
                                directory: base).wait()
        #expect(refused.status == 64 && refused.stderr.contains("--shipped-models \(empty): no readable default.vglm"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: journal), "nothing starts when the shipped model is missing")

        let out = try Child(["run", "--config", config, "--journal", journal, "--mock-gpio", "--shipped-models", shipped, "--duration", "1"],
                            directory: base).wait()
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stderr.contains("installed the shipped model \(shipped)/default.vglm as v1"), "\(out.stderr)")
        #expect(!out.stderr.contains("not learning from feedback"), "the learning set beside it is read: \(out.stderr)")
    }

    /// `vigil console hash-pin` refuses trivially weak PINs with a message that never repeats the PIN.
    @Test func hashPINRefusesWeakPINs() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the binary first: swift build")
        for (pin, why) in [("1111", "it has 4 characters"), ("777777", "one character repeated"), ("123456", "straight run"),
                           ("654321", "straight run"), ("121212", "short pattern repeated"), ("abcdef", "straight run"), ("engineer", "a word")] {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: Self.binary)
            p.arguments = ["console", "hash-pin", "--iterations", "10000"]
            let input = Pipe(), output = Pipe(), error = Pipe()
            p.standardInput = input
            p.standardOutput = output
            p.standardError = error
            try p.run()
            input.fileHandleForWriting.write(Data((pin + "\n").utf8))
            try input.fileHandleForWriting.close()
            let stdout = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            let stderr = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            #expect(p.terminationStatus == 1 && stdout.isEmpty, "\(pin)")
            #expect(stderr.contains("too easy to guess") && stderr.contains(why), "\(pin): \(stderr)")
            #expect(!stderr.contains(pin), "the message repeats the PIN \(pin)")
        }
    }

    @Test func theControllerBinaryCarriesNoAllocationCounterAndNoBenchmark() throws {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: Self.binary))
        for symbol in ["vigil_thread_allocations", "vigil_alloc_counter_active", "vigil_bench_c_sleep_loop"] {
            #expect(bytes.range(of: Data(symbol.utf8)) == nil, "\(symbol) is in \(Self.binary)")
        }
        let bench = try Data(contentsOf: URL(fileURLWithPath: Self.root + "/.build/debug/vigil-bench"))
        #expect(bench.range(of: Data("vigil_thread_allocations".utf8)) != nil, "the benchmark does count allocations")
    }

    @Test func runTellsSystemdReadyPingsTheWatchdogAndStopsSafelyOnSIGTERM() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the binary first: swift build")
        let plant = try ConfigLoader.loadPlant(path: Self.root + "/configs/demo-pump-station.yaml").plant
        let rig = try SimulatedRig(plant: plant, ports: .ephemeral, pacing: .unpaced, seed: 5)
        defer { rig.stop() }
        let config = try demoConfig(for: rig)
        let journal = NSTemporaryDirectory() + "vigil-run-\(UUID().uuidString).sqlite"
        defer { for f in [config, journal, journal + "-wal", journal + "-shm"] { try? FileManager.default.removeItem(atPath: f) } }
        let notify = NotifySocket()
        let child = try Child(["run", "--config", config, "--journal", journal, "--mock-gpio"],
                              environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"])
        defer { if child.process.isRunning { child.process.terminate() } }

        var messages: [String] = []
        while let m = notify.receive() {
            messages.append(m)
            if messages.contains("READY=1") && messages.filter({ $0 == "WATCHDOG=1" }).count >= 2 { break }
        }
        #expect(messages.contains("READY=1"), "\(messages)")
        #expect(messages.filter { $0 == "WATCHDOG=1" }.count >= 2, "watchdog pings while the cycle runs: \(messages)")
        #expect(rig.device("pump-plc")!.currentValue(ofPoint: "pump1_run_cmd") == 1, "READY comes after the first good cycle wrote outputs")

        kill(child.process.processIdentifier, SIGTERM)
        let out = child.wait()
        #expect(out.status == 0, "\(out.stderr)")
        #expect(notify.receive() == "STOPPING=1")
        #expect(rig.device("pump-plc")!.currentValue(ofPoint: "pump1_run_cmd") == 0, "outputs at their safe values after SIGTERM")
        #expect(rig.device("tank-io")!.currentValue(ofPoint: "inlet_valve_position") == 0)
        #expect(out.stderr.contains("orderly shutdown"), "\(out.stderr)")
        let j = try Journal(path: journal)
        #expect(try j.recentEvents(limit: 10, kinds: [.shutdown]).count == 1)
        #expect(j.integrityCheck())
    }

    /// An operator teaches a running `vigil run` from another shell: `vigil model feedback` on an event
    /// the controller journalled with its features stores the feedback, passes the gate and deploys
    /// v2; the running controller takes it from the registry and says so in its log.
    @Test func modelFeedbackFromAnotherProcessReachesTheRunningController() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the binary first: swift build")
        let plant = try ConfigLoader.loadPlant(path: Self.root + "/configs/demo-pump-station.yaml").plant
        let rig = try SimulatedRig(plant: plant, ports: .ephemeral, pacing: .unpaced, seed: 5)
        defer { rig.stop() }
        let config = try demoConfig(for: rig)
        let dir = NSTemporaryDirectory() + "vigil-feedback-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir); try? FileManager.default.removeItem(atPath: config) }
        let journalPath = dir + "/journal.sqlite"
        let run = try Child(["run", "--config", config, "--journal", journalPath, "--mock-gpio"])
        defer { if run.process.isRunning { run.process.terminate() } }
        // The controller journals each sensor's first confirmed verdict (after its warm-up) with the
        // features behind it; the operator confirms a "healthy".
        var event: Int64?
        #expect(eventually(within: 60) {
            guard let j = try? Journal(path: journalPath),
                  let verdicts = try? j.recentEvents(limit: 100, kinds: [.modelVerdict]) else { return false }
            event = verdicts.first { $0.code == 0 && (try? j.eventFeatures($0.id)) != nil }?.id
            return event != nil
        })
        let id = try #require(event)
        let teach = try Child(["model", "feedback", "--journal", journalPath, "\(id)", "confirm", "--operator", "anna"]).wait()
        #expect(teach.status == 0, "\(teach.stderr)")
        // A confirmed verdict is a success, or an edge case when the model's margin was small: which
        // depends on the sensor whose verdict came first, not on the path under test.
        #expect(teach.stdout.contains("feedback #1 recorded: ")
                && (teach.stdout.contains("labelled healthy (the model said healthy; filed as success)")
                    || teach.stdout.contains("labelled healthy (the model said healthy; filed as edge_case)")),
                "\(teach.stdout)")
        #expect(teach.stdout.contains("model v2 deployed (from v1)"), "\(teach.stdout)")
        #expect(eventually(within: 20) {
            (try? String(contentsOfFile: run.errPath, encoding: .utf8))?.contains("policy model v2 deployed in the registry") == true
        }, "the running controller took v2")
        kill(run.process.processIdentifier, SIGTERM)
        let out = run.wait()
        #expect(out.status == 0, "\(out.stderr)")
        let history = try Child(["model", "history", "--journal", journalPath]).wait()
        #expect(history.stdout.contains("* v2  parent v1"), "\(history.stdout)")
    }

    @Test(arguments: [
        ("cycle-period.yaml", "the cycle cannot run faster than 1 ms"),
        ("control-missing-sensor.yaml", "controls[0].input"),
        ("missing-keys.yaml", "expected a safe value"),
    ])
    func runRefusesABadConfigAtStartWithAClearError(file: String, message: String) throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the binary first: swift build")
        let out = try Child(["run", "--config", "Tests/ConfigTests/Fixtures/broken/\(file)", "--journal", "/nonexistent/never-opened.sqlite"]).wait()
        #expect(out.status == 1)
        #expect(out.stderr.contains(message), "\(out.stderr)")
        #expect(out.stderr.contains("broken/\(file):"), "the error names the file")
    }

    @Test func demoShowsTheLiveViewAndShutsDownInOrder() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the binary first: swift build")
        let out = try Child(["demo", "--duration", "2", "--refresh", "4"]).wait()
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("lateness p99"))
        #expect(out.stdout.contains("overruns 0"))
        let last = out.stdout.components(separatedBy: "Vigil demo — ").last ?? ""
        for sensor in ["PT-101A", "TT-301B", "LT-201", "ESTOP"] {
            #expect(last.split(separator: "\n").contains { $0.hasPrefix(sensor) && $0.contains(" good ") && $0.hasSuffix("healthy") },
                    "\(sensor) reads good and is healthy in \(last)")
        }
        #expect(last.contains("safe state: no"))
        #expect(last.contains("discharge-pressure") && last.contains("PT-101A"), "groups and their active source are shown")
        #expect(last.contains("alarms: 0 shown"))
        #expect(out.stdout.hasSuffix("vigil demo: done\n"))
    }
}
