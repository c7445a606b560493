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

    @Test func shippedModelLoadsAndMatchesThisBuildsFeatures() throws {
        let model = try ModelFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: Self.path))))
        #expect(model.schema.features == SensorFeatures.names, "retrain with `vigil model train --out models/default.vglm` after changing the features")
        #expect(model.schema.classes == PolicyLabels.diagnoses && model.schema.actions == PolicyLabels.actions)
    }

    @Test(.enabled(if: !_isDebugAssertConfiguration(), "release only: runs in the release pass of README's test command"))
    func shippedModelIsReproducedByItsTrainingCommand() throws {
        let dataset = try DatasetCampaign.generate(options: DatasetOptions(runsPerKind: 60, baseSeed: 2026))
        let result = try DistillationPipeline.run(featureNames: dataset.featureNames, train: dataset.train, validation: dataset.validation,
                                                  options: DistillationPipeline.Options(seed: 2026))
        let shipped = Array(try Data(contentsOf: URL(fileURLWithPath: Self.path)))
        let regenerated = ModelFile.encode(result.model)
        #expect(regenerated == shipped, "sha256 \(SHA256.hex(regenerated)) regenerated, \(SHA256.hex(shipped)) shipped")
    }
}
