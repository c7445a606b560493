import VigilCore
import Synchronization

/// A broker in memory, for deterministic tests of what sits above `MQTTClient`.
///
/// What it models: clean sessions only; subscriptions with `+`/`#` (MQTT 3.1.1 matching); retained
/// messages (an empty retained payload deletes); the will published when a client ends without a
/// clean disconnect (`disconnect(sendingWill: true)`, `dropConnection`) and not on a clean one; QoS
/// downgraded to the subscription's; optional user names and passwords; taking the broker down
/// (every client disconnected, no wills, retained messages lost as with Mosquitto without
/// persistence) and up again. What it does not: network timing, in-flight windows, QoS 2 flows,
/// MQTT 5 properties. Every event is delivered synchronously on the thread that caused it, after
/// the broker's lock is released.
public final class InMemoryBroker: @unchecked Sendable {
    struct Session {
        let client: InMemoryMQTTClient
        var subscriptions: [(filter: String, qos: MQTTQoS)]
        var will: MQTTWill?
    }

    struct State {
        var isUp = true
        var sessions: [ObjectIdentifier: Session] = [:]
        var retained: [String: MQTTMessage] = [:]
        var published = 0
    }

    /// User names and passwords it accepts; nil: anyone may connect.
    public let users: [String: String]?
    private let state = Mutex(State())

    public init(users: [String: String]? = nil) {
        self.users = users
    }

    public var isUp: Bool { state.withLock { $0.isUp } }

    /// Client ids connected now, sorted.
    public var connectedClientIDs: [String] {
        state.withLock { s in s.sessions.values.map { $0.client.options.clientID }.sorted() }
    }

    /// The retained message on `topic`, if any.
    public func retainedMessage(on topic: String) -> MQTTMessage? {
        state.withLock { $0.retained[topic] }
    }

    /// Messages accepted from publishers (wills included) since the broker was created.
    public var publishedCount: Int { state.withLock { $0.published } }

    /// Stops the broker: every client gets `.disconnected(.connectionLost)`; wills are not sent,
    /// retained messages are lost. Connections are refused as unreachable until `bringUp()`.
    public func takeDown() {
        let dropped = state.withLock { s -> [InMemoryMQTTClient] in
            s.isUp = false
            s.retained = [:]
            let clients = s.sessions.values.map(\.client)
            s.sessions = [:]
            return clients
        }
        for client in dropped { client.connectionLost("broker went down") }
    }

    public func bringUp() {
        state.withLock { $0.isUp = true }
    }

    /// Cuts one client's connection as a network failure would: its will is published.
    public func dropConnection(clientID: String) {
        let (dropped, deliveries) = state.withLock { s -> ([InMemoryMQTTClient], [(InMemoryMQTTClient, MQTTEvent)]) in
            let gone = s.sessions.filter { $0.value.client.options.clientID == clientID }
            var deliveries: [(InMemoryMQTTClient, MQTTEvent)] = []
            for (key, session) in gone {
                s.sessions[key] = nil
                if let will = session.will { deliveries += Self.route(willMessage(will), in: &s) }
            }
            return (gone.values.map(\.client), deliveries)
        }
        for client in dropped { client.connectionLost("connection dropped") }
        for (client, event) in deliveries { client.receive(event) }
    }

    // MARK: Client side

    func connect(_ client: InMemoryMQTTClient, will: MQTTWill?) -> MQTTRefusal? {
        let (refusal, takenOver, deliveries) = state.withLock { s -> (MQTTRefusal?, [InMemoryMQTTClient], [(InMemoryMQTTClient, MQTTEvent)]) in
            guard s.isUp else { return (.unreachable("broker is down"), [], []) }
            if let users {
                guard let c = client.options.credentials else { return (.notAuthorized, [], []) }
                guard users[c.username] == c.password else { return (.badCredentials, [], []) }
            }
            // A second connection with the same client id takes over: the old one is closed, its will sent.
            var old: [InMemoryMQTTClient] = []
            var deliveries: [(InMemoryMQTTClient, MQTTEvent)] = []
            for (key, session) in s.sessions where session.client.options.clientID == client.options.clientID {
                s.sessions[key] = nil
                old.append(session.client)
                if let w = session.will { deliveries += Self.route(willMessage(w), in: &s) }
            }
            s.sessions[ObjectIdentifier(client)] = Session(client: client, subscriptions: [], will: will)
            return (nil, old, deliveries)
        }
        for c in takenOver { c.lost(.brokerDisconnected(reasonCode: 0x8E)) }
        for (c, event) in deliveries { c.receive(event) }
        return refusal
    }

