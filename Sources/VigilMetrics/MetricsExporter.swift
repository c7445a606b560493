import Synchronization
import Prometheus
import Fieldbus
import Monitor
import Runtime
import VigilCore

/// Everything one scrape reports, gathered off the cycle thread. Pure data: tests build one by hand.
public struct MetricsSample: Sendable {
    public var snapshot: ControllerSnapshot
    public var alarms: [Alarm]
    /// Per device, in `MetricsLayout.deviceIDs` order.
    public var traffic: [DeviceTraffic]
    public var tally: EventTally
    /// The policy model version on the cycle (0: rules only).
    public var modelVersion: Int
    public var journalQueueDepth: Int
    public var residentBytes: Double?
    public var startTimeSeconds: Double?

    public init(snapshot: ControllerSnapshot, alarms: [Alarm], traffic: [DeviceTraffic], tally: EventTally, modelVersion: Int,
                journalQueueDepth: Int, residentBytes: Double? = nil, startTimeSeconds: Double? = nil) {
        self.snapshot = snapshot
        self.alarms = alarms
        self.traffic = traffic
        self.tally = tally
        self.modelVersion = modelVersion
        self.journalQueueDepth = journalQueueDepth
        self.residentBytes = residentBytes
        self.startTimeSeconds = startTimeSeconds
    }
}

/// Vigil's metric families (names, types and labels per docs/METRICS.md) as swift-prometheus
/// collectors in a registry of its own, and the mapping of a `MetricsSample` onto them.
///
/// Handles are made through the registry, not a bootstrapped global `MetricsSystem`: several
/// controllers in one process (tests, the benchmark) each get their own exporter, and each family
/// gets a HELP line (`promtool check metrics` asks for one; swift-metrics' API has no help text).
/// `factory` is there for code that wants swift-metrics handles in the same registry.
public final class MetricsExporter: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory
    public let layout: MetricsLayout

    /// Buckets of the cycle histograms: 10 µs … 1 s.
    public static let cycleBuckets: [Duration] = [
        .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .microseconds(2500), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(100),
        .milliseconds(250), .seconds(1),
    ]

    private let cycleDuration: DurationHistogram
    private let cycleLateness: DurationHistogram
    private let state: Mutex<Handles>

    public init(layout: MetricsLayout, build: BuildInfo) {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        factory = PrometheusMetricsFactory(registry: registry)
        self.layout = layout
        cycleDuration = registry.makeDurationHistogram(descriptor: .vigil("vigil_cycle_duration_seconds", "Compute time of one scan cycle, wake-up to outputs written."), labels: [], buckets: Self.cycleBuckets)
        cycleLateness = registry.makeDurationHistogram(descriptor: .vigil("vigil_cycle_lateness_seconds", "Wake-up lateness of the scan cycle behind its absolute deadline."), labels: [], buckets: Self.cycleBuckets)
        state = Mutex(Handles(registry: registry, layout: layout, build: build))
    }

    /// One cycle's timing (the `Controller.setCycleSampleSink` sink). Thread-safe; never on the cycle thread.
    @Sendable public func recordCycle(latenessNanoseconds: UInt64, durationNanoseconds: UInt64) {
        cycleLateness.recordNanoseconds(Int64(clamping: latenessNanoseconds))
        cycleDuration.recordNanoseconds(Int64(clamping: durationNanoseconds))
    }

    /// Sets every family from `sample`. Counters move by the difference to the last sample.
    public func apply(_ sample: MetricsSample) {
        state.withLock { $0.apply(sample, layout: layout, registry: registry) }
    }

    /// The text exposition format (version 0.0.4) of every family.
    public func render() -> [UInt8] { registry.emitToBuffer() }
}

/// A Prometheus counter set from a running total: it moves by the increase since the last total.
struct TotalCounter {
    let counter: Counter
    var last: UInt64 = 0

    init(_ counter: Counter) { self.counter = counter }

    mutating func set(_ total: UInt64) {
        guard total > last else { return }
        counter.increment(by: Int64(clamping: total - last))
        last = total
    }
}

