import VigilCore

/// The fleet's MQTT topics, outside the Sparkplug namespace (docs/FLEET.md):
/// `vigil/fleet/<group>/feedback/<site>` (feedback samples, QoS 1, not retained),
/// `vigil/fleet/<group>/models` (the latest signed envelope, QoS 1, retained) and
/// `vigil/fleet/<group>/verdicts/<site>` (each site's verdict report, QoS 1, retained).
public enum FleetTopics {
    public static let root = "vigil/fleet"

    public static func feedback(group: String, site: String) -> String { "\(root)/\(group)/feedback/\(site)" }
    public static func models(group: String) -> String { "\(root)/\(group)/models" }
    public static func verdicts(group: String, site: String) -> String { "\(root)/\(group)/verdicts/\(site)" }
    /// Every site's feedback.
    public static func feedbackFilter(group: String) -> String { "\(root)/\(group)/feedback/+" }
    /// Every site's verdict.
    public static func verdictsFilter(group: String) -> String { "\(root)/\(group)/verdicts/+" }

    /// The site of a feedback or verdict topic of `group` (nil: another topic).
    public static func site(of topic: String, group: String, kind: String) -> String? {
        let prefix = "\(root)/\(group)/\(kind)/"
        guard topic.hasPrefix(prefix) else { return nil }
        let site = String(topic.dropFirst(prefix.count))
        return MQTTConfig.idProblem(site) == nil ? site : nil
    }

    /// What is wrong with a group or site id as a topic level, or nil.
    public static func idProblem(_ id: String) -> String? { MQTTConfig.idProblem(id) }
}
