import RealModule

/// One operator rating of an action: the (normalised) features the model acted on, the action, and
/// whether it was good.
public struct RatedAction: Sendable, Hashable {
    public var features: [Float]
    public var action: Int
    public var good: Bool
    /// How much this rating counts (an operator's rating more than an implicit one).
    public var weight: Float

    public init(features: [Float], action: Int, good: Bool, weight: Float = 1) {
        self.features = features
        self.action = action
        self.good = good
        self.weight = weight
    }
}

/// A small reward model learned from action ratings: per action a, P(good | x, a) = σ(w_a · x + b_a)
/// on normalised features, fitted by full-batch gradient descent with an L2 pull towards "no
/// opinion" (w = 0, b = 0: P = ½), so a handful of ratings shapes the reward near the rated cases
/// and leaves it neutral elsewhere. Deterministic (no randomness at all).
public struct RewardModel: Sendable, Hashable {
    public let features: Int
    public let actions: Int
    /// Row per action: `features` weights, then the bias.
    public private(set) var parameters: [Float]

    public init(features: Int, actions: Int) {
        self.features = features
        self.actions = actions
        parameters = [Float](repeating: 0, count: actions * (features + 1))
    }

    /// Fits the ratings; `l2` is the pull towards ½, `steps` the gradient steps.
    public init(fitting ratings: [RatedAction], features: Int, actions: Int, l2: Float = 0.01, steps: Int = 600, learningRate: Float = 0.5) {
        self.init(features: features, actions: actions)
        guard !ratings.isEmpty else { return }
        let stride = features + 1
        for _ in 0..<steps {
            var gradient = [Float](repeating: 0, count: parameters.count)
            var n: Float = 0
            for r in ratings where r.action >= 0 && r.action < actions {
                let p = probability(r.features, action: r.action)
                let e = (p - (r.good ? 1 : 0)) * r.weight
                let row = r.action * stride
                for k in 0..<features { gradient[row + k] += e * r.features[k] }
                gradient[row + features] += e
                n += r.weight
            }
            for i in parameters.indices { parameters[i] -= learningRate * (gradient[i] / n + l2 * parameters[i]) }
        }
    }

    /// P(good | x, action) for normalised features x.
    public func probability(_ x: [Float], action: Int) -> Float {
        let row = action * (features + 1)
        var z = parameters[row + features]
        for k in 0..<features { z += parameters[row + k] * x[k] }
        return 1 / (1 + Float.exp(-z))
    }

    /// Rewards of every action for x, centred on ½ (positive: better than no opinion).
    public func centredRewards(_ x: [Float]) -> [Float] { (0..<actions).map { probability(x, action: $0) - 0.5 } }
}

/// How the action head learns from a reward model (the shape of RLHF at this scale): on the samples
/// marked `rewardGuided`, the action head is trained towards the policy that maximises
/// E_{a∼π}[r(x, a)] − β · KL(π ‖ ρ), where ρ is the previous model's action distribution (the distilled
/// reference policy). That maximiser has a closed form, π*(a) ∝ ρ(a) · exp(r(x, a) / β) (the
/// KL-regularised optimum RLHF's PPO approximates and DPO starts from), so the head learns it by
/// cross-entropy towards π*: unlike the raw policy gradient π_a (r_a − E_π r), its gradient does not
/// vanish where the deployed policy is already nearly certain, which is exactly where an operator's
/// "that action was bad" must take effect. An action nobody rated has r = 0 (the reward model's ½,
/// centred) and keeps its reference weight.
public struct RewardGuidance: Sendable, Hashable {
    public var reward: RewardModel
    /// β: the KL penalty towards the reference policy (smaller: ratings weigh more).
    public var klWeight: Float
    /// Weight of the term relative to a cross-entropy sample.
    public var weight: Float
    /// The reference policy is the previous model's actions softened at this temperature (as its
    /// distillation targets are): a nearly certain int8-era policy must not make every rating moot.
    public var referenceTemperature: Float

    public init(reward: RewardModel, klWeight: Float = 0.05, weight: Float = 1, referenceTemperature: Float = 2) {
        self.reward = reward
        self.klWeight = klWeight
        self.weight = weight
        self.referenceTemperature = referenceTemperature
    }

    /// π*(a) ∝ ρ(a) · exp(r(x, a) / β) for centred rewards r.
    public func target(features x: [Float], reference: [Float]) -> [Float] {
        let r = reward.centredRewards(x)
        let logits = reference.indices.map { Float.log(max(reference[$0], 1e-12)) + r[$0] / max(klWeight, 1e-6) }
        return Softmax.probabilities(logits)
    }

    /// The loss gradient on the action logits z (cross-entropy towards π*) and the objective
    /// E_π[r] − β · KL(π ‖ ρ) of the current logits.
    func actionGradient(logits z: [Float], features x: [Float], reference: [Float]) -> (delta: [Float], objective: Float) {
        let p = Softmax.probabilities(z)
        let t = target(features: x, reference: reference)
        let r = reward.centredRewards(x)
        var expected: Float = 0, kl: Float = 0
        for j in p.indices {
            expected += p[j] * r[j]
            kl += p[j] * Float.log(max(p[j], 1e-12) / max(reference[j], 1e-12))
        }
        return (p.indices.map { (p[$0] - t[$0]) * weight }, expected - klWeight * kl)
    }
}
