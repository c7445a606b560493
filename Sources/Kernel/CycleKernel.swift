import VigilCore
import Monitor
import Policy
import Control

/// Why a plant cannot become a kernel.
public enum KernelError: Error, Sendable, Hashable, CustomStringConvertible {
    case control(ControlPlanError)
    case monitor(MonitorConfigurationError)

    public var description: String {
        switch self {
        case .control(let e): return "control configuration: \(e)"
        case .monitor(let e): return "monitor configuration: \(e)"
        }
    }
}

/// What the kernel is built with besides the plant.
public struct KernelOptions: Sendable {
    /// Run the self-healing monitor (and with it sections, the policy model and alarms).
    public var monitor = true
    /// Monitor knobs to use instead of the plant's `monitor:` section (the plant's policy rows still apply).
    public var monitorSettings: MonitorSettings?
    /// The policy model run on every sensor each cycle (nil: none).
    public var policyModel: PolicyModel?
    /// Hand every sensor's features and verdict to a `FeatureTape` about ten times a second of
    /// plant time (the policy service's history; only with a policy model).
    public var featureTape = false
    public var sectionFitting: SectionFitting = .inline

    public init(monitor: Bool = true, monitorSettings: MonitorSettings? = nil, policyModel: PolicyModel? = nil,
                featureTape: Bool = false, sectionFitting: SectionFitting = .inline) {
        self.monitor = monitor
        self.monitorSettings = monitorSettings
        self.policyModel = policyModel
        self.featureTape = featureTape
        self.sectionFitting = sectionFitting
    }
}

/// Facts about the cycle itself that only the front end running it can know.
public struct CycleConditions: Sendable, Hashable {
    /// The previous cycle finished this long after the next cycle's deadline (0: it did not overrun).
    public var previousOverrunNanoseconds: UInt64
    /// The watchdog saw the cycle stall (its outputs were forced safe without the cycle).
    public var watchdogStalled: Bool
    /// The journal lost a safety event: the record of what the plant did is no longer complete.
    public var safetyEventsLost: Bool

    public init(previousOverrunNanoseconds: UInt64 = 0, watchdogStalled: Bool = false, safetyEventsLost: Bool = false) {
        self.previousOverrunNanoseconds = previousOverrunNanoseconds
        self.watchdogStalled = watchdogStalled
        self.safetyEventsLost = safetyEventsLost
    }
}

/// A device repair the monitor decided, for whoever owns the device's link to execute.
public struct DeviceRepairRequest: Sendable, Hashable {
    public var device: Int32
    public var strategy: RepairStrategy
}

/// A ticketed command's result.
public struct CommandReceiptValue: Sendable, Hashable {
    public var ticket: UInt64
    public var result: CommandResult
}

/// One scan cycle's decisions as a pure step: readings, queued commands and the time in; output
/// values, typed events, command receipts and device repair requests out.
///
/// ```
/// readings + GPIO ─► monitor (detectors, health, groups, repairs) → sections → policy model
/// queued commands ─► → alarms, trust, intervention policy → operator commands → control laws
/// plant time ─────► → interlocks → safe-state decision (last word; refuses unsafe commands)
/// ```
///
/// The kernel owns no thread, reads no clock and does no I/O: the real-time runtime, the
/// virtual-time simulator and replay each drive the same kernel, so every decision replays exactly
/// given the same inputs and times. After construction `step` does not allocate (with
/// `.background` section fitting; `.inline` fitting allocates once per section, when it fits).
///
/// Safety invariants live here, whichever front end a command came from: the plant cannot leave
/// safe state while an interlock holds, and no command drives an output held at its safe value.
public final class CycleKernel: @unchecked Sendable {
    public let plant: PlantConfig
    public let names: SubjectTable
    public let periodNanoseconds: UInt64
    public var sensorCount: Int { plant.sensors.count }
    public var outputCount: Int { plant.outputs.count }
    public var groupCount: Int { plant.redundancyGroups.count }
    public var deviceCount: Int { plant.devices.count }

