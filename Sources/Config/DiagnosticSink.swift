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

/// How a node is shown in `found`.
func describe(_ node: Node?) -> String {
    switch node {
    case nil: return "nothing"
    case .scalar(let scalar)?: return quoted(scalar.string)
    case .mapping?: return "a mapping"
    case .sequence?: return "a list"
    case .alias?: return "an alias"
    }
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

/// Parses one YAML document; syntax errors become diagnostics with their line and column.
func parseDocument(_ text: String, sink: DiagnosticSink) -> Node? {
    do {
        guard let root = try Yams.compose(yaml: text) else {
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
