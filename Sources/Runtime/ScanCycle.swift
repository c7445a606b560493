import Synchronization
import VigilCore
import Fieldbus
import Control
import Monitor
import Policy
import CRuntime

/// The scan cycle: a dedicated thread that wakes at absolute deadlines and runs
/// read inputs → monitor hook → commands → control and safe state → write outputs → publish.
///
/// Steady state allocates nothing and never waits on the fieldbus: inputs come from the bus
/// scanners' seqlock boards, outputs go to the output board, events to a bounded queue.
final class ScanCycle: @unchecked Sendable {
    /// Where each sensor's reading comes from: a flat index into the Modbus point readings
    /// (≥ 0) or a GPIO sensor (−1 − gpio index).
    private let sensorSource: [Int]
    private let scanners: [BusScanner]
    /// Per plant device: the mailbox of its bus thread, where device repairs are requested.
    let repairChannels: [DeviceRepairChannel?]
    /// Flat point offset of each (scanner, poller).
    private let pointOffset: [[Int]]
    private let gpio: GPIOPlant?
    /// Per plant output: its GPIO output index, or −1 when it is a Modbus output.
    private let gpioOutput: [Int]
    private let outputs: OutputBoard
    private var plan: ControlPlan
    private var monitor: PlantMonitor?
    /// Per-section multivariate monitors (plant `sections:`); nil when there are none.
    let sections: SectionWatch?
    /// Per section: a sensor-fault alarm waiting for the per-sensor monitor's own verdict on its
    /// suspect (`sectionFinding`).
    private var pendingSectionAlarms: [PendingSectionAlarm]
    /// How long a section's sensor-fault finding waits for the per-sensor monitor before it is an
    /// alarm: longer than the monitor's confirmation (20 samples at the demo's 100 ms poll is 2 s).
    static let sectionSensorFaultGraceNanoseconds: UInt64 = 3_000_000_000
    private let sectionSubjectBase: Int32
    /// Escalations become alarms (flood-suppressed); repairs and escalations feed the trust score.
    private var alarms: AlarmManager
    /// The alarm manager's shelving cap, copied at start so other threads can read it.
    let maximumShelveNanoseconds: UInt64
    /// The policy model on the cycle (nil without a model or without the monitor).
    let policyWatch: PolicyWatch?
    /// Per sensor: its device index (-1 for GPIO), to find the outputs a device escalation affects.
    private let sensorDeviceIndex: [Int32]
    private var trust = TrustScore()
    /// The monitor's policy (from the plant's `monitor:` section) decides which escalations are alarms.
    private let policy: InterventionPolicy
    /// Subject index offsets of sensors, devices and groups in the journal's name table.
    private let sensorSubjectBase: Int32
    private let deviceSubjectBase: Int32
    private let groupSubjectBase: Int32
    private let commands: CommandQueue
    let statistics = CycleStatistics()
    let watchdog: Watchdog
    private let emit: (ControllerEvent) -> Void
    /// Safety events the journal queue could not take: losing one is a fatal fault.
    var safetyEventsLost: () -> Int = { 0 }
    let periodNanoseconds: UInt64
    private let overrunStormLimit: Int
    private let realtime: RealtimeConfig
    private let boardCPU: Int?
    /// Offsets of limit and control names in the journal's subject table.
    private let limitSubjectBase: Int32
    private let controlSubjectBase: Int32

