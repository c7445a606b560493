import COpenSSL
import Foundation

/// A console PIN as the plant config stores it: PBKDF2-HMAC-SHA256 over the PIN's UTF-8 bytes with
/// a random salt, written `pbkdf2-sha256$ITERATIONS$SALT$DIGEST` (standard base64, padded).
/// `Config` checks the same format structurally; keep the two in step.
public struct PINHash: Sendable, Hashable {
    /// The only scheme Vigil writes and reads.
    public static let scheme = "pbkdf2-sha256"
    /// What `make` uses unless told otherwise (about 0.1 s on a Cortex-A72, per login attempt).
    public static let defaultIterations = 200_000
    /// Fewer iterations make a leaked config too cheap to brute-force (a 4-digit PIN has 10⁴ values).
    public static let minimumIterations = 10_000
    /// libcrypto takes the count as a C `int`.
    public static let maximumIterations = Int(Int32.max)
    /// Salt length `make` draws from `RAND_bytes`; shorter salts are refused when parsing.
    public static let saltByteCount = 16
    /// SHA-256 output length.
    public static let digestByteCount = 32
    /// Accepted PIN length in characters.
    public static let pinLengths = 4...32

    public let iterations: Int
    public let salt: [UInt8]
    public let digest: [UInt8]

    init(iterations: Int, salt: [UInt8], digest: [UInt8]) {
        self.iterations = iterations
        self.salt = salt
        self.digest = digest
    }

    /// Parses `pbkdf2-sha256$ITERATIONS$SALT$DIGEST`, as written by `encoded`.
    public init(parsing text: String) throws(PINHashError) {
        let fields = text.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        guard fields.count == 4 else { throw .wrongFieldCount(fields.count) }
        guard fields[0] == Self.scheme else { throw .wrongScheme(fields[0]) }
        guard let iterations = Self.iterationCount(fields[1]) else { throw .badIterations(fields[1]) }
        guard let salt = Self.base64Decoded(fields[2]) else { throw .badBase64(field: "salt") }
        guard salt.count >= Self.saltByteCount else { throw .saltTooShort(byteCount: salt.count) }
        guard let digest = Self.base64Decoded(fields[3]) else { throw .badBase64(field: "digest") }
        guard digest.count == Self.digestByteCount else { throw .wrongDigestLength(byteCount: digest.count) }
        self.init(iterations: iterations, salt: salt, digest: digest)
    }

    /// Hashes a new PIN with a fresh random salt. Throws for a PIN outside the rules
    /// (4...32 characters, no whitespace or control characters) or too few iterations.
    public static func make(pin: String, iterations: Int = defaultIterations) throws(PINHashError) -> PINHash {
        try checkPIN(pin)
        guard (minimumIterations...maximumIterations).contains(iterations) else { throw .badIterations(String(iterations)) }
        let salt = try LibCrypto.randomBytes(count: saltByteCount)
        return PINHash(iterations: iterations, salt: salt, digest: try derive(pin: pin, salt: salt, iterations: iterations))
    }

    /// Whether `pin` hashes to this digest, compared in constant time (`CRYPTO_memcmp`).
    /// A wrong PIN, or any failure inside libcrypto, is `false`.
    public func verify(_ pin: String) -> Bool {
        guard let candidate = try? Self.derive(pin: pin, salt: salt, iterations: iterations, byteCount: digest.count) else {
            return false
        }
        return LibCrypto.constantTimeEqual(candidate, digest)
    }

    /// The config form: `pbkdf2-sha256$200000$<salt>$<digest>`.
    public var encoded: String {
        "\(Self.scheme)$\(iterations)$\(Data(salt).base64EncodedString())$\(Data(digest).base64EncodedString())"
    }

    /// Raw PBKDF2-HMAC-SHA256 (`PKCS5_PBKDF2_HMAC` with `EVP_sha256()`), any iteration count ≥ 1,
    /// so the published test vectors can be checked.
    static func derive(pin: String, salt: [UInt8], iterations: Int, byteCount: Int = digestByteCount) throws(PINHashError) -> [UInt8] {
        try LibCrypto.pbkdf2SHA256(password: Array(pin.utf8), salt: salt, iterations: iterations, byteCount: byteCount)
    }

    /// The PIN rules, checked before hashing; messages never contain the PIN.
    static func checkPIN(_ pin: String) throws(PINHashError) {
        guard !pin.isEmpty else { throw .pinEmpty }
        guard pinLengths.contains(pin.count) else { throw .pinLength(characters: pin.count) }
        guard !pin.unicodeScalars.contains(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control })
        else { throw .pinCharacters }
    }

    /// ASCII digits only (no sign, no `_`), within `minimumIterations...maximumIterations`.
    static func iterationCount(_ text: String) -> Int? {
        guard !text.isEmpty, text.count <= 10, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
              let value = Int(text), (minimumIterations...maximumIterations).contains(value) else { return nil }
        return value
    }

    /// Standard padded base64 in its one canonical spelling: Foundation alone accepts oddities such as `====`.
    static func base64Decoded(_ text: String) -> [UInt8]? {
        guard let data = Data(base64Encoded: text), data.base64EncodedString() == text else { return nil }
        return Array(data)
    }
}

/// What `vigil console hash-pin` refuses as too easy to guess. `PINHash.make` itself only checks the
/// structural rules, so existing hashes of shorter PINs still verify.
public enum PINPolicy {
    /// Fewest characters of a new PIN: 10⁶ values at least for digits, 200,000 PBKDF2 rounds each offline.
    public static let minimumLength = 6

