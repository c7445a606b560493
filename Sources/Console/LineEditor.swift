/// A line typed by a human on a raw serial terminal (`screen`, `picocom`, `minicom`), one byte at a
/// time: echo, backspace over UTF-8, Ctrl-C/Ctrl-U, escape sequences swallowed, bounded storage.
///
/// Pure value type: the transport feeds bytes and writes the echo; nothing here does I/O. Storage is
/// reserved once (`maxLineBytes`); an over-long line is counted, not stored.
///
/// Echo never shows a secret: a secret line (`secret:`, the PIN prompt) echoes `*` per character, and
/// so does the part of any line that `CommandLanguage.secretStart` marks (the PIN of `login ROLE PIN`).
/// A bidirectional-text control (U+202E …) is echoed as U+FFFD and its line refused (`.bidiControl`),
/// so it can neither reorder what the operator sees nor be stored.
public struct LineEditor: Sendable {
    /// What a finished line turned into.
    public enum Event: Equatable, Sendable {
        case line(String)
        case problem(LineProblem)
    }

    /// Where the editor is inside an escape sequence (arrow keys, function keys).
    private enum Escape {
        case none
        /// After ESC.
        case started
        /// After ESC [: parameter and intermediate bytes until a final byte 0x40–0x7E.
        case csi
        /// After ESC O: one more byte.
        case ss3
    }

    /// The most bytes a line may hold.
    public let maxLineBytes: Int
    private var buffer: [UInt8]
    private var overflow = false
    private var escape = Escape.none
    /// The line end (CR or LF) just taken: its partner (LF or CR) right after it is part of the same end.
    private var lastLineEnd: UInt8?
    /// Start of the UTF-8 scalar being typed and how many continuation bytes it still needs.
    private var scalarStart = 0
    private var continuationsNeeded = 0
    /// Scalars shown on the terminal (what backspace and Ctrl-U have to erase).
    private var displayed = 0

    private static let cr: UInt8 = 0x0D, lf: UInt8 = 0x0A, esc: UInt8 = 0x1B
    private static let erase: [UInt8] = [0x08, 0x20, 0x08]
    private static let newline: [UInt8] = [cr, lf]

    /// An empty editor holding at most `maxLineBytes` bytes per line.
    public init(maxLineBytes: Int = 256) {
        self.maxLineBytes = max(1, maxLineBytes)
        buffer = []
        buffer.reserveCapacity(self.maxLineBytes)
    }

    /// The partial line typed so far (its raw bytes).
    public var pendingBytes: [UInt8] { buffer }

    /// Bytes that redraw the partial line after other output (`*` per secret character).
    public func redraw(secret: Bool) -> [UInt8] {
        var out: [UInt8] = []
        let cut = secret ? 0 : CommandLanguage.secretStart(in: buffer) ?? Int.max
        var i = 0
        while i < buffer.count {
            let end = Self.unitEnd(buffer, from: i)
            if Self.isComplete(buffer[i..<end]) { Self.appendShown(buffer[i..<end], masked: i >= cut, to: &out) }
            i = end
        }
        return out
    }

    private static let replacement: [UInt8] = [0xEF, 0xBF, 0xBD]

    /// What the terminal shows for one complete unit: `*` when masked, U+FFFD for a bidi control.
    private static func appendShown(_ unit: ArraySlice<UInt8>, masked: Bool, to out: inout [UInt8]) {
        if masked {
            out.append(UInt8(ascii: "*"))
        } else if isBidiControl(unit) {
            out.append(contentsOf: replacement)
        } else {
            out.append(contentsOf: unit)
        }
    }

    /// U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069 in UTF-8.
    static func isBidiControl(_ unit: ArraySlice<UInt8>) -> Bool {
        let i = unit.startIndex
        if unit.count == 2 { return unit[i] == 0xD8 && unit[i + 1] == 0x9C }
        guard unit.count == 3, unit[i] == 0xE2 else { return false }
        let last = unit[i + 2]
        if unit[i + 1] == 0x80 { return last == 0x8E || last == 0x8F || (0xAA...0xAE).contains(last) }
        if unit[i + 1] == 0x81 { return (0xA6...0xA9).contains(last) }
        return false
    }

    /// Whether a scalar is a bidirectional-text control: U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069.
    public static func isBidiControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    /// Takes one byte; appends what the terminal should show to `echo`. Returns an event when a line ends.
    public mutating func feed(_ byte: UInt8, secret: Bool, echo: inout [UInt8]) -> Event? {
        if let end = lastLineEnd {
            lastLineEnd = nil
            if (end == Self.cr && byte == Self.lf) || (end == Self.lf && byte == Self.cr) { return nil }
        }
        switch escape {
        case .none:
            break
        case .started:
            if byte == UInt8(ascii: "[") { escape = .csi; return nil }
            if byte == UInt8(ascii: "O") { escape = .ss3; return nil }
            if byte == Self.esc { return nil }
            escape = .none
            // ESC followed by a printable byte (Alt-x) is swallowed whole; a control byte still acts.
            if byte >= 0x20 { return nil }
        case .csi:
            if (0x20...0x3F).contains(byte) { return nil }
            escape = .none
            if (0x40...0x7E).contains(byte) { return nil }
            // A broken sequence: the byte that broke it (Enter, Ctrl-C) still acts.
        case .ss3:
            escape = .none
            if byte >= 0x20 { return nil }
        }

        switch byte {
        case Self.cr, Self.lf:
            lastLineEnd = byte
            echo.append(contentsOf: Self.newline)
            return finishLine()
        case 0x03:
            echo.append(contentsOf: [UInt8(ascii: "^"), UInt8(ascii: "C"), Self.cr, Self.lf])
            reset()
            return .problem(.cancelled)
        case 0x15:
            for _ in 0..<displayed { echo.append(contentsOf: Self.erase) }
            reset()
        case 0x08, 0x7F:
            backspace(echo: &echo)
        case Self.esc:
            escape = .started
        case 0x09:
            store(0x20, secret: secret, echo: &echo)
        case 0x00..<0x20:
            break
        default:
            store(byte, secret: secret, echo: &echo)
        }
        return nil
    }