    private var plan: ControlPlan
    /// The self-healing monitor; it runs only when `monitorOn` (a value, not an optional: reaching
    /// into an optional struct on every access copied it).
    private var monitor: PlantMonitor
    private let monitorOn: Bool
    /// Per-section multivariate monitors; nil without `sections:` or without the monitor.
    public let sections: SectionBank?
    private var pendingSectionAlarms: [PendingSectionAlarm]
    /// How long a section's sensor-fault finding waits for the per-sensor monitor before it is an
    /// alarm: longer than the monitor's confirmation (20 samples at the demo's 100 ms poll is 2 s).
    public static let sectionSensorFaultGraceNanoseconds: UInt64 = 3_000_000_000
    private var alarms: AlarmManager
    /// The alarms as last journalled, per storage slot (id 0: empty), to journal every change.
    private var journalledAlarms: [Alarm]
    private var journalledAlarmRevision: UInt64 = 0
    /// The policy model on every sensor (nil without a model or without the monitor).
    public let policyWatch: PolicyWatch?
    private let sensorDeviceIndex: [Int32]
    private var trust = TrustScore()
    private let policy: InterventionPolicy
    private let overrunStormLimit: Int
    private let dtSeconds: Double

    // Per-step state, allocated once.
    private var cycleNumber: UInt64 = 0
    private var now: UInt64 = 0
    private var commanded: [Double]
    private let groupValues: UnsafeMutableBufferPointer<Reading>
    private var eventStorage: [TimedEvent]
    private var eventCount = 0
    /// Events that did not fit this step's buffer, since the start.
    public private(set) var eventsDropped: UInt64 = 0
    private var inbox: [(command: ControllerCommand, ticket: UInt64)]
    private var inboxCount = 0
    private var receiptStorage: [CommandReceiptValue]
    private var receiptCount = 0
    private var repairStorage: [DeviceRepairRequest]
    private var repairCount = 0
    private var consecutiveOverruns = 0
    private var watchdogLatched = false
    private var firstGood = false
    private var firstRound: FirstRound

    /// A stall drill asked for this step (`ControllerCommand.stallCycle`), in ms; 0: none.
    public private(set) var stallRequestMilliseconds = 0
    /// An operator reset of the safe state was accepted this step: the front end releases what it
    /// forced on its own (the watchdog's latch, the output board).
    public private(set) var safeStateResetAccepted = false

    /// Resolves the plant and allocates everything the steps will use.
    public init(plant: PlantConfig, options: KernelOptions = KernelOptions()) throws(KernelError) {
        self.plant = plant
        names = SubjectTable(plant: plant)
        periodNanoseconds = UInt64(max(1, plant.cycle.periodMicroseconds)) * 1000
        dtSeconds = Double(periodNanoseconds) / 1e9
        overrunStormLimit = max(1, plant.cycle.overrunStormLimit)
        do { plan = try ControlPlan(plant: plant) } catch { throw .control(error) }
        do {
            monitor = try PlantMonitor(plant: plant, settings: options.monitorSettings ?? plant.monitor,
                                       policy: InterventionPolicy(settings: plant.monitor))
        } catch { throw .monitor(error) }
        monitorOn = options.monitor
        firstRound = FirstRound(plant: plant)
        policy = options.monitor ? monitor.policy : .defaults
        sections = plant.sections.isEmpty || !options.monitor ? nil : SectionBank(plant: plant, fitting: options.sectionFitting)
        pendingSectionAlarms = [PendingSectionAlarm](repeating: PendingSectionAlarm(), count: plant.sections.count)
        // The tape samples about ten times a second of plant time (every cycle at 100 ms or slower).
        let stride = max(1, 100_000 / max(plant.cycle.periodMicroseconds, 1))
        let period = periodNanoseconds
        policyWatch = !options.monitor ? nil : options.policyModel.map {
            PolicyWatch(model: $0, sensorCount: plant.sensors.count,
                        confirmSamples: Int32(clamping: max(1, (plant.monitor.policyModel.confirmNanoseconds + period - 1) / period)),
                        minMargin: Int16(plant.monitor.policyModel.minMargin),
                        tape: options.featureTape ? FeatureTape(sensors: plant.sensors.count, features: $0.schema.features.count, stride: stride) : nil)
        }
        var sensorDevice: [Int32] = [], sensorGroup: [Int32] = []
        for sensor in plant.sensors {
            if case .point(let device, _) = sensor.source, let d = plant.devices.firstIndex(where: { $0.id == device }) {
                sensorDevice.append(Int32(d))
            } else {
                sensorDevice.append(-1)
            }
            sensorGroup.append(Int32(plant.redundancyGroups.firstIndex { $0.members.contains(sensor.id) } ?? -1))
        }
        sensorDeviceIndex = sensorDevice
        alarms = AlarmManager(topology: AlarmTopology(sensorDevice: sensorDevice, sensorGroup: sensorGroup))
        journalledAlarms = Array(repeating: alarms.blankAlarm, count: alarms.slotCount)
        commanded = plan.makeOutputBuffer()
        groupValues = .allocate(capacity: max(1, plant.redundancyGroups.count))
        groupValues.initialize(repeating: .unread)
        // Room for everything one step can say: the monitor's events, a transition per limit,
        // control and safe-state reason, two per section, every alarm slot changing, every command.
        let capacity = (options.monitor ? monitor.settings.maxEventsPerCycle : 0) + plant.limits.count + plant.controls.count
            + SafeStateReason.allCases.count + 4 * plant.sections.count + 2 * alarms.slotCount + 2 * Self.inboxCapacity
            + plant.sensors.count + 16
        eventStorage = Array(repeating: TimedEvent(plantNanoseconds: 0, cycle: 0, event: .stopped), count: capacity)
        inbox = Array(repeating: (.requestSafeState, 0), count: Self.inboxCapacity)
        receiptStorage = Array(repeating: CommandReceiptValue(ticket: 0, result: .applied), count: Self.inboxCapacity)
        repairStorage = Array(repeating: DeviceRepairRequest(device: -1, strategy: .reconnect), count: max(4, 4 * plant.devices.count))
    }