    /// Why `pin` is too weak, or nil when it is acceptable. The message never contains the PIN.
    public static func weakness(of pin: String) -> String? {
        let chars = Array(pin.lowercased().unicodeScalars)
        guard chars.count >= minimumLength else { return "it has \(chars.count) characters; at least \(minimumLength) are needed" }
        if Set(chars).count == 1 { return "it is one character repeated" }
        let steps = zip(chars, chars.dropFirst()).map { Int($1.value) - Int($0.value) }
        if steps.allSatisfy({ $0 == 1 }) || steps.allSatisfy({ $0 == -1 }) {
            return "it is a straight run of characters, up or down"
        }
        for period in 1...3 where chars.count % period == 0 && chars.count / period >= 2 {
            if chars.indices.allSatisfy({ chars[$0] == chars[$0 % period] }) { return "it is a short pattern repeated" }
        }
        let word = String(String.UnicodeScalarView(chars))
        if ConsoleRole(name: word) != nil || CommandLanguage.isCommandWord(word) || ["password", "vigil", "admin"].contains(word) {
            return "it is a word the console or an attacker would try first"
        }
        return nil
    }
}

/// Why a PIN hash could not be read or made.
public enum PINHashError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Not four `$`-separated fields (a plain PIN in the config lands here).
    case wrongFieldCount(Int)
    case wrongScheme(String)
    /// Not an integer in `PINHash.minimumIterations...PINHash.maximumIterations`.
    case badIterations(String)
    /// The `salt` or `digest` field is not canonical standard base64.
    case badBase64(field: String)
    case saltTooShort(byteCount: Int)
    case wrongDigestLength(byteCount: Int)
    case pinEmpty
    case pinLength(characters: Int)
    /// Whitespace or a control character: such a PIN cannot be typed reliably on a terminal.
    case pinCharacters
    /// A libcrypto call reported failure (the function's name).
    case libcrypto(function: String)

    public var description: String {
        let format = "\(PINHash.scheme)$ITERATIONS$SALT$DIGEST"
        switch self {
        case .wrongFieldCount(let count):
            return "not a PIN hash: \(count) $-separated field\(count == 1 ? "" : "s"), expected 4 (\(format)); make one with `vigil console hash-pin`"
        case .wrongScheme(let scheme):
            return "PIN hash scheme \"\(scheme)\" is not supported, expected \(PINHash.scheme)"
        case .badIterations(let text):
            return "PIN hash iterations \"\(text)\" is not an integer in \(PINHash.minimumIterations)...\(PINHash.maximumIterations)"
        case .badBase64(let field):
            return "PIN hash \(field) is not standard base64 (A-Z a-z 0-9 + /, padded with =)"
        case .saltTooShort(let count):
            return "PIN hash salt has \(count) byte\(count == 1 ? "" : "s"), expected at least \(PINHash.saltByteCount)"
        case .wrongDigestLength(let count):
            return "PIN hash digest has \(count) byte\(count == 1 ? "" : "s"), expected \(PINHash.digestByteCount) (SHA-256)"
        case .pinEmpty:
            return "the PIN is empty"
        case .pinLength(let count):
            return "the PIN has \(count) character\(count == 1 ? "" : "s"), expected \(PINHash.pinLengths.lowerBound)...\(PINHash.pinLengths.upperBound)"
        case .pinCharacters:
            return "the PIN contains whitespace or a control character"
        case .libcrypto(let function):
            return "libcrypto \(function) failed"
        }
    }
}

/// The one seam to libcrypto: every call of this module into it goes through here.
enum LibCrypto {
    /// `RAND_bytes`: bytes from OpenSSL's CSPRNG (seeded from getrandom).
    static func randomBytes(count: Int) throws(PINHashError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let ok = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        guard ok == 1 else { throw .libcrypto(function: "RAND_bytes") }
        return bytes
    }

    /// `PKCS5_PBKDF2_HMAC(pass, passlen, salt, saltlen, iter, EVP_sha256(), keylen, out)`.
    static func pbkdf2SHA256(password: [UInt8], salt: [UInt8], iterations: Int, byteCount: Int) throws(PINHashError) -> [UInt8] {
        guard (1...Int(Int32.max)).contains(iterations), (1...1024).contains(byteCount),
              password.count <= Int(Int32.max), salt.count <= Int(Int32.max) else {
            throw .libcrypto(function: "PKCS5_PBKDF2_HMAC")
        }
        var out = [UInt8](repeating: 0, count: byteCount)
        // An empty array may have no storage; libcrypto gets a valid pointer and the true length.
        let (passwordLength, saltLength) = (Int32(password.count), Int32(salt.count))
        let password = password.isEmpty ? [0] : password, salt = salt.isEmpty ? [0] : salt
        let ok = password.withUnsafeBufferPointer { pass in
            salt.withUnsafeBufferPointer { salt in
                out.withUnsafeMutableBufferPointer { out in
                    pass.withMemoryRebound(to: CChar.self) { pass in
                        PKCS5_PBKDF2_HMAC(pass.baseAddress, passwordLength, salt.baseAddress, saltLength,
                                          Int32(iterations), EVP_sha256(), Int32(byteCount), out.baseAddress)
                    }
                }
            }
        }
        guard ok == 1 else { throw .libcrypto(function: "PKCS5_PBKDF2_HMAC") }
        return out
    }

    /// `CRYPTO_memcmp`: the time taken does not depend on where the bytes differ.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return a.withUnsafeBytes { a in b.withUnsafeBytes { b in CRYPTO_memcmp(a.baseAddress, b.baseAddress, a.count) == 0 } }
    }
}