/// A histogram fed from cumulative fixed-bucket counts and per-bucket sums: each bucket's new
/// observations are recorded at their mean, which lies inside that bucket, so bucket counts and the
/// sum are exact.
struct BucketReplay {
    let histogram: DurationHistogram
    var lastCounts: [UInt64]
    var lastSums: [UInt64]

    init(_ histogram: DurationHistogram, buckets: Int) {
        self.histogram = histogram
        lastCounts = Array(repeating: 0, count: buckets)
        lastSums = Array(repeating: 0, count: buckets)
    }

    mutating func set(counts: some Collection<UInt64>, sums: some Collection<UInt64>) {
        for (b, (count, sum)) in zip(counts, sums).enumerated() where count > lastCounts[b] {
            let n = count - lastCounts[b], s = sum &- lastSums[b]
            let mean = Int64(clamping: s / n), remainder = Int64(clamping: s % n)
            // n observations summing to exactly s: `remainder` of them one nanosecond above the mean.
            for i in 0..<n { histogram.recordNanoseconds(mean + (Int64(i) < remainder ? 1 : 0)) }
            lastCounts[b] = count
            lastSums[b] = sum
        }
    }
}

struct Handles: ~Copyable {
    let period: Gauge
    var cycles: TotalCounter
    var overruns: TotalCounter
    var overrunStorms: TotalCounter
    var watchdogStalls: TotalCounter
    let safeState: Gauge
    let safeStateReasons: [(SafeStateReason, Gauge)]
    let interlocksTripped: Gauge
    let interlockTripped: [Gauge]
    var deviceRequests: [TotalCounter]
    var deviceErrors: [[TotalCounter]]
    var deviceRoundTrip: [BucketReplay]
    let deviceUp: [Gauge]
    let deviceOnBackup: [Gauge]
    let devicePollInterval: [Gauge]
    /// `[sensor][HealthState index]`
    let sensorHealth: [[Gauge]]
    let sensorQualityGood: [Gauge]
    /// `[group][member]`
    let groupActiveSource: [[Gauge]]
    var groupFailovers: [TotalCounter]
    var repairs: [[TotalCounter]]
    /// `[state][priority]`
    let alarms: [[Gauge]]
    var alarmsRaised: [TotalCounter]
    var trust: Gauge?
    let modelVersion: Gauge
    var modelUpdates: [TotalCounter]
    let journalQueueDepth: Gauge
    var journalDropped: TotalCounter
    let resident: Gauge
    let startTime: Gauge

