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
    public var action: Int?
    public var bucket: Bucket

    public init(features: [Float], label: Int, action: Int? = nil, bucket: Bucket) {
        self.features = features
        self.label = label
        self.action = action
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
    private var seed: UInt64
    private var updateTimes: [UInt64] = []

    /// `replay` holds raw training samples; `shadow` is the float student of `deployed`.
    public init(deployed: PolicyModel, shadow: FloatMLP, replay: [TrainingSample], golden: [TrainingSample],
                options: LearnerOptions = LearnerOptions(), seed: UInt64 = 1, calibrationSamples: Int = 2_000) {
        self.deployed = deployed
        self.shadow = shadow
        let normalised = replay.map { s -> TrainingSample in
            var n = s
            n.features = deployed.normalisation.apply(s.features)
            return n
        }
        self.replay = normalised
        self.calibration = DistillationPipeline.stratified(normalised, count: calibrationSamples, classes: deployed.schema.classes.count).map(\.features)
        self.golden = golden
        self.options = options
        self.seed = seed
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
        func sample(_ e: FeedbackExample, weight: Float) -> TrainingSample {
            TrainingSample(features: norm.apply(e.features), label: e.label, action: e.action, weight: weight, distil: false)
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

        var candidateShadow = shadow
        let trainer = Trainer(classCount: deployed.schema.classes.count, actionCount: deployed.schema.actions.count)
        trainer.train(&candidateShadow, on: batch, teacher: shadow,
                      options: TrainingOptions(epochs: options.epochs, batchSize: 32, learningRate: options.learningRate, seed: seed,
                                               temperature: options.temperature, distillationWeight: options.distillationWeight,
                                               anchorWeight: options.anchorWeight))
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
        report = gate(candidate, corrections: failures)
        guard report.passed else { return .rejected(report) }
        deployed = candidate
        shadow = candidateShadow
        return .accepted(candidate, report)
    }

    /// The validation gate (docs/POLICY-MODEL.md): corrections learned, golden accuracy and every
    /// class's recall within the margin of the deployed model's.
    public func gate(_ candidate: PolicyModel, corrections: [FeedbackExample]) -> GateReport {
        let before = DistillationPipeline.evaluate(deployed, golden)
        let after = DistillationPipeline.evaluate(candidate, golden)
        let scratch = candidate.makeScratch()
        let learned = corrections.filter { e in e.features.withUnsafeBufferPointer { candidate.decide($0, scratch: scratch).diagnosis == e.label } }.count
        var reasons: [String] = []
        if learned < corrections.count {
            reasons.append("\(corrections.count - learned) of \(corrections.count) corrections are still classified otherwise")
        }
        let margin = options.marginPoints
        if after.accuracy < before.accuracy - margin {
            reasons.append("golden-set accuracy would drop from \(percent(before.accuracy)) to \(percent(after.accuracy)) (margin \(percent(margin)))")
        }
        for c in before.perClassRecall.indices where before.perClassRecall[c].isFinite && after.perClassRecall[c] < before.perClassRecall[c] - margin {
            reasons.append("recall of \(deployed.schema.classes[c]) would drop from \(percent(before.perClassRecall[c])) to \(percent(after.perClassRecall[c]))")
        }
        return GateReport(goldenBefore: before, goldenAfter: after, correctionsLearned: learned, corrections: corrections.count, reasons: reasons)
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

