import Policy

/// Why a fleet learning run published nothing.
public enum FleetRunError: Error, Sendable, CustomStringConvertible {
    case nothingToLearn(ignored: [String])
    /// The candidate was worse than its parent somewhere; `header` holds the figures measured.
    case refused(reasons: [String], header: FleetModelHeader)
    case signing(Ed25519Error)

    public var description: String {
        switch self {
        case .nothingToLearn(let ignored):
            return "no usable feedback" + (ignored.isEmpty ? "" : " (\(ignored.count) samples ignored: \(ignored.prefix(3).joined(separator: "; ")))")
        case .refused(let reasons, _): return "the candidate is not published: " + reasons.joined(separator: "; ")
        case .signing(let e): return "signing: \(e)"
        }
    }
}

/// What a fleet learning run publishes.
public struct FleetPublication: Sendable {
    public var envelope: FleetModelEnvelope
    public var model: PolicyModel
    public var notes: FleetLearningNotes
}

/// One fleet learning run, whatever carries its input and output (a directory of sample files
/// now, a broker later): trains and validates a candidate (`FleetLearner`) and signs it with `key`.
public func runFleetLearning(_ input: FleetLearningInput, learner: FleetLearner = FleetLearner(),
                             key: Ed25519PrivateKey) throws(FleetRunError) -> FleetPublication {
    switch learner.learn(input) {
    case .candidate(let model, let header, let notes):
        do {
            return FleetPublication(envelope: try FleetModelEnvelope.signed(header: header, model: model, key: key), model: model, notes: notes)
        } catch { throw .signing(error) }
    case .refused(let reasons, let header, _):
        throw .refused(reasons: reasons, header: header)
    case .nothingToLearn(let notes):
        throw .nothingToLearn(ignored: notes.ignored)
    }
}

extension FleetModelHeader {
    /// The header for a person: version, lineage and figures, one item a line.
    public var summary: String {
        func pct(_ x: Double) -> String { FleetVerdictReport.pct(x) }
        var lines = ["fleet model v\(fleetVersion) (parent fleet v\(parentFleetVersion)), created \(Self.utc(createdWallNanoseconds))"]
        lines.append("lineage: " + (lineage.isEmpty ? "no site feedback"
                                    : lineage.map { "\($0.site) (\($0.trainingSamples) trained, \($0.goldenSamples) held back)" }.joined(separator: ", ")))
        for f in [shippedGolden] + siteGolden {
            lines.append("golden \(f.set == "shipped" ? "shipped set" : "site \(f.set)") (\(f.samples) samples): "
                         + "parent \(pct(f.parentAccuracy)) → candidate \(pct(f.candidateAccuracy))")
        }
        return lines.joined(separator: "\n")
    }

    /// `YYYY-MM-DDTHH:MM:SSZ` of a wall time in ns since the epoch (proleptic Gregorian, UTC).
    static func utc(_ nanoseconds: Int64) -> String {
        let seconds = nanoseconds >= 0 ? nanoseconds / 1_000_000_000 : (nanoseconds + 1) / 1_000_000_000 - 1
        let days = seconds >= 0 ? seconds / 86_400 : (seconds + 1) / 86_400 - 1
        let inDay = seconds - days * 86_400
        // Days to civil date (H. Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(inDay / 3_600)):\(two(inDay % 3_600 / 60)):\(two(inDay % 60))Z"
    }
}
