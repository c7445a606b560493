import Policy

/// What one fleet learning run starts from.
public struct FleetLearningInput: Sendable {
    /// The model the candidate is trained from: the current fleet model, or the shipped one.
    public var parent: PolicyModel
    /// Its fleet version (0: the shipped model).
    public var parentFleetVersion: UInt32
    /// The shipped learning set (replay, golden, calibration).
    public var learningSet: LearningSet
    /// Every site's feedback.
    public var samples: [FleetFeedbackSample]
    /// The version the candidate gets (above the parent's).
    public var fleetVersion: UInt32
    public var createdWallNanoseconds: Int64
    public var seed: UInt64
    /// The lineage's first model (the shipped one), the second reference of the device's gate; nil: `parent`.
    public var reference: PolicyModel?

    public init(parent: PolicyModel, parentFleetVersion: UInt32, learningSet: LearningSet, samples: [FleetFeedbackSample],
                fleetVersion: UInt32, createdWallNanoseconds: Int64, seed: UInt64, reference: PolicyModel? = nil) {
        self.parent = parent
        self.parentFleetVersion = parentFleetVersion
        self.learningSet = learningSet
        self.samples = samples
        self.fleetVersion = fleetVersion
        self.createdWallNanoseconds = createdWallNanoseconds
        self.seed = seed
        self.reference = reference
    }
}

/// What a fleet learning run came to.
public enum FleetLearningOutcome: Sendable {
    /// A candidate that passed every check, with the header to sign.
    case candidate(PolicyModel, FleetModelHeader, FleetLearningNotes)
    /// The candidate is worse than the parent somewhere (or the device's gate refused it): nothing
    /// is published. The header holds the figures that were measured.
    case refused(reasons: [String], FleetModelHeader, FleetLearningNotes)
    /// No usable feedback.
    case nothingToLearn(FleetLearningNotes)
}

/// What a run did with its input that the header does not say.
public struct FleetLearningNotes: Sendable, Hashable {
    /// Feedback samples skipped, with why (unknown class, a window of the wrong width).
    public var ignored: [String] = []
    /// The device gate's figures on the shipped golden set and the corrections.
    public var corrections = 0
    public var correctionsLearned = 0
}

/// Learning across sites: trains a candidate from the shipped learning set plus every site's
/// feedback with the device's own incremental learner (replay, distillation to the parent, anchor,
/// re-quantization on the shipped calibration set), then validates it against the shipped golden
/// set and every site's golden set and refuses it when it is worse than the parent beyond the
/// margin on any of them.
///
/// A site's golden set is its held-back feedback: the site's verdicts (one per event, or per
/// sensor and time for a window), ordered by wall time, event and sensor, and every
/// `holdBackEvery`-th of them (the 5th, 10th, …) with all its feature vectors; the rest are trained on.
/// A site with fewer verdicts has no golden set. Pure and deterministic for a given input and seed.
public struct FleetLearner: Sendable {
    public var options: LearnerOptions
    public var holdBackEvery: Int

    public init(options: LearnerOptions = LearnerOptions(), holdBackEvery: Int = 5) {
        self.options = options
        self.holdBackEvery = holdBackEvery
    }

    /// A site's feedback split into what is trained on and what is held back.
    public struct SiteSplit: Sendable, Hashable {
        public var site: String
        public var training: [FleetFeedbackSample]
        public var golden: [FleetFeedbackSample]
    }

    /// Splits the samples by site (sorted by site id) into training and golden (held back) verdicts.
    public func split(_ samples: [FleetFeedbackSample]) -> [SiteSplit] {
        var bySite: [String: [FleetFeedbackSample]] = [:]
        for s in samples { bySite[s.site, default: []].append(s) }
        return bySite.keys.sorted().map { site in
            let ordered = bySite[site]!.sorted { a, b in
                (a.wallNanoseconds, a.eventID ?? -1, a.sensor, a.label) < (b.wallNanoseconds, b.eventID ?? -1, b.sensor, b.label)
            }
            var split = SiteSplit(site: site, training: [], golden: [])
            let every = max(holdBackEvery, 2)
            for (i, s) in ordered.enumerated() {
                if i % every == every - 1 { split.golden.append(s) } else { split.training.append(s) }
            }
            return split
        }
    }