    private mutating func store(_ byte: UInt8, secret: Bool, echo: inout [UInt8]) {
        guard !overflow else { return }
        guard buffer.count < maxLineBytes else {
            overflow = true
            return
        }
        buffer.append(byte)
        if byte < 0x80 {
            continuationsNeeded = 0
            shown(from: buffer.count - 1, secret: secret, echo: &echo)
        } else if byte < 0xC0 {
            // A continuation byte: completes a scalar, or is stray (the line will be invalid UTF-8).
            guard continuationsNeeded > 0 else { return }
            continuationsNeeded -= 1
            guard continuationsNeeded == 0 else { return }
            if buffer[scalarStart] == 0xC2 && byte < 0xA0 {
                // U+0080–U+009F are C1 control characters: dropped like C0 controls.
                buffer.removeLast(2)
                return
            }
            shown(from: scalarStart, secret: secret, echo: &echo)
        } else {
            scalarStart = buffer.count - 1
            continuationsNeeded = Self.continuations(afterLead: byte)
        }
    }

    private mutating func shown(from start: Int, secret: Bool, echo: inout [UInt8]) {
        displayed += 1
        let masked = secret || start >= (CommandLanguage.secretStart(in: buffer) ?? Int.max)
        Self.appendShown(buffer[start...], masked: masked, to: &echo)
    }

    private mutating func backspace(echo: inout [UInt8]) {
        guard !overflow, !buffer.isEmpty else { return }
        // The last unit as `redraw` parses the line: a lead with the continuations it announced, or
        // a single byte (ASCII, a stray continuation).
        var start = buffer.count - 1
        if Self.isContinuation(buffer[start]) {
            var lead = start
            while lead > 0, buffer.count - lead < 4, Self.isContinuation(buffer[lead]) { lead -= 1 }
            if !Self.isContinuation(buffer[lead]), Self.unitEnd(buffer, from: lead) == buffer.count { start = lead }
        }
        if Self.isComplete(buffer[start...]) {
            displayed -= 1
            echo.append(contentsOf: Self.erase)
        }
        buffer.removeSubrange(start...)
        resyncPartialScalar()
    }

    /// After a backspace the line may end inside a scalar again (its lead typed, a bad byte erased).
    private mutating func resyncPartialScalar() {
        continuationsNeeded = 0
        var i = buffer.count - 1
        var trailing = 0
        while i >= 0, trailing < 3, Self.isContinuation(buffer[i]) { i -= 1; trailing += 1 }
        guard i >= 0, buffer[i] >= 0xC0 else { return }
        let needed = Self.continuations(afterLead: buffer[i])
        if needed > trailing {
            scalarStart = i
            continuationsNeeded = needed - trailing
        }
    }

    private mutating func finishLine() -> Event {
        defer { reset() }
        if overflow { return .problem(.tooLong(limit: maxLineBytes)) }
        guard let line = String(validating: buffer, as: UTF8.self) else { return .problem(.invalidUTF8) }
        if line.unicodeScalars.contains(where: Self.isBidiControl) { return .problem(.bidiControl) }
        return .line(line)
    }

    private mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        overflow = false
        escape = .none
        continuationsNeeded = 0
        displayed = 0
    }

    private static func isContinuation(_ b: UInt8) -> Bool { b & 0xC0 == 0x80 }

    /// Continuation bytes a lead byte announces (0 for bytes that cannot start a scalar).
    private static func continuations(afterLead b: UInt8) -> Int {
        switch b {
        case 0xC2...0xDF: return 1
        case 0xE0...0xEF: return 2
        case 0xF0...0xF4: return 3
        default: return 0
        }
    }

    /// End of the unit starting at `i`: a byte and the continuation bytes its lead announces, if present.
    private static func unitEnd(_ bytes: [UInt8], from i: Int) -> Int {
        var end = i + 1
        var needed = continuations(afterLead: bytes[i])
        while needed > 0, end < bytes.count, isContinuation(bytes[end]) { end += 1; needed -= 1 }
        return end
    }

    /// Whether these bytes form one scalar the editor echoed (ASCII, or a lead with all its continuations).
    private static func isComplete(_ unit: ArraySlice<UInt8>) -> Bool {
        guard let lead = unit.first else { return false }
        if lead < 0x80 { return unit.count == 1 }
        let needed = continuations(afterLead: lead)
        return needed > 0 && unit.count == needed + 1 && unit.dropFirst().allSatisfy(isContinuation)
    }
}
