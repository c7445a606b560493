/// One operator-labelled example, in raw features, with the bucket it belongs to.
public struct FeedbackExample: Sendable, Hashable {
    public enum Bucket: String, Sendable, Hashable, CaseIterable {
        /// The model was right and the operator confirmed it.
        case success
        /// The model was wrong; `label` is the operator's correction (a false alarm is `healthy`).
        case failure
        /// Ambiguous: the operator was unsure, or the model's margin was small.
        case edgeCase = "edge_case"
    }

    public var features: [Float]
    public var label: Int
    /// The action the operator rated (with `good`), or the right action when known.
    public var action: Int?
    /// The operator's rating of `action`: true good, false bad, nil not rated.
    public var good: Bool?
    public var bucket: Bucket

    public init(features: [Float], label: Int, action: Int? = nil, good: Bool? = nil, bucket: Bucket) {
        self.features = features
        self.label = label
        self.action = action
        self.good = good
        self.bucket = bucket
    }
}

/// The learner's knobs (docs/POLICY-MODEL.md, "Learning from feedback").
public struct LearnerOptions: Sendable, Hashable {
    public var epochs: Int
    public var learningRate: Float
    /// Replay samples drawn (stratified by class) per update, from the original training data.
    public var replaySamples: Int
    /// Of the stored feedback, how many successes and edge cases join an update (all failures do).
    public var successSamples: Int
    public var edgeCaseSamples: Int
    /// Weight of a correction relative to a replay sample.
    public var failureWeight: Float
    /// Learning without forgetting: weight and temperature of the distillation towards the
    /// previous model's outputs on replayed samples.
    public var distillationWeight: Float
    public var temperature: Float
    /// L2 pull towards the deployed weights.
    public var anchorWeight: Float
    /// The gate: golden-set accuracy and each class's recall may drop at most this much (0.01 = 1 point).
    public var marginPoints: Double
    /// Updates allowed per rolling hour.
    public var maxUpdatesPerHour: Int
    /// Stored feedback samples (the newest) one update trains on: its cost stays bounded however
    /// much feedback accumulates.
    public var maxFeedbackSamples: Int = 1_000
    /// β of the KL penalty that keeps reward-guided actions near the deployed model's.
    public var klWeight: Float = 0.02
    /// Weight of a rated sample's reward-guided term relative to a replay sample.
    public var ratingWeight: Float = 4
    /// In the reward model: weight of an operator's rating, and how many replayed right actions
    /// join as implicit good ratings.
    public var ratingRewardWeight: Float = 25
    public var implicitRatings: Int = 500

    public init(epochs: Int = 30, learningRate: Float = 0.003, replaySamples: Int = 2_000, successSamples: Int = 200,
                edgeCaseSamples: Int = 200, failureWeight: Float = 1, distillationWeight: Float = 0.8, temperature: Float = 2,
                anchorWeight: Float = 0.0005, marginPoints: Double = 0.01, maxUpdatesPerHour: Int = 12) {
        self.epochs = epochs
        self.learningRate = learningRate
        self.replaySamples = replaySamples
        self.successSamples = successSamples
        self.edgeCaseSamples = edgeCaseSamples
        self.failureWeight = failureWeight
        self.distillationWeight = distillationWeight
        self.temperature = temperature
        self.anchorWeight = anchorWeight
        self.marginPoints = marginPoints
        self.maxUpdatesPerHour = maxUpdatesPerHour
    }
}

/// What the validation gate saw. `passed` only when every check held.
public struct GateReport: Sendable, Hashable {
    public var goldenBefore: Evaluation
    public var goldenAfter: Evaluation
    /// Corrections (failure bucket) the candidate classifies as the operator said, of all corrections.
    public var correctionsLearned: Int
    public var corrections: Int
    /// Action accuracy on the golden set (the simulator's right actions), before and after.
    public var goldenActionBefore: Double = .nan
    public var goldenActionAfter: Double = .nan
    /// Rated actions the candidate now honours (a good one is its choice, a bad one is not), of all ratings.
    public var ratingsHonoured: Int = 0
    public var ratings: Int = 0
    public var reasons: [String]
    public var passed: Bool { reasons.isEmpty }
}