    deinit { groupValues.deallocate() }

    /// Commands one step takes at most; more wait for the next step.
    public static let inboxCapacity = 64

    // MARK: Driving

    /// The first event of a run (`started`), at plant time `now`. Call once before the first step.
    public func start(nowNanoseconds now: UInt64) {
        self.now = now
        resetOutputs()
        emit(.started(periodNanoseconds: periodNanoseconds))
    }

    /// Queues a command for the next step (its phase 3). Returns false when the inbox is full: the
    /// front end keeps it for the step after. `ticket` (non-zero) asks for a receipt.
    @discardableResult
    public func enqueue(_ command: ControllerCommand, ticket: UInt64 = 0) -> Bool {
        guard inboxCount < inbox.count else { return false }
        inbox[inboxCount] = (command, ticket)
        inboxCount += 1
        return true
    }

    /// Whether the inbox can take another command before the next step.
    public var inboxHasRoom: Bool { inboxCount < inbox.count }

    /// One cycle at plant time `now` with this cycle's sensor readings (plant.sensors order).
    /// Afterwards `outputs`, `events`, `receipts` and `repairRequests` hold its results until the
    /// next step. No allocation (see the type's note on section fitting).
    public func step(nowNanoseconds now: UInt64, sensors: UnsafeBufferPointer<Reading>,
                     conditions: CycleConditions = CycleConditions()) {
        precondition(sensors.count >= sensorCount, "the kernel needs a reading for every sensor")
        self.now = now
        resetOutputs()
        cycleNumber &+= 1

        // The cycle's own health, as the front end measured it.
        if conditions.previousOverrunNanoseconds > 0 {
            consecutiveOverruns += 1
            emit(.overrun(lateNanoseconds: conditions.previousOverrunNanoseconds))
            if consecutiveOverruns == overrunStormLimit {
                plan.enter(.overrunStorm)
                emit(.overrunStorm(consecutive: Int32(consecutiveOverruns)))
            }
        } else {
            consecutiveOverruns = 0
        }
        if conditions.watchdogStalled && !watchdogLatched {
            watchdogLatched = true
            plan.enter(.watchdogStall)
            emit(.watchdogStall)
        }

        // 0. Start-up: until every Modbus sensor has been read once, nothing is judged (and the
        // groups have no value, so the plant stays in its start-up safe state).
        if monitorOn && !firstRound.complete {
            switch firstRound.check(nowNanoseconds: now, sensors: sensors) {
            case nil: break
            case .everyDeviceAnswered(let waited)?: emit(.firstRound(waitedNanoseconds: waited, unread: 0, firstUnread: -1))
            case .deadlinePassed(let waited, let unread, let first)?:
                emit(.firstRound(waitedNanoseconds: waited, unread: unread, firstUnread: first))
            }
        }
        let judging = monitorOn && firstRound.complete

        // 1. The self-healing monitor: detect, diagnose, choose each group's value, plan repairs.
        if judging {
            monitor.observe(cycle: cycleNumber, nowNanoseconds: now, sensors: sensors, groupsOut: groupValues)
            let events = monitor.eventCount
            for k in 0..<events { route(monitor.event(k)) }
            alarms.tick(nowNanoseconds: now)
        }

        // 2. Plant sections: multivariate findings are journalled and alarmed, never acted on.
        if let sections, judging {
            sections.observe(cycle: cycleNumber, nowNanoseconds: now, sensors: sensors,
                             healthy: { monitor.healthState(sensor: Int($0)).isTrusted }) { f in sectionFinding(f) }
            raiseDueSectionAlarms()
        }

        // 3. The policy model: every sensor's features through the int8 network; advisory verdicts.
        if let policyWatch, judging {
            policyWatch.observe(&monitor, nowNanoseconds: now) { sensor, d in
                emit(.modelVerdict(sensor: Int32(sensor), diagnosis: Int32(d.diagnosis), action: Int32(d.action),
                                   logit: Int32(d.diagnosisLogit)))
            }
            // Confident verdicts reach the monitor for the next cycle (used only with
            // `monitor.policy_model.assist`, never for hard faults or safety).
            for i in 0..<policyWatch.sensorCount { monitor.setModelOpinion(sensor: i, policyWatch.opinion(sensor: i)) }
        }

        // 4. Operator commands, at the cycle boundary.
        for k in 0..<inboxCount {
            let (command, ticket) = inbox[k]
            let result = apply(command)
            if ticket != 0 && receiptCount < receiptStorage.count {
                receiptStorage[receiptCount] = CommandReceiptValue(ticket: ticket, result: result)
                receiptCount += 1
            }
        }
        inboxCount = 0
        if conditions.safetyEventsLost && !plan.safeState.reasons.contains(.fatalFault) {
            plan.enter(.fatalFault)
        }

        // 5. Control and safe state: interlocks always have the last word.
        plan.step(inputs: sensors, groups: monitorOn ? UnsafeBufferPointer(groupValues) : nil,
                  dtSeconds: dtSeconds, into: &commanded)
        for t in plan.transitions { emit(Self.event(t)) }
        if !firstGood && !plan.safeState.reasons.contains(.startup) { firstGood = true }

        // 6. Every alarm change this step, for the journal.
        journalAlarmChanges()
    }

