import ArgumentParser
import Foundation
import Policy

/// `vigil model bench`: inference time per sensor of the int8 kernels against the same network in
/// float32, measured in the same run on the same inputs (a benchmark, not a test).
struct ModelBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Time int8 inference (SIMD and reference kernels) against the same network in float32.")

    @Option(help: ArgumentHelp("The model file.", valueName: "FILE"))
    var file = "models/default.vglm"
    @Option(help: "Timing passes over the inputs.")
    var passes = 200

    func run() throws {
        let model: PolicyModel
        do { model = try ModelFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: file)))) } catch { throw ValidationError("\(file): \(error)") }
        print(Self.timing(model.network, float: model.network.dequantized, passes: passes))
    }

    /// Mean time per inference over 1,000 seeded normalised inputs × `passes`: int8 SIMD, int8
    /// reference, and `float` (the float network the int8 one stands for) with an equally lean kernel.
    static func timing(_ net: QuantizedMLP, float: FloatMLP, passes: Int) -> String {
        var random = TrainingRandom(seed: 1)
        let inputs = (0..<1_000).map { _ in (0..<net.inputCount).map { _ in Float(random.nextGaussian()) } }
        let scratch = net.makeScratch()
        let kernel = FloatKernel(float)
        var sink = 0
        func time(_ body: ([Float]) -> Void) -> Double {
            for x in inputs.prefix(100) { body(x) } // warm the caches
            let t0 = ContinuousClock.now
            for _ in 0..<max(passes, 1) { for x in inputs { body(x) } }
            let d = ContinuousClock.now - t0
            return (Double(d.components.seconds) * 1e9 + Double(d.components.attoseconds) / 1e9) / Double(max(passes, 1) * inputs.count)
        }
        let outputs = net.outputCount
        let quantization = time { x in x.withUnsafeBufferPointer { for k in 0..<net.inputCount { sink &+= Int(net.inputEncoding.quantize($0[k])) } } }
        let simd = time { x in x.withUnsafeBufferPointer { sink &+= Int(net.run($0, scratch: scratch)[outputs - 1]) } }
        let reference = time { x in x.withUnsafeBufferPointer { sink &+= Int(net.runReference($0, scratch: scratch)[outputs - 1]) } }
        let f32 = time { x in x.withUnsafeBufferPointer { sink &+= Int(kernel.logits($0)[outputs - 1] > 0 ? 1 : 0) } }
        let widths = ([net.inputCount] + net.layers.map(\.outputs)).map(String.init).joined(separator: "→")
        return String(format: "inference per sensor, network %@, %d inputs × %d passes, same run: int8 SIMD %.0f ns, int8 reference %.0f ns, "
                      + "float32 %.0f ns; float32 / int8 SIMD = %.2f× (target ≥ 2×); of the int8 time, input quantization %.0f ns [checksum %d]",
                      widths, inputs.count, passes, simd, reference, f32, f32 / simd, quantization, sink & 0xF)
    }
}
