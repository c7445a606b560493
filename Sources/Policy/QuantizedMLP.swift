/// Why a set of int8 layers cannot form a network.
public enum QuantizedModelError: Error, Sendable, Hashable {
    case empty
    case shapeMismatch(layer: Int, detail: String)
    case encodingMismatch(layer: Int)
    case invalidScale(layer: Int, channel: Int)
}

/// One fully connected int8 layer (docs/POLICY-MODEL.md, "Arithmetic"):
/// per-channel symmetric int8 weights, asymmetric int8 input and output, int32 bias with scale
/// s_in · s_w[c], fixed-point requantization. The stored fields are what the model file holds;
/// the folded bias and the multipliers are prepared from them once, at load.
public struct QuantizedLayer: Sendable, Hashable {
    public let inputs: Int
    public let outputs: Int
    /// ReLU fused into the output clamp (every layer but the last).
    public let relu: Bool
    /// Row-major int8 in −127…127: `weights[c * inputs + k]`.
    public let weights: [Int8]
    /// Per output channel: the real value of one weight step.
    public let weightScales: [Float]
    /// int32, zero point 0, scale input.scale · weightScales[c].
    public let bias: [Int32]
    public let input: ActivationQuantization
    public let output: ActivationQuantization

    /// bias[c] − z_in · Σ_k w[c,k]: the input zero point folded in offline.
    let foldedBias: [Int32]
    /// s_in · s_w[c] / s_out as a fixed-point multiplier.
    let multipliers: [QuantizedMultiplier]
    /// Lowest output code: the zero point with ReLU (real 0), else −128.
    let lowest: Int32

    public init(inputs: Int, outputs: Int, relu: Bool, weights: [Int8], weightScales: [Float], bias: [Int32],
                input: ActivationQuantization, output: ActivationQuantization, index: Int = 0) throws(QuantizedModelError) {
        guard inputs > 0, outputs > 0, weights.count == inputs * outputs, weightScales.count == outputs, bias.count == outputs else {
            throw .shapeMismatch(layer: index, detail: "\(outputs) × \(inputs) weights, \(weightScales.count) scales and \(bias.count) biases given \(weights.count) weights")
        }
        var folded = [Int32](repeating: 0, count: outputs)
        var multipliers = [QuantizedMultiplier](repeating: QuantizedMultiplier(m0: 0, shift: 0), count: outputs)
        for c in 0..<outputs {
            guard weightScales[c] > 0, weightScales[c].isFinite else { throw .invalidScale(layer: index, channel: c) }
            var rowSum: Int32 = 0
            for k in 0..<inputs { rowSum &+= Int32(weights[c * inputs + k]) }
            folded[c] = bias[c] &- input.zeroPoint &* rowSum
            multipliers[c] = QuantizedMultiplier(Double(input.scale) * Double(weightScales[c]) / Double(output.scale))
        }
        self.inputs = inputs
        self.outputs = outputs
        self.relu = relu
        self.weights = weights
        self.weightScales = weightScales
        self.bias = bias
        self.input = input
        self.output = output
        self.foldedBias = folded
        self.multipliers = multipliers
        self.lowest = relu ? output.zeroPoint : -128
    }

    /// Quantizes a float layer: weight scale per channel = max |w| / 127, bias to int32.
    init(quantizing layer: DenseLayer, relu: Bool, input: ActivationQuantization, output: ActivationQuantization, index: Int) throws(QuantizedModelError) {
        var weights = [Int8](repeating: 0, count: layer.weights.count)
        var scales = [Float](repeating: 1, count: layer.outputs)
        var bias = [Int32](repeating: 0, count: layer.outputs)
        for c in 0..<layer.outputs {
            var maxAbs: Float = 0
            for k in 0..<layer.inputs { maxAbs = max(maxAbs, abs(layer.weights[c * layer.inputs + k])) }
            let s: Float = maxAbs > 0 && maxAbs.isFinite ? maxAbs / 127 : 1
            scales[c] = s
            for k in 0..<layer.inputs {
                let q = (layer.weights[c * layer.inputs + k] / s).rounded(.toNearestOrAwayFromZero)
                weights[c * layer.inputs + k] = Int8(min(max(q, -127), 127))
            }
            let b = (Double(layer.bias[c]) / (Double(input.scale) * Double(s))).rounded(.toNearestOrAwayFromZero)
            bias[c] = Int32(min(max(b, Double(Int32.min)), Double(Int32.max)))
        }
        try self.init(inputs: layer.inputs, outputs: layer.outputs, relu: relu, weights: weights, weightScales: scales,
                      bias: bias, input: input, output: output, index: index)
    }