    /// The last step of an orderly shutdown: every output safe (`.shutdown`), then `stopped`.
    public func stepShutdown(nowNanoseconds now: UInt64, sensors: UnsafeBufferPointer<Reading>) {
        plan.enter(.shutdown)
        step(nowNanoseconds: now, sensors: sensors)
        emit(.stopped)
    }

    // MARK: Results of the last step (valid until the next step)

    /// Every output's commanded value (plant.outputs order): final, nothing runs after it.
    @inline(__always)
    public func withOutputs<R>(_ body: (UnsafeBufferPointer<Double>) throws -> R) rethrows -> R {
        try commanded.withUnsafeBufferPointer(body)
    }

    /// One output's commanded value.
    @inline(__always)
    public func output(_ index: Int) -> Double { commanded[index] }

    /// This step's events, in the order they happened.
    public var events: ArraySlice<TimedEvent> { eventStorage[0..<eventCount] }

    /// Results of this step's ticketed commands.
    public var receipts: ArraySlice<CommandReceiptValue> { receiptStorage[0..<receiptCount] }

    /// Device repairs decided this step (switch path, slow polling, reconnect), for the link owners.
    public var repairRequests: ArraySlice<DeviceRepairRequest> { repairStorage[0..<repairCount] }

    // MARK: State (any time between steps)

