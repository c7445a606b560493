/// Where a broker listens: `mqtt://host:port` (plain TCP, default 1883) or `mqtts://host:port`
/// (TLS, default 8883). IPv6 literals go in brackets: `mqtt://[::1]:1883`.
public struct MQTTBrokerAddress: Sendable, Hashable, CustomStringConvertible {
    public enum Scheme: String, Sendable, Hashable {
        case mqtt
        case mqtts

        public var defaultPort: Int { self == .mqtt ? 1883 : 8883 }
    }

    public var scheme: Scheme
    /// Host name or IP literal, without brackets.
    public var host: String
    public var port: Int

    public init(scheme: Scheme, host: String, port: Int? = nil) {
        self.scheme = scheme
        self.host = host
        self.port = port ?? scheme.defaultPort
    }

    public var usesTLS: Bool { scheme == .mqtts }

    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(scheme.rawValue)://\(h):\(port)"
    }

    /// Parses `mqtt://host[:port]` or `mqtts://host[:port]`; a trailing `/` is allowed.
    public init(parsing text: String) throws(MQTTAddressError) {
        let s = text.trimmingWhitespace()
        guard !s.isEmpty else { throw .empty }
        // Credentials belong in the credentials file; the text is not echoed, it may hold a password.
        if s.contains("@") { throw .credentialsInAddress }
        guard let colon = s.firstIndex(of: ":"), s[colon...].hasPrefix("://") else { throw .missingScheme(text: s) }
        let schemeText = String(s[..<colon]).lowercased()
        guard let scheme = Scheme(rawValue: schemeText) else { throw .unsupportedScheme(found: schemeText, text: s) }
        var rest = s[colon...].dropFirst(3)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        if rest.contains("/") || rest.contains("?") || rest.contains("#") { throw .unexpectedPath(text: s) }
        var host: Substring
        var portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .unclosedBracket(text: s) }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw .invalidPort(found: String(after), text: s) }
                portText = after.dropFirst()
            }
            guard host.contains(":") else { throw .invalidHost(found: String(host), text: s) }
        } else {
            let parts = rest.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw .invalidHost(found: String(rest), text: s) }  // IPv6 needs brackets
            host = parts[0]
            portText = parts.count == 2 ? parts[1] : nil
        }
        guard !host.isEmpty else { throw .missingHost(text: s) }
        var port = scheme.defaultPort
        if let portText {
            guard portText.allSatisfy({ $0.isASCII && $0.isNumber }), let p = Int(portText), (1...65_535).contains(p) else { throw .invalidPort(found: String(portText), text: s) }
            port = p
        }
        self.init(scheme: scheme, host: String(host), port: port)
    }
}

/// Why a broker address could not be parsed.
public enum MQTTAddressError: Error, Sendable, Hashable, CustomStringConvertible {
    case empty
    case missingScheme(text: String)
    case unsupportedScheme(found: String, text: String)
    case missingHost(text: String)
    case invalidHost(found: String, text: String)
    case invalidPort(found: String, text: String)
    case unclosedBracket(text: String)
    case unexpectedPath(text: String)
    /// `user:password@` in the address; the text is not repeated since it may hold a password.
    case credentialsInAddress

    public var description: String {
        switch self {
        case .empty: return "broker address is empty"
        case .missingScheme(let t): return "broker address '\(t)' has no scheme (expected mqtt:// or mqtts://)"
        case .unsupportedScheme(let f, let t): return "broker address '\(t)': scheme '\(f)' is not mqtt or mqtts"
        case .missingHost(let t): return "broker address '\(t)' has no host"
        case .invalidHost(let f, let t): return "broker address '\(t)': host '\(f)' is not valid (IPv6 literals go in brackets)"
        case .invalidPort(let f, let t): return "broker address '\(t)': port '\(f)' is not in 1...65535"
        case .unclosedBracket(let t): return "broker address '\(t)': '[' without ']'"
        case .unexpectedPath(let t): return "broker address '\(t)' has a path or query; expected only host and port"
        case .credentialsInAddress: return "broker address contains credentials (user@); put them in the credentials file"
        }
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s = s.dropFirst() }
        while let c = s.last, c.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
