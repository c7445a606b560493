import Yams

/// Reads the keys of one YAML mapping, reporting unknown keys, missing keys and wrong types to a sink.
/// Every accessor returns nil after reporting, so decoding goes on and collects all problems.
struct MappingReader {
    let path: String
    let mark: Mark?
    let sink: DiagnosticSink
    private var values: [String: Node] = [:]

    /// Nil (after a diagnostic) unless `node` is a mapping; keys outside `allowed` are reported.
    init?(_ node: Node?, path: String, allowed: [String], sink: DiagnosticSink) {
        self.path = path
        self.sink = sink
        guard case .mapping(let mapping)? = node else {
            sink.report(.wrongType, at: node?.mark, path, found: describe(node), expected: "a mapping")
            return nil
        }
        mark = mapping.mark
        sink.remember(path, mapping.mark)
        for (key, value) in mapping {
            guard case .scalar(let scalar) = key else {
                sink.report(.unknownKey, at: key.mark, path, found: describeKey(key),
                            expected: "one of " + allowed.joined(separator: ", "))
                continue
            }
            let name = scalar.string
            guard allowed.contains(name) else {
                sink.report(.unknownKey, at: key.mark, path.key(name), found: "unknown key \(quoted(name))",
                            expected: "one of " + allowed.joined(separator: ", "))
                continue
            }
            values[name] = value
            sink.remember(path.key(name), value.mark)
        }
    }

    func has(_ key: String) -> Bool { values[key] != nil }

    /// The raw node, reporting a missing key when `required`.
    func node(_ key: String, required: Bool = false, expected: String) -> Node? {
        if let node = values[key] { return node }
        if required { sink.report(.missingKey, at: mark, path.key(key), found: "nothing", expected: expected) }
        return nil
    }

    func wrong(_ key: String, _ node: Node, expected: String, kind: ConfigDiagnostic.Kind = .wrongType) {
        sink.report(kind, at: node.mark, path.key(key), found: describe(node), expected: expected)
    }

    /// A value of the wrong type; a quoted `"1"` is called out, since it looks like the number it is not.
    func wrongType(_ key: String, _ node: Node, expected: String) {
        var found = describe(node)
        if case .scalar(let scalar) = node, scalar.style != .plain { found = "the quoted string " + found }
        sink.report(.wrongType, at: node.mark, path.key(key), found: found, expected: expected)
    }

    func string(_ key: String, required: Bool = false, expected: String = "a string") -> String? {
        guard let node = node(key, required: required, expected: expected) else { return nil }
        guard let text = ScalarValue.string(node), !text.isEmpty else {
            wrong(key, node, expected: expected)
            return nil
        }
        return text
    }

    func int(_ key: String, in range: ClosedRange<Int>, required: Bool = false) -> Int? {
        let expected = range.upperBound == Int.max ? "an integer ≥ \(range.lowerBound)"
                                                   : "an integer in \(range.lowerBound)...\(range.upperBound)"
        return int(key, required: required, expected: expected) { range.contains($0) }
    }

    /// An integer accepted by `isValid`; `expected` describes the accepted values.
    func int(_ key: String, required: Bool = false, expected: String, isValid: (Int) -> Bool) -> Int? {
        scalar(key, required: required, expected: expected, parse: ScalarValue.int, isValid: isValid)
    }

    func double(_ key: String, required: Bool = false, expected: String = "a number",
                isValid: (Double) -> Bool = { _ in true }) -> Double? {
        scalar(key, required: required, expected: expected, parse: ScalarValue.double, isValid: isValid)
    }

    /// A scalar parsed by `parse` (else a wrong-type diagnostic) and accepted by `isValid`
    /// (else out of range).
    private func scalar<T>(_ key: String, required: Bool, expected: String, parse: (Node) -> T?, isValid: (T) -> Bool) -> T? {
        guard let node = node(key, required: required, expected: expected) else { return nil }
        guard let value = parse(node) else {
            wrongType(key, node, expected: expected)
            return nil
        }
        guard isValid(value) else {
            wrong(key, node, expected: expected, kind: .outOfRange)
            return nil
        }
        return value
    }

    func bool(_ key: String, required: Bool = false) -> Bool? {
        guard let node = node(key, required: required, expected: "true or false") else { return nil }
        guard let value = ScalarValue.bool(node) else {
            wrongType(key, node, expected: "true or false")
            return nil
        }
        return value
    }

    /// One of a fixed set of words, listed in the diagnostic.
    func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type, required: Bool = false) -> E?
    where E.RawValue == String {
        let expected = "one of " + E.allCases.map(\.rawValue).joined(separator: ", ")
        guard let node = node(key, required: required, expected: expected) else { return nil }
        guard let text = ScalarValue.string(node), let value = E(rawValue: text) else {
            wrong(key, node, expected: expected)
            return nil
        }
        return value
    }

    /// The elements of a list with their key paths; nil (after a diagnostic) if the value is not a list.
    func list(_ key: String, required: Bool = false, expected: String = "a list") -> [(node: Node, path: String)]? {
        guard let node = node(key, required: required, expected: expected) else { return nil }
        guard case .sequence(let sequence) = node else {
            wrong(key, node, expected: expected)
            return nil
        }
        return sequence.enumerated().map { i, element in
            sink.remember(path.key(key).index(i), element.mark)
            return (element, path.key(key).index(i))
        }
    }

    /// A list of strings (ids), each remembered with its position.
    func stringList(_ key: String, required: Bool = false, expected: String) -> [String]? {
        guard let items = list(key, required: required, expected: "a list of \(expected)") else { return nil }
        var result: [String] = []
        for item in items {
            guard let text = ScalarValue.string(item.node) else {
                sink.report(.wrongType, at: item.node.mark, item.path, found: describe(item.node), expected: expected)
                continue
            }
            result.append(text)
        }
        return result
    }
}

/// Scalar conversions with YAML 1.2 core-schema rules, stricter than Yams' own:
/// a quoted "15" is a string, not a number, and `yes` is not a boolean. A tagged scalar (`!!str 15`,
/// `!foo 3`) is none of them: a tag would change the type behind the reader's back.
enum ScalarValue {
    static func plain(_ node: Node) -> String? {
        guard case .scalar(let scalar) = node, scalar.style == .plain, explicitTag(scalar) == nil else { return nil }
        return scalar.string
    }

    /// Any untagged scalar except null (`~`, `null`, empty).
    static func string(_ node: Node) -> String? {
        guard case .scalar(let scalar) = node, explicitTag(scalar) == nil else { return nil }
        return key(node)
    }

    /// A mapping key: any scalar except null (its tag is not known any more, see `explicitTag`).
    static func key(_ node: Node) -> String? {
        guard case .scalar(let scalar) = node else { return nil }
        if scalar.style == .plain, ["", "~", "null", "Null", "NULL"].contains(scalar.string) { return nil }
        return scalar.string
    }

    /// Decimal, or hexadecimal with `0x` (handy for register addresses).
    static func int(_ node: Node) -> Int? {
        guard var text = plain(node) else { return nil }
        text = text.filter { $0 != "_" }
        if text.hasPrefix("0x") || text.hasPrefix("0X") { return Int(text.dropFirst(2), radix: 16) }
        return Int(text)
    }

    static func double(_ node: Node) -> Double? {
        guard let text = plain(node), let value = Double(text), value.isFinite,
              text.first.map({ $0.isNumber || $0 == "-" || $0 == "+" || $0 == "." }) == true else { return nil }
        return value
    }

    static func bool(_ node: Node) -> Bool? {
        switch plain(node) {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        default: return nil
        }
    }
}
