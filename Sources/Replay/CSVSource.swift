#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a recording file's bytes come from: a file kept open from the check to the end of the
/// replay, read at offsets with `pread(2)`, or bytes already in memory (tests, small inputs).
///
/// Holding the descriptor means the replay reads the file it checked even if the path is renamed
/// or replaced meanwhile; a file changed in place is caught by `RecordingFile`'s size, checksum
/// and row checks. No Foundation on the way.
final class CSVSource: Sendable {
    /// The name errors give (the path for a file).
    let name: String
    private let storage: Storage

    private enum Storage {
        case file(descriptor: Int32)
        case memory([UInt8])
    }

    /// Opens the file at `path` for reading; `CSVError.unreadable` (line 0) with the system's
    /// reason when it cannot be opened or is not a regular file. The corresponding C calls are
    /// `open` and `fstat`.
    init(path: String) throws(CSVError) {
        name = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CSVError(file: path, line: 0, problem: .unreadable(reason: Self.systemReason())) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = Self.systemReason()
            close(fd)
            throw CSVError(file: path, line: 0, problem: .unreadable(reason: reason))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw CSVError(file: path, line: 0, problem: .unreadable(reason: "not a regular file"))
        }
        #if os(Linux)
        _ = posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL)  // read ahead: the file is read front to back
        #endif
        storage = .file(descriptor: fd)
    }

    /// Bytes in memory, named `name` in errors.
    init(name: String, bytes: [UInt8]) {
        self.name = name
        storage = .memory(bytes)
    }

    deinit {
        if case .file(let fd) = storage { close(fd) }
    }

    /// Reads up to `count` bytes at `offset` into `buffer`; 0 only at the end of the source. Throws
    /// the system's reason when the read fails. The corresponding C function is `pread`.
    func read(into buffer: UnsafeMutablePointer<UInt8>, count: Int, at offset: Int) throws(CSVError) -> Int {
        switch storage {
        case .memory(let bytes):
            let n = max(0, min(count, bytes.count - offset))
            if n > 0 { bytes.withUnsafeBufferPointer { buffer.update(from: $0.baseAddress! + offset, count: n) } }
            return n
        case .file(let fd):
            while true {
                let n = pread(fd, buffer, count, off_t(offset))
                if n >= 0 { return n }
                if errno != EINTR { throw CSVError(file: name, line: 0, problem: .unreadable(reason: Self.systemReason())) }
            }
        }
    }

    /// The text of the bytes from `start` to `end`, read from the file (for an error that names a
    /// field outside the reader's current buffer); empty when they cannot be read.
    func text(from start: Int, to end: Int) -> String {
        guard end > start else { return "" }
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: end - start)
        defer { buffer.deallocate() }
        var count = 0
        while count < end - start, let n = try? read(into: buffer + count, count: end - start - count, at: start + count), n > 0 { count += n }
        return String(decoding: UnsafeBufferPointer(start: buffer, count: count), as: UTF8.self)
    }

    private static func systemReason() -> String { String(cString: strerror(errno)) }
}
