import Journal
import Policy

/// Why a model could not be stored, found or loaded. Whatever is thrown, the model in service stays.
public enum ModelStoreError: Error, Sendable, CustomStringConvertible {
    case file(DurableFileError)
    case journal(JournalError)
    case decode(path: String, ModelFileError)
    case digestMismatch(path: String, registered: String, found: String)
    case featureSchema(path: String, expected: [String], found: [String])
    case unknownVersion(Int)
    case noDeployedModel
    /// The deployed version and every ancestor failed to load (each with why).
    case noIntactVersion(damaged: [DamagedVersion])

    public var description: String {
        switch self {
        case .file(let e): return "model file: \(e)"
        case .journal(let e): return "model registry: \(e)"
        case .decode(let path, let e): return "\(path): \(e)"
        case .digestMismatch(let path, let registered, let found):
            return "\(path): SHA-256 \(found.prefix(12))… differs from the registered \(registered.prefix(12))… (the file was changed or damaged after deployment)"
        case .featureSchema(let path, let expected, let found):
            let missing = expected.filter { !found.contains($0) }, extra = found.filter { !expected.contains($0) }
            return "\(path): its features do not match this Vigil's monitor (missing \(missing), unexpected \(extra), or a different order)"
        case .unknownVersion(let v): return "model version \(v) is not in the registry (see `vigil model history`)"
        case .noDeployedModel: return "no model is deployed"
        case .noIntactVersion(let damaged):
            return "no version of the deployed lineage loads: " + damaged.map { "v\($0.version): \($0.reason)" }.joined(separator: "; ")
        }
    }
}

/// A registered version whose file did not load, and why.
public struct DamagedVersion: Sendable, Hashable {
    public var version: Int
    public var reason: String
}

/// The model a controller starts with: the deployed version, or, when that one's file is damaged,
/// the newest intact version of its lineage, now deployed in its place.
public struct StartupModel: Sendable {
    public var model: PolicyModel
    public var record: ModelVersion
    /// The versions found damaged on the way (newest first); empty when the deployed one loaded.
    public var damaged: [DamagedVersion]
    public var fellBack: Bool { !damaged.isEmpty }

    /// The alarm text of a fallback (nil when there was none).
    public var alarmText: String? {
        guard let first = damaged.first else { return nil }
        return "policy model v\(first.version) does not load (\(first.reason)); running v\(record.version), the newest intact version of its lineage"
            + (damaged.count > 1 ? " (also damaged: " + damaged.dropFirst().map { "v\($0.version)" }.joined(separator: ", ") + ")" : "")
            + ". Restore the file or roll back ('model rollback VERSION', engineer)"
    }
}

/// Model versions on disk and in the journal's registry: `DIR/model-vN.vglm` written durably
/// (temporary file, fsync, rename, directory fsync), then registered with its parent, SHA-256,
/// training summary and validation figures. A load reads the file, checks its digest against the
/// registry, decodes it (refusing corrupt or incompatible files) and checks its feature schema.
public struct ModelStore: Sendable {
    public let directory: String
    public let journal: Journal
    /// The feature names this build's monitor produces; a model with other features is refused.
    public let expectedFeatures: [String]?

    public init(directory: String, journal: Journal, expectedFeatures: [String]? = nil) throws(ModelStoreError) {
        do { try DurableFile.makeDirectories(directory) } catch { throw .file(error) }
        self.directory = directory
        self.journal = journal
        self.expectedFeatures = expectedFeatures
    }

    public func path(version: Int) -> String { "\(directory)/model-v\(version).vglm" }

    /// One more than the newest registered version (1 for an empty registry).
    public func nextVersion() throws(ModelStoreError) -> Int {
        do { return (try journal.modelHistory().map(\.version).max() ?? 0) + 1 } catch { throw .journal(error) }
    }

    /// Writes `model` durably as the next version (its lineage is rewritten to that version and
    /// `parent`), registers it and, with `deploy`, makes it the deployed model. Returns the record.
    @discardableResult
    public func add(_ model: PolicyModel, parent: Int?, trainingSummary: String, validationJSON: String,
                    deploy: Bool, note: String = "", wallNanoseconds: Int64) throws(ModelStoreError) -> ModelVersion {
        let version = try nextVersion()
        var m = model
        m.lineage = ModelLineage(version: UInt32(version), parent: UInt32(parent ?? 0))
        let bytes = ModelFile.encode(m)
        let file = path(version: version)
        do { try DurableFile.write(bytes, to: file) } catch { throw .file(error) }
        let record = ModelVersion(version: version, parentVersion: parent, createdWallNanoseconds: wallNanoseconds, filePath: file,
                                  sha256: SHA256.hex(bytes), trainingSummary: trainingSummary, validationJSON: validationJSON,
                                  deployed: deploy, note: note)
        do { try journal.registerModel(record) } catch { throw .journal(error) }
        return record
    }