    func publish(from client: InMemoryMQTTClient, _ message: MQTTMessage) -> Bool {
        let deliveries = state.withLock { s -> [(InMemoryMQTTClient, MQTTEvent)]? in
            guard s.isUp, s.sessions[ObjectIdentifier(client)] != nil else { return nil }
            return Self.route(message, in: &s)
        }
        guard let deliveries else { return false }
        for (c, event) in deliveries { c.receive(event) }
        return true
    }

    func subscribe(_ client: InMemoryMQTTClient, filter: String, qos: MQTTQoS) -> [MQTTMessage]? {
        state.withLock { s -> [MQTTMessage]? in
            let key = ObjectIdentifier(client)
            guard s.isUp, s.sessions[key] != nil else { return nil }
            s.sessions[key]!.subscriptions.removeAll { $0.filter == filter }
            s.sessions[key]!.subscriptions.append((filter, qos))
            return s.retained.values
                .filter { MQTTTopic.matches(filter: filter, topic: $0.topic) }
                .sorted { $0.topic < $1.topic }
                .map { MQTTMessage(topic: $0.topic, payload: $0.payload, qos: min($0.qos, qos), retain: true) }
        }
    }

    func disconnect(_ client: InMemoryMQTTClient, sendingWill: Bool) -> Bool {
        let result = state.withLock { s -> [(InMemoryMQTTClient, MQTTEvent)]? in
            guard let session = s.sessions.removeValue(forKey: ObjectIdentifier(client)) else { return nil }
            guard sendingWill, let will = session.will, s.isUp else { return [] }
            return Self.route(willMessage(will), in: &s)
        }
        guard let result else { return false }
        for (c, event) in result { c.receive(event) }
        return true
    }

    private func willMessage(_ will: MQTTWill) -> MQTTMessage {
        MQTTMessage(topic: will.topic, payload: will.payload, qos: will.qos, retain: will.retain)
    }

    /// Stores a retained message and lists the deliveries to subscribers (one per matching client,
    /// at the highest QoS among its matching subscriptions, capped by the message's).
    private static func route(_ message: MQTTMessage, in s: inout State) -> [(InMemoryMQTTClient, MQTTEvent)] {
        s.published += 1
        if message.retain {
            s.retained[message.topic] = message.payload.isEmpty ? nil : message
        }
        var out: [(InMemoryMQTTClient, MQTTEvent)] = []
        for session in s.sessions.values.sorted(by: { $0.client.options.clientID < $1.client.options.clientID }) {
            let granted = session.subscriptions.filter { MQTTTopic.matches(filter: $0.filter, topic: message.topic) }.map(\.qos).max()
            guard let granted else { continue }
            let delivered = MQTTMessage(topic: message.topic, payload: message.payload, qos: min(granted, message.qos), retain: false)
            out.append((session.client, .message(delivered)))
        }
        return out
    }
}

/// An `MQTTClient` on `InMemoryBroker`s, found by address in `brokers` (an address not listed is unreachable).
public final class InMemoryMQTTClient: MQTTClient, @unchecked Sendable {
    enum Phase: Equatable { case idle, connected(MQTTBrokerAddress), destroyed }

    public let options: MQTTConnectOptions
    private let brokers: [MQTTBrokerAddress: InMemoryBroker]
    private let handler: MQTTEventHandler
    private let state = Mutex<(phase: Phase, nextID: Int32)>((.idle, 0))

