/// One problem found in a board or plant file, with where it is and what was expected there.
public struct ConfigDiagnostic: Sendable, Hashable, CustomStringConvertible {
    /// The class of problem, for code that reacts to some of them.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case fileNotReadable, syntax, wrongType, missingKey, unknownKey, outOfRange
        case duplicate, overlap, unresolvedReference, inconsistent
    }

    public var kind: Kind
    /// The file as the caller named it (relative paths stay relative).
    public var file: String
    /// 1-based line, nil when the problem has no position (a missing file).
    public var line: Int?
    /// 1-based column (Unicode scalars), nil when `line` is nil.
    public var column: Int?
    /// Where in the document: `devices[2].port`, `sensors[4].range`; empty for the whole file.
    public var keyPath: String
    /// What the file holds there, already formatted: `"abc"`, `nothing`, `a list`.
    public var found: String
    /// What would have been accepted.
    public var expected: String

    public init(kind: Kind, file: String, line: Int?, column: Int?, keyPath: String, found: String, expected: String) {
        self.kind = kind
        self.file = file
        self.line = line
        self.column = column
        self.keyPath = keyPath
        self.found = found
        self.expected = expected
    }

    /// `configs/x.yaml:14:11: devices[2].port: found "abc", expected an integer in 1...65535`
    public var description: String {
        var text = file
        if let line { text += ":\(line):\(column ?? 1)" }
        text += ": "
        if !keyPath.isEmpty { text += keyPath + ": " }
        return text + "found \(found), expected \(expected)"
    }
}

/// Thrown by `ConfigLoader` when a file cannot be used; carries every problem found, not only the first.
public struct ConfigError: Error, Sendable, Hashable, CustomStringConvertible {
    public var diagnostics: [ConfigDiagnostic]

    public init(diagnostics: [ConfigDiagnostic]) {
        self.diagnostics = diagnostics
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