    /// Reads, verifies and decodes a registered version.
    public func load(version: Int) throws(ModelStoreError) -> (model: PolicyModel, record: ModelVersion) {
        let history: [ModelVersion]
        do { history = try journal.modelHistory() } catch { throw .journal(error) }
        guard let record = history.first(where: { $0.version == version }) else { throw .unknownVersion(version) }
        return (try load(record), record)
    }

    /// The deployed version, verified and decoded.
    public func loadDeployed() throws(ModelStoreError) -> (model: PolicyModel, record: ModelVersion) {
        let record: ModelVersion?
        do { record = try journal.deployedModel() } catch { throw .journal(error) }
        guard let record else { throw .noDeployedModel }
        return (try load(record), record)
    }

    func load(_ record: ModelVersion) throws(ModelStoreError) -> PolicyModel {
        let bytes: [UInt8]
        do { bytes = try DurableFile.read(record.filePath) } catch { throw .file(error) }
        let digest = SHA256.hex(bytes)
        guard digest == record.sha256 else { throw .digestMismatch(path: record.filePath, registered: record.sha256, found: digest) }
        let model: PolicyModel
        do { model = try ModelFile.decode(bytes) } catch { throw .decode(path: record.filePath, error) }
        if let expectedFeatures, model.schema.features != expectedFeatures {
            throw .featureSchema(path: record.filePath, expected: expectedFeatures, found: model.schema.features)
        }
        return model
    }

    /// Makes `version` the deployed model after checking that it loads; the registry records it,
    /// with `audit` (the command that asked) in the same transaction.
    @discardableResult
    public func rollback(to version: Int, audit: AuditEntry? = nil) throws(ModelStoreError) -> PolicyModel {
        let (model, _) = try load(version: version)
        do { try journal.markDeployed(version: version, audit: audit) } catch { throw .journal(error) }
        return model
    }

    /// The deployed version; when its file does not load (damaged, changed, undecodable), that is
    /// recorded in the registry (`ModelVersion.damaged`) and the newest intact ancestor is deployed
    /// instead, with an audit entry saying so in the same transaction. Throws `.noDeployedModel`
    /// for an empty registry and `.noIntactVersion` when nothing of the lineage loads.
    public func loadDeployedOrFallback(wallNanoseconds: Int64) throws(ModelStoreError) -> StartupModel {
        let history: [ModelVersion]
        do { history = try journal.modelHistory() } catch { throw .journal(error) }
        guard let deployed = history.first(where: \.deployed) else { throw .noDeployedModel }
        var damaged: [DamagedVersion] = []
        var candidate: ModelVersion? = deployed
        while let record = candidate {
            do throws(ModelStoreError) {
                let model = try load(record)
                if !damaged.isEmpty {
                    let audit = AuditEntry(wallNanoseconds: wallNanoseconds, source: "vigil", command: "(model fallback at start)",
                                           result: "v\(deployed.version) does not load: \(damaged[0].reason); deployed v\(record.version)",
                                           role: "system")
                    do { try journal.markDeployed(version: record.version, audit: audit) } catch { throw .journal(error) }
                }
                var r = record
                r.deployed = true
                return StartupModel(model: model, record: r, damaged: damaged)
            } catch {
                if case .journal = error { throw error }
                let reason = "\(error)"
                damaged.append(DamagedVersion(version: record.version, reason: reason))
                do { try journal.markDamaged(version: record.version, reason: reason) } catch { throw .journal(error) }
            }
            candidate = record.parentVersion.flatMap { p in history.first { $0.version == p } }
        }
        throw .noIntactVersion(damaged: damaged)
    }

    /// Registers the shipped model file at `path` as version 1, deployed, when the registry is empty.
    /// Returns true when it did. A shipped file that does not load is refused like any other.
    @discardableResult
    public func installIfEmpty(shippedModelAt path: String, wallNanoseconds: Int64) throws(ModelStoreError) -> Bool {
        do { if try !journal.modelHistory().isEmpty { return false } } catch { throw .journal(error) }
        let bytes: [UInt8]
        do { bytes = try DurableFile.read(path) } catch { throw .file(error) }
        let model: PolicyModel
        do { model = try ModelFile.decode(bytes) } catch { throw .decode(path: path, error) }
        if let expectedFeatures, model.schema.features != expectedFeatures {
            throw .featureSchema(path: path, expected: expectedFeatures, found: model.schema.features)
        }
        try add(model, parent: nil, trainingSummary: "shipped default model (\(path))", validationJSON: "{}", deploy: true,
                note: "installed at first start", wallNanoseconds: wallNanoseconds)
        return true
    }
}
