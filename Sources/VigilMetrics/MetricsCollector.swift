import Synchronization
import Journal
import Kernel
import Runtime

/// Gathers a `MetricsSample` from a running controller and applies it to its exporter; the HTTP
/// server calls `collect()` on each scrape, so the figures are as fresh as the scrape and nothing
/// runs while nobody scrapes. Everything here runs off the cycle thread: a snapshot (seqlock
/// copies), the device traffic boards, the timing ring's drain (which feeds the cycle histograms
/// through the sink) and journal reads (SQLite, its own reader connection).
///
/// Counters that come from the journal count from the collector's start: it begins at the newest
/// event, learner run and model watch state there.
public final class MetricsCollector: Sendable {
    public let exporter: MetricsExporter
    private let controller: Controller
    private let progress: Mutex<Progress>
    /// Set once at start.
    private let startTime: Double?

    struct Progress {
        var tally: EventTally
        var eventCursor: Int64
        var modelUpdateWall: Int64
        var rolledBackBaseline: Int
        var readFailures = 0
    }

    /// Journal events read per page (a busy scrape reads several pages, up to `maxPages`).
    static let pageSize = 1_000
    static let maxPages = 20

    public init(controller: Controller, build: BuildInfo) throws(JournalError) {
        self.controller = controller
        exporter = MetricsExporter(layout: MetricsLayout(plant: controller.plant), build: build)
        let journal = controller.journal
        let cursor = try journal.lastEventID()
        let wall = try journal.modelUpdates(limit: 1).first?.wallNanoseconds ?? 0
        let rolledBack = try journal.modelWatchFigures().filter { $0.state == .rolledBack }.count
        let known = controller.alarms().map { (id: $0.id, state: $0.state) }
        progress = Mutex(Progress(tally: EventTally(groups: controller.plant.redundancyGroups.count, knownAlarms: known),
                                  eventCursor: cursor, modelUpdateWall: wall, rolledBackBaseline: rolledBack))
        startTime = ProcessFigures.startTimeSeconds()
    }

    /// Sends the controller's cycle samples to the exporter's histograms from now on.
    public func attach() {
        let exporter = self.exporter
        controller.setCycleSampleSink { exporter.recordCycle(latenessNanoseconds: $0, durationNanoseconds: $1) }
    }

    /// Stops the cycle samples going to the exporter.
    public func detach() { controller.setCycleSampleSink(nil) }

    /// Moves the cycle samples queued since the last drain into the histograms. The server calls
    /// it every second, so the timing ring never overflows however rarely Prometheus scrapes.
    public func drainCycleSamples() { controller.drainTiming() }

    /// Brings every family up to date and renders the text exposition format.
    public func collect() -> [UInt8] {
        progress.withLock { p in
            controller.drainTiming()
            readJournal(&p)
            let sample = MetricsSample(snapshot: controller.snapshot(timingPercentiles: false), alarms: controller.alarms(),
                                       traffic: controller.deviceTraffic(), tally: p.tally,
                                       modelVersion: controller.policyModelVersion.map(Int.init) ?? 0,
                                       journalQueueDepth: controller.journalQueueDepth,
                                       residentBytes: ProcessFigures.residentBytes(), startTimeSeconds: startTime)
            exporter.apply(sample)
        }
        return exporter.render()
    }

    /// Journal reads that failed (the counters then lag until a read succeeds).
    public var journalReadFailures: Int { progress.withLock { $0.readFailures } }

    private func readJournal(_ p: inout Progress) {
        let journal = controller.journal, codec = controller.codec
        do {
            for _ in 0..<Self.maxPages {
                let page = try journal.events(after: p.eventCursor, kinds: EventTally.kinds, limit: Self.pageSize)
                for stored in page {
                    if let event = stored.event(codec) { p.tally.count(event) }
                    p.eventCursor = stored.id
                }
                if page.count < Self.pageSize { break }
            }
            for update in try journal.modelUpdates(limit: 100).reversed() where update.wallNanoseconds > p.modelUpdateWall {
                switch update.outcome {
                case .accepted: p.tally.modelDeployed += 1
                case .rejected: p.tally.modelRefused += 1
                case .rateLimited: break
                }
                p.modelUpdateWall = update.wallNanoseconds
            }
            let rolledBack = try journal.modelWatchFigures().filter { $0.state == .rolledBack }.count
            p.tally.modelRolledBack = max(p.tally.modelRolledBack, UInt64(max(0, rolledBack - p.rolledBackBaseline)))
        } catch {
            p.readFailures += 1
        }
    }
}
