import ArgumentParser
import CAllocCounter
import Foundation
import Monitor
import TEPBenchmark

/// `vigil-bench tep`: the section monitor on the Tennessee Eastman benchmark. Limits come from
/// d00.dat only; d00_te.dat's false-alarm rate is reported as measured, never calibrated on.
struct TEPBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tep",
        abstract: "Detection rate and delay per Tennessee Eastman fault, false alarms on d00_te, an ablation, and the cost per sample.",
        discussion: """
            DIR holds the Braatz files (d00.dat, d00_te.dat, d01_te.dat … d21_te.dat), e.g. unpacked with
            `tar -xJf ../shared/data/tep/tep-braatz.tar.xz -C /tmp/tep`. Each setting is a `sections:` entry over
            the 52 variables, fitted on d00.dat's 500 samples by the code the kernel fits sections with; each run
            streams through a fresh copy of the fitted monitor, one sample in, one decision out. A sample is
            flagged when a section finding (T² or SPE family) is active after it. See docs/TEP.md.
            """)

    @Option(help: ArgumentHelp("Directory of the unpacked .dat files.", valueName: "DIR"))
    var data: String
    @Flag(help: "Also a sensitivity sweep over lags and the EWMA weight.")
    var sweep = false
    @Option(help: "Timing passes over d00_te.dat for the cost per sample.")
    var passes = 200
    @Flag(help: "Only the recommended section's cost per sample, nothing else (for a profiler; see docs/TEP.md).")
    var onlyCost = false

    func run() throws {
        let set: TEPDataSet
        do { set = try TEPDataSet.load(directory: data) } catch { throw ValidationError("\(error)") }
        print("Tennessee Eastman (Braatz): training d00.dat \(set.training.count) samples; d00_te.dat and 21 fault runs of \(set.normal.count) samples, fault from sample \(TEPDataSet.faultOnset + 1)")
        print("limits from d00.dat only; a flagged sample is one with a section finding active after it\n")
        if onlyCost {
            let cost = try measure(.recommended, set)
            return print(String(format: "recommended section: %.0f ns per sample over %d samples, %llu heap allocations",
                                cost.ns, set.normal.count * passes, cost.allocations))
        }

        let recommended = try TEPBenchmark.run(.recommended, data: set)
        let baseline = try TEPBenchmark.run(TEPSetting.baseline, data: set)
        print(TEPReport.table(recommended, baseline: baseline))
        print("ablation:")
        print(TEPReport.summary(try TEPSetting.ablation.map { try TEPBenchmark.run($0, data: set) }))
        if sweep {
            var settings: [TEPSetting] = []
            for lags in [0, 1, 2, 3] {
                for lambda in [0.1, 0.05, 0.03, 0.02] {
                    settings.append(TEPSetting(name: "lags \(lags), λ \(lambda)", section: TEPSetting.section(lags: lags, ewmaLambda: lambda)))
                }
            }
            for alpha in [0.01, 0.005, 0.002, 0.0001] {
                settings.append(TEPSetting(name: "recommended, false_alarm_rate \(alpha)", section: TEPSetting.section(falseAlarmRate: alpha)))
            }
            print("sensitivity:")
            print(TEPReport.summary(try settings.map { try TEPBenchmark.run($0, data: set) }))
        }
        try timing(set)
    }

    /// Nanoseconds per judged sample over d00_te.dat (normal operation: every sample also feeds the
    /// slow update), the recommended section against the static-PCA baseline, and heap allocations
    /// once the monitor's buffers are its own.
    func timing(_ set: TEPDataSet) throws {
        let samples = set.normal.count * passes
        func measure(_ setting: TEPSetting) throws -> (ns: Double, allocations: UInt64) { try self.measure(setting, set) }
        var scoringOnly = TEPSetting.recommended
        scoringOnly.section.updateLambda = 0
        var refitting = TEPSetting.recommended
        refitting.section.refitInterval = 10
        let reference = try measure(TEPSetting.baseline)
        let section = try measure(.recommended)
        let scoring = try measure(scoringOnly)
        let refits = try measure(refitting)
        let model = try TEPBenchmark.fit(.recommended, data: set).model(section: 0)
        print("cost per sample over d00_te.dat (\(samples) samples; values arrive as a [Double], no I/O):")
        print(String(format: "  static PCA (reference), 52 variables:                    %7.0f ns  %llu heap allocations", reference.ns, reference.allocations))
        print(String(format: "  recommended section, %d variables, %d components:       %7.0f ns  %llu heap allocations  (%.1f× the reference)",
                     model.variableCount, model.componentCount, section.ns, section.allocations, section.ns / reference.ns))
        print(String(format: "  the same without the slow update (update_lambda 0):     %7.0f ns  %llu heap allocations",
                     scoring.ns, scoring.allocations))
        print(String(format: "  a refit (eigen-decomposition of %d × %d), from refit_interval 10: %.2f ms  %llu heap allocations",
                     model.variableCount, model.variableCount, (refits.ns - section.ns) * 10 / 1e6, refits.allocations))
        if vigil_alloc_counter_active() == 0 { print("  (allocation counter inactive)") }
    }

    /// Nanoseconds per sample of `setting` streaming d00_te.dat `passes` times through one monitor,
    /// and the heap allocations meanwhile (after the first sample has copied the fitted buffers).
    func measure(_ setting: TEPSetting, _ set: TEPDataSet) throws -> (ns: Double, allocations: UInt64) {
        let samples = set.normal.count * passes
        var monitor = try TEPBenchmark.fit(setting, data: set)
        monitor.observe(values: set.normal[0], cycle: 0) { _ in }
        var flagged = 0
        let a0 = vigil_thread_allocations()
        let t0 = ContinuousClock.now
        for _ in 0..<passes {
            for (i, x) in set.normal.enumerated() {
                monitor.observe(values: x, cycle: UInt64(i)) { _ in }
                if monitor.status(section: 0).speActive { flagged += 1 }
            }
        }
        let elapsed = ContinuousClock.now - t0
        let allocations = vigil_thread_allocations() - a0
        if flagged < 0 { print(flagged) }
        let ns = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
        return (ns / Double(samples), allocations)
    }
}
