import Policy

/// One operator-labelled feature window a controller publishes for the fleet learner.
///
/// ```
/// "VGFS" format:u16 (=1) flags:u16 (=0)
/// site:text  hasEvent:u8 event:i64  sensor:text  label:text  modelSaid:text (empty: unknown)
/// bucket:u8 (0 success, 1 failure, 2 edge case)  modelVersion:u32  fleetVersion:u32 (0: not a fleet model)
/// wall:i64 (ns since the epoch)  rows:u32 features:u16 f32[rows × features]
/// ```
/// `text` is u16 length + UTF-8; little-endian throughout; nothing may follow.
public struct FleetFeedbackSample: Sendable, Hashable {
    public var site: String
    /// The journalled event the verdict was on (nil: a time window of the sensor).
    public var eventID: Int64?
    public var sensor: String
    /// The feature vectors (raw, as the device's learner takes them), all of one length.
    public var window: [[Float]]
    /// The diagnosis class the operator gave (a false alarm is "healthy").
    public var label: String
    /// The class the model had said, when known.
    public var modelSaid: String?
    public var bucket: FeedbackExample.Bucket
    /// The controller's registry version, and the fleet version it came from (0: a local one).
    public var modelVersion: UInt32
    public var fleetVersion: UInt32
    public var wallNanoseconds: Int64

    public init(site: String, eventID: Int64?, sensor: String, window: [[Float]], label: String, modelSaid: String?,
                bucket: FeedbackExample.Bucket, modelVersion: UInt32, fleetVersion: UInt32, wallNanoseconds: Int64) {
        self.site = site
        self.eventID = eventID
        self.sensor = sensor
        self.window = window
        self.label = label
        self.modelSaid = modelSaid
        self.bucket = bucket
        self.modelVersion = modelVersion
        self.fleetVersion = fleetVersion
        self.wallNanoseconds = wallNanoseconds
    }

    public static let magic: [UInt8] = Array("VGFS".utf8)
    public static let format: UInt16 = 1
    static let buckets: [FeedbackExample.Bucket] = [.success, .failure, .edgeCase]

    public func encode() -> [UInt8] {
        var w = FleetWriter()
        w.bytes(Self.magic)
        w.u16(Self.format)
        w.u16(0)
        w.text(site)
        w.u8(eventID == nil ? 0 : 1)
        w.i64(eventID ?? 0)
        w.text(sensor)
        w.text(label)
        w.text(modelSaid ?? "")
        w.u8(UInt8(Self.buckets.firstIndex(of: bucket)!))
        w.u32(modelVersion)
        w.u32(fleetVersion)
        w.i64(wallNanoseconds)
        let features = window.first?.count ?? 0
        w.u32(UInt32(window.count))
        w.u16(UInt16(clamping: features))
        for row in window { for k in 0..<features { w.f32(k < row.count ? row[k] : .nan) } }
        return w.data
    }

    public static func decode(_ bytes: [UInt8]) throws(FleetWireError) -> FleetFeedbackSample {
        var r = FleetReader(bytes)
        let flags = try r.header("fleet feedback sample", magic: magic, format: format)
        guard flags == 0 else { throw .invalid(offset: 6, what: "flags \(flags)") }
        let site = try r.text("site")
        let hasEvent = try r.flag("event flag")
        let event = try r.i64("event")
        guard hasEvent || event == 0 else { throw .invalid(offset: r.offset - 8, what: "an event id without the event flag") }
        let sensor = try r.text("sensor")
        let label = try r.text("label")
        let said = try r.text("model's class")
        let b = Int(try r.u8("bucket"))
        guard b < buckets.count else { throw .invalid(offset: r.offset - 1, what: "bucket \(b)") }
        let modelVersion = try r.u32("model version"), fleetVersion = try r.u32("fleet version")
        let wall = try r.i64("wall time")
        let rows = Int(try r.u32("rows"))
        let features = Int(try r.u16("features"))
        guard rows <= FleetLimits.windowRows, features <= FleetLimits.features, (rows == 0) == (features == 0) else {
            throw .invalid(offset: r.offset - 6, what: "a window of \(rows) × \(features)")
        }
        guard rows * features * 4 == r.end - r.offset else {
            if rows * features * 4 > r.end - r.offset { throw .truncated(offset: r.offset, reading: "window") }
            throw .trailingBytes(count: r.end - r.offset - rows * features * 4)
        }
        var window: [[Float]] = []
        window.reserveCapacity(rows)
        for _ in 0..<rows {
            var row = [Float](repeating: 0, count: features)
            for k in 0..<features { row[k] = try r.f32("window") }
            window.append(row)
        }
        try r.finish()
        return FleetFeedbackSample(site: site, eventID: hasEvent ? event : nil, sensor: sensor, window: window, label: label,
                                   modelSaid: said.isEmpty ? nil : said, bucket: buckets[b], modelVersion: modelVersion,
                                   fleetVersion: fleetVersion, wallNanoseconds: wall)
    }
}

