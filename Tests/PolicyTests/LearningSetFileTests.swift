import Testing
@testable import Policy

/// The learning set's file: what is written reads back identically; a damaged, truncated, foreign
/// or newer file is refused with the reason (the learner then does not run; the model stays).
@Suite struct LearningSetFileTests {
    static let set: LearningSet = {
        let s = TrainerTests.samples(30, seed: 4)
        return LearningSet(featureNames: (0..<6).map { "f\($0)" }, replay: Array(s[0..<12]),
                           golden: Array(s[12..<24]).map { var x = $0; x.action = nil; return x }, calibration: Array(s[24...]))
    }()

    @Test func learningSetRoundTrips() throws {
        let bytes = LearningSetFile.encode(Self.set)
        #expect(try LearningSetFile.decode(bytes) == Self.set)
        #expect(LearningSetFile.path(forModel: "models/default.vglm") == "models/default.vgls")
    }

    @Test func damagedTruncatedForeignAndNewerFilesAreRefused() throws {
        let bytes = LearningSetFile.encode(Self.set)
        var flipped = bytes
        flipped[bytes.count / 2] ^= 0x04
        #expect { try LearningSetFile.decode(flipped) } throws: { ($0 as? ModelFileError).map { if case .checksumMismatch = $0 { true } else { false } } ?? false }
        for n in [0, 5, 11, bytes.count / 3, bytes.count - 1] {
            #expect(throws: ModelFileError.self) { try LearningSetFile.decode(Array(bytes.prefix(n))) }
        }
        var foreign = bytes
        foreign[0] = UInt8(ascii: "X")
        #expect { try LearningSetFile.decode(foreign) } throws: { ($0 as? ModelFileError).map { if case .badMagic = $0 { true } else { false } } ?? false }
        var newer = bytes
        newer[4] = 2
        #expect { try LearningSetFile.decode(newer) } throws: { ($0 as? ModelFileError).map { if case .unsupportedFormat = $0 { true } else { false } } ?? false }
        #expect(throws: ModelFileError.self) { try LearningSetFile.decode(ModelFile.encode(try ModelStoreFreeModel.make())) }
    }
}

/// A small model to show that a model file is not a learning set.
enum ModelStoreFreeModel {
    static func make() throws -> PolicyModel {
        let float = FloatMLP(sizes: [6, 8, 5], seed: 2)
        let xs = TrainerTests.samples(20, seed: 1).map(\.features)
        return try PolicyModel(schema: ModelSchema(features: (0..<6).map { "f\($0)" }, classes: ["a", "b", "c"], actions: ["x", "y"]),
                               normalisation: FeatureNormalisation(fitting: xs), network: QuantizedMLP(quantizing: float, calibration: xs),
                               lineage: ModelLineage(version: 1, parent: 0))
    }
}
