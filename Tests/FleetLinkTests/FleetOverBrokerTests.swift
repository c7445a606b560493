import Config
import EdgeNode
import Fieldbus
import Fleet
import FleetLink
import Foundation
import HIL
import Journal
import Logging
import MQTT
import Policy
import Runtime
import Synchronization
import Testing
import VigilCore

/// Learning across sites over a real broker: three controllers on the simulated rig (real cycle,
/// journal, model registry and policy service, real edge node code with libmosquitto), one Debian
/// mosquitto on loopback, and the fleet learner over MQTT. Operators at site A call a pattern the
/// shipped model gets wrong a false alarm; A publishes the verdicts, the learner trains and
/// publishes the signed model retained, B and C verify, gate and deploy it off the edge node's
/// thread and report back; B's false alarms on the same pattern drop while its golden accuracy
/// stays within a point. A tampered envelope is refused by all three, each verdict says why.
@Suite(.serialized) struct FleetOverBrokerTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shippedPath = root.appendingPathComponent("models/default.vglm").path
    static let learningSetPath = root.appendingPathComponent("models/default.vgls").path
    static let shipped = try! ModelFile.decode(Array(try! Data(contentsOf: URL(fileURLWithPath: shippedPath))))
    static let learningSet = try! LearningSetFile.decode(Array(try! Data(contentsOf: URL(fileURLWithPath: learningSetPath))))
    static let key = try! Ed25519PrivateKey(raw: [UInt8](repeating: 0x5A, count: 32))
    static let group = "fleet-test"

    static var logger: Logger {
        var l = Logger(label: "fleet-test")
        l.logLevel = ProcessInfo.processInfo.environment["VIGIL_TEST_LOG"] == nil ? .critical : .info
        return l
    }

    /// One site: the demo plant on its own simulated rig, the shipped model as registry v1, the
    /// policy service, and the edge node with `mqtt.fleet:` (share feedback, accept the fleet key).
    final class Site {
        let name: String
        let directory: String
        let rig: SimulatedRig
        let controller: Controller
        let store: ModelStore
        let learning: PolicyLearning
        let edge: EdgeNodeService

        init(_ name: String, broker: String) throws {
            self.name = name
            directory = NSTemporaryDirectory() + "vigil-fleet-mqtt-\(name)-\(UUID().uuidString)"
            try DurableFile.makeDirectories(directory)
            let loaded = try ConfigLoader.loadPlant(path: FleetOverBrokerTests.root.appendingPathComponent("configs/demo-pump-station.yaml").path)
            let clock = SystemMonotonicClock()
            rig = try SimulatedRig(plant: loaded.plant, ports: .ephemeral, pacing: .unpaced, seed: 3, clock: clock)
            let (board, _) = SimulatedGPIO.board(for: loaded.board!, boardFile: "boards/raspberry-pi-4.yaml", plant: rig.plant, clock: clock)
            let gpio = try GPIOPlant(config: rig.plant, board: board, clock: clock)
            let journal = try Journal(path: directory + "/journal.sqlite")
            store = try ModelStore(directory: directory + "/models", journal: journal, expectedFeatures: FleetOverBrokerTests.learningSet.featureNames)
            try store.installIfEmpty(shippedModelAt: FleetOverBrokerTests.shippedPath, wallNanoseconds: 1)
            controller = try Controller(plant: rig.plant, board: loaded.board, gpio: gpio, journal: journal, logger: FleetOverBrokerTests.logger,
                                        policyModel: try store.loadDeployed().model)
            controller.setModelRegistry(store, absence: nil)
            try controller.start()
            learning = try PolicyLearning(store: store, learningSetPath: FleetOverBrokerTests.learningSetPath)
            var configuration = PolicyService.Configuration()
            configuration.registryPollNanoseconds = 200_000_000
            try controller.startPolicyService(store: store, learning: learning, runningVersion: 1, configuration: configuration)
            let mqtt = MQTTConfig(brokers: [broker], groupID: FleetOverBrokerTests.group, edgeNodeID: "site-\(name)", publishIntervalMilliseconds: 100,
                                  fleet: FleetConfig(site: name, shareFeedback: true, modelKey: FleetOverBrokerTests.key.publicKey.base64))
            edge = try EdgeNodeService(controller: controller, config: mqtt, credentials: nil, logger: FleetOverBrokerTests.logger, hostWrite: nil,
                                       reconnect: ReconnectPolicy(), fleetLearningSet: FleetOverBrokerTests.learningSet)
            try edge.start()
        }

        var fleet: FleetSiteLink { edge.fleet! }

        func shutdown() {
            controller.stop()
            edge.stop()
            rig.stop()
            try? FileManager.default.removeItem(atPath: directory)
        }
    }

    /// Healthy samples moved onto a slow, lossy line (as in FleetLessonTests).
    static func slowLine(_ healthy: [TrainingSample], count: Int, seed: UInt64) -> [[Float]] {
        var random = TrainingRandom(seed: seed)
        let latency = learningSet.featureNames.firstIndex(of: "latency")!, bad = learningSet.featureNames.firstIndex(of: "bad_quality")!
        return (0..<count).map { i in
            var x = healthy[(i * 7919) % healthy.count].features
            x[latency] = Float(3 + 2 * random.nextUnit())
            x[bad] = Float(0.1 + 0.2 * random.nextUnit())
            return x
        }
    }

    static func faultShare(_ model: PolicyModel, _ xs: [[Float]]) -> Double {
        let scratch = model.makeScratch()
        return Double(xs.filter { x in x.withUnsafeBufferPointer { model.decide($0, scratch: scratch).diagnosis != 0 } }.count) / Double(xs.count)
    }

    /// Polls until `condition` holds (the bound only turns a hang into a failure).
    static func eventually(within seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(50_000)
        }
        return try condition()
    }

    @Test(.enabled(if: MosquittoBroker.isInstalled, "needs Debian's mosquitto"))
    func aFalseAlarmTaughtAtSiteAIsReducedAtSiteBThroughTheBrokerAndATamperedModelIsRefusedEverywhere() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let address = try MQTTBrokerAddress(parsing: broker.url)
        let clock = SystemMonotonicClock()

        // The learner first: feedback is not retained.
        let learner = FleetBrokerLearner(
            settings: FleetBrokerLearner.Settings(group: Self.group, broker: address, minSamples: 20, seed: 7),
            shipped: Self.shipped, learningSet: Self.learningSet, key: Self.key, logger: Self.logger,
            wall: { Int64(Date().timeIntervalSince1970 * 1e9) }, monotonic: { clock.nowNanoseconds() },
            makeClient: { handler in MosquittoClient(options: MQTTConnectOptions(clientID: "fleet-learner"), events: handler) })
        let learnerDone = DispatchSemaphore(value: 0)
        let learnerThread = Thread { learner.run(); learnerDone.signal() }
        learnerThread.start()
        defer {
            learner.stop()
            _ = learnerDone.wait(timeout: .now() + 30)
        }

        let sites = try ["A", "B", "C"].map { try Site($0, broker: broker.url) }
        defer { sites.forEach { $0.shutdown() } }
        let (a, b, c) = (sites[0], sites[1], sites[2])
        #expect(Self.eventually(within: 60) { sites.allSatisfy { $0.edge.connectedBroker != nil } }, "every edge node connects")

        // Site A's operators: 20 verdicts of "false alarm" on windows of the slow-line pattern.
        let rows = Self.slowLine(Self.learningSet.replay.filter { $0.label == 0 }, count: 40, seed: 99)
        let scratch = Self.shipped.makeScratch()
        for e in 0..<20 {
            let window = Array(rows[(2 * e)..<(2 * e + 2)])
            let said = window[0].withUnsafeBufferPointer { Self.shipped.decide($0, scratch: scratch).diagnosis }
            _ = try a.learning.recordFeedback(sensor: "PT-10\(e % 3)", samples: window, modelSaid: Self.shipped.schema.classes[said],
                                              modelAction: nil, margin: nil,
                                              FeedbackInput(verdict: .falseAlarm, operatorName: "op-a", wallNanoseconds: 1_000 + Int64(e)))
        }
        let lastVerdict = try #require(try a.controller.journal.feedback(after: 0, limit: 100).last?.id)

        // A publishes every verdict; the cursor moves once the broker acknowledged them.
        #expect(Self.eventually(within: 60) { a.fleet.progress.feedbackCursor == lastVerdict }, "A's cursor: \(a.fleet.progress)")
        #expect(try a.controller.journal.fleetCursor(FleetSiteLink.cursorName) == lastVerdict)
        #expect(a.fleet.progress.feedbackAcknowledged == 20)
        #expect(b.fleet.progress.feedbackPublished == 0 && c.fleet.progress.feedbackPublished == 0)

        // The learner trains on them and publishes fleet v1; each site answers.
        #expect(Self.eventually(within: 300) { learner.progress.acknowledged == [1] }, "learner: \(learner.progress.refusedRuns)")
        let header = try #require(learner.progress.published.first)
        #expect(header.lineage == [FleetSiteContribution(site: "A", trainingSamples: 32, goldenSamples: 8)])
        #expect(learner.progress.samples == 20)
        #expect(Self.eventually(within: 300) {
            Set(learner.progress.verdicts.filter { $0.fleetVersion == 1 }.map(\.site)) == ["A", "B", "C"]
        }, "verdicts: \(learner.progress.verdicts)")
        for site in [b, c] {
            let report = try #require(site.fleet.progress.verdicts.first)
            #expect(report.deployed && report.fleetVersion == 1 && report.localVersion == 2, "\(site.name): \(report)")
            #expect(Self.eventually(within: 30) { site.fleet.progress.verdictsAcknowledged == 1 })
            let deployed = try site.store.loadDeployed().record
            #expect(deployed.version == 2 && deployed.parentVersion == 1 && ModelStore.fleetVersion(in: deployed) == 1)
            // The policy service takes it to the cycle and records its lineage.
            #expect(Self.eventually(within: 60) { site.controller.policyModelVersion == 2 }, "\(site.name) runs v2")
            let figures = try #require(site.controller.policy?.watchFigures.first { $0.version == 2 })
            #expect(figures.lineage == "fleet" && figures.fleetVersion == 1)
        }
        #expect(learner.progress.verdicts.filter { $0.fleetVersion == 1 && $0.site != "A" }.allSatisfy { $0.deployed })

        // B: the false alarm is reduced, the golden accuracy within a point.
        let bPattern = Self.slowLine(Self.learningSet.calibration.filter { $0.label == 0 }, count: 400, seed: 2026)
        let running = try b.store.loadDeployed().model
        let before = Self.faultShare(Self.shipped, bPattern), after = Self.faultShare(running, bPattern)
        #expect(before > 0.5 && after <= before * 0.5, "B's false alarms on the pattern: \(before) → \(after)")
        let goldenBefore = DistillationPipeline.evaluate(Self.shipped, Self.learningSet.golden).accuracy
        let goldenAfter = DistillationPipeline.evaluate(running, Self.learningSet.golden).accuracy
        #expect(goldenAfter >= goldenBefore - 0.01, "B's golden accuracy \(goldenBefore) → \(goldenAfter)")
        Self.logger.notice("site B: false alarms on the pattern \(before) → \(after), golden accuracy \(goldenBefore) → \(goldenAfter)")

        // A tampered fleet v2 on the models topic (one byte of the model changed after signing).
        var newer = header
        newer.fleetVersion = 2
        newer.parentFleetVersion = 1
        var tampered = try FleetModelEnvelope.signed(header: newer, model: running, key: Self.key).encode()
        tampered[tampered.count - 200] ^= 0x01
        let attacker = Events()
        let client = MosquittoClient(options: MQTTConnectOptions(clientID: "tamperer"), events: { e in attacker.box.withLock { $0.append(e) } })
        defer { client.destroy() }
        try client.connect(to: address, will: nil)
        #expect(Self.eventually(within: 30) { attacker.box.withLock { $0.contains { if case .connected = $0 { true } else { false } } } })
        _ = try client.publish(topic: FleetTopics.models(group: Self.group), payload: tampered, qos: .atLeastOnce, retain: true)
        #expect(Self.eventually(within: 120) {
            Set(learner.progress.verdicts.filter { $0.fleetVersion == 2 }.map(\.site)) == ["A", "B", "C"]
        }, "verdicts: \(learner.progress.verdicts)")
        for site in sites {
            let report = try #require(site.fleet.progress.verdicts.last)
            #expect(!report.deployed && report.fleetVersion == 2 && report.reason.contains("signature does not verify"), "\(site.name): \(report)")
        }
        #expect(learner.progress.verdicts.filter { $0.fleetVersion == 2 }.allSatisfy { !$0.deployed && $0.reason.contains("signature") })
        #expect(try b.store.loadDeployed().record.version == 2 && c.store.loadDeployed().record.version == 2)
    }
}

/// Events of a plain client, from its network thread.
final class Events: Sendable {
    let box = Mutex<[MQTTEvent]>([])
}
