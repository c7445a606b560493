@testable import Console
import Testing

/// PIN hashes: PBKDF2-HMAC-SHA256 against published vectors, the config string format, and its errors.
@Suite struct PINHashTests {
    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }

    // RFC 7914 §11 / the widely published PBKDF2-HMAC-SHA256 vectors for "password" / "salt", dkLen 32.
    /// What `vigil console hash-pin` refuses, and what it takes.
    @Test func weakPINsAreNamedAndOthersPass() {
        for pin in ["1111", "12345", "000000", "123456", "987654", "abcdef", "121212", "123123", "operator", "STATUS"] {
            #expect(PINPolicy.weakness(of: pin) != nil, "\(pin)")
            #expect(!(PINPolicy.weakness(of: pin) ?? "").contains(pin), "\(pin) repeated in the message")
        }
        for pin in ["583920", "hunter2x", "7391-44", "271828"] { #expect(PINPolicy.weakness(of: pin) == nil, "\(pin)") }
    }

    @Test func pbkdf2MatchesThePublishedVectors() throws {
        let salt = Array("salt".utf8)
        #expect(Self.hex(try PINHash.derive(pin: "password", salt: salt, iterations: 1))
                == "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b")
        #expect(Self.hex(try PINHash.derive(pin: "password", salt: salt, iterations: 4096))
                == "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a")
    }

    @Test func madeHashSurvivesEncodingAndParsing() throws {
        let hash = try PINHash.make(pin: "1111", iterations: 10_000)
        #expect(hash.iterations == 10_000 && hash.salt.count == 16 && hash.digest.count == 32)
        let text = hash.encoded
        #expect(text.hasPrefix("pbkdf2-sha256$10000$"))
        #expect(text.split(separator: "$").map(\.count) == [13, 5, 24, 44]) // 16 and 32 bytes in padded base64
        let parsed = try PINHash(parsing: text)
        #expect(parsed == hash)
        #expect(parsed.encoded == text)
        #expect(parsed.verify("1111"))
    }

    @Test func verifyAcceptsOnlyTheRightPIN() throws {
        let hash = try PINHash.make(pin: "2222-ab", iterations: 10_000)
        #expect(hash.verify("2222-ab"))
        for wrong in ["2222-aB", "2222-ab ", "2222", "", "2222-ab2222-ab", "\u{0}"] {
            #expect(!hash.verify(wrong), "\(wrong.debugDescription) verified")
        }
    }

    @Test func defaultIterationsAreTwoHundredThousand() throws {
        #expect(try PINHash.make(pin: "1234").iterations == 200_000)
    }

    @Test func twoHashesOfOnePINDifferByTheirSalt() throws {
        let a = try PINHash.make(pin: "1111", iterations: 10_000)
        let b = try PINHash.make(pin: "1111", iterations: 10_000)
        #expect(a.salt != b.salt)
        #expect(a.digest != b.digest)
        #expect(a.verify("1111") && b.verify("1111"))
    }

    @Test func hashOfAKnownSaltIsStable() throws {
        // Fixed inputs give a fixed string: the format is not an accident of this run.
        let salt = Array("0123456789abcdef".utf8)
        let hash = PINHash(iterations: 10_000, salt: salt, digest: try PINHash.derive(pin: "1111", salt: salt, iterations: 10_000))
        #expect(try PINHash(parsing: hash.encoded) == hash)
        #expect(hash.encoded.hasPrefix("pbkdf2-sha256$10000$MDEyMzQ1Njc4OWFiY2RlZg==$"))
    }

    static let salt = "MDEyMzQ1Njc4OWFiY2RlZg==" // 16 bytes
    static let digest = "Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=" // 32 bytes

    @Test(arguments: [
        ("1111", PINHashError.wrongFieldCount(1)),
        ("", .wrongFieldCount(1)),
        ("pbkdf2-sha256$200000$\(salt)", .wrongFieldCount(3)),
        ("pbkdf2-sha256$200000$\(salt)$\(digest)$", .wrongFieldCount(5)),
        ("pbkdf2-sha1$200000$\(salt)$\(digest)", .wrongScheme("pbkdf2-sha1")),
        ("PBKDF2-SHA256$200000$\(salt)$\(digest)", .wrongScheme("PBKDF2-SHA256")),
        ("pbkdf2-sha256$9999$\(salt)$\(digest)", .badIterations("9999")),
        ("pbkdf2-sha256$abc$\(salt)$\(digest)", .badIterations("abc")),
        ("pbkdf2-sha256$$\(salt)$\(digest)", .badIterations("")),
        ("pbkdf2-sha256$+200000$\(salt)$\(digest)", .badIterations("+200000")),
        ("pbkdf2-sha256$200_000$\(salt)$\(digest)", .badIterations("200_000")),
        ("pbkdf2-sha256$2147483648$\(salt)$\(digest)", .badIterations("2147483648")),
        ("pbkdf2-sha256$200000$MDEyMzQ1Njc4OWFiY2RlZg$\(digest)", .badBase64(field: "salt")), // no padding
        ("pbkdf2-sha256$200000$MDEyMzQ1Njc4OWFi-2RlZg==$\(digest)", .badBase64(field: "salt")), // URL alphabet
        ("pbkdf2-sha256$200000$====$\(digest)", .badBase64(field: "salt")),
        ("pbkdf2-sha256$200000$MDEyMzQ1Njc4OWFi$\(digest)", .saltTooShort(byteCount: 12)),
        ("pbkdf2-sha256$200000$$\(digest)", .saltTooShort(byteCount: 0)),
        ("pbkdf2-sha256$200000$\(salt)$Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs", .badBase64(field: "digest")),
        ("pbkdf2-sha256$200000$\(salt)$ Eg+2z/z4syxD5yJSVsT4N6hlSMkszDVICAWYfLcL4Xs=", .badBase64(field: "digest")),
        ("pbkdf2-sha256$200000$\(salt)$\(salt)", .wrongDigestLength(byteCount: 16)),
    ])
    func malformedHashGivesItsError(text: String, error: PINHashError) {
        #expect(throws: error) { try PINHash(parsing: text) }
    }

    @Test(arguments: [
        ("", PINHashError.pinEmpty),
        ("123", .pinLength(characters: 3)),
        (String(repeating: "7", count: 33), .pinLength(characters: 33)),
        ("12 34", .pinCharacters),
        ("1234\t", .pinCharacters),
        ("12\u{7}34", .pinCharacters),
        ("1234\u{A0}", .pinCharacters), // no-break space
    ])
    func unacceptablePINIsRefused(pin: String, error: PINHashError) {
        #expect(throws: error) { try PINHash.make(pin: pin, iterations: 10_000) }
    }

    @Test func boundaryPINLengthsAndNonASCIIAreAccepted() throws {
        #expect(try PINHash.make(pin: "1234", iterations: 10_000).verify("1234"))
        let long = String(repeating: "9", count: 32)
        #expect(try PINHash.make(pin: long, iterations: 10_000).verify(long))
        #expect(try PINHash.make(pin: "åäö€", iterations: 10_000).verify("åäö€"))
    }

    @Test func tooFewIterationsAreRefusedWhenMaking() {
        #expect(throws: PINHashError.badIterations("9999")) { try PINHash.make(pin: "1234", iterations: 9_999) }
    }

    @Test func messagesSayWhatIsWrongWithoutThePIN() {
        #expect(PINHashError.wrongFieldCount(1).description
                == "not a PIN hash: 1 $-separated field, expected 4 (pbkdf2-sha256$ITERATIONS$SALT$DIGEST); make one with `vigil console hash-pin`")
        #expect(PINHashError.wrongScheme("md5").description == "PIN hash scheme \"md5\" is not supported, expected pbkdf2-sha256")
        #expect(PINHashError.badIterations("9999").description
                == "PIN hash iterations \"9999\" is not an integer in 10000...2147483647")
        #expect(PINHashError.badBase64(field: "salt").description == "PIN hash salt is not standard base64 (A-Z a-z 0-9 + /, padded with =)")
        #expect(PINHashError.saltTooShort(byteCount: 12).description == "PIN hash salt has 12 bytes, expected at least 16")
        #expect(PINHashError.wrongDigestLength(byteCount: 16).description == "PIN hash digest has 16 bytes, expected 32 (SHA-256)")
        #expect(PINHashError.pinEmpty.description == "the PIN is empty")
        #expect(PINHashError.pinLength(characters: 3).description == "the PIN has 3 characters, expected 4...32")
        #expect(PINHashError.pinCharacters.description == "the PIN contains whitespace or a control character")
        #expect(PINHashError.libcrypto(function: "RAND_bytes").description == "libcrypto RAND_bytes failed")
    }

    @Test func constantTimeComparisonTellsEqualFromDifferent() {
        #expect(LibCrypto.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        #expect(!LibCrypto.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        #expect(!LibCrypto.constantTimeEqual([1, 2, 3], [1, 2]))
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
