#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A GPIO failure, with the chip, line and board file it concerns.
///
/// `description` reads like `gpiochip9: no such GPIO chip (line GPIO17 of board boards/raspberry-pi-4.yaml)`.
public struct GPIOError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, for code that acts on it.
    public enum Kind: Sendable, Hashable {
        /// No such chip device (ENOENT/ENODEV/ENOTTY on open).
        case noSuchChip
        /// No such line: an offset beyond the chip, or a line name missing from the board file.
        case noSuchLine
        /// The line is already requested (EBUSY), by Vigil or another process.
        case busy
        /// No access to the chip device (EACCES/EPERM).
        case permissionDenied
        /// The kernel or line cannot do what was asked (EOPNOTSUPP, bias on an old kernel, edges not requested).
        case unsupported
        /// The chip's kernel label is not the one the board file expects: probably the wrong board file.
        case wrongChip(expectedLabel: String, foundLabel: String)
        /// The line was released.
        case released
        /// Any other errno.
        case io(errno: Int32)
    }

    public var kind: Kind
    /// Chip name or path, nil when the line name is not in the board file.
    public var chip: String?
    /// Board-wide line name (`GPIO17`), when known.
    public var line: String?
    public var offset: Int?
    /// Board file the line came from, when known.
    public var boardFile: String?

    public init(_ kind: Kind, chip: String?, line: String? = nil, offset: Int? = nil, boardFile: String? = nil) {
        self.kind = kind
        self.chip = chip
        self.line = line
        self.offset = offset
        self.boardFile = boardFile
    }

    /// Builds the error for a negative errno returned by the shim.
    /// `opening` says the errno came from opening the chip (ENOENT then means no such chip).
    public init(errno negativeOrPositive: Int32, opening: Bool = false, chip: String?, line: String? = nil, offset: Int? = nil,
                boardFile: String? = nil) {
        self.init(Self.kind(forErrno: negativeOrPositive < 0 ? -negativeOrPositive : negativeOrPositive, opening: opening),
                  chip: chip, line: line, offset: offset, boardFile: boardFile)
    }

    /// The kind for an errno from libgpiod; `opening` tells a chip open from a line request.
    static func kind(forErrno e: Int32, opening: Bool) -> Kind {
        switch e {
        // ENOTTY/ENODEV: the path exists but is not a GPIO character device.
        case ENOENT, ENODEV, ENOTTY: return opening ? .noSuchChip : .io(errno: e)
        case ERANGE: return .noSuchLine // the shim's "offset beyond the chip"
        case EBUSY: return .busy
        case EPERM, EACCES: return .permissionDenied
        case EOPNOTSUPP, EINVAL: return .unsupported
        default: return .io(errno: e)
        }
    }

    /// Returns a copy with the board context filled in where it is missing.
    public func adding(line: String? = nil, offset: Int? = nil, boardFile: String? = nil) -> GPIOError {
        var copy = self
        if copy.line == nil { copy.line = line }
        if copy.offset == nil { copy.offset = offset }
        if copy.boardFile == nil { copy.boardFile = boardFile }
        return copy
    }

    public var description: String {
        let what: String
        switch kind {
        case .noSuchChip: what = "no such GPIO chip"
        case .noSuchLine:
            if chip == nil { what = "no such GPIO line in the board file" }
            else if let offset { what = "no GPIO line at offset \(offset)" }
            else { what = "no such GPIO line" }
        case .busy: what = "GPIO line is busy (requested by another user)"
        case .permissionDenied: what = "permission denied (is the user in the gpio group?)"
        case .unsupported: what = "not supported by this GPIO chip or kernel"
        case .wrongChip(let expected, let found): what = "chip label is \"\(found)\", the board file expects \"\(expected)\""
        case .released: what = "GPIO line was released"
        case .io(let e): what = "GPIO I/O error (errno \(e))"
        }
        var context: [String] = []
        if chip != nil {
            if let line { context.append("line \(line)") } else if let offset { context.append("line offset \(offset)") }
        }
        if let boardFile { context.append("of board \(boardFile)") }
        let subject = chip ?? line ?? "GPIO"
        return context.isEmpty ? "\(subject): \(what)" : "\(subject): \(what) (\(context.joined(separator: " ")))"
    }
}
