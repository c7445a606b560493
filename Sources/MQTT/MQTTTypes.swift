import VigilCore

/// MQTT quality of service.
public enum MQTTQoS: Int, Sendable, Hashable, Comparable, CaseIterable {
    case atMostOnce = 0
    case atLeastOnce = 1
    case exactlyOnce = 2

    public static func < (a: MQTTQoS, b: MQTTQoS) -> Bool { a.rawValue < b.rawValue }
}

/// The MQTT protocol version a client speaks.
public enum MQTTProtocolVersion: String, Sendable, Hashable, CaseIterable {
    case v311 = "3.1.1"
    case v5 = "5"
}

/// The packet id the client gave a PUBLISH or SUBSCRIBE (1...65535; libmosquitto also numbers QoS 0).
public struct MQTTMessageID: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public var description: String { "mid \(rawValue)" }
}

/// A message received on a subscription.
public struct MQTTMessage: Sendable, Hashable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: MQTTQoS
    /// True when the broker sent it from its retained store (on subscribing), not live.
    public var retain: Bool

    public init(topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
    }
}

/// The last will: what the broker publishes when a connection ends without a clean DISCONNECT.
public struct MQTTWill: Sendable, Hashable {
    public var topic: String
    public var payload: [UInt8]
    public var qos: MQTTQoS
    public var retain: Bool

    public init(topic: String, payload: [UInt8], qos: MQTTQoS = .atLeastOnce, retain: Bool = false) {
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
    }
}

/// A user name and password. Its description never shows the password.
public struct MQTTCredentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    public var description: String { "\(username):<withheld>" }
    public var debugDescription: String { description }
}

/// TLS settings for `mqtts://` brokers.
public struct MQTTTLSOptions: Sendable, Hashable {
    /// PEM file of the CA(s) the broker's certificate must chain to; nil: the system's CAs.
    public var caFile: String?
    /// PEM client certificate and key, for brokers that require one (both or neither).
    public var certificateFile: String?
    public var keyFile: String?

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}

/// How a client connects. Sessions are always clean: each connection starts with no state.
public struct MQTTConnectOptions: Sendable, Hashable {
    public var clientID: String
    public var protocolVersion: MQTTProtocolVersion
    /// 0 turns keepalive off; otherwise at least 5 s (libmosquitto's minimum).
    public var keepAlive: Duration
    public var credentials: MQTTCredentials?
    /// Used when the broker address is `mqtts://`; ignored for `mqtt://`.
    public var tls: MQTTTLSOptions?
    /// A connection without CONNACK by then is given up as `.connectionRefused(reason: .timedOut)`.
    public var connectTimeout: Duration

    public init(clientID: String, protocolVersion: MQTTProtocolVersion = .v5, keepAlive: Duration = .seconds(30),
                credentials: MQTTCredentials? = nil, tls: MQTTTLSOptions? = nil, connectTimeout: Duration = .seconds(10)) {
        self.clientID = clientID
        self.protocolVersion = protocolVersion
        self.keepAlive = keepAlive
        self.credentials = credentials
        self.tls = tls
        self.connectTimeout = connectTimeout
    }
}

/// What a client reports to its owner.
public enum MQTTEvent: Sendable, Hashable {
    /// The broker accepted the connection; publish the birth certificate now.
    case connected(broker: MQTTBrokerAddress)
    /// The connection was never established.
    case connectionRefused(broker: MQTTBrokerAddress, reason: MQTTRefusal)
    /// An established connection ended.
    case disconnected(broker: MQTTBrokerAddress, reason: MQTTDisconnectReason)
    /// A message arrived on a subscription.
    case message(MQTTMessage)
    /// A publish was written (QoS 0) or acknowledged (QoS 1 and 2).
    case delivered(MQTTMessageID)
    /// The broker refused a publish (MQTT 5 reason code ≥ 0x80, e.g. 0x87 not authorised).
    case publishRefused(MQTTMessageID, reasonCode: UInt8)
    /// The broker answered a subscribe: one entry per filter, nil where it refused the filter.
    case subscribed(MQTTMessageID, granted: [MQTTQoS?])
}

