/// What the model reads and says: feature names in input order, diagnosis classes and actions in
/// logit order (the last layer gives `classes.count + actions.count` logits: two heads).
public struct ModelSchema: Sendable, Hashable {
    public var features: [String]
    public var classes: [String]
    public var actions: [String]

    public init(features: [String], classes: [String], actions: [String]) {
        self.features = features
        self.classes = classes
        self.actions = actions
    }

    public var outputCount: Int { classes.count + actions.count }
}

/// Per-feature affine normalisation applied before quantization: x' = (x − mean) · inverseSpread.
public struct FeatureNormalisation: Sendable, Hashable {
    public var mean: [Float]
    public var inverseSpread: [Float]

    public init(mean: [Float], inverseSpread: [Float]) {
        precondition(mean.count == inverseSpread.count, "one mean and one spread per feature")
        self.mean = mean
        self.inverseSpread = inverseSpread
    }

    /// Mean and 1/σ of each feature over `samples` (σ floored so a constant feature maps to 0).
    public init(fitting samples: [[Float]]) {
        precondition(!samples.isEmpty, "normalisation needs samples")
        let n = samples[0].count
        var mean = [Double](repeating: 0, count: n), m2 = mean
        for (i, x) in samples.enumerated() {
            for k in 0..<n {
                let d = Double(x[k]) - mean[k]
                mean[k] += d / Double(i + 1)
                m2[k] += d * (Double(x[k]) - mean[k])
            }
        }
        let count = Double(samples.count)
        self.init(mean: mean.map(Float.init),
                  inverseSpread: m2.map { Float(1 / max(($0 / count).squareRoot(), 1e-6)) })
    }

    @inline(__always)
    public func apply(_ x: Float, feature k: Int) -> Float {
        x.isFinite ? (x - mean[k]) * inverseSpread[k] : 0
    }

    public func apply(_ x: [Float]) -> [Float] { x.indices.map { apply(x[$0], feature: $0) } }
}

/// Who a model is: its version in the registry and the version it was derived from (0: none).
public struct ModelLineage: Sendable, Hashable {
    public var version: UInt32
    public var parent: UInt32

    public init(version: UInt32, parent: UInt32) {
        self.version = version
        self.parent = parent
    }
}

/// The deployable policy model: schema, normalisation and the int8 network.
public struct PolicyModel: Sendable, Hashable {
    public let schema: ModelSchema
    public let normalisation: FeatureNormalisation
    public let network: QuantizedMLP
    public var lineage: ModelLineage

    public enum ShapeError: Error, Sendable, Hashable {
        case featureCount(schema: Int, normalisation: Int, network: Int)
        case outputCount(schema: Int, network: Int)
    }

    public init(schema: ModelSchema, normalisation: FeatureNormalisation, network: QuantizedMLP, lineage: ModelLineage) throws(ShapeError) {
        guard schema.features.count == normalisation.mean.count, schema.features.count == network.inputCount else {
            throw .featureCount(schema: schema.features.count, normalisation: normalisation.mean.count, network: network.inputCount)
        }
        guard schema.outputCount == network.outputCount else {
            throw .outputCount(schema: schema.outputCount, network: network.outputCount)
        }
        self.schema = schema
        self.normalisation = normalisation
        self.network = network
        self.lineage = lineage
    }

    public func makeScratch() -> PolicyScratch { PolicyScratch(features: schema.features.count, network: network) }

    /// One sensor's decision from its raw feature vector, by the SIMD kernel. No allocation.
    public func decide(_ features: UnsafeBufferPointer<Float>, scratch: PolicyScratch) -> PolicyDecision {
        decide(features, scratch: scratch, reference: false)
    }

    /// The same through the reference kernel (tests and `vigil model eval --reference`).
    public func decideReference(_ features: UnsafeBufferPointer<Float>, scratch: PolicyScratch) -> PolicyDecision {
        decide(features, scratch: scratch, reference: true)
    }

    private func decide(_ features: UnsafeBufferPointer<Float>, scratch: PolicyScratch, reference: Bool) -> PolicyDecision {
        precondition(features.count >= schema.features.count, "feature vector too short")
        for k in 0..<schema.features.count { scratch.normalised[k] = normalisation.apply(features[k], feature: k) }
        let input = UnsafeBufferPointer(scratch.normalised)
        let logits = reference ? network.runReference(input, scratch: scratch.inference) : network.run(input, scratch: scratch.inference)
        let classes = schema.classes.count
        let c = QuantizedMLP.argmax(logits, 0..<classes)
        let a = QuantizedMLP.argmax(logits, classes..<(classes + schema.actions.count))
        return PolicyDecision(diagnosis: c, action: a, diagnosisLogit: logits[c], actionLogit: logits[classes + a])
    }

    /// Class and action probabilities for a person to read (softmax of the dequantized logits; allocates).
    public func probabilities(_ features: [Float]) -> (classes: [Float], actions: [Float]) {
        let scratch = makeScratch()
        let logits = features.withUnsafeBufferPointer { f -> [Float] in
            for k in 0..<schema.features.count { scratch.normalised[k] = normalisation.apply(f[k], feature: k) }
            let codes = network.run(UnsafeBufferPointer(scratch.normalised), scratch: scratch.inference)
            return codes.map { network.outputEncoding.dequantize($0) }
        }
        let n = schema.classes.count
        return (Softmax.probabilities(Array(logits[0..<n])), Softmax.probabilities(Array(logits[n...])))
    }
}

/// The model's answer for one sensor: indices into the schema's classes and actions, and their
/// int8 logit codes (a confidence margin the monitor may compare against a threshold).
public struct PolicyDecision: Sendable, Hashable {
    public var diagnosis: Int
    public var action: Int
    public var diagnosisLogit: Int8
    public var actionLogit: Int8
}

/// One thread's buffers for `PolicyModel.decide`, allocated once.
public final class PolicyScratch {
    let normalised: UnsafeMutableBufferPointer<Float>
    let inference: InferenceScratch

    init(features: Int, network: QuantizedMLP) {
        normalised = .allocate(capacity: max(features, 1))
        normalised.initialize(repeating: 0)
        inference = network.makeScratch()
    }

    deinit { normalised.deallocate() }
}