    // Published for other threads.
    let sensorBoard: SeqLockBoard<Reading>
    let outputValueBoard: SeqLockBoard<Double>
    /// Per group: the value control uses; per sensor: health state; per group: active source index.
    let groupBoard: SeqLockBoard<Reading>
    let healthBoard: SeqLockBoard<Int32>
    let activeSourceBoard: SeqLockBoard<Int32>
    let statusBoard = SeqLockBoard<CycleStatus>(count: 1, initial: CycleStatus())
    /// Every held alarm (id 0: an empty slot), published when any alarm changed.
    let alarmBoard: SeqLockBoard<Alarm>
    private let alarmScratch: UnsafeMutableBufferPointer<Alarm>
    private var publishedAlarmRevision: UInt64 = .max
    /// Per group: the sensor index an operator put control on, −1 in automatic.
    let operatorSourceBoard: SeqLockBoard<Int32>
    private let operatorScratch: UnsafeMutableBufferPointer<Int32>
    /// Results of ticketed commands, slot `ticket % receiptSlots`.
    let receiptBoard = SeqLockBoard<CommandReceipt>(count: ScanCycle.receiptSlots, initial: CommandReceipt())
    static let receiptSlots = 64
    private let stopRequested = Atomic<Bool>(false)
    /// Monotonic time of cycle 0's start: cycle n's deadline is epoch + (n + 1) × period.
    let epochNanoseconds = Atomic<UInt64>(0)
    private let firstGood = Atomic<Bool>(false)
    private(set) var realtimeWarnings: [String] = []
    /// Reads the calling thread's heap allocation count (set only where an allocation counter is
    /// linked: tests and `vigil bench`). The cycle measures its own allocations with it.
    var allocationCounter: (@convention(c) () -> UInt64)?
    /// Cycles after start before allocations are counted (warm-up: first connections, first events).
    var allocationWarmupCycles: UInt64 = 1000
    /// Allocations on the cycle thread since warm-up, and the cycles they span.
    let steadyStateAllocations = Atomic<UInt64>(0)
    let steadyStateCycles = Atomic<UInt64>(0)
    private var thread: JoinableThread?

    // Cycle-thread state, allocated once.
    private let points: UnsafeMutableBufferPointer<Reading>
    private let sensors: UnsafeMutableBufferPointer<Reading>
    private let groupValues: UnsafeMutableBufferPointer<Reading>
    private let healthScratch: UnsafeMutableBufferPointer<Int32>
    private let activeScratch: UnsafeMutableBufferPointer<Int32>
    private var cycleNumber: UInt64 = 0
    private var commanded: [Double]
    private var lastGPIOWritten: [Double]
    private var consecutiveOverruns = 0
    private var stallRequestMilliseconds = 0