    public func learn(_ input: FleetLearningInput) -> FleetLearningOutcome {
        let schema = input.parent.schema
        var notes = FleetLearningNotes()
        func examples(_ samples: [FleetFeedbackSample]) -> [FeedbackExample] {
            var out: [FeedbackExample] = []
            for s in samples {
                guard let label = schema.classes.firstIndex(of: s.label) else {
                    notes.ignored.append("\(s.site) \(s.sensor): \"\(s.label)\" is not a diagnosis class")
                    continue
                }
                guard s.window.allSatisfy({ $0.count == schema.features.count }) else {
                    notes.ignored.append("\(s.site) \(s.sensor): a window of \(s.window.first?.count ?? 0) features, the model reads \(schema.features.count)")
                    continue
                }
                out += s.window.map { FeedbackExample(features: $0, label: label, bucket: s.bucket) }
            }
            return out
        }
        let splits = split(input.samples)
        let training = splits.map { examples($0.training) }, golden = splits.map { examples($0.golden) }
        var lineage: [FleetSiteContribution] = []
        for i in splits.indices where !training[i].isEmpty || !golden[i].isEmpty {
            lineage.append(FleetSiteContribution(site: splits[i].site, trainingSamples: UInt32(training[i].count), goldenSamples: UInt32(golden[i].count)))
        }
        let shippedBefore = DistillationPipeline.evaluate(input.parent, input.learningSet.golden).accuracy
        func header(_ candidate: PolicyModel?) -> FleetModelHeader {
            let shippedAfter: Double = candidate.map { DistillationPipeline.evaluate($0, input.learningSet.golden).accuracy } ?? .nan
            let shipped = FleetGoldenFigure(set: "shipped", samples: UInt32(input.learningSet.golden.count), parentAccuracy: shippedBefore,
                                            candidateAccuracy: shippedAfter)
            var sites: [FleetGoldenFigure] = []
            for i in splits.indices where !golden[i].isEmpty {
                let after: Double = candidate.map { Self.accuracy($0, golden[i]) } ?? .nan
                sites.append(FleetGoldenFigure(set: splits[i].site, samples: UInt32(golden[i].count),
                                               parentAccuracy: Self.accuracy(input.parent, golden[i]), candidateAccuracy: after))
            }
            return FleetModelHeader(fleetVersion: input.fleetVersion, parentFleetVersion: input.parentFleetVersion,
                                    createdWallNanoseconds: input.createdWallNanoseconds, lineage: lineage, shippedGolden: shipped, siteGolden: sites)
        }
        let all = training.joined()
        guard !all.isEmpty else { return .nothingToLearn(notes) }
        guard input.fleetVersion > input.parentFleetVersion else {
            return .refused(reasons: ["fleet version \(input.fleetVersion) is not above its parent's (\(input.parentFleetVersion))"], header(nil), notes)
        }

        var learnerOptions = options
        learnerOptions.maxUpdatesPerHour = max(learnerOptions.maxUpdatesPerHour, 1)
        var learner = IncrementalLearner(deployed: input.parent, learningSet: input.learningSet, options: learnerOptions, seed: input.seed,
                                         reference: input.reference)
        for e in all { learner.add(e) }
        let candidate: PolicyModel
        switch learner.update(nowNanoseconds: 0) {
        case .accepted(let model, let report):
            notes.corrections = report.corrections
            notes.correctionsLearned = report.correctionsLearned
            candidate = model
        case .rejected(let report):
            notes.corrections = report.corrections
            notes.correctionsLearned = report.correctionsLearned
            return .refused(reasons: report.reasons.map { "device gate: \($0)" }, header(nil), notes)
        case .rateLimited:
            return .refused(reasons: ["the learner is rate-limited"], header(nil), notes)
        }
        var model = candidate
        model.lineage = ModelLineage(version: input.fleetVersion, parent: input.parentFleetVersion)
        let h = header(model)
        var reasons: [String] = []
        for f in [h.shippedGolden] + h.siteGolden where f.candidateAccuracy < f.parentAccuracy - options.marginPoints {
            reasons.append("accuracy on \(f.set == "shipped" ? "the shipped golden set" : "site \(f.set)'s golden set") would drop from "
                           + "\(FleetVerdictReport.pct(f.parentAccuracy)) to \(FleetVerdictReport.pct(f.candidateAccuracy)) "
                           + "(margin \(FleetVerdictReport.pct(options.marginPoints)))")
        }
        return reasons.isEmpty ? .candidate(model, h, notes) : .refused(reasons: reasons, h, notes)
    }

    /// Share of `examples` the model classifies as labelled.
    static func accuracy(_ model: PolicyModel, _ examples: [FeedbackExample]) -> Double {
        guard !examples.isEmpty else { return .nan }
        let scratch = model.makeScratch()
        let right = examples.filter { e in e.features.withUnsafeBufferPointer { model.decide($0, scratch: scratch).diagnosis == e.label } }.count
        return Double(right) / Double(examples.count)
    }
}
