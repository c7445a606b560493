import Foundation
import Journal
import Policy
import Runtime

/// Why a controller refused a fleet model.
public enum FleetRefusal: Error, Sendable, CustomStringConvertible {
    case malformed(FleetWireError)
    case unsigned
    /// The signature does not verify against the configured key (a changed byte, or another key).
    case badSignature
    case model(ModelFileError)
    case featureSchema(expected: [String], found: [String])
    /// Not newer than the fleet version deployed here, or already registered here once (a fleet
    /// version rolled back does not come back by itself).
    case notNewer(fleetVersion: UInt32, deployed: UInt32?, registeredBefore: Bool)
    /// The device's own validation gate refused it.
    case localGate([String])
    case store(ModelStoreError)

    public var description: String {
        switch self {
        case .malformed(let e): return "not a fleet model envelope: \(e)"
        case .unsigned: return "the fleet model is not signed"
        case .badSignature: return "the fleet model's signature does not verify against the configured fleet key (changed in transit, or signed by another key)"
        case .model(let e): return "the fleet model's file does not decode: \(e)"
        case .featureSchema(let expected, let found):
            return "the fleet model reads other features (\(found.count): \(found.prefix(4).joined(separator: ", "))…) than this controller's monitor (\(expected.count))"
        case .notNewer(let v, let deployed, let before):
            if before { return "fleet model v\(v) was deployed here before (a rolled-back fleet version is not taken again)" }
            return "fleet model v\(v) is not newer than the deployed fleet version v\(deployed ?? 0)"
        case .localGate(let reasons): return "the local validation gate refused it: " + reasons.joined(separator: "; ")
        case .store(let e): return "the model registry: \(e)"
        }
    }
}

/// What the gate did with one fleet model.
public struct FleetGateResult: Sendable, CustomStringConvertible {
    /// The report to send back to the fleet learner.
    public var report: FleetVerdictReport
    /// Nil when deployed.
    public var refusal: FleetRefusal?
    /// The registry record of the deployed version.
    public var deployed: ModelVersion?
    /// The envelope's header, when it parsed.
    public var header: FleetModelHeader?

    public var description: String { report.description }
}

/// A controller's gate for fleet models: checks the envelope's Ed25519 signature against the
/// configured fleet key, the model's feature schema against this controller's, and its fleet
/// version against the deployed one; runs the device's own validation gate (`IncrementalLearner.gate`:
/// the learning set's golden set, every local correction, class recalls, within the margin of the
/// deployed model and of the lineage's first one); and deploys it through the `ModelStore` as a new
/// version whose parent is the deployed one (so a rollback works as for a local version) and whose
/// registry entry names the fleet version. Refuses with a reason otherwise; the deployed model stays.
public struct FleetModelGate: Sendable {
    public let site: String
    public let trustedKey: Ed25519PublicKey
    public let store: ModelStore
    /// The device's learning set (its golden set is the gate's).
    public let learningSet: LearningSet
    public let options: LearnerOptions

    public init(site: String, trustedKey: Ed25519PublicKey, store: ModelStore, learningSet: LearningSet, options: LearnerOptions = LearnerOptions()) {
        self.site = site
        self.trustedKey = trustedKey
        self.store = store
        self.learningSet = learningSet
        self.options = options
    }

    /// Judges an envelope and deploys it or refuses it. `localFeedback` is this site's labelled data
    /// (nil: the newest `options.maxFeedbackSamples` feedback samples in the journal). The caller logs a refusal.
    public func admit(_ bytes: [UInt8], localFeedback: [FeedbackExample]? = nil, wallNanoseconds: Int64) -> FleetGateResult {
        let envelope: FleetModelEnvelope
        do { envelope = try FleetModelEnvelope.decode(bytes) } catch {
            return refused(.malformed(error), fleetVersion: 0, header: nil, wall: wallNanoseconds)
        }
        let header = envelope.header
        func refuse(_ r: FleetRefusal, _ gate: GateReport? = nil) -> FleetGateResult {
            refused(r, fleetVersion: header.fleetVersion, header: header, gate: gate, wall: wallNanoseconds)
        }
        guard envelope.signature != nil else { return refuse(.unsigned) }
        guard envelope.verifies(with: trustedKey) else { return refuse(.badSignature) }
        let candidate: PolicyModel
        do { candidate = try envelope.model() } catch { return refuse(.model(error)) }

        let deployed: (model: PolicyModel, record: ModelVersion), history: [ModelVersion]
        do { deployed = try store.loadDeployed() } catch { return refuse(.store(error)) }
        do { history = try store.journal.modelHistory() } catch { return refuse(.store(.journal(error))) }
        let expected = store.expectedFeatures ?? deployed.model.schema.features
        guard candidate.schema.features == expected, candidate.schema.classes == deployed.model.schema.classes,
              candidate.schema.actions == deployed.model.schema.actions else {
            return refuse(.featureSchema(expected: expected, found: candidate.schema.features))
        }
        let deployedFleet = Self.fleetVersion(of: deployed.record, history: history)
        let before = history.contains { Self.fleetVersion(in: $0) == header.fleetVersion }
        if before || header.fleetVersion <= (deployedFleet ?? 0) {
            return refuse(.notNewer(fleetVersion: header.fleetVersion, deployed: deployedFleet, registeredBefore: before))
        }

        // The lineage's first model is the gate's second reference, as for a local update.
        var root = deployed.record
        while let parent = root.parentVersion, let p = history.first(where: { $0.version == parent }) { root = p }
        let reference = root.version == deployed.record.version ? nil : (try? store.load(version: root.version))?.model
        let local = localFeedback ?? Self.localFeedback(store.journal, schema: deployed.model.schema, limit: options.maxFeedbackSamples)
        let learner = IncrementalLearner(deployed: deployed.model, learningSet: learningSet, options: options, reference: reference)
        let gate = learner.gate(candidate, corrections: local.filter { $0.bucket == .failure },
                                ratings: local.filter { $0.good != nil && $0.action != nil })
        guard gate.passed else { return refuse(.localGate(gate.reasons), gate) }

        let record: ModelVersion
        do {
            record = try store.add(candidate, parent: deployed.record.version, trainingSummary: Self.summary(header),
                                   validationJSON: Self.json(header, gate: gate), deploy: true,
                                   note: "fleet model v\(header.fleetVersion): signature verified, local gate passed",
                                   wallNanoseconds: wallNanoseconds)
        } catch { return refuse(.store(error), gate) }
        let report = FleetVerdictReport(site: site, fleetVersion: header.fleetVersion, deployed: true, localVersion: UInt32(record.version),
                                        reason: "deployed as v\(record.version) (from v\(deployed.record.version))",
                                        goldenSamples: UInt32(learner.golden.count), goldenBefore: gate.goldenBefore.accuracy,
                                        goldenAfter: gate.goldenAfter.accuracy, corrections: UInt32(gate.corrections),
                                        correctionsLearned: UInt32(gate.correctionsLearned), wallNanoseconds: wallNanoseconds)
        return FleetGateResult(report: report, refusal: nil, deployed: record, header: header)
    }

