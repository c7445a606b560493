import Foundation
import Testing
import Journal
import Policy
@testable import Runtime

/// A deployed model whose file was damaged after deployment: the controller starts on the newest
/// intact version of its lineage, the registry records the damage and the new deployment (with an
/// audit entry), and a lineage with nothing intact says why for every version.
@Suite struct ModelFallbackTests {
    let directory = NSTemporaryDirectory() + "vigil-fallback-\(UUID().uuidString)"

    func store() throws -> ModelStore {
        try DurableFile.makeDirectories(directory)
        return try ModelStore(directory: directory + "/models", journal: Journal(path: directory + "/journal.sqlite"),
                              expectedFeatures: ModelStoreTests.features)
    }

    /// Flips one byte in the middle of a version's file (what bit rot or a bad copy does).
    static func damage(_ path: String) throws {
        var bytes = try DurableFile.read(path)
        bytes[bytes.count / 2] ^= 0xFF
        try DurableFile.write(bytes, to: path)
    }

    @Test func aDamagedDeployedVersionFallsBackToTheNewestIntactAncestor() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try store()
        // v1 ← v2 ← v3 (deployed); v4 is another branch from v1, not deployed.
        try store.add(ModelStoreTests.model(seed: 1), parent: nil, trainingSummary: "shipped", validationJSON: "{}", deploy: true, wallNanoseconds: 1)
        try store.add(ModelStoreTests.model(seed: 2), parent: 1, trainingSummary: "update", validationJSON: "{}", deploy: true, wallNanoseconds: 2)
        try store.add(ModelStoreTests.model(seed: 3), parent: 2, trainingSummary: "update", validationJSON: "{}", deploy: true, wallNanoseconds: 3)
        try store.add(ModelStoreTests.model(seed: 4), parent: 1, trainingSummary: "branch", validationJSON: "{}", deploy: false, wallNanoseconds: 4)
        try Self.damage(store.path(version: 3))
        try Self.damage(store.path(version: 2))

        let started = try store.loadDeployedOrFallback(wallNanoseconds: 10)
        #expect(started.record.version == 1, "v3 and v2 are damaged; v1 is the newest intact version of v3's lineage (v4 is not in it)")
        #expect(started.damaged.map(\.version) == [3, 2])
        #expect(started.damaged[0].reason.contains("SHA-256"))
        #expect(started.alarmText?.contains("policy model v3 does not load") == true && started.alarmText?.contains("running v1") == true)
        let history = try store.journal.modelHistory()
        #expect(history.first { $0.deployed }?.version == 1, "the registry deploys the fallback")
        #expect(history.filter { $0.damaged != nil }.map(\.version) == [3, 2], "history shows the damaged versions")
        let audit = try store.journal.auditLog().map(\.value)
        #expect(audit.contains { $0.command == "(model fallback at start)" && $0.result.contains("deployed v1") })
        // Started again, v1 loads as the deployed one: no further fallback.
        #expect(try store.loadDeployedOrFallback(wallNanoseconds: 11).fellBack == false)
        // An engineer may deploy the intact branch; the damaged ones are refused.
        #expect(throws: ModelStoreError.self) { try store.rollback(to: 3) }
        try store.rollback(to: 4, audit: AuditEntry(wallNanoseconds: 12, source: "console:test", command: "model rollback 4", result: "ok", role: "engineer"))
        #expect(try store.loadDeployed().record.version == 4)
    }

    @Test func aLineageWithNothingIntactSaysWhyForEachVersion() throws {
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try store()
        try store.add(ModelStoreTests.model(seed: 1), parent: nil, trainingSummary: "shipped", validationJSON: "{}", deploy: true, wallNanoseconds: 1)
        try store.add(ModelStoreTests.model(seed: 2), parent: 1, trainingSummary: "update", validationJSON: "{}", deploy: true, wallNanoseconds: 2)
        try Self.damage(store.path(version: 2))
        try FileManager.default.removeItem(atPath: store.path(version: 1))
        #expect {
            _ = try store.loadDeployedOrFallback(wallNanoseconds: 10)
        } throws: { e in
            guard case ModelStoreError.noIntactVersion(let damaged) = e else { return false }
            return damaged.map(\.version) == [2, 1] && "\(e)".contains("v2:") && "\(e)".contains("v1:")
        }
        #expect(try store.journal.deployedModel()?.version == 2, "nothing was deployed in its place")
    }
}
