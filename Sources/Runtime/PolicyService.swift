import Foundation
import Synchronization
import VigilCore
import Fieldbus
import Policy
import Kernel
import Journal
import CRuntime

/// The policy model's work beside the cycle, on two threads of its own:
///
/// - `vigil-policy` (normal priority, short steps): drains the cycle's feature tape into a
///   per-sensor history; records, for every journalled detection, diagnosis, escalation or model
///   verdict about a sensor, the feature samples around it (`event_features`, so feedback on that
///   event hours later still has what the model saw); watches the registry and offers the
///   deployed version to the cycle when it changes (a rollback or a deployment by another
///   process), releasing the model the cycle retired.
/// - `vigil-learner` (nice 10): runs model updates over the stored operator feedback
///   (`PolicyLearning.update`), below everything the plant and the operator need, yet never
///   starved (SCHED_IDLE got no CPU for minutes on a busy host, holding the journal's write lock
///   and the operator's verdict). An update postponed by the hourly limit runs by itself when the
///   limit allows. A deployed version reaches the cycle through the registry watch above.
///
/// Nothing here holds up the cycle, a safe-state command or shutdown: `stop` does not wait for a
/// running update (the controller stops the cycle first), and feedback is stored on the caller's
/// thread (`recordFeedback`, durable when it returns), so acknowledging it never waits for the learner.
public final class PolicyService: @unchecked Sendable {
    public struct Configuration: Sendable {
        /// Samples of each sensor kept in memory (at the tape's ~10 Hz: 1,200 ≈ 2 minutes).
        public var historySamples = 1_200
        /// Feature samples stored with each event (the newest at the event's time).
        public var samplesPerEvent = 5
        public var pollNanoseconds: UInt64 = 50_000_000
        public var eventScanNanoseconds: UInt64 = 500_000_000
        public var registryPollNanoseconds: UInt64 = 1_000_000_000
        /// The learner runs at `BackgroundPriority.learnerNice`. `false` keeps it at normal
        /// priority (a test that waits for the update on a busy CI machine).
        public var learnerInBackground = true
        /// Wall clock for the updates' records and the hourly limit's retry (nanoseconds since 1970).
        public var wallNanoseconds: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1e9) }
        /// The model watch's settings (nil: the plant's `monitor.policy_model.watch_*`).
        public var watch: ModelWatchSettings?
        /// The lineage label of versions this controller learns itself.
        public var watchLineage = "site"
        public init() {}
    }

    /// Told each result that concerns the request: once, or first `.rateLimited` (postponed) and
    /// later the result of the update that runs when the limit allows.
    public typealias UpdateCompletion = @Sendable (Result<PolicyUpdateResult, PolicyLearningError>) -> Void

    /// An update asked for after feedback: the wall time it is recorded under, who to tell.
    private struct UpdateRequest {
        var wallNanoseconds: Int64
        var completion: UpdateCompletion
    }

    let configuration: Configuration
    private let watch: PolicyWatch
    private let tape: FeatureTape
    private let journal: Journal
    /// The model registry the service follows (and the console rolls back in).
    public let store: ModelStore
    public let learning: PolicyLearning?
    private let sensorIDs: [String]
    private let classNames: [String]
    private let actionNames: [String]
    private let history: Mutex<FeatureHistory>
    private let requests = Mutex<[UpdateRequest]>([])
    private let requestSignal = DispatchSemaphore(value: 0)
    private let stopRequested = Atomic<Bool>(false)
    private let updateRunning = Atomic<Bool>(false)
    private let learnerFinished = DispatchSemaphore(value: 0)
    private var serviceThread: JoinableThread?
    private var learnerThread: JoinableThread?
    /// The version the cycle runs or has been offered (service thread).
    private var offeredVersion: Int
    private var lastEventID: Int64 = 0
    /// Counters for tests and the console.
    public let eventsWithFeatures = Atomic<Int>(0)
    public let samplesTaken = Atomic<Int>(0)
    public let deploymentsTaken = Atomic<Int>(0)
    /// Told (on the service thread) when the cycle is offered another version from the registry.
    var onDeployment: (@Sendable (Int) -> Void)?
    /// Each version's live agreement with what the plant proved, and the rollbacks and model errors
    /// it leads to (service thread; figures readable from any thread).
    let keeper: ModelWatchKeeper

    init(watch: PolicyWatch, tape: FeatureTape, journal: Journal, store: ModelStore, learning: PolicyLearning?, sensorIDs: [String],
         model: PolicyModel, runningVersion: Int, configuration: Configuration, watchSettings: ModelWatchSettings) {
        self.watch = watch
        self.tape = tape
        self.journal = journal
        self.store = store
        self.learning = learning
        self.sensorIDs = sensorIDs
        classNames = model.schema.classes
        actionNames = model.schema.actions
        self.configuration = configuration
        history = Mutex(FeatureHistory(sensors: sensorIDs.count, features: model.schema.features.count, capacity: configuration.historySamples))
        offeredVersion = runningVersion
        keeper = ModelWatchKeeper(journal: journal, store: store, schema: model.schema, sensorIDs: sensorIDs,
                                  settings: configuration.watch ?? watchSettings, lineage: configuration.watchLineage,
                                  wall: configuration.wallNanoseconds,
                                  withdraw: { [watch] in watch.withdraw() }, reinstate: { [watch] in watch.reinstate() })
    }

    func start() throws(ThreadStartError) {
        lastEventID = (try? journal.lastEventID()) ?? 0
        keeper.start(deployed: offeredVersion)
        serviceThread = try JoinableThread(name: "vigil-policy") { [self] in serviceLoop() }
        learnerThread = try JoinableThread(name: "vigil-learner") { [self] in learnerLoop() }
    }

    /// Stops the service thread (joined) and tells the learner to stop; a running update is not
    /// waited for: it finishes (or is cut short by the process ending) on its own thread, and its
    /// journal writes are transactions, all or nothing.
    func stop() {
        stopRequested.store(true, ordering: .releasing)
        requestSignal.signal()
        serviceThread?.join()
        serviceThread = nil
        if let learnerThread, learnerFinished.wait(timeout: .now() + .milliseconds(200)) == .success {
            learnerThread.join()
        }
        learnerThread = nil
    }

    /// Whether the learner is running an update now (for tests and the console).
    public var isUpdating: Bool { updateRunning.load(ordering: .acquiring) }

    // MARK: Feedback (any thread but the cycle's)

    /// Stores feedback on a journalled event with the feature samples recorded for it, on the
    /// calling thread, with `audit` (the command that gave it) in the same transaction; durable when
    /// it returns. Ask for the model update with `requestUpdate`.
    public func recordFeedback(event id: Int64, _ input: FeedbackInput, audit: AuditEntry? = nil) throws(PolicyLearningError) -> FeedbackReceipt {
        guard let learning else { throw .learningSet(path: "(none)", "this controller runs without a learning set") }
        return try learning.recordFeedback(event: id, input, audit: audit)
    }

    /// Asks the learner for a model update over all stored feedback. Requests waiting together are
    /// served by one update (each covers every stored sample); `completion` runs on the learner
    /// thread with its result.
    public func requestUpdate(wallNanoseconds: Int64, completion: @escaping UpdateCompletion) {
        requests.withLock { $0.append(UpdateRequest(wallNanoseconds: wallNanoseconds, completion: completion)) }
        requestSignal.signal()
    }

    /// The samples of a sensor the history holds between two monotonic times.
    public func historySamples(sensor: String, from: UInt64, to: UInt64) -> [(monotonicNanoseconds: UInt64, features: [Float], diagnosis: String)] {
        guard let s = sensorIDs.firstIndex(of: sensor) else { return [] }
        return history.withLock { $0.samples(sensor: s, from: from, through: to) }.map {
            ($0.monotonicNanoseconds, $0.features, $0.diagnosis >= 0 && $0.diagnosis < classNames.count ? classNames[$0.diagnosis] : "?")
        }
    }

    // MARK: The model watch (any thread)

    /// Every version's live figures (outcomes, agreement, baseline, state), oldest version first.
    public var watchFigures: [ModelWatchFigures] { keeper.figures }

    /// Records which lineage a version belongs to and, for one from the fleet learner, its fleet
    /// version number (kept with its figures, durably).
    public func setLineage(version: Int, lineage: String?, fleetVersion: Int?) {
        keeper.setLineage(version: version, lineage: lineage, fleetVersion: fleetVersion)
    }

    /// Whether a model error has taken the model off the cycle (the rules decide alone).
    public var modelWithdrawn: Bool { watch.isWithdrawn }

    // MARK: Service thread

    private func serviceLoop() {
        var nextEvents: UInt64 = 0, nextRegistry: UInt64 = 0
        while !stopRequested.load(ordering: .acquiring) {
            let now = vigil_rt_monotonic_ns()
            drainTape()
            if now >= nextEvents {
                recordEventFeatures()
                if keeper.scan(through: lastEventID) { followRegistry() }
                nextEvents = now &+ configuration.eventScanNanoseconds
            }
            if now >= nextRegistry {
                followRegistry()
                nextRegistry = now &+ configuration.registryPollNanoseconds
            }
            watch.collectRetired()
            vigil_rt_sleep_until(vigil_rt_monotonic_ns() &+ configuration.pollNanoseconds)
        }
        drainTape()
        recordEventFeatures()
    }

    private func drainTape() {
        history.withLock { h in
            let n = tape.drain { t, s, f, v in h.append(sensor: s, monotonicNanoseconds: t, features: f, verdict: v) }
            if n > 0 { samplesTaken.add(n, ordering: .relaxed) }
        }
    }

    /// The events since the last scan that are about a sensor get the samples around them: from a
    /// second before to 200 ms after (once the history reaches that far), the newest few; for a
    /// model verdict, those on which the model gave that verdict.
    private func recordEventFeatures() {
        // Read first: every event of these kinds up to it is in the query below.
        let ceiling = (try? journal.lastEventID()) ?? 0
        let limit = 500
        guard let events = try? journal.events(after: lastEventID, kinds: [.detection, .diagnosis, .escalation, .modelVerdict], limit: limit)
        else { return }
        var records: [EventFeatures] = []
        var done = lastEventID
        var waiting = events.count >= limit
        let before: UInt64 = 1_000_000_000, after: UInt64 = 200_000_000, patience: UInt64 = 3_000_000_000
        let now = vigil_rt_monotonic_ns()
        for e in events {
            if let name = e.subject, let s = sensorIDs.firstIndex(of: name) {
                let (newest, window) = history.withLock { h in
                    (h.newest(sensor: s), h.samples(sensor: s, from: e.monotonicNanoseconds &- min(before, e.monotonicNanoseconds),
                                                    through: e.monotonicNanoseconds &+ after))
                }
                // Not drained that far yet: this event and the later ones wait for the next scan, but
                // not for ever: a sensor whose device stopped answering brings no new samples, and
                // its events must not hold back everybody else's (it gets what there is).
                let caughtUp = newest.map { $0 >= e.monotonicNanoseconds &+ after } ?? false
                guard caughtUp || now >= e.monotonicNanoseconds &+ patience else { waiting = true; break }
                var chosen = window
                if e.kind == .modelVerdict {
                    let same = window.filter { $0.diagnosis == Int(e.code) }
                    if !same.isEmpty { chosen = same }
                }
                chosen = Array(chosen.suffix(configuration.samplesPerEvent))
                if let last = chosen.last {
                    let diagnosis = e.kind == .modelVerdict ? label(Int(e.code), in: classNames) : label(last.diagnosis, in: classNames)
                    records.append(EventFeatures(eventID: e.id, sensor: name, monotonicNanoseconds: last.monotonicNanoseconds,
                                                 samples: chosen.map(\.features), modelVersion: offeredVersion, diagnosis: diagnosis,
                                                 action: label(last.action, in: actionNames), margin: last.margin))
                }
            }
            done = e.id
        }
        // Nothing of these kinds left to wait for: the events of other kinds up to the ceiling are
        // behind us too (the model watch reads up to here).
        if !waiting { done = max(done, ceiling) }
        do {
            try journal.recordEventFeatures(records)
            eventsWithFeatures.add(records.count, ordering: .relaxed)
            lastEventID = done
        } catch {
            // The journal refused the write (disk full, …): try the same events again next scan.
        }
    }

    private func label(_ index: Int, in names: [String]) -> String? { index >= 0 && index < names.count ? names[index] : nil }

    /// A different deployed version in the registry (a rollback from the CLI, an update) goes to the
    /// cycle; a version that does not load stays out and the running one stays.
    private func followRegistry() {
        guard let deployed = try? journal.deployedModel(), deployed.version != offeredVersion else { return }
        guard let (model, _) = try? store.load(version: deployed.version) else { return }
        watch.collectRetired()
        if watch.offer(model) {
            offeredVersion = deployed.version
            deploymentsTaken.add(1, ordering: .relaxed)
            keeper.deploymentChanged(to: deployed.version)
            onDeployment?(deployed.version)
        }
    }

    // MARK: Learner thread

    private func learnerLoop() {
        defer { learnerFinished.signal() }
        if configuration.learnerInBackground { BackgroundPriority.applyNice() }
        var deferred: [UpdateRequest] = []
        var retryAt: Int64?
        while !stopRequested.load(ordering: .acquiring) {
            if let retryAt {
                let wait = max(0, retryAt - configuration.wallNanoseconds())
                _ = requestSignal.wait(timeout: .now() + .nanoseconds(Int(min(wait, 60_000_000_000))))
            } else {
                requestSignal.wait()
            }
            if stopRequested.load(ordering: .acquiring) { break }
            let fresh = requests.withLock { r in defer { r.removeAll() }; return r }
            let now = configuration.wallNanoseconds()
            if let next = retryAt, now < next {
                // Postponed by the hourly limit: these join the update that runs when it allows.
                for request in fresh { request.completion(.success(.rateLimited(nextAllowedWallNanoseconds: next))) }
                deferred += fresh
                continue
            }
            let waiting = deferred + fresh
            deferred = []
            retryAt = nil
            guard !waiting.isEmpty else { continue }
            let result: Result<PolicyUpdateResult, PolicyLearningError>
            updateRunning.store(true, ordering: .releasing)
            if let learning {
                do throws(PolicyLearningError) {
                    result = .success(try learning.update(wallNanoseconds: max(now, waiting.map(\.wallNanoseconds).max() ?? now)))
                } catch {
                    result = .failure(error)
                }
            } else {
                result = .failure(.learningSet(path: "(none)", "this controller runs without a learning set"))
            }
            updateRunning.store(false, ordering: .releasing)
            if case .success(.rateLimited(let next)) = result {
                retryAt = next
                deferred = waiting
            }
            for request in waiting { request.completion(result) }
        }
    }
}
