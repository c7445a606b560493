#if canImport(Glibc)
import VigilCore
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A real Mosquitto broker (Debian's `/usr/sbin/mosquitto`) as a child process on loopback, for
/// tests and benchmarks.
///
/// It listens on a free 127.0.0.1 port with a configuration generated in a temporary directory:
/// persistence off, anonymous clients or a password file made with `mosquitto_passwd -b`, and
/// optionally a TLS listener whose CA and server certificate are made with the `openssl` command
/// (subject alternative names `IP:127.0.0.1` and `DNS:localhost`). `stop()`, `kill9()` and
/// `restart()` (same ports) drive broker failures; deinit kills it and removes the directory.
public final class MosquittoBroker: @unchecked Sendable {
    /// The certificate files of the TLS listener.
    public struct TLSFiles: Sendable, Hashable {
        /// The CA a client must trust.
        public var caFile: String
        public var serverCertificateFile: String
        public var serverKeyFile: String
    }

    public static let defaultExecutable = "/usr/sbin/mosquitto"

    /// True when the broker and `mosquitto_passwd` are installed (Debian packages `mosquitto`, `mosquitto-clients`).
    public static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: defaultExecutable)
    }

    public let host = "127.0.0.1"
    /// The plain MQTT listener.
    public let port: Int
    /// The TLS listener, when asked for.
    public let tlsPort: Int?
    public let tlsFiles: TLSFiles?
    /// The temporary directory holding the configuration, password file, certificates and log.
    public let directory: String
    private let executable: String
    private let configFile: String
    private let child = Mutex<Int32?>(nil)

    /// `mqtt://127.0.0.1:<port>`.
    public var url: String { "mqtt://\(host):\(port)" }
    /// `mqtts://127.0.0.1:<tlsPort>`, when there is a TLS listener.
    public var tlsURL: String? { tlsPort.map { "mqtts://\(host):\($0)" } }

    /// Starts a broker and returns once it accepts connections.
    /// - Parameters:
    ///   - users: user names and passwords it accepts; empty: anonymous clients allowed.
    ///   - tls: also open a TLS listener with freshly made certificates.
    public init(users: [String: String] = [:], tls: Bool = false, executable: String = MosquittoBroker.defaultExecutable) throws(MosquittoBrokerError) {
        self.executable = executable
        var template = Array("/tmp/vigil-mosquitto-XXXXXX".utf8CString)
        guard let dir = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw .setup("mkdtemp: \(String(cString: strerror(errno)))")
        }
        directory = String(cString: dir)
        // The broker may drop root privileges to the `mosquitto` user: it must still read its files.
        chmod(directory, 0o755)
        configFile = directory + "/mosquitto.conf"
        do {
            port = try Self.freeLoopbackPort()
            tlsPort = tls ? try Self.freeLoopbackPort() : nil
            var passwordFile: String?
            if !users.isEmpty {
                let file = directory + "/passwd"
                for (i, (user, password)) in users.sorted(by: { $0.key < $1.key }).enumerated() {
                    try Self.run("/usr/bin/mosquitto_passwd", (i == 0 ? ["-c"] : []) + ["-b", file, user, password], in: directory,
                                 describedAs: "mosquitto_passwd -b \(file) \(user) <withheld>")
                }
                chmod(file, 0o644)
                passwordFile = file
            }
            tlsFiles = tls ? try Self.makeCertificates(in: directory) : nil
            try Self.configuration(port: port, tlsPort: tlsPort, tlsFiles: tlsFiles, passwordFile: passwordFile, directory: directory)
                .write(toFile: configFile, atomically: true, encoding: .utf8)
        } catch let error as MosquittoBrokerError {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw .setup("\(error)")
        }
        do {
            try launch()
        } catch {
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
    }

    deinit {
        kill9()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// The broker's process id while it runs.
    public var pid: Int32? {
        child.withLock { pid in
            guard let p = pid else { return nil }
            var status: Int32 = 0
            if waitpid(p, &status, WNOHANG) == p {
                pid = nil
                return nil
            }
            return p
        }
    }

    public var isRunning: Bool { pid != nil }

    /// The broker's log so far.
    public var log: String {
        (try? String(contentsOfFile: directory + "/mosquitto.log", encoding: .utf8)) ?? ""
    }

    /// SIGTERM and wait (SIGKILL after 20 s): the broker shuts down in order and closes every connection.
    public func stop() {
        end(signal: SIGTERM, killAfterSeconds: 20)
    }

    /// SIGKILL and wait: the broker vanishes as in a crash or power cut.
    public func kill9() {
        end(signal: SIGKILL, killAfterSeconds: 0)
    }

    /// Starts the broker again on the same ports (stopping it first if it runs).
    public func restart() throws(MosquittoBrokerError) {
        stop()
        try launch()
    }

    private func end(signal: Int32, killAfterSeconds: Int) {
        guard let p = child.withLock({ pid -> Int32? in defer { pid = nil }; return pid }) else { return }
        kill(p, signal)
        var status: Int32 = 0
        var waited = 0
        while waitpid(p, &status, WNOHANG) == 0 {
            if waited >= killAfterSeconds * 100 {
                kill(p, SIGKILL)
                _ = waitpid(p, &status, 0)
                return
            }
            usleep(10_000)
            waited += 1
        }
    }

    private func launch() throws(MosquittoBrokerError) {
        // posix_spawn with an empty signal mask and default handlers: a child started from a thread
        // that blocks SIGTERM (as dispatch and test runners do) would otherwise ignore `stop()`.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for sig in [SIGTERM, SIGINT, SIGHUP, SIGPIPE] { sigaddset(&defaults, sig) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, directory + "/stderr.log", O_WRONLY | O_CREAT | O_APPEND, 0o644)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable, "-c", configFile] as [String]).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw .setup("cannot start \(executable): \(String(cString: strerror(rc)))") }
        child.withLock { $0 = pid }
        // Ready when every listener accepts a TCP connection; 20 s is generous for a busy machine.
        let deadline = Date().addingTimeInterval(20)
        for listener in [port] + (tlsPort.map { [$0] } ?? []) {
            while !Self.accepts(host: host, port: listener) {
                var status: Int32 = 0
                if waitpid(pid, &status, WNOHANG) == pid {
                    child.withLock { $0 = nil }
                    throw .exited(status: status, log: lastLines())
                }
                if Date() > deadline {
                    kill9()
                    throw .notReady(port: listener, log: lastLines())
                }
                usleep(20_000)
            }
        }
    }

    private func lastLines() -> String {
        let stderr = (try? String(contentsOfFile: directory + "/stderr.log", encoding: .utf8)) ?? ""
        return (log + stderr).split(separator: "\n").suffix(8).joined(separator: "\n")
    }

    static func configuration(port: Int, tlsPort: Int?, tlsFiles: TLSFiles?, passwordFile: String?, directory: String) -> String {
        var lines = [
            "# Generated by Vigil's HIL MosquittoBroker for one test run.",
            "persistence false",
            "log_dest file \(directory)/mosquitto.log",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_type information",
            "connection_messages true",
            "allow_anonymous \(passwordFile == nil ? "true" : "false")",
        ]
        if getuid() == 0 { lines.append("user root") }
        if let passwordFile { lines.append("password_file \(passwordFile)") }
        lines.append("listener \(port) 127.0.0.1")
        if let tlsPort, let tlsFiles {
            lines += [
                "listener \(tlsPort) 127.0.0.1",
                "cafile \(tlsFiles.caFile)",
                "certfile \(tlsFiles.serverCertificateFile)",
                "keyfile \(tlsFiles.serverKeyFile)",
                "require_certificate false",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A CA and a server certificate for 127.0.0.1/localhost, made with the `openssl` command.
    static func makeCertificates(in directory: String) throws(MosquittoBrokerError) -> TLSFiles {
        let files = TLSFiles(caFile: directory + "/ca.crt", serverCertificateFile: directory + "/server.crt",
                             serverKeyFile: directory + "/server.key")
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try run("/usr/bin/openssl", ["req", "-x509"] + ec + ["-keyout", directory + "/ca.key", "-out", files.caFile,
                                                            "-days", "2", "-subj", "/CN=Vigil test CA"], in: directory)
        try run("/usr/bin/openssl", ["req"] + ec + ["-keyout", files.serverKeyFile, "-out", directory + "/server.csr",
                                                    "-subj", "/CN=localhost"], in: directory)
        do {
            try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(toFile: directory + "/san.cnf", atomically: true, encoding: .utf8)
        } catch {
            throw .setup("cannot write san.cnf: \(error)")
        }
        try run("/usr/bin/openssl", ["x509", "-req", "-in", directory + "/server.csr", "-CA", files.caFile, "-CAkey", directory + "/ca.key",
                                     "-CAcreateserial", "-out", files.serverCertificateFile, "-days", "2", "-extfile", directory + "/san.cnf"],
                in: directory)
        for f in [files.caFile, files.serverCertificateFile, files.serverKeyFile] { chmod(f, 0o644) }
        return files
    }

    /// Runs a tool to completion; `describedAs` replaces the command line in errors (it may hold a password).
    static func run(_ tool: String, _ arguments: [String], in directory: String, describedAs: String? = nil) throws(MosquittoBrokerError) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = arguments
        p.currentDirectoryURL = URL(fileURLWithPath: directory)
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        let command = describedAs ?? ([tool] + arguments).joined(separator: " ")
        do {
            try p.run()
        } catch {
            throw .tool(command: command, status: -1, output: "\(error)")
        }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw .tool(command: command, status: p.terminationStatus, output: output)
        }
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
    public static func freeLoopbackPort() throws(MosquittoBrokerError) -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw .setup("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw .setup("bind: \(String(cString: strerror(errno)))") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        guard named == 0 else { throw .setup("getsockname: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    /// True when something accepts a TCP connection on `host:port`.
    static func accepts(host: String, port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr(host)
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

/// Why a test broker could not be started.
public enum MosquittoBrokerError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Preparing its directory, port or files failed.
    case setup(String)
    /// A helper command failed (`mosquitto_passwd`, `openssl`); passwords never appear in `command`.
    case tool(command: String, status: Int32, output: String)
    /// The broker exited while starting; `log` is the end of its log.
    case exited(status: Int32, log: String)
    /// The broker did not accept connections on `port` in time.
    case notReady(port: Int, log: String)

    public var description: String {
        switch self {
        case .setup(let s): return "test broker setup failed: \(s)"
        case .tool(let c, let s, let o): return "'\(c)' failed (status \(s)): \(o)"
        case .exited(let s, let l): return "mosquitto exited with status \(s) while starting:\n\(l)"
        case .notReady(let p, let l): return "mosquitto did not accept connections on port \(p):\n\(l)"
        }
    }
}
