import VigilCore
import Yams

/// The `metrics:` section: the Prometheus exporter. Every key is optional; a non-loopback `listen`
/// address is refused unless `allow_remote: true`.
extension PlantDecoder {
    static let metricsKeys = ["enabled", "listen", "allow_remote", "path"]
    static let metricsListenExpected = "IPV4:PORT, [IPV6]:PORT or localhost:PORT (an IP literal, port 0...65535)"

    static func decodeMetrics(_ node: Node?, path: String, sink: DiagnosticSink) -> MetricsConfig {
        var metrics = MetricsConfig()
        guard let map = MappingReader(node, path: path, allowed: metricsKeys, sink: sink) else { return metrics }
        if let enabled = map.bool("enabled") { metrics.enabled = enabled }
        if let remote = map.bool("allow_remote") { metrics.allowRemote = remote }
        if let text = map.string("listen", expected: metricsListenExpected) {
            if let address = MetricsListenAddress(parsing: text) {
                if address.isLoopback || metrics.allowRemote {
                    metrics.listen = address
                } else {
                    map.wrong("listen", map.node("listen", expected: "")!,
                              expected: "a loopback address (127.0.0.0/8 or [::1]): metrics are served off the plant network unless allow_remote: true",
                              kind: .outOfRange)
                }
            } else {
                map.wrong("listen", map.node("listen", expected: "")!, expected: metricsListenExpected, kind: .outOfRange)
            }
        }
        if let p = map.string("path", expected: "an absolute URL path such as /metrics") {
            if p.hasPrefix("/"), p.count <= 128, !p.contains("?"), !p.contains("#"), !p.contains(" ") {
                metrics.path = p
            } else {
                map.wrong("path", map.node("path", expected: "")!, expected: "an absolute URL path such as /metrics (no query, no spaces)",
                          kind: .outOfRange)
            }
        }
        return metrics
    }
}
