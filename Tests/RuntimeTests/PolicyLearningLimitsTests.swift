import Foundation
import Testing
import Journal
import Monitor
import Policy
import Synchronization
import VigilCore
@testable import Runtime
import Kernel

/// What bounds the learner: a real hourly limit under a feedback flood (injected wall time), one
/// verdict per event and operator, a rejected correction that no later update deploys silently,
/// the newest samples only, and a running update that holds up neither safe state nor shutdown.
@Suite(.serialized) struct PolicyLearningLimitsTests {
    static let shipped = PolicyServiceTests.shipped
    static let learningSetPath = PolicyServiceTests.learningSet
    static let minute: Int64 = 60_000_000_000

    /// A journal with the shipped model as v1 and `events` events whose stored features are golden
    /// samples the model classifies as something other than `drift` (so "class drift" is a correction).
    struct Bench {
        let directory: String
        let journal: Journal
        let store: ModelStore
        let events: [Int64]

        init(events count: Int, samplesPerEvent: Int = 3) throws {
            directory = NSTemporaryDirectory() + "vigil-learning-limits-\(UUID().uuidString)"
            try DurableFile.makeDirectories(directory)
            journal = try Journal(path: directory + "/j.sqlite")
            store = try ModelStore(directory: directory + "/models", journal: journal, expectedFeatures: SensorFeatures.names)
            try store.installIfEmpty(shippedModelAt: PolicyLearningLimitsTests.shipped, wallNanoseconds: 1)
            let model = try store.loadDeployed().model
            let set = try LearningSetFile.decode(DurableFile.read(PolicyLearningLimitsTests.learningSetPath))
            let drift = try #require(model.schema.classes.firstIndex(of: "drift"))
            let scratch = model.makeScratch()
            let pool = set.golden.filter { s in s.features.withUnsafeBufferPointer { model.decide($0, scratch: scratch).diagnosis } != drift }
            var records: [EventFeatures] = []
            for e in 0..<count {
                let samples = (0..<samplesPerEvent).map { pool[(e * samplesPerEvent + $0) % pool.count].features }
                records.append(EventFeatures(eventID: Int64(1000 + e), sensor: "TT-310", monotonicNanoseconds: 1, samples: samples,
                                             modelVersion: 1, diagnosis: "healthy", action: nil, margin: 50))
            }
            try journal.recordEventFeatures(records)
            events = records.map(\.eventID)
        }

        func cleanup() { try? FileManager.default.removeItem(atPath: directory) }

        func learning(_ options: LearnerOptions) throws -> PolicyLearning {
            try PolicyLearning(store: store, learningSetPath: PolicyLearningLimitsTests.learningSetPath, options: options)
        }
    }

    static func correction(_ who: String = "anna", at wall: Int64) -> FeedbackInput {
        FeedbackInput(verdict: .correct("drift"), operatorName: who, wallNanoseconds: wall)
    }

    /// A short update with the gate wide open: these tests are about limits, not the gate.
    static let fast = LearnerOptions(epochs: 1, replaySamples: 200, successSamples: 20, edgeCaseSamples: 20, marginPoints: 1.0, maxUpdatesPerHour: 3)

    @Test func aFeedbackFloodGetsTheHourlyLimitOfUpdatesAndNoMore() throws {
        let bench = try Bench(events: 40)
        defer { bench.cleanup() }
        let learning = try bench.learning(Self.fast)
        // 1,200 feedback commands, each asking for an update, over one hour (every 3 s).
        var trained = 0, postponed = 0
        var firstRun: Int64?
        var wrongNext = 0
        for i in 0..<1_200 {
            let now = 10 * Self.minute + Int64(i) * 3_000_000_000
            _ = try learning.recordFeedback(event: bench.events[i % bench.events.count], Self.correction(at: now))
            switch try learning.update(wallNanoseconds: now) {
            case .deployed, .rejected:
                trained += 1
                if firstRun == nil { firstRun = now }
            case .rateLimited(let next):
                postponed += 1
                if next != firstRun! + 60 * Self.minute { wrongNext += 1 }
            case .nothingToLearn, .postponed: break
            }
        }
        print("feedback flood: 1200 verdicts in one hour -> \(trained) trained updates (limit 3), \(postponed) postponed")
        #expect(trained == 3, "\(trained) updates ran in one hour under a limit of 3")
        #expect(wrongNext == 0, "\(wrongNext) postponements named another time than an hour after the first run")
        #expect(try bench.journal.modelUpdates(limit: 10_000).count == 3, "a postponed update writes no row")
        #expect(try bench.journal.counts().feedback == 40, "one verdict per event and operator: 1,200 commands on 40 events leave 40")
        // The hour after the first run, the limit allows one more.
        let later = firstRun! + 60 * Self.minute + 1
        switch try learning.update(wallNanoseconds: later) {
        case .deployed, .rejected: break
        case let other: Issue.record("no update once the hour had passed: \(other.summary)")
        }
    }