/// What one site gave a fleet version: samples trained on and samples held back as its golden set.
public struct FleetSiteContribution: Sendable, Hashable {
    public var site: String
    public var trainingSamples: UInt32
    public var goldenSamples: UInt32

    public init(site: String, trainingSamples: UInt32, goldenSamples: UInt32) {
        self.site = site
        self.trainingSamples = trainingSamples
        self.goldenSamples = goldenSamples
    }
}

/// Diagnosis accuracy of the parent and of the candidate on one golden set.
public struct FleetGoldenFigure: Sendable, Hashable {
    /// "shipped" or a site id.
    public var set: String
    public var samples: UInt32
    public var parentAccuracy: Double
    public var candidateAccuracy: Double

    public init(set: String, samples: UInt32, parentAccuracy: Double, candidateAccuracy: Double) {
        self.set = set
        self.samples = samples
        self.parentAccuracy = parentAccuracy
        self.candidateAccuracy = candidateAccuracy
    }
}

/// The signed header of a fleet model: who it is, where it came from, how it scored.
public struct FleetModelHeader: Sendable, Hashable {
    public var fleetVersion: UInt32
    /// The fleet version it was trained from (0: the shipped model).
    public var parentFleetVersion: UInt32
    public var createdWallNanoseconds: Int64
    public var lineage: [FleetSiteContribution]
    /// The shipped learning set's golden set.
    public var shippedGolden: FleetGoldenFigure
    /// Each contributing site's golden set (its held-back feedback).
    public var siteGolden: [FleetGoldenFigure]

    public init(fleetVersion: UInt32, parentFleetVersion: UInt32, createdWallNanoseconds: Int64, lineage: [FleetSiteContribution],
                shippedGolden: FleetGoldenFigure, siteGolden: [FleetGoldenFigure]) {
        self.fleetVersion = fleetVersion
        self.parentFleetVersion = parentFleetVersion
        self.createdWallNanoseconds = createdWallNanoseconds
        self.lineage = lineage
        self.shippedGolden = shippedGolden
        self.siteGolden = siteGolden
    }

    func encode(into w: inout FleetWriter) {
        w.u32(fleetVersion)
        w.u32(parentFleetVersion)
        w.i64(createdWallNanoseconds)
        w.u32(UInt32(lineage.count))
        for c in lineage {
            w.text(c.site)
            w.u32(c.trainingSamples)
            w.u32(c.goldenSamples)
        }
        Self.encode(shippedGolden, into: &w)
        w.u32(UInt32(siteGolden.count))
        for f in siteGolden { Self.encode(f, into: &w) }
    }

    static func encode(_ f: FleetGoldenFigure, into w: inout FleetWriter) {
        w.text(f.set)
        w.u32(f.samples)
        w.f64(f.parentAccuracy)
        w.f64(f.candidateAccuracy)
    }

    static func decode(_ r: inout FleetReader) throws(FleetWireError) -> FleetModelHeader {
        let version = try r.u32("fleet version"), parent = try r.u32("parent fleet version")
        let created = try r.i64("created")
        let n = try r.count("sites", limit: FleetLimits.sites, minimumBytesEach: 10)
        var lineage: [FleetSiteContribution] = []
        for _ in 0..<n {
            lineage.append(FleetSiteContribution(site: try r.text("site"), trainingSamples: try r.u32("training samples"),
                                                 goldenSamples: try r.u32("golden samples")))
        }
        let shipped = try figure(&r)
        let m = try r.count("golden sets", limit: FleetLimits.sites, minimumBytesEach: 22)
        var sites: [FleetGoldenFigure] = []
        for _ in 0..<m { sites.append(try figure(&r)) }
        return FleetModelHeader(fleetVersion: version, parentFleetVersion: parent, createdWallNanoseconds: created, lineage: lineage,
                                shippedGolden: shipped, siteGolden: sites)
    }

