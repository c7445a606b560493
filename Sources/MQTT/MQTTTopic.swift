import VigilCore

/// MQTT topic names and filters (MQTT 3.1.1 §4.7): validation and wildcard matching. Pure.
public enum MQTTTopic {
    /// Why `topic` cannot be published to, or nil when it can.
    public static func problem(withTopicName topic: String) -> String? {
        if topic.isEmpty { return "empty" }
        if topic.utf8.count > 65_535 { return "longer than 65535 bytes" }
        if topic.contains("+") || topic.contains("#") { return "wildcards are for subscriptions only" }
        if topic.contains("\u{0}") { return "contains NUL" }
        return nil
    }

    /// Why `filter` cannot be subscribed to, or nil when it can.
    public static func problem(withFilter filter: String) -> String? {
        if filter.isEmpty { return "empty" }
        if filter.utf8.count > 65_535 { return "longer than 65535 bytes" }
        if filter.contains("\u{0}") { return "contains NUL" }
        let levels = filter.split(separator: "/", omittingEmptySubsequences: false)
        for (i, level) in levels.enumerated() {
            if level.contains("#") && (level != "#" || i != levels.count - 1) {
                return "'#' must be a whole level and the last one"
            }
            if level.contains("+") && level != "+" { return "'+' must be a whole level" }
        }
        return nil
    }

    /// True when a message on `topic` is delivered to a subscription on `filter`.
    /// Wildcards at the first level do not match topics that begin with `$`.
    public static func matches(filter: String, topic: String) -> Bool {
        let f = filter.split(separator: "/", omittingEmptySubsequences: false)
        let t = topic.split(separator: "/", omittingEmptySubsequences: false)
        if topic.hasPrefix("$"), let first = f.first, first == "+" || first == "#" { return false }
        var i = 0
        while i < f.count {
            if f[i] == "#" { return true }  // also matches the parent level ("a/#" matches "a")
            guard i < t.count else { return false }
            if f[i] != "+" && f[i] != t[i] { return false }
            i += 1
        }
        return i == t.count
    }
}
