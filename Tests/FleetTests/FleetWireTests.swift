import Foundation
import Testing
import Policy
@testable import Fleet

/// Ed25519 through libcrypto, the key files, and the three fleet wire formats: round trips, and
/// every damaged input refused with a typed error.
@Suite struct FleetWireTests {
    static let key = try! Ed25519PrivateKey(raw: (0..<32).map { UInt8($0 &* 7 &+ 1) })

    /// RFC 8032 test 1: the empty message.
    @Test func signatureMatchesRFC8032() throws {
        let seed = Self.hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        let key = try Ed25519PrivateKey(raw: seed)
        #expect(key.publicKey.raw == Self.hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
        let signature = try key.sign([])
        #expect(signature == Self.hex("e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"))
        #expect(key.publicKey.verifies(signature, of: []))
    }

    @Test func signAndVerifyRefusesAChangedByteAWrongKeyAndAShortSignature() throws {
        let message = Array("fleet model v3".utf8)
        let signature = try Self.key.sign(message)
        #expect(Self.key.publicKey.verifies(signature, of: message))
        var changed = message
        changed[0] ^= 1
        #expect(!Self.key.publicKey.verifies(signature, of: changed))
        var flipped = signature
        flipped[10] ^= 0x80
        #expect(!Self.key.publicKey.verifies(flipped, of: message))
        let other = try Ed25519PrivateKey.generate()
        #expect(other.publicKey != Self.key.publicKey)
        #expect(!other.publicKey.verifies(signature, of: message))
        #expect(!Self.key.publicKey.verifies(Array(signature.prefix(63)), of: message))
        var dumped = ""
        dump(Self.key, to: &dumped)
        let secret = Self.key.base64ForKeyFile, seedBytes = "\(Self.key.seed)"
        for shown in ["\(Self.key)", String(reflecting: Self.key), dumped] {
            #expect(!shown.contains(secret) && !shown.contains(seedBytes) && !shown.isEmpty, "a private key is never shown: \(shown)")
        }
        #expect(!dumped.contains("seed") && dumped.contains("publicKey"), "\(dumped)")
    }

    @Test func keyFilesRoundTripAndAPrivateKeyOthersCanReadIsRefused() throws {
        let dir = NSTemporaryDirectory() + "vigil-fleet-keys-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let key = try Ed25519PrivateKey.generate()
        try FleetKeyFile.writePrivateKey(key, to: dir + "/fleet.key")
        try FleetKeyFile.writePublicKey(key.publicKey, to: dir + "/fleet.pub")
        let mode = try FileManager.default.attributesOfItem(atPath: dir + "/fleet.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(try FleetKeyFile.readPrivateKey(dir + "/fleet.key").publicKey == key.publicKey)
        #expect(try FleetKeyFile.readPublicKey(dir + "/fleet.pub") == key.publicKey)
        #expect(throws: FleetKeyFileError.exists(path: dir + "/fleet.key")) { try FleetKeyFile.writePrivateKey(key, to: dir + "/fleet.key") }
        chmod(dir + "/fleet.key", 0o640)
        #expect { try FleetKeyFile.readPrivateKey(dir + "/fleet.key") } throws: { e in
            guard case .permissions = e as? FleetKeyFileError else { return false }
            return "\(e)".contains("0600") && !"\(e)".contains(key.base64ForKeyFile)
        }
        try Data("not a key\n".utf8).write(to: URL(fileURLWithPath: dir + "/bad.pub"))
        #expect(throws: FleetKeyFileError.key(path: dir + "/bad.pub", .notBase64(what: "public key"))) { try FleetKeyFile.readPublicKey(dir + "/bad.pub") }
    }

    static let sample = FleetFeedbackSample(site: "plant-A", eventID: 42, sensor: "PT-101A", window: [[1, 2, 3], [4, .infinity, -6]],
                                            label: "healthy", modelSaid: "dropout", bucket: .failure, modelVersion: 3, fleetVersion: 1,
                                            wallNanoseconds: 1_700_000_000_000_000_000)

    @Test func feedbackSampleRoundTripsAndDamageIsRefused() throws {
        let bytes = Self.sample.encode()
        #expect(try FleetFeedbackSample.decode(bytes) == Self.sample)
        var window = Self.sample
        window.eventID = nil
        window.modelSaid = nil
        window.window = []
        #expect(try FleetFeedbackSample.decode(window.encode()) == window)
        Self.expectEveryTruncationRefused(bytes) { try FleetFeedbackSample.decode($0) }
        #expect(throws: FleetWireError.trailingBytes(count: 1)) { try FleetFeedbackSample.decode(bytes + [0]) }
        var bucket = bytes
        let offset = 8 + 2 + 7 + 1 + 8 + 2 + 7 + 2 + 7 + 2 + 7
        #expect(bucket[offset] == 1)
        bucket[offset] = 9
        #expect(throws: FleetWireError.invalid(offset: offset, what: "bucket 9")) { try FleetFeedbackSample.decode(bucket) }
    }

    static func header() -> FleetModelHeader {
        FleetModelHeader(fleetVersion: 4, parentFleetVersion: 3, createdWallNanoseconds: 99,
                         lineage: [FleetSiteContribution(site: "A", trainingSamples: 32, goldenSamples: 8),
                                   FleetSiteContribution(site: "B", trainingSamples: 10, goldenSamples: 0)],
                         shippedGolden: FleetGoldenFigure(set: "shipped", samples: 1600, parentAccuracy: 0.9, candidateAccuracy: 0.905),
                         siteGolden: [FleetGoldenFigure(set: "A", samples: 8, parentAccuracy: 0, candidateAccuracy: 1)])
    }