    init(plant: PlantConfig, board: BoardConfig?, scanners: [BusScanner], gpio: GPIOPlant?, outputs: OutputBoard,
         plan: ControlPlan, monitor: PlantMonitor?, commands: CommandQueue, notifier: SystemdNotifier?,
         limitSubjectBase: Int32, controlSubjectBase: Int32, deviceSubjectBase: Int32, sensorSubjectBase: Int32,
         groupSubjectBase: Int32, sectionSubjectBase: Int32 = 0, policyModel: PolicyModel? = nil,
         emit: @escaping (ControllerEvent) -> Void) {
        self.monitor = monitor
        // The tape samples about ten times a second (every cycle when the period is 100 ms or longer).
        let stride = max(1, 100_000 / max(plant.cycle.periodMicroseconds, 1))
        policyWatch = monitor == nil ? nil : policyModel.map {
            PolicyWatch(model: $0, sensorCount: plant.sensors.count, confirmSamples: Int32(plant.monitor.policyModel.confirmCycles),
                        minMargin: Int16(plant.monitor.policyModel.minMargin),
                        tape: FeatureTape(sensors: plant.sensors.count, features: $0.schema.features.count, stride: stride))
        }
        policy = monitor?.policy ?? .defaults
        sections = plant.sections.isEmpty ? nil : SectionWatch(plant: plant)
        pendingSectionAlarms = [PendingSectionAlarm](repeating: PendingSectionAlarm(), count: plant.sections.count)
        self.sectionSubjectBase = sectionSubjectBase
        var sensorDevice: [Int32] = [], sensorGroup: [Int32] = []
        for sensor in plant.sensors {
            if case .point(let device, _) = sensor.source, let d = plant.devices.firstIndex(where: { $0.id == device }) {
                sensorDevice.append(Int32(d))
            } else {
                sensorDevice.append(-1)
            }
            sensorGroup.append(Int32(plant.redundancyGroups.firstIndex { $0.members.contains(sensor.id) } ?? -1))
        }
        alarms = AlarmManager(topology: AlarmTopology(sensorDevice: sensorDevice, sensorGroup: sensorGroup))
        maximumShelveNanoseconds = alarms.configuration.maximumShelveNanoseconds
        let alarmCapacity = alarms.configuration.capacity
        alarmBoard = SeqLockBoard(count: alarmCapacity, initial: alarms.blankAlarm)
        alarmScratch = .allocate(capacity: alarmCapacity)
        alarmScratch.initialize(repeating: alarms.blankAlarm)
        operatorSourceBoard = SeqLockBoard(count: plant.redundancyGroups.count, initial: -1)
        operatorScratch = .allocate(capacity: max(1, plant.redundancyGroups.count))
        operatorScratch.initialize(repeating: -1)
        sensorDeviceIndex = sensorDevice
        self.deviceSubjectBase = deviceSubjectBase
        self.sensorSubjectBase = sensorSubjectBase
        self.groupSubjectBase = groupSubjectBase
        let groupCount = plant.redundancyGroups.count
        groupValues = .allocate(capacity: max(1, groupCount))
        groupValues.initialize(repeating: .unread)
        healthScratch = .allocate(capacity: max(1, plant.sensors.count))
        healthScratch.initialize(repeating: HealthState.healthy.rawValue)
        activeScratch = .allocate(capacity: max(1, groupCount))
        activeScratch.initialize(repeating: -1)
        groupBoard = SeqLockBoard(count: groupCount, initial: .unread)
        healthBoard = SeqLockBoard(count: plant.sensors.count, initial: HealthState.healthy.rawValue)
        activeSourceBoard = SeqLockBoard(count: groupCount, initial: -1)
        self.scanners = scanners
        self.gpio = gpio
        self.outputs = outputs
        self.plan = plan
        self.commands = commands
        self.emit = emit
        self.limitSubjectBase = limitSubjectBase
        self.controlSubjectBase = controlSubjectBase
        periodNanoseconds = UInt64(max(1, plant.cycle.periodMicroseconds)) * 1000
        overrunStormLimit = max(1, plant.cycle.overrunStormLimit)
        realtime = plant.cycle.realtime
        boardCPU = board?.cycleCPU

        // Resolve every sensor to where its reading lands.
        var offsets: [[Int]] = [], flat = 0
        var pointLocation: [String: Int] = [:]
        for scanner in scanners {
            var row: [Int] = []
            for poller in scanner.pollers {
                row.append(flat)
                for (i, point) in poller.device.points.enumerated() { pointLocation["\(poller.device.id)/\(point.id)"] = flat + i }
                flat += poller.device.points.count
            }
            offsets.append(row)
        }
        pointOffset = offsets
        var channels = [DeviceRepairChannel?](repeating: nil, count: plant.devices.count)
        for scanner in scanners {
            for (p, poller) in scanner.pollers.enumerated() {
                if let d = plant.devices.firstIndex(where: { $0.id == poller.device.id }) { channels[d] = scanner.channels[p] }
            }
        }
        repairChannels = channels
        sensorSource = plant.sensors.map { sensor in
            switch sensor.source {
            case .point(let device, let point): return pointLocation["\(device)/\(point)"] ?? Int.min
            case .gpio: return -1 - (gpio?.sensorIDs.firstIndex(of: sensor.id) ?? Int.max - 1)
            }
        }
        gpioOutput = plant.outputs.map { output in gpio?.outputIDs.firstIndex(of: output.id) ?? -1 }
        points = .allocate(capacity: max(1, flat))
        points.initialize(repeating: .unread)
        sensors = .allocate(capacity: max(1, plant.sensors.count))
        sensors.initialize(repeating: .unread)
        commanded = plant.outputs.map(\.safe)
        lastGPIOWritten = Array(repeating: .nan, count: plant.outputs.count)
        sensorBoard = SeqLockBoard(count: plant.sensors.count, initial: .unread)
        outputValueBoard = SeqLockBoard(count: plant.outputs.count, initial: 0)
        watchdog = Watchdog(periodNanoseconds: periodNanoseconds, stallPeriods: plant.cycle.watchdogPeriods,
                            notifier: notifier, onStall: { [outputs] in outputs.forceSafe() })
    }

    deinit {
        points.deallocate()
        sensors.deallocate()
        groupValues.deallocate()
        healthScratch.deallocate()
        activeScratch.deallocate()
    }

    /// Whether the self-healing monitor runs in this cycle.
    var hasMonitor: Bool { monitor != nil }

    /// Whether a cycle has completed with every required input good.
    var hasHadGoodCycle: Bool { firstGood.load(ordering: .acquiring) }

    func start() throws(ThreadStartError) {
        try sections?.start()
        thread = try JoinableThread(name: "vigil-cycle") { [self] in run() }
        try watchdog.start()
    }

    /// Orderly stop: the cycle runs one last time in safe state (`.shutdown`), publishes the safe
    /// values, and ends; then the watchdog stops.
    func stop() {
        stopRequested.store(true, ordering: .releasing)
        thread?.join()
        thread = nil
        sections?.stop()
        watchdog.stop()
    }

