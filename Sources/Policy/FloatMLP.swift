/// A fully connected layer in float: y = W·x + b, W row-major (outputs × inputs).
public struct DenseLayer: Sendable, Hashable {
    public let inputs: Int
    public let outputs: Int
    /// Row-major: `weights[c * inputs + k]` connects input k to output c.
    public var weights: [Float]
    public var bias: [Float]

    public init(inputs: Int, outputs: Int, weights: [Float], bias: [Float]) {
        precondition(inputs > 0 && outputs > 0, "a layer has at least one input and one output")
        precondition(weights.count == inputs * outputs && bias.count == outputs, "weights are outputs × inputs, bias has one per output")
        self.inputs = inputs
        self.outputs = outputs
        self.weights = weights
        self.bias = bias
    }

    /// He-initialised weights (N(0, 2/inputs)), zero bias, from `random`.
    public init(inputs: Int, outputs: Int, random: inout TrainingRandom) {
        let sd = (2 / Float(inputs)).squareRoot()
        self.init(inputs: inputs, outputs: outputs,
                  weights: (0..<(inputs * outputs)).map { _ in Float(random.nextGaussian()) * sd },
                  bias: Array(repeating: 0, count: outputs))
    }
}

/// A multilayer perceptron in float: ReLU after every layer but the last, whose outputs are logits.
/// The teacher, the student and the learner's shadow weights are `FloatMLP`s.
public struct FloatMLP: Sendable, Hashable {
    public var layers: [DenseLayer]

    public init(layers: [DenseLayer]) {
        precondition(!layers.isEmpty, "a network has at least one layer")
        for i in 1..<layers.count {
            precondition(layers[i].inputs == layers[i - 1].outputs, "layer \(i) takes \(layers[i].inputs) inputs, the previous gives \(layers[i - 1].outputs)")
        }
        self.layers = layers
    }

    /// A freshly initialised network with the given widths (input first, logits last).
    public init(sizes: [Int], seed: UInt64) {
        precondition(sizes.count >= 2, "sizes name the input and at least one layer")
        var random = TrainingRandom(seed: seed)
        self.init(layers: (1..<sizes.count).map { DenseLayer(inputs: sizes[$0 - 1], outputs: sizes[$0], random: &random) })
    }

    public var inputCount: Int { layers[0].inputs }
    public var outputCount: Int { layers[layers.count - 1].outputs }
    /// The widest layer output (scratch size for inference).
    public var widest: Int { layers.map(\.outputs).max()! }
    public var parameterCount: Int { layers.reduce(0) { $0 + $1.weights.count + $1.bias.count } }

    /// Logits for one input (allocates; for training and tests).
    public func logits(_ x: [Float]) -> [Float] {
        var a = x
        for (l, layer) in layers.enumerated() {
            a = Self.dense(layer, a, relu: l < layers.count - 1)
        }
        return a
    }

    /// Every layer's output for one input (post-ReLU for hidden layers), for calibration and training.
    public func activations(_ x: [Float]) -> [[Float]] {
        var out: [[Float]] = []
        var a = x
        for (l, layer) in layers.enumerated() {
            a = Self.dense(layer, a, relu: l < layers.count - 1)
            out.append(a)
        }
        return out
    }

    static func dense(_ layer: DenseLayer, _ x: [Float], relu: Bool) -> [Float] {
        precondition(x.count == layer.inputs, "input has \(x.count) values, the layer takes \(layer.inputs)")
        var y = layer.bias
        layer.weights.withUnsafeBufferPointer { w in
            x.withUnsafeBufferPointer { xs in
                for c in 0..<layer.outputs {
                    var s: Float = 0
                    let row = c * layer.inputs
                    for k in 0..<layer.inputs { s += w[row + k] * xs[k] }
                    y[c] += s
                    if relu && y[c] < 0 { y[c] = 0 }
                }
            }
        }
        return y
    }

    /// Logits for one input without allocating: `scratch` holds two buffers of `widest` floats.
    /// The float baseline the int8 kernels are benchmarked against.
    public func logits(_ x: UnsafeBufferPointer<Float>, scratch: FloatScratch) -> UnsafeBufferPointer<Float> {
        precondition(x.count >= inputCount && scratch.capacity >= widest, "input or scratch too small")
        var input = UnsafeBufferPointer(rebasing: x[0..<inputCount])
        var useA = true
        for (l, layer) in layers.enumerated() {
            let out = useA ? scratch.a : scratch.b
            let relu = l < layers.count - 1
            layer.weights.withUnsafeBufferPointer { w in
                layer.bias.withUnsafeBufferPointer { b in
                    for c in 0..<layer.outputs {
                        var s: Float = 0
                        let row = c * layer.inputs
                        for k in 0..<layer.inputs { s += w[row + k] * input[k] }
                        let v = s + b[c]
                        out[c] = relu && v < 0 ? 0 : v
                    }
                }
            }
            input = UnsafeBufferPointer(rebasing: out[0..<layer.outputs])
            useA.toggle()
        }
        return input
    }
}

/// Two float buffers for `FloatMLP.logits(_:scratch:)`, allocated once.
public final class FloatScratch {
    public let capacity: Int
    let a: UnsafeMutableBufferPointer<Float>
    let b: UnsafeMutableBufferPointer<Float>

    public init(capacity: Int) {
        self.capacity = capacity
        a = .allocate(capacity: capacity)
        b = .allocate(capacity: capacity)
        a.initialize(repeating: 0)
        b.initialize(repeating: 0)
    }

    deinit {
        a.deallocate()
        b.deallocate()
    }
}

