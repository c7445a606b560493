import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process that announces readiness with a `READY <port>` line and lives until its stdin closes.
final class PeerProcess {
    let process = Process()
    private let stdinPipe = Pipe()
    private let stdoutPipe = Pipe()
    private(set) var port = 0

    init(executable: String, arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = stdinPipe
        process.standardOutput = stdoutPipe
        try process.run()
        var line = Data()
        let handle = stdoutPipe.fileHandleForReading
        while true { // blocks on the pipe until the child speaks or exits
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
            if line.contains(UInt8(ascii: "\n")) { break }
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("READY "), let p = Int(text.dropFirst(6)) else {
            process.terminate()
            throw PeerError.notReady(text)
        }
        port = p
    }

    enum PeerError: Error { case notReady(String) }

    func stop() {
        try? stdinPipe.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

/// A TCP listener on 127.0.0.1 that the kernel accepts connections for but that never answers:
/// a device that is powered but hung.
final class SilentListener {
    let fd: Int32
    let port: Int

    init() {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                _ = bind(fd, sa, len)
                _ = listen(fd, 8)
                _ = getsockname(fd, sa, &len)
            }
        }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
    }

    deinit { close(fd) }
}

/// A loopback port with nobody listening: connecting is refused.
func refusedPort() -> Int {
    let l = SilentListener()
    return l.port // closed when `l` goes away
}
