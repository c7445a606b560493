/// One field of a record: its bytes (inside the quotes for a quoted field, surrounding spaces and
/// tabs trimmed) as offsets into the scanned bytes.
struct CSVField: Sendable, Hashable {
    var start: Int
    var end: Int
    /// The field was quoted and holds `""` escapes (its text needs unescaping).
    var escaped: Bool
}

/// Splits CSV bytes (RFC 4180: comma-separated, `"` quotes fields, `""` is a quote inside one; LF,
/// CRLF or CR line ends) into records, without copying: fields are offsets into the bytes. Blank
/// lines and lines starting with `#` are skipped. Allocates nothing per record once the caller's
/// field buffer has grown to the widest record.
///
/// The bytes may be a window on a longer file (`final` false): then a record or error that reaches
/// the window's end is not conclusive, and `CSVRecordReader` scans it again from `recordStart` with
/// more bytes; blank and comment lines are only skipped once their line end is inside the window.
struct CSVScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    /// The bytes end where the file ends.
    let final: Bool
    private(set) var position: Int
    /// The line the next record starts on (1-based).
    private(set) var line = 1
    /// Where the last `nextRecord` call's record (or its search for one) began, after the blank
    /// and comment lines it skipped, and on which line.
    private(set) var recordStart = 0
    private(set) var recordLine = 1

    static let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\""), newline = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r"), space = UInt8(ascii: " "), tab = UInt8(ascii: "\t"), hash = UInt8(ascii: "#")

    /// Scans `window` (a whole file's bytes when `final` and it starts the file) from `position`,
    /// the start of a record or of the lines before one (past a byte order mark), on `line`.
    init(window: UnsafeBufferPointer<UInt8>, final: Bool, position: Int, line: Int) {
        bytes = window
        self.final = final
        self.position = position
        self.line = line
        recordStart = position
        recordLine = line
    }

    /// The bytes start with a UTF-8 byte order mark (skipped).
    static func hasByteOrderMark(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
    }

    /// Why a record could not be split, at the 1-based line it happened.
    enum Failure: Error, Hashable {
        case unterminatedQuote(line: Int)
        case textAfterClosingQuote(line: Int, start: Int, end: Int)
    }

    /// The next record's fields into `fields` (cleared first); returns the line it started on, or
    /// nil at the end of the bytes (in a window that is not `final`: where more bytes are needed).
    mutating func nextRecord(into fields: inout [CSVField]) throws(Failure) -> Int? {
        fields.removeAll(keepingCapacity: true)
        let complete = skipBlankAndCommentLines()
        recordStart = position
        recordLine = line
        guard complete && position < bytes.count else { return nil }
        while true {
            // One field.
            var i = position
            while i < bytes.count && (bytes[i] == Self.space || bytes[i] == Self.tab) { i += 1 }
            if i < bytes.count && bytes[i] == Self.quote {
                let openedOn = line
                var escaped = false
                let start = i + 1
                var j = start
                while true {
                    guard j < bytes.count else { throw .unterminatedQuote(line: openedOn) }
                    let b = bytes[j]
                    if b == Self.quote {
                        if j + 1 < bytes.count && bytes[j + 1] == Self.quote {
                            escaped = true
                            j += 2
                            continue
                        }
                        break
                    }
                    if b == Self.newline || (b == Self.carriageReturn && (j + 1 >= bytes.count || bytes[j + 1] != Self.newline)) {
                        line += 1
                    }
                    j += 1
                }
                fields.append(CSVField(start: start, end: j, escaped: escaped))
                j += 1
                while j < bytes.count && (bytes[j] == Self.space || bytes[j] == Self.tab) { j += 1 }
                if j < bytes.count && bytes[j] != Self.comma && bytes[j] != Self.newline && bytes[j] != Self.carriageReturn {
                    var k = j
                    while k < bytes.count && bytes[k] != Self.comma && bytes[k] != Self.newline && bytes[k] != Self.carriageReturn { k += 1 }
                    throw .textAfterClosingQuote(line: line, start: j, end: k)
                }
                i = j
            } else {
                var j = i
                while j < bytes.count && bytes[j] != Self.comma && bytes[j] != Self.newline && bytes[j] != Self.carriageReturn { j += 1 }
                var end = j
                while end > i && (bytes[end - 1] == Self.space || bytes[end - 1] == Self.tab) { end -= 1 }
                fields.append(CSVField(start: i, end: end, escaped: false))
                i = j
            }
            // After a field: a comma (another field follows), a line end or the end of the bytes.
            if i < bytes.count && bytes[i] == Self.comma {
                position = i + 1
                continue
            }
            position = endLine(at: i)
            return recordLine
        }
    }

    /// The offset after the line end at `i` (if any), counting the line.
    private mutating func endLine(at i: Int) -> Int {
        guard i < bytes.count else { return i }
        line += 1
        if bytes[i] == Self.carriageReturn && i + 1 < bytes.count && bytes[i + 1] == Self.newline { return i + 2 }
        return i + 1
    }

    /// Skips blank and comment lines; false when one's end is not in a window that is not `final`
    /// (it stays unread until more bytes come).
    private mutating func skipBlankAndCommentLines() -> Bool {
        while position < bytes.count {
            var i = position
            while i < bytes.count && (bytes[i] == Self.space || bytes[i] == Self.tab) { i += 1 }
            if i < bytes.count && bytes[i] == Self.hash {
                while i < bytes.count && bytes[i] != Self.newline && bytes[i] != Self.carriageReturn { i += 1 }
            } else if i < bytes.count && bytes[i] != Self.newline && bytes[i] != Self.carriageReturn {
                return true
            }
            // In a window, a line ending past it (or in a CR that may be half of a CRLF) waits for more bytes.
            if !final && i + 1 >= bytes.count { return false }
            position = endLine(at: i)
        }
        return true
    }

    /// A field's text (unescaped, invalid UTF-8 replaced), for the header and for errors.
    func text(_ f: CSVField) -> String {
        guard f.start < f.end else { return "" }
        guard f.escaped else { return String(decoding: UnsafeBufferPointer(rebasing: bytes[f.start..<f.end]), as: UTF8.self) }
        // Inside a quoted field a quote only comes as `""`: keep the first of each pair.
        var unescaped: [UInt8] = []
        var k = f.start
        while k < f.end {
            unescaped.append(bytes[k])
            k += bytes[k] == Self.quote ? 2 : 1
        }
        return String(decoding: unescaped, as: UTF8.self)
    }

    /// The text between two offsets, for errors.
    func text(from start: Int, to end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<max(start, end)]), as: UTF8.self)
    }
}