    // MARK: The cycle thread

    private func run() {
        realtimeWarnings = RealtimeSetup.apply(realtime, boardCPU: boardCPU)
        let period = periodNanoseconds
        let spin = UInt64(max(0, realtime.spinMicroseconds)) * 1000
        let dtSeconds = Double(period) / 1e9
        let epoch = vigil_rt_monotonic_ns()
        epochNanoseconds.store(epoch, ordering: .releasing)
        var deadline = epoch &+ period
        var cycles: UInt64 = 0
        var allocationBase: UInt64 = 0
        emit(event(.startup, .info, code: Int32(truncatingIfNeeded: period / 1000)))
        while !stopRequested.load(ordering: .acquiring) {
            if spin > 0 {
                vigil_rt_sleep_until(deadline > spin ? deadline - spin : deadline)
                while vigil_rt_monotonic_ns() < deadline {}
            } else {
                vigil_rt_sleep_until(deadline)
            }
            let wake = vigil_rt_monotonic_ns()
            let lateness = wake > deadline ? wake - deadline : 0

            cycle(dtSeconds: dtSeconds)

            let end = vigil_rt_monotonic_ns()
            statistics.ring.push(CycleSample(latenessNanoseconds: lateness, durationNanoseconds: end &- wake))
            statistics.cycles.add(1, ordering: .relaxed)
            watchdog.cycleCompleted()
            cycles &+= 1
            if let counter = allocationCounter {
                if cycles == allocationWarmupCycles { allocationBase = counter() }
                if cycles > allocationWarmupCycles {
                    steadyStateAllocations.store(counter() &- allocationBase, ordering: .relaxed)
                    steadyStateCycles.store(cycles &- allocationWarmupCycles, ordering: .releasing)
                }
            }
            // An overrun: the cycle finished after the next deadline had already passed.
            if end > deadline &+ period {
                statistics.overruns.add(1, ordering: .relaxed)
                consecutiveOverruns += 1
                emit(event(.overrun, .warning, value: Double(end &- deadline) / 1e6))
                if consecutiveOverruns == overrunStormLimit {
                    statistics.overrunStorms.add(1, ordering: .relaxed)
                    plan.enter(.overrunStorm)
                    emit(event(.overrunStorm, .safety, value: Double(consecutiveOverruns)))
                }
            } else {
                consecutiveOverruns = 0
            }
            deadline &+= period
            let now = vigil_rt_monotonic_ns()
            if now >= deadline { // missed ticks are skipped, not run back to back
                deadline = epoch &+ ((now &- epoch) / period &+ 1) &* period
            }
            if stallRequestMilliseconds > 0 { // drill: hang the cycle thread once
                vigil_rt_sleep_until(vigil_rt_monotonic_ns() &+ UInt64(stallRequestMilliseconds) * 1_000_000)
                stallRequestMilliseconds = 0
            }
        }
        // Orderly shutdown: one last cycle in safe state, so every output is commanded safe.
        plan.enter(.shutdown)
        cycle(dtSeconds: dtSeconds)
        outputs.forceSafe()
        emit(event(.shutdown, .safety, code: SafeStateReason.shutdown.rawValue))
    }