    static func tinyModel() throws -> PolicyModel {
        let train = (0..<60).map { i in TrainingSample(features: [Float(i % 3), Float(i % 5), 1], label: i % 3, action: i % 2) }
        return try DistillationPipeline.run(featureNames: ["a", "b", "c"], train: train, validation: train, schema: ["x", "y", "z"],
                                            actions: ["p", "q"],
                                            options: .init(teacherHidden: [4], studentHidden: [4], teacherEpochs: 1, studentEpochs: 1,
                                                           calibrationSamples: 20, seed: 1)).model
    }

    @Test func envelopeRoundTripsVerifiesAndRefusesTamperingWrongKeyUnsignedAndTruncation() throws {
        let model = try Self.tinyModel()
        let envelope = try FleetModelEnvelope.signed(header: Self.header(), model: model, key: Self.key)
        let bytes = envelope.encode()
        let decoded = try FleetModelEnvelope.decode(bytes)
        #expect(decoded == envelope)
        #expect(decoded.verifies(with: Self.key.publicKey))
        #expect(try decoded.model() == model)
        #expect(bytes.count == 4 + 2 + 2 + Self.headerBytes + 4 + ModelFile.encode(model).count + 64)

        // Every single changed byte of the signed part either fails to parse or fails to verify.
        for i in stride(from: 0, to: bytes.count, by: 7) {
            var tampered = bytes
            tampered[i] ^= 0x01
            if let e = try? FleetModelEnvelope.decode(tampered), e.verifies(with: Self.key.publicKey) {
                Issue.record("byte \(i) changed and the envelope still verifies")
            }
        }
        let other = try Ed25519PrivateKey.generate()
        #expect(!decoded.verifies(with: other.publicKey))
        let unsigned = FleetModelEnvelope(header: Self.header(), modelBytes: ModelFile.encode(model), signature: nil)
        let unsignedDecoded = try FleetModelEnvelope.decode(unsigned.encode())
        #expect(unsignedDecoded.signature == nil && !unsignedDecoded.verifies(with: Self.key.publicKey))
        // The signature stripped and the flag left: the last 64 bytes are taken as the signature and fail.
        if let stripped = try? FleetModelEnvelope.decode(Array(bytes.dropLast(64))) { #expect(!stripped.verifies(with: Self.key.publicKey)) }
        Self.expectEveryTruncationRefused(bytes, step: 13) { try FleetModelEnvelope.decode($0) }
    }

    @Test func headerSummaryNamesVersionLineageFiguresAndUTCTime() {
        #expect(FleetModelHeader.utc(0) == "1970-01-01T00:00:00Z")
        #expect(FleetModelHeader.utc(1_796_573_588_737_868_032) == "2026-12-06T16:13:08Z")
        #expect(FleetModelHeader.utc(951_782_400_000_000_000) == "2000-02-29T00:00:00Z")
        #expect(FleetModelHeader.utc(-1) == "1969-12-31T23:59:59Z")
        let summary = Self.header().summary
        #expect(summary.contains("fleet model v4 (parent fleet v3)") && summary.contains("A (32 trained, 8 held back)")
                && summary.contains("site A (8 samples): parent 0.0 % → candidate 100.0 %"), "\(summary)")
    }

    static let headerBytes = 4 + 4 + 8 + 4 + (2 + 1 + 8) * 2 + (2 + 7 + 4 + 16) + 4 + (2 + 1 + 4 + 16)

    @Test func verdictReportRoundTripsAndDamageIsRefused() throws {
        let report = FleetVerdictReport(site: "B", fleetVersion: 4, deployed: true, localVersion: 7, reason: "deployed as v7 (from v6)",
                                        goldenSamples: 1600, goldenBefore: 0.91, goldenAfter: 0.915, corrections: 3, correctionsLearned: 3,
                                        wallNanoseconds: 5)
        let bytes = report.encode()
        #expect(try FleetVerdictReport.decode(bytes) == report)
        #expect(report.description.contains("deployed as v7"))
        Self.expectEveryTruncationRefused(bytes) { try FleetVerdictReport.decode($0) }
        var badFlag = bytes
        badFlag[8 + 2 + 1 + 4] = 2
        #expect(throws: FleetWireError.self) { try FleetVerdictReport.decode(badFlag) }
        #expect(throws: FleetWireError.badMagic(what: "fleet verdict report", found: Array("VGFE".utf8))) {
            try FleetVerdictReport.decode(Array("VGFE".utf8) + bytes.dropFirst(4))
        }
        #expect(throws: FleetWireError.unsupportedFormat(what: "fleet verdict report", found: 2, supported: 1)) {
            try FleetVerdictReport.decode(Array(bytes[0..<4]) + [2, 0] + bytes.dropFirst(6))
        }
    }

    static func expectEveryTruncationRefused<T>(_ bytes: [UInt8], step: Int = 1, _ decode: ([UInt8]) throws -> T) {
        for n in stride(from: 0, to: bytes.count, by: step) {
            do {
                _ = try decode(Array(bytes.prefix(n)))
                Issue.record("\(n) of \(bytes.count) bytes decoded")
            } catch {
                #expect(error is FleetWireError && !"\(error)".isEmpty)
            }
        }
    }

    static func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }
}
