#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Journal
import Testing
import VigilCore

/// The real thing: `journal-stress` records durably and prints an ACK after each commit; we
/// SIGKILL it at seeded random moments and check every acknowledged record survived.
@Suite struct CrashSafetyTests {
    @Test func everyAcknowledgedRecordSurvivesKillNine() throws {
        let binary = try #require(StressRig.binaryPath(), StressRig.missingMessage)
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.path("journal.sqlite")
        var random = SeededRandom(seed: 0x5EED_0009)
        var feedbackIDs = Set<Int64>(), commandIDs = Set<Int64>()

        for run in 0..<24 {
            let ackTarget = Int.random(in: 1...40, using: &random)
            let extraMicroseconds = UInt32.random(in: 0...4000, using: &random)
            let rig = try StressRig(binary: binary, arguments: [path, "--seed", String(run)], stderrPath: dir.path("stderr-\(run).txt"))
            var lines = rig.readLines(untilAcks: ackTarget)
            usleep(extraMicroseconds)
            kill(rig.pid, SIGKILL)
            lines += rig.readToEnd()
            let status = rig.wait()
            let stderr = (try? String(contentsOfFile: dir.path("stderr-\(run).txt"), encoding: .utf8)) ?? ""
            try #require(status.killedBySIGKILL, "run \(run): journal-stress ended on its own (\(status)); stderr: \(stderr)")

            let acks = lines.filter { $0.hasPrefix("ACK ") }
            #expect(acks.count >= ackTarget, "run \(run): only \(acks.count) ACKs before EOF; stderr: \(stderr)")
            for line in acks {
                let parts = line.split(separator: " ")
                let id = try #require(parts.count == 3 ? Int64(parts[2]) : nil, "bad line \(line)")
                if parts[1] == "feedback" { feedbackIDs.insert(id) } else { commandIDs.insert(id) }
            }

            let journal = try Journal(path: path)
            #expect(journal.integrityCheck(), "run \(run): integrity_check failed after kill -9")
            let storedFeedback = Set(try journal.feedback(limit: .max).map(\.id))
            let storedCommands = Set(try journal.auditLog(limit: .max).map(\.id))
            #expect(feedbackIDs.subtracting(storedFeedback).isEmpty,
                    "run \(run): acknowledged feedback lost: \(feedbackIDs.subtracting(storedFeedback).sorted())")
            #expect(commandIDs.subtracting(storedCommands).isEmpty,
                    "run \(run): acknowledged commands lost: \(commandIDs.subtracting(storedCommands).sorted())")
        }
        #expect(feedbackIDs.count + commandIDs.count >= 24)
    }

    @Test func theStressRigShutsDownInOrderAndFlushesItsEvents() throws {
        let binary = try #require(StressRig.binaryPath(), StressRig.missingMessage)
        let dir = try TemporaryDirectory()
        defer { dir.cleanup() }
        let path = dir.path("journal.sqlite")
        let rig = try StressRig(binary: binary, arguments: [path, "--count", "40"], stderrPath: dir.path("stderr.txt"))
        let lines = rig.readToEnd()
        let status = rig.wait()
        #expect(status.exitedCleanly)
        let done = try #require(lines.last.flatMap { $0.hasPrefix("DONE ") ? Int($0.dropFirst(5)) : nil })
        let journal = try Journal(path: path)
        #expect(try journal.counts().events == done)
        #expect(try journal.counts().feedback + journal.counts().auditEntries == 40)
    }
}

/// `journal-stress` as a child process with its stdout on a pipe.
private final class StressRig {
    static let missingMessage: Comment = """
        journal-stress not found beside the test bundle or in .build/debug; run `swift build` before `swift test` \
        (the README's test command does)
        """

    static func binaryPath() -> String? {
        var candidates: [URL] = []
        if let first = CommandLine.arguments.first {
            candidates.append(URL(fileURLWithPath: first).deletingLastPathComponent().appendingPathComponent("journal-stress"))
        }
        if let executable = Bundle.main.executableURL {
            candidates.append(executable.deletingLastPathComponent().appendingPathComponent("journal-stress"))
        }
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        candidates.append(packageRoot.appendingPathComponent(".build/debug/journal-stress"))
        return candidates.map(\.path).first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    struct Status: CustomStringConvertible {
        var raw: Int32
        var killedBySIGKILL: Bool { raw & 0x7f == SIGKILL }
        var exitedCleanly: Bool { raw & 0x7f == 0 && (raw >> 8) & 0xff == 0 }
        var description: String { "wait status \(raw)" }
    }

    let pid: pid_t
    private let readFD: Int32
    private var buffer: [UInt8] = []

    init(binary: String, arguments: [String], stderrPath: String) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        // Close-on-exec, so no other child keeps the write end open and hides EOF from us.
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = ([binary] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var child: pid_t = 0
        let rc = posix_spawn(&child, binary, &actions, nil, argv, environ)
        close(fds[1])
        guard rc == 0 else {
            close(fds[0])
            throw POSIXError(.init(rawValue: rc) ?? .EIO)
        }
        pid = child
        readFD = fds[0]
    }

    deinit { close(readFD) }

    /// Reads complete lines until `count` of them start with "ACK", or EOF.
    func readLines(untilAcks count: Int) -> [String] {
        var lines: [String] = []
        var acks = 0
        while acks < count, let chunk = readChunk() {
            for line in chunk {
                lines.append(line)
                if line.hasPrefix("ACK ") { acks += 1 }
            }
        }
        return lines
    }

    /// Reads complete lines until EOF; a partial last line is not a line.
    func readToEnd() -> [String] {
        var lines: [String] = []
        while let chunk = readChunk() { lines += chunk }
        return lines
    }

    func wait() -> Status {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return Status(raw: status)
    }

    /// The complete lines from one read(2), nil at EOF.
    private func readChunk() -> [String]? {
        var bytes = [UInt8](repeating: 0, count: 4096)
        var n: Int
        repeat { n = read(readFD, &bytes, bytes.count) } while n < 0 && errno == EINTR
        guard n > 0 else { return nil }
        buffer += bytes[0..<n]
        var lines: [String] = []
        while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(String(decoding: buffer[..<newline], as: UTF8.self))
            buffer.removeSubrange(...newline)
        }
        return lines
    }
}