/// The float network for timing against the int8 kernel, prepared the same way: contiguous
/// weights, output channels in blocks of four, each block accumulating w[c, k] · x[k] over the
/// inputs with one broadcast multiply-add per input (no horizontal sums, no allocation). `rowWise`
/// is the other common layout (a dot product per channel, then a horizontal sum), kept so the
/// benchmark can show both.
public final class FloatKernel: @unchecked Sendable {
    let layerCount: Int
    /// Per layer: inputs, outputs; offsets of its weights (row-major and blocked) and biases.
    let shape: [Int]
    let rowWeights: UnsafeMutablePointer<Float>
    let blockedWeights: UnsafeMutablePointer<SIMD4<Float>>
    let bias: UnsafeMutablePointer<Float>
    let blockedBias: UnsafeMutablePointer<SIMD4<Float>>
    let rowOffset: [Int]
    let blockedOffset: [Int]
    let biasOffset: [Int]
    let blockOffset: [Int]
    public let widest: Int
    let a: UnsafeMutablePointer<Float>
    let b: UnsafeMutablePointer<Float>

    public init(_ net: FloatMLP) {
        layerCount = net.layers.count
        let wc = net.layers.reduce(0) { $0 + $1.weights.count }, bc = net.layers.reduce(0) { $0 + $1.bias.count }
        let vectors = net.layers.reduce(0) { $0 + ($1.outputs + 3) / 4 * $1.inputs }, blocks = net.layers.reduce(0) { $0 + ($1.outputs + 3) / 4 }
        rowWeights = .allocate(capacity: max(wc, 1))
        blockedWeights = .allocate(capacity: max(vectors, 1))
        bias = .allocate(capacity: max(bc, 1))
        blockedBias = .allocate(capacity: max(blocks, 1))
        var shape: [Int] = [], ro: [Int] = [], bo: [Int] = [], co: [Int] = [], ko: [Int] = []
        var w = 0, v = 0, c = 0, k = 0
        for layer in net.layers {
            ro.append(w); bo.append(v); co.append(c); ko.append(k)
            shape += [layer.inputs, layer.outputs]
            for x in layer.weights { rowWeights[w] = x; w += 1 }
            for x in layer.bias { bias[c] = x; c += 1 }
            let n = layer.inputs, m = layer.outputs
            for block in 0..<((m + 3) / 4) {
                var b4 = SIMD4<Float>(repeating: 0)
                for j in 0..<4 where 4 * block + j < m { b4[j] = layer.bias[4 * block + j] }
                blockedBias[k] = b4
                k += 1
                for i in 0..<n {
                    var col = SIMD4<Float>(repeating: 0)
                    for j in 0..<4 where 4 * block + j < m { col[j] = layer.weights[(4 * block + j) * n + i] }
                    blockedWeights[v] = col
                    v += 1
                }
            }
        }
        self.shape = shape
        rowOffset = ro
        blockedOffset = bo
        biasOffset = co
        blockOffset = ko
        widest = max(net.widest, net.inputCount)
        a = .allocate(capacity: widest + 4)
        b = .allocate(capacity: widest + 4)
        a.initialize(repeating: 0, count: widest + 4)
        b.initialize(repeating: 0, count: widest + 4)
    }

    deinit {
        rowWeights.deallocate(); blockedWeights.deallocate(); bias.deallocate(); blockedBias.deallocate()
        a.deallocate(); b.deallocate()
    }

    /// Logits for one (normalised) input by the blocked layout; valid until the next call. Not
    /// thread-safe (own buffers).
    public func logits(_ input: UnsafeBufferPointer<Float>) -> UnsafeBufferPointer<Float> {
        var x = a, y = b
        for k in 0..<shape[0] { x[k] = input[k] }
        var outputs = 0
        for l in 0..<layerCount {
            let n = shape[2 * l], m = shape[2 * l + 1]
            let relu = l < layerCount - 1
            var w = blockedWeights + blockedOffset[l]
            for block in 0..<((m + 3) / 4) {
                var acc = blockedBias[blockOffset[l] + block]
                for k in 0..<n { acc += w[k] * SIMD4<Float>(repeating: x[k]) }
                w += n
                if relu { acc = acc.replacing(with: 0, where: acc .< 0) }
                UnsafeMutableRawPointer(y + 4 * block).storeBytes(of: acc, as: SIMD4<Float>.self)
            }
            swap(&x, &y)
            outputs = m
        }
        return UnsafeBufferPointer(start: x, count: outputs)
    }

    /// The same by row-wise dot products (16 lanes, then a horizontal sum per channel).
    public func logitsRowWise(_ input: UnsafeBufferPointer<Float>) -> UnsafeBufferPointer<Float> {
        var x = a, y = b
        for k in 0..<shape[0] { x[k] = input[k] }
        var outputs = 0
        for l in 0..<layerCount {
            let n = shape[2 * l], m = shape[2 * l + 1]
            let relu = l < layerCount - 1
            var w = rowWeights + rowOffset[l]
            let bl = bias + biasOffset[l]
            for c in 0..<m {
                var acc = SIMD16<Float>(repeating: 0)
                var k = 0
                while k + 16 <= n {
                    acc += UnsafeRawPointer(w + k).loadUnaligned(as: SIMD16<Float>.self) * UnsafeRawPointer(x + k).loadUnaligned(as: SIMD16<Float>.self)
                    k += 16
                }
                var s = acc.sum()
                while k < n { s += w[k] * x[k]; k += 1 }
                let v = s + bl[c]
                y[c] = relu && v < 0 ? 0 : v
                w += n
            }
            swap(&x, &y)
            outputs = m
        }
        return UnsafeBufferPointer(start: x, count: outputs)
    }
}
