/// What the incremental learner keeps of the original training data: a class-stratified replay set
/// (rehearsed in every update so old knowledge is not forgotten), the golden set the validation
/// gate scores every candidate on, and the calibration set every re-quantization uses (so the
/// activation ranges of version n + 1 are fitted on the same inputs as version 1's). Raw features,
/// as the monitor produces them. It ships beside the model it was made with (`models/default.vgls`)
/// and is written by `vigil model train` from the same seeded dataset.
public struct LearningSet: Sendable, Hashable {
    public var featureNames: [String]
    public var replay: [TrainingSample]
    public var golden: [TrainingSample]
    public var calibration: [TrainingSample]

    public init(featureNames: [String], replay: [TrainingSample], golden: [TrainingSample], calibration: [TrainingSample]) {
        self.featureNames = featureNames
        self.replay = replay
        self.golden = golden
        self.calibration = calibration
    }

    /// The learning set of a training run: the pipeline's own calibration samples (the first
    /// `calibration` of the training set round-robin by class, as `DistillationPipeline` takes them,
    /// so re-quantizing version n sees what version 1 saw), `replay` training samples round-robin
    /// by class from the other end of the set, and `golden` validation samples round-robin by class.
    /// Deterministic.
    public init(featureNames: [String], train: [TrainingSample], validation: [TrainingSample], classes: Int,
                replay: Int = 2_400, golden: Int = 1_600, calibration: Int = 2_000) {
        self.init(featureNames: featureNames,
                  replay: DistillationPipeline.stratified(train.reversed(), count: replay, classes: classes),
                  golden: DistillationPipeline.stratified(validation, count: golden, classes: classes),
                  calibration: DistillationPipeline.stratified(train, count: calibration, classes: classes))
    }
}

/// The learning set's file, little-endian:
///
/// ```
/// "VGLS"  format:u16 (=1)  flags:u16
/// features:u16 {len:u8 utf8}…
/// 3 × { count:u32 { label:u8 action:u8 (255: none) features:f32[features] }… }   replay, golden, calibration
/// crc32:u32   (IEEE 802.3 over every byte before it)
/// ```
public enum LearningSetFile {
    public static let magic: [UInt8] = Array("VGLS".utf8)

    /// The learning set's path beside a model file: `X.vglm` → `X.vgls`.
    public static func path(forModel model: String) -> String {
        (model.hasSuffix(".vglm") ? String(model.dropLast(5)) : model) + ".vgls"
    }
    public static let format: UInt16 = 1
    static let maxSamples = 1_000_000

    public static func encode(_ set: LearningSet) -> [UInt8] {
        var w = ByteWriter()
        w.bytes(magic)
        w.u16(format)
        w.u16(0)
        w.u16(UInt16(set.featureNames.count))
        for n in set.featureNames {
            let utf8 = Array(n.utf8.prefix(255))
            w.u8(UInt8(utf8.count))
            w.bytes(utf8)
        }
        for samples in [set.replay, set.golden, set.calibration] {
            w.u32(UInt32(samples.count))
            for s in samples {
                w.u8(UInt8(clamping: s.label))
                w.u8(s.action.map { UInt8(clamping: $0) } ?? 255)
                for k in 0..<set.featureNames.count { w.f32(k < s.features.count ? s.features[k] : 0) }
            }
        }
        w.u32(CRC32.checksum(w.data))
        return w.data
    }

    /// Decodes a learning set, refusing a foreign, newer, corrupt or truncated file with the reason.
    public static func decode(_ data: [UInt8]) throws(ModelFileError) -> LearningSet {
        var r = try ByteReader(checkedFile: data, magic: magic, format: format, minimumBytes: 12)
        let count = Int(try r.u16("feature count"))
        guard count > 0, count <= ModelFile.maxNames else { throw .invalid(offset: r.offset, what: "\(count) features") }
        var names: [String] = []
        for _ in 0..<count {
            let bytes = try r.bytes(Int(try r.u8("feature name length")), "feature name")
            guard let name = String(validating: bytes, as: UTF8.self) else { throw .invalid(offset: r.offset, what: "feature name not UTF-8") }
            names.append(name)
        }
        var sets: [[TrainingSample]] = []
        for what in ["replay", "golden", "calibration"] {
            let n = Int(try r.u32("\(what) count"))
            guard n <= maxSamples else { throw .invalid(offset: r.offset, what: "\(n) \(what) samples") }
            var samples: [TrainingSample] = []
            samples.reserveCapacity(n)
            for _ in 0..<n {
                let label = Int(try r.u8("\(what) label")), action = try r.u8("\(what) action")
                var features = [Float](repeating: 0, count: count)
                for k in 0..<count { features[k] = try r.f32("\(what) features") }
                samples.append(TrainingSample(features: features, label: label, action: action == 255 ? nil : Int(action)))
            }
            sets.append(samples)
        }
        guard r.offset == r.end else { throw .trailingBytes(count: r.end - r.offset) }
        return LearningSet(featureNames: names, replay: sets[0], golden: sets[1], calibration: sets[2])
    }
}