    public var cycle: UInt64 { cycleNumber }
    public var plantNanoseconds: UInt64 { now }
    public var hasMonitor: Bool { monitorOn }
    /// Whether a step has completed with every required input good (start-up safe state left).
    public var hasHadGoodCycle: Bool { firstGood }
    public var safeStateReasons: SafeStateReasons { plan.safeState.reasons }
    public var limitIDs: [String] { plan.limitIDs }
    public func isInterlockTripped(_ limit: Int) -> Bool { plan.interlocks.isTripped(limit) }
    public var anyInterlockTripped: Bool { plan.anyInterlockTripped }
    /// Per group: the value control used (the monitor's choice, held values included).
    public var groups: UnsafeBufferPointer<Reading> { UnsafeBufferPointer(groupValues) }
    public func health(sensor: Int) -> HealthState { monitorOn ? monitor.healthState(sensor: sensor) : .healthy }
    /// The sensor index control follows in a group (−1 without a monitor).
    public func activeSource(group: Int) -> Int { monitorOn ? monitor.activeSource(group: group) : -1 }
    public func operatorSource(group: Int) -> Int? { monitorOn ? monitor.operatorSource(group: group) : nil }
    public func isHolding(group: Int) -> Bool { monitorOn ? monitor.isHolding(group: group) : false }
    public var monitorSettings: MonitorSettings? { monitorOn ? monitor.settings : nil }
    /// Whether the intervention policy latched output `o` at its safe value (until an operator resets).
    public func isOutputLatchedSafe(_ o: Int) -> Bool { plan.safeState.isPolicyForced[o] }
    /// Findings started and not yet ended, as the ledger of this kernel's events would hold them
    /// (allocates: for queries, reports and tests).
    public func openFindings() -> Set<PlantLedger.OpenFinding> {
        var open: Set<PlantLedger.OpenFinding> = []
        guard monitorOn else { return open }
        for i in 0..<sensorCount { for k in monitor.openFindings(sensor: i) { open.insert(.init(subject: .sensor(Int32(i)), kind: k)) } }
        for d in 0..<deviceCount { for k in monitor.openFindings(device: d) { open.insert(.init(subject: .device(Int32(d)), kind: k)) } }
        if let sections {
            for s in 0..<sections.count { for k in sections.openFindings(s) { open.insert(.init(subject: .section(Int32(s)), kind: k)) } }
        }
        return open
    }
    /// Grows with every alarm change.
    public var alarmRevision: UInt64 { alarms.revision }
    public var alarmCapacity: Int { alarms.configuration.capacity }
    public var blankAlarm: Alarm { alarms.blankAlarm }
    public var maximumShelveNanoseconds: UInt64 { alarms.configuration.maximumShelveNanoseconds }
    public var activeAlarmCount: Int { alarms.activeCount }
    public var annunciatedAlarmCount: Int { alarms.annunciatedCount }
    /// Copies every held alarm into `destination` (see `AlarmManager.copyAlarms`). No allocation.
    @discardableResult
    public func copyAlarms(into destination: UnsafeMutableBufferPointer<Alarm>) -> Int { alarms.copyAlarms(into: destination) }
    /// The alarms held now, in console order (allocates).
    public func alarmList(includeCleared: Bool = false) -> [Alarm] { alarms.snapshot(includeCleared: includeCleared) }
    public var trustScore: Double? { trust.report().score }
    /// Overruns in a row, as the front end reported them.
    public var overrunsInARow: Int { consecutiveOverruns }
    public var trustReport: TrustReport { trust.report() }
    public func features(sensor: Int, into out: UnsafeMutableBufferPointer<Float>) {
        if monitorOn { monitor.features(sensor: sensor, into: out) }
    }

    // MARK: Events

    @inline(__always)
    private func emit(_ event: ControllerEvent) {
        guard eventCount < eventStorage.count else {
            eventsDropped &+= 1
            return
        }
        eventStorage[eventCount] = TimedEvent(plantNanoseconds: now, cycle: cycleNumber, event: event)
        eventCount += 1
    }

    private func resetOutputs() {
        eventCount = 0
        receiptCount = 0
        repairCount = 0
        stallRequestMilliseconds = 0
        safeStateResetAccepted = false
    }

    /// A monitor event: journalled, and routed to alarms, trust, repairs and safe outputs.
    private func route(_ e: MonitorEvent) {
        if let event = Self.event(e) { emit(event) }
        switch e.kind {
        case .healthChange where e.toState == .healthy && e.sensor >= 0:
            // The sensor is back in service: its alarm (and its group's) returns to normal.
            _ = alarms.returnToNormal(key: AlarmKey(scope: .sensor, index: e.sensor), nowNanoseconds: now)
            let g = alarms.topology.group(ofSensor: e.sensor)
            if g >= 0 { _ = alarms.returnToNormal(key: AlarmKey(scope: .group, index: g), nowNanoseconds: now) }
        case .repairVerified:
            trust.record(.repairSucceeded)
            if e.device >= 0 { _ = alarms.returnToNormal(key: AlarmKey(scope: .device, index: e.device), nowNanoseconds: now) }
        case .repairFailed: trust.record(.repairFailed)
        case .repair:
            // Device repairs are executed by whoever owns the device's link.
            if e.device >= 0, let strategy = e.strategy, repairCount < repairStorage.count {
                repairStorage[repairCount] = DeviceRepairRequest(device: e.device, strategy: strategy)
                repairCount += 1
            }
        case .escalation:
            trust.record(.humanIntervention)
            let subject = e.sensor >= 0 ? e.sensor : e.device >= 0 ? e.device : e.group
            let finding = e.finding ?? Finding(kind: e.device >= 0 ? .deviceTimeouts : .disagreement, subject: subject,
                                               statistic: 0, threshold: 0, cycle: cycleNumber)
            let cause = e.cause ?? (e.device >= 0 ? .deviceFault : .sensorFault)
            let severity = e.severity ?? .major
            let decision = policy.lookup(cause: cause, kind: finding.kind, severity: severity, reason: e.escalation)
            let group = e.sensor < 0 && e.device < 0 ? e.group : -1
            _ = alarms.raise(AlarmEscalation(finding: finding, cause: cause, severity: severity, reason: e.escalation,
                                             decision: decision, group: group), nowNanoseconds: now)
            if decision == .operatorInterventionAndSafeOutputs { forceSafeOutputs(for: e) }
        default: break
        }
    }

