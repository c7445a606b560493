import MQTT

/// Messages outside the Sparkplug namespace on the edge node's one connection (the fleet link):
/// `EdgeNodeCore` subscribes to its filters on every connection, hands it the messages on other
/// topics than `spBv1.0/…`, the outcome of every publish and the connection's changes, and calls
/// `step` once a pass. Everything is called on the edge node's thread.
public protocol EdgeSideChannel: AnyObject {
    /// Filters subscribed to (QoS 1) on every connection.
    var subscriptions: [String] { get }
    /// The connection came up, or went (what was in flight will not be acknowledged).
    func connectionChanged(connected: Bool)
    func received(_ message: MQTTMessage)
    /// A publish finished: acknowledged, or refused by the broker. Every message id is offered.
    func finished(_ mid: MQTTMessageID, acknowledged: Bool)
    /// Once a pass, after the Sparkplug messages; publish through `core.publishOutsideSparkplug`.
    func step(_ core: EdgeNodeCore, nowNanoseconds: UInt64)
}
