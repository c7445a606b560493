import Foundation
import Testing
import Policy
import Monitor
@testable import Scenarios

/// The policy model in `models/default.vglm` is what `vigil model train` produces with its defaults:
/// regenerating the dataset and retraining (seeded) gives the same file, byte for byte. Release only
/// (about five minutes of training); runs in the release pass of README's test command.
@Suite struct ShippedModelTests {
    static let path = repositoryRoot.appendingPathComponent("models/default.vglm").path
    static let learningSetPath = repositoryRoot.appendingPathComponent("models/default.vgls").path

    @Test func shippedModelLoadsAndMatchesThisBuildsFeatures() throws {
        let model = try ModelFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: Self.path))))
        #expect(model.schema.features == SensorFeatures.names, "retrain with `vigil model train --out models/default.vglm` after changing the features")
        #expect(model.schema.classes == PolicyLabels.diagnoses && model.schema.actions == PolicyLabels.actions)
        let set = try LearningSetFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: Self.learningSetPath))))
        #expect(set.featureNames == model.schema.features)
        #expect(set.replay.count == 2_400 && set.golden.count == 1_600 && set.calibration.count == 2_000)
        #expect(Set(set.golden.map(\.label)).count == model.schema.classes.count, "the golden set holds every class")
    }

    @Test(.enabled(if: !_isDebugAssertConfiguration(), "release only: runs in the release pass of README's test command"))
    func shippedModelIsReproducedByItsTrainingCommand() throws {
        let output = try ModelTraining.run()
        let shipped = Array(try Data(contentsOf: URL(fileURLWithPath: Self.path)))
        let regenerated = ModelFile.encode(output.result.model)
        #expect(regenerated == shipped, "sha256 \(SHA256.hex(regenerated)) regenerated, \(SHA256.hex(shipped)) shipped")
        let shippedSet = Array(try Data(contentsOf: URL(fileURLWithPath: Self.learningSetPath)))
        let regeneratedSet = LearningSetFile.encode(output.learningSet)
        #expect(regeneratedSet == shippedSet, "learning set sha256 \(SHA256.hex(regeneratedSet)) regenerated, \(SHA256.hex(shippedSet)) shipped")
    }
}