    /// The float layer these int8 weights stand for (for the learner's shadow weights and tests).
    public var dequantized: DenseLayer {
        var w = [Float](repeating: 0, count: weights.count)
        var b = [Float](repeating: 0, count: outputs)
        for c in 0..<outputs {
            for k in 0..<inputs { w[c * inputs + k] = Float(weights[c * inputs + k]) * weightScales[c] }
            b[c] = Float(Double(bias[c]) * Double(input.scale) * Double(weightScales[c]))
        }
        return DenseLayer(inputs: inputs, outputs: outputs, weights: w, bias: b)
    }

    /// Requantizes one accumulator to the output code (single rounding, see `FixedPoint`).
    @inline(__always)
    func requantize(_ acc: Int32, channel c: Int) -> Int8 {
        let m = multipliers[c]
        let v = output.zeroPoint &+ FixedPoint.multiplySingleRounding(acc, m0: m.m0, rightShift: m.rightShift)
        return Int8(min(max(v, lowest), 127))
    }
}

/// The int8 network: `layers[0].input` encodes the (normalised) features, the last layer's output
/// the logits. Two kernels give identical codes: `runReference` (plain loops, the specification)
/// and `run` (blocked 16-bit multiply-adds over input pairs). Neither allocates.
public struct QuantizedMLP: Sendable, Hashable {
    public let layers: [QuantizedLayer]
    /// The same parameters in one contiguous block per kind, for the SIMD kernel (prepared once).
    let prepared: PreparedNetwork

    public init(layers: [QuantizedLayer]) throws(QuantizedModelError) {
        guard !layers.isEmpty else { throw .empty }
        for i in 1..<layers.count {
            guard layers[i].inputs == layers[i - 1].outputs else {
                throw .shapeMismatch(layer: i, detail: "takes \(layers[i].inputs) inputs, the previous layer gives \(layers[i - 1].outputs)")
            }
            guard layers[i].input == layers[i - 1].output else { throw .encodingMismatch(layer: i) }
        }
        self.layers = layers
        prepared = PreparedNetwork(layers)
    }

    public static func == (a: Self, b: Self) -> Bool { a.layers == b.layers }
    public func hash(into h: inout Hasher) { h.combine(layers) }

    /// Post-training quantization of `network`, calibrated on `calibration` (normalised inputs):
    /// each tensor's encoding covers the range it took over the set.
    public init(quantizing network: FloatMLP, calibration: [[Float]]) throws(QuantizedModelError) {
        precondition(!calibration.isEmpty, "calibration needs at least one input")
        var lo = [Float](repeating: 0, count: network.layers.count + 1)
        var hi = lo
        for x in calibration {
            for v in x { lo[0] = min(lo[0], v); hi[0] = max(hi[0], v) }
            for (l, a) in network.activations(x).enumerated() {
                for v in a { lo[l + 1] = min(lo[l + 1], v); hi[l + 1] = max(hi[l + 1], v) }
            }
        }
        var layers: [QuantizedLayer] = []
        var input = ActivationQuantization(calibratedMin: lo[0], max: hi[0])
        for (l, layer) in network.layers.enumerated() {
            let output = ActivationQuantization(calibratedMin: lo[l + 1], max: hi[l + 1])
            layers.append(try QuantizedLayer(quantizing: layer, relu: l < network.layers.count - 1, input: input, output: output, index: l))
            input = output
        }
        try self.init(layers: layers)
    }