    init(registry r: PrometheusCollectorRegistry, layout l: MetricsLayout, build: BuildInfo) {
        r.makeGauge(descriptor: .vigil("vigil_build_info",
                    "Build identity; always 1."), labels: [("version", build.version), ("swift_version", build.swiftVersion)]).set(to: 1)
        period = r.makeGauge(descriptor: .vigil("vigil_cycle_period_seconds", "Configured scan cycle period."), labels: [])
        period.set(l.periodSeconds)
        func counter(_ name: String, _ labels: [(String, String)], _ help: String) -> TotalCounter {
            TotalCounter(r.makeCounter(descriptor: .vigil(name, help), labels: labels))
        }
        func counter(_ name: String, _ help: String) -> TotalCounter { counter(name, [], help) }
        func gauge(_ name: String, _ labels: [(String, String)], _ help: String) -> Gauge {
            r.makeGauge(descriptor: .vigil(name, help), labels: labels)
        }
        func gauge(_ name: String, _ help: String) -> Gauge { gauge(name, [], help) }
        cycles = counter("vigil_cycles_total", "Completed scan cycles.")
        overruns = counter("vigil_cycle_overruns_total", "Scan cycles that missed their deadline.")
        overrunStorms = counter("vigil_cycle_overrun_storms_total", "Overrun storms (consecutive overruns that force safe state).")
        watchdogStalls = counter("vigil_watchdog_stalls_total", "Stalled cycles caught by the independent watchdog.")
        safeState = gauge("vigil_safe_state", "1 while the outputs are held at their safe values.")
        safeStateReasons = SafeStateReason.allCases.map {
            ($0, gauge("vigil_safe_state_reasons", [("reason", MetricLabels.reason($0))], "1 per active safe-state reason."))
        }
        interlocksTripped = gauge("vigil_interlocks_tripped", "Interlocks tripped now.")
        interlockTripped = l.interlockIDs.map { gauge("vigil_interlock_tripped", [("interlock", $0)], "1 while the interlock is tripped.") }
        deviceRequests = l.deviceIDs.map { counter("vigil_device_requests_total", [("device", $0)], "Modbus requests sent to the device.") }
        deviceErrors = l.deviceIDs.map { d in
            DeviceTraffic.ErrorClass.allCases.map {
                counter("vigil_device_errors_total", [("device", d), ("class", $0.description)], "Failed requests to the device, by class.")
            }
        }
        let rttBuckets = DeviceTraffic.roundTripBoundsNanoseconds.map { Duration.nanoseconds(Int64($0)) }
        deviceRoundTrip = l.deviceIDs.map {
            BucketReplay(r.makeDurationHistogram(descriptor: .vigil("vigil_device_round_trip_seconds", "Round-trip time of answered requests."), labels: [("device", $0)], buckets: rttBuckets),
                         buckets: DeviceTraffic.roundTripBucketCount)
        }
        deviceUp = l.deviceIDs.map { gauge("vigil_device_up", [("device", $0)], "1 when the last request to the device was answered.") }
        deviceOnBackup = l.deviceIDs.map {
            gauge("vigil_device_on_backup_path", [("device", $0)], "1 when the device is reached over its backup gateway or port.")
        }
        devicePollInterval = l.deviceIDs.map {
            gauge("vigil_device_poll_interval_seconds", [("device", $0)], "Poll interval in use (slow polling raises it).")
        }
        sensorHealth = l.sensorIDs.map { s in
            HealthState.allCases.map { gauge("vigil_sensor_health", [("sensor", s), ("state", $0.description)], "Sensor health state set: 1 for the current state.") }
        }
        sensorQualityGood = l.sensorIDs.map { gauge("vigil_sensor_quality_good", [("sensor", $0)], "1 when the sensor's latest reading has good quality.") }
        groupActiveSource = zip(l.groupIDs, l.groupMembers).map { g, members in
            members.map { gauge("vigil_group_active_source", [("group", g), ("sensor", $0)], "1 for the redundancy group's active source.") }
        }
        groupFailovers = l.groupIDs.map { counter("vigil_group_failovers_total", [("group", $0)], "Failovers of the redundancy group.") }
        repairs = RepairStrategy.allCases.map { s in
            ["verified", "failed"].map {
                counter("vigil_repairs_total", [("strategy", MetricLabels.strategy(s)), ("outcome", $0)], "Finished repairs by strategy and outcome.")
            }
        }
        alarms = MetricLabels.alarmStates.map { st in
            DiagnosisSeverity.allCases.map { gauge("vigil_alarms", [("state", st), ("priority", MetricLabels.priority($0))], "Alarms now, by state and priority.") }
        }
        alarmsRaised = DiagnosisSeverity.allCases.map {
            counter("vigil_alarms_raised_total", [("priority", MetricLabels.priority($0))], "Alarms raised, by priority.")
        }
        modelVersion = gauge("vigil_model_version", "Deployed policy model version (0: rules only).")
        modelUpdates = MetricLabels.modelOutcomes.map { counter("vigil_model_updates_total", [("outcome", $0)], "Policy model updates by outcome.") }
        journalQueueDepth = gauge("vigil_journal_queue_depth", "Events waiting for the journal writer.")
        journalDropped = counter("vigil_journal_dropped_total", "Events the journal queue dropped.")
        resident = gauge("process_resident_memory_bytes", "Resident memory size in bytes.")
        startTime = gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.")
    }

