import RealModule

/// xoshiro256** seeded through SplitMix64 (VigilCore's `SeededRandom` is plain SplitMix64, for jitter and
/// simulations): the one random source of training, initialisation and
/// sampling, so a seed reproduces a model bit for bit on any machine.
public struct TrainingRandom: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)
    private var spareGaussian: Double?

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0
        s.3 ^= s.1
        s.1 ^= s.2
        s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    @inline(__always)
    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Uniform integer in 0..<n (n > 0), without modulo bias. Our own rejection rule, not the
    /// standard library's, so a seed means the same sequence whatever the toolchain.
    public mutating func nextIndex(_ n: Int) -> Int {
        precondition(n > 0, "an index range is not empty")
        let m = UInt64(n)
        let limit = UInt64.max - UInt64.max % m
        var r = next()
        while r >= limit { r = next() }
        return Int(r % m)
    }

    /// Standard normal (Box–Muller, both values used).
    public mutating func nextGaussian() -> Double {
        if let g = spareGaussian {
            spareGaussian = nil
            return g
        }
        var u = nextUnit()
        while u <= 0 { u = nextUnit() }
        let v = nextUnit()
        let r = (-2 * Double.log(u)).squareRoot()
        spareGaussian = r * Double.sin(2 * Double.pi * v)
        return r * Double.cos(2 * Double.pi * v)
    }

    /// Fisher–Yates shuffle of `a` in place.
    public mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) {
            a.swapAt(i, nextIndex(i + 1))
        }
    }
}
