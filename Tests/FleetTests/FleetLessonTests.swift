import Foundation
import Testing
import Journal
import Policy
import Runtime
@testable import Fleet

/// The cross-site lesson in process, with the shipped model and learning set and the learner's
/// default options: site A's operators call a pattern the shipped model gets wrong a false alarm,
/// the fleet learner trains on A's feedback and signs the candidate, site B's gate verifies and
/// deploys it, and B's false alarms on the same pattern drop while B's golden accuracy stays within
/// a point. Worse, replayed, tampered, unsigned and wrongly signed models are refused by the gate.
@Suite(.serialized) struct FleetLessonTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let shippedPath = root.appendingPathComponent("models/default.vglm").path
    static let shipped = try! ModelFile.decode(Array(try! Data(contentsOf: URL(fileURLWithPath: shippedPath))))
    static let learningSet = try! LearningSetFile.decode(Array(try! Data(contentsOf: root.appendingPathComponent("models/default.vgls"))))
    static let key = try! Ed25519PrivateKey(raw: [UInt8](repeating: 0x5A, count: 32))

    /// Healthy samples moved onto a slow, lossy line (latency z 3–5 over its limit, 10–30 % bad
    /// quality: what a marginal RS-485 line gives a healthy transmitter); the shipped model calls
    /// most of them comms faults.
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

    /// Site A's operators: `events` verdicts of "false alarm", each on a window of two samples.
    static func siteAFeedback(events: Int) -> [FleetFeedbackSample] {
        let rows = slowLine(learningSet.replay.filter { $0.label == 0 }, count: 2 * events, seed: 99)
        let scratch = shipped.makeScratch()
        return (0..<events).map { e in
            let window = Array(rows[(2 * e)..<(2 * e + 2)])
            let said = window[0].withUnsafeBufferPointer { shipped.decide($0, scratch: scratch).diagnosis }
            return FleetFeedbackSample(site: "A", eventID: Int64(100 + e), sensor: "PT-10\(e % 3)", window: window, label: "healthy",
                                       modelSaid: shipped.schema.classes[said], bucket: said == 0 ? .success : .failure,
                                       modelVersion: 1, fleetVersion: 0, wallNanoseconds: 1_000 + Int64(e))
        }
    }

    struct Site {
        let directory: String
        let store: ModelStore
        func remove() { try? FileManager.default.removeItem(atPath: directory) }
    }

    static func site(_ name: String) throws -> Site {
        let directory = NSTemporaryDirectory() + "vigil-fleet-\(name)-\(UUID().uuidString)"
        try DurableFile.makeDirectories(directory)
        let journal = try Journal(path: directory + "/journal.sqlite")
        let store = try ModelStore(directory: directory + "/models", journal: journal, expectedFeatures: learningSet.featureNames)
        try store.installIfEmpty(shippedModelAt: shippedPath, wallNanoseconds: 1)
        return Site(directory: directory, store: store)
    }

    @Test func aFalseAlarmTaughtAtSiteAIsGoneAtSiteBAfterBDeploysTheSignedFleetModel() throws {
        // Site A's operators give their verdicts through the controller's own feedback path; the
        // controller exports them as fleet samples, which travel as bytes.
        let a = try Self.site("A")
        defer { a.remove() }
        let learning = try PolicyLearning(store: a.store, learningSetPath: Self.root.appendingPathComponent("models/default.vgls").path)
        for s in Self.siteAFeedback(events: 20) {
            _ = try learning.recordFeedback(sensor: s.sensor, samples: s.window, modelSaid: s.modelSaid, modelAction: nil, margin: nil,
                                            FeedbackInput(verdict: .falseAlarm, operatorName: "op-a", wallNanoseconds: s.wallNanoseconds))
        }
        let exported = try a.store.fleetFeedbackSamples(site: "A")
        #expect(exported.count == 20 && exported.allSatisfy { $0.window.count == 2 && $0.label == "healthy" && $0.modelVersion == 1 })
        #expect(exported.map(\.wallNanoseconds) == (0..<20).map { 1_000 + Int64($0) }, "one sample per verdict, oldest first")
        let feedback = try exported.map { try FleetFeedbackSample.decode($0.encode()) }
        #expect(feedback.filter { $0.bucket == .failure }.count >= 12, "the shipped model calls the pattern a fault")
        let input = FleetLearningInput(parent: Self.shipped, parentFleetVersion: 0, learningSet: Self.learningSet, samples: feedback,
                                       fleetVersion: 1, createdWallNanoseconds: 5_000, seed: 7)
        let outcome = FleetLearner().learn(input)
        guard case .candidate(let model, let header, let notes) = outcome else { Issue.record("no candidate: \(outcome)"); return }
        #expect(notes.ignored.isEmpty)
        #expect(header.lineage == [FleetSiteContribution(site: "A", trainingSamples: 32, goldenSamples: 8)])
        let siteA = try #require(header.siteGolden.first)
        #expect(siteA.set == "A" && siteA.samples == 8 && siteA.candidateAccuracy > siteA.parentAccuracy)
        #expect(header.shippedGolden.candidateAccuracy >= header.shippedGolden.parentAccuracy - 0.01)
        let envelope = try FleetModelEnvelope.signed(header: header, model: model, key: Self.key)
        let bytes = envelope.encode()
        // The same input and seed give the same signed bytes, through the transport-independent run.
        let again = try runFleetLearning(input, key: Self.key)
        #expect(again.envelope.encode() == bytes, "a fleet learning run is deterministic")

        // Site B: the shipped model, its own golden data, a slow line of its own.
        let b = try Self.site("B")
        defer { b.remove() }
        let bPattern = Self.slowLine(Self.learningSet.calibration.filter { $0.label == 0 }, count: 400, seed: 2026)
        let before = Self.faultShare(Self.shipped, bPattern)
        #expect(before > 0.5, "B's false alarms on the pattern with the shipped model: \(before)")
        let gate = FleetModelGate(site: "B", trustedKey: Self.key.publicKey, registry: b.store, learningSet: Self.learningSet)
        let result = gate.admit(bytes, wallNanoseconds: 10_000)
        let version = try #require(result.deployedVersion, "\(result)")
        #expect(result.refusal == nil && result.report.deployed && result.report.localVersion == 2 && version == 2)
        let deployed = try b.store.load(version: version).record
        #expect(deployed.parentVersion == 1 && ModelStore.fleetVersion(in: deployed) == 1)
        #expect(deployed.trainingSummary.contains("fleet model v1"))
        let running = try b.store.loadDeployed()
        #expect(running.record.version == 2)
        let after = Self.faultShare(running.model, bPattern)
        #expect(after <= before * 0.2, "B's false alarms on the pattern: \(before) → \(after)")
        let goldenBefore = DistillationPipeline.evaluate(Self.shipped, Self.learningSet.golden).accuracy
        let goldenAfter = DistillationPipeline.evaluate(running.model, Self.learningSet.golden).accuracy
        #expect(goldenAfter >= goldenBefore - 0.01, "B's golden accuracy \(goldenBefore) → \(goldenAfter)")
        #expect(abs(result.report.goldenAfter - goldenAfter) < 1e-9)
        let report = try FleetVerdictReport.decode(result.report.encode())
        #expect(report == result.report && report.site == "B" && report.fleetVersion == 1)

        // The same envelope again, older ones, damaged ones: refused, and the deployed version stays.
        #expect(Self.refusal(gate.admit(bytes, wallNanoseconds: 11_000)) { if case .notNewer(1, 1, false) = $0 { true } else { false } })
        var tampered = bytes
        tampered[tampered.count / 2] ^= 0x04
        #expect(Self.refusal(gate.admit(tampered, wallNanoseconds: 11_000)) { if case .badSignature = $0 { true } else { if case .malformed = $0 { true } else { false } } })
        var newer = header
        newer.fleetVersion = 2
        let wrongKey = try FleetModelEnvelope.signed(header: newer, model: model, key: try Ed25519PrivateKey.generate())
        #expect(Self.refusal(gate.admit(wrongKey.encode(), wallNanoseconds: 11_000)) { if case .badSignature = $0 { true } else { false } })
        let unsigned = FleetModelEnvelope(header: newer, modelBytes: ModelFile.encode(model), signature: nil)
        #expect(Self.refusal(gate.admit(unsigned.encode(), wallNanoseconds: 11_000)) { if case .unsigned = $0 { true } else { false } })
        #expect(Self.refusal(gate.admit(Array(bytes.prefix(100)), wallNanoseconds: 11_000)) { if case .malformed = $0 { true } else { false } })
        #expect(try b.store.loadDeployed().record.version == 2)

        // A rollback works as for a local version, and the rolled-back fleet version is not taken again.
        try b.store.rollback(to: 1)
        #expect(try b.store.loadDeployed().record.version == 1)
        #expect(Self.refusal(gate.admit(bytes, wallNanoseconds: 12_000)) { if case .notNewer(1, nil, true) = $0 { true } else { false } })
        #expect(try b.store.loadDeployed().record.version == 1)
    }

    /// A model that is worse on B's golden data (the normalisation of four features shifted by two
    /// spreads, as a broken training run might leave it), signed with the fleet key, is refused by
    /// B's local gate; so is a model of another feature schema.
    @Test func aSignedButWorseModelIsRefusedByTheLocalGate() throws {
        let b = try Self.site("B")
        defer { b.remove() }
        var mean = Self.shipped.normalisation.mean
        let spread = Self.shipped.normalisation.inverseSpread
        for k in 0..<4 { mean[k] += 2 / spread[k] }
        let worse = try PolicyModel(schema: Self.shipped.schema, normalisation: FeatureNormalisation(mean: mean, inverseSpread: spread),
                                    network: Self.shipped.network, lineage: ModelLineage(version: 3, parent: 2))
        let header = FleetModelHeader(fleetVersion: 3, parentFleetVersion: 2, createdWallNanoseconds: 1, lineage: [],
                                      shippedGolden: FleetGoldenFigure(set: "shipped", samples: 0, parentAccuracy: .nan, candidateAccuracy: .nan),
                                      siteGolden: [])
        let gate = FleetModelGate(site: "B", trustedKey: Self.key.publicKey, registry: b.store, learningSet: Self.learningSet)
        let result = gate.admit(try FleetModelEnvelope.signed(header: header, model: worse, key: Self.key).encode(), wallNanoseconds: 2)
        #expect(Self.refusal(result) { if case .localGate(let reasons) = $0 { !reasons.isEmpty } else { false } })
        #expect(result.report.goldenAfter < result.report.goldenBefore - 0.01, "\(result.report)")
        #expect(result.description.contains("refused") && result.description.contains("local validation gate"))

        var names = Self.shipped.schema.features
        names.swapAt(0, 1)
        let renamed = try PolicyModel(schema: ModelSchema(features: names, classes: Self.shipped.schema.classes, actions: Self.shipped.schema.actions),
                                      normalisation: Self.shipped.normalisation, network: Self.shipped.network, lineage: Self.shipped.lineage)
        let other = gate.admit(try FleetModelEnvelope.signed(header: header, model: renamed, key: Self.key).encode(), wallNanoseconds: 3)
        #expect(Self.refusal(other) { if case .featureSchema = $0 { true } else { false } })
        #expect(try b.store.loadDeployed().record.version == 1)
    }

    /// Operators at site C call real faults of the golden set healthy: the candidate cannot learn
    /// that without losing the faults, and nothing is published.
    @Test func theFleetLearnerRefusesACandidateThatIsWorseSomewhere() throws {
        let faults = Self.learningSet.replay.filter { $0.label == 6 }.prefix(60)
        let feedback = faults.enumerated().map { i, s in
            FleetFeedbackSample(site: "C", eventID: Int64(i), sensor: "FT-1", window: [s.features], label: "healthy", modelSaid: "dropout",
                                bucket: .failure, modelVersion: 1, fleetVersion: 0, wallNanoseconds: Int64(i))
        }
        var options = LearnerOptions()
        options.epochs = 10
        let outcome = FleetLearner(options: options).learn(FleetLearningInput(parent: Self.shipped, parentFleetVersion: 0, learningSet: Self.learningSet,
                                                                             samples: feedback, fleetVersion: 1, createdWallNanoseconds: 1, seed: 3))
        guard case .refused(let reasons, let header, _) = outcome else { Issue.record("published: \(outcome)"); return }
        #expect(!reasons.isEmpty)
        #expect(header.lineage == [FleetSiteContribution(site: "C", trainingSamples: 48, goldenSamples: 12)])
    }

    @Test func theSplitHoldsBackEveryFifthVerdictOfEachSiteAndIsDeterministic() {
        let a = Self.siteAFeedback(events: 10)
        let learner = FleetLearner()
        let split = learner.split(a.reversed())
        #expect(split.count == 1 && split[0].golden.map(\.eventID) == [104, 109] && split[0].training.count == 8)
        #expect(learner.split(a) == split)
    }

    /// The registry entry's JSON is valid whatever the site ids hold, and names the fleet version.
    @Test func theRegistryEntryNamesTheFleetVersionInValidJSON() throws {
        let header = FleetModelHeader(fleetVersion: 9, parentFleetVersion: 8, createdWallNanoseconds: -1,
                                      lineage: [FleetSiteContribution(site: "plant \"A\"\\\n\u{1}é", trainingSamples: 1, goldenSamples: 2)],
                                      shippedGolden: FleetGoldenFigure(set: "shipped", samples: 3, parentAccuracy: .nan, candidateAccuracy: 0.5),
                                      siteGolden: [])
        let gate = IncrementalLearner(deployed: Self.shipped, learningSet: Self.learningSet).gate(Self.shipped, corrections: [])
        let json = FleetModelGate<ModelStore>.json(header, gate: gate)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any], "\(json)")
        #expect((object["lineage"] as? [[String: Any]])?.first?["site"] as? String == "plant \"A\"\\\n\u{1}é")
        let record = ModelVersion(version: 4, parentVersion: 3, createdWallNanoseconds: 0, filePath: "", sha256: "", trainingSummary: "",
                                  validationJSON: json, deployed: true, note: "")
        #expect(ModelStore.fleetVersion(in: record) == 9)
        #expect(ModelStore.fleetVersion(of: ModelVersion(version: 5, parentVersion: 4, createdWallNanoseconds: 0, filePath: "", sha256: "",
                                                         trainingSummary: "", validationJSON: "{}", deployed: true, note: ""),
                                        history: [record]) == 9, "a local update of a fleet model descends from it")
    }

    static func refusal(_ r: FleetGateResult, _ matches: (FleetRefusal) -> Bool) -> Bool {
        guard let refusal = r.refusal else { return false }
        return matches(refusal) && !r.report.deployed && r.report.reason == refusal.description
    }
}