    /// A monitor event as a typed controller event (nil for none).
    static func event(_ e: MonitorEvent) -> ControllerEvent? {
        let target: EventSubject? = e.sensor >= 0 ? .sensor(e.sensor) : e.device >= 0 ? .device(e.device) : e.group >= 0 ? .group(e.group) : nil
        switch e.kind {
        case .detection, .findingCleared:
            guard let finding = e.finding else { return nil }
            let subject: FindingSubject
            switch FindingSubject.subjectCategory(of: finding.kind) {
            case .device: subject = .device(e.device >= 0 ? e.device : finding.subject)
            case .section: subject = .section(finding.subject)
            default: subject = .sensor(e.sensor >= 0 ? e.sensor : finding.subject)
            }
            return e.kind == .detection ? .findingRaised(subject, finding.kind, statistic: finding.statistic, threshold: finding.threshold)
                                        : .findingCleared(subject, finding.kind)
        case .diagnosis:
            guard let target, let cause = e.cause else { return nil }
            return .diagnosis(target, cause, evidence: e.finding?.kind ?? .stuck, statistic: e.finding?.statistic ?? 0,
                              severity: e.severity ?? .major)
        case .healthChange:
            guard e.sensor >= 0, let from = e.fromState, let to = e.toState else { return nil }
            return .healthChanged(sensor: e.sensor, from: from, to: to)
        case .failover:
            return .failover(group: e.group, from: e.fromSensor, to: e.toSensor, byOperator: false)
        case .failback:
            return .failback(group: e.group, from: e.fromSensor, to: e.toSensor)
        case .repair, .repairVerified, .repairFailed:
            guard let target, let strategy = e.strategy else { return nil }
            return .repair(target, strategy, e.kind == .repairVerified ? .verified : e.kind == .repairFailed ? .failed : .started)
        case .escalation:
            guard let target, let reason = e.escalation else { return nil }
            return .escalation(target, reason)
        case .modelAssist:
            guard e.sensor >= 0, let assist = e.modelAssist else { return nil }
            return .modelAssist(sensor: e.sensor, assist, rule: e.finding?.kind ?? .disagreement, statistic: e.finding?.statistic ?? 0)
        }
    }

    /// A control-layer transition as a typed controller event.
    static func event(_ t: ControlTransition) -> ControllerEvent {
        switch t.kind {
        case .safeStateEntered: return .safeStateEntered(SafeStateReason(rawValue: t.code) ?? .fatalFault)
        case .safeStateLeft: return .safeStateLeft(SafeStateReason(rawValue: t.code) ?? .fatalFault)
        case .interlockTripped: return .interlockTripped(limit: t.subject, value: t.value)
        case .interlockCleared: return .interlockCleared(limit: t.subject, value: t.value)
        case .limitCrossed: return .limitCrossed(limit: t.subject, value: t.value)
        case .limitCleared: return .limitCleared(limit: t.subject, value: t.value)
        case .controlHolding: return .controlHolding(control: t.subject, value: t.value)
        case .controlResumed: return .controlResumed(control: t.subject, value: t.value)
        }
    }

    /// The policy said "operator intervention and safe outputs": the outputs the escalation's sensor,
    /// group or device's sensors drive (controls reading them, their interlocks' safe outputs) go to
    /// their safe values and stay there until an operator resets the safe state. No allocation.
    private func forceSafeOutputs(for e: MonitorEvent) {
        var forced = 0
        if e.sensor >= 0 {
            forced += plan.forceSafeOutputs(subject: Int(e.sensor))
        } else if e.group >= 0 {
            forced += plan.forceSafeOutputs(subject: plan.sensorIDs.count + Int(e.group))
        } else if e.device >= 0 {
            for i in sensorDeviceIndex.indices where sensorDeviceIndex[i] == e.device {
                forced += plan.forceSafeOutputs(subject: i)
            }
        }
        guard forced > 0 else { return }
        let subject: EventSubject = e.sensor >= 0 ? .sensor(e.sensor) : e.group >= 0 ? .group(e.group) : .device(e.device)
        emit(.safeOutputsForced(subject, outputs: Int32(forced)))
    }