    @Test func aRejectedCorrectionIsSetAsideNotDeployedLaterWithoutTheOperator() throws {
        let bench = try Bench(events: 2)
        defer { bench.cleanup() }
        // A gate nothing passes (accuracy must rise by 100 points): the first correction is rejected.
        var strict = Self.fast
        strict.marginPoints = -1
        let refusing = try bench.learning(strict)
        let first = try refusing.recordFeedback(event: bench.events[0], Self.correction(at: 1))
        guard case .rejected = try refusing.update(wallNanoseconds: 2) else { Issue.record("the strict gate passed"); return }
        #expect(try bench.journal.feedbackStatus(first.feedbackID) == .rejected)
        // A later update with a lenient gate (another process, another day) must not learn it.
        let lenient = try bench.learning(Self.fast)
        guard case .nothingToLearn = try lenient.update(wallNanoseconds: 3) else { Issue.record("the rejected correction was trained again"); return }
        let second = try lenient.recordFeedback(event: bench.events[1], Self.correction("ben", at: 4))
        let report: GateReport
        switch try lenient.update(wallNanoseconds: 5) {
        case .deployed(_, _, let r, _): report = r
        case .rejected(_, let r, _): report = r
        case let other: Issue.record("ben's correction was not trained: \(other.summary)"); return
        }
        #expect(report.corrections == second.samples, "the update trained ben's \(second.samples) corrections only, not anna's rejected ones: \(report.corrections)")
        #expect(try bench.journal.feedbackStatus(first.feedbackID) == .rejected && bench.journal.feedbackStatus(second.feedbackID) != .pending)
        // Given again, anna's correction is pending once more: her decision, not a silent one.
        let again = try lenient.recordFeedback(event: bench.events[0], Self.correction(at: 6))
        #expect(try again.replaced == first.feedbackID && bench.journal.pendingFeedback() == [again.feedbackID])
    }

    @Test func anUpdateTrainsOnTheNewestSamplesOnly() throws {
        let bench = try Bench(events: 60, samplesPerEvent: 5)
        defer { bench.cleanup() }
        var capped = Self.fast
        capped.maxFeedbackSamples = 20
        capped.marginPoints = -1 // rejected: the report is all this test reads
        let learning = try bench.learning(capped)
        for (i, e) in bench.events.enumerated() { _ = try learning.recordFeedback(event: e, Self.correction(at: Int64(i))) }
        guard case .rejected(_, let report, _) = try learning.update(wallNanoseconds: 100) else { Issue.record("expected a rejection"); return }
        #expect(report.corrections == 20, "300 stored correction samples, cap 20: the update trained on \(report.corrections)")
    }

    /// An update's cost with 4,000 stored verdicts against 40, with the default learner: a ratio
    /// printed, not a timed assertion; what is asserted is what the update trained on.
    @Test func anUpdatesCostDoesNotGrowWithTheFeedbackKept() throws {
        let bench = try Bench(events: 4_000, samplesPerEvent: 1)
        defer { bench.cleanup() }
        func timed(_ options: LearnerOptions, wall: Int64) throws -> (seconds: Double, corrections: Int) {
            let learning = try bench.learning(options)
            let clock = ContinuousClock.now
            let result = try learning.update(wallNanoseconds: wall)
            let d = ContinuousClock.now - clock
            let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
            switch result {
            case .deployed(_, _, let r, _), .rejected(_, let r, _): return (seconds, r.corrections)
            default: Issue.record("no update: \(result.summary)"); return (seconds, 0)
            }
        }
        var options = LearnerOptions()
        options.marginPoints = -1 // rejected: nothing deployed, the verdicts are settled; re-given below
        options.maxUpdatesPerHour = 1_000
        let learning = try bench.learning(options)
        for e in bench.events.prefix(40) { _ = try learning.recordFeedback(event: e, Self.correction(at: 1)) }
        let few = try timed(options, wall: 2)
        for e in bench.events { _ = try learning.recordFeedback(event: e, Self.correction(at: 3)) }
        let many = try timed(options, wall: 4)
        for e in bench.events { _ = try learning.recordFeedback(event: e, Self.correction(at: 5)) }
        var uncapped = options
        uncapped.maxFeedbackSamples = Int.max
        let all = try timed(uncapped, wall: 6)
        print(String(format: "update cost: 40 verdicts %.2f s, 4,000 verdicts %.2f s (ratio %.2f; without the cap %.2f s, ratio %.2f)",
                     few.seconds, many.seconds, many.seconds / few.seconds, all.seconds, all.seconds / few.seconds))
        #expect(few.corrections == 40 && many.corrections == 1_000 && all.corrections == 4_000)
    }

