import Testing
@testable import Policy

/// The int8 network: the SIMD kernel against the reference, bit for bit, and both against the
/// float network they were quantized from.
@Suite struct QuantizedMLPTests {
    /// Inputs shaped like normalised features: mostly within ±3, a few outliers.
    static func inputs(_ count: Int, width: Int, seed: UInt64) -> [[Float]] {
        var random = TrainingRandom(seed: seed)
        return (0..<count).map { _ in
            (0..<width).map { _ in Float(random.nextGaussian()) * (random.nextUnit() < 0.05 ? 4 : 1) }
        }
    }

    /// Widths chosen to hit the SIMD loop's tails (not multiples of 16) and a one-wide layer.
    @Test(arguments: [[12, 32, 16, 10], [17, 33, 1, 3], [40, 64, 31, 9], [5, 7]])
    func simdKernelEqualsTheReferenceBitForBit(sizes: [Int]) throws {
        let float = FloatMLP(sizes: sizes, seed: UInt64(sizes.reduce(0, +)))
        let net = try QuantizedMLP(quantizing: float, calibration: Self.inputs(300, width: sizes[0], seed: 1))
        let scratchA = net.makeScratch(), scratchB = net.makeScratch()
        var differing = 0
        for x in Self.inputs(5_000, width: sizes[0], seed: 2) {
            x.withUnsafeBufferPointer { f in
                let ref = Array(net.runReference(f, scratch: scratchA))
                let fast = Array(net.run(f, scratch: scratchB))
                if ref != fast { differing += 1 }
            }
        }
        #expect(differing == 0)
    }

    /// Outputs within a few quantization steps of the float network for 99 % of logits (the rest
    /// are inputs beyond the calibrated range, which saturate), and the same class wherever the
    /// float network's decision is not a near-tie.
    @Test func int8LogitsFollowTheFloatNetwork() throws {
        let float = FloatMLP(sizes: [16, 48, 24, 7], seed: 5)
        let calibration = Self.inputs(500, width: 16, seed: 3)
        let net = try QuantizedMLP(quantizing: float, calibration: calibration)
        let scratch = net.makeScratch()
        let step = net.outputEncoding.scale
        var errors: [Float] = [], decided = 0, agreed = 0
        for x in Self.inputs(3_000, width: 16, seed: 4) {
            let exact = float.logits(x)
            let codes = x.withUnsafeBufferPointer { Array(net.run($0, scratch: scratch)) }
            let approx = codes.map { net.outputEncoding.dequantize($0) }
            for i in exact.indices { errors.append(abs(exact[i] - approx[i]) / step) }
            let sorted = exact.sorted(by: >)
            if sorted[0] - sorted[1] > 6 * step {
                decided += 1
                if exact.firstIndex(of: sorted[0]) == codes.withUnsafeBufferPointer({ QuantizedMLP.argmax($0, 0..<codes.count) }) { agreed += 1 }
            }
        }
        errors.sort()
        let p99 = errors[errors.count * 99 / 100], median = errors[errors.count / 2]
        #expect(median <= 1 && p99 <= 4, "logit error in output steps: median \(median), p99 \(p99)")
        #expect(decided > 1_000 && agreed == decided, "\(agreed) of \(decided) clear decisions agree")
    }

    @Test func dequantizedNetworkReproducesTheQuantizedWeights() throws {
        let float = FloatMLP(sizes: [8, 16, 4], seed: 9)
        let net = try QuantizedMLP(quantizing: float, calibration: Self.inputs(100, width: 8, seed: 1))
        for (l, pair) in zip(net.dequantized.layers, float.layers).enumerated() {
            let (q, f) = pair
            for i in q.weights.indices {
                let s = net.layers[l].weightScales[i / q.inputs]
                #expect(abs(q.weights[i] - f.weights[i]) <= s / 2 * 1.0001, "a weight moves by at most half a step")
            }
        }
    }

