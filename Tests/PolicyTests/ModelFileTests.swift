import Testing
@testable import Policy

/// The model file: what is written is read back identically, and a corrupt, truncated, foreign or
/// newer file is refused with a reason instead of loading.
@Suite struct ModelFileTests {
    static func model(seed: UInt64 = 3) throws -> PolicyModel {
        let schema = ModelSchema(features: ["residual_z", "spike_z", "run_length", "cusum", "noise_ratio"],
                                 classes: ["healthy", "stuck", "drift", "spike"], actions: ["trust", "fail_over", "escalate"])
        let float = FloatMLP(sizes: [5, 12, 7], seed: seed)
        let samples = QuantizedMLPTests.inputs(200, width: 5, seed: seed)
        let net = try QuantizedMLP(quantizing: float, calibration: samples)
        return try PolicyModel(schema: schema, normalisation: FeatureNormalisation(fitting: samples), network: net,
                               lineage: ModelLineage(version: 4, parent: 3))
    }

    @Test func encodedModelDecodesToTheSameModel() throws {
        let m = try Self.model()
        let bytes = ModelFile.encode(m)
        let back = try ModelFile.decode(bytes)
        #expect(back == m)
        #expect(ModelFile.encode(back) == bytes, "encoding is deterministic")
        // And it decides the same.
        let s1 = m.makeScratch(), s2 = back.makeScratch()
        for x in QuantizedMLPTests.inputs(200, width: 5, seed: 8) {
            x.withUnsafeBufferPointer { #expect(m.decide($0, scratch: s1) == back.decide($0, scratch: s2)) }
        }
    }

    /// Every single-bit flip anywhere in the file is refused (the CRC catches all of them).
    @Test func everyFlippedBitIsRefused() throws {
        let bytes = ModelFile.encode(try Self.model())
        var accepted = 0
        for i in bytes.indices {
            for bit in [0, 3, 7] {
                var bad = bytes
                bad[i] ^= 1 << UInt8(bit)
                if (try? ModelFile.decode(bad)) != nil { accepted += 1 }
            }
        }
        #expect(accepted == 0)
    }

    @Test func everyTruncationIsRefused() throws {
        let bytes = ModelFile.encode(try Self.model())
        for n in 0..<bytes.count {
            #expect(throws: ModelFileError.self) { try ModelFile.decode(Array(bytes[0..<n])) }
        }
    }

    @Test func foreignAndNewerFilesAreRefusedWithTheirReason() throws {
        var bytes = ModelFile.encode(try Self.model())
        #expect(throws: ModelFileError.badMagic(found: Array("GIF8".utf8))) {
            try ModelFile.decode(Array("GIF89a".utf8) + Array(repeating: 0, count: 40))
        }
        bytes[4] = 2 // format 2
        #expect(throws: ModelFileError.unsupportedFormat(found: 2, supported: 1)) { try ModelFile.decode(bytes) }
    }

    /// A file whose checksum is right but whose content is inconsistent (a writer bug, not a disk
    /// error) is still refused: the checksum is recomputed over the edited bytes.
    @Test func consistentChecksumDoesNotLetAnInvalidNetworkIn() throws {
        var bytes = ModelFile.encode(try Self.model())
        // The first layer's input scale: after the header, names and normalisation.
        let m = try Self.model()
        var offset = 4 + 2 + 2 + 4 + 4
        for names in [m.schema.features, m.schema.classes, m.schema.actions] {
            offset += 2 + names.reduce(0) { $0 + 1 + $1.utf8.count }
        }
        offset += 8 * m.schema.features.count + 2 + 2 + 2 + 1
        for k in 0..<4 { bytes[offset + k] = 0 } // scale 0
        let body = bytes.count - 4
        let crc = CRC32.checksum(bytes[0..<body])
        for k in 0..<4 { bytes[body + k] = UInt8(truncatingIfNeeded: crc >> (8 * UInt32(k))) }
        do {
            _ = try ModelFile.decode(bytes)
            Issue.record("a zero scale was accepted")
        } catch {
            guard case .invalid(_, let what) = error else { Issue.record("expected an invalid-encoding error, got \(error)"); return }
            #expect(what.contains("scale"))
        }
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }
}


/// The registry's fingerprint of model files: the FIPS 180-4 test vectors.
@Suite struct SHA256Tests {
    @Test func knownAnswers() {
        #expect(SHA256.hex([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(Array(repeating: UInt8(ascii: "a"), count: 1_000_000))
                == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }
}
