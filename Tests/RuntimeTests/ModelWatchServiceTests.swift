import Foundation
import Synchronization
import Testing
import Journal
import Monitor
import Policy
import VigilCore
@testable import Runtime
import Kernel

/// The model watch through the real controller and policy service on the simulated rig, with a real
/// journal and model registry: operator verdicts that contradict the deployed version roll it back
/// (journalled with the figures, announced, taken by the cycle, persisted); a version with nothing
/// to roll back to raises `model_error` and leaves the cycle on the rules alone until another version
/// is deployed.
@Suite(.serialized) struct ModelWatchServiceTests {
    static let shipped = PolicyServiceTests.shipped
    /// Small numbers, so a handful of verdicts decide: baseline from the first 3, a drop of more than
    /// 20 points after that.
    static var settings: ModelWatchSettings { ModelWatchSettings(margin: 0.2, window: 6, minOutcomes: 3, contradictions: 3, contradictionMargin: 30) }

    static func monotonicNow() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// A started controller with the shipped model as v1 and, with `withUpdate`, a v2 (child of v1)
    /// deployed, and the policy service following the registry with the test's watch settings.
    static func start(withUpdate: Bool) throws -> (RuntimeHarness, ModelStore, PolicyService, String) {
        let model = try ModelFile.decode(DurableFile.read(shipped))
        let h = try RuntimeHarness(policyModel: model)
        let directory = NSTemporaryDirectory() + "vigil-model-watch-\(UUID().uuidString)"
        let store = try ModelStore(directory: directory, journal: h.controller.journal, expectedFeatures: SensorFeatures.names)
        try store.installIfEmpty(shippedModelAt: shipped, wallNanoseconds: 1)
        if withUpdate {
            try store.add(model, parent: 1, trainingSummary: "update under watch", validationJSON: "{}", deploy: true, wallNanoseconds: 2)
        }
        var configuration = PolicyService.Configuration()
        configuration.watch = settings
        configuration.eventScanNanoseconds = 100_000_000
        configuration.registryPollNanoseconds = 100_000_000
        try h.controller.startPolicyService(store: store, learning: nil, runningVersion: withUpdate ? 2 : 1, configuration: configuration)
        return (h, store, try #require(h.controller.policy), directory)
    }

    /// Journals `count` detections on PT-101A at the current plant time and waits until the service
    /// has recorded what the model said about each; returns their feature records, oldest first.
    static func detections(_ h: RuntimeHarness, count: Int) throws -> [EventFeatures] {
        let sensor = try #require(h.controller.plant.sensors.firstIndex { $0.id == "PT-101A" })
        let events = (0..<count).map { k in
            TimedEvent(plantNanoseconds: monotonicNow() + UInt64(k), cycle: 1,
                       event: .findingRaised(.sensor(Int32(sensor)), .spike, statistic: 9, threshold: 5))
        }
        let before = try h.controller.journal.lastEventID()
        try h.controller.journal.appendEvents(events, codec: h.controller.codec, wallOffsetNanoseconds: 0)
        var recorded: [EventFeatures] = []
        #expect(eventually(within: 30) {
            let ids = ((try? h.controller.journal.events(after: before, kinds: [.detection], limit: 500)) ?? [])
                .filter { $0.subject == "PT-101A" && $0.value == 9 }.map(\.id)
            recorded = ids.compactMap { try? h.controller.journal.eventFeatures($0) }
            return recorded.count == count && recorded.allSatisfy { $0.diagnosis != nil }
        }, "the model's opinion on every detection is recorded")
        return recorded
    }

    /// The operator's verdict on a detection: the class the model said (agreeing) or another one.
    static func verdict(_ h: RuntimeHarness, on f: EventFeatures, agreeing: Bool, classes: [String]) throws {
        let said = try #require(f.diagnosis)
        let truth = agreeing ? said : try #require(classes.first { $0 != said && $0 != "healthy" })
        _ = try h.controller.journal.recordFeedback(OperatorFeedback(wallNanoseconds: 5, operatorName: "test", subject: f.sensor,
                                                                     eventID: f.eventID, verdict: .correctedClass, correctedClass: truth))
    }

    @Test func aDropBeyondTheMarginRollsBackPersistsAndIsAnnounced() throws {
        let (h, store, service, directory) = try Self.start(withUpdate: true)
        defer {
            h.shutdown()
            try? FileManager.default.removeItem(atPath: directory)
        }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        let classes = try store.loadDeployed().model.schema.classes
        let events = try Self.detections(h, count: 4)
        #expect(events.allSatisfy { $0.modelVersion == 2 }, "v2 gave the opinions")
        // Three agreeing verdicts set v2's baseline (100 %), the fourth disagrees: 75 %, beyond the margin.
        for (k, e) in events.enumerated() { try Self.verdict(h, on: e, agreeing: k < 3, classes: classes) }

        #expect(eventually(within: 30) { (try? h.controller.journal.deployedModel()?.version) == 1 }, "v1 deployed in the registry")
        #expect(eventually(within: 30) { h.controller.policyModelVersion == 1 }, "the cycle took v1")
        let audit = try h.controller.journal.auditLog().map(\.value)
        let entry = try #require(audit.first { $0.command == "(model watch)" })
        #expect(entry.result.contains("v2 rolled back to v1") && entry.result.contains("agreement 75%") && entry.role == "system")
        let alarm = try #require(h.controller.systemAlarms.active.first { $0.key == Controller.modelWatchAlarmKey })
        #expect(alarm.text.contains("rolled back to v1 automatically"))
        #expect(!service.modelWithdrawn)

        // Persisted: a fresh read of the journal (what a restart loads) has v2's figures and state,
        // and v1's once the service has taken it up (just after offering it to the cycle).
        let reopened = try Journal(path: h.journalPath)
        var figures: [ModelWatchFigures] = []
        #expect(eventually(within: 30) {
            figures = (try? reopened.modelWatchFigures()) ?? []
            return figures.contains { $0.version == 1 }
        })
        let v2 = try #require(figures.first { $0.version == 2 })
        #expect(v2.state == .rolledBack && v2.baseline == 1.0 && v2.outcomes >= 4 && v2.lineage == "site")
        #expect(v2.reason.contains("rolled back to v1"))
        let v1 = try #require(figures.first { $0.version == 1 })
        #expect(v1.afterRollback && v1.state == .watching, "v1 came back by the watch's rollback: a drop of it is a model error")
        // The same verdicts are not counted twice (a rescan after restart reads the cursors).
        #expect(try reopened.modelWatchCursor("feedback") != nil)
        #expect(try !reopened.recordModelOutcome(ModelOutcome(version: 2, proof: .operatorVerdict, modelSaid: "x", truth: "x", margin: 0),
                                                 eventID: events[0].eventID, wallNanoseconds: 9))
    }

    @Test func aModelErrorStandsAcrossARestartUntilAnotherVersionIsDeployed() throws {
        let directory = NSTemporaryDirectory() + "vigil-model-watch-restart-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try DurableFile.makeDirectories(directory)
        let journal = try Journal(path: directory + "/journal.sqlite")
        let store = try ModelStore(directory: directory + "/models", journal: journal, expectedFeatures: SensorFeatures.names)
        try store.installIfEmpty(shippedModelAt: Self.shipped, wallNanoseconds: 1)
        let model = try store.loadDeployed().model
        // What the previous run left: v1 raised a model error.
        try journal.recordModelWatch([ModelWatchFigures(version: 1, lineage: "site", recent: [false, false, false], outcomes: 3,
                                                        contradictions: 3, state: .modelError,
                                                        reason: "model_error: it called 3 confirmed hard faults healthy with a confident margin")],
                                     wallNanoseconds: 1)
        let withdrawals = Atomic<Int>(0), reinstatements = Atomic<Int>(0)
        let notices = Mutex<[ModelWatchNotice]>([])
        let keeper = ModelWatchKeeper(journal: journal, store: store, schema: model.schema, sensorIDs: ["PT-101A"], settings: Self.settings,
                                      wall: { 5 }, withdraw: { withdrawals.add(1, ordering: .relaxed) },
                                      reinstate: { reinstatements.add(1, ordering: .relaxed) })
        keeper.notify = { n in notices.withLock { $0.append(n) } }
        keeper.start(deployed: 1)
        #expect(withdrawals.load(ordering: .relaxed) == 1, "the model stays off the cycle")
        guard case .modelError(1, let cause, _)? = notices.withLock({ $0.first }) else {
            Issue.record("the model error is raised again at start: \(notices.withLock { $0 })")
            return
        }
        #expect(cause == "it called 3 confirmed hard faults healthy with a confident margin")

        try store.add(model, parent: 1, trainingSummary: "retrained", validationJSON: "{}", deploy: true, wallNanoseconds: 6)
        keeper.deploymentChanged(to: 2)
        #expect(reinstatements.load(ordering: .relaxed) == 1)
        #expect(notices.withLock { $0.last } == .resumed(version: 2))
        let v2 = try #require(try journal.modelWatchFigures().first { $0.version == 2 })
        #expect(v2.state == .watching && v2.baseline == nil && v2.lineage == "site", "v1 was never judged: v2's first window sets its baseline")
        #expect(try journal.modelWatchFigures().first { $0.version == 1 }?.state == .modelError, "v1's record stays")
    }

    @Test func aConfirmedHardFaultJudgesTheModelsLatestOpinionOnTheSensorOnce() throws {
        let (h, _, _, directory) = try Self.start(withUpdate: false)
        defer {
            h.shutdown()
            try? FileManager.default.removeItem(atPath: directory)
        }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        let detection = try #require(try Self.detections(h, count: 1).first)
        let sensor = try #require(h.controller.plant.sensors.firstIndex { $0.id == "PT-101A" })
        // The monitor confirms the fault (as the journal records it), then fails over away from it.
        let group = try #require(h.controller.plant.redundancyGroups.firstIndex { $0.members.contains("PT-101A") })
        let other = try #require(h.controller.plant.sensors.firstIndex { $0.id != "PT-101A" && h.controller.plant.redundancyGroups[group].members.contains($0.id) })
        let t = Self.monotonicNow()
        try h.controller.journal.appendEvents([
            TimedEvent(plantNanoseconds: t, cycle: 1, event: .healthChanged(sensor: Int32(sensor), from: .suspect, to: .faulty)),
            TimedEvent(plantNanoseconds: t + 1, cycle: 1, event: .failover(group: Int32(group), from: Int32(sensor), to: Int32(other), byOperator: false)),
        ], codec: h.controller.codec, wallOffsetNanoseconds: 0)
        var judged: [(eventID: Int64, outcome: ModelOutcome)] = []
        #expect(eventually(within: 30) {
            judged = ((try? h.controller.journal.modelOutcomes()) ?? []).filter { $0.outcome.proof == .confirmedFault }
            return !judged.isEmpty
        }, "the confirmed fault is counted")
        // Its opinion is the latest recorded on PT-101A before the fault: the detection's or a later verdict's.
        let (eventID, outcome) = try #require(judged.first)
        let opinion = try #require(try h.controller.journal.eventFeatures(eventID))
        #expect(eventID >= detection.eventID && opinion.sensor == "PT-101A")
        #expect(outcome.modelSaid == opinion.diagnosis && outcome.version == 1 && outcome.truth == nil)
        #expect(outcome.agrees == (opinion.diagnosis != "healthy"))
        Thread.sleep(forTimeInterval: 0.5)
        #expect(try h.controller.journal.modelOutcomes().filter { $0.outcome.proof == .confirmedFault }.count == 1,
                "the failover judges the same opinion as the health change: counted once")
        let figures = try #require(try h.controller.journal.modelWatchFigures().first { $0.version == 1 })
        #expect(figures.outcomes == 1 && figures.agreed == (outcome.agrees ? 1 : 0))
    }

    @Test func aModelErrorLeavesTheCycleOnTheRulesAloneUntilAnotherVersionIsDeployed() throws {
        let (h, store, service, directory) = try Self.start(withUpdate: false)
        defer {
            h.shutdown()
            try? FileManager.default.removeItem(atPath: directory)
        }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        let classes = try store.loadDeployed().model.schema.classes
        #expect(eventually(within: 30) { service.samplesTaken.load(ordering: .relaxed) > 0 }, "the model scores the sensors")
        let events = try Self.detections(h, count: 4)
        // v1 has no earlier version: its drop is a model error.
        for (k, e) in events.enumerated() { try Self.verdict(h, on: e, agreeing: k < 3, classes: classes) }

        #expect(eventually(within: 30) { service.modelWithdrawn }, "the model is taken off the cycle")
        #expect(eventually(within: 30) { h.controller.systemAlarms.active.contains { $0.key == Controller.modelErrorAlarmKey } },
                "the operator is told (just after the model is withdrawn)")
        #expect(h.controller.policyModelVersion == nil)
        #expect(h.controller.policyModelAbsence?.contains("model_error") == true)
        let alarm = try #require(h.controller.systemAlarms.active.first { $0.key == Controller.modelErrorAlarmKey })
        #expect(alarm.text.contains("model_error") && alarm.text.contains("rules alone") && alarm.text.contains("intervention policy"))
        #expect(try h.controller.journal.auditLog().contains { $0.value.command == "(model watch)" && $0.value.result.contains("model_error") })
        #expect(try h.controller.journal.modelWatchFigures().first { $0.version == 1 }?.state == .modelError)
        #expect(try h.controller.journal.deployedModel()?.version == 1, "nothing was deployed in its place")

        // Rules only: the cycle scores no sensor (the feature tape stops). The first pause lets the
        // service drain what the tape held when the model was withdrawn.
        Thread.sleep(forTimeInterval: 1)
        let taken = service.samplesTaken.load(ordering: .relaxed)
        Thread.sleep(forTimeInterval: 1)
        #expect(service.samplesTaken.load(ordering: .relaxed) == taken, "no sample scored while the model is withdrawn")

        // An engineer deploys another version: the model is back on the cycle and the alarm cleared.
        let model = try store.loadDeployed().model
        try store.add(model, parent: 1, trainingSummary: "retrained", validationJSON: "{}", deploy: true, wallNanoseconds: 3)
        #expect(eventually(within: 30) { h.controller.policyModelVersion == 2 }, "the cycle runs v2")
        #expect(!service.modelWithdrawn)
        #expect(eventually(within: 30) { !h.controller.systemAlarms.active.contains { $0.key == Controller.modelErrorAlarmKey } },
                "the model error's alarm is cleared")
        #expect(eventually(within: 30) { service.samplesTaken.load(ordering: .relaxed) > taken }, "the cycle scores the sensors again")
    }
}
