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

/// A `FloatMLP` laid out like the int8 kernel's prepared network (contiguous weights, raw pointers,
/// 16-lane SIMD dot products): the float32 baseline that `vigil model bench` times the int8 kernel
/// against, so the ratio compares arithmetic, not bookkeeping. Its sums run in a different order
/// from `FloatMLP.logits`, so results may differ in the last bits.
public final class FloatKernel: @unchecked Sendable {
    let layerCount: Int
    let weights: UnsafeMutablePointer<Float>
    let bias: UnsafeMutablePointer<Float>
    let shape: [Int]  // per layer: inputs, outputs
    let weightOffset: [Int]
    let biasOffset: [Int]
    public let widest: Int
    let a: UnsafeMutablePointer<Float>
    let b: UnsafeMutablePointer<Float>

    public init(_ net: FloatMLP) {
        layerCount = net.layers.count
        let wc = net.layers.reduce(0) { $0 + $1.weights.count }, bc = net.layers.reduce(0) { $0 + $1.bias.count }
        weights = .allocate(capacity: max(wc, 1))
        bias = .allocate(capacity: max(bc, 1))
        var shape: [Int] = [], wo: [Int] = [], bo: [Int] = []
        var w = 0, c = 0
        for layer in net.layers {
            wo.append(w)
            bo.append(c)
            shape += [layer.inputs, layer.outputs]
            for v in layer.weights { weights[w] = v; w += 1 }
            for v in layer.bias { bias[c] = v; c += 1 }
        }
        self.shape = shape
        weightOffset = wo
        biasOffset = bo
        widest = max(net.widest, net.inputCount)
        a = .allocate(capacity: widest)
        b = .allocate(capacity: widest)
        a.initialize(repeating: 0, count: widest)
        b.initialize(repeating: 0, count: widest)
    }

    deinit {
        weights.deallocate(); bias.deallocate(); a.deallocate(); b.deallocate()
    }

    /// Logits for one (normalised) input; valid until the next call. Not thread-safe (own buffers).
    public func logits(_ input: UnsafeBufferPointer<Float>) -> UnsafeBufferPointer<Float> {
        var x = a, y = b
        for k in 0..<shape[0] { x[k] = input[k] }
        var outputs = 0
        for l in 0..<layerCount {
            let n = shape[2 * l], m = shape[2 * l + 1]
            let relu = l < layerCount - 1
            var w = weights + weightOffset[l]
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