    @Test func mismatchedLayersAreRefused() throws {
        let a = try QuantizedMLP(quantizing: FloatMLP(sizes: [4, 6, 3], seed: 1), calibration: Self.inputs(20, width: 4, seed: 1))
        let b = try QuantizedMLP(quantizing: FloatMLP(sizes: [5, 2], seed: 1), calibration: Self.inputs(20, width: 5, seed: 1))
        #expect(throws: QuantizedModelError.self) { try QuantizedMLP(layers: [a.layers[0], b.layers[0]]) }
        #expect(throws: QuantizedModelError.empty) { try QuantizedMLP(layers: []) }
    }

    /// The model's fused input encoding: the four-lane path gives the scalar definition's code in every
    /// position (18 features: four groups of four and a scalar tail), ties round to even, non-finite
    /// features are the zero point, values beyond the range saturate.
    @Test func featureEncoderGivesTheDefinitionsCodeInEveryLane() {
        let q = ActivationQuantization(scale: 0.05, zeroPoint: -7)
        var random = TrainingRandom(seed: 8)
        let n = 18
        let norm = FeatureNormalisation(mean: (0..<n).map { _ in Float(random.nextGaussian()) },
                                        inverseSpread: (0..<n).map { _ in Float(0.2 + random.nextUnit()) })
        let encoder = FeatureEncoder(norm, q)
        let out = UnsafeMutableBufferPointer<Int8>.allocate(capacity: n)
        defer { out.deallocate() }
        func definition(_ x: Float, _ k: Int) -> Int8 {
            guard x.isFinite else { return Int8(q.zeroPoint) }
            let v = (x * encoder.a[k] + encoder.b[k]).rounded(.toNearestOrEven)
            return Int8(clamping: Int32(Swift.min(Swift.max(v, -1000), 1000)))
        }
        let specials: [Float] = [.nan, .infinity, -.infinity, 1e30, -1e30, 0]
        var mismatches = 0
        for trial in 0..<2_000 {
            let x: [Float] = (0..<n).map { k in trial % 7 == 0 && k % 5 == trial % 5 ? specials[(trial + k) % specials.count] : Float(random.nextGaussian()) * 4 }
            let codes = x.withUnsafeBufferPointer { Array(encoder.encode($0, into: out)) }
            for k in 0..<n where codes[k] != definition(x[k], k) { mismatches += 1 }
        }
        #expect(mismatches == 0)
        // Ties to even, through a = 1, b = 0.
        let unit = FeatureEncoder(FeatureNormalisation(mean: [0, 0, 0, 0, 0], inverseSpread: [1, 1, 1, 1, 1]), ActivationQuantization(scale: 1, zeroPoint: 0))
        let ties = UnsafeMutableBufferPointer<Int8>.allocate(capacity: 5)
        defer { ties.deallocate() }
        let tieCodes = [Float(2.5), 3.5, -2.5, 126.5, 300].withUnsafeBufferPointer { Array(unit.encode($0, into: ties)) }
        #expect(tieCodes == [2, 4, -2, 126, 127])
    }

    /// The benchmark's float32 kernels compute the float network's logits (to float rounding).
    @Test func floatKernelsComputeTheFloatNetwork() {
        let float = FloatMLP(sizes: [18, 24, 12], seed: 4)
        let kernel = FloatKernel(float)
        for x in Self.inputs(200, width: 18, seed: 6) {
            let exact = float.logits(x)
            let blocked = x.withUnsafeBufferPointer { Array(kernel.logits($0)) }
            let rowWise = x.withUnsafeBufferPointer { Array(kernel.logitsRowWise($0)) }
            for i in exact.indices {
                #expect(abs(blocked[i] - exact[i]) <= 1e-4 * max(1, abs(exact[i])))
                #expect(abs(rowWise[i] - exact[i]) <= 1e-4 * max(1, abs(exact[i])))
            }
        }
    }
}
