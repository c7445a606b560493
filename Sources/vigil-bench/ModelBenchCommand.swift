import ArgumentParser
import Foundation
import Policy
import CommandSupport

/// `vigil-bench model`: inference time per sensor of the int8 kernels against the same network in
/// float32, measured in the same run on the same inputs (a benchmark, not a test).
struct ModelBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Time int8 inference (SIMD and reference kernels) against the same network in float32; --learning adds the learner's figures.")

    @Option(help: ArgumentHelp("The model file.", valueName: "FILE"))
    var file = "models/default.vglm"
    @Option(help: "Timing passes over the inputs.")
    var passes = 200
    @Flag(help: "Also the learner's figures: a new false-alarm pattern taught with K labels, fifty successive updates, feedback to deployment, the cycle's lateness during updates (several minutes).")
    var learning = false
    @Option(help: ArgumentHelp("The learning set for --learning.", valueName: "FILE"))
    var learningSet = "models/default.vgls"
    @Option(help: "Seed of the held-out fault campaign for --learning (far from training's 2026…).")
    var seed: UInt64 = 90_000
    @Option(help: "Seconds per lateness window for --learning.")
    var latencySeconds: Double = 10
    @Option(help: "Busy lateness windows for --learning (each between two quiet ones).")
    var rounds = 5
    @Option(help: "For --learning: run the cycle thread at this SCHED_FIFO priority (as a plant would configure it).")
    var cycleFifoPriority: Int?

    func run() throws {
        let model: PolicyModel
        do { model = try ModelFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: file)))) } catch { throw ValidationError("\(file): \(error)") }
        print(Self.timing(model, float: model.network.dequantized, passes: passes))
        if learning {
            Shutdown.install()
            try ModelLearningBench(modelPath: file, learningSetPath: learningSet, seed: seed, latencySeconds: latencySeconds, rounds: rounds,
                                   cycleFIFOPriority: cycleFifoPriority).run()
        }
    }

    /// Mean time per sensor decision over 1,000 seeded raw feature vectors × `passes`, all in one
    /// run: the int8 model as the cycle calls it (`decide`: fused normalisation and quantization,
    /// SIMD kernel, argmax of both heads), the same through the reference kernel, and `float` (the
    /// float network the int8 one stands for) with the same normalisation and argmax, by the blocked
    /// and the row-wise float32 kernels. The ratio is against the faster float32 kernel.
    static func timing(_ model: PolicyModel, float: FloatMLP, passes: Int) -> String {
        let net = model.network
        let n = model.schema.features.count, classes = model.schema.classes.count, outputs = net.outputCount
        // Raw features spread like the normalised ones the model expects: mean ± 1.5 spread.
        var random = TrainingRandom(seed: 1)
        let inputs = (0..<1_000).map { _ in
            (0..<n).map { k in model.normalisation.mean[k] + Float(random.nextGaussian()) * 1.5 / model.normalisation.inverseSpread[k] }
        }
        let scratch = model.makeScratch()
        let kernel = FloatKernel(float)
        let normalised = UnsafeMutableBufferPointer<Float>.allocate(capacity: n)
        defer { normalised.deallocate() }
        var sink = 0
        func time(_ body: (UnsafeBufferPointer<Float>) -> Void) -> Double {
            for x in inputs.prefix(100) { x.withUnsafeBufferPointer(body) } // warm the caches
            let t0 = ContinuousClock.now
            for _ in 0..<max(passes, 1) { for x in inputs { x.withUnsafeBufferPointer(body) } }
            let d = ContinuousClock.now - t0
            return (Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9) / Double(max(passes, 1) * inputs.count)
        }
        func floatDecide(_ x: UnsafeBufferPointer<Float>, _ logits: (UnsafeBufferPointer<Float>) -> UnsafeBufferPointer<Float>) -> Int {
            for k in 0..<n { normalised[k] = model.normalisation.apply(x[k], feature: k) }
            let z = logits(UnsafeBufferPointer(normalised))
            var c = 0, a = classes
            for i in 1..<classes where z[i] > z[c] { c = i }
            for i in (classes + 1)..<outputs where z[i] > z[a] { a = i }
            return c &+ a
        }
        let simd = time { sink &+= model.decide($0, scratch: scratch).diagnosis }
        let reference = time { sink &+= model.decideReference($0, scratch: scratch).diagnosis }
        let blocked = time { sink &+= floatDecide($0, kernel.logits) }
        let rowWise = time { sink &+= floatDecide($0, kernel.logitsRowWise) }
        let f32 = min(blocked, rowWise)
        let widths = ([net.inputCount] + net.layers.map(\.outputs)).map(String.init).joined(separator: "→")
        return String(format: "decision per sensor, network %@, %d inputs × %d passes, same run: int8 SIMD %.0f ns, int8 reference %.0f ns, "
                      + "float32 blocked %.0f ns, float32 row-wise %.0f ns; float32 (faster) / int8 SIMD = %.2f× (target ≥ 2×) [checksum %d]",
                      widths, inputs.count, passes, simd, reference, blocked, rowWise, f32 / simd, sink & 0xF)
    }
}
