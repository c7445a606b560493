import RealModule

/// One labelled example: normalised features, the true diagnosis class and the right action
/// (nil when unknown: the action head learns nothing from it), and a weight (bucket sampling).
public struct TrainingSample: Sendable, Hashable {
    public var features: [Float]
    public var label: Int
    public var action: Int?
    public var weight: Float
    /// Whether the teacher's soft targets apply to this sample (when training with one). An
    /// operator's correction is learned from its label alone: the previous model was wrong on it.
    public var distil: Bool
    /// With `TrainingOptions.rewardGuidance`: the action head learns from the reward model here
    /// (towards higher reward, KL-penalised to the teacher's actions) instead of from `action`.
    public var rewardGuided: Bool

    public init(features: [Float], label: Int, action: Int?, weight: Float = 1, distil: Bool = true, rewardGuided: Bool = false) {
        self.features = features
        self.label = label
        self.action = action
        self.weight = weight
        self.distil = distil
        self.rewardGuided = rewardGuided
    }
}

/// How to train: Adam on minibatches, seeded; with a teacher, knowledge distillation
/// (Hinton et al.): loss = (1 − α)·CE(hard label) + α·T²·KL(teacher_T ‖ student_T) per head.
public struct TrainingOptions: Sendable, Hashable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var seed: UInt64
    /// Softening temperature T of the distillation targets.
    public var temperature: Float
    /// Weight α of the distillation term (0: hard labels only).
    public var distillationWeight: Float
    /// L2 pull of every weight towards its starting value (0: none). The incremental learner uses it
    /// with the deployed model's weights as the start, so a few new samples cannot drag it far.
    public var anchorWeight: Float
    /// Reward-guided action learning on samples marked `rewardGuided` (needs a teacher: its action
    /// distribution is the reference policy of the KL penalty).
    public var rewardGuidance: RewardGuidance?

    public init(epochs: Int = 30, batchSize: Int = 32, learningRate: Float = 0.003, seed: UInt64 = 1,
                temperature: Float = 3, distillationWeight: Float = 0, anchorWeight: Float = 0, rewardGuidance: RewardGuidance? = nil) {
        self.rewardGuidance = rewardGuidance
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.seed = seed
        self.temperature = temperature
        self.distillationWeight = distillationWeight
        self.anchorWeight = anchorWeight
    }
}

/// Trains a two-headed `FloatMLP` (the first `classCount` logits are the diagnosis head, the rest
/// the action head) by backpropagation. Deterministic: the same network, samples and options give
/// the same weights bit for bit (fixed summation order, our own random source).
public struct Trainer {
    public let classCount: Int
    public let actionCount: Int

    public init(classCount: Int, actionCount: Int) {
        self.classCount = classCount
        self.actionCount = actionCount
    }

    /// Trains `network` in place on `samples`. With `teacher`, each sample's soft targets come from
    /// the teacher's logits (distillation, or learning without forgetting when the teacher is the
    /// previous model). Returns the mean loss of the last epoch.
    @discardableResult
    public func train(_ network: inout FloatMLP, on samples: [TrainingSample], teacher: FloatMLP? = nil,
                      options: TrainingOptions) -> Float {
        precondition(network.outputCount == classCount + actionCount, "the network's logits are the two heads")
        guard !samples.isEmpty else { return 0 }
        let teacherLogits = teacher.map { t in samples.map { t.logits($0.features) } }
        let anchor = network.layers
        var adam = Adam(for: network, learningRate: options.learningRate)
        var random = TrainingRandom(seed: options.seed)
        var order = Array(samples.indices)
        var lastLoss: Float = 0
        for _ in 0..<max(options.epochs, 1) {
            random.shuffle(&order)
            var epochLoss: Float = 0
            var start = 0
            while start < order.count {
                let batch = order[start..<min(start + max(options.batchSize, 1), order.count)]
                start += batch.count
                var grads = Gradients(like: network)
                var weightSum: Float = 0
                for i in batch {
                    let s = samples[i]
                    epochLoss += backprop(network, s, soft: teacherLogits?[i], options: options, into: &grads)
                    weightSum += s.weight
                }
                if options.anchorWeight > 0 {
                    for l in network.layers.indices {
                        for k in network.layers[l].weights.indices {
                            grads.weights[l][k] += options.anchorWeight * weightSum * (network.layers[l].weights[k] - anchor[l].weights[k])
                        }
                    }
                }
                adam.step(&network, grads, scale: 1 / max(weightSum, 1e-6))
            }
            lastLoss = epochLoss / Float(samples.count)
        }
        return lastLoss
    }

