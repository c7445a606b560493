/// The Prometheus exporter (`metrics:` in the plant file): off unless enabled, on loopback unless
/// remote scraping is allowed explicitly.
public struct MetricsConfig: Sendable, Hashable {
    public static let defaultListen = "127.0.0.1:9464"

    public var enabled: Bool
    public var listen: MetricsListenAddress
    /// A non-loopback `listen` address is refused without it.
    public var allowRemote: Bool
    /// The one path that answers (`/metrics`); every other path is 404.
    public var path: String

    public init(enabled: Bool = false, listen: MetricsListenAddress = MetricsListenAddress(host: "127.0.0.1", port: 9464),
                allowRemote: Bool = false, path: String = "/metrics") {
        self.enabled = enabled
        self.listen = listen
        self.allowRemote = allowRemote
        self.path = path
    }
}

/// An IP literal and a port: `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464` (127.0.0.1).
/// Host names other than `localhost` are refused: the exporter binds, it does not resolve.
public struct MetricsListenAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    public var isIPv6: Bool { host.contains(":") }

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Nil when `text` is not `IPV4:PORT`, `[IPV6]:PORT` or `localhost:PORT` with a port in 0...65535.
    public init?(parsing text: String) {
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
            guard Self.isIPv6(host) else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard host == "localhost" || Self.ipv4Octets(host) != nil else { return nil }
        }
        guard !portText.isEmpty, portText.allSatisfy(\.isASCII), portText.allSatisfy(\.isNumber),
              portText.count <= 5, let port = Int(portText), port <= 65_535 else { return nil }
        self.host = host == "localhost" ? "127.0.0.1" : String(host)
        self.port = UInt16(port)
    }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        if let octets = Self.ipv4Octets(Substring(host)) { return octets[0] == 127 }
        return Self.expandsToLoopback(host)
    }

    public var description: String { isIPv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

    static func ipv4Octets(_ text: Substring) -> [Int]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var octets: [Int] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(part), v <= 255 else { return nil }
            octets.append(v)
        }
        return octets
    }

    static func isIPv6(_ text: Substring) -> Bool {
        guard text.contains(":"), text.count <= 39 else { return false }
        let groups = text.split(separator: ":", omittingEmptySubsequences: false)
        guard (3...8).contains(groups.count) else { return false }
        let doubles = text.components(separatedByDoubleColon: ())
        guard doubles <= 1, doubles == 1 || groups.count == 8 else { return false }
        return groups.allSatisfy { $0.count <= 4 && $0.allSatisfy(\.isHexDigit) }
    }

    static func expandsToLoopback(_ text: String) -> Bool {
        guard isIPv6(Substring(text)) else { return false }
        let groups = text.split(separator: ":", omittingEmptySubsequences: true)
        return groups.count >= 1 && groups.dropLast().allSatisfy { Int($0, radix: 16) == 0 } && Int(groups.last!, radix: 16) == 1
    }
}

private extension Substring {
    /// How many times `::` occurs.
    func components(separatedByDoubleColon: Void) -> Int {
        var count = 0, previous: Character? = nil
        for c in self {
            if c == ":" && previous == ":" { count += 1; previous = nil } else { previous = c }
        }
        return count
    }
}
