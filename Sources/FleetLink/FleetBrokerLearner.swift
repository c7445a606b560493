import Dispatch
import Fleet
import Logging
import MQTT
import Policy
import Synchronization
import VigilCore

/// The fleet learner over a broker: subscribes to every site's feedback samples and verdicts, runs
/// `runFleetLearning` once `minSamples` new samples have arrived (duplicates from at-least-once
/// delivery are counted once), publishes the signed envelope retained on the models topic, and
/// logs the verdicts that come back. Runs on the thread that calls `run()`; `stop()` ends it from
/// any thread.
public final class FleetBrokerLearner: @unchecked Sendable {
    public struct Settings: Sendable {
        public var group: String
        public var broker: MQTTBrokerAddress
        /// New samples needed before a run.
        public var minSamples: Int
        public var seed: UInt64
        /// Stop after the first publication, once every known site has answered it or `verdictWaitNanoseconds` passed.
        public var once: Bool
        public var verdictWaitNanoseconds: UInt64
        /// Wait before connecting again after a refusal or a lost connection.
        public var retryNanoseconds: UInt64

        public init(group: String, broker: MQTTBrokerAddress, minSamples: Int = 10, seed: UInt64 = 1, once: Bool = false,
                    verdictWaitNanoseconds: UInt64 = 120_000_000_000, retryNanoseconds: UInt64 = 2_000_000_000) {
            self.group = group
            self.broker = broker
            self.minSamples = max(1, minSamples)
            self.seed = seed
            self.once = once
            self.verdictWaitNanoseconds = verdictWaitNanoseconds
            self.retryNanoseconds = retryNanoseconds
        }
    }

    /// What the learner has seen and done so far.
    public struct Progress: Sendable {
        public var samples = 0
        public var duplicates = 0
        public var rejectedMessages = 0
        public var published: [FleetModelHeader] = []
        /// The last signed envelope published.
        public var lastEnvelope: [UInt8]?
        /// Publications the broker acknowledged (fleet versions).
        public var acknowledged: [UInt32] = []
        public var refusedRuns: [String] = []
        public var verdicts: [FleetVerdictReport] = []
    }

    private struct SampleKey: Hashable {
        var site: String, event: Int64?, sensor: String, wall: Int64, label: String
    }

    private let settings: Settings
    private let shipped: PolicyModel
    private let learningSet: LearningSet
    private let key: Ed25519PrivateKey
    private let learner: FleetLearner
    private let logger: Logger
    private let wall: @Sendable () -> Int64
    private let monotonic: @Sendable () -> UInt64
    private let inbox = Inbox()
    private let wake = DispatchSemaphore(value: 0)
    private let stopping = Atomic<Bool>(false)
    private let progressBox = Mutex(Progress())
    private var client: (any MQTTClient)!

    private var parent: PolicyModel
    private var parentVersion: UInt32
    private var samples: [SampleKey: FleetFeedbackSample] = [:]
    private var newSamples = 0
    private var sites = Set<String>()
    private var pending: (envelope: [UInt8], header: FleetModelHeader)?
    private var inFlight: MQTTMessageID?
    private var answered: [UInt32: Set<String>] = [:]

    /// `parent` is the fleet model to train from (nil: the shipped one, fleet version 0);
    /// `preloaded` samples (from `--from DIR`) count as new. The client is made with the handler it reports to.
    public init(settings: Settings, shipped: PolicyModel, learningSet: LearningSet, key: Ed25519PrivateKey,
                parent: (model: PolicyModel, fleetVersion: UInt32)? = nil, preloaded: [FleetFeedbackSample] = [],
                learner: FleetLearner = FleetLearner(), logger: Logger,
                wall: @escaping @Sendable () -> Int64, monotonic: @escaping @Sendable () -> UInt64,
                makeClient: (@escaping MQTTEventHandler) -> any MQTTClient) {
        self.settings = settings
        self.shipped = shipped
        self.learningSet = learningSet
        self.key = key
        self.learner = learner
        self.logger = logger
        self.wall = wall
        self.monotonic = monotonic
        self.parent = parent?.model ?? shipped
        parentVersion = parent?.fleetVersion ?? 0
        let inbox = self.inbox, wake = self.wake
        client = makeClient { event in
            inbox.events.withLock { $0.append(event) }
            wake.signal()
        }
        for s in preloaded { add(s, from: nil) }
    }