    static func figure(_ r: inout FleetReader) throws(FleetWireError) -> FleetGoldenFigure {
        FleetGoldenFigure(set: try r.text("golden set"), samples: try r.u32("golden samples"), parentAccuracy: try r.f64("parent accuracy"),
                          candidateAccuracy: try r.f64("candidate accuracy"))
    }
}

/// A fleet model as it travels: header, model file, and the publisher's Ed25519 signature over
/// every byte before it.
///
/// ```
/// "VGFE" format:u16 (=1) flags:u16 (bit 0: signed)
/// header: fleetVersion:u32 parentFleetVersion:u32 created:i64
///         sites:u32 {site:text training:u32 golden:u32}…
///         shipped golden {set:text samples:u32 parentAccuracy:f64 candidateAccuracy:f64}
///         siteGolden:u32 {the same}…
/// modelBytes:u32 {the model file (ModelFile format)}
/// signature: 64 bytes (only when signed), Ed25519 over every byte before it
/// ```
public struct FleetModelEnvelope: Sendable, Hashable {
    public var header: FleetModelHeader
    /// The model file (`ModelFile.encode`).
    public var modelBytes: [UInt8]
    /// Nil: unsigned (a controller refuses it).
    public var signature: [UInt8]?

    public init(header: FleetModelHeader, modelBytes: [UInt8], signature: [UInt8]?) {
        self.header = header
        self.modelBytes = modelBytes
        self.signature = signature
    }

    public static let magic: [UInt8] = Array("VGFE".utf8)
    public static let format: UInt16 = 1

    /// An envelope for `model`, signed with `key`.
    public static func signed(header: FleetModelHeader, model: PolicyModel, key: Ed25519PrivateKey) throws(Ed25519Error) -> FleetModelEnvelope {
        var e = FleetModelEnvelope(header: header, modelBytes: ModelFile.encode(model), signature: nil)
        e.signature = try key.sign(e.signedBytes(signed: true))
        return e
    }

    /// The bytes the signature covers (everything before it).
    func signedBytes(signed: Bool) -> [UInt8] {
        var w = FleetWriter()
        w.bytes(Self.magic)
        w.u16(Self.format)
        w.u16(signed ? 1 : 0)
        header.encode(into: &w)
        w.u32(UInt32(modelBytes.count))
        w.bytes(modelBytes)
        return w.data
    }

    public func encode() -> [UInt8] {
        signedBytes(signed: signature != nil) + (signature ?? [])
    }

    /// Parses an envelope; the signature is not checked here (`verifies(with:)`).
    public static func decode(_ bytes: [UInt8]) throws(FleetWireError) -> FleetModelEnvelope {
        var r = FleetReader(bytes)
        let flags = try r.header("fleet model envelope", magic: magic, format: format)
        guard flags <= 1 else { throw .invalid(offset: 6, what: "flags \(flags)") }
        let signed = flags == 1
        if signed {
            guard bytes.count >= 8 + Ed25519.signatureBytes else { throw .truncated(offset: bytes.count, reading: "signature") }
            r.end = bytes.count - Ed25519.signatureBytes
        }
        let header = try FleetModelHeader.decode(&r)
        let n = Int(try r.u32("model length"))
        guard n <= FleetLimits.modelBytes else { throw .invalid(offset: r.offset - 4, what: "a model of \(n) bytes") }
        let model = try r.bytes(n, "model")
        try r.finish()
        return FleetModelEnvelope(header: header, modelBytes: model, signature: signed ? Array(bytes[r.end...]) : nil)
    }

    /// Whether the envelope is signed and its signature is `key`'s over exactly these bytes.
    public func verifies(with key: Ed25519PublicKey) -> Bool {
        guard let signature else { return false }
        return key.verifies(signature, of: signedBytes(signed: true))
    }

