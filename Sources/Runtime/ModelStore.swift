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
        }
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

    /// Makes `version` the deployed model after checking that it loads; the registry records it.
    @discardableResult
    public func rollback(to version: Int) throws(ModelStoreError) -> PolicyModel {
        let (model, _) = try load(version: version)
        do { try journal.markDeployed(version: version) } catch { throw .journal(error) }
        return model
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