    // Stored, not computed: the kernels read them on every call (no array access, no allocation).
    public var inputCount: Int { prepared.inputCount }
    public var outputCount: Int { prepared.outputCount }
    public var inputEncoding: ActivationQuantization { prepared.inputEncoding }
    public var outputEncoding: ActivationQuantization { prepared.outputEncoding }
    public var widest: Int { prepared.widest }

    /// The float network the int8 weights stand for (dequantized weights and biases).
    public var dequantized: FloatMLP { FloatMLP(layers: layers.map(\.dequantized)) }

    /// Bytes of weights, scales and biases.
    public var parameterBytes: Int { layers.reduce(0) { $0 + $1.weights.count + 4 * $1.weightScales.count + 4 * $1.bias.count } }

    /// Scratch for one thread's inferences.
    public func makeScratch() -> InferenceScratch { InferenceScratch(capacity: widest) }

    /// Quantizes `features` (already normalised) into `x` with the input encoding.
    @inline(__always)
    func quantizeInput(_ features: UnsafeBufferPointer<Float>, into x: UnsafeMutableBufferPointer<Int8>) {
        let q = inputEncoding
        for k in 0..<inputCount { x[k] = q.quantize(features[k]) }
    }

    /// Logit codes of normalised `features` by the plain reference kernel (input quantized with
    /// `inputEncoding`). The result lives in `scratch` until its next use.
    public func runReference(_ features: UnsafeBufferPointer<Float>, scratch: InferenceScratch) -> UnsafeBufferPointer<Int8> {
        precondition(features.count >= inputCount && scratch.capacity >= widest, "features or scratch too small")
        quantizeInput(features, into: scratch.input)
        return runReference(codes: UnsafeBufferPointer(scratch.input), scratch: scratch)
    }

    /// The same by the SIMD kernel: identical codes.
    public func run(_ features: UnsafeBufferPointer<Float>, scratch: InferenceScratch) -> UnsafeBufferPointer<Int8> {
        precondition(features.count >= inputCount && scratch.capacity >= widest, "features or scratch too small")
        quantizeInput(features, into: scratch.input)
        return run(codes: UnsafeBufferPointer(scratch.input), scratch: scratch)
    }

    /// Logit codes of int8 input codes by the reference kernel: plain loops over the layers' stored
    /// fields, the specification the SIMD kernel is tested against.
    public func runReference(codes: UnsafeBufferPointer<Int8>, scratch: InferenceScratch) -> UnsafeBufferPointer<Int8> {
        precondition(codes.count >= inputCount && scratch.capacity >= widest, "codes or scratch too small")
        var x = scratch.a, y = scratch.b
        for k in 0..<inputCount { x[k] = codes[k] }
        for layer in layers {
            for c in 0..<layer.outputs {
                var acc = layer.foldedBias[c]
                let row = c * layer.inputs
                for k in 0..<layer.inputs { acc &+= Int32(layer.weights[row + k]) &* Int32(x[k]) }
                y[c] = layer.requantize(acc, channel: c)
            }
            swap(&x, &y)
        }
        return UnsafeBufferPointer(rebasing: x[0..<outputCount])
    }

