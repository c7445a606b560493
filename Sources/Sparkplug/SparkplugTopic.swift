/// The message types of the Sparkplug B topic namespace (specification 4.1.2).
public enum SparkplugMessageType: String, Sendable, Hashable, CaseIterable {
    case nbirth = "NBIRTH", ndeath = "NDEATH", dbirth = "DBIRTH", ddeath = "DDEATH"
    case ndata = "NDATA", ddata = "DDATA", ncmd = "NCMD", dcmd = "DCMD"
    /// A host application's online state (`spBv1.0/STATE/<host id>`).
    case state = "STATE"

    /// Whether the topic of this type names a device.
    public var isDeviceMessage: Bool {
        switch self {
        case .dbirth, .ddeath, .ddata, .dcmd: return true
        case .nbirth, .ndeath, .ndata, .ncmd, .state: return false
        }
    }
}

/// Why a topic or an id was refused.
public enum SparkplugTopicError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The first level is not `spBv1.0`.
    case wrongNamespace(topic: String)
    /// The message type level is none of NBIRTH … DCMD (or STATE).
    case unknownMessageType(topic: String, found: String)
    /// The topic has the wrong number of levels for its message type.
    case wrongLevelCount(topic: String, expected: Int, found: Int)
    /// An id (group, edge node, device, host) is empty or holds `/`, `+` or `#`.
    case invalidID(role: String, id: String)
    /// A device message type without a device id, or a node message type with one.
    case deviceMismatch(SparkplugMessageType, deviceID: String?)

    public var description: String {
        switch self {
        case .wrongNamespace(let topic): return "'\(topic)' is not in the spBv1.0 namespace"
        case .unknownMessageType(let topic, let found): return "'\(topic)': unknown message type '\(found)'"
        case .wrongLevelCount(let topic, let expected, let found): return "'\(topic)' has \(found) levels, \(expected) expected"
        case .invalidID(let role, let id): return "invalid \(role) id '\(id)': empty, or holds '/', '+' or '#'"
        case .deviceMismatch(let type, let device):
            return device == nil ? "\(type.rawValue) needs a device id" : "\(type.rawValue) takes no device id"
        }
    }
}

/// A topic of the Sparkplug B namespace: `spBv1.0/<group>/<type>/<edge node>[/<device>]`, or
/// `spBv1.0/STATE/<host id>`. Every id in it is valid (non-empty, no `/ + #`).
public struct SparkplugTopic: Sendable, Hashable, CustomStringConvertible {
    public static let namespace = "spBv1.0"

    public let messageType: SparkplugMessageType
    /// The group id; nil for STATE.
    public let groupID: String?
    /// The edge node id; nil for STATE.
    public let edgeNodeID: String?
    /// The device id of DBIRTH, DDEATH, DDATA and DCMD; nil otherwise.
    public let deviceID: String?
    /// The host application id of STATE; nil otherwise.
    public let hostID: String?

    /// An edge node or device topic; `device` is required for device message types and refused for node ones.
    public init(_ type: SparkplugMessageType, group: String, edgeNode: String, device: String? = nil) throws(SparkplugTopicError) {
        guard type != .state else { throw .deviceMismatch(type, deviceID: device) }
        guard type.isDeviceMessage == (device != nil) else { throw .deviceMismatch(type, deviceID: device) }
        try Self.validate(group, role: "group")
        try Self.validate(edgeNode, role: "edge node")
        if let device { try Self.validate(device, role: "device") }
        messageType = type
        groupID = group
        edgeNodeID = edgeNode
        deviceID = device
        hostID = nil
    }

    /// A host application's STATE topic.
    public static func state(hostID: String) throws(SparkplugTopicError) -> SparkplugTopic {
        try validate(hostID, role: "host")
        return SparkplugTopic(state: hostID)
    }

    private init(state host: String) {
        messageType = .state
        groupID = nil
        edgeNodeID = nil
        deviceID = nil
        hostID = host
    }

    /// Parses a topic string.
    public init(parsing topic: String) throws(SparkplugTopicError) {
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard levels.first == Self.namespace else { throw .wrongNamespace(topic: topic) }
        guard levels.count >= 3 else { throw .wrongLevelCount(topic: topic, expected: 4, found: levels.count) }
        if levels[1] == SparkplugMessageType.state.rawValue {
            guard levels.count == 3 else { throw .wrongLevelCount(topic: topic, expected: 3, found: levels.count) }
            try Self.validate(levels[2], role: "host")
            self.init(state: levels[2])
            return
        }
        guard let type = SparkplugMessageType(rawValue: levels[2]), type != .state else {
            throw .unknownMessageType(topic: topic, found: levels[2])
        }
        let expected = type.isDeviceMessage ? 5 : 4
        guard levels.count == expected else { throw .wrongLevelCount(topic: topic, expected: expected, found: levels.count) }
        try self.init(type, group: levels[1], edgeNode: levels[3], device: type.isDeviceMessage ? levels[4] : nil)
    }

    /// The topic as published.
    public var string: String {
        if messageType == .state { return "\(Self.namespace)/STATE/\(hostID ?? "")" }
        var s = "\(Self.namespace)/\(groupID ?? "")/\(messageType.rawValue)/\(edgeNodeID ?? "")"
        if let deviceID { s += "/\(deviceID)" }
        return s
    }

    public var description: String { string }

    /// Whether `id` may be a group, edge node, device or host id: non-empty, without `/`, `+` or `#`.
    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && !id.utf8.contains { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "#") }
    }

    /// Throws `invalidID` unless `isValidID(id)`.
    public static func validate(_ id: String, role: String) throws(SparkplugTopicError) {
        guard isValidID(id) else { throw .invalidID(role: role, id: id) }
    }
}