    // MARK: Sections

    /// A raised section finding: detection (subject = section), diagnosis and a `.section` alarm; a
    /// finding back under its limit is journalled as cleared and returns the alarm to normal. A
    /// sensor fault pinned on a sensor the per-sensor monitor has already taken out of use is
    /// journalled but raises no alarm (`sectionFindingNeedsAnAlarm`).
    private func sectionFinding(_ f: SectionFinding) {
        let finding = Finding(kind: f.kind, subject: f.section, statistic: f.statistic, threshold: f.limit, cycle: cycleNumber)
        let severity: DiagnosisSeverity = .major
        let escalation = AlarmEscalation(finding: finding, cause: f.cause, severity: severity,
                                         decision: policy.lookup(cause: f.cause, kind: f.kind, severity: severity, reason: nil))
        guard f.raised else {
            pendingSectionAlarms[Int(f.section)] = PendingSectionAlarm() // back to normal before its grace ran out
            emit(.findingCleared(.section(f.section), f.kind))
            _ = alarms.returnToNormal(escalation, nowNanoseconds: now)
            return
        }
        emit(.findingRaised(.section(f.section), f.kind, statistic: f.statistic, threshold: f.limit))
        let diagnosed: EventSubject = f.cause == .sensorFault && f.sensor >= 0 ? .sensor(f.sensor) : .section(f.section)
        emit(.diagnosis(diagnosed, f.cause, evidence: f.kind, statistic: f.share, severity: severity))
        let suspectHealth = f.sensor >= 0 && monitorOn ? monitor.healthState(sensor: Int(f.sensor)) : nil
        guard Self.sectionFindingNeedsAnAlarm(cause: f.cause, suspectHealth: suspectHealth) else { return }
        if f.cause == .sensorFault && suspectHealth != nil {
            // The suspect is still in use: give the per-sensor monitor its confirmation time. If it
            // takes the sensor out of use meanwhile, that is the one alarm (or the repair) for it.
            pendingSectionAlarms[Int(f.section)] = PendingSectionAlarm(
                escalation: escalation, sensor: f.sensor, dueNanoseconds: now &+ Self.sectionSensorFaultGraceNanoseconds)
            return
        }
        _ = alarms.raise(escalation, nowNanoseconds: now)
    }

    /// Raises the section sensor-fault alarms whose grace ran out with their suspect still in use;
    /// drops those whose suspect the per-sensor monitor took out of use (no allocation).
    private func raiseDueSectionAlarms() {
        for s in pendingSectionAlarms.indices where pendingSectionAlarms[s].dueNanoseconds != 0 {
            let p = pendingSectionAlarms[s]
            let health = monitorOn ? monitor.healthState(sensor: Int(p.sensor)) : nil
            if !Self.sectionFindingNeedsAnAlarm(cause: .sensorFault, suspectHealth: health) {
                pendingSectionAlarms[s] = PendingSectionAlarm()
            } else if now >= p.dueNanoseconds {
                pendingSectionAlarms[s] = PendingSectionAlarm()
                _ = alarms.raise(p.escalation, nowNanoseconds: now)
            }
        }
    }

    /// Whether a raised section finding is an alarm. A sensor fault the section pins on a sensor
    /// the per-sensor monitor has already taken out of use (faulty, quarantined, on probation) is the
    /// same root cause seen twice: the monitor has handled it (a failover, a hold) or called a human
    /// about it itself, so a second alarm would ask the operator for nothing. An equipment anomaly,
    /// or a sensor fault on a sensor still in use (healthy or merely suspect), is an alarm.
    public static func sectionFindingNeedsAnAlarm(cause: RootCause, suspectHealth: HealthState?) -> Bool {
        guard cause == .sensorFault, let suspectHealth else { return true }
        return suspectHealth == .healthy || suspectHealth == .suspect
    }

    // MARK: Alarms

    /// Journals what changed in the alarm list since the last step: a new alarm, a state change,
    /// shelving, removal. Compares slot by slot, only when the manager's revision moved.
    private func journalAlarmChanges() {
        guard alarms.revision != journalledAlarmRevision else { return }
        journalledAlarmRevision = alarms.revision
        for i in 0..<alarms.slotCount {
            let before = journalledAlarms[i]
            let current = alarms.alarm(inSlot: i)
            if let a = current {
                if before.id != 0 && before.id != a.id { emit(.alarm(Self.change(before, removed: true))) }
                if before.id != a.id || before.state != a.state || before.severity != a.severity || before.isShelved != a.isShelved {
                    emit(.alarm(Self.change(a, removed: false)))
                }
                journalledAlarms[i] = a
            } else if before.id != 0 {
                emit(.alarm(Self.change(before, removed: true)))
                journalledAlarms[i].id = 0
            }
        }
    }

