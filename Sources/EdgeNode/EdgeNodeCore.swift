import Journal
import Logging
import MQTT
import Sparkplug
import VigilCore

/// A journal event as the edge node publishes it: one line of JSON on `Events/Monitor` or `Events/Alarm`.
public struct EdgeEvent: Sendable, Hashable {
    public var json: String
    /// An alarm state change or a safety event (interlock, safe state): published on `Events/Alarm`
    /// and kept longest in a full outbox.
    public var isAlarm: Bool
    /// When it happened, ms since the Unix epoch.
    public var timestamp: UInt64

    public init(json: String, isAlarm: Bool, timestamp: UInt64) {
        self.json = json
        self.isAlarm = isAlarm
        self.timestamp = timestamp
    }
}

/// What the edge node has done since it started.
public struct EdgeNodeCounters: Sendable, Hashable {
    /// Messages handed to the broker connection live, and from the outbox after a reconnect.
    public var publishedLive = 0
    public var publishedFromOutbox = 0
    /// Messages acknowledged (QoS 1) or written (QoS 0).
    public var delivered = 0
    /// Messages put in the outbox (no broker, or a backlog still draining).
    public var stored = 0
    /// Messages the outbox dropped for space (oldest plain ones first).
    public var droppedForSpace = 0
    /// Messages a broker refused (MQTT 5 reason code ≥ 0x80).
    public var refusedByBroker = 0
    public var connections = 0
    public var births = 0
    public var hostCommandsAccepted = 0
    public var hostCommandsRefused = 0
    public init() {}
}

/// Carries out a host's write to an output (the same checks and audit as an engineer's console
/// command) and says what became of it: nil when applied, else why not.
public typealias HostWriteHandler = (_ output: String, _ value: Double, _ topic: String) -> String?

/// The Sparkplug B edge node's logic on one thread: connecting (with the broker list's fallbacks and
/// back-off), births, report by exception, events, store-and-forward through the journal's outbox,
/// rebirth and host writes. Time comes in as arguments; the MQTT client and the journal are given.
///
/// Order is kept end to end: while the outbox holds anything not yet handed to the client this
/// connection, new messages join its tail (once all of it is, they go out live behind it); a
/// message in flight when the connection drops goes back into the outbox ahead of anything newer.
/// So a subscriber sees every message once the broker is back, in order (a message whose
/// acknowledgement was lost with the connection may come twice).
public final class EdgeNodeCore {
    public struct Settings: Sendable {
        public var brokers: [MQTTBrokerAddress]
        public var dataQoS: MQTTQoS
        public var outboxCapacity: Int
        /// Backlog messages in flight at once while draining the outbox.
        public var drainWindow: Int
        public var reconnect: ReconnectPolicy

        public init(brokers: [MQTTBrokerAddress], dataQoS: MQTTQoS = .atLeastOnce, outboxCapacity: Int = 100_000,
                    drainWindow: Int = 256, reconnect: ReconnectPolicy = ReconnectPolicy()) {
            self.brokers = brokers
            self.dataQoS = dataQoS
            self.outboxCapacity = outboxCapacity
            self.drainWindow = drainWindow
            self.reconnect = reconnect
        }
    }

    private enum Link {
        case idle(notBefore: UInt64)
        case connecting(MQTTBrokerAddress)
        case connected(MQTTBrokerAddress)
    }

    public private(set) var node: SparkplugEdgeNode
    public private(set) var counters = EdgeNodeCounters()
    private let settings: Settings
    private let client: any MQTTClient
    private let journal: Journal
    private let logger: Logger
    private var rotation: BrokerRotation
    private var link: Link = .idle(notBefore: 0)
    private var lastSample: EdgeSample?
    /// Live messages handed to the client and not yet delivered, oldest first.
    private var live: [(mid: MQTTMessageID, message: SparkplugUnsequenced)] = []
    /// Outbox messages handed to the client this connection, oldest first, and which are delivered.
    private var backlog: [(id: Int64, mid: MQTTMessageID)] = []
    private var deliveredBacklog = Set<MQTTMessageID>()
    private var lastBacklogSent: Int64 = 0
    /// Every outbox message has been handed to the client this connection (acknowledgements may be
    /// pending): new messages then go out live behind them, in order, instead of joining the outbox.
    private var backlogAllSent = false
    private var outboxKept: Int
    private var pendingCursor: Int64?
    /// Host writes are carried out by this (nil: refused, as when no output is writable).
    public var hostWrite: HostWriteHandler?
    /// Messages outside the Sparkplug namespace (nil: none).
    public var sideChannel: (any EdgeSideChannel)?

