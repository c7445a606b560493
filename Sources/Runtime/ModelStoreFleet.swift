import Foundation
import Fleet
import Journal
import Policy

/// The model store as the registry fleet models are deployed into: a fleet model becomes a new
/// version whose parent is the deployed one and whose validation JSON names its `fleet_version`,
/// so a rollback works as for a local version.
extension ModelStore: FleetModelRegistry {
    public func fleetDeployment() throws(FleetRegistryError) -> FleetDeployment {
        let deployed: (model: PolicyModel, record: ModelVersion), history: [ModelVersion]
        do { deployed = try loadDeployed() } catch { throw FleetRegistryError("\(error)") }
        do { history = try journal.modelHistory() } catch { throw FleetRegistryError("\(error)") }
        // The lineage's first model is the gate's second reference, as for a local update.
        var root = deployed.record
        while let parent = root.parentVersion, let p = history.first(where: { $0.version == parent }) { root = p }
        let reference = root.version == deployed.record.version ? nil : (try? load(version: root.version))?.model
        return FleetDeployment(model: deployed.model, version: deployed.record.version,
                               fleetVersion: Self.fleetVersion(of: deployed.record, history: history),
                               registeredFleetVersions: Set(history.compactMap(Self.fleetVersion(in:))), reference: reference)
    }

    public func localFeedback(schema: ModelSchema, limit: Int) -> [FeedbackExample] {
        guard let stored = try? journal.feedbackSamples(limit: max(limit, 1)) else { return [] }
        return stored.compactMap { _, s in
            guard let label = schema.classes.firstIndex(of: s.label), s.features.count == schema.features.count else { return nil }
            let bucket: FeedbackExample.Bucket = s.bucket == .success ? .success : s.bucket == .failure ? .failure : .edgeCase
            return FeedbackExample(features: s.features, label: label, action: s.action.flatMap { schema.actions.firstIndex(of: $0) },
                                   good: s.reward.map { $0 > 0 }, bucket: bucket)
        }
    }

    public func deployFleetModel(_ model: PolicyModel, parent: Int, trainingSummary: String, validationJSON: String, note: String,
                                 wallNanoseconds: Int64) throws(FleetRegistryError) -> Int {
        do {
            return try add(model, parent: parent, trainingSummary: trainingSummary, validationJSON: validationJSON, deploy: true,
                           note: note, wallNanoseconds: wallNanoseconds).version
        } catch { throw FleetRegistryError("\(error)") }
    }

    /// This site's operator feedback as fleet feedback samples, one per verdict (pending or learned;
    /// withdrawn and rejected ones are left out), oldest first, over the newest `limit` stored
    /// feature vectors. `modelVersion` and `fleetVersion` are those of the version deployed now
    /// (the journal does not keep which version a verdict was given on).
    public func fleetFeedbackSamples(site: String, limit: Int = 1_000) throws(FleetRegistryError) -> [FleetFeedbackSample] {
        let stored: [(feedbackID: Int64, sample: FeedbackSample)], verdicts: [JournalRecord<OperatorFeedback>], history: [ModelVersion]
        do {
            stored = try journal.feedbackSamples(limit: max(limit, 1))
            verdicts = try journal.feedback(limit: max(limit, 1))
            history = try journal.modelHistory()
        } catch { throw FleetRegistryError("\(error)") }
        let deployed = history.first(where: \.deployed)
        let fleet = deployed.flatMap { Self.fleetVersion(of: $0, history: history) } ?? 0
        var byID: [Int64: [FeedbackSample]] = [:]
        for (id, sample) in stored { byID[id, default: []].append(sample) }
        return verdicts.reversed().compactMap { record in
            guard let samples = byID[record.id], let first = samples.first else { return nil }
            let bucket: FeedbackExample.Bucket = first.bucket == .success ? .success : first.bucket == .failure ? .failure : .edgeCase
            return FleetFeedbackSample(site: site, eventID: record.value.eventID, sensor: record.value.subject, window: samples.map(\.features),
                                       label: first.label, modelSaid: nil, bucket: bucket, modelVersion: UInt32(clamping: deployed?.version ?? 0),
                                       fleetVersion: fleet, wallNanoseconds: record.value.wallNanoseconds)
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
    /// fleet model descends from it).
    public static func fleetVersion(of record: ModelVersion, history: [ModelVersion]) -> UInt32? {
        var r: ModelVersion? = record
        var seen = Set<Int>()
        while let current = r, seen.insert(current.version).inserted {
            if let v = fleetVersion(in: current) { return v }
            r = current.parentVersion.flatMap { p in history.first { $0.version == p } }
        }
        return nil
    }
}
