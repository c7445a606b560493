import Dispatch
import Fieldbus
import Fleet
import FleetLink
import Journal
import Logging
import MQTT
import Policy
import Runtime
import Synchronization
import VigilCore

/// A controller's side of learning across sites (docs/FLEET.md), on the edge node's connection.
///
/// With `share_feedback`, every operator verdict (with its feature samples) is published as a
/// `FleetFeedbackSample` on `vigil/fleet/<group>/feedback/<site>`, QoS 1, at least once: the
/// journal's feedback table is the store and the durable cursor `feedback` moves only over
/// verdicts the broker acknowledged. With a `model_key`, each new envelope on the models topic is
/// handed to a worker thread of its own (never the edge node's or the cycle's), which runs
/// `FleetModelGate.admit` (seconds), deploys or refuses, tells the policy service the lineage of a
/// deployed version, and the verdict report is published retained on `…/verdicts/<site>`.
public final class FleetSiteLink: EdgeSideChannel, @unchecked Sendable {
    /// What the link has done so far.
    public struct Progress: Sendable, Hashable {
        public var feedbackPublished = 0
        public var feedbackAcknowledged = 0
        /// The journal's cursor: the last verdict id the broker acknowledged.
        public var feedbackCursor: Int64 = 0
        public var modelsReceived = 0
        public var verdicts: [FleetVerdictReport] = []
        public var verdictsAcknowledged = 0
    }

    public static let cursorName = "feedback"

    public let site: String
    private let group: String
    private let share: Bool
    private let journal: Journal
    private let logger: Logger
    private let wall: @Sendable () -> Int64
    private let batch: Int
    // Edge node thread.
    private var cursor: Int64
    private var inFlight: [(feedbackID: Int64, mid: MQTTMessageID?)] = []
    private var acknowledged = Set<MQTTMessageID>()
    private var verdictInFlight: MQTTMessageID?
    private var lastEnvelope: [UInt8]?
    // Shared with the worker.
    private let admission: Admission?
    private let outgoing = Mutex<[FleetVerdictReport]>([])
    private let progressBox = Mutex(Progress())

    /// The gate's side: the worker thread and what it needs.
    private final class Admission: @unchecked Sendable {
        let gate: FleetModelGate<ModelStore>
        let policy: @Sendable () -> PolicyService?
        let queue = Mutex<[UInt8]?>(nil)
        let wake = DispatchSemaphore(value: 0)
        let stopping = Atomic<Bool>(false)
        var thread: JoinableThread?

        init(gate: FleetModelGate<ModelStore>, policy: @escaping @Sendable () -> PolicyService?) {
            self.gate = gate
            self.policy = policy
        }
    }

    /// `store` and `learningSet` are needed to admit fleet models (without them, which is logged,
    /// or without a `model_key`, none is subscribed to); `policy` gives the running policy service, if any.
    /// Throws for a site id that is not one topic level and a `model_key` that is not an Ed25519 public key.
    public init(config: FleetConfig, group: String, journal: Journal, store: ModelStore?, learningSet: LearningSet?,
                policy: @escaping @Sendable () -> PolicyService?, logger: Logger,
                wall: @escaping @Sendable () -> Int64, batch: Int = 64) throws(EdgeNodeError) {
        if let problem = FleetTopics.idProblem(config.site) { throw .fleet("site id '\(config.site)': \(problem)") }
        site = config.site
        self.group = group
        share = config.shareFeedback
        self.journal = journal
        self.logger = logger
        self.wall = wall
        self.batch = max(1, batch)
        do { cursor = try journal.fleetCursor(Self.cursorName) ?? 0 } catch { throw .journal(error) }
        if let text = config.modelKey {
            let key: Ed25519PublicKey
            do { key = try Ed25519PublicKey(base64: text) } catch { throw .fleet("model_key: \(error)") }
            if let store, let learningSet {
                admission = Admission(gate: FleetModelGate(site: site, trustedKey: key, registry: store, learningSet: learningSet), policy: policy)
            } else {
                logger.error("fleet: model_key is set but this controller has no \(store == nil ? "model registry" : "learning set") to validate fleet models on: fleet models are not taken")
                admission = nil
            }
        } else {
            admission = nil
        }
        let saved = cursor
        progressBox.withLock { $0.feedbackCursor = saved }
    }

    public var progress: Progress { progressBox.withLock { $0 } }

    /// Starts the worker that admits fleet models.
    public func start() throws(EdgeNodeError) {
        guard let admission, admission.thread == nil else { return }
        do {
            admission.thread = try JoinableThread(name: "vigil-fleet") { [self] in admit(admission) }
        } catch { throw .thread(error) }
    }

    /// The worker: checks the newest envelope handed over, until stopped.
    private func admit(_ admission: Admission) {
        while true {
            admission.wake.wait()
            if admission.stopping.load(ordering: .acquiring) { return }
            guard let bytes = admission.queue.withLock({ q in defer { q = nil }; return q }) else { continue }
            let result = admission.gate.admit(bytes, wallNanoseconds: wall())
            Self.log(result, site: site, logger: logger)
            if let version = result.deployedVersion, let header = result.header {
                admission.policy()?.setLineage(version: version, lineage: "fleet", fleetVersion: Int(header.fleetVersion))
            }
            if case .notNewer(let v, let deployed, false) = result.refusal, v == deployed {
                continue  // the retained envelope of the fleet version running here: nothing to report
            }
            progressBox.withLock { $0.verdicts.append(result.report) }
            outgoing.withLock { $0.append(result.report) }
        }
    }

