import Testing
@testable import Policy

/// The one random source of training: a seed is a sequence, on any machine and toolchain.
@Suite struct TrainingRandomTests {
    @Test func sameSeedSameSequenceOtherSeedOtherSequence() {
        var a = TrainingRandom(seed: 42), b = TrainingRandom(seed: 42), c = TrainingRandom(seed: 43)
        let xa = (0..<1000).map { _ in a.next() }, xb = (0..<1000).map { _ in b.next() }, xc = (0..<1000).map { _ in c.next() }
        #expect(xa == xb)
        #expect(zip(xa, xc).filter { $0 == $1 }.count == 0)
    }

    @Test func gaussianHasUnitMomentsAndIndicesAreUniform() {
        var r = TrainingRandom(seed: 1)
        let n = 200_000
        var sum = 0.0, sq = 0.0
        for _ in 0..<n {
            let g = r.nextGaussian()
            sum += g
            sq += g * g
        }
        let mean = sum / Double(n), variance = sq / Double(n) - mean * mean
        #expect(abs(mean) < 0.01 && abs(variance - 1) < 0.02)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<70_000 { counts[r.nextIndex(7)] += 1 }
        #expect(counts.allSatisfy { abs($0 - 10_000) < 400 }, "\(counts)")
    }
}