public enum UpdateOutcome: Sendable {
    /// The candidate passed the gate: deploy it (atomically, at a cycle boundary) and record it.
    case accepted(PolicyModel, GateReport)
    /// The candidate failed the gate: the deployed model stays; tell the operator why.
    case rejected(GateReport)
    /// Too many updates in the last hour; the feedback is kept for the next one.
    case rateLimited(nextAllowedNanoseconds: UInt64)
}

/// Learns from operator feedback beside the cycle (never on it): fine-tunes float shadow weights of
/// the deployed student on the stored feedback mixed with a replay of earlier training data, with a
/// distillation term towards the previous model on the replayed samples (learning without
/// forgetting) and an L2 anchor; re-quantizes with the model's own calibration set; and gates the
/// candidate: every correction must now be classified as the operator said, and neither golden-set
/// accuracy nor any class's recall may drop by more than the margin. Deterministic given its seed.
public struct IncrementalLearner: Sendable {
    public private(set) var deployed: PolicyModel
    /// Float weights the deployed int8 model was quantized from (normalised feature space).
    public private(set) var shadow: FloatMLP
    public private(set) var feedback: [FeedbackExample] = []
    public let options: LearnerOptions
    /// Earlier training data (normalised), replayed so old knowledge is rehearsed.
    let replay: [TrainingSample]
    /// Normalised inputs that fix the activation ranges of every re-quantization.
    let calibration: [[Float]]
    /// Held-out labelled samples (raw) the gate scores every candidate on.
    public let golden: [TrainingSample]
    /// The golden-set figures of the lineage's first model: a candidate may not fall more than the
    /// margin below them either, so many small accepted updates cannot add up to a large loss.
    public let reference: Evaluation
    private var seed: UInt64
    private var updateTimes: [UInt64] = []

    /// `replay` holds raw training samples; `shadow` is the float student of `deployed`.
    public init(deployed: PolicyModel, shadow: FloatMLP, replay: [TrainingSample], golden: [TrainingSample],
                options: LearnerOptions = LearnerOptions(), seed: UInt64 = 1, calibrationSamples: Int = 2_000) {
        let calibration = DistillationPipeline.stratified(replay, count: calibrationSamples, classes: deployed.schema.classes.count)
        self.init(deployed: deployed, shadow: shadow,
                  learningSet: LearningSet(featureNames: deployed.schema.features, replay: replay, golden: golden, calibration: calibration),
                  options: options, seed: seed)
    }

    /// A learner over a shipped learning set (raw features). `shadow` defaults to the deployed
    /// network's dequantized weights (the float weights of a version are not kept on disk);
    /// `recentUpdates` are the times of earlier updates, for the hourly rate limit.
    public init(deployed: PolicyModel, shadow: FloatMLP? = nil, learningSet: LearningSet, options: LearnerOptions = LearnerOptions(),
                seed: UInt64 = 1, recentUpdates: [UInt64] = [], reference: PolicyModel? = nil) {
        self.reference = DistillationPipeline.evaluate(reference ?? deployed, learningSet.golden)
        self.deployed = deployed
        self.shadow = shadow ?? deployed.network.dequantized
        let norm = deployed.normalisation
        replay = learningSet.replay.map { s -> TrainingSample in
            var n = s
            n.features = norm.apply(s.features)
            return n
        }
        calibration = learningSet.calibration.map { norm.apply($0.features) }
        golden = learningSet.golden
        self.options = options
        self.seed = seed
        updateTimes = recentUpdates
    }

    /// Stores feedback; it joins every later update (until `forget`).
    public mutating func add(_ example: FeedbackExample) { feedback.append(example) }