    /// The model file, decoded.
    public func model() throws(ModelFileError) -> PolicyModel { try ModelFile.decode(modelBytes) }
}

/// A controller's answer to a fleet model.
///
/// ```
/// "VGFV" format:u16 (=1) flags:u16 (=0)
/// site:text fleetVersion:u32 deployed:u8 localVersion:u32 (0: none) reason:text
/// goldenSamples:u32 goldenBefore:f64 goldenAfter:f64 corrections:u32 correctionsLearned:u32 wall:i64
/// ```
public struct FleetVerdictReport: Sendable, Hashable, CustomStringConvertible {
    public var site: String
    public var fleetVersion: UInt32
    public var deployed: Bool
    /// The registry version it was deployed as (0 when refused).
    public var localVersion: UInt32
    /// Why it was refused, or what was deployed.
    public var reason: String
    /// The local gate's figures (0 and NaN when it did not run).
    public var goldenSamples: UInt32
    public var goldenBefore: Double
    public var goldenAfter: Double
    public var corrections: UInt32
    public var correctionsLearned: UInt32
    public var wallNanoseconds: Int64

    public init(site: String, fleetVersion: UInt32, deployed: Bool, localVersion: UInt32, reason: String, goldenSamples: UInt32 = 0,
                goldenBefore: Double = .nan, goldenAfter: Double = .nan, corrections: UInt32 = 0, correctionsLearned: UInt32 = 0,
                wallNanoseconds: Int64) {
        self.site = site
        self.fleetVersion = fleetVersion
        self.deployed = deployed
        self.localVersion = localVersion
        self.reason = reason
        self.goldenSamples = goldenSamples
        self.goldenBefore = goldenBefore
        self.goldenAfter = goldenAfter
        self.corrections = corrections
        self.correctionsLearned = correctionsLearned
        self.wallNanoseconds = wallNanoseconds
    }

    public static let magic: [UInt8] = Array("VGFV".utf8)
    public static let format: UInt16 = 1

    public func encode() -> [UInt8] {
        var w = FleetWriter()
        w.bytes(Self.magic)
        w.u16(Self.format)
        w.u16(0)
        w.text(site)
        w.u32(fleetVersion)
        w.u8(deployed ? 1 : 0)
        w.u32(localVersion)
        w.text(reason)
        w.u32(goldenSamples)
        w.f64(goldenBefore)
        w.f64(goldenAfter)
        w.u32(corrections)
        w.u32(correctionsLearned)
        w.i64(wallNanoseconds)
        return w.data
    }

    public static func decode(_ bytes: [UInt8]) throws(FleetWireError) -> FleetVerdictReport {
        var r = FleetReader(bytes)
        let flags = try r.header("fleet verdict report", magic: magic, format: format)
        guard flags == 0 else { throw .invalid(offset: 6, what: "flags \(flags)") }
        let v = FleetVerdictReport(site: try r.text("site"), fleetVersion: try r.u32("fleet version"), deployed: try r.flag("deployed"),
                                   localVersion: try r.u32("local version"), reason: try r.text("reason"),
                                   goldenSamples: try r.u32("golden samples"), goldenBefore: try r.f64("golden before"),
                                   goldenAfter: try r.f64("golden after"), corrections: try r.u32("corrections"),
                                   correctionsLearned: try r.u32("corrections learned"), wallNanoseconds: try r.i64("wall time"))
        try r.finish()
        return v
    }

    public var description: String {
        let figures = goldenSamples == 0 ? "" :
            ", local golden accuracy \(Self.pct(goldenBefore)) → \(Self.pct(goldenAfter)) on \(goldenSamples) samples, "
                + "corrections kept \(correctionsLearned)/\(corrections)"
        return deployed
            ? "site \(site): fleet model v\(fleetVersion) deployed as v\(localVersion)\(figures)"
            : "site \(site): fleet model v\(fleetVersion) refused: \(reason)\(figures)"
    }

    static func pct(_ x: Double) -> String {
        x.isFinite ? "\((x * 1000).rounded() / 10) %" : "—"
    }
}
