#if canImport(Glibc)
import Glibc
#endif

/// Why a key file could not be read or written. Never holds key material.
public enum FleetKeyFileError: Error, Sendable, Hashable, CustomStringConvertible {
    case open(path: String, errno: Int32)
    case read(path: String, errno: Int32)
    case write(path: String, errno: Int32)
    /// The private key file is readable or writable by others than its owner.
    case permissions(path: String, mode: UInt32)
    case exists(path: String)
    case key(path: String, Ed25519Error)

    public var description: String {
        switch self {
        case .open(let p, let e): return "\(p): cannot open (\(String(cString: strerror(e))))"
        case .read(let p, let e): return "\(p): cannot read (\(String(cString: strerror(e))))"
        case .write(let p, let e): return "\(p): cannot write (\(String(cString: strerror(e))))"
        case .permissions(let p, let m):
            return "\(p): a private key file must be mode 0600 (owner only), this one is \(String(m & 0o777, radix: 8)); `chmod 600 \(p)`"
        case .exists(let p): return "\(p) exists; a key file is never overwritten"
        case .key(let p, let e): return "\(p): \(e)"
        }
    }
}

/// Key files: a private key is the base64 of its 32 raw bytes and a newline, in a file of mode
/// 0600 (a file others may read or write is refused); a public key is the same for its 32 bytes,
/// as a plant file holds it.
public enum FleetKeyFile {
    /// Writes `key` to a new file `path` (mode 0600, never over an existing file) and `fsync`s it.
    public static func writePrivateKey(_ key: Ed25519PrivateKey, to path: String) throws(FleetKeyFileError) {
        try write(Array((key.base64ForKeyFile + "\n").utf8), to: path, mode: 0o600)
    }

    /// Writes `key`'s base64 text to a new file `path` (mode 0644).
    public static func writePublicKey(_ key: Ed25519PublicKey, to path: String) throws(FleetKeyFileError) {
        try write(Array((key.base64 + "\n").utf8), to: path, mode: 0o644)
    }

    /// Reads a private key file, refusing one whose mode lets anyone but its owner read or write it.
    public static func readPrivateKey(_ path: String) throws(FleetKeyFileError) -> Ed25519PrivateKey {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .open(path: path, errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .read(path: path, errno: errno) }
        guard UInt32(st.st_mode) & 0o077 == 0 else { throw .permissions(path: path, mode: UInt32(st.st_mode)) }
        let text = try readAll(fd, path: path)
        guard let raw = Base64.decode(text.trimmingWhitespace()), raw.count == 32 else {
            throw .key(path: path, .notBase64(what: "private key"))
        }
        do { return try Ed25519PrivateKey(raw: raw) } catch { throw .key(path: path, error) }
    }

    /// Reads a public key file (base64 text).
    public static func readPublicKey(_ path: String) throws(FleetKeyFileError) -> Ed25519PublicKey {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .open(path: path, errno: errno) }
        defer { close(fd) }
        let text = try readAll(fd, path: path)
        do { return try Ed25519PublicKey(base64: text) } catch { throw .key(path: path, error) }
    }

    static func readAll(_ fd: Int32, path: String) throws(FleetKeyFileError) -> String {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 512)
        while bytes.count < 4096 {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, 512) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .read(path: path, errno: errno)
            }
            if n == 0 { break }
            bytes += buffer[0..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func write(_ bytes: [UInt8], to path: String, mode: mode_t) throws(FleetKeyFileError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            if errno == EEXIST { throw .exists(path: path) }
            throw .open(path: path, errno: errno)
        }
        defer { close(fd) }
        // The umask may have taken bits away, never added them; set the mode exactly.
        guard fchmod(fd, mode) == 0 else { throw .write(path: path, errno: errno) }
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .write(path: path, errno: errno)
            }
            written += n
        }
        guard fsync(fd) == 0 else { throw .write(path: path, errno: errno) }
    }
}