    /// Runs one update now. The deployed model changes only on `.accepted`.
    public mutating func update(nowNanoseconds: UInt64) -> UpdateOutcome {
        let hour: UInt64 = 3_600_000_000_000
        updateTimes.removeAll { nowNanoseconds &- $0 >= hour }
        if updateTimes.count >= max(options.maxUpdatesPerHour, 1) {
            return .rateLimited(nextAllowedNanoseconds: updateTimes[0] &+ hour)
        }
        updateTimes.append(nowNanoseconds)
        seed &+= 1
        var random = TrainingRandom(seed: seed)
        let norm = deployed.normalisation
        // A bad rating names the action not to take: no action label for cross-entropy.
        func sample(_ e: FeedbackExample, weight: Float) -> TrainingSample {
            TrainingSample(features: norm.apply(e.features), label: e.label, action: e.good == false ? nil : e.action, weight: weight, distil: false)
        }
        var batch: [TrainingSample] = []
        let failures = feedback.filter { $0.bucket == .failure }
        batch += failures.map { sample($0, weight: options.failureWeight) }
        for (bucket, count) in [(FeedbackExample.Bucket.success, options.successSamples), (.edgeCase, options.edgeCaseSamples)] {
            var pool = feedback.filter { $0.bucket == bucket }
            random.shuffle(&pool)
            batch += pool.prefix(count).map { sample($0, weight: 1) }
        }
        var replayPool = replay
        random.shuffle(&replayPool)
        let replayed = DistillationPipeline.stratified(replayPool, count: options.replaySamples, classes: deployed.schema.classes.count)
        batch += replayed
        // Action ratings train the reward model; the action head of every rated sample then moves
        // towards higher reward, KL-penalised to the deployed model's actions (its diagnosis head
        // still learns the label). Unrated samples keep their action labels and distillation.
        let rated = feedback.filter { $0.good != nil && $0.action != nil }
        var guidance: RewardGuidance?
        if !rated.isEmpty {
            // The reward model sees the operators' ratings (weighted) and, as implicit good ratings,
            // the right actions of the replayed samples: the contrast that keeps a "bad here" from
            // spreading to the same action everywhere else.
            let implicit = replayed.compactMap { s in s.action.map { RatedAction(features: s.features, action: $0, good: true) } }
            let explicit = rated.map { RatedAction(features: norm.apply($0.features), action: $0.action!, good: $0.good!, weight: options.ratingRewardWeight) }
            let reward = RewardModel(fitting: explicit + implicit.prefix(options.implicitRatings),
                                     features: deployed.schema.features.count, actions: deployed.schema.actions.count)
            guidance = RewardGuidance(reward: reward, klWeight: options.klWeight)
            for e in rated {
                var s = sample(e, weight: options.ratingWeight)
                s.action = nil
                s.rewardGuided = true
                batch.append(s)
            }
        }

        var candidateShadow = shadow
        let trainer = Trainer(classCount: deployed.schema.classes.count, actionCount: deployed.schema.actions.count)
        trainer.train(&candidateShadow, on: batch, teacher: shadow,
                      options: TrainingOptions(epochs: options.epochs, batchSize: 32, learningRate: options.learningRate, seed: seed,
                                               temperature: options.temperature, distillationWeight: options.distillationWeight,
                                               anchorWeight: options.anchorWeight, rewardGuidance: guidance))
        let report: GateReport
        let candidate: PolicyModel
        do {
            // The operators' examples join the calibration set: a new operating mode must fit the
            // input and activation ranges, or it saturates into an old one in int8.
            let network = try QuantizedMLP(quantizing: candidateShadow, calibration: calibration + feedback.map { norm.apply($0.features) })
            candidate = try PolicyModel(schema: deployed.schema, normalisation: norm, network: network,
                                        lineage: ModelLineage(version: deployed.lineage.version &+ 1, parent: deployed.lineage.version))
        } catch {
            let before = DistillationPipeline.evaluate(deployed, golden)
            return .rejected(GateReport(goldenBefore: before, goldenAfter: before, correctionsLearned: 0, corrections: failures.count,
                                        reasons: ["re-quantization failed: \(error)"]))
        }
        report = gate(candidate, corrections: failures, ratings: rated)
        guard report.passed else { return .rejected(report) }
        deployed = candidate
        shadow = candidateShadow
        return .accepted(candidate, report)
    }