/// Why a connection was not established.
public enum MQTTRefusal: Sendable, Hashable, CustomStringConvertible {
    /// Wrong user name or password (MQTT 3.1.1 code 4, MQTT 5 0x86).
    case badCredentials
    /// The broker does not let this client connect (3.1.1 code 5, MQTT 5 0x87), e.g. anonymous refused.
    case notAuthorized
    case unsupportedProtocolVersion
    case clientIDRejected
    case serverUnavailable
    /// No broker answered at the address (connection refused, no route, name not found).
    case unreachable(String)
    /// The TLS handshake failed (untrusted certificate, wrong host name, no TLS on the port).
    case tlsFailure(String)
    /// No CONNACK within the connect timeout.
    case timedOut
    /// Any other refusal, with the broker's reason code or libmosquitto's error text.
    case other(String)

    public var description: String {
        switch self {
        case .badCredentials: return "bad user name or password"
        case .notAuthorized: return "not authorised"
        case .unsupportedProtocolVersion: return "protocol version not supported by the broker"
        case .clientIDRejected: return "client id rejected"
        case .serverUnavailable: return "server unavailable"
        case .unreachable(let detail): return "broker unreachable: \(detail)"
        case .tlsFailure(let detail): return "TLS failure: \(detail)"
        case .timedOut: return "no answer within the connect timeout"
        case .other(let detail): return detail
        }
    }
}

/// Why an established connection ended.
public enum MQTTDisconnectReason: Sendable, Hashable, CustomStringConvertible {
    /// The owner called `disconnect`; `sentWill` when it asked the broker to publish the will.
    case requested(sentWill: Bool)
    /// The network or the broker went away (socket closed, keepalive expired, TLS error).
    case connectionLost(String)
    /// The broker sent an MQTT 5 DISCONNECT with this reason code (e.g. 0x8E session taken over).
    case brokerDisconnected(reasonCode: UInt8)

    /// True only for the owner's own `disconnect`.
    public var isExpected: Bool {
        if case .requested = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .requested(let will): return will ? "disconnected on request, will sent" : "disconnected on request"
        case .connectionLost(let detail): return "connection lost: \(detail)"
        case .brokerDisconnected(let code): return "broker disconnected (reason 0x\(String(code, radix: 16)))"
        }
    }
}

/// Why a client call was refused. Never contains a password.
public enum MQTTClientError: Error, Sendable, Hashable, CustomStringConvertible {
    /// No established connection (never connected, lost, or still connecting).
    case notConnected
    /// `connect` while a connection is being made or is up.
    case alreadyConnected
    /// The client was destroyed.
    case destroyed
    /// `connect`, `disconnect` or `destroy` from inside the event handler.
    case calledFromEventHandler
    /// Larger than MQTT allows, or than the broker's maximum packet size.
    case payloadTooLarge(bytes: Int)
    /// A topic (or filter, for subscribe) MQTT does not allow: empty, wildcards in a topic, bad `#`.
    case invalidTopic(String, reason: String)
    /// Options that cannot work (keepalive below 5 s, unreadable TLS file, client id too long...).
    case invalidOptions(String)
    /// The library refused a call for another reason; `detail` is its error text.
    case library(call: String, code: Int32, detail: String)

    public var description: String {
        switch self {
        case .notConnected: return "not connected to a broker"
        case .alreadyConnected: return "already connected or connecting"
        case .destroyed: return "the client was destroyed"
        case .calledFromEventHandler: return "connect, disconnect and destroy cannot be called from the event handler"
        case .payloadTooLarge(let n): return "payload of \(n) bytes is too large"
        case .invalidTopic(let t, let why): return "invalid topic '\(t)': \(why)"
        case .invalidOptions(let s): return "invalid MQTT options: \(s)"
        case .library(let call, let code, let detail): return "\(call) failed: \(detail) (\(code))"
        }
    }
}