    mutating func apply(_ x: MetricsSample, layout l: MetricsLayout, registry: PrometheusCollectorRegistry) {
        let s = x.snapshot
        cycles.set(s.timing.cycles)
        overruns.set(s.timing.overruns)
        overrunStorms.set(s.timing.overrunStorms)
        watchdogStalls.set(UInt64(max(0, s.watchdogStalls)))
        safeState.set(s.inSafeState ? 1.0 : 0.0)
        for (reason, g) in safeStateReasons { g.set(s.safeStateReasons.contains(reason) ? 1.0 : 0.0) }
        interlocksTripped.set(Double(s.trippedInterlocks.count))
        for (i, id) in l.interlockIDs.enumerated() { interlockTripped[i].set(s.trippedInterlocks.contains(id) ? 1.0 : 0.0) }

        for d in l.deviceIDs.indices {
            let t = d < x.traffic.count ? x.traffic[d] : DeviceTraffic()
            deviceRequests[d].set(t.requests)
            for c in DeviceTraffic.ErrorClass.allCases { deviceErrors[d][c.rawValue].set(t.errors(c)) }
            deviceRoundTrip[d].set(counts: (0..<DeviceTraffic.roundTripBucketCount).map { t.roundTripCounts[$0] },
                                   sums: (0..<DeviceTraffic.roundTripBucketCount).map { t.roundTripSumsNanoseconds[$0] })
            deviceUp[d].set(t.lastAnswered ? 1.0 : 0.0)
            if let i = s.deviceIDs.firstIndex(of: l.deviceIDs[d]) {
                deviceOnBackup[d].set(i < s.deviceOnBackup.count && s.deviceOnBackup[i] ? 1.0 : 0.0)
                if i < s.devicePollIntervalsMilliseconds.count { devicePollInterval[d].set(Double(s.devicePollIntervalsMilliseconds[i]) / 1000) }
            }
        }

        for (i, id) in l.sensorIDs.enumerated() {
            guard let k = s.sensorIDs.firstIndex(of: id) else { continue }
            let health = k < s.health.count ? s.health[k] : .healthy
            for (h, state) in HealthState.allCases.enumerated() { sensorHealth[i][h].set(state == health ? 1.0 : 0.0) }
            sensorQualityGood[i].set(k < s.sensors.count && s.sensors[k].quality.isGood ? 1.0 : 0.0)
        }
        for (g, id) in l.groupIDs.enumerated() {
            let active = s.activeSource(id)
            for (m, member) in l.groupMembers[g].enumerated() { groupActiveSource[g][m].set(member == active ? 1.0 : 0.0) }
            if g < x.tally.failovers.count { groupFailovers[g].set(x.tally.failovers[g]) }
        }
        for (i, strategy) in RepairStrategy.allCases.enumerated() {
            repairs[i][0].set(x.tally.repairs(strategy, verified: true))
            repairs[i][1].set(x.tally.repairs(strategy, verified: false))
        }

        var alarmCounts = Array(repeating: Array(repeating: 0, count: DiagnosisSeverity.allCases.count), count: MetricLabels.alarmStates.count)
        for a in x.alarms {
            guard let state = MetricLabels.alarmState(a), let st = MetricLabels.alarmStates.firstIndex(of: state),
                  let p = DiagnosisSeverity.allCases.firstIndex(of: a.severity) else { continue }
            alarmCounts[st][p] += 1
        }
        for st in alarms.indices { for p in alarms[st].indices { alarms[st][p].set(Double(alarmCounts[st][p])) } }
        for (p, priority) in DiagnosisSeverity.allCases.enumerated() { alarmsRaised[p].set(x.tally.alarmsRaised(priority)) }

        if let score = s.trustScore {
            if trust == nil {
                trust = registry.makeGauge(descriptor: .vigil("vigil_trust_score",
                                           "Repair success x 0.7 + (1 - human intervention rate) x 0.3 over the recent window."), labels: [])
            }
            trust?.set(score)
        }
        modelVersion.set(Double(x.modelVersion))
        modelUpdates[0].set(x.tally.modelDeployed)
        modelUpdates[1].set(x.tally.modelRefused)
        modelUpdates[2].set(x.tally.modelRolledBack)
        journalQueueDepth.set(Double(max(0, x.journalQueueDepth)))
        journalDropped.set(UInt64(max(0, s.journalDropped)))
        if let rss = x.residentBytes { resident.set(rss) }
        if let start = x.startTimeSeconds { startTime.set(start) }
    }
}

extension MetricNameDescriptor {
    /// A family's full name and help text (no namespace or unit parts: the names are Vigil's contract).
    static func vigil(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }
}
