import Dispatch
import Fieldbus
import Foundation
import Journal
import Logging
import Policy
import MQTT
import Runtime
import Sparkplug
import Synchronization
import VigilCore

/// Why the edge node does not start.
public enum EdgeNodeError: Error, Sendable, CustomStringConvertible {
    case layout(SparkplugLayoutError)
    case broker(String, reason: String)
    case credentials(path: String, reason: String)
    case journal(JournalError)
    case thread(ThreadStartError)
    case fleet(String)

    public var description: String {
        switch self {
        case .layout(let e): return "Sparkplug layout: \(e)"
        case .broker(let text, let reason): return "broker '\(text)': \(reason)"
        case .credentials(let path, let reason): return "credentials file \(path): \(reason)"
        case .journal(let e): return "journal: \(e)"
        case .thread(let e): return "\(e)"
        case .fleet(let reason): return "fleet: \(reason)"
        }
    }
}

/// The Sparkplug B edge node beside a running controller: its own thread samples the controller's
/// snapshot every `publish_interval_ms`, reads new journal events and drives `EdgeNodeCore`; the
/// MQTT client's events are queued to it. The cycle thread never waits for it, and stopping it
/// never holds up the controller's safe state (stop the controller first, then this).
public final class EdgeNodeService: @unchecked Sendable {
    /// Makes the MQTT client (libmosquitto in production, in-memory in tests).
    public typealias ClientFactory = (MQTTConnectOptions, @escaping MQTTEventHandler) -> any MQTTClient

    private let controller: Controller
    private let journal: Journal
    private let logger: Logger
    private let interval: UInt64
    private let sampling: EdgeSampling
    private let inbox = EventInbox()
    private let stopping = Atomic<Bool>(false)
    private let countersBox = Mutex(EdgeNodeCounters())
    private let outboxBox = Atomic<Int>(0)
    private let connectedBox = Mutex<String?>(nil)
    private var client: (any MQTTClient)!
    private var core: EdgeNodeCore!
    private var thread: JoinableThread?
    private var eventCursor: Int64 = 0
    /// The fleet link (`mqtt.fleet:`), if configured.
    public let fleet: FleetSiteLink?

    /// Builds the edge node for `controller`'s plant; connects nothing until `start()`. With
    /// `mqtt.fleet:`, `fleetLearningSet` is the learning set fleet models are validated on.
    public init(controller: Controller, config: MQTTConfig, credentials: MQTTCredentials?, logger: Logger,
                hostWrite: HostWriteHandler?, makeClient: ClientFactory? = nil,
                reconnect: ReconnectPolicy = ReconnectPolicy(), fleetLearningSet: LearningSet? = nil) throws(EdgeNodeError) {
        self.controller = controller
        journal = controller.journal
        self.logger = logger
        interval = UInt64(config.publishIntervalMilliseconds) * 1_000_000
        sampling = EdgeSampling(codec: controller.codec, names: controller.subjects)
        let layout: SparkplugLayout
        do {
            layout = try SparkplugLayout(plant: controller.plant, groupID: config.groupID, edgeNodeID: config.edgeNodeID,
                                         writableOutputs: Set(config.writableOutputs), deadbands: config.deadbands.merging(
                                            controller.plant.sensors.filter { config.deadbands[$0.id] == nil && config.defaultDeadband > 0 }
                                                .map { ($0.id, config.defaultDeadband) }, uniquingKeysWith: { a, _ in a }))
        } catch { throw .layout(error) }
        var brokers: [MQTTBrokerAddress] = []
        for text in config.brokers {
            do { brokers.append(try MQTTBrokerAddress(parsing: text)) } catch { throw .broker(text, reason: "\(error)") }
        }
        let options = MQTTConnectOptions(
            clientID: config.clientID,
            protocolVersion: config.protocolVersion == .v5 ? .v5 : .v311,
            keepAlive: .seconds(config.keepAliveSeconds),
            credentials: credentials,
            tls: config.tlsCAFile.map { MQTTTLSOptions(caFile: $0, certificateFile: config.tlsCertFile, keyFile: config.tlsKeyFile) })
        fleet = try config.fleet.map { f throws(EdgeNodeError) in
            try FleetSiteLink(config: f, group: config.groupID, journal: controller.journal, store: controller.modelRegistry,
                              learningSet: fleetLearningSet, policy: { [weak controller] in controller?.policy }, logger: logger,
                              wall: { Int64(Date().timeIntervalSince1970 * 1e9) })
        }
        let inbox = self.inbox
        let handler: MQTTEventHandler = { event in inbox.push(event) }
        let client = makeClient?(options, handler) ?? MosquittoClient(options: options, events: handler)
        self.client = client
        do throws(JournalError) {
            core = try EdgeNodeCore(layout: layout, settings: EdgeNodeCore.Settings(brokers: brokers, dataQoS: config.dataQoS == 0 ? .atMostOnce : .atLeastOnce,
                                                                                      outboxCapacity: config.outboxCapacity, reconnect: reconnect),
                                    client: client, journal: journal, logger: logger)
            let saved = try journal.outboxState().eventCursor
            if let saved { eventCursor = saved } else { eventCursor = try journal.lastEventID() }
        } catch { throw .journal(error) }
        core.hostWrite = hostWrite
        core.sideChannel = fleet
    }