    /// Adds one sample's gradient to `grads`; returns its loss.
    func backprop(_ net: FloatMLP, _ s: TrainingSample, soft: [Float]?, options: TrainingOptions, into grads: inout Gradients) -> Float {
        let acts = net.activations(s.features)
        let z = acts[acts.count - 1]
        var delta = [Float](repeating: 0, count: z.count)
        var loss: Float = 0
        let alpha = soft == nil || !s.distil ? 0 : options.distillationWeight
        let t = options.temperature
        let actions = classCount..<(classCount + actionCount)
        if let guidance = options.rewardGuidance, s.rewardGuided, let soft {
            let (d, objective) = guidance.actionGradient(logits: Array(z[actions]), features: s.features,
                                                         reference: Softmax.probabilities(Array(soft[actions]), temperature: guidance.referenceTemperature))
            for (j, i) in actions.enumerated() { delta[i] += d[j] }
            loss -= objective
        }
        let guided = options.rewardGuidance != nil && s.rewardGuided && soft != nil
        for (range, target) in [(0..<classCount, Optional(s.label)), (actions, guided ? nil : s.action.map { $0 + classCount })] {
            let head = Array(z[range])
            let p = Softmax.probabilities(head)
            if let target {
                loss += -Float.log(max(p[target - range.lowerBound], 1e-12)) * (1 - alpha)
                for (j, i) in range.enumerated() { delta[i] += (1 - alpha) * (p[j] - (i == target ? 1 : 0)) }
            }
            if let soft, alpha > 0, !(guided && range == actions) {
                let q = Softmax.probabilities(Array(soft[range]), temperature: t)
                let pt = Softmax.probabilities(head, temperature: t)
                for (j, i) in range.enumerated() {
                    delta[i] += alpha * t * (pt[j] - q[j])
                    if q[j] > 0 { loss += alpha * t * t * q[j] * Float.log(q[j] / max(pt[j], 1e-12)) }
                }
            }
        }
        for i in delta.indices { delta[i] *= s.weight }
        // Back through the layers: δ_in = Wᵀ δ, masked by the ReLU of the layer below.
        for l in stride(from: net.layers.count - 1, through: 0, by: -1) {
            let layer = net.layers[l]
            let input = l == 0 ? s.features : acts[l - 1]
            for c in 0..<layer.outputs where delta[c] != 0 {
                grads.bias[l][c] += delta[c]
                let row = c * layer.inputs
                for k in 0..<layer.inputs { grads.weights[l][row + k] += delta[c] * input[k] }
            }
            guard l > 0 else { break }
            var below = [Float](repeating: 0, count: layer.inputs)
            for c in 0..<layer.outputs where delta[c] != 0 {
                let row = c * layer.inputs
                for k in 0..<layer.inputs { below[k] += layer.weights[row + k] * delta[c] }
            }
            for k in 0..<layer.inputs where input[k] <= 0 { below[k] = 0 }
            delta = below
        }
        return loss * s.weight
    }
}

/// Per-parameter gradients of a `FloatMLP`.
struct Gradients {
    var weights: [[Float]]
    var bias: [[Float]]

    init(like net: FloatMLP) {
        weights = net.layers.map { [Float](repeating: 0, count: $0.weights.count) }
        bias = net.layers.map { [Float](repeating: 0, count: $0.bias.count) }
    }
}

/// Adam (Kingma & Ba) with bias correction.
struct Adam {
    var m: Gradients
    var v: Gradients
    var t: Float = 0
    let learningRate: Float
    let beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8

    init(for net: FloatMLP, learningRate: Float) {
        m = Gradients(like: net)
        v = Gradients(like: net)
        self.learningRate = learningRate
    }

    mutating func step(_ net: inout FloatMLP, _ g: Gradients, scale: Float) {
        t += 1
        let c1 = 1 - Float.pow(beta1, t), c2 = 1 - Float.pow(beta2, t)
        for l in net.layers.indices {
            for k in net.layers[l].weights.indices {
                net.layers[l].weights[k] -= update(&m.weights[l][k], &v.weights[l][k], g.weights[l][k] * scale, c1, c2)
            }
            for k in net.layers[l].bias.indices {
                net.layers[l].bias[k] -= update(&m.bias[l][k], &v.bias[l][k], g.bias[l][k] * scale, c1, c2)
            }
        }
    }

    @inline(__always)
    private func update(_ m: inout Float, _ v: inout Float, _ g: Float, _ c1: Float, _ c2: Float) -> Float {
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        return learningRate * (m / c1) / ((v / c2).squareRoot() + epsilon)
    }
}

/// Classification figures of a model on labelled samples.
public struct Evaluation: Sendable, Hashable {
    public var accuracy: Double
    public var macroF1: Double
    /// Per class: recall (accuracy on that class's samples; NaN when the class has none).
    public var perClassRecall: [Double]
    public var count: Int

    /// Scores predicted classes against true labels over `classCount` classes.
    public init(predicted: [Int], truth: [Int], classCount: Int) {
        precondition(predicted.count == truth.count, "one prediction per sample")
        var tp = [Int](repeating: 0, count: classCount), fp = tp, fn = tp, support = tp
        for (p, t) in zip(predicted, truth) {
            support[t] += 1
            if p == t { tp[t] += 1 } else { fp[p] += 1; fn[t] += 1 }
        }
        count = truth.count
        accuracy = truth.isEmpty ? .nan : Double(tp.reduce(0, +)) / Double(truth.count)
        perClassRecall = (0..<classCount).map { support[$0] == 0 ? .nan : Double(tp[$0]) / Double(support[$0]) }
        var f1s: [Double] = []
        for c in 0..<classCount where support[c] > 0 || fp[c] > 0 {
            let denominator = 2 * tp[c] + fp[c] + fn[c]
            f1s.append(denominator == 0 ? 0 : 2 * Double(tp[c]) / Double(denominator))
        }
        macroF1 = f1s.isEmpty ? .nan : f1s.reduce(0, +) / Double(f1s.count)
    }
}