    public var progress: Progress { progressBox.withLock { $0 } }

    /// Ends `run()` (from any thread, e.g. a SIGTERM handler's).
    public func stop() {
        stopping.store(true, ordering: .releasing)
        wake.signal()
    }

    /// Connects, learns and publishes until `stop()` (or, with `once`, until the first publication
    /// has been answered); then disconnects cleanly.
    public func run() {
        var connected = false, nextAttempt: UInt64 = 0
        var onceDeadline: UInt64?
        let models = FleetTopics.models(group: settings.group)
        logger.notice("fleet learner: group \(settings.group) on \(settings.broker); training after \(settings.minSamples) new samples, parent fleet v\(parentVersion)")
        while !stopping.load(ordering: .acquiring) {
            let now = monotonic()
            if !connected, now >= nextAttempt {
                do { try client.connect(to: settings.broker, will: nil) } catch {
                    logger.error("fleet learner: cannot connect to \(settings.broker): \(error)")
                }
                nextAttempt = now &+ settings.retryNanoseconds
            }
            _ = wake.wait(timeout: .now() + .milliseconds(500))
            for event in inbox.events.withLock({ q in defer { q.removeAll() }; return q }) {
                switch event {
                case .connected(let broker):
                    connected = true
                    inFlight = nil
                    for filter in [FleetTopics.feedbackFilter(group: settings.group), FleetTopics.verdictsFilter(group: settings.group), models] {
                        do { _ = try client.subscribe(to: filter, qos: .atLeastOnce) } catch {
                            logger.error("fleet learner: cannot subscribe to \(filter): \(error)")
                        }
                    }
                    logger.notice("fleet learner: connected to \(broker); listening on \(FleetTopics.feedbackFilter(group: settings.group))")
                case .connectionRefused(let broker, let reason):
                    logger.warning("fleet learner: broker \(broker) refused or unreachable: \(reason); trying again")
                    connected = false
                case .disconnected(let broker, let reason):
                    if !reason.isExpected { logger.warning("fleet learner: connection to \(broker) lost: \(reason); trying again") }
                    connected = false
                    inFlight = nil
                    nextAttempt = monotonic() &+ settings.retryNanoseconds
                case .message(let m):
                    received(m)
                case .delivered(let mid):
                    guard mid == inFlight, let p = pending else { break }
                    inFlight = nil
                    pending = nil
                    progressBox.withLock { $0.acknowledged.append(p.header.fleetVersion) }
                    logger.notice("fleet learner: fleet model v\(p.header.fleetVersion) published on \(models) (retained, acknowledged by the broker)")
                    if settings.once { onceDeadline = monotonic() &+ settings.verdictWaitNanoseconds }
                case .publishRefused(let mid, let code):
                    guard mid == inFlight else { break }
                    inFlight = nil
                    logger.error("fleet learner: the broker refused the fleet model (reason code 0x\(String(code, radix: 16))); not sent again")
                    pending = nil
                case .subscribed(_, let granted):
                    if granted.contains(where: { $0 == nil }) { logger.error("fleet learner: the broker refused a subscription") }
                }
            }
            if pending == nil, newSamples >= settings.minSamples, !(settings.once && !(progress.published.isEmpty)) { learn() }
            if connected, let p = pending, inFlight == nil {
                do { inFlight = try client.publish(topic: models, payload: p.envelope, qos: .atLeastOnce, retain: true) } catch {
                    logger.warning("fleet learner: publish failed (\(error)); trying again once connected")
                }
            }
            if let deadline = onceDeadline, let version = progress.acknowledged.last {
                let waiting = sites.subtracting(answered[version] ?? [])
                if waiting.isEmpty { logger.notice("fleet learner: every site answered fleet v\(version)"); break }
                if monotonic() >= deadline {
                    logger.warning("fleet learner: no verdict on fleet v\(version) from \(waiting.sorted().joined(separator: ", ")) in time")
                    break
                }
            }
        }
        try? client.disconnect(sendingWill: false)
        client.destroy()
        logger.notice("fleet learner: stopped")
    }