    public init(options: MQTTConnectOptions, brokers: [MQTTBrokerAddress: InMemoryBroker], events: @escaping MQTTEventHandler) {
        self.options = options
        self.brokers = brokers
        self.handler = events
    }

    public func connect(to broker: MQTTBrokerAddress, will: MQTTWill?) throws(MQTTClientError) {
        try state.withLock { s throws(MQTTClientError) in
            switch s.phase {
            case .destroyed: throw .destroyed
            case .connected: throw .alreadyConnected
            case .idle: break
            }
        }
        if let will, let why = MQTTTopic.problem(withTopicName: will.topic) { throw .invalidTopic(will.topic, reason: why) }
        guard let target = brokers[broker] else {
            handler(.connectionRefused(broker: broker, reason: .unreachable("no broker at \(broker)")))
            return
        }
        if let refusal = target.connect(self, will: will) {
            handler(.connectionRefused(broker: broker, reason: refusal))
            return
        }
        state.withLock { $0.phase = .connected(broker) }
        handler(.connected(broker: broker))
    }

    public func publish(topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool) throws(MQTTClientError) -> MQTTMessageID {
        if let why = MQTTTopic.problem(withTopicName: topic) { throw .invalidTopic(topic, reason: why) }
        let (broker, id) = try connectedBroker()
        guard broker.publish(from: self, MQTTMessage(topic: topic, payload: payload, qos: qos, retain: retain)) else {
            throw .notConnected
        }
        handler(.delivered(id))
        return id
    }

    public func subscribe(to filter: String, qos: MQTTQoS) throws(MQTTClientError) -> MQTTMessageID {
        if let why = MQTTTopic.problem(withFilter: filter) { throw .invalidTopic(filter, reason: why) }
        let (broker, id) = try connectedBroker()
        guard let retained = broker.subscribe(self, filter: filter, qos: qos) else { throw .notConnected }
        handler(.subscribed(id, granted: [qos]))
        for message in retained { handler(.message(message)) }
        return id
    }

    public func disconnect(sendingWill: Bool) throws(MQTTClientError) {
        let address = try state.withLock { s throws(MQTTClientError) -> MQTTBrokerAddress in
            switch s.phase {
            case .destroyed: throw .destroyed
            case .idle: throw .notConnected
            case .connected(let a):
                s.phase = .idle
                return a
            }
        }
        _ = brokers[address]?.disconnect(self, sendingWill: sendingWill)
        handler(.disconnected(broker: address, reason: .requested(sentWill: sendingWill)))
    }

    public func destroy() {
        let address = state.withLock { s -> MQTTBrokerAddress? in
            defer { s.phase = .destroyed }
            if case .connected(let a) = s.phase { return a }
            return nil
        }
        if let address { _ = brokers[address]?.disconnect(self, sendingWill: false) }
    }

    // MARK: From the broker

    func connectionLost(_ detail: String) { lost(.connectionLost(detail)) }

    func lost(_ reason: MQTTDisconnectReason) {
        let address = state.withLock { s -> MQTTBrokerAddress? in
            guard case .connected(let a) = s.phase else { return nil }
            s.phase = .idle
            return a
        }
        if let address { handler(.disconnected(broker: address, reason: reason)) }
    }

    func receive(_ event: MQTTEvent) {
        let live = state.withLock { s -> Bool in
            if case .connected = s.phase { return true }
            return false
        }
        if live { handler(event) }
    }

    private func connectedBroker() throws(MQTTClientError) -> (InMemoryBroker, MQTTMessageID) {
        try state.withLock { s throws(MQTTClientError) -> (InMemoryBroker, MQTTMessageID) in
            switch s.phase {
            case .destroyed: throw .destroyed
            case .idle: throw .notConnected
            case .connected(let a):
                guard let b = brokers[a] else { throw .notConnected }
                s.nextID = s.nextID % 65_535 + 1
                return (b, MQTTMessageID(rawValue: s.nextID))
            }
        }
    }
}
