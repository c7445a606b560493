/// A 64-bit checksum of a byte stream, the same however the stream is cut into pieces: tells the
/// replay's second read of a file from its first. Not cryptographic — it catches a file changed in
/// place, not one crafted to collide. Four independent multiply-rotate lanes over 32-byte blocks, so
/// it runs at several GB/s.
struct StreamChecksum: Sendable {
    private var lanes: (UInt64, UInt64, UInt64, UInt64) = (0x243F_6A88_85A3_08D3, 0x1319_8A2E_0370_7344, 0xA409_3822_299F_31D0, 0x082E_FA98_EC4E_6C89)
    /// Bytes not yet folded (fewer than a block).
    private var pending: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var pendingCount = 0
    /// Bytes added.
    private(set) var count = 0

    static let multiplier: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inline(__always) private static func mix(_ lane: UInt64, _ word: UInt64) -> UInt64 {
        let x = (lane ^ word) &* multiplier
        return (x << 31) | (x >> 33)
    }

    /// Folds the pending block (its bytes read as the block loop reads memory: little-endian words).
    private mutating func foldPending() {
        let p = pending
        lanes = (Self.mix(lanes.0, UInt64(littleEndian: p.0)), Self.mix(lanes.1, UInt64(littleEndian: p.1)),
                 Self.mix(lanes.2, UInt64(littleEndian: p.2)), Self.mix(lanes.3, UInt64(littleEndian: p.3)))
    }

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        count &+= bytes.count
        var i = 0
        // Complete the pending block byte by byte.
        if pendingCount > 0 {
            withUnsafeMutableBytes(of: &pending) { p in
                while pendingCount < 32 && i < bytes.count {
                    p[pendingCount] = bytes[i]
                    pendingCount += 1
                    i += 1
                }
            }
            guard pendingCount == 32 else { return }
            foldPending()
            pendingCount = 0
        }
        var (l0, l1, l2, l3) = lanes
        while i + 32 <= bytes.count {
            let p = base + i
            l0 = Self.mix(l0, UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
            l1 = Self.mix(l1, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
            l2 = Self.mix(l2, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
            l3 = Self.mix(l3, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
            i += 32
        }
        lanes = (l0, l1, l2, l3)
        if i < bytes.count {
            pending = (0, 0, 0, 0)
            withUnsafeMutableBytes(of: &pending) { p in
                while i < bytes.count {
                    p[pendingCount] = bytes[i]
                    pendingCount += 1
                    i += 1
                }
            }
        }
    }

    /// The checksum of everything added so far.
    var value: UInt64 {
        var folded = self
        if pendingCount > 0 { folded.foldPending() }
        var h = UInt64(count) &* Self.multiplier
        h = Self.mix(h, folded.lanes.0)
        h = Self.mix(h, folded.lanes.1)
        h = Self.mix(h, folded.lanes.2)
        h = Self.mix(h, folded.lanes.3)
        return h ^ (h >> 29)
    }
}