    /// `firstBdSeq`: the first connection's `bdSeq`; nil continues from the journal's (the previous
    /// connection's + 1, across restarts).
    public init(layout: SparkplugLayout, settings: Settings, client: any MQTTClient, journal: Journal, logger: Logger,
                firstBdSeq: UInt8? = nil) throws(JournalError) {
        precondition(!settings.brokers.isEmpty, "an edge node needs at least one broker")
        let bdSeq: UInt8
        if let firstBdSeq { bdSeq = firstBdSeq } else { bdSeq = try journal.sparkplugNextBdSeq() }
        node = SparkplugEdgeNode(layout: layout, firstBdSeq: bdSeq)
        self.settings = settings
        self.client = client
        self.journal = journal
        self.logger = logger
        rotation = BrokerRotation(brokers: settings.brokers, policy: settings.reconnect)!
        outboxKept = try journal.outboxState().kept
    }

    /// The broker connected now, if any.
    public var connectedBroker: MQTTBrokerAddress? {
        if case .connected(let b) = link { return b }
        return nil
    }

    /// Messages waiting in the outbox.
    public var outboxCount: Int { outboxKept }

    /// One pass: connect when due, publish what changed since the last pass and the events given
    /// (journal events up to `eventCursor`), drain the outbox while connected.
    public func step(nowNanoseconds now: UInt64, sample: EdgeSample, events: [EdgeEvent], eventCursor: Int64?) {
        lastSample = sample
        if case .idle(let notBefore) = link, now >= notBefore { connect(now: now) }
        var messages: [SparkplugUnsequenced]
        do { messages = try node.changes(sample) } catch {
            logger.error("MQTT: sample does not fit the plant (\(error)); nothing published this pass")
            messages = []
        }
        for e in events {
            messages.append(e.isAlarm ? node.alarmChange(e.json, timestamp: e.timestamp) : node.monitorEvent(e.json, timestamp: e.timestamp))
        }
        // Settled first: a backlog delivered since the last pass lets this pass's messages go live
        // (else a change every pass would keep every message going through the outbox as history).
        settleBacklog()
        route(messages, eventCursor: eventCursor, now: now)
        drain(now: now)
        sideChannel?.step(self, nowNanoseconds: now)
    }

    /// Publishes a message outside the Sparkplug namespace on the connection (not through the outbox).
    public func publishOutsideSparkplug(topic: String, payload: [UInt8], qos: MQTTQoS, retain: Bool) throws(MQTTClientError) -> MQTTMessageID {
        guard case .connected = link else { throw .notConnected }
        guard !topic.hasPrefix(SparkplugTopic.namespace + "/") else { throw .invalidTopic(topic, reason: "in the Sparkplug namespace") }
        return try client.publish(topic: topic, payload: payload, qos: qos, retain: retain)
    }

    /// An event from the MQTT client (delivered on the caller's thread, between steps).
    public func handle(_ event: MQTTEvent, nowNanoseconds now: UInt64) {
        switch event {
        case .connected(let broker):
            connected(to: broker, now: now)
        case .connectionRefused(let broker, let reason):
            logger.warning("MQTT: broker \(broker) refused or unreachable: \(reason)")
            lost(now: now)
        case .disconnected(let broker, let reason):
            if case .requested = reason { return }
            logger.warning("MQTT: connection to \(broker) lost: \(reason); messages are kept in the journal's outbox until a broker is back")
            lost(now: now)
        case .message(let m):
            if m.topic.hasPrefix(SparkplugTopic.namespace + "/") || sideChannel == nil { command(m, now: now) } else { sideChannel?.received(m) }
        case .delivered(let mid):
            delivered(mid)
            sideChannel?.finished(mid, acknowledged: true)
        case .publishRefused(let mid, let code):
            counters.refusedByBroker += 1
            logger.error("MQTT: the broker refused message \(mid) (reason code 0x\(String(code, radix: 16))); it is not sent again")
            delivered(mid)
            sideChannel?.finished(mid, acknowledged: false)
        case .subscribed(_, let granted):
            if granted.contains(where: { $0 == nil }) {
                logger.error("MQTT: the broker refused a subscription: rebirth requests, host writes or fleet messages will not arrive")
            }
        }
    }

