#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why a durable write or a read failed: the path, the step and the errno text.
public struct DurableFileError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    public var step: String
    public var errno: Int32

    public var description: String { "\(path): \(step) failed: \(String(cString: strerror(errno))) (errno \(errno))" }
}

/// Whole-file writes that survive `kill -9` and power loss: write a temporary file beside the
/// target, fsync it, rename it over the target, fsync the directory. A reader sees the old file or
/// the new one, never a mix (model files, docs/POLICY-MODEL.md).
public enum DurableFile {
    public static func write(_ bytes: [UInt8], to path: String) throws(DurableFileError) {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw DurableFileError(path: temporary, step: "open", errno: errno) }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let e = errno
                close(fd)
                unlink(temporary)
                throw DurableFileError(path: temporary, step: "write", errno: e)
            }
            written += n
        }
        if fsync(fd) != 0 {
            let e = errno
            close(fd)
            unlink(temporary)
            throw DurableFileError(path: temporary, step: "fsync", errno: e)
        }
        close(fd)
        if rename(temporary, path) != 0 {
            let e = errno
            unlink(temporary)
            throw DurableFileError(path: path, step: "rename", errno: e)
        }
        try syncDirectory(of: path)
    }

    /// fsyncs the directory holding `path`, so a rename or create in it is durable.
    public static func syncDirectory(of path: String) throws(DurableFileError) {
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let dfd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard dfd >= 0 else { throw DurableFileError(path: directory, step: "open directory", errno: errno) }
        defer { close(dfd) }
        if fsync(dfd) != 0 { throw DurableFileError(path: directory, step: "fsync directory", errno: errno) }
    }

    /// The whole file (bounded: a model file is small; anything larger is refused).
    public static func read(_ path: String, maxBytes: Int = 16 << 20) throws(DurableFileError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DurableFileError(path: path, step: "open", errno: errno) }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw DurableFileError(path: path, step: "read", errno: errno)
            }
            if n == 0 { return out }
            out.append(contentsOf: buffer[0..<n])
            if out.count > maxBytes { throw DurableFileError(path: path, step: "read (larger than \(maxBytes) bytes)", errno: EFBIG) }
        }
    }

    /// Creates `path` and its missing parents (mode 0755).
    public static func makeDirectories(_ path: String) throws(DurableFileError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += String(part)
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw DurableFileError(path: prefix, step: "mkdir", errno: errno)
            }
            prefix += "/"
        }
    }
}