    private func received(_ m: MQTTMessage) {
        let group = settings.group
        if let site = FleetTopics.site(of: m.topic, group: group, kind: "feedback") {
            do {
                add(try FleetFeedbackSample.decode(m.payload), from: site)
            } catch {
                progressBox.withLock { $0.rejectedMessages += 1 }
                logger.warning("fleet learner: feedback on \(m.topic) is not a sample: \(error)")
            }
        } else if let site = FleetTopics.site(of: m.topic, group: group, kind: "verdicts") {
            guard !m.payload.isEmpty else { return }
            do {
                let report = try FleetVerdictReport.decode(m.payload)
                sites.insert(site)
                answered[report.fleetVersion, default: []].insert(site)
                progressBox.withLock { $0.verdicts.append(report) }
                let how = report.deployed ? "deployed" : "REFUSED"
                logger.notice("fleet learner: site \(site) \(how) fleet v\(report.fleetVersion)\(m.retain ? " (retained)" : ""): \(report)")
            } catch {
                progressBox.withLock { $0.rejectedMessages += 1 }
                logger.warning("fleet learner: verdict on \(m.topic) is not a verdict report: \(error)")
            }
        } else if m.topic == FleetTopics.models(group: group), !m.payload.isEmpty {
            // The retained fleet model of an earlier run: train on from it when it is ours and newer.
            guard let envelope = try? FleetModelEnvelope.decode(m.payload), envelope.verifies(with: key.publicKey),
                  envelope.header.fleetVersion > parentVersion, let model = try? envelope.model() else { return }
            parent = model
            parentVersion = envelope.header.fleetVersion
            logger.notice("fleet learner: the broker holds fleet model v\(parentVersion) signed with this key; the next one is trained from it")
        }
    }

    private func add(_ sample: FleetFeedbackSample, from topicSite: String?) {
        if let topicSite, sample.site != topicSite {
            progressBox.withLock { $0.rejectedMessages += 1 }
            logger.warning("fleet learner: a sample of site '\(sample.site)' on site \(topicSite)'s topic; ignored")
            return
        }
        let key = SampleKey(site: sample.site, event: sample.eventID, sensor: sample.sensor, wall: sample.wallNanoseconds, label: sample.label)
        guard samples.updateValue(sample, forKey: key) == nil else {
            progressBox.withLock { $0.duplicates += 1 }
            return
        }
        sites.insert(sample.site)
        newSamples += 1
        progressBox.withLock { $0.samples = samples.count }
        logger.info("fleet learner: sample from site \(sample.site) (\(sample.sensor): \(sample.label), \(sample.window.count) vectors); \(newSamples) new")
    }

    private func learn() {
        let all = samples.values.sorted { ($0.site, $0.wallNanoseconds, $0.eventID ?? -1, $0.sensor) < ($1.site, $1.wallNanoseconds, $1.eventID ?? -1, $1.sensor) }
        let version = parentVersion + 1
        logger.notice("fleet learner: training fleet v\(version) from fleet v\(parentVersion) on \(all.count) samples of \(Set(all.map(\.site)).count) sites")
        newSamples = 0
        let input = FleetLearningInput(parent: parent, parentFleetVersion: parentVersion, learningSet: learningSet, samples: all,
                                       fleetVersion: version, createdWallNanoseconds: wall(), seed: settings.seed, reference: shipped)
        do {
            let publication = try runFleetLearning(input, learner: learner, key: key)
            for i in publication.notes.ignored { logger.warning("fleet learner: ignored \(i)") }
            let header = publication.envelope.header
            logger.notice("fleet learner: signed \(header.summary.split(separator: "\n").joined(separator: "; "))")
            let bytes = publication.envelope.encode()
            pending = (bytes, header)
            parent = publication.model
            parentVersion = version
            progressBox.withLock { $0.published.append(header); $0.lastEnvelope = bytes }
        } catch {
            logger.error("fleet learner: fleet v\(version) not published: \(error)")
            progressBox.withLock { $0.refusedRuns.append("\(error)") }
        }
    }
}

/// MQTT events handed from the client's network thread to the learner's.
final class Inbox: Sendable {
    let events = Mutex<[MQTTEvent]>([])
}