    static func change(_ a: Alarm, removed: Bool) -> AlarmChange {
        AlarmChange(id: a.id, key: a.key, state: a.state, severity: a.severity, shelved: a.isShelved, removed: removed)
    }

    // MARK: Commands

    private func apply(_ command: ControllerCommand) -> CommandResult {
        var result = CommandResult.applied
        switch command {
        case .setMode(let control, let mode):
            guard control >= 0 && control < plan.controlIDs.count else { result = .unknownControl; break }
            plan.setMode(control: control, mode)
        case .setManualOutput(let control, let value):
            guard let output = plan.output(ofControl: control) else { result = .unknownControl; break }
            guard !plan.isHeldSafe(output: output) else { result = .outputHeldSafe; break }
            plan.setManualOutput(control: control, value)
        case .setSetpoint(let control, let value):
            guard control >= 0 && control < plan.controlIDs.count else { result = .unknownControl; break }
            plan.setSetpoint(control: control, value)
        case .requestSafeState:
            plan.enter(.operatorRequest)
        case .resetSafeState:
            // Leaving safe state while an interlock holds would drive outputs the interlock wants safe.
            guard !plan.anyInterlockTripped else { result = .interlockHolds; break }
            for reason in [SafeStateReason.operatorRequest, .watchdogStall, .overrunStorm, .fatalFault] { plan.leave(reason) }
            plan.releasePolicyForcedOutputs()
            watchdogLatched = false
            safeStateResetAccepted = true
        case .stallCycle(let milliseconds):
            stallRequestMilliseconds = milliseconds
        case .acknowledgeAlarm(let id):
            let before = alarms.revision
            do throws(AlarmCommandError) { try alarms.acknowledge(id: id, nowNanoseconds: now) } catch { result = Self.result(error) }
            if result == .applied && alarms.revision == before { result = .unchanged }
        case .shelveAlarm(let id, let seconds):
            do throws(AlarmCommandError) {
                try alarms.shelve(id: id, durationNanoseconds: UInt64(max(0, seconds)) * 1_000_000_000, nowNanoseconds: now)
            } catch { result = Self.result(error) }
        case .unshelveAlarm(let id):
            do throws(AlarmCommandError) { try alarms.unshelve(id: id, nowNanoseconds: now) } catch { result = Self.result(error) }
        case .forceSource(let group, let sensor):
            guard monitorOn else { result = .noMonitor; break }
            do throws(SourceOverrideError) {
                let moved = try monitor.forceSource(group: group, sensor: sensor)
                emit(.failover(group: Int32(group), from: Int32(moved.from), to: Int32(moved.to), byOperator: true))
            } catch {
                switch error {
                case .unknownGroup: result = .unknownGroup
                case .notAMember: result = .notAGroupMember
                case .notUsable: result = .sourceNotUsable
                }
            }
        case .releaseSource(let group):
            guard monitorOn else { result = .noMonitor; break }
            guard group >= 0 && group < monitor.groupCount else { result = .unknownGroup; break }
            result = monitor.releaseSource(group: group) ? .applied : .unchanged
        }
        switch result {
        case .applied: emit(.commandApplied(command.kind))
        case .unchanged: break
        default: emit(.commandRefused(command.kind, result))
        }
        return result
    }

    private static func result(_ error: AlarmCommandError) -> CommandResult {
        switch error {
        case .unknownAlarm: return .unknownAlarm
        case .alarmCleared: return .alarmCleared
        case .safetyAlarmNotShelvable: return .safetyAlarmNotShelvable
        case .shelveDurationTooLong: return .shelveTooLong
        }
    }
}

/// A section's sensor-fault alarm held back while the per-sensor monitor judges its suspect
/// (0 due: none).
struct PendingSectionAlarm {
    var escalation = AlarmEscalation(finding: Finding(kind: .multivariateSPE, subject: -1, statistic: 0, threshold: 0, cycle: 0),
                                     cause: .sensorFault, severity: .major, decision: .operatorIntervention)
    var sensor: Int32 = -1
    var dueNanoseconds: UInt64 = 0
}
