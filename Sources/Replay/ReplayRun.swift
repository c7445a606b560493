import VigilCore
import Monitor
import Kernel
import Policy

/// A recording streamed through the cycle kernel in virtual time.
///
/// The kernel steps at the plant's cycle period from the recording's first row to its last (the
/// last step at or after it). Each step's readings are, per sensor, the latest row value at or
/// before the step's time, stamped with that row's time: the monitor sees a new sample exactly
/// when a new row for the sensor arrived, and a row without a value for it (empty, NaN) leaves its
/// previous reading. Values are `.good` with no latency; a sensor no column feeds stays unread.
/// Plant time starts at `epochNanoseconds` whatever the recording's clock, so a run depends on the
/// plant and the rows alone. Sections fit inline, in the cycle that ends their training.
public final class ReplayRun {
    /// Plant time of the recording's first row.
    public static let epochNanoseconds: UInt64 = 1_000_000_000

    public let plant: PlantConfig
    public let recording: Recording
    public let kernel: CycleKernel
    public let periodNanoseconds: UInt64
    /// Kernel steps the run takes.
    public let stepCount: Int64

    /// The policy model run on every step (nil: the monitor's rules alone).
    public let policyModel: PolicyModel?

    public init(plant: PlantConfig, recording: Recording, policyModel: PolicyModel? = nil) throws(ReplayError) {
        self.plant = plant
        self.recording = recording
        if let policyModel, policyModel.schema.features != SensorFeatures.names {
            throw .modelFeatures(expected: SensorFeatures.names, found: policyModel.schema.features)
        }
        self.policyModel = policyModel
        do throws(KernelError) {
            kernel = try CycleKernel(plant: plant, options: KernelOptions(policyModel: policyModel, sectionFitting: .inline))
        } catch {
            throw .kernel(error)
        }
        periodNanoseconds = kernel.periodNanoseconds
        let period = Int64(periodNanoseconds)
        let span = recording.lastTime - recording.firstTime
        stepCount = span / period + (span % period == 0 ? 1 : 2)
    }

    /// Steps the whole recording, reading its files again row by row as plant time reaches them.
    /// `report` gets every step that brought rows or events; `pacer` (if any) holds each step back
    /// to its share of wall time. Throws `ReplayError.fileChanged` if a file reads differently from when
    /// `Recording.load` checked it.
    public func run(report: ReplayReport? = nil, pacer: ReplayPacer? = nil) throws(ReplayError) -> ReplayResult {
        let clock = SystemMonotonicClock()
        let wallStart = clock.nowNanoseconds()
        let span = (stepCount - 1) &* Int64(periodNanoseconds)
        var merger = try RowMerger(recording: recording, sensorCount: plant.sensors.count, epochNanoseconds: Self.epochNanoseconds,
                                   traceSpanNanoseconds: span)
        let readings = UnsafeBufferPointer(merger.readings)
        var pacer = pacer
        pacer?.start(atWallNanoseconds: wallStart)

        var result = ReplayResult(sectionCount: plant.sections.count)
        result.sectionTraces = plant.sections.map { _ in
            SectionTrace(t2: TraceDecimator(buckets: ReplayPlot.buckets, span: span), spe: TraceDecimator(buckets: ReplayPlot.buckets, span: span))
        }
        let firstTime = recording.firstTime
        let period = Int64(periodNanoseconds)
        let sections = kernel.sections

        kernel.start(nowNanoseconds: Self.epochNanoseconds)
        result.events.append(contentsOf: kernel.events)
        try report?.events(kernel.events, run: self)

        var step: Int64 = 0
        while step < stepCount {
            let elapsed = step &* period
            let arrived = try merger.advance(to: firstTime &+ elapsed)
            let now = Self.epochNanoseconds &+ UInt64(elapsed)
            kernel.step(nowNanoseconds: now, sensors: readings)
            let events = kernel.events
            if !events.isEmpty {
                result.events.append(contentsOf: events)
                try report?.events(events, run: self)
            }
            if let sections {
                for s in 0..<sections.count where result.sectionLiveNanoseconds[s] == nil && sections.isLive(s) {
                    result.sectionLiveNanoseconds[s] = now
                }
            }
            if arrived {
                result.stateRows &+= 1
                if let sections {
                    for s in 0..<sections.count {
                        guard let status = sections.status(s) else { continue }
                        result.sectionTraces[s].t2.add(elapsed, status.t2 / status.t2Limit)
                        result.sectionTraces[s].spe.add(elapsed, status.spe / status.speLimit)
                    }
                }
                try report?.state(atNanoseconds: now, run: self)
            }
            pacer?.wait(plantElapsedNanoseconds: elapsed)
            step &+= 1
        }
        result.steps = step
        result.rowsRead = merger.rowsRead
        result.sensorTraces = merger.sensorTraces
        result.plantNanoseconds = UInt64((step - 1) * period)
        result.wallNanoseconds = clock.nowNanoseconds() &- wallStart
        result.eventsDropped = kernel.eventsDropped
        if let sections { for s in 0..<sections.count { result.trainedSamples[s] = sections.trainedSamples(s) } }
        return result
    }
}

/// What a replay did: counts, timing and every event the kernel returned, in order.
public struct ReplayResult: Sendable {
    public var rowsRead = 0
    public var steps: Int64 = 0
    /// Steps that brought at least one row (rows of `state.csv`).
    public var stateRows = 0
    /// Plant time from the first step to the last.
    public var plantNanoseconds: UInt64 = 0
    /// Wall time of the stepping, which streams the files' rows (their check before not included).
    public var wallNanoseconds: UInt64 = 0
    public var events: [TimedEvent] = []
    public var eventsDropped: UInt64 = 0
    /// Per section: plant time of the first step with its model live (nil: never).
    public var sectionLiveNanoseconds: [UInt64?]
    /// Per section: the samples it trained on (nil: still learning at the end).
    public var trainedSamples: [Int?]
    /// Per section: T² and SPE over their limits, after each step that brought rows, thinned for the plot.
    public var sectionTraces: [SectionTrace] = []
    /// Per fed sensor (index in `plant.sensors`): its recorded values, thinned for the plot.
    public var sensorTraces: [Int: TraceDecimator] = [:]

    init(sectionCount: Int) {
        sectionLiveNanoseconds = Array(repeating: nil, count: sectionCount)
        trainedSamples = Array(repeating: nil, count: sectionCount)
    }

    public var stepsPerSecond: Double { wallNanoseconds > 0 ? Double(steps) / (Double(wallNanoseconds) / 1e9) : 0 }
}

/// A section's statistics over their limits through a run (1: at the limit).
public struct SectionTrace: Sendable {
    public var t2: TraceDecimator
    public var spe: TraceDecimator
}