    /// The validation gate (docs/POLICY-MODEL.md): corrections learned, golden accuracy and every
    /// class's recall within the margin of the deployed model's.
    public func gate(_ candidate: PolicyModel, corrections: [FeedbackExample], ratings: [FeedbackExample] = []) -> GateReport {
        let before = DistillationPipeline.evaluate(deployed, golden)
        let after = DistillationPipeline.evaluate(candidate, golden)
        let scratch = candidate.makeScratch()
        let learned = corrections.filter { e in e.features.withUnsafeBufferPointer { candidate.decide($0, scratch: scratch).diagnosis == e.label } }.count
        var reasons: [String] = []
        if learned < corrections.count {
            reasons.append("\(corrections.count - learned) of \(corrections.count) corrections are still classified otherwise")
        }
        let honoured = ratings.filter { e in
            let chosen = e.features.withUnsafeBufferPointer { candidate.decide($0, scratch: scratch).action }
            return e.good! ? chosen == e.action! : chosen != e.action!
        }.count
        if honoured < ratings.count {
            reasons.append("\(ratings.count - honoured) of \(ratings.count) rated actions are still chosen against the rating")
        }
        let actionBefore = Self.actionAccuracy(deployed, golden), actionAfter = Self.actionAccuracy(candidate, golden)
        if actionAfter < actionBefore - options.marginPoints {
            reasons.append("golden-set action accuracy would drop from \(percent(actionBefore)) to \(percent(actionAfter))")
        }
        let margin = options.marginPoints
        if after.accuracy < before.accuracy - margin {
            reasons.append("golden-set accuracy would drop from \(percent(before.accuracy)) to \(percent(after.accuracy)) (margin \(percent(margin)))")
        } else if after.accuracy < reference.accuracy - margin {
            reasons.append("golden-set accuracy \(percent(after.accuracy)) would be more than \(percent(margin)) below the first model's \(percent(reference.accuracy))")
        }
        for c in before.perClassRecall.indices where before.perClassRecall[c].isFinite {
            let floor = max(before.perClassRecall[c], reference.perClassRecall[c].isFinite ? reference.perClassRecall[c] : 0)
            if after.perClassRecall[c] < floor - margin {
                reasons.append("recall of \(deployed.schema.classes[c]) would drop to \(percent(after.perClassRecall[c])) "
                               + "(now \(percent(before.perClassRecall[c])), first model \(percent(reference.perClassRecall[c])))")
            }
        }
        return GateReport(goldenBefore: before, goldenAfter: after, correctionsLearned: learned, corrections: corrections.count,
                          goldenActionBefore: actionBefore, goldenActionAfter: actionAfter, ratingsHonoured: honoured, ratings: ratings.count,
                          reasons: reasons)
    }

    /// Share of `samples` (with a right action) whose action the model chooses.
    static func actionAccuracy(_ model: PolicyModel, _ samples: [TrainingSample]) -> Double {
        let scratch = model.makeScratch()
        var n = 0, right = 0
        for s in samples {
            guard let a = s.action else { continue }
            n += 1
            if s.features.withUnsafeBufferPointer({ model.decide($0, scratch: scratch).action }) == a { right += 1 }
        }
        return n == 0 ? .nan : Double(right) / Double(n)
    }

    /// Makes an externally chosen model (a rollback) the learner's base. `shadow` are its float weights
    /// (the dequantized network when the float weights of that version are not kept).
    public mutating func rebase(on model: PolicyModel, shadow: FloatMLP? = nil) {
        deployed = model
        self.shadow = shadow ?? model.network.dequantized
    }
}

func percent(_ x: Double) -> String {
    let p = (x * 1000).rounded() / 10
    return "\(p) %"
}