    func refused(_ r: FleetRefusal, fleetVersion: UInt32, header: FleetModelHeader?, gate: GateReport? = nil, wall: Int64) -> FleetGateResult {
        let report = FleetVerdictReport(site: site, fleetVersion: fleetVersion, deployed: false, localVersion: 0, reason: r.description,
                                        goldenSamples: gate == nil ? 0 : UInt32(learningSet.golden.count),
                                        goldenBefore: gate?.goldenBefore.accuracy ?? .nan, goldenAfter: gate?.goldenAfter.accuracy ?? .nan,
                                        corrections: UInt32(gate?.corrections ?? 0), correctionsLearned: UInt32(gate?.correctionsLearned ?? 0),
                                        wallNanoseconds: wall)
        return FleetGateResult(report: report, refusal: r, deployed: nil, header: header)
    }

    /// The site's stored feedback as the learner takes it (the newest `limit` samples; unknown
    /// classes and windows of another width left out).
    public static func localFeedback(_ journal: Journal, schema: ModelSchema, limit: Int) -> [FeedbackExample] {
        guard let stored = try? journal.feedbackSamples(limit: max(limit, 1)) else { return [] }
        return stored.compactMap { _, s in
            guard let label = schema.classes.firstIndex(of: s.label), s.features.count == schema.features.count else { return nil }
            let bucket: FeedbackExample.Bucket = s.bucket == .success ? .success : s.bucket == .failure ? .failure : .edgeCase
            return FeedbackExample(features: s.features, label: label, action: s.action.flatMap { schema.actions.firstIndex(of: $0) },
                                   good: s.reward.map { $0 > 0 }, bucket: bucket)
        }
    }

    /// The fleet version a registry entry was deployed from (its validation JSON's `fleet_version`), if any.
    public static func fleetVersion(in record: ModelVersion) -> UInt32? {
        guard let data = record.validationJSON.data(using: .utf8),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let v = object["fleet_version"] as? NSNumber else { return nil }
        return v.uint32Value
    }

    /// The fleet version behind `record`: its own, or the nearest ancestor's (a local update of a
    /// fleet model still descends from it).
    public static func fleetVersion(of record: ModelVersion, history: [ModelVersion]) -> UInt32? {
        var r: ModelVersion? = record
        while let current = r {
            if let v = fleetVersion(in: current) { return v }
            r = current.parentVersion.flatMap { p in history.first { $0.version == p } }
        }
        return nil
    }

    static func summary(_ h: FleetModelHeader) -> String {
        "fleet model v\(h.fleetVersion) (from fleet v\(h.parentFleetVersion)), trained on "
            + (h.lineage.isEmpty ? "no site feedback" : h.lineage.map { "\($0.site) \($0.trainingSamples)+\($0.goldenSamples) held back" }.joined(separator: ", "))
    }

    static func json(_ h: FleetModelHeader, gate: GateReport) -> String {
        func number(_ x: Double) -> Any { x.isFinite ? x : NSNull() }
        func figure(_ f: FleetGoldenFigure) -> [String: Any] {
            ["set": f.set, "samples": f.samples, "parent_accuracy": number(f.parentAccuracy), "candidate_accuracy": number(f.candidateAccuracy)]
        }
        let object: [String: Any] = [
            "fleet_version": h.fleetVersion,
            "fleet_parent": h.parentFleetVersion,
            "fleet_created_ns": h.createdWallNanoseconds,
            "lineage": h.lineage.map { ["site": $0.site, "training_samples": $0.trainingSamples, "golden_samples": $0.goldenSamples] },
            "shipped_golden": figure(h.shippedGolden),
            "site_golden": h.siteGolden.map(figure),
            "golden_accuracy_before": number(gate.goldenBefore.accuracy),
            "golden_accuracy_after": number(gate.goldenAfter.accuracy),
            "corrections_learned": gate.correctionsLearned,
            "corrections": gate.corrections,
            "passed": gate.passed,
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{\"fleet_version\":\(h.fleetVersion)}" }
        return String(decoding: data, as: UTF8.self)
    }
}