    /// Logit codes of int8 input codes by the SIMD kernel: identical to `runReference` (integer sums
    /// are exact). Activations are widened to int16 once per layer; each input pair (x[2p], x[2p+1])
    /// is broadcast, and a block of four output channels accumulates w·x over the pairs with one
    /// 16-bit multiply-and-add-adjacent per pair (x86 `pmaddwd`, ARM `smlal`): eight MACs per
    /// instruction, no horizontal sums. Weights are prepared once in that order. No allocation.
    public func run(codes: UnsafeBufferPointer<Int8>, scratch: InferenceScratch) -> UnsafeBufferPointer<Int8> {
        precondition(codes.count >= inputCount && scratch.capacity >= widest, "codes or scratch too small")
        let p = prepared
        let wide = scratch.wide, pairs = scratch.pairs, out = scratch.a
        let n0 = p.inputCount
        for k in 0..<n0 { wide[k] = Int16(codes[k]) }
        wide[n0] = 0
        for l in 0..<p.layerCount {
            let n = Int(p.shape[4 * l]), m = Int(p.shape[4 * l + 1])
            let zOut = p.shape[4 * l + 2], lowest = p.shape[4 * l + 3]
            let pairCount = (n + 1) / 2, blocks = (m + 3) / 4
            let raw = UnsafeRawPointer(wide)
            for q in 0..<pairCount {
                let word = raw.loadUnaligned(fromByteOffset: 4 * q, as: UInt32.self)
                pairs[q] = unsafeBitCast(SIMD4<UInt32>(repeating: word), to: SIMD8<Int16>.self)
            }
            let last = l == p.layerCount - 1
            var w = p.blockedWeights + p.blockedOffset[l]
            let c0 = p.channelOffset[l]
            for b in 0..<blocks {
                // Two accumulators: the multiply-add's latency, not its throughput, bounds one chain.
                var acc = p.blockedBias[p.blockOffset[l] + b], acc2 = SIMD4<Int32>(repeating: 0)
                var q = 0
                while q + 2 <= pairCount {
                    let p0 = SIMD8<Int32>(truncatingIfNeeded: w[q]) &* SIMD8<Int32>(truncatingIfNeeded: pairs[q])
                    let p1 = SIMD8<Int32>(truncatingIfNeeded: w[q + 1]) &* SIMD8<Int32>(truncatingIfNeeded: pairs[q + 1])
                    acc &+= p0.evenHalf &+ p0.oddHalf
                    acc2 &+= p1.evenHalf &+ p1.oddHalf
                    q += 2
                }
                if q < pairCount {
                    let p0 = SIMD8<Int32>(truncatingIfNeeded: w[q]) &* SIMD8<Int32>(truncatingIfNeeded: pairs[q])
                    acc &+= p0.evenHalf &+ p0.oddHalf
                }
                acc &+= acc2
                w += pairCount
                for j in 0..<4 {
                    let c = 4 * b + j
                    guard c < m else { break }
                    let v = zOut &+ FixedPoint.multiplySingleRounding(acc[j], m0: p.m0[c0 + c], rightShift: p.rightShift[c0 + c])
                    let code = min(max(v, lowest), 127)
                    if last { out[c] = Int8(truncatingIfNeeded: code) } else { wide[c] = Int16(truncatingIfNeeded: code) }
                }
            }
            if !last { wide[m] = 0 }
        }
        return UnsafeBufferPointer(rebasing: out[0..<p.outputCount])
    }

    /// The index of the largest code in `logits[range]` (the first on ties).
    @inline(__always)
    public static func argmax(_ logits: UnsafeBufferPointer<Int8>, _ range: Range<Int>) -> Int {
        var best = range.lowerBound
        for i in range where logits[i] > logits[best] { best = i }
        return best - range.lowerBound
    }
}

/// A network's parameters laid out for the SIMD kernel, built once from the layers and never
/// changed: safe to share between threads. Per layer, output channels in blocks of four and inputs
/// in pairs: block b, pair q holds the int16 weights (w[4b, 2q], w[4b, 2q+1], w[4b+1, 2q], …,
/// w[4b+3, 2q+1]), zero beyond the layer's edges; folded biases per block; multipliers per channel.
final class PreparedNetwork: @unchecked Sendable {
    let layerCount: Int
    let inputCount: Int
    let outputCount: Int
    let widest: Int
    let inputEncoding: ActivationQuantization
    let outputEncoding: ActivationQuantization
    let blockedWeights: UnsafeMutablePointer<SIMD8<Int16>>
    let blockedBias: UnsafeMutablePointer<SIMD4<Int32>>
    let m0: UnsafeMutablePointer<Int32>
    let rightShift: UnsafeMutablePointer<Int32>
    /// Per layer: inputs, outputs, output zero point, lowest output code.
    let shape: UnsafeMutablePointer<Int32>
    /// Per layer: its first weight vector, first bias block and first channel.
    let blockedOffset: UnsafeMutablePointer<Int>
    let blockOffset: UnsafeMutablePointer<Int>
    let channelOffset: UnsafeMutablePointer<Int>

