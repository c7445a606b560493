import Policy

/// Why the model registry could not answer or store (its own error, in words).
public struct FleetRegistryError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The deployed model and what the gate needs to know of the registry around it.
public struct FleetDeployment: Sendable {
    public var model: PolicyModel
    /// Its registry version.
    public var version: Int
    /// The fleet version it is or descends from (nil: none, the shipped model's lineage).
    public var fleetVersion: UInt32?
    /// Every fleet version ever registered here (deployed now or not).
    public var registeredFleetVersions: Set<UInt32>
    /// The lineage's first model (the device gate's second reference); nil when it is `model`.
    public var reference: PolicyModel?

    public init(model: PolicyModel, version: Int, fleetVersion: UInt32?, registeredFleetVersions: Set<UInt32>, reference: PolicyModel?) {
        self.model = model
        self.version = version
        self.fleetVersion = fleetVersion
        self.registeredFleetVersions = registeredFleetVersions
        self.reference = reference
    }
}

/// The model registry a controller deploys fleet models into. Runtime's `ModelStore` is one: it
/// records the fleet version in the new version's validation JSON (`fleet_version`), so a rollback
/// works as for a local version.
public protocol FleetModelRegistry: Sendable {
    /// The feature names this controller's monitor produces (nil: the deployed model's).
    var expectedFeatures: [String]? { get }
    func fleetDeployment() throws(FleetRegistryError) -> FleetDeployment
    /// This site's labelled feedback, the newest `limit` samples, as the learner takes it.
    func localFeedback(schema: ModelSchema, limit: Int) -> [FeedbackExample]
    /// Stores `model` as a new version with parent `parent` and deploys it; returns its version.
    func deployFleetModel(_ model: PolicyModel, parent: Int, trainingSummary: String, validationJSON: String, note: String,
                          wallNanoseconds: Int64) throws(FleetRegistryError) -> Int
}

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
    case registry(FleetRegistryError)

    public var description: String {
        switch self {
        case .malformed(let e): return "not a fleet model envelope: \(e)"
        case .unsigned: return "the fleet model is not signed"
        case .badSignature: return "the fleet model's signature does not verify against the configured fleet key (changed in transit, or signed by another key)"
        case .model(let e): return "the fleet model's file does not decode: \(e)"
        case .featureSchema(let expected, let found):
            return "the fleet model's schema differs from this controller's (it reads \(found.count) features: \(found.prefix(4).joined(separator: ", "))…; "
                + "this monitor gives \(expected.count): \(expected.prefix(4).joined(separator: ", "))…, or its classes or actions differ)"
        case .notNewer(let v, let deployed, let before):
            if before { return "fleet model v\(v) was registered here before (a rolled-back fleet version is not taken again)" }
            return "fleet model v\(v) is not newer than the deployed fleet version v\(deployed ?? 0)"
        case .localGate(let reasons): return "the local validation gate refused it: " + reasons.joined(separator: "; ")
        case .registry(let e): return "the model registry: \(e)"
        }
    }
}

/// What the gate did with one fleet model.
public struct FleetGateResult: Sendable, CustomStringConvertible {
    /// The report to send back to the fleet learner.
    public var report: FleetVerdictReport
    /// Nil when deployed.
    public var refusal: FleetRefusal?
    /// The registry version it was deployed as.
    public var deployedVersion: Int?
    /// The envelope's header, when it parsed.
    public var header: FleetModelHeader?

    public var description: String { report.description }
}

/// A controller's gate for fleet models: checks the envelope's Ed25519 signature against the
/// configured fleet key, the model's schema against this controller's, and its fleet version
/// against the deployed one; runs the device's own validation gate (`IncrementalLearner.gate`: the
/// learning set's golden set, every local correction and rating, class recalls, within the margin
/// of the deployed model and of the lineage's first one); and deploys it through the registry as a
/// new version whose parent is the deployed one, or refuses with a reason (the deployed model stays).
public struct FleetModelGate<Registry: FleetModelRegistry>: Sendable {
    public let site: String
    public let trustedKey: Ed25519PublicKey
    public let registry: Registry
    /// The device's learning set (its golden set is the gate's).
    public let learningSet: LearningSet
    public let options: LearnerOptions

    public init(site: String, trustedKey: Ed25519PublicKey, registry: Registry, learningSet: LearningSet, options: LearnerOptions = LearnerOptions()) {
        self.site = site
        self.trustedKey = trustedKey
        self.registry = registry
        self.learningSet = learningSet
        self.options = options
    }

    /// Judges an envelope and deploys it or refuses it. `localFeedback` is this site's labelled data
    /// (nil: the registry's, the newest `options.maxFeedbackSamples` samples). The caller logs a refusal.
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

