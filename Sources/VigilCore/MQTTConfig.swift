/// The MQTT Sparkplug B edge node (`mqtt:` in the plant file): which brokers, who the node is in the
/// Sparkplug namespace, how it reports, what a host may write, and what it shares with the fleet.
public struct MQTTConfig: Sendable, Hashable {
    /// MQTT protocol version spoken to the broker.
    public enum ProtocolVersion: String, Sendable, Hashable, CaseIterable {
        case v311 = "3.1.1", v5 = "5"
    }

    /// Broker URLs (`mqtt://host:port`, `mqtts://host:port`): the first is the primary, the rest are
    /// fallbacks tried in order when it cannot be reached.
    public var brokers: [String]
    /// MQTT client id (unique per broker); defaults to `vigil-<edge_node>`.
    public var clientID: String
    /// Sparkplug group id and edge node id: topics are `spBv1.0/<group>/<type>/<edge_node>[/<device>]`.
    public var groupID: String
    public var edgeNodeID: String
    public var protocolVersion: ProtocolVersion
    public var keepAliveSeconds: Int
    /// TLS files (required for `mqtts://` brokers): CA bundle, optional client certificate and key.
    public var tlsCAFile: String?
    public var tlsCertFile: String?
    public var tlsKeyFile: String?
    /// A file holding the broker username on its first line and the password on its second; never inline.
    public var credentialsFile: String?
    /// How often the controller's state is compared with what was last published (report by exception).
    public var publishIntervalMilliseconds: Int
    /// MQTT QoS of NDATA/DDATA (births and deaths follow the specification).
    public var dataQoS: Int
    /// Absolute deadband in engineering units for every sensor without its own (`deadbands:`).
    public var defaultDeadband: Double
    /// Per-sensor absolute deadbands by sensor id.
    public var deadbands: [String: Double]
    /// Outputs a Sparkplug host may write with DCMD; every other output refuses host writes.
    public var writableOutputs: [String]
    /// Most messages kept in the journal's outbox while no broker is reachable.
    public var outboxCapacity: Int
    /// Fleet learning: what this site shares and which fleet models it accepts (nil: none).
    public var fleet: FleetConfig?

    public init(brokers: [String], groupID: String, edgeNodeID: String, clientID: String? = nil,
                protocolVersion: ProtocolVersion = .v5, keepAliveSeconds: Int = 30, publishIntervalMilliseconds: Int = 100,
                dataQoS: Int = 1, defaultDeadband: Double = 0, deadbands: [String: Double] = [:], writableOutputs: [String] = [],
                outboxCapacity: Int = 100_000, fleet: FleetConfig? = nil) {
        self.brokers = brokers
        self.groupID = groupID
        self.edgeNodeID = edgeNodeID
        self.clientID = clientID ?? "vigil-" + edgeNodeID
        self.protocolVersion = protocolVersion
        self.keepAliveSeconds = keepAliveSeconds
        self.publishIntervalMilliseconds = publishIntervalMilliseconds
        self.dataQoS = dataQoS
        self.defaultDeadband = defaultDeadband
        self.deadbands = deadbands
        self.writableOutputs = writableOutputs
        self.outboxCapacity = outboxCapacity
        self.fleet = fleet
    }

    /// The deadband of a sensor.
    public func deadband(sensor id: String) -> Double { deadbands[id] ?? defaultDeadband }

    /// What is wrong with a Sparkplug id (group, edge node, device), or nil: the specification allows
    /// any UTF-8 but the MQTT topic separators and wildcards.
    public static func idProblem(_ id: String) -> String? {
        if id.isEmpty { return "an empty id" }
        if let bad = id.first(where: { $0 == "/" || $0 == "+" || $0 == "#" }) { return "an id containing '\(bad)'" }
        return nil
    }
}

/// Learning across sites (`mqtt.fleet:`).
public struct FleetConfig: Sendable, Hashable {
    /// This site's name in the fleet (defaults to the edge node id).
    public var site: String
    /// Publish operator feedback samples (features, verdict, model lineage) for the fleet learner.
    public var shareFeedback: Bool
    /// The fleet learner's Ed25519 public key (base64, 32 bytes); fleet models are accepted only
    /// when signed by it. Nil: fleet models are refused.
    public var modelKey: String?

    public init(site: String, shareFeedback: Bool = false, modelKey: String? = nil) {
        self.site = site
        self.shareFeedback = shareFeedback
        self.modelKey = modelKey
    }
}
