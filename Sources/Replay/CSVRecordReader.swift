#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A CSV source's records, front to back, through one buffer of `chunkBytes`: memory stays at the
/// buffer whatever the file's length.
///
/// Why `pread(2)` into a buffer and not `mmap`: pages of a mapped file count in the process's
/// resident set until the kernel reclaims them, so a mapped gigabyte reads as a gigabyte of RSS;
/// and a mapped file that shrinks under the reader kills it with SIGBUS, where a read just ends
/// early and the replay reports the file changed. The copy costs little next to parsing.
///
/// The buffer holds a window on the file. A record is taken only when its line end is inside the
/// window (or the file ends): otherwise the bytes from the record's start move to the front, more
/// are read behind them, and the record is scanned again. A record longer than the buffer grows it,
/// up to `maximumRecordBytes`. Every byte read goes into `checksum`.
struct CSVRecordReader: ~Copyable {
    /// 256 KiB: large enough that a refill (and the rescan of the record it cut) is rare.
    static let defaultChunkBytes = 1 << 18
    /// The longest record (a line, or several inside quotes) read: 16 MiB.
    static let maximumRecordBytes = 1 << 24

    let source: CSVSource
    private var buffer: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes of the buffer that hold file bytes.
    private var filled = 0
    /// The file offset of the buffer's first byte.
    private var windowOffset = 0
    /// The source has no bytes after the window.
    private var atEnd = false
    private(set) var scanner: CSVScanner
    /// The fields of the last record read (offsets into `window`).
    private(set) var fields: [CSVField] = []
    /// Of every byte read so far.
    private(set) var checksum = StreamChecksum()

    /// Reads the first bytes of `source` (and skips a UTF-8 byte order mark).
    init(source: CSVSource, chunkBytes: Int = Self.defaultChunkBytes) throws(CSVError) {
        self.source = source
        capacity = max(4, chunkBytes)
        buffer = .allocate(capacity: capacity)
        scanner = CSVScanner(window: UnsafeBufferPointer(start: buffer, count: 0), final: false, position: 0, line: 1)
        // At least the three bytes of a byte order mark, unless the file is shorter.
        while filled < 3 && !atEnd { try read() }
        let window = UnsafeBufferPointer(start: buffer, count: filled)
        scanner = CSVScanner(window: window, final: atEnd, position: CSVScanner.hasByteOrderMark(window) ? 3 : 0, line: 1)
    }

    deinit { buffer.deallocate() }

    /// The bytes `fields` index.
    var window: UnsafeBufferPointer<UInt8> { scanner.bytes }

    /// The file offset of `window`'s first byte.
    var windowFileOffset: Int { windowOffset }

    /// Reads the next record into `fields`; returns the line it starts on, nil at the end of the file.
    mutating func nextRecord() throws(CSVError) -> Int? {
        while true {
            do throws(CSVScanner.Failure) {
                let line = try scanner.nextRecord(into: &fields)
                if atEnd || (line != nil && scanner.position < filled) { return line }
            } catch {
                // A failure is conclusive once the file ends, or when the text it quotes ends inside the window.
                if atEnd { throw self.error(error) }
                if case .textAfterClosingQuote(_, _, let end) = error, end < filled { throw self.error(error) }
            }
            try refill()
        }
    }

    /// Moves the bytes from the current record's start to the buffer's front (growing the buffer if
    /// the record fills it) and reads more behind them.
    private mutating func refill() throws(CSVError) {
        let start = scanner.recordStart, line = scanner.recordLine
        let kept = filled - start
        if start > 0 {
            if kept > 0 { memmove(buffer, buffer + start, kept) }
            windowOffset += start
            filled = kept
        }
        if kept == capacity {
            guard capacity < Self.maximumRecordBytes else {
                throw CSVError(file: source.name, line: line, problem: .recordTooLong(limit: Self.maximumRecordBytes))
            }
            let larger = UnsafeMutablePointer<UInt8>.allocate(capacity: min(2 * capacity, Self.maximumRecordBytes))
            larger.update(from: buffer, count: filled)
            buffer.deallocate()
            buffer = larger
            capacity = min(2 * capacity, Self.maximumRecordBytes)
        }
        try read()
        scanner = CSVScanner(window: UnsafeBufferPointer(start: buffer, count: filled), final: atEnd, position: 0, line: line)
    }

    /// Reads what fits behind the window's bytes.
    private mutating func read() throws(CSVError) {
        let n = try source.read(into: buffer + filled, count: capacity - filled, at: windowOffset + filled)
        checksum.add(UnsafeRawBufferPointer(start: buffer + filled, count: n))
        filled += n
        if n == 0 { atEnd = true }
    }

    /// A scanner failure as a located error.
    func error(_ failure: CSVScanner.Failure) -> CSVError {
        switch failure {
        case .unterminatedQuote(let line):
            return CSVError(file: source.name, line: line, problem: .unterminatedQuote)
        case .textAfterClosingQuote(let line, let start, let end):
            return CSVError(file: source.name, line: line, problem: .textAfterClosingQuote(found: scanner.text(from: start, to: end)))
        }
    }
}
