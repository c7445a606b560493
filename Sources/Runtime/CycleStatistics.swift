import Synchronization
import Histogram

/// One cycle's timing, as the cycle thread measured it.
struct CycleSample {
    var latenessNanoseconds: UInt64
    var durationNanoseconds: UInt64
}

/// Summary of the cycle's timing for status views, benchmarks and the journal.
public struct CycleTimingSummary: Sendable, Hashable {
    public var cycles: UInt64
    public var overruns: UInt64
    public var overrunStorms: UInt64
    public var latenessP50Microseconds: Double
    public var latenessP99Microseconds: Double
    public var latenessP999Microseconds: Double
    public var latenessMaxMicroseconds: Double
    public var durationP50Microseconds: Double
    public var durationP99Microseconds: Double
    public var durationMaxMicroseconds: Double
    /// Samples lost because nobody drained them in time (histograms only; counters are exact).
    public var samplesDropped: Int
}

/// Lateness and duration histograms (HdrHistogram) fed by the cycle thread through a lock-free
/// ring; the histograms themselves live off the cycle thread, behind a lock only readers take.
final class CycleStatistics: @unchecked Sendable {
    /// 16,384 samples (256 KiB, all resident): 16 s of a 1 ms cycle between drains. Readers drain
    /// it (status views, benchmarks, the metrics exporter every second); what overflows is counted.
    let ring = SPSCRing<CycleSample>(capacity: 1 << 14, filler: CycleSample(latenessNanoseconds: 0, durationNanoseconds: 0))
    private let histograms = Mutex(Histograms())
    let cycles = Atomic<UInt64>(0)
    let overruns = Atomic<UInt64>(0)
    let overrunStorms = Atomic<UInt64>(0)

    /// Called with every sample as it is drained (off the cycle thread), e.g. by the metrics exporter.
    typealias Sink = @Sendable (_ latenessNanoseconds: UInt64, _ durationNanoseconds: UInt64) -> Void

    private struct Histograms: ~Copyable {
        var sink: Sink?
        // 1 ns ... 10 s, 2 significant digits (values within 1 %): 28 KiB each, where 3 digits take 200 KiB.
        var lateness = Histogram<UInt64>(highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .two)
        var duration = Histogram<UInt64>(highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .two)
    }

    /// Moves queued samples into the histograms. Any thread but the cycle's.
    func drain() {
        histograms.withLock { h in
            ring.drain { sample in
                _ = h.lateness.record(sample.latenessNanoseconds)
                _ = h.duration.record(sample.durationNanoseconds)
                h.sink?(sample.latenessNanoseconds, sample.durationNanoseconds)
            }
        }
    }

    /// Sets (or removes, with nil) the sink every drained sample also goes to.
    func setSink(_ sink: Sink?) {
        histograms.withLock { $0.sink = sink }
    }

    /// The counters alone (no histogram drained or read: cheap, for frequent readers).
    func counters() -> CycleTimingSummary {
        CycleTimingSummary(cycles: cycles.load(ordering: .relaxed), overruns: overruns.load(ordering: .relaxed),
                           overrunStorms: overrunStorms.load(ordering: .relaxed), latenessP50Microseconds: .nan,
                           latenessP99Microseconds: .nan, latenessP999Microseconds: .nan, latenessMaxMicroseconds: .nan,
                           durationP50Microseconds: .nan, durationP99Microseconds: .nan, durationMaxMicroseconds: .nan, samplesDropped: 0)
    }

    func summary() -> CycleTimingSummary {
        drain()
        return histograms.withLock { h in
            CycleTimingSummary(
                cycles: cycles.load(ordering: .relaxed), overruns: overruns.load(ordering: .relaxed),
                overrunStorms: overrunStorms.load(ordering: .relaxed),
                latenessP50Microseconds: Double(h.lateness.valueAtPercentile(50)) / 1000,
                latenessP99Microseconds: Double(h.lateness.valueAtPercentile(99)) / 1000,
                latenessP999Microseconds: Double(h.lateness.valueAtPercentile(99.9)) / 1000,
                latenessMaxMicroseconds: Double(h.lateness.max) / 1000,
                durationP50Microseconds: Double(h.duration.valueAtPercentile(50)) / 1000,
                durationP99Microseconds: Double(h.duration.valueAtPercentile(99)) / 1000,
                durationMaxMicroseconds: Double(h.duration.max) / 1000,
                samplesDropped: ring.dropped)
        }
    }

    /// Forgets the histograms (e.g. after warm-up); counters keep counting.
    func resetHistograms() {
        drain()
        histograms.withLock { h in
            h.lateness.reset()
            h.duration.reset()
        }
    }
}
