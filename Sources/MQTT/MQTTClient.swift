import VigilCore

/// An MQTT connection as the edge node sees it: connect to one broker, publish, subscribe, disconnect.
///
/// Every call returns at once; what happens on the network arrives later as `MQTTEvent`s through the
/// closure given to the backend. A client holds at most one connection; after it ends (refused, lost,
/// disconnected) `connect(to:will:)` opens a new one with a new, empty session: nothing queued in an
/// earlier connection is ever sent again. The caller owns store-and-forward and republishes its
/// birth certificate after every `connected` event.
public protocol MQTTClient: AnyObject, Sendable {
    /// Starts connecting to `broker`, with `will` as this connection's last will (or none).
    ///
    /// The outcome arrives as `.connected` or `.connectionRefused`. Throws for misuse (already
    /// connected or connecting, destroyed, bad options), never for the network.
    func connect(to broker: MQTTBrokerAddress, will: MQTTWill?) throws(MQTTClientError)

    /// Queues a message and returns its id; `.delivered` with that id follows once it is written
    /// (QoS 0) or acknowledged (QoS 1 and 2). Never waits for the network.
    ///
    /// The `.delivered` event may arrive before this call returns to the caller.
    func publish(topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool) throws(MQTTClientError) -> MQTTMessageID

    /// Subscribes to `filter` (`+` and `#` wildcards); `.subscribed` follows with the granted QoS.
    func subscribe(to filter: String, qos: MQTTQoS) throws(MQTTClientError) -> MQTTMessageID

    /// Ends the connection. Plain: a clean DISCONNECT, the broker discards the will. `sendingWill`:
    /// the broker publishes the will (MQTT 5 reason 0x04; on 3.1.1 the socket is closed without a
    /// DISCONNECT), for tests and abrupt exits. `.disconnected(reason: .requested)` follows.
    func disconnect(sendingWill: Bool) throws(MQTTClientError)

    /// Ends any connection (cleanly) and releases everything; no event is delivered after it returns.
    func destroy()
}

/// The closure a backend delivers its events to.
///
/// It is called on the backend's network thread (one at a time per client) and must not block:
/// hand the event to a queue and return. It may call `publish`, `subscribe` and `disconnect`;
/// `connect` throws `.calledFromEventHandler` there (it joins the previous network thread), and
/// `destroy` there finishes releasing on another thread.
public typealias MQTTEventHandler = @Sendable (MQTTEvent) -> Void
