import Foundation
import HIL
import MQTT
import VigilCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Publish → subscribe latency through one Mosquitto broker on loopback, measured at the same
/// subscriber (`mosquitto_sub`, its stdout read back here) for two publishers:
/// - the reference, `mosquitto_pub -l --nodelay` (one message per line on its stdin; Nagle off, as
///   `MosquittoClient` sets it);
/// - `MosquittoClient`, Vigil's transport.
///
/// Each payload carries its send time (`CLOCK_MONOTONIC`, the same clock in every process); the
/// latency is the time the line is read back minus that. Messages are paced (not a throughput test),
/// QoS 0, and the two runs alternate in rounds so that load on a shared machine hits both alike.
struct MQTTTransportBench {
    struct Latency {
        var samplesNanoseconds: [UInt64]
        var lost: Int

        func percentileMicroseconds(_ p: Double) -> Double {
            guard !samplesNanoseconds.isEmpty else { return .nan }
            let sorted = samplesNanoseconds.sorted()
            let i = min(sorted.count - 1, Int((p * Double(sorted.count)).rounded(.up)) - 1)
            return Double(sorted[max(0, i)]) / 1000
        }

        var p50: Double { percentileMicroseconds(0.50) }
        var p99: Double { percentileMicroseconds(0.99) }
    }

    enum Failure: Error, CustomStringConvertible {
        case tool(String)
        case client(String)
        var description: String {
            switch self {
            case .tool(let s): return "benchmark tool failed: \(s)"
            case .client(let s): return "MosquittoClient failed: \(s)"
            }
        }
    }

    let broker: MosquittoBroker
    let messages: Int
    let intervalMicroseconds: UInt32

    /// Runs `rounds` alternating rounds of each publisher and prints both and their ratio.
    func run(rounds: Int) throws {
        var reference = Latency(samplesNanoseconds: [], lost: 0)
        var vigil = Latency(samplesNanoseconds: [], lost: 0)
        for round in 0..<rounds {
            let r = try measure(topic: "vigil/bench/ref/\(round)", publisher: .mosquittoPub)
            let v = try measure(topic: "vigil/bench/vigil/\(round)", publisher: .mosquittoClient)
            reference.samplesNanoseconds += r.samplesNanoseconds
            reference.lost += r.lost
            vigil.samplesNanoseconds += v.samplesNanoseconds
            vigil.lost += v.lost
            print(String(format: "  round %d: mosquitto_pub p50 %.0f µs p99 %.0f µs; MosquittoClient p50 %.0f µs p99 %.0f µs",
                         round + 1, r.p50, r.p99, v.p50, v.p99))
        }
        print(String(format: "  publish → mosquitto_sub on loopback, QoS 0, %d messages × %d rounds, one every %d µs (libmosquitto %@):",
                     messages, rounds, intervalMicroseconds, MosquittoClient.libraryVersion))
        print(String(format: "    reference mosquitto_pub -l: p50 %.0f µs, p99 %.0f µs (%d lost)", reference.p50, reference.p99, reference.lost))
        print(String(format: "    MosquittoClient:            p50 %.0f µs, p99 %.0f µs (%d lost)", vigil.p50, vigil.p99, vigil.lost))
        print(String(format: "    ratio MosquittoClient / mosquitto_pub: p50 %.2f, p99 %.2f", vigil.p50 / reference.p50, vigil.p99 / reference.p99))
    }

    enum Publisher { case mosquittoPub, mosquittoClient }

    /// One run: a fresh `mosquitto_sub` on `topic`, warmed up until it receives, then `messages` timed ones.
    func measure(topic: String, publisher: Publisher) throws -> Latency {
        let subscriber = try Child(["/usr/bin/mosquitto_sub", "-h", broker.host, "-p", "\(broker.port)", "-t", topic, "-q", "0"], stdinPipe: false)
        defer { subscriber.kill() }
        let received = Mutex<[Int: UInt64]>([:])
        let warm = Mutex(false)
        let reader = Thread {
            var buffer: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 65_536)
            while true {
                let n = read(subscriber.stdoutFD, &chunk, chunk.count)
                if n <= 0 {
                    close(subscriber.stdoutFD)
                    return
                }
                let now = Self.monotonicNanoseconds()
                buffer += chunk[0..<n]
                while let nl = buffer.firstIndex(of: 10) {
                    let line = String(decoding: buffer[0..<nl], as: UTF8.self)
                    buffer.removeSubrange(0...nl)
                    let parts = line.split(separator: " ")
                    if parts.first == "warm" { warm.withLock { $0 = true }; continue }
                    guard parts.count == 2, let seq = Int(parts[0]), let sent = UInt64(parts[1]), now >= sent else { continue }
                    received.withLock { $0[seq] = now - sent }
                }
            }
        }
        reader.start()

