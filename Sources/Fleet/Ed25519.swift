import COpenSSL

/// Why a key could not be made or read, or a signature could not be made.
public enum Ed25519Error: Error, Sendable, Hashable, CustomStringConvertible {
    /// A raw key of the wrong length (Ed25519 keys are 32 bytes).
    case keyLength(Int)
    /// Text that is not the base64 of a 32-byte key (`what`: "private key" or "public key").
    case notBase64(what: String)
    /// A libcrypto call failed.
    case libcrypto(function: String)

    public var description: String {
        switch self {
        case .keyLength(let n): return "an Ed25519 key is 32 bytes, not \(n)"
        case .notBase64(let what): return "the \(what) is not the base64 text of a 32-byte Ed25519 key"
        case .libcrypto(let f): return "libcrypto \(f) failed"
        }
    }
}

/// An Ed25519 public key: the 32 raw bytes, as a plant file holds them (base64).
public struct Ed25519PublicKey: Sendable, Hashable, CustomStringConvertible {
    public let raw: [UInt8]

    public init(raw: [UInt8]) throws(Ed25519Error) {
        guard raw.count == 32 else { throw .keyLength(raw.count) }
        self.raw = raw
    }

    /// From base64 text (surrounding whitespace ignored).
    public init(base64 text: String) throws(Ed25519Error) {
        guard let raw = Base64.decode(text.trimmingWhitespace()), raw.count == 32 else { throw .notBase64(what: "public key") }
        self.raw = raw
    }

    public var base64: String { Base64.encode(raw) }
    public var description: String { base64 }

    /// Whether `signature` is this key's Ed25519 signature of `message`.
    public func verifies(_ signature: [UInt8], of message: [UInt8]) -> Bool {
        guard signature.count == Ed25519.signatureBytes else { return false }
        let key = raw.withUnsafeBufferPointer { EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32) }
        guard let key else { return false }
        defer { EVP_PKEY_free(key) }
        guard let ctx = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestVerifyInit(ctx, nil, nil, nil, key) == 1 else { return false }
        // libcrypto wants a non-null pointer even for an empty message.
        let data = message.isEmpty ? [0] : message
        let ok = signature.withUnsafeBufferPointer { sig in
            data.withUnsafeBufferPointer { m in EVP_DigestVerify(ctx, sig.baseAddress, sig.count, m.baseAddress, message.count) }
        }
        return ok == 1
    }
}

/// An Ed25519 private key (the 32-byte seed). Neither its description nor its reflection (`dump`)
/// shows the key.
public struct Ed25519PrivateKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let seed: [UInt8]
    public let publicKey: Ed25519PublicKey

    public init(raw: [UInt8]) throws(Ed25519Error) {
        guard raw.count == 32 else { throw .keyLength(raw.count) }
        seed = raw
        let key = raw.withUnsafeBufferPointer { EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32) }
        guard let key else { throw .libcrypto(function: "EVP_PKEY_new_raw_private_key") }
        defer { EVP_PKEY_free(key) }
        var publicRaw = [UInt8](repeating: 0, count: 32)
        var length = 32
        guard publicRaw.withUnsafeMutableBufferPointer({ EVP_PKEY_get_raw_public_key(key, $0.baseAddress, &length) }) == 1, length == 32 else {
            throw .libcrypto(function: "EVP_PKEY_get_raw_public_key")
        }
        publicKey = try Ed25519PublicKey(raw: publicRaw)
    }

    /// A new key from libcrypto's CSPRNG (`RAND_bytes`).
    public static func generate() throws(Ed25519Error) -> Ed25519PrivateKey {
        var seed = [UInt8](repeating: 0, count: 32)
        guard seed.withUnsafeMutableBufferPointer({ RAND_bytes($0.baseAddress, 32) }) == 1 else { throw .libcrypto(function: "RAND_bytes") }
        return try Ed25519PrivateKey(raw: seed)
    }

    /// The key as a key file holds it (base64 of the 32 raw bytes). Only for writing that file.
    var base64ForKeyFile: String { Base64.encode(seed) }

    /// The Ed25519 signature (64 bytes) of `message`; deterministic (RFC 8032).
    public func sign(_ message: [UInt8]) throws(Ed25519Error) -> [UInt8] {
        let key = seed.withUnsafeBufferPointer { EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress, 32) }
        guard let key else { throw .libcrypto(function: "EVP_PKEY_new_raw_private_key") }
        defer { EVP_PKEY_free(key) }
        guard let ctx = EVP_MD_CTX_new() else { throw .libcrypto(function: "EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        guard EVP_DigestSignInit(ctx, nil, nil, nil, key) == 1 else { throw .libcrypto(function: "EVP_DigestSignInit") }
        var signature = [UInt8](repeating: 0, count: Ed25519.signatureBytes)
        var length = Ed25519.signatureBytes
        let data = message.isEmpty ? [0] : message
        let ok = signature.withUnsafeMutableBufferPointer { sig in
            data.withUnsafeBufferPointer { m in EVP_DigestSign(ctx, sig.baseAddress, &length, m.baseAddress, message.count) }
        }
        guard ok == 1, length == Ed25519.signatureBytes else { throw .libcrypto(function: "EVP_DigestSign") }
        return signature
    }

    public var description: String { "Ed25519 private key (public \(publicKey.base64))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["publicKey": publicKey]) }
}

public enum Ed25519 {
    public static let signatureBytes = 64
}

/// Standard base64 (RFC 4648, with padding).
enum Base64 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            let b0 = UInt32(bytes[i]), b1 = n > 1 ? UInt32(bytes[i + 1]) : 0, b2 = n > 2 ? UInt32(bytes[i + 2]) : 0
            let v = b0 << 16 | b1 << 8 | b2
            out.append(alphabet[Int(v >> 18 & 63)])
            out.append(alphabet[Int(v >> 12 & 63)])
            out.append(n > 1 ? alphabet[Int(v >> 6 & 63)] : UInt8(ascii: "="))
            out.append(n > 2 ? alphabet[Int(v & 63)] : UInt8(ascii: "="))
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < chars.count {
            var v: UInt32 = 0, pad = 0
            for k in 0..<4 {
                let c = chars[i + k]
                if c == UInt8(ascii: "=") {
                    guard i + 4 == chars.count, k >= 2 else { return nil }
                    pad += 1
                    v <<= 6
                    continue
                }
                guard pad == 0, let d = alphabet.firstIndex(of: c) else { return nil }
                v = v << 6 | UInt32(d)
            }
            out.append(UInt8(v >> 16 & 0xFF))
            if pad < 2 { out.append(UInt8(v >> 8 & 0xFF)) }
            if pad < 1 { out.append(UInt8(v & 0xFF)) }
            i += 4
        }
        return out
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}
