import Foundation
import Testing
import Journal
import Policy
@testable import Runtime

/// Model versions on disk and in the registry: what is added loads back identically, rollback is
/// one call, and a damaged, swapped or incompatible file is refused with the reason.
@Suite struct ModelStoreTests {
    let directory = NSTemporaryDirectory() + "vigil-models-\(UUID().uuidString)"
    static let features = ["a", "b", "c", "d"]

    static func model(seed: UInt64, features: [String] = features) throws -> PolicyModel {
        var random = TrainingRandom(seed: seed)
        let samples = (0..<100).map { _ in features.map { _ in Float(random.nextGaussian()) } }
        let float = FloatMLP(sizes: [features.count, 10, PolicyLabels.diagnoses.count + PolicyLabels.actions.count], seed: seed)
        return try PolicyModel(schema: ModelSchema(features: features, classes: PolicyLabels.diagnoses, actions: PolicyLabels.actions),
                               normalisation: FeatureNormalisation(fitting: samples),
                               network: QuantizedMLP(quantizing: float, calibration: samples), lineage: ModelLineage(version: 0, parent: 0))
    }

    func store(expecting features: [String]? = Self.features) throws -> ModelStore {
        try DurableFile.makeDirectories(directory)
        let journal = try Journal(path: directory + "/journal.sqlite")
        return try ModelStore(directory: directory + "/models", journal: journal, expectedFeatures: features)
    }

    @Test func addedVersionsLoadBackAndRollbackRedeploysAnOlderOne() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try store()
        let first = try Self.model(seed: 1), second = try Self.model(seed: 2)
        let r1 = try store.add(first, parent: nil, trainingSummary: "initial", validationJSON: "{\"accuracy\":0.9}", deploy: true, wallNanoseconds: 1)
        let r2 = try store.add(second, parent: 1, trainingSummary: "feedback", validationJSON: "{}", deploy: true, wallNanoseconds: 2)
        #expect(r1.version == 1 && r2.version == 2 && r2.parentVersion == 1)
        let deployed = try store.loadDeployed()
        #expect(deployed.record.version == 2)
        #expect(deployed.model.network == second.network)
        #expect(deployed.model.lineage == ModelLineage(version: 2, parent: 1), "the file says who it is")
        let back = try store.rollback(to: 1)
        #expect(back.network == first.network)
        #expect(try store.loadDeployed().record.version == 1)
        #expect(throws: ModelStoreError.self) { try store.rollback(to: 7) }
    }

    @Test func damagedOrSwappedFileIsRefusedAndTheRegistryKeepsItsDeployedVersion() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try store()
        try store.add(try Self.model(seed: 1), parent: nil, trainingSummary: "", validationJSON: "{}", deploy: true, wallNanoseconds: 1)
        try store.add(try Self.model(seed: 2), parent: 1, trainingSummary: "", validationJSON: "{}", deploy: false, wallNanoseconds: 2)
        // Damage version 2 on disk: one flipped byte.
        var bytes = try DurableFile.read(store.path(version: 2))
        bytes[bytes.count / 2] ^= 0x10
        try DurableFile.write(bytes, to: store.path(version: 2))
        do {
            _ = try store.rollback(to: 2)
            Issue.record("a damaged file was deployed")
        } catch {
            guard case .digestMismatch = error else { Issue.record("expected a digest mismatch, got \(error)"); return }
        }
        #expect(try store.loadDeployed().record.version == 1, "the good version stays deployed")
    }

    @Test func modelForOtherFeaturesIsRefused() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try store(expecting: ["a", "b", "c", "e"])
        try store.add(try Self.model(seed: 1), parent: nil, trainingSummary: "", validationJSON: "{}", deploy: true, wallNanoseconds: 1)
        do {
            _ = try store.loadDeployed()
            Issue.record("a model for other features was loaded")
        } catch {
            guard case .featureSchema = error else { Issue.record("expected a feature-schema refusal, got \(error)"); return }
            #expect(error.description.contains("missing [\"e\"]"))
        }
    }

    @Test func shippedModelIsInstalledOnlyIntoAnEmptyRegistry() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try store()
        let shipped = directory + "/shipped.vglm"
        try DurableFile.write(ModelFile.encode(try Self.model(seed: 5)), to: shipped)
        #expect(try store.installIfEmpty(shippedModelAt: shipped, wallNanoseconds: 1))
        #expect(try !store.installIfEmpty(shippedModelAt: shipped, wallNanoseconds: 2))
        #expect(try store.loadDeployed().record.version == 1)
        // A shipped file that is not a model is refused.
        let other = try ModelStore(directory: directory + "/other", journal: Journal(path: directory + "/other.sqlite"), expectedFeatures: nil)
        try DurableFile.write(Array("not a model".utf8), to: directory + "/junk.vglm")
        #expect(throws: ModelStoreError.self) { try other.installIfEmpty(shippedModelAt: directory + "/junk.vglm", wallNanoseconds: 1) }
    }
}