    /// Stops the worker (after the model it is checking, if any).
    public func stop() {
        guard let admission, let thread = admission.thread else { return }
        admission.stopping.store(true, ordering: .releasing)
        admission.wake.signal()
        thread.join()
        admission.thread = nil
    }

    static func log(_ result: FleetGateResult, site: String, logger: Logger) {
        if let version = result.deployedVersion {
            logger.notice("fleet: site \(site) DEPLOYED fleet model v\(result.report.fleetVersion) as policy model v\(version): \(result.report)")
        } else {
            logger.warning("fleet: site \(site) REFUSED fleet model v\(result.report.fleetVersion): \(result.report.reason)")
        }
    }

    // MARK: EdgeSideChannel (the edge node's thread)

    public var subscriptions: [String] { admission == nil ? [] : [FleetTopics.models(group: group)] }

    public func connectionChanged(connected: Bool) {
        inFlight.removeAll()
        acknowledged.removeAll()
        verdictInFlight = nil
        if connected, admission != nil { lastEnvelope = nil }
    }

    public func received(_ message: MQTTMessage) {
        guard let admission, message.topic == FleetTopics.models(group: group), !message.payload.isEmpty else { return }
        // The retained envelope comes again on every connection: one already handed over is not checked twice.
        guard message.payload != lastEnvelope else { return }
        lastEnvelope = message.payload
        progressBox.withLock { $0.modelsReceived += 1 }
        logger.notice("fleet: a fleet model arrived on \(message.topic) (\(message.payload.count) bytes\(message.retain ? ", retained" : "")); checking it on the fleet worker")
        admission.queue.withLock { $0 = message.payload }
        admission.wake.signal()
    }

    public func finished(_ mid: MQTTMessageID, acknowledged ack: Bool) {
        if mid == verdictInFlight {
            verdictInFlight = nil
            if ack {
                outgoing.withLock { if !$0.isEmpty { $0.removeFirst() } }
                progressBox.withLock { $0.verdictsAcknowledged += 1 }
            } else {
                logger.error("fleet: the broker refused the verdict report; it is not sent again")
                outgoing.withLock { if !$0.isEmpty { $0.removeFirst() } }
            }
        } else if inFlight.contains(where: { $0.mid == mid }) {
            if ack { acknowledged.insert(mid) } else {
                logger.error("fleet: the broker refused a feedback sample; it is sent again on the next connection")
            }
        }
    }

    public func step(_ core: EdgeNodeCore, nowNanoseconds: UInt64) {
        guard core.connectedBroker != nil else { return }
        if share { settleFeedback(); publishFeedback(core) }
        if verdictInFlight == nil, let report = outgoing.withLock({ $0.first }) {
            do {
                verdictInFlight = try core.publishOutsideSparkplug(topic: FleetTopics.verdicts(group: group, site: site), payload: report.encode(),
                                                                   qos: .atLeastOnce, retain: true)
            } catch {
                logger.warning("fleet: verdict report not published (\(error)); trying again")
            }
        }
    }

    /// Moves the durable cursor over the acknowledged front of what is in flight.
    private func settleFeedback() {
        var through: Int64?
        while let first = inFlight.first, first.mid.map(acknowledged.contains) ?? true {
            through = first.feedbackID
            if let mid = first.mid {
                acknowledged.remove(mid)
                progressBox.withLock { $0.feedbackAcknowledged += 1 }
            }
            inFlight.removeFirst()
        }
        guard let through else { return }
        do {
            try journal.setFleetCursor(Self.cursorName, through)
            cursor = through
            progressBox.withLock { $0.feedbackCursor = through }
        } catch {
            logger.error("fleet: feedback cursor not saved (\(error)); those verdicts are published again")
        }
    }

    /// Publishes the next verdicts after the cursor once the previous batch is settled.
    private func publishFeedback(_ core: EdgeNodeCore) {
        guard inFlight.isEmpty else { return }
        let verdicts: [JournalRecord<OperatorFeedback>], history: [ModelVersion]
        do {
            verdicts = try journal.feedback(after: cursor, limit: batch)
            guard !verdicts.isEmpty else { return }
            history = try journal.modelHistory()
        } catch {
            logger.error("fleet: cannot read operator feedback: \(error)")
            return
        }
        let deployed = history.first(where: \.deployed)
        let fleetVersion = deployed.flatMap { ModelStore.fleetVersion(of: $0, history: history) } ?? 0
        let topic = FleetTopics.feedback(group: group, site: site)
        for record in verdicts {
            let stored: [FeedbackSample]
            do { stored = try journal.feedbackSamples(feedbackID: record.id) } catch {
                logger.error("fleet: cannot read the samples of verdict \(record.id): \(error)")
                return
            }
            guard let first = stored.first else {
                inFlight.append((record.id, nil))  // rejected, or without samples: nothing to share
                continue
            }
            let bucket: FeedbackExample.Bucket = first.bucket == .success ? .success : first.bucket == .failure ? .failure : .edgeCase
            let sample = FleetFeedbackSample(site: site, eventID: record.value.eventID, sensor: record.value.subject, window: stored.map(\.features),
                                             label: first.label, modelSaid: nil, bucket: bucket, modelVersion: UInt32(clamping: deployed?.version ?? 0),
                                             fleetVersion: fleetVersion, wallNanoseconds: record.value.wallNanoseconds)
            do {
                let mid = try core.publishOutsideSparkplug(topic: topic, payload: sample.encode(), qos: .atLeastOnce, retain: false)
                inFlight.append((record.id, mid))
                progressBox.withLock { $0.feedbackPublished += 1 }
            } catch {
                logger.warning("fleet: feedback not published (\(error)); sent again from the journal")
                return
            }
        }
    }
}