    init(_ layers: [QuantizedLayer]) {
        layerCount = layers.count
        inputCount = layers[0].inputs
        outputCount = layers[layers.count - 1].outputs
        widest = max(layers.map(\.outputs).max()!, inputCount)
        inputEncoding = layers[0].input
        outputEncoding = layers[layers.count - 1].output
        let vectors = layers.reduce(0) { $0 + ($1.outputs + 3) / 4 * (($1.inputs + 1) / 2) }
        let blocks = layers.reduce(0) { $0 + ($1.outputs + 3) / 4 }, channels = layers.reduce(0) { $0 + $1.outputs }
        blockedWeights = .allocate(capacity: max(vectors, 1))
        blockedBias = .allocate(capacity: max(blocks, 1))
        m0 = .allocate(capacity: max(channels, 1))
        rightShift = .allocate(capacity: max(channels, 1))
        shape = .allocate(capacity: 4 * layers.count)
        blockedOffset = .allocate(capacity: layers.count)
        blockOffset = .allocate(capacity: layers.count)
        channelOffset = .allocate(capacity: layers.count)
        var v = 0, bo = 0, c = 0
        for (l, layer) in layers.enumerated() {
            blockedOffset[l] = v
            blockOffset[l] = bo
            channelOffset[l] = c
            shape[4 * l] = Int32(layer.inputs)
            shape[4 * l + 1] = Int32(layer.outputs)
            shape[4 * l + 2] = layer.output.zeroPoint
            shape[4 * l + 3] = layer.lowest
            let n = layer.inputs, m = layer.outputs
            func weight(_ channel: Int, _ k: Int) -> Int16 { channel < m && k < n ? Int16(layer.weights[channel * n + k]) : 0 }
            for b in 0..<((m + 3) / 4) {
                var bias = SIMD4<Int32>(repeating: 0)
                for j in 0..<4 where 4 * b + j < m { bias[j] = layer.foldedBias[4 * b + j] }
                blockedBias[bo] = bias
                bo += 1
                for q in 0..<((n + 1) / 2) {
                    var vector = SIMD8<Int16>(repeating: 0)
                    for j in 0..<4 {
                        vector[2 * j] = weight(4 * b + j, 2 * q)
                        vector[2 * j + 1] = weight(4 * b + j, 2 * q + 1)
                    }
                    blockedWeights[v] = vector
                    v += 1
                }
            }
            for k in 0..<m {
                m0[c] = layer.multipliers[k].m0
                rightShift[c] = layer.multipliers[k].rightShift
                c += 1
            }
        }
    }

    deinit {
        blockedWeights.deallocate(); blockedBias.deallocate(); m0.deallocate(); rightShift.deallocate()
        shape.deallocate(); blockedOffset.deallocate(); blockOffset.deallocate(); channelOffset.deallocate()
    }
}

/// One thread's buffers for inference, allocated once: int8 activations for the reference kernel
/// and the logits, the input codes, and the SIMD kernel's int16 activations and broadcast pairs.
public final class InferenceScratch {
    public let capacity: Int
    let a: UnsafeMutableBufferPointer<Int8>
    let b: UnsafeMutableBufferPointer<Int8>
    let input: UnsafeMutableBufferPointer<Int8>
    /// `capacity + 2` int16 values (an odd width reads one zero past its end).
    let wide: UnsafeMutablePointer<Int16>
    let pairs: UnsafeMutablePointer<SIMD8<Int16>>

    public init(capacity: Int) {
        self.capacity = capacity
        a = .allocate(capacity: capacity)
        b = .allocate(capacity: capacity)
        input = .allocate(capacity: capacity)
        a.initialize(repeating: 0)
        b.initialize(repeating: 0)
        input.initialize(repeating: 0)
        wide = .allocate(capacity: capacity + 2)
        wide.initialize(repeating: 0, count: capacity + 2)
        pairs = .allocate(capacity: capacity / 2 + 1)
        pairs.initialize(repeating: SIMD8<Int16>(repeating: 0), count: capacity / 2 + 1)
    }

    deinit {
        a.deallocate()
        b.deallocate()
        input.deallocate()
        wide.deallocate()
        pairs.deallocate()
    }
}