    /// Orderly end: what is in flight goes back to the outbox, NDEATH is published and the connection closed.
    public func stop(timestamp: UInt64) {
        if case .connected = link {
            let death = node.death(timestamp: timestamp)
            _ = try? client.publish(topic: death.topic, payload: death.payload, qos: .atMostOnce, retain: false)
        }
        keepInFlight()
        sideChannel?.connectionChanged(connected: false)
        if let cursor = pendingCursor { try? journal.outboxSetEventCursor(cursor) }
        try? client.disconnect(sendingWill: false)
        link = .idle(notBefore: .max)
    }

    // MARK: Connection

    private func connect(now: UInt64) {
        let broker = rotation.currentBroker
        let death = node.newSession(timestamp: now / 1_000_000)
        do { try journal.setSparkplugNextBdSeq(node.bdSeq &+ 1) } catch {
            logger.error("MQTT: bdSeq \(node.bdSeq) not saved (\(error)); after a restart a host may take an old will for this session's")
        }
        do {
            try client.connect(to: broker, will: MQTTWill(topic: death.topic, payload: death.payload, qos: .atLeastOnce, retain: false))
            link = .connecting(broker)
        } catch {
            logger.error("MQTT: cannot connect to \(broker): \(error)")
            link = .idle(notBefore: rotation.recordFailure(atNanoseconds: now).notBeforeNanoseconds)
        }
    }

    private func connected(to broker: MQTTBrokerAddress, now: UInt64) {
        rotation.recordConnected(atNanoseconds: now)
        link = .connected(broker)
        counters.connections += 1
        let layout = node.layout
        let commandTopics = [layout.topic(.ncmd).string, "\(SparkplugTopic.namespace)/\(layout.groupID)/DCMD/\(layout.edgeNodeID)/+"]
        for filter in commandTopics + (sideChannel?.subscriptions ?? []) {
            do { _ = try client.subscribe(to: filter, qos: .atLeastOnce) } catch {
                logger.error("MQTT: cannot subscribe to \(filter): \(error)")
            }
        }
        let backlog = outboxKept > 0 ? "; sending \(outboxKept) kept messages as history" : ""
        logger.notice("MQTT: connected to \(broker) as edge node \(layout.groupID)/\(layout.edgeNodeID) (bdSeq \(node.bdSeq))\(backlog)")
        publishBirths()
        lastBacklogSent = 0
        backlogAllSent = false
        sideChannel?.connectionChanged(connected: true)
    }

    /// Everything in flight returns to the outbox (in order, ahead of nothing newer) and the next
    /// attempt is scheduled.
    private func lost(now: UInt64) {
        if case .idle = link { return }
        let wasConnected: Bool
        if case .connected = link { wasConnected = true } else { wasConnected = false }
        keepInFlight()
        link = .idle(notBefore: rotation.recordFailure(atNanoseconds: now).notBeforeNanoseconds)
        if wasConnected { sideChannel?.connectionChanged(connected: false) }
    }

    private func keepInFlight() {
        let undelivered = live.map(\.message)
        live.removeAll()
        backlog.removeAll()
        deliveredBacklog.removeAll()
        lastBacklogSent = 0
        backlogAllSent = false
        if !undelivered.isEmpty { store(undelivered, eventCursor: nil) }
    }

    private func publishBirths() {
        guard let sample = lastSample else { return }
        do {
            for m in try node.birth(sample) {
                _ = try client.publish(topic: m.topic, payload: m.payload, qos: .atMostOnce, retain: false)
            }
            counters.births += 1
        } catch {
            logger.error("MQTT: birth not published: \(error)")
        }
    }

    // MARK: Publishing

    /// Live when connected with an empty outbox, or with all of it handed to the client this
    /// connection (the client sends in order, so these follow the backlog); otherwise to the outbox's tail.
    private func route(_ messages: [SparkplugUnsequenced], eventCursor: Int64?, now: UInt64) {
        guard !messages.isEmpty || eventCursor != nil else { return }
        guard case .connected = link, (outboxKept == 0 && backlog.isEmpty) || backlogAllSent else {
            store(messages, eventCursor: eventCursor)
            return
        }
        for (i, m) in messages.enumerated() {
            let sequenced = node.sequenced(m)
            do {
                let mid = try client.publish(topic: sequenced.topic, payload: sequenced.payload, qos: settings.dataQoS, retain: false)
                live.append((mid, m))
                counters.publishedLive += 1
            } catch {
                logger.warning("MQTT: publish failed (\(error)); keeping messages in the journal's outbox")
                lost(now: now)
                store(Array(messages[i...]), eventCursor: eventCursor)
                return
            }
        }
        if let eventCursor { pendingCursor = eventCursor }
        if let cursor = pendingCursor {
            do { try journal.outboxSetEventCursor(cursor); pendingCursor = nil } catch {
                logger.error("MQTT: event cursor not saved: \(error)")
            }
        }
    }