    /// What the edge node has done so far.
    public var counters: EdgeNodeCounters { countersBox.withLock { $0 } }
    /// Messages waiting in the journal's outbox.
    public var outboxCount: Int { outboxBox.load(ordering: .relaxed) }
    /// The broker connected now (nil: none).
    public var connectedBroker: String? { connectedBox.withLock { $0 } }

    public func start() throws(EdgeNodeError) {
        guard thread == nil else { return }
        logger.notice("MQTT: publishing journal events after #\(eventCursor)")
        try fleet?.start()
        do {
            thread = try JoinableThread(name: "vigil-mqtt") { [self] in run() }
        } catch { throw .thread(error) }
    }

    /// Publishes NDEATH, closes the connection and keeps what was not delivered in the outbox.
    public func stop() {
        guard let thread, !stopping.exchange(true, ordering: .acquiringAndReleasing) else { return }
        inbox.wake.signal()
        thread.join()
        client.destroy()
        fleet?.stop()
    }

    private func run() {
        let clock = SystemMonotonicClock()
        var next = clock.nowNanoseconds()
        while !stopping.load(ordering: .acquiring) {
            let now = clock.nowNanoseconds()
            if now < next { _ = inbox.wake.wait(timeout: .now() + .nanoseconds(Int(min(next - now, 1_000_000_000)))) }
            let events = inbox.take()
            for e in events { core.handle(e, nowNanoseconds: clock.nowNanoseconds()) }
            let t = clock.nowNanoseconds()
            guard t >= next, !stopping.load(ordering: .acquiring) else { continue }
            pass(now: t)
            next = nextPass(after: t)
            countersBox.withLock { $0 = core.counters }
            outboxBox.store(core.outboxCount, ordering: .relaxed)
            connectedBox.withLock { $0 = core.connectedBroker?.description }
        }
        for e in inbox.take() { core.handle(e, nowNanoseconds: clock.nowNanoseconds()) }
        core.stop(timestamp: Self.wallMilliseconds())
        let c = core.counters
        countersBox.withLock { $0 = c }
        outboxBox.store(core.outboxCount, ordering: .relaxed)
        logger.notice("MQTT: edge node stopped: \(c.publishedLive) messages published live, \(c.publishedFromOutbox) from the outbox, \(c.delivered) delivered, \(c.stored) stored, \(c.droppedForSpace) dropped for space, \(c.refusedByBroker) refused by a broker; \(core.outboxCount) in the outbox")
    }

    /// When the next pass runs: on the cycle's grid (a whole number of periods of at least the
    /// publish interval apart), shortly after a cycle's deadline, so a pass reads what that cycle
    /// has just published instead of a value up to a period old. Before the cycle has started: one
    /// interval from now.
    private func nextPass(after t: UInt64) -> UInt64 {
        let epoch = controller.epochNanoseconds, period = controller.periodNanoseconds
        guard epoch > 0, period > 0 else { return t &+ interval }
        let stride = max(1, (interval + period - 1) / period) * period
        let base = epoch &+ min(period / 2, Self.afterDeadlineNanoseconds)
        guard t >= base else { return base }
        return base &+ ((t - base) / stride + 1) * stride
    }

    /// How long after a cycle's deadline a pass reads the controller: past the cycle's typical
    /// lateness and compute, so that cycle's values are on its boards.
    static let afterDeadlineNanoseconds: UInt64 = 300_000

    private func pass(now: UInt64) {
        let wall = Self.wallMilliseconds()
        let sample = EdgeSampling.sample(controller.snapshot(timingPercentiles: false), modelVersion: controller.policyModelVersion.map(Int.init), timestamp: wall)
        var events: [EdgeEvent] = []
        var cursor: Int64?
        do {
            let stored = try journal.events(after: eventCursor, kinds: EdgeSampling.publishedKinds, limit: 1_000)
            events = stored.map(sampling.event)
            if let last = stored.last { eventCursor = last.id; cursor = last.id }
        } catch {
            logger.error("MQTT: cannot read journal events: \(error)")
        }
        core.step(nowNanoseconds: now, sample: sample, events: events, eventCursor: cursor)
    }

    static func wallMilliseconds() -> UInt64 { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }
}

extension MQTTCredentials {
    /// Reads `username` (first line) and `password` (second line) from a file that only its owner
    /// may read; the password never appears in an error.
    public static func load(path: String) throws(EdgeNodeError) -> MQTTCredentials {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .credentials(path: path, reason: String(cString: strerror(errno))) }
        guard info.st_mode & 0o077 == 0 else {
            throw .credentials(path: path, reason: String(format: "mode %o lets others read it; chmod 600 it (owner only)", info.st_mode & 0o777))
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw .credentials(path: path, reason: "not readable as UTF-8 text") }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        guard lines.count >= 2, !lines[0].isEmpty else {
            throw .credentials(path: path, reason: "expected the username on the first line and the password on the second")
        }
        return MQTTCredentials(username: lines[0], password: lines[1])
    }
}

/// MQTT events handed from the client's network thread to the edge node's thread.
final class EventInbox: Sendable {
    private let queue = Mutex<[MQTTEvent]>([])
    let wake = DispatchSemaphore(value: 0)

    func push(_ event: MQTTEvent) {
        queue.withLock { $0.append(event) }
        wake.signal()
    }

    func take() -> [MQTTEvent] { queue.withLock { q in defer { q.removeAll(keepingCapacity: true) }; return q } }
}
