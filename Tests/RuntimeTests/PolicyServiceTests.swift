import Foundation
import Testing
import Journal
import Monitor
import Policy
import Synchronization
import VigilCore
@testable import Runtime
import Kernel

/// The policy model's loop through the real controller on the simulated rig: the cycle's verdicts
/// reach the journal with the features behind them, operator feedback on such an event becomes a
/// validated version that the running cycle swaps in, and a rollback by another process (the
/// registry) is followed too.
@Suite(.serialized) struct PolicyServiceTests {
    static let shipped = RuntimeHarness.root.appendingPathComponent("models/default.vglm").path
    static let learningSet = RuntimeHarness.root.appendingPathComponent("models/default.vgls").path
    /// The learner's defaults (a shortened update, 2 epochs on 300 replayed samples, moved drift
    /// recall by 3.5 points and was refused by the gate: the defaults are what is tested).
    static let quick = LearnerOptions()
    /// The same with the gate's accuracy margin opened wide. The samples an operator confirms here
    /// are whatever the live rig produced, which varies with timing: a CI run saw the default gate
    /// refuse one (drift recall 70.0 → 68.5 %, margin 1 point). Refusing it was right; this test is
    /// about the path from feedback to a version the cycle runs, so it must not depend on that
    /// judgement. The gate itself is tested on fixed data (IncrementalLearnerTests, `vigil-bench model --learning`).
    static let plumbing = LearnerOptions(marginPoints: 1.0)

    @Test func feedbackOnAVerdictBecomesADeployedVersionTheCycleTakesAndARollbackIsFollowed() throws {
        let model = try ModelFile.decode(DurableFile.read(Self.shipped))
        let h = try RuntimeHarness(policyModel: model)
        defer { h.shutdown() }
        let directory = NSTemporaryDirectory() + "vigil-policy-service-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try ModelStore(directory: directory, journal: h.controller.journal, expectedFeatures: SensorFeatures.names)
        #expect(try store.installIfEmpty(shippedModelAt: Self.shipped, wallNanoseconds: 1))
        let learning = try PolicyLearning(store: store, learningSetPath: Self.learningSet, options: Self.plumbing)
        // This test waits for the learner: at background priority, two busy CPUs (a shared CI
        // machine) left it without CPU for over 10 minutes.
        var configuration = PolicyService.Configuration()
        configuration.learnerInBackground = false
        try h.controller.startPolicyService(store: store, learning: learning, runningVersion: 1, configuration: configuration)
        let service = try #require(h.controller.policy)
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))

        // Each sensor's first confirmed verdict is journalled; the service stores what the model saw.
        var verdict: StoredEvent?
        #expect(eventually(within: 30) {
            verdict = (try? h.controller.journal.recentEvents(limit: 200, kinds: [.modelVerdict]))?
                .first { $0.subject == "PT-101A" && (try? h.controller.journal.eventFeatures($0.id)) != nil }
            return verdict != nil
        }, "a model verdict on PT-101A with its features")
        let event = try #require(verdict)
        let features = try #require(try h.controller.journal.eventFeatures(event.id))
        #expect(!features.samples.isEmpty && features.samples.allSatisfy { $0.count == SensorFeatures.count })
        #expect(features.diagnosis == model.schema.classes[Int(event.code)], "the stored verdict is the journalled one")
        #expect(service.samplesTaken.load(ordering: .relaxed) > 0)

        // The operator confirms it (through the service, as the console does): stored on the
        // caller's thread, durable before the receipt. Updates asked for twice: both are answered
        // (by one update when the second arrives before the learner starts, else by two).
        let receipt = try service.recordFeedback(event: event.id, FeedbackInput(verdict: .confirm, operatorName: "test", wallNanoseconds: 10))
        #expect(receipt.samples == features.samples.count && receipt.sensor == "PT-101A")
        #expect(try h.controller.journal.feedbackSamples().count == receipt.samples, "durable before the receipt")
        let answered = DispatchSemaphore(value: 0)
        let outcomes = Mutex<[Result<PolicyUpdateResult, PolicyLearningError>]>([])
        for _ in 0..<2 {
            service.requestUpdate(wallNanoseconds: 10) { r in
                outcomes.withLock { $0.append(r) }
                answered.signal()
            }
        }
        #expect(answered.wait(timeout: .now() + 600) == .success && answered.wait(timeout: .now() + 600) == .success, "the learner answered both")
        let results = outcomes.withLock { $0 }
        guard results.count == 2, case .success(let update) = results[0] else { Issue.record("update failed: \(results)"); return }
        guard case .deployed(let version, let parent, let report, _) = update else { Issue.record("not deployed: \(update.summary)"); return }
        #expect(version == 2 && parent == 1 && report.passed)
        if case .success(let second) = results[1] {
            // Asked for together: the same update answers both; asked for after it ran: a second
            // update over the same samples, which the gate judges on its own.
            if case .deployed(let v, _, _, _) = second { #expect(v == 2 || v == 3) }
        } else {
            Issue.record("the second request failed: \(results[1])")
        }
        #expect(eventually(within: 10) { h.controller.policyModelVersion.map { Int($0) == version || Int($0) == version + 1 } ?? false },
                "the cycle swapped the new version in")
        #expect(try h.controller.journal.modelUpdates().contains { $0.outcome == .accepted })

        // Another process rolls back: the registry watch brings v1 back to the cycle.
        _ = try store.rollback(to: 1)
        #expect(eventually(within: 10) { h.controller.policyModelVersion == 1 }, "the rollback reached the cycle")
    }

    @Test func feedbackOnAnEventWithoutFeaturesIsRefusedAndNothingIsStored() throws {
        let directory = NSTemporaryDirectory() + "vigil-policy-learning-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try DurableFile.makeDirectories(directory)
        let journal = try Journal(path: directory + "/j.sqlite")
        let store = try ModelStore(directory: directory + "/models", journal: journal, expectedFeatures: SensorFeatures.names)
        try store.installIfEmpty(shippedModelAt: Self.shipped, wallNanoseconds: 1)
        try journal.appendEvents([TimedEvent(plantNanoseconds: 1, cycle: 1, event: .failover(group: 0, from: 0, to: 1, byOperator: false))],
                                 codec: EventCodec(names: SubjectTable(sensors: ["PT-A", "PT-B"], groups: ["pressure"])), wallOffsetNanoseconds: 0)
        let learning = try PolicyLearning(store: store, learningSetPath: Self.learningSet, options: Self.quick)
        let input = FeedbackInput(verdict: .falseAlarm, operatorName: "test", wallNanoseconds: 1)
        #expect {
            try learning.recordFeedback(event: 1, input)
        } throws: { e in
            guard let e = e as? PolicyLearningError, case .noFeatures = e else { return false }
            return "\(e)".contains("no recorded model features")
        }
        #expect { try learning.recordFeedback(event: 99, input) } throws: { e in
            guard let e = e as? PolicyLearningError, case .noSuchEvent = e else { return false }
            return true
        }
        #expect(try journal.counts().feedback == 0)
        guard case .nothingToLearn = try learning.update(wallNanoseconds: 2) else { Issue.record("an update ran without feedback"); return }
    }
}