    @Test func withdrawTakesTheVerdictOutOfTraining() throws {
        let bench = try Bench(events: 1)
        defer { bench.cleanup() }
        let learning = try bench.learning(Self.fast)
        let r = try learning.recordFeedback(event: bench.events[0], Self.correction(at: 1))
        #expect(throws: PolicyLearningError.self) { _ = try learning.withdrawFeedback(event: bench.events[0], operatorName: "ben") }
        #expect(try learning.withdrawFeedback(event: bench.events[0], operatorName: "anna") == r.feedbackID)
        guard case .nothingToLearn = try learning.update(wallNanoseconds: 2) else { Issue.record("a withdrawn verdict was trained on"); return }
    }

    /// The learner is held inside an update (as a long one on a busy host would be): safe state is
    /// applied at the next cycle boundary and `stop` returns with the outputs safe.
    @Test func aRunningUpdateHoldsUpNeitherSafeStateNorShutdown() throws {
        let model = try ModelFile.decode(DurableFile.read(Self.shipped))
        let h = try RuntimeHarness(policyModel: model)
        defer { h.shutdown() }
        let directory = NSTemporaryDirectory() + "vigil-learning-hold-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try ModelStore(directory: directory, journal: h.controller.journal, expectedFeatures: SensorFeatures.names)
        try store.installIfEmpty(shippedModelAt: Self.shipped, wallNanoseconds: 1)
        let learning = try PolicyLearning(store: store, learningSetPath: Self.learningSetPath, options: Self.fast)
        let entered = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        learning.beforeTraining = { entered.signal(); release.wait() }
        defer { release.signal() }
        var configuration = PolicyService.Configuration()
        configuration.learnerInBackground = false
        try h.controller.startPolicyService(store: store, learning: learning, runningVersion: 1, configuration: configuration)
        let service = try #require(h.controller.policy)
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 20_000_000_000))

        let set = try LearningSetFile.decode(DurableFile.read(Self.learningSetPath))
        try h.controller.journal.recordEventFeatures([EventFeatures(eventID: 999_999, sensor: "TT-310", monotonicNanoseconds: 1,
                                                                    samples: [set.golden[0].features], modelVersion: 1, diagnosis: "healthy")])
        _ = try service.recordFeedback(event: 999_999, Self.correction(at: 10))
        service.requestUpdate(wallNanoseconds: 10) { _ in }
        #expect(entered.wait(timeout: .now() + 120) == .success, "the learner started the update")
        #expect(service.isUpdating)

        let before = h.controller.snapshot().cycle
        #expect(h.controller.execute(.requestSafeState, timeoutNanoseconds: 30_000_000_000) == .applied)
        let after = h.controller.snapshot()
        #expect(after.inSafeState && after.output("pump1-run") == 0 && after.output("alarm-beacon") == 1)
        print("safe-state enter during a held update: applied after \(after.cycle &- before) cycles")

        // Shutdown while the update is still held: stop returns, outputs safe on the devices.
        let done = DispatchSemaphore(value: 0)
        let controller = h.controller
        Thread.detachNewThread { controller.stop(); done.signal() }
        #expect(done.wait(timeout: .now() + 60) == .success, "stop waited for the model update")
        #expect(h.deviceValue("pump-plc", "pump1_run_cmd") == 0, "pump 1 is not at its safe value after stop")
        #expect(h.gpioChips[0].outputValue(27) == true, "the alarm beacon is not at its safe value (on) after stop")
        release.signal()
    }
}