    private func store(_ messages: [SparkplugUnsequenced], eventCursor: Int64?) {
        let rows = messages.map { OutboxMessage(topic: $0.topic.string, payload: $0.encoded(), important: $0.carriesAlarm,
                                                wallNanoseconds: Int64($0.timestamp) * 1_000_000) }
        do {
            let dropped = try journal.outboxAppend(rows, capacity: settings.outboxCapacity, eventCursor: eventCursor ?? pendingCursor)
            pendingCursor = nil
            backlogAllSent = false
            counters.stored += rows.count
            if dropped > 0 {
                counters.droppedForSpace += dropped
                logger.warning("MQTT: the outbox is full (\(settings.outboxCapacity) messages): dropped the \(dropped) oldest")
            }
            outboxKept = min(settings.outboxCapacity, outboxKept + rows.count)
        } catch {
            logger.error("MQTT: \(rows.count) messages not kept in the outbox: \(error)")
        }
    }

    /// Sends the next outbox messages as history, up to the drain window in flight.
    private func drain(now: UInt64) {
        guard case .connected = link, outboxKept > 0 else { return }
        let room = settings.drainWindow - backlog.count
        guard room > 0 else { return }
        let rows: [OutboxMessage]
        do { rows = try journal.outboxPeek(after: lastBacklogSent, limit: room) } catch {
            logger.error("MQTT: cannot read the outbox: \(error)")
            return
        }
        for row in rows {
            lastBacklogSent = row.id
            let message: SparkplugUnsequenced
            do { message = try SparkplugUnsequenced(encoded: row.payload) } catch {
                logger.error("MQTT: outbox message \(row.id) is unreadable (\(error)); skipped")
                continue
            }
            let sequenced = node.sequenced(message, historical: true)
            do {
                let mid = try client.publish(topic: sequenced.topic, payload: sequenced.payload, qos: settings.dataQoS, retain: false)
                backlog.append((row.id, mid))
                counters.publishedFromOutbox += 1
            } catch {
                logger.warning("MQTT: publish failed while sending the outbox (\(error))")
                lost(now: now)
                return
            }
        }
        if rows.count < room { backlogAllSent = true }
    }

    private func delivered(_ mid: MQTTMessageID) {
        counters.delivered += 1
        if let i = live.firstIndex(where: { $0.mid == mid }) {
            live.remove(at: i)
        } else if backlog.contains(where: { $0.mid == mid }) {
            deliveredBacklog.insert(mid)
        }
    }

    /// Removes the delivered front of the backlog from the outbox (one write per pass).
    private func settleBacklog() {
        var through: Int64?
        while let first = backlog.first, deliveredBacklog.contains(first.mid) {
            through = first.id
            deliveredBacklog.remove(first.mid)
            backlog.removeFirst()
        }
        guard let through else { return }
        do {
            try journal.outboxRemove(through: through)
            outboxKept = try journal.outboxState().kept
            if outboxKept == 0 { logger.notice("MQTT: outbox sent; publishing live") }
        } catch {
            logger.error("MQTT: cannot remove sent messages from the outbox: \(error)")
        }
    }

    // MARK: Host commands

    private func command(_ m: MQTTMessage, now: UInt64) {
        let commands: [HostCommand]
        do { commands = try node.layout.decodeCommand(topic: m.topic, payload: m.payload) } catch {
            counters.hostCommandsRefused += 1
            logger.warning("MQTT: host command on \(m.topic) refused: \(error)")
            return
        }
        for c in commands {
            switch c {
            case .rebirth:
                counters.hostCommandsAccepted += 1
                logger.notice("MQTT: rebirth requested by a host")
                if case .connected = link { publishBirths() }
            case .writeOutput(_, let output, let value):
                let refusal = hostWrite.map { $0(output, value, m.topic) } ?? "no host writes are wired on this controller"
                if let refusal {
                    counters.hostCommandsRefused += 1
                    logger.warning("MQTT: host write \(output) = \(value) refused: \(refusal)")
                } else {
                    counters.hostCommandsAccepted += 1
                    logger.notice("MQTT: host write \(output) = \(value) applied")
                }
            }
        }
    }
}