        var send: (String) throws -> Void
        var finish: () -> Void = {}
        switch publisher {
        case .mosquittoPub:
            let pub = try Child(["/usr/bin/mosquitto_pub", "-h", broker.host, "-p", "\(broker.port)", "-t", topic, "-q", "0", "-l", "--nodelay"], stdinPipe: true)
            send = { line in try pub.writeLine(line) }
            finish = { pub.closeStdin(); pub.wait(seconds: 10) }
        case .mosquittoClient:
            let events = Mutex(false)
            let client = MosquittoClient(options: MQTTConnectOptions(clientID: "vigil-bench-\(getpid())")) { e in
                if case .connected = e { events.withLock { $0 = true } }
            }
            try client.connect(to: MQTTBrokerAddress(scheme: .mqtt, host: broker.host, port: broker.port), will: nil)
            guard Self.poll(seconds: 20, { events.withLock { $0 } }) else { throw Failure.client("no connection to the broker") }
            send = { line in
                do { _ = try client.publish(topic: topic, payload: Array(line.utf8), qos: .atMostOnce, retain: false) }
                catch { throw Failure.client("\(error)") }
            }
            finish = { client.destroy() }
        }
        defer { finish() }

        // The subscriber is ready once a warm-up message comes back.
        let ready = Self.poll(seconds: 20) {
            try? send("warm")
            usleep(50_000)
            return warm.withLock { $0 }
        }
        guard ready else { throw Failure.tool("mosquitto_sub received nothing") }
        for seq in 0..<messages {
            try send("\(seq) \(Self.monotonicNanoseconds())")
            usleep(intervalMicroseconds)
        }
        _ = Self.poll(seconds: 10) { received.withLock { $0.count } >= messages }
        let samples = received.withLock { Array($0.values) }
        return Latency(samplesNanoseconds: samples, lost: messages - samples.count)
    }

    static func poll(seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(5_000)
        }
        return condition()
    }

    static func monotonicNanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// A mosquitto command-line tool with its stdout (and optionally stdin) on pipes; the caller reads stdout to its end and closes it.
    final class Child: @unchecked Sendable {
        let pid: pid_t
        let stdoutFD: Int32
        private(set) var stdinFD: Int32 = -1

        init(_ argv: [String], stdinPipe: Bool) throws {
            var out: [Int32] = [0, 0], input: [Int32] = [-1, -1]
            guard pipe(&out) == 0 else { throw Failure.tool("pipe: \(String(cString: strerror(errno)))") }
            if stdinPipe { guard pipe(&input) == 0 else { throw Failure.tool("pipe: \(String(cString: strerror(errno)))") } }
            var actions = posix_spawn_file_actions_t()
            posix_spawn_file_actions_init(&actions)
            defer { posix_spawn_file_actions_destroy(&actions) }
            posix_spawn_file_actions_adddup2(&actions, out[1], 1)
            posix_spawn_file_actions_addclose(&actions, out[0])
            if stdinPipe {
                posix_spawn_file_actions_adddup2(&actions, input[0], 0)
                posix_spawn_file_actions_addclose(&actions, input[1])
            } else {
                posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
            }
            let args: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
            defer { args.forEach { free($0) } }
            var child: pid_t = 0
            let rc = posix_spawn(&child, argv[0], &actions, nil, args, environ)
            close(out[1])
            if stdinPipe { close(input[0]) }
            guard rc == 0 else {
                close(out[0])
                if stdinPipe { close(input[1]) }
                throw Failure.tool("\(argv[0]): \(String(cString: strerror(rc)))")
            }
            pid = child
            stdoutFD = out[0]
            stdinFD = input[1]
        }

        func writeLine(_ line: String) throws {
            let bytes = Array((line + "\n").utf8)
            let n = bytes.withUnsafeBytes { write(stdinFD, $0.baseAddress, $0.count) }
            guard n == bytes.count else { throw Failure.tool("write to mosquitto_pub: \(String(cString: strerror(errno)))") }
        }

        func closeStdin() {
            if stdinFD >= 0 { close(stdinFD) }
            stdinFD = -1
        }

        /// Waits for the child to exit on its own, then kills it.
        func wait(seconds: Double) {
            var status: Int32 = 0
            let exited = MQTTTransportBench.poll(seconds: seconds) { waitpid(pid, &status, WNOHANG) == pid }
            if !exited { kill() }
        }

        func kill() {
            _ = Glibc.kill(pid, SIGKILL)
            var status: Int32 = 0
            _ = waitpid(pid, &status, 0)
            closeStdin()  // stdout is closed by its reader, at end of file
        }
    }
}
