import Testing
import VigilCore
@testable import Kernel

/// `training_seconds`: a section learns every good new sample in a window of plant time after its
/// first one, then fits (inline here: live at the next cycle).
@Suite struct SectionTrainingWindowTests {
    static func plant(seconds: Double) -> PlantConfig {
        var plant = SectionBankTests.plant
        plant.cycle.periodMicroseconds = 10_000
        plant.sections[0].trainingSeconds = seconds
        return plant
    }

    /// Steps cycles `range` (10 ms each), a new sample every `every` cycles, and returns the cycles
    /// at which the section was live after its step.
    func run(_ bank: SectionBank, _ range: Range<Int>, every: Int = 1) -> [Int] {
        var process = SectionBankTests.Process()
        var live: [Int] = []
        var sample = process.readings(cycle: 0)
        for c in range {
            if c % every == 0 { sample = process.readings(cycle: c) }
            sample.withUnsafeBufferPointer { r in
                bank.observe(cycle: UInt64(c), nowNanoseconds: SectionBankTests.now(c), sensors: r, healthy: { _ in true }) { _ in }
            }
            if bank.isLive(0) { live.append(c) }
        }
        return live
    }

    @Test func aSectionLearnsEveryNewSampleOfItsWindowThenFits() {
        let bank = SectionBank(plant: Self.plant(seconds: 10), fitting: .inline)
        // A new sample every 100 ms from cycle 0 (plant time 10 ms): the window ends at 10.01 s, cycle 1,000.
        #expect(run(bank, 0..<1_000, every: 10).isEmpty)
        #expect(bank.trainedSamples(0) == nil, "still learning inside its window")
        let live = run(bank, 1_000..<1_002, every: 10)
        #expect(bank.trainedSamples(0) == 100, "the samples of cycles 0, 10, …, 990; the one at the window's end is not in it")
        #expect(live == [1_001], "fitted in the cycle that closed the window, live at the next")
    }

    @Test func aWindowWithTooFewSamplesLearnsOnToTheMinimum() {
        let bank = SectionBank(plant: Self.plant(seconds: 0.2), fitting: .inline)
        let live = run(bank, 0..<60)
        #expect(bank.trainedSamples(0) == SectionConfig.minimumTrainingSamples(sensorCount: 3), "20 samples in 0.2 s; it waits for 50")
        #expect(live.first == 50)
    }

    @Test func aWindowLongerThanTheRowBoundFitsAtTheBound() {
        let bank = SectionBank(plant: Self.plant(seconds: 60), fitting: .inline, maxTrainingWindowRows: 200)
        let live = run(bank, 0..<300)
        #expect(bank.trainedSamples(0) == 200, "a minute of 10 ms samples would be 6,000 rows")
        #expect(live.first == 200)
    }
}