        let deployed: FleetDeployment
        do { deployed = try registry.fleetDeployment() } catch { return refuse(.registry(error)) }
        let expected = registry.expectedFeatures ?? deployed.model.schema.features
        guard candidate.schema.features == expected, candidate.schema.classes == deployed.model.schema.classes,
              candidate.schema.actions == deployed.model.schema.actions else {
            return refuse(.featureSchema(expected: expected, found: candidate.schema.features))
        }
        if header.fleetVersion <= (deployed.fleetVersion ?? 0) {
            return refuse(.notNewer(fleetVersion: header.fleetVersion, deployed: deployed.fleetVersion, registeredBefore: false))
        }
        if deployed.registeredFleetVersions.contains(header.fleetVersion) {
            return refuse(.notNewer(fleetVersion: header.fleetVersion, deployed: deployed.fleetVersion, registeredBefore: true))
        }

        let local = localFeedback ?? registry.localFeedback(schema: deployed.model.schema, limit: options.maxFeedbackSamples)
        let learner = IncrementalLearner(deployed: deployed.model, learningSet: learningSet, options: options, reference: deployed.reference)
        let gate = learner.gate(candidate, corrections: local.filter { $0.bucket == .failure },
                                ratings: local.filter { $0.good != nil && $0.action != nil })
        guard gate.passed else { return refuse(.localGate(gate.reasons), gate) }

        let version: Int
        do {
            version = try registry.deployFleetModel(candidate, parent: deployed.version, trainingSummary: Self.summary(header),
                                                    validationJSON: Self.json(header, gate: gate),
                                                    note: "fleet model v\(header.fleetVersion): signature verified, local gate passed",
                                                    wallNanoseconds: wallNanoseconds)
        } catch { return refuse(.registry(error), gate) }
        let report = FleetVerdictReport(site: site, fleetVersion: header.fleetVersion, deployed: true, localVersion: UInt32(clamping: version),
                                        reason: "deployed as v\(version) (from v\(deployed.version))",
                                        goldenSamples: UInt32(learner.golden.count), goldenBefore: gate.goldenBefore.accuracy,
                                        goldenAfter: gate.goldenAfter.accuracy, corrections: UInt32(gate.corrections),
                                        correctionsLearned: UInt32(gate.correctionsLearned), wallNanoseconds: wallNanoseconds)
        return FleetGateResult(report: report, refusal: nil, deployedVersion: version, header: header)
    }

    func refused(_ r: FleetRefusal, fleetVersion: UInt32, header: FleetModelHeader?, gate: GateReport? = nil, wall: Int64) -> FleetGateResult {
        let report = FleetVerdictReport(site: site, fleetVersion: fleetVersion, deployed: false, localVersion: 0, reason: r.description,
                                        goldenSamples: gate == nil ? 0 : UInt32(learningSet.golden.count),
                                        goldenBefore: gate?.goldenBefore.accuracy ?? .nan, goldenAfter: gate?.goldenAfter.accuracy ?? .nan,
                                        corrections: UInt32(gate?.corrections ?? 0), correctionsLearned: UInt32(gate?.correctionsLearned ?? 0),
                                        wallNanoseconds: wall)
        return FleetGateResult(report: report, refusal: r, deployedVersion: nil, header: header)
    }

    static func summary(_ h: FleetModelHeader) -> String {
        "fleet model v\(h.fleetVersion) (from fleet v\(h.parentFleetVersion)), trained on "
            + (h.lineage.isEmpty ? "no site feedback" : h.lineage.map { "\($0.site) \($0.trainingSamples)+\($0.goldenSamples) held back" }.joined(separator: ", "))
    }

    /// The registry's validation JSON of a deployed fleet model: `fleet_version` (what
    /// `FleetValidationJSON.fleetVersion` reads back), its parent, lineage, figures and the local gate's.
    static func json(_ h: FleetModelHeader, gate: GateReport) -> String {
        func figure(_ f: FleetGoldenFigure) -> String {
            "{\"set\":\(JSONText.string(f.set)),\"samples\":\(f.samples),\"parent_accuracy\":\(JSONText.number(f.parentAccuracy)),"
                + "\"candidate_accuracy\":\(JSONText.number(f.candidateAccuracy))}"
        }
        let lineage = h.lineage.map {
            "{\"site\":\(JSONText.string($0.site)),\"training_samples\":\($0.trainingSamples),\"golden_samples\":\($0.goldenSamples)}"
        }
        return "{\"fleet_version\":\(h.fleetVersion),\"fleet_parent\":\(h.parentFleetVersion),\"fleet_created_ns\":\(h.createdWallNanoseconds),"
            + "\"lineage\":[\(lineage.joined(separator: ","))],\"shipped_golden\":\(figure(h.shippedGolden)),"
            + "\"site_golden\":[\(h.siteGolden.map(figure).joined(separator: ","))],"
            + "\"golden_accuracy_before\":\(JSONText.number(gate.goldenBefore.accuracy)),\"golden_accuracy_after\":\(JSONText.number(gate.goldenAfter.accuracy)),"
            + "\"corrections_learned\":\(gate.correctionsLearned),\"corrections\":\(gate.corrections),\"passed\":\(gate.passed)}"
    }
}

/// JSON text of single values.
enum JSONText {
    static func string(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(u.value, radix: 16).count) + String(u.value, radix: 16)
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }

    /// A finite number as is, NaN or infinity as `null`.
    static func number(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
}
