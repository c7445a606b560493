import Yams

/// Collects the diagnostics of one file and remembers where each key path sits, so checks that
/// run after decoding (references, duplicates) can still point at a line and column.
final class DiagnosticSink {
    let file: String
    private(set) var diagnostics: [ConfigDiagnostic] = []
    private var marks: [String: Mark] = [:]

    init(file: String) {
        self.file = file
    }

    var hasErrors: Bool { !diagnostics.isEmpty }

    func remember(_ path: String, _ mark: Mark?) {
        if let mark, marks[path] == nil { marks[path] = mark }
    }

    /// The position of `path`, or of its nearest remembered ancestor.
    func mark(of path: String) -> Mark? {
        var path = path
        while true {
            if let mark = marks[path] { return mark }
            guard let cut = path.lastIndex(where: { $0 == "." || $0 == "[" }) else { return nil }
            path = String(path[..<cut])
        }
    }

    func report(_ kind: ConfigDiagnostic.Kind, at mark: Mark?, _ path: String, found: String, expected: String) {
        diagnostics.append(ConfigDiagnostic(kind: kind, file: file, line: mark?.line, column: mark?.column,
                                            keyPath: path, found: found, expected: expected))
    }

    /// Reports at the remembered position of `path`.
    func report(_ kind: ConfigDiagnostic.Kind, _ path: String, found: String, expected: String) {
        report(kind, at: mark(of: path), path, found: found, expected: expected)
    }

    /// Where `path` is, as `line:column`, for messages that point back at a first occurrence.
    func position(of path: String) -> String {
        mark(of: path).map { "\($0.line):\($0.column)" } ?? "?"
    }
}

/// Key path helpers: `devices` + 2 → `devices[2]`, `devices[2]` + `port` → `devices[2].port`.
extension String {
    func key(_ name: String) -> String { isEmpty ? name : self + "." + name }
    func index(_ i: Int) -> String { self + "[\(i)]" }
}

/// How a node is shown in `found`: a scalar as its text (with its YAML tag, if it has one).
func describe(_ node: Node?) -> String {
    switch node {
    case nil: return "nothing"
    case .scalar(let scalar)?:
        guard let tag = explicitTag(scalar) else { return quoted(scalar.string) }
        return "\(quoted(scalar.string)) tagged \(tag) (YAML tags are not accepted: write the plain value)"
    case .mapping?: return "a mapping"
    case .sequence?: return "a list"
    case .alias?: return "an alias"
    }
}

/// How a mapping key is shown in `found` (its tag is not known any more, see `explicitTag`).
func describeKey(_ key: Node) -> String {
    if case .scalar(let scalar) = key { return quoted(scalar.string) + " as a key" }
    return describe(key) + " as a key"
}

/// A value's explicit YAML tag as written (`!!str`, `!foo`), nil for an untagged one. The parser
/// gives an untagged quoted scalar the string tag; on a quoted string an explicit `!!str` changes
/// nothing, so it passes as untagged. Not for mapping keys: checking a mapping for duplicate keys
/// resolves their tags (every untagged key becomes `!!str`).
func explicitTag(_ scalar: Node.Scalar) -> String? {
    let name = scalar.tag.description
    guard !name.isEmpty, scalar.style == .plain || name != Tag.Name.str.rawValue else { return nil }
    let core = "tag:yaml.org,2002:"
    return name.hasPrefix(core) ? "!!" + name.dropFirst(core.count) : name
}

func quoted(_ text: String) -> String {
    var escaped = ""
    for ch in text {
        switch ch {
        case "\"": escaped += "\\\""
        case "\\": escaped += "\\\\"
        case "\n": escaped += "\\n"
        case "\t": escaped += "\\t"
        default: escaped.append(ch)
        }
    }
    return "\"" + escaped + "\""
}

/// One YAML document as nodes. Vigil reads scalars with its own stricter rules (`ScalarValue`), so
/// no tag is resolved by pattern: Yams' default resolver would run a dozen regular expressions on
/// every mapping key hashed for the duplicate-key check.
func composeYAML(_ text: String) throws -> Node? {
    try Yams.compose(yaml: text, .basic)
}

/// Parses one YAML document; syntax errors become diagnostics with their line and column.
func parseDocument(_ text: String, sink: DiagnosticSink) -> Node? {
    do {
        guard let root = try composeYAML(text) else {
            sink.report(.wrongType, at: nil, "", found: "an empty document", expected: "a mapping of keys")
            return nil
        }
        return root
    } catch let error as YamlError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
             .composer(_, let problem, let mark, _):
            sink.report(.syntax, at: mark, "", found: "YAML syntax error \(quoted(problem))", expected: "well-formed YAML")
        case .duplicatedKeysInMapping(let duplicates, let context):
            sink.report(.duplicate, at: context.mark, "",
                        found: "duplicate key \(duplicates.map(quoted).joined(separator: ", ")) in one mapping",
                        expected: "each key once")
        case .reader(let problem, _, _, _):
            sink.report(.syntax, at: nil, "", found: "unreadable text (\(problem))", expected: "UTF-8 YAML")
        default:
            sink.report(.syntax, at: nil, "", found: "YAML error \(quoted(String(describing: error)))", expected: "well-formed YAML")
        }
    } catch {
        sink.report(.syntax, at: nil, "", found: "YAML error \(quoted(String(describing: error)))", expected: "well-formed YAML")
    }
    return nil
}