    /// One pass of the phases. No allocation, no blocking I/O (GPIO is a syscall per line).
    private func cycle(dtSeconds: Double) {
        // 1. Inputs: the latest readings of every device, then GPIO.
        for (s, scanner) in scanners.enumerated() {
            for p in scanner.readings.indices {
                let board = scanner.readings[p]
                scanner.readings[p].read(into: UnsafeMutableBufferPointer(rebasing: points[pointOffset[s][p]..<(pointOffset[s][p] + board.count)]))
            }
        }
        gpio?.poll()
        for i in sensorSource.indices {
            let source = sensorSource[i]
            if source >= 0 {
                sensors[i] = points[source]
            } else if let gpio, source != Int.min {
                sensors[i] = gpio.reading(at: -1 - source)
            }
        }
        // 2. The self-healing monitor: detect, diagnose, choose each group's value, plan repairs.
        cycleNumber &+= 1
        if monitor != nil {
            monitor!.observe(cycle: cycleNumber, nowNanoseconds: vigil_rt_monotonic_ns(), sensors: UnsafeBufferPointer(sensors),
                             groupsOut: groupValues)
            let now = vigil_rt_monotonic_ns()
            for e in monitor!.events {
                emit(event(for: e))
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
                    // Device repairs are executed by the owning bus thread at its next pass.
                    if e.device >= 0, Int(e.device) < repairChannels.count, let channel = repairChannels[Int(e.device)] {
                        channel.request(channel.bits(for: e.strategy))
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
            alarms.tick(nowNanoseconds: now)
        }
        // 2b. Plant sections: multivariate findings are journalled and alarmed, never acted on.
        if let sections {
            sections.observe(cycle: cycleNumber, sensors: UnsafeBufferPointer(sensors),
                             healthy: { monitor?.healthState(sensor: Int($0)) ?? .healthy == .healthy }) { f in sectionFinding(f) }
            raiseDueSectionAlarms(now: vigil_rt_monotonic_ns())
        }

        // 2c. The policy model: every sensor's features through the int8 network; advisory verdicts.
        if let policyWatch, monitor != nil {
            policyWatch.observe(monitor!) { sensor, d in
                emit(event(.modelVerdict, .info, subject: sensorSubjectBase + Int32(sensor), code: Int32(d.diagnosis),
                           value: Double(d.action), value2: Double(d.diagnosisLogit)))
            }
            // The confident verdicts go to the monitor for the next cycle (used only with
            // `monitor.policy_model.assist`, never for hard faults or safety).
            for i in 0..<policyWatch.sensorCount { monitor!.setModelOpinion(sensor: i, policyWatch.opinion(sensor: i)) }
        }

        // 3. Commands, at the cycle boundary.
        commands.drainIfAvailable { command, ticket in
            let result = apply(command)
            if ticket != 0 {
                receiptBoard.publish(at: Int(ticket % UInt64(Self.receiptSlots)), CommandReceipt(ticket: ticket, result: result.rawValue))
            }
        }
        if safetyEventsLost() > 0 && !plan.safeState.reasons.contains(.fatalFault) {
            plan.enter(.fatalFault) // the record of what the plant did is no longer complete
        }
        if watchdog.isStalled && !plan.safeState.reasons.contains(.watchdogStall) {
            plan.enter(.watchdogStall)
            emit(event(.watchdogStall, .safety))
        }

        // 4. Control and safe state: interlocks always have the last word.
        plan.step(inputs: UnsafeBufferPointer(sensors), groups: monitor == nil ? nil : UnsafeBufferPointer(groupValues),
                  dtSeconds: dtSeconds, into: &commanded)
        for t in plan.transitions {
            let (kind, severity) = t.event
            var subject = t.subject
            switch t.kind {
            case .interlockTripped, .interlockCleared, .limitCrossed, .limitCleared: subject = t.subject >= 0 ? limitSubjectBase + t.subject : -1
            case .controlHolding, .controlResumed: subject = t.subject >= 0 ? controlSubjectBase + t.subject : -1
            case .safeStateEntered, .safeStateLeft: subject = -1
            }
            emit(event(kind, severity, subject: subject, code: t.code, value: t.value))
        }
        if !plan.safeState.reasons.contains(.startup) && !firstGood.load(ordering: .relaxed) {
            firstGood.store(true, ordering: .releasing)
        }

        // 5. Outputs: Modbus through the board (bus threads write), GPIO directly.
        commanded.withUnsafeBufferPointer { outputs.command($0) }
        if let gpio {
            for o in gpioOutput.indices where gpioOutput[o] >= 0 {
                let value = outputs.isForced ? outputs.safeValues[o] : commanded[o]
                if value != lastGPIOWritten[o] {
                    do {
                        try gpio.write(outputAt: gpioOutput[o], value: value != 0)
                        lastGPIOWritten[o] = value
                    } catch {
                        lastGPIOWritten[o] = .nan
                    }
                }
            }
        }

        // 6. Publish.
        sensorBoard.publish(UnsafeBufferPointer(sensors))
        if let monitor {
            groupBoard.publish(UnsafeBufferPointer(groupValues))
            for i in 0..<monitor.sensorCount { healthScratch[i] = monitor.healthState(sensor: i).rawValue }
            for g in 0..<monitor.groupCount { activeScratch[g] = Int32(monitor.activeSource(group: g)) }
            healthBoard.publish(UnsafeBufferPointer(healthScratch))
            activeSourceBoard.publish(UnsafeBufferPointer(activeScratch))
            for g in 0..<monitor.groupCount { operatorScratch[g] = Int32(monitor.operatorSource(group: g) ?? -1) }
            operatorSourceBoard.publish(UnsafeBufferPointer(operatorScratch))
        }
        if alarms.revision != publishedAlarmRevision {
            alarms.copyAlarms(into: alarmScratch)
            alarmBoard.publish(UnsafeBufferPointer(alarmScratch))
            publishedAlarmRevision = alarms.revision
        }
        commanded.withUnsafeBufferPointer { outputValueBoard.publish($0) }
        var tripped: UInt64 = 0
        for i in 0..<min(64, plan.limitIDs.count) where plan.interlocks.isTripped(i) { tripped |= 1 << UInt64(i) }
        statusBoard.publish(at: 0, CycleStatus(cycle: statistics.cycles.load(ordering: .relaxed), safeStateBits: plan.safeState.reasons.bits,
                                               interlocksTripped: tripped, consecutiveOverruns: UInt32(consecutiveOverruns),
                                               firstGoodCycle: firstGood.load(ordering: .relaxed),
                                               activeAlarms: Int32(alarms.activeCount), annunciatedAlarms: Int32(alarms.annunciatedCount),
                                               trustScore: trust.report().score ?? .nan))
    }

    /// A raised section finding: detection (subject = section), diagnosis and a `.section` alarm; a
    /// finding back under its limit returns the alarm to normal. A sensor fault pinned on a sensor the
    /// per-sensor monitor has already taken out of use is journalled but raises no alarm
    /// (`sectionFindingNeedsAnAlarm`).
    /// Diagnosis: subject = the section for an equipment anomaly / process excursion, the suspected
    /// sensor for a sensor fault; code = RootCause, value = FindingKind, value2 = the suspect's SPE share.
    private func sectionFinding(_ f: SectionFinding) {
        let section = sectionSubjectBase + f.section
        let now = vigil_rt_monotonic_ns()
        let finding = Finding(kind: f.kind, subject: f.section, statistic: f.statistic, threshold: f.limit, cycle: cycleNumber)
        let severity: DiagnosisSeverity = .major
        let escalation = AlarmEscalation(finding: finding, cause: f.cause, severity: severity,
                                         decision: policy.lookup(cause: f.cause, kind: f.kind, severity: severity, reason: nil))
        guard f.raised else {
            pendingSectionAlarms[Int(f.section)] = PendingSectionAlarm() // back to normal before its grace ran out
            _ = alarms.returnToNormal(escalation, nowNanoseconds: now)
            return
        }
        emit(event(.detection, .warning, subject: section, code: f.kind.rawValue, value: f.statistic, value2: f.limit))
        let diagnosed = f.cause == .sensorFault && f.sensor >= 0 ? sensorSubjectBase + f.sensor : section
        emit(event(.diagnosis, .warning, subject: diagnosed, code: f.cause.rawValue, value: Double(f.kind.rawValue), value2: f.share))
        let suspectHealth = f.sensor >= 0 ? monitor?.healthState(sensor: Int(f.sensor)) : nil
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
    private func raiseDueSectionAlarms(now: UInt64) {
        for s in pendingSectionAlarms.indices where pendingSectionAlarms[s].dueNanoseconds != 0 {
            let p = pendingSectionAlarms[s]
            let health = monitor?.healthState(sensor: Int(p.sensor))
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
    static func sectionFindingNeedsAnAlarm(cause: RootCause, suspectHealth: HealthState?) -> Bool {
        guard cause == .sensorFault, let suspectHealth else { return true }
        return suspectHealth == .healthy || suspectHealth == .suspect
    }

    private func apply(_ command: ControllerCommand) -> CommandResult {
        let now = vigil_rt_monotonic_ns()
        var result = CommandResult.applied
        switch command {
        case .setMode(let control, let mode): plan.setMode(control: control, mode)
        case .setManualOutput(let control, let value): plan.setManualOutput(control: control, value)
        case .setSetpoint(let control, let value): plan.setSetpoint(control: control, value)
        case .requestSafeState: plan.enter(.operatorRequest)
        case .resetSafeState:
            for reason in [SafeStateReason.operatorRequest, .watchdogStall, .overrunStorm, .fatalFault] { plan.leave(reason) }
            plan.releasePolicyForcedOutputs()
            if watchdog.isStalled { watchdog.clearStall() }
            outputs.release()
        case .stallCycle(let milliseconds): stallRequestMilliseconds = milliseconds
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
            guard monitor != nil else { result = .noMonitor; break }
            do throws(SourceOverrideError) {
                let moved = try monitor!.forceSource(group: group, sensor: sensor)
                emit(event(.failover, .warning, subject: groupSubjectBase + Int32(group), code: Int32(moved.from), value: Double(moved.to),
                           value2: Self.operatorMarker))
            } catch {
                switch error {
                case .unknownGroup: result = .unknownGroup
                case .notAMember: result = .notAGroupMember
                case .notUsable: result = .sourceNotUsable
                }
            }
        case .releaseSource(let group):
            guard monitor != nil else { result = .noMonitor; break }
            guard group >= 0 && group < monitor!.groupCount else { result = .unknownGroup; break }
            result = monitor!.releaseSource(group: group) ? .applied : .unchanged
        }
        if result == .applied { emit(event(.commandApplied, .info)) }
        return result
    }

    /// `value2` of a failover event an operator commanded (automatic ones carry 0).
    static let operatorMarker = 1.0

    private static func result(_ error: AlarmCommandError) -> CommandResult {
        switch error {
        case .unknownAlarm: return .unknownAlarm
        case .alarmCleared: return .alarmCleared
        case .safetyAlarmNotShelvable: return .safetyAlarmNotShelvable
        case .shelveDurationTooLong: return .shelveTooLong
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
        let subject = e.sensor >= 0 ? sensorSubjectBase + e.sensor : e.group >= 0 ? groupSubjectBase + e.group : deviceSubjectBase + e.device
        emit(event(.safeOutputsForced, .safety, subject: subject, code: Int32(forced)))
    }

    /// A monitor event as the journal records it (see docs/ARCHITECTURE.md for the encoding).
    private func event(for e: MonitorEvent) -> ControllerEvent {
        let sensorSubject = e.sensor >= 0 ? sensorSubjectBase + e.sensor : -1
        let deviceSubject = e.device >= 0 ? deviceSubjectBase + e.device : -1
        let groupSubject = e.group >= 0 ? groupSubjectBase + e.group : -1
        let target = sensorSubject >= 0 ? sensorSubject : deviceSubject >= 0 ? deviceSubject : groupSubject
        switch e.kind {
        case .detection:
            return event(.detection, .info, subject: target, code: e.finding?.kind.rawValue ?? 0,
                         value: e.finding?.statistic ?? 0, value2: e.finding?.threshold ?? 0)
        case .diagnosis:
            let severity: EventSeverity = e.severity == .safety ? .alarm : .warning
            return event(.diagnosis, severity, subject: target, code: e.cause?.rawValue ?? 0,
                         value: Double(e.finding?.kind.rawValue ?? 0), value2: e.finding?.statistic ?? 0)
        case .healthChange:
            return event(.healthChanged, e.toState == .faulty || e.toState == .quarantined ? .warning : .info, subject: sensorSubject,
                         code: e.toState?.rawValue ?? 0, value: Double(e.fromState?.rawValue ?? 0))
        case .failover:
            return event(.failover, .warning, subject: groupSubject, code: e.fromSensor, value: Double(e.toSensor))
        case .failback:
            return event(.failback, .info, subject: groupSubject, code: e.fromSensor, value: Double(e.toSensor))
        case .repair, .repairVerified, .repairFailed:
            let verified: Double = e.kind == .repairVerified ? 1 : e.kind == .repairFailed ? -1 : 0
            return event(.repair, e.kind == .repairFailed ? .alarm : .info, subject: target, code: e.strategy?.rawValue ?? 0, value: verified)
        case .escalation:
            return event(.escalation, .alarm, subject: target, code: e.escalation?.rawValue ?? 0)
        case .modelAssist:
            return event(.modelAssist, .info, subject: target, code: e.modelAssist?.rawValue ?? 0,
                         value: Double(e.finding?.kind.rawValue ?? 0), value2: e.finding?.statistic ?? 0)
        }
    }

    @inline(__always)
    private func event(_ kind: EventKind, _ severity: EventSeverity, subject: Int32 = -1, code: Int32 = 0,
                       value: Double = 0, value2: Double = 0) -> ControllerEvent {
        ControllerEvent(kind: kind, severity: severity, wallNanoseconds: vigil_rt_realtime_ns(),
                        monotonicNanoseconds: vigil_rt_monotonic_ns(), subject: subject, code: code, value: value, value2: value2)
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
