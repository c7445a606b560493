#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written through a 1 MiB buffer with plain `write(2)`: the replay's report files, some of
/// them a row per input row. Text is appended as bytes; numbers through `DecimalFormat`.
final class OutputFile {
    let path: String
    private let fd: Int32
    private(set) var buffer: [UInt8] = []
    private static let flushThreshold = 1 << 20

    /// Creates (or truncates) the file.
    init(path: String) throws(ReplayError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .output(path: path, reason: String(cString: strerror(errno))) }
        buffer.reserveCapacity(Self.flushThreshold + 4096)
    }

    deinit { close(fd) }

    @inline(__always) func append(_ text: String) {
        var text = text
        text.withUTF8 { buffer.append(contentsOf: $0) }
    }

    @inline(__always) func append(byte: UInt8) { buffer.append(byte) }

    @inline(__always) func append(bytes: [UInt8]) { buffer.append(contentsOf: bytes) }

    /// Appends through `body` (numbers straight into the buffer).
    @inline(__always) func appendFormatted(_ body: (inout [UInt8]) -> Void) { body(&buffer) }

    /// Writes the buffer out once it holds a mebibyte.
    @inline(__always) func flushIfFull() throws(ReplayError) {
        if buffer.count >= Self.flushThreshold { try flush() }
    }

    func flush() throws(ReplayError) {
        var written = 0
        while written < buffer.count {
            let n = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .output(path: path, reason: String(cString: strerror(errno)))
            }
            written += n
        }
        buffer.removeAll(keepingCapacity: true)
    }
}
