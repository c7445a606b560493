import Foundation
import Testing
import Policy
import VigilCore
@testable import Kernel

/// A model error takes the policy model off the cycle: from the next boundary no sensor is scored
/// and no verdict journalled (the rules decide alone) until the model is reinstated.
@Suite struct PolicyWatchWithdrawTests {
    static let shipped = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("models/default.vglm")

    static func verdicts(_ events: [TimedEvent]) -> Int {
        events.filter { if case .modelVerdict = $0.event { true } else { false } }.count
    }

    @Test func aWithdrawnModelScoresNothingUntilReinstated() throws {
        let model = try ModelFile.decode([UInt8](Data(contentsOf: Self.shipped)))
        let kernel = try CycleKernel(plant: KernelTestPlant.plant(), options: KernelOptions(policyModel: model))
        let watch = try #require(kernel.policyWatch)
        var process = KernelTestPlant.Process()
        kernel.start(nowNanoseconds: 1_000_000_000)
        let before = KernelTestPlant.run(kernel, &process, cycles: 1...3000)
        #expect(Self.verdicts(before) > 0, "the model journals its verdicts once the detectors are warmed up")

        watch.withdraw()
        #expect(watch.isWithdrawn)
        let during = KernelTestPlant.run(kernel, &process, cycles: 3001...6000)
        #expect(Self.verdicts(during) == 0, "no verdict while withdrawn")
        #expect((0..<kernel.sensorCount).allSatisfy { watch.opinion(sensor: $0) == nil }, "no opinion reaches the monitor")

        watch.reinstate()
        let after = KernelTestPlant.run(kernel, &process, cycles: 6001...9000)
        #expect(Self.verdicts(after) > 0, "reinstated, the model reports its verdicts afresh")
    }
}
