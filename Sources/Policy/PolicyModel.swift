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
    /// Normalisation and input quantization fused per feature (derived, prepared once).
    let encoder: FeatureEncoder

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
        encoder = FeatureEncoder(normalisation, network.inputEncoding)
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.schema == b.schema && a.normalisation == b.normalisation && a.network == b.network && a.lineage == b.lineage
    }

    public func hash(into h: inout Hasher) {
        h.combine(schema)
        h.combine(network)
        h.combine(lineage)
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
        let codes = encoder.encode(features, into: scratch.inference.input)
        let logits = reference ? network.runReference(codes: codes, scratch: scratch.inference) : network.run(codes: codes, scratch: scratch.inference)
        let classes = schema.classes.count
        let c = QuantizedMLP.argmax(logits, 0..<classes)
        let a = QuantizedMLP.argmax(logits, classes..<(classes + schema.actions.count))
        var second = Int16.min
        for i in 0..<classes where i != c && Int16(logits[i]) > second { second = Int16(logits[i]) }
        return PolicyDecision(diagnosis: c, action: a, diagnosisLogit: logits[c], actionLogit: logits[classes + a],
                              margin: classes > 1 ? Int16(logits[c]) - second : 255)
    }

    /// Class and action probabilities for a person to read (softmax of the dequantized logits; allocates).
    public func probabilities(_ features: [Float]) -> (classes: [Float], actions: [Float]) {
        let scratch = makeScratch()
        let logits = features.withUnsafeBufferPointer { f -> [Float] in
            let codes = network.run(codes: encoder.encode(f, into: scratch.inference.input), scratch: scratch.inference)
            return codes.map { network.outputEncoding.dequantize($0) }
        }
        let n = schema.classes.count
        return (Softmax.probabilities(Array(logits[0..<n])), Softmax.probabilities(Array(logits[n...])))
    }
}

/// The model's input encoding: each raw feature x becomes the int8 code
/// clamp(roundHalfEven(x · a_k + b_k)) with a_k = inverseSpread_k / s_in and
/// b_k = z_in − mean_k · inverseSpread_k / s_in (normalisation and quantization in one multiply-add;
/// a non-finite x is the zero point, i.e. the feature's mean). Both kernels start from these codes.
final class FeatureEncoder: @unchecked Sendable {
    let count: Int
    let a: UnsafeMutablePointer<Float>
    let b: UnsafeMutablePointer<Float>
    let zero: Int8

    init(_ n: FeatureNormalisation, _ q: ActivationQuantization) {
        count = n.mean.count
        a = .allocate(capacity: max(count, 1))
        b = .allocate(capacity: max(count, 1))
        for k in 0..<count {
            a[k] = n.inverseSpread[k] / q.scale
            b[k] = Float(q.zeroPoint) - n.mean[k] * n.inverseSpread[k] / q.scale
        }
        zero = Int8(q.zeroPoint)
    }

    deinit { a.deallocate(); b.deallocate() }

    /// Writes the codes of `features` into `out` and returns them. No allocation.
    @inline(__always)
    func encode(_ features: UnsafeBufferPointer<Float>, into out: UnsafeMutableBufferPointer<Int8>) -> UnsafeBufferPointer<Int8> {
        // Four features at a time; the same arithmetic as the scalar tail below, lane by lane.
        var k = 0
        let f = UnsafeRawPointer(features.baseAddress!), pa = UnsafeRawPointer(a), pb = UnsafeRawPointer(b)
        let o = UnsafeMutableRawPointer(out.baseAddress!)
        let zero4 = SIMD4<Float>(repeating: Float(zero)), magic = SIMD4<Float>(repeating: 12_582_912)
        while k + 4 <= count {
            let x = f.loadUnaligned(fromByteOffset: 4 * k, as: SIMD4<Float>.self)
            var v = x * pa.loadUnaligned(fromByteOffset: 4 * k, as: SIMD4<Float>.self) + pb.loadUnaligned(fromByteOffset: 4 * k, as: SIMD4<Float>.self)
            v.replace(with: SIMD4(repeating: -129), where: v .< -129)
            v.replace(with: SIMD4(repeating: 128), where: v .> 128)
            // Non-finite lanes take the zero point: x − x is 0 exactly when x is finite (NaN otherwise).
            v.replace(with: zero4, where: .!((x - x) .== SIMD4<Float>(repeating: 0)))
            // After adding 1.5 · 2²³ the low mantissa bits hold round(v) (ties to even) in two's
            // complement: the code is the bit pattern minus that of 1.5 · 2²³. No conversion instruction.
            let q = unsafeBitCast(v + magic, to: SIMD4<Int32>.self) &- SIMD4<Int32>(repeating: 0x4B40_0000)
            var code = q
            code.replace(with: -128, where: q .< -128)
            code.replace(with: 127, where: q .> 127)
            o.storeBytes(of: SIMD4<Int8>(truncatingIfNeeded: code), toByteOffset: k, as: SIMD4<Int8>.self)
            k += 4
        }
        for k in k..<count {
            let x = features[k]
            guard x.isFinite else { out[k] = zero; continue }
            let v = Swift.min(Swift.max(x * a[k] + b[k], -129), 128)
            // Adding and removing 1.5 · 2²³ rounds to the nearest integer, ties to even, for |v| < 2²²
            // (one add and one subtract: no libm call on CPUs without a rounding instruction).
            let rounded = (v + 12_582_912) - 12_582_912
            out[k] = Int8(clamping: Int32(rounded))
        }
        return UnsafeBufferPointer(rebasing: out[0..<count])
    }
}

/// The model's answer for one sensor: indices into the schema's classes and actions, and their
/// int8 logit codes (a confidence margin the monitor may compare against a threshold).
public struct PolicyDecision: Sendable, Hashable {
    public var diagnosis: Int
    public var action: Int
    public var diagnosisLogit: Int8
    public var actionLogit: Int8
    /// The diagnosis logit over the runner-up class, in int8 output steps (small: an edge case).
    public var margin: Int16
}

/// One thread's buffers for `PolicyModel.decide`, allocated once.
public final class PolicyScratch {
    let inference: InferenceScratch

    init(features: Int, network: QuantizedMLP) {
        inference = InferenceScratch(capacity: max(network.widest, features))
    }
}
