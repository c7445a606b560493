import VigilCore

// The self-healing monitor, as the runtime uses it:
//
//     var monitor = try PlantMonitor(plant: plant, tuning: MonitorTuning())    // at start: allocates everything
//     // every cycle, on the cycle thread (no allocation, deterministic given cycle, time and readings):
//     monitor.observe(cycle: n, nowNanoseconds: t,
//                     sensors: readings,      // UnsafeBufferPointer<Reading>, plant.sensors order
//                     groupsOut: groupValues) // UnsafeMutableBufferPointer<Reading>, plant.redundancyGroups order
//     for e in monitor.events { queue.push(e) }  // this cycle's MonitorEvents (valid until the next observe)
//     monitor.healthState(sensor:), activeSource(group:), preferredBackup(group:), repairRecord(_:)
//
// Per cycle: (1) sensor detectors on every new sample (a reading is new when its timestamp moved;
// devices poll slower than the cycle), dropout on every cycle; (2) device detectors and device/bus
// faults; (3) per group: residual to the consensus (drift, disagreement), "stuck while peers move",
// process excursion (all members move together and agree: their rate/spike findings are dropped),
// attribution of a disagreement to the odd one out; (4) health state machines; (5) redundancy:
// failover, failback after probation, the value control gets; (6) repair verification.
//
// What control gets per group (`groupsOut`):
//   • ≥ `midValueSelectMinMembers` usable members: their median (mid-value select; one wrong member
//     of three cannot move it, even before it is detected), quality good;
//   • else the active source's value (the Hampel median when its raw value was a spike);
//   • else, for a cycle in which the active source's reading is unusable but not yet confirmed
//     faulty, the first usable member in preference order (a substitute, not a failover);
//   • else the last good value with quality `.stale(age)` for up to `holdMaxNanoseconds`
//     (repair `holdLastGood`, escalation `noHealthySource`);
//   • after that `.bad(.notYetRead)`: control sees a bad subject and its interlocks trip fail-safe
//     (repair `groupSafeAction`).
// "Usable" = health healthy or suspect, latest reading good and not flagged as a hard fault.
//
// Nothing here is random, so no seed is needed: the same inputs give the same events.

/// Errors found while resolving a plant for the monitor.
/// Why an operator's choice of a group's source was refused.
public enum SourceOverrideError: Error, Sendable, Hashable {
    case unknownGroup
    case notAMember
    /// The member is out of use (its health state, or no good reading).
    case notUsable(HealthState)
}

public enum MonitorConfigurationError: Error, Sendable, Hashable {
    case unknownGroupMember(group: String, sensor: String)
    case unknownDevice(sensor: String, device: String)
    case emptyGroup(group: String)
}

/// Detectors, diagnosis, health states, redundancy and repairs for one plant. See the top of this file.
public struct PlantMonitor: Sendable {
    public let sensorCount: Int
    public let deviceCount: Int
    public let groupCount: Int
    public let tuning: MonitorTuning
    /// Decides, per diagnosis, between an automatic repair and an escalation (`interventionPolicy`).
    public let policy: InterventionPolicy

    // Plant resolved to indices.
    private let sensorDevice: [Int]
    private let sensorGroup: [Int]
    private let deviceBus: [Int]
    private let busDeviceCount: [Int]
    /// Whether a fault of this device alone is repaired by switching to its backup path.
    private let deviceSwitchesAlone: [Bool]
    /// Per device: the slow-polling ceiling (`max_poll_interval_ms`), in ns.
    private let devicePollCeilingNanoseconds: [UInt64]
    private let groupStart: [Int]
    private let groupSize: [Int]
    private let members: [Int]

    // Sensors.
    private var detectors: [SensorDetector]
    private var residuals: [ResidualDetector]
    private var steps: [StepLocator]
    private var bits: [FindingBits]
    private var previousBits: [FindingBits]
    private var fresh: [Bool]
    private var health: [HealthState]
    private var score: [Int]
    private var cleanRun: [Int]
    private var oddOneOut: [Bool]
    private var history: [Double]
    private var firstSeen: [UInt64]
    private var sensorDiagnoses: [Diagnosis?]
    private var sawConfigError: [Bool]
    /// The policy sent this sensor's fault to an operator: its group does not fail over from it
    /// (control still never uses it: the group's other usable members carry the value).
    private var repairDeclined: [Bool]
    /// Out of use because its device stopped answering (its confirmed fault was diagnosed as the
    /// device's): see `MonitorTuning.deviceRecoverySamples`.
    private var deviceOutage: [Bool]
    /// The policy model's confident verdict per sensor (`ModelDiagnosis` raw value; −1: none), and
    /// the samples a soft finding of this episode has been held back for.
    private var opinion: [Int8]
    private var suppressed: [Int]
    /// The finding kind held back (its rule's evidence, for the confirmation the bound forces).
    private var suppressedKind: [FindingKind]
    /// Per sensor in no redundancy group: the operator call its confirmed fault is waiting to make
    /// (`MonitorTuning.noBackupConfirmNanoseconds`).
    private var noBackupCall: [NoBackupCall]
    /// Per sensor: when a spike, rate or range finding last started.
    private var lastFaultStart: [UInt64]

    // Devices and buses.
    private var devices: [DeviceWatch]
    private var tallies: [DeviceTally]
    private var newlyFaulted: [Bool]
    private var deviceDiagnoses: [Diagnosis?]
    private var busFaulted: [Bool]

    // Groups.
    private var active: [Int]
    private var preferred: [Int]
    private var lastGoodOut: [Reading]
    private var holding: [Bool]
    private var failedSafe: [Bool]
    private var verifySlot: [Int]
    /// Per group: the member slot an operator put control on (`forceSource`), −1 in automatic.
    private var operatorSlot: [Int]
    private var verifyRemaining: [Int]
    /// `tuning.repairVerifyNanoseconds` and `excursionQuietNanoseconds` in cycles of the plant's period.
    private let repairVerifyCycles: Int
    private let excursionQuietCycles: Int
    private var excursion: [Bool]
    private var excursionQuiet: [Int]
    private var unresolved: [Bool]
    /// Per group: samples both pair members brought while their disagreement stayed undecided. The
    /// step test needs `StepLocator.minimumSide` samples after a jump before it can blame anyone, so
    /// the pair escalates only after that many more.
    private var pairUndecidedSamples: [Int]
    /// Per group: the model attributed this disagreement episode (journalled once).
    private var modelResolved: [Bool]
    private var scratch: [Double]
    private var scratchSlot: [Int]

    private var repairs: [RepairRecord]
    private var emit: EventFactory
    private var cycle: UInt64 = 0
    private var lastNowNanoseconds: UInt64 = 0

    /// Resolves the plant to indices and allocates every array the cycle will use.
    public init(plant: PlantConfig, tuning: MonitorTuning = MonitorTuning(),
                policy: InterventionPolicy = .defaults) throws(MonitorConfigurationError) {
        self.tuning = tuning
        self.policy = policy
        sensorCount = plant.sensors.count
        deviceCount = plant.devices.count
        groupCount = plant.redundancyGroups.count
        let cycleNanoseconds = UInt64(max(plant.cycle.periodMicroseconds, 1)) * 1_000
        repairVerifyCycles = max(1, Int((tuning.repairVerifyNanoseconds + cycleNanoseconds - 1) / cycleNanoseconds))
        excursionQuietCycles = max(1, Int(tuning.excursionQuietNanoseconds / cycleNanoseconds))

        var busKeys: [String] = []
        var deviceBus: [Int] = []
        for d in plant.devices {
            let key: String
            switch d.transport {
            case .tcp(let host, _): key = "tcp:" + host
            case .rtu(let s): key = "rtu:" + s.port
            }
            if let i = busKeys.firstIndex(of: key) { deviceBus.append(i) } else { busKeys.append(key); deviceBus.append(busKeys.count - 1) }
        }
        self.deviceBus = deviceBus
        // A TCP device with a second gateway switches to it alone; a serial line switches only as a
        // whole (alone when it has one device).
        devicePollCeilingNanoseconds = plant.devices.map { UInt64(max($0.pollIntervalCeilingMilliseconds, 0)) * 1_000_000 }
        let counts = busKeys.indices.map { b in deviceBus.filter { $0 == b }.count }
        deviceSwitchesAlone = plant.devices.enumerated().map { d, device in
            switch device.backup {
            case .tcp?: return true
            case .rtu?: return counts[deviceBus[d]] == 1
            case nil: return false
            }
        }
        busDeviceCount = (0..<busKeys.count).map { b in deviceBus.filter { $0 == b }.count }

        var sensorDevice: [Int] = []
        var detectors: [SensorDetector] = []
        for s in plant.sensors {
            let t = tuning.tuning(forSensor: s.id)
            switch s.source {
            case .point(let device, _):
                guard let d = plant.devices.firstIndex(where: { $0.id == device }) else {
                    throw .unknownDevice(sensor: s.id, device: device)
                }
                sensorDevice.append(d)
                let poll = UInt64(max(plant.devices[d].pollIntervalMilliseconds, 0)) * 1_000_000
                detectors.append(SensorDetector(tuning: t, rangeMin: s.rangeMin, rangeMax: s.rangeMax,
                                                discrete: false, expectedIntervalNanoseconds: max(poll, cycleNanoseconds)))
            case .gpio:
                sensorDevice.append(-1)
                detectors.append(SensorDetector(tuning: t, rangeMin: s.rangeMin, rangeMax: s.rangeMax,
                                                discrete: true, expectedIntervalNanoseconds: cycleNanoseconds))
            }
        }
        self.sensorDevice = sensorDevice
        self.detectors = detectors

        var sensorGroup = [Int](repeating: -1, count: sensorCount)
        var groupStart: [Int] = []
        var groupSize: [Int] = []
        var members: [Int] = []
        for (g, group) in plant.redundancyGroups.enumerated() {
            guard !group.members.isEmpty else { throw .emptyGroup(group: group.id) }
            groupStart.append(members.count)
            groupSize.append(group.members.count)
            for id in group.members {
                guard let i = plant.sensors.firstIndex(where: { $0.id == id }) else {
                    throw .unknownGroupMember(group: group.id, sensor: id)
                }
                members.append(i)
                sensorGroup[i] = g
            }
        }
        self.sensorGroup = sensorGroup
        self.groupStart = groupStart
        self.groupSize = groupSize
        self.members = members

        let n = sensorCount
        residuals = [ResidualDetector](repeating: ResidualDetector(), count: n)
        steps = [StepLocator](repeating: StepLocator(), count: n)
        bits = [FindingBits](repeating: 0, count: n)
        previousBits = [FindingBits](repeating: 0, count: n)
        fresh = [Bool](repeating: false, count: n)
        health = [HealthState](repeating: .healthy, count: n)
        score = [Int](repeating: 0, count: n)
        cleanRun = [Int](repeating: 0, count: n)
        oddOneOut = [Bool](repeating: false, count: n)
        history = [Double](repeating: 0, count: n)
        firstSeen = [UInt64](repeating: 0, count: n)
        sensorDiagnoses = [Diagnosis?](repeating: nil, count: n)
        // Every array gets its own buffer: two arrays sharing one until the first write would copy
        // (allocate) on the cycle thread at that write, which may come hours into a run.
        sawConfigError = [Bool](repeating: false, count: n)
        repairDeclined = [Bool](repeating: false, count: n)
        deviceOutage = [Bool](repeating: false, count: n)
        opinion = [Int8](repeating: -1, count: n)
        suppressed = [Int](repeating: 0, count: n)
        suppressedKind = [FindingKind](repeating: .noise, count: n)
        noBackupCall = [NoBackupCall](repeating: NoBackupCall(), count: n)
        lastFaultStart = [UInt64](repeating: 0, count: n)

        devices = [DeviceWatch](repeating: DeviceWatch(), count: deviceCount)
        tallies = [DeviceTally](repeating: DeviceTally(), count: deviceCount)
        newlyFaulted = [Bool](repeating: false, count: deviceCount)
        deviceDiagnoses = [Diagnosis?](repeating: nil, count: deviceCount)
        busFaulted = [Bool](repeating: false, count: busKeys.count)

        let g = groupCount
        active = [Int](repeating: 0, count: g)
        preferred = [Int](repeating: -1, count: g)
        lastGoodOut = [Reading](repeating: .unread, count: g)
        holding = [Bool](repeating: false, count: g)
        failedSafe = [Bool](repeating: false, count: g)
        verifySlot = [Int](repeating: -1, count: g)
        operatorSlot = [Int](repeating: -1, count: g)
        verifyRemaining = [Int](repeating: 0, count: g)
        excursion = [Bool](repeating: false, count: g)
        excursionQuiet = [Int](repeating: 0, count: g)
        unresolved = [Bool](repeating: false, count: g)
        pairUndecidedSamples = Array(repeating: 0, count: holding.count)
        modelResolved = [Bool](repeating: false, count: g)
        let largest = max(groupSize.max() ?? 1, 1)
        scratch = [Double](repeating: 0, count: largest)
        scratchSlot = [Int](repeating: 0, count: largest)

        repairs = [RepairRecord](repeating: RepairRecord(), count: RepairStrategy.allCases.count + 1)
        emit = EventFactory(capacity: tuning.maxEventsPerCycle, sensorGroup: sensorGroup)
    }

    // MARK: Queries

    /// This cycle's events (valid until the next `observe`).
    public var events: ArraySlice<MonitorEvent> { emit.buffer.events }
    /// How many events this cycle has (`event(k)` reads one without copying the list).
    public var eventCount: Int { emit.buffer.count }
    @inline(__always)
    public func event(_ k: Int) -> MonitorEvent { emit.buffer.storage[k] }
    /// Events that did not fit in `maxEventsPerCycle`, since the start.
    public var droppedEvents: UInt64 { emit.buffer.dropped }
    /// Health of a sensor (index into plant.sensors).
    public func healthState(sensor: Int) -> HealthState { health[sensor] }
    /// The policy model's confident verdict on a sensor for the next `observe` (nil: none). Used only
    /// with `tuning.modelAssist`; never for hard faults, device faults or safety. No allocation.
    public mutating func setModelOpinion(sensor: Int, _ diagnosis: ModelDiagnosis?) {
        opinion[sensor] = diagnosis?.rawValue ?? -1
    }

    /// Whether a sensor's detectors have seen their warm-up samples (before that its features, and
    /// what a model makes of them, describe a sensor nobody knows yet). A discrete point (GPIO, 0/1)
    /// has no warm-up.
    public func isWarmedUp(sensor: Int) -> Bool { detectors[sensor].warmedUp || detectors[sensor].discrete }
    /// Sensor index control follows in a group (the median is used instead with ≥ 3 usable members).
    public func activeSource(group: Int) -> Int { members[groupStart[group] + active[group]] }
    /// The backup that proved itself in a verified failover, chosen first next time; nil before.
    public func preferredBackup(group: Int) -> Int? {
        preferred[group] < 0 ? nil : members[groupStart[group] + preferred[group]]
    }
    /// The sensor an operator put a group's control on, nil in automatic.
    public func operatorSource(group: Int) -> Int? {
        operatorSlot[group] < 0 ? nil : members[groupStart[group] + operatorSlot[group]]
    }
    /// True while a group outputs its held last good value or its bad safe-action value.
    public func isHolding(group: Int) -> Bool { holding[group] || failedSafe[group] }
    /// Attempts and outcomes of a repair strategy since the start.
    public func repairRecord(_ strategy: RepairStrategy) -> RepairRecord { repairs[Int(strategy.rawValue)] }
    /// verified / decided for a strategy; nil before any outcome.
    public func repairSuccessRate(_ strategy: RepairStrategy) -> Double? { repairs[Int(strategy.rawValue)].successRate }
    /// The last diagnosis of a sensor (kept as evidence until the next one).
    public func diagnosis(sensor: Int) -> Diagnosis? { sensorDiagnoses[sensor] }
    /// The last diagnosis of a device (device or bus fault).
    public func diagnosis(device: Int) -> Diagnosis? { deviceDiagnoses[device] }

    /// The finding kinds on a sensor journalled as started and not yet ended (allocates: for
    /// queries and tests, not the cycle).
    public func openFindings(sensor i: Int) -> [FindingKind] {
        (1...9).compactMap { raw in previousBits[i] & (1 << FindingBits(raw)) & FindingBits.sensorKinds != 0 ? FindingKind(rawValue: Int32(raw)) : nil }
    }

    /// The finding kinds on a device journalled as started and not yet ended (allocates).
    public func openFindings(device d: Int) -> [FindingKind] {
        Self.deviceKinds.filter { devices[d].flags & DeviceWatch.bit($0) != 0 }
    }

    /// The policy model's input for one sensor (`SensorFeatures`), from the state the last `observe`
    /// left. Runs on the cycle thread for every sensor: no allocation, no lock. Mutating only to
    /// keep the sensor's step score until its next sample (the score is the costly feature).
    public mutating func features(sensor i: Int, into out: UnsafeMutableBufferPointer<Float>) {
        var peers = 0
        var coMovement = 0.0
        let g = sensorGroup[i]
        if g >= 0 {
            // The group's co-movement: the smallest recent shift of its usable members when all
            // moved the same way (a process excursion moves everyone; a faulty member moves alone).
            var lo = Double.infinity, hi = -Double.infinity, usable = 0
            for s in 0..<groupSize[g] {
                let j = members[groupStart[g] + s]
                if j != i && isPeer(j) { peers += 1 }
                guard isUsable(j) else { continue }
                let m = detectors[j].motionSigmas
                lo = min(lo, m)
                hi = max(hi, m)
                usable += 1
            }
            if usable >= 2 { coMovement = lo > 0 ? lo : hi < 0 ? -hi : 0 }
        }
        let context = SensorFeatures.Context(
            nowNanoseconds: lastNowNanoseconds, peers: peers, coMovement: coMovement,
            stepScore: steps[i].stepScore(noiseSigma: detectors[i].noiseSigma), pairStepSigmas: tuning.pairStepSigmas,
            history: history[i], health: health[i])
        SensorFeatures.write(detectors[i], residuals[i], context, into: out)
    }

    // MARK: Operator overrides (between observes, at a cycle boundary; no allocation)

    /// An operator puts a group's control on one member: it becomes the active source and control
    /// follows its value alone (no mid-value select, no automatic failover or failback) until
    /// `releaseSource`, or until the member stops being usable (faulty, quarantined, no good
    /// reading), when the group returns to automatic by itself. Returns the sensor indices moved
    /// from and to.
    public mutating func forceSource(group g: Int, sensor: Int) throws(SourceOverrideError) -> (from: Int, to: Int) {
        guard g >= 0 && g < groupCount else { throw .unknownGroup }
        let start = groupStart[g]
        var slot = -1
        for s in 0..<groupSize[g] where members[start + s] == sensor { slot = s }
        guard slot >= 0 else { throw .notAMember }
        guard isUsable(sensor) else { throw .notUsable(health[sensor]) }
        let from = members[start + active[g]]
        if verifySlot[g] >= 0 && verifySlot[g] != slot { verifySlot[g] = -1 } // the operator's choice ends the verification
        operatorSlot[g] = slot
        active[g] = slot
        return (from, sensor)
    }

    /// Back to automatic source selection; false when the group was in automatic already.
    @discardableResult
    public mutating func releaseSource(group g: Int) -> Bool {
        guard g >= 0 && g < groupCount, operatorSlot[g] >= 0 else { return false }
        operatorSlot[g] = -1
        return true
    }

    // MARK: The cycle

    /// Runs every detector on this cycle's readings and writes each group's value for control.
    public mutating func observe(cycle: UInt64, nowNanoseconds now: UInt64,
                                 sensors: UnsafeBufferPointer<Reading>, groupsOut: UnsafeMutableBufferPointer<Reading>) {
        precondition(sensors.count >= sensorCount && groupsOut.count >= groupCount)
        self.cycle = cycle
        lastNowNanoseconds = now
        emit.begin(cycle: cycle)

        // A fault confirmed last cycle has been acted on: the sensor is now out of use.
        for i in 0..<sensorCount where health[i] == .faulty {
            setHealth(i, .quarantined)
            residuals[i].clearStatistics()
        }

        // (1) Sensor detectors.
        for d in 0..<deviceCount { tallies[d] = DeviceTally() }
        for i in 0..<sensorCount {
            let r = sensors[i]
            if detectors[i].isNew(r) {
                fresh[i] = true
                bits[i] = detectors[i].sample(r, nowNanoseconds: now)
                // Pairs use the series to break a tie; every sensor's step score is a policy-model feature.
                if r.quality == .good && r.value.isFinite && !detectors[i].discrete {
                    steps[i].push(r.value)
                }
                if sensorDevice[i] >= 0 { tallies[sensorDevice[i]].add(r) }
            } else {
                fresh[i] = false
                bits[i] = detectors[i].checkDropout(nowNanoseconds: now)
            }
            oddOneOut[i] = false
        }

        // (2) Devices and buses.
        observeDevices(now: now)

        // (3) Group-level findings.
        for g in 0..<groupCount { observeGroupFindings(g, now: now) }

        // A stuck run is its own confirmation (its length already bounds false alarms).
        for i in 0..<sensorCount where bits[i] & .bit(.stuck) != 0 {
            bits[i] |= .hardConfirmed
            detectors[i].usable = false
        }

        // (4) Health.
        for i in 0..<sensorCount {
            emitDetections(i)
            if fresh[i] || bits[i] != 0 { updateHealth(i) }
        }
        callOperatorsForSensorsWithoutBackup()

        // (5) Redundancy and (6) repair verification.
        for g in 0..<groupCount { selectSource(g, now: now, out: &groupsOut[g]) }
    }

    // MARK: Devices

    private mutating func observeDevices(now: UInt64) {
        for d in 0..<deviceCount {
            newlyFaulted[d] = false
            let t = tallies[d]
            guard t.newSamples > 0 else { continue }
            let before = devices[d].flags
            defer { emitClearedDeviceFindings(d, before: before) }
            var evidence: (kind: FindingKind, stat: Double, limit: Double)?
            let f = devices[d].update(t, tuning: tuning, evidence: &evidence)
            for kind in Self.deviceKinds {
                let b = DeviceWatch.bit(kind)
                if f & b != 0 && before & b == 0 {
                    emit.deviceDetection(d, kind, statistic: evidence?.kind == kind ? evidence!.stat : 0,
                                         threshold: evidence?.kind == kind ? evidence!.limit : 0)
                }
            }
            if !devices[d].faulted && devices[d].allBadRun >= tuning.deviceFaultSamples {
                devices[d].faulted = true
                newlyFaulted[d] = true
                let ev: (kind: FindingKind, stat: Double, limit: Double)
                if let evidence {
                    ev = evidence
                } else {
                    // Every point bad before any per-kind threshold: the device fault is itself the
                    // detection, named after what its bad samples were.
                    let run = devices[d].allBadRunEvidence
                    ev = (run.kind, Double(devices[d].allBadRun), Double(tuning.deviceFaultSamples))
                    devices[d].faultKind = run.kind
                    let b = DeviceWatch.bit(run.kind)
                    if f & b == 0 {
                        devices[d].flags |= b
                        emit.deviceDetection(d, run.kind, statistic: ev.stat, threshold: ev.limit)
                    }
                }
                deviceDiagnoses[d] = Diagnosis(cause: .deviceFault, severity: .major,
                                               evidence: emit.finding(ev.kind, subject: d, statistic: ev.stat, threshold: ev.limit),
                                               firstSeenCycle: cycle, decidedCycle: cycle)
            } else if devices[d].faulted && t.good > 0 {
                devices[d].faulted = false
                devices[d].faultKind = nil
                busFaulted[deviceBus[d]] = false
            }
            // Struggling but alive: ask for slower polling once.
            if !devices[d].faulted && !devices[d].slowPollingRequested && devices[d].repair == nil
                && (devices[d].timeoutShare > tuning.deviceTimeoutRatioForSlowPolling || f & DeviceWatch.bit(.deviceLatencyTrend) != 0) {
                devices[d].slowPollingRequested = true
                let kind: FindingKind = f & DeviceWatch.bit(.deviceLatencyTrend) != 0 ? .deviceLatencyTrend : .deviceTimeouts
                let decision = policy.lookup(cause: .deviceFault, kind: kind, severity: .minor)
                if decision == .automaticRepair {
                    startDeviceRepair(d, .slowPolling, now: now)
                } else {
                    emit.policyEscalation(sensor: -1, device: d, cause: .deviceFault, severity: .minor,
                                     finding: emit.finding(kind, subject: d, statistic: devices[d].timeoutShare,
                                                           threshold: tuning.deviceTimeoutRatioForSlowPolling))
                }
            }
            verifyDeviceRepair(d, tally: t, now: now)
        }
        // A bus (serial line or gateway host) is at fault when every device on it is: one diagnosis, not one per device.
        for d in 0..<deviceCount where newlyFaulted[d] {
            let b = deviceBus[d]
            var allOnBus = busDeviceCount[b] >= 2 && !busFaulted[b]
            if allOnBus {
                for o in 0..<deviceCount where deviceBus[o] == b && !devices[o].faulted { allOnBus = false }
            }
            if allOnBus {
                busFaulted[b] = true
                var first = true
                for o in 0..<deviceCount where deviceBus[o] == b {
                    newlyFaulted[o] = false
                    deviceDiagnoses[o]?.cause = .busFault
                    // A device already switching (it died a cycle before the rest of its bus) is not
                    // switched again: that would send it back to the path just left.
                    let switching = devices[o].repair == .switchToBackupGateway
                    if first, let diag = deviceDiagnoses[o] {
                        emit.diagnosis(diag, sensor: -1, device: o)
                        if !switching {
                            if policy.lookup(cause: diag.cause, kind: diag.evidence.kind, severity: diag.severity) == .automaticRepair {
                                startDeviceRepair(o, .switchToBackupGateway, now: now)
                            } else {
                                emit.policyEscalation(sensor: -1, device: o, cause: diag.cause, severity: diag.severity, finding: diag.evidence)
                            }
                        }
                        first = false
                    } else if deviceSwitchesAlone[o] && !switching {
                        startDeviceRepair(o, .switchToBackupGateway, now: now) // each TCP device has its own connection
                    }
                }
            }
        }
        for d in 0..<deviceCount where newlyFaulted[d] {
            guard let diag = deviceDiagnoses[d] else { continue }
            emit.diagnosis(diag, sensor: -1, device: d)
            // A dead device makes slower polling moot: drop it (neither verified nor failed) so the
            // fault gets its own repair (it would otherwise "verify" on a dead device and block it).
            if devices[d].repair == .slowPolling { devices[d].repair = nil }
            if policy.lookup(cause: diag.cause, kind: diag.evidence.kind, severity: diag.severity) != .automaticRepair {
                emit.policyEscalation(sensor: -1, device: d, cause: diag.cause, severity: diag.severity, finding: diag.evidence)
            } else if devices[d].repair == nil {
                startDeviceRepair(d, deviceSwitchesAlone[d] ? .switchToBackupGateway : .reconnect, now: now)
            } else if devices[d].repair == .switchToBackupGateway && deviceSwitchesAlone[d] {
                // The path switched to answered, then died before the switch was verified: that switch
                // failed (escalated like any failed repair); switch again, back to the other path.
                failDeviceRepair(d, .switchToBackupGateway)
                startDeviceRepair(d, .switchToBackupGateway, now: now)
            }
        }
    }

    /// Return to normal of the device findings that were firing before this cycle's update.
    private mutating func emitClearedDeviceFindings(_ d: Int, before: UInt32) {
        let falling = before & ~devices[d].flags
        guard falling != 0 else { return }
        for kind in Self.deviceKinds where falling & DeviceWatch.bit(kind) != 0 {
            emit.deviceFindingCleared(d, kind)
        }
    }

    private mutating func failDeviceRepair(_ d: Int, _ strategy: RepairStrategy) {
        repairs[Int(strategy.rawValue)].failed += 1
        devices[d].repair = nil
        emit.deviceRepairFailed(d, strategy)
    }

    private static let deviceKinds: [FindingKind] = [.deviceTimeouts, .deviceExceptions, .deviceCRCErrors, .deviceDisconnected, .deviceLatencyTrend]

    private mutating func startDeviceRepair(_ d: Int, _ strategy: RepairStrategy, now: UInt64) {
        if strategy == .slowPolling {
            // The bus thread doubles the device's interval (up to its ceiling): judge dropouts of its
            // sensors against that rate, or slower polling would look like readings stopping.
            for i in 0..<sensorCount where sensorDevice[i] == d {
                detectors[i].expectedIntervalNanoseconds = min(detectors[i].expectedIntervalNanoseconds &* 2,
                                                               max(devicePollCeilingNanoseconds[d], detectors[i].expectedIntervalNanoseconds))
            }
        }
        devices[d].repair = strategy
        devices[d].repairStartNanoseconds = now
        devices[d].repairGoodRun = 0
        repairs[Int(strategy.rawValue)].attempted += 1
        emit.deviceRepair(d, strategy)
    }

    private mutating func verifyDeviceRepair(_ d: Int, tally t: DeviceTally, now: UInt64) {
        guard let strategy = devices[d].repair else { return }
        let healthy: Bool
        if strategy == .slowPolling {
            healthy = devices[d].timeoutShare < tuning.deviceTimeoutRatioForSlowPolling / 2 && devices[d].flags & DeviceWatch.bit(.deviceLatencyTrend) == 0
        } else {
            healthy = t.good > 0 && t.good == t.newSamples
        }
        devices[d].repairGoodRun = healthy ? devices[d].repairGoodRun + 1 : 0
        if devices[d].repairGoodRun >= 10 {
            repairs[Int(strategy.rawValue)].verified += 1
            devices[d].repair = nil
            emit.deviceRepairVerified(d, strategy)
        } else if now - devices[d].repairStartNanoseconds > tuning.deviceRepairVerifyNanoseconds {
            failDeviceRepair(d, strategy)
        }
    }

    // MARK: Groups: consensus, excursion, attribution

    private func isUsable(_ i: Int) -> Bool {
        (health[i] == .healthy || health[i] == .suspect) && detectors[i].usable && detectors[i].hasSample
            && bits[i] & .hardConfirmed == 0
    }

    private mutating func observeGroupFindings(_ g: Int, now: UInt64) {
        let start = groupStart[g], size = groupSize[g]
        guard size >= 2 else { return }

        // Process excursion: every usable member moves fast (rate or spike) and they agree.
        var usableCount = 0, moving = 0
        var lo = Double.infinity, hi = -Double.infinity, floor = Double.infinity
        var movingLo = Double.infinity, movingHi = -Double.infinity
        for s in 0..<size {
            let i = members[start + s]
            let allowsPeerUse = (health[i] == .healthy || health[i] == .suspect) && detectors[i].hasSample
                && bits[i] & (FindingBits.bit(.outOfRange) | .bit(.dropout) | .bit(.stuck)) == 0 && detectors[i].usable || (bits[i] & .bit(.spike) != 0 && bits[i] & (FindingBits.bit(.outOfRange) | .bit(.dropout)) == 0 && detectors[i].hasSample && (health[i] == .healthy || health[i] == .suspect))
            guard allowsPeerUse else { continue }
            usableCount += 1
            let recent = 3 * detectors[i].expectedIntervalNanoseconds
            if bits[i] & (FindingBits.bit(.rateOfChange) | .bit(.spike)) != 0
                || (detectors[i].lastRateTimestamp > 0 && now &- detectors[i].lastRateTimestamp <= recent) {
                moving += 1
                movingLo = min(movingLo, detectors[i].lastGoodValue)
                movingHi = max(movingHi, detectors[i].lastGoodValue)
            }
            lo = min(lo, detectors[i].lastGoodValue)
            hi = max(hi, detectors[i].lastGoodValue)
            floor = min(floor, detectors[i].tuning.disagreementFractionOfSpan * detectors[i].span)
        }
        // Members on different devices see a real step a few polls apart: while at least two of
        // them have moved and agree, their jump is the process, not a fault (2 out of 3 outvote
        // the one still showing the old value, which catches up or is judged by disagreement).
        if usableCount >= 3 && moving >= 2 && moving < usableCount && movingHi - movingLo <= floor {
            for s in 0..<size {
                let i = members[start + s]
                if bits[i] & (FindingBits.bit(.rateOfChange) | .bit(.spike)) != 0 {
                    bits[i] &= ~(FindingBits.bit(.rateOfChange) | .bit(.spike) | .bit(.noise) | .hardConfirmed)
                    if bits[i] & (FindingBits.bit(.outOfRange) | .bit(.dropout)) == 0 {
                        detectors[i].value = detectors[i].lastGoodValue
                        detectors[i].usable = true
                    }
                }
            }
        }
        if usableCount >= 2 && moving == usableCount && hi - lo <= floor {
            for s in 0..<size {
                let i = members[start + s]
                // Moving together also shakes the difference statistics: the noise finding goes too.
                bits[i] &= ~FindingBits.bit(.noise)
                if bits[i] & (FindingBits.bit(.rateOfChange) | .bit(.spike)) != 0 {
                    bits[i] &= ~(FindingBits.bit(.rateOfChange) | .bit(.spike) | .hardConfirmed)
                    if bits[i] & (FindingBits.bit(.outOfRange) | .bit(.dropout)) == 0 {
                        detectors[i].value = detectors[i].lastGoodValue
                        detectors[i].usable = true
                    }
                }
            }
            excursionQuiet[g] = 0
            if !excursion[g] {
                excursion[g] = true
                let i = members[start + active[g]]
                let rate = Int(FindingKind.rateOfChange.rawValue)
                emit.processExcursion(group: g, evidence: emit.finding(.rateOfChange, subject: i, statistic: detectors[i].statistic[rate],
                                                                       threshold: detectors[i].threshold[rate]))
            }
        } else if excursion[g] {
            excursionQuiet[g] += 1
            if excursionQuiet[g] > excursionQuietCycles { excursion[g] = false }
        }

        // Residuals to the median of the other usable members.
        for s in 0..<size {
            let i = members[start + s]
            if fresh[i] { residuals[i].lastResidual = .nan }
            guard fresh[i], detectors[i].usable, !detectors[i].discrete else { continue }
            var n = 0
            var peersMoved = false
            for p in 0..<size where p != s {
                let j = members[start + p]
                guard isPeer(j) else { continue }
                scratch[n] = detectors[j].value
                n += 1
                if detectors[j].lastMoved > detectors[i].lastMoved { peersMoved = true }
            }
            // Stuck only counts while the peers move.
            if bits[i] & .bit(.stuck) != 0 && n > 0 && !peersMoved { bits[i] &= ~FindingBits.bit(.stuck) }
            let consensus = n > 0 ? median(n) : .nan
            // A quantized, quiet sensor repeats innocently in bursts longer than its learned run
            // length. With peers, its run counts as stuck only once they have left its frozen value
            // behind by more than two quantization steps (or the noise): a stuck sensor is caught as
            // soon as the process moves, a healthy one within a count of its peers is acquitted and
            // its run remembered. Alone (its peers out of service), it must outlast twice its learned
            // run length and twice the longest run its peers acquitted: a quantized signal's repeats
            // come in correlated bursts, longer than the warm-up's repeat rate predicts. The same
            // holds on probation, or a recovered sensor would bounce back to faulty on a quiet spell.
            if bits[i] & .bit(.stuck) != 0 && detectors[i].repeatsWhenHealthy
                && (health[i] == .healthy || health[i] == .suspect || health[i] == .probation) {
                if n > 0 {
                    let offset = residuals[i].learned ? residuals[i].mean : 0
                    let gap = abs(detectors[i].lastGoodValue - consensus - offset)
                    let quantum = detectors[i].quantum.isFinite ? detectors[i].quantum : 0
                    if gap <= 2 * max(quantum, detectors[i].noiseSigma) + 2 * residuals[i].variance.squareRoot() {
                        bits[i] &= ~FindingBits.bit(.stuck)
                        detectors[i].acquitRun()
                    }
                } else if detectors[i].stuckRun < 2 * max(detectors[i].acquittedRun, detectors[i].stuckNeeded) {
                    bits[i] &= ~FindingBits.bit(.stuck)
                }
            }
            guard n > 0 else { continue }
            if residuals[i].peerCount != n { residuals[i].restart(peers: n) }
            bits[i] |= residuals[i].update(residual: detectors[i].value - consensus, tuning: detectors[i].tuning,
                                           span: detectors[i].span, adapt: health[i] == .healthy, detector: &detectors[i])
        }

        // Attribution: the member furthest from consensus is the odd one out; the others were only
        // pulled by it. A pair cannot tell who is wrong without more evidence.
        let both = FindingBits.bit(.disagreement) | .bit(.drift)
        var worst = -1, worstScore = 0.0, flagged = 0
        for s in 0..<size {
            let i = members[start + s]
            guard bits[i] & both != 0 else { continue }
            flagged += 1
            let sc = max(residuals[i].disagreementScore, residuals[i].driftScore)
            if sc > worstScore { worstScore = sc; worst = i }
        }
        guard flagged > 0 else { unresolved[g] = false; pairUndecidedSamples[g] = 0; modelResolved[g] = false; return }
        var peers = 0
        for s in 0..<size where isPeer(members[start + s]) { peers += 1 }
        if peers >= 3 {
            for s in 0..<size {
                let i = members[start + s]
                if i != worst && bits[i] & both != 0 && max(residuals[i].disagreementScore, residuals[i].driftScore) < 0.75 * worstScore {
                    bits[i] &= ~both
                }
            }
            oddOneOut[worst] = bits[worst] & .bit(.disagreement) != 0
        } else {
            // Pair: blame the member with the worse record (findings history, implausible motion).
            var a = -1, b = -1
            for s in 0..<size where bits[members[start + s]] & both != 0 || isPeer(members[start + s]) {
                if a < 0 { a = members[start + s] } else if b < 0 { b = members[start + s] }
            }
            guard a >= 0, b >= 0 else { return }
            let ha = history[a] + (bits[a] & .bit(.rateOfChange) != 0 ? 2 : 0)
            let hb = history[b] + (bits[b] & .bit(.rateOfChange) != 0 ? 2 : 0)
            // Physical plausibility: the member whose own series stepped, while the other's did not.
            let sa = steps[a].stepScore(noiseSigma: detectors[a].noiseSigma)
            let sb = steps[b].stepScore(noiseSigma: detectors[b].noiseSigma)
            let stepped = tuning.pairStepSigmas
            if sa >= stepped && sb <= tuning.pairSmoothSigmas && sa >= 2 * sb {
                bits[b] &= ~both
            } else if sb >= stepped && sa <= tuning.pairSmoothSigmas && sb >= 2 * sa {
                bits[a] &= ~both
            } else if abs(ha - hb) >= 1 {
                let innocent = ha > hb ? b : a
                bits[innocent] &= ~both
            } else if let innocent = modelAttributes(a, b) {
                bits[innocent] &= ~both
                if !modelResolved[g] { // journalled once per disagreement episode
                    modelResolved[g] = true
                    emit.resolvedPair(group: g, blamed: innocent == a ? b : a, score: worstScore)
                }
            } else {
                for s in 0..<size { bits[members[start + s]] &= ~both }
                if fresh[a] && fresh[b] { pairUndecidedSamples[g] += 1 }
                if !unresolved[g] && pairUndecidedSamples[g] > StepLocator.minimumSide + 1 {
                    unresolved[g] = true
                    emit.unresolvedDisagreement(group: g, worst: worst, score: worstScore)
                }
            }
        }
    }

    /// With the model assisting: the innocent member of a disagreeing pair when the model confidently
    /// calls exactly one of them faulty and the other healthy; nil otherwise (the pair escalates).
    private func modelAttributes(_ a: Int, _ b: Int) -> Int? {
        guard tuning.modelAssist, opinion[a] >= 0, opinion[b] >= 0,
              let da = ModelDiagnosis(rawValue: opinion[a]), let db = ModelDiagnosis(rawValue: opinion[b]) else { return nil }
        if da.isSensorFault && db == .healthy { return b }
        if db.isSensorFault && da == .healthy { return a }
        return nil
    }

    /// Whether another member of sensor `i`'s group is healthy and usable (false without a group).
    private func groupHasHealthyMember(besides i: Int) -> Bool {
        let g = sensorGroup[i]
        guard g >= 0 else { return false }
        for s in 0..<groupSize[g] where members[groupStart[g] + s] != i {
            let j = members[groupStart[g] + s]
            if health[j] == .healthy && isUsable(j) { return true }
        }
        return false
    }

    private func isPeer(_ j: Int) -> Bool {
        (health[j] == .healthy || health[j] == .suspect) && detectors[j].usable && detectors[j].hasSample && detectors[j].value.isFinite
    }

    /// Median of scratch[0..<n] (insertion sort in place).
    private mutating func median(_ n: Int) -> Double {
        var i = 1
        while i < n {
            let x = scratch[i]
            var j = i - 1
            while j >= 0 && scratch[j] > x { scratch[j + 1] = scratch[j]; j -= 1 }
            scratch[j + 1] = x
            i += 1
        }
        return n % 2 == 1 ? scratch[n / 2] : (scratch[n / 2 - 1] + scratch[n / 2]) / 2
    }

    // MARK: Health

    /// Detections for the kinds that started firing on sensor `i`, and their return to normal for
    /// those that stopped. A sensor's findings are judged on its samples: between two samples (a
    /// device polled slower than the cycle) only a dropout can start or end; the rest stand as the
    /// last sample left them.
    private mutating func emitDetections(_ i: Int) {
        let dropout = FindingBits.bit(.dropout)
        let current = (fresh[i] ? bits[i] : previousBits[i] & ~dropout | bits[i] & dropout) & FindingBits.sensorKinds
        let rising = current & ~previousBits[i]
        let falling = previousBits[i] & ~current
        previousBits[i] = current
        guard rising | falling != 0 else { return }
        if rising & (FindingBits.bit(.spike) | .bit(.rateOfChange) | .bit(.outOfRange)) != 0 { lastFaultStart[i] = lastNowNanoseconds }
        for raw in 1...9 where (rising | falling) & (1 << FindingBits(raw)) != 0 {
            emit.sensorFinding(i, emit.finding(FindingKind(rawValue: Int32(raw))!, subject: i,
                                               statistic: detectors[i].statistic[raw], threshold: detectors[i].threshold[raw]),
                               started: rising & (1 << FindingBits(raw)) != 0)
        }
    }

    private mutating func updateHealth(_ i: Int) {
        let b = bits[i]
        if b & .configError != 0 { sawConfigError[i] = true }
        let hard = b & .hardConfirmed != 0
        // A single spike is filtered, not a fault; latency belongs to the device.
        let soft = b & FindingBits.sensorKinds & ~(FindingBits.bit(.spike) | .bit(.latency)) != 0
        let anything = hard || soft
        if fresh[i] {
            history[i] *= 0.999
            if b & FindingBits.sensorKinds & ~(FindingBits.bit(.drift) | .bit(.disagreement) | .bit(.latency)) != 0 { history[i] += 1 }
        }
        switch health[i] {
        case .healthy:
            if hard { confirmFault(i) } else if soft {
                firstSeen[i] = cycle
                score[i] = 1
                cleanRun[i] = 0
                setHealth(i, .suspect)
            }
        case .suspect:
            if hard { confirmFault(i); break }
            if soft {
                score[i] += 1
                cleanRun[i] = 0
                let needed = oddOneOut[i] ? tuning.confirmSamplesOddOneOut : tuning.confirmSamples
                if score[i] >= needed {
                    if holdsBackAsFalseAlarm(i) { score[i] = needed } else { confirmFault(i) }
                }
            } else if fresh[i] && suppressed[i] > 0 {
                // A held-back finding keeps the sensor suspect (its baselines do not adapt to what
                // was held back) and every sample counts towards the bound; then the rule wins.
                suppressed[i] += 1
                if suppressed[i] >= tuning.modelMaxSuppressionSamples || opinion[i] != ModelDiagnosis.healthy.rawValue {
                    bits[i] |= .bit(suppressedKind[i])
                    confirmFault(i)
                }
            } else if fresh[i] {
                cleanRun[i] += 1
                score[i] = max(score[i] - 1, 0)
                if cleanRun[i] >= tuning.suspectClearSamples {
                    score[i] = 0
                    setHealth(i, .healthy)
                }
            }
        case .faulty:
            break
        case .quarantined:
            if anything || b & .bit(.spike) != 0 { cleanRun[i] = 0 } else if fresh[i] {
                cleanRun[i] += 1
                if deviceOutage[i] && cleanRun[i] >= tuning.deviceRecoverySamples && !groupHasHealthyMember(besides: i) {
                    cleanRun[i] = 0
                    setHealth(i, .healthy)
                } else if cleanRun[i] >= tuning.quarantineClearSamples {
                    cleanRun[i] = 0
                    setHealth(i, .probation)
                }
            }
        case .probation:
            if anything {
                cleanRun[i] = 0
                setHealth(i, .quarantined)
            } else if fresh[i] {
                cleanRun[i] += 1
                if cleanRun[i] >= tuning.probationSamples || (deviceOutage[i] && !groupHasHealthyMember(besides: i)) {
                    cleanRun[i] = 0
                    setHealth(i, .healthy)
                }
            }
        }
    }

    private mutating func setHealth(_ i: Int, _ to: HealthState) {
        let from = health[i]
        guard from != to else { return }
        health[i] = to
        if to == .healthy {
            repairDeclined[i] = false
            deviceOutage[i] = false
            suppressed[i] = 0
        }
        emit.healthChange(sensor: i, from: from, to: to)
    }

    /// With the model assisting: a soft finding about to confirm a fault is held back while the
    /// model confidently calls the sensor healthy (a pattern operators taught it is a false alarm).
    /// The sensor stays suspect (still used, its baselines frozen) for at most
    /// `modelMaxSuppressionSamples` samples, or until the model stops calling it healthy; then the
    /// rule's finding is confirmed. The first hold of an episode is journalled with the evidence.
    private mutating func holdsBackAsFalseAlarm(_ i: Int) -> Bool {
        guard tuning.modelAssist, opinion[i] == ModelDiagnosis.healthy.rawValue, suppressed[i] < tuning.modelMaxSuppressionSamples else { return false }
        suppressed[i] += 1
        if suppressed[i] == 1 {
            var kind = FindingKind.noise
            for k in Self.dominance where bits[i] & .bit(k) != 0 { kind = k; break }
            suppressedKind[i] = kind
            let raw = Int(kind.rawValue)
            emit.suppressedFalseAlarm(sensor: i, finding: emit.finding(kind, subject: i, statistic: detectors[i].statistic[raw],
                                                                       threshold: detectors[i].threshold[raw]))
        }
        return true
    }

    /// The order in which a confirmed fault names its kind (the strongest evidence first).
    private static let dominance: [FindingKind] = [.outOfRange, .dropout, .stuck, .spike, .disagreement, .drift, .noise, .rateOfChange]

    private mutating func confirmFault(_ i: Int) {
        if health[i] == .healthy { firstSeen[i] = cycle }
        score[i] = 0
        cleanRun[i] = 0
        history[i] += 10
        setHealth(i, .faulty)
        var kind = FindingKind.dropout
        for k in Self.dominance where bits[i] & .bit(k) != 0 { kind = k; break }
        let raw = Int(kind.rawValue)
        let evidence = emit.finding(kind, subject: i, statistic: detectors[i].statistic[raw], threshold: detectors[i].threshold[raw])
        let d = sensorDevice[i]
        if sawConfigError[i] {
            let diag = Diagnosis(cause: .configurationError, severity: .major, evidence: evidence, firstSeenCycle: firstSeen[i], decidedCycle: cycle)
            sensorDiagnoses[i] = diag
            // One escalation per device: every point of a mis-configured map tends to be wrong together.
            if d < 0 || !devices[d].configErrorEscalated {
                if d >= 0 { devices[d].configErrorEscalated = true }
                emit.diagnosis(diag, sensor: i, device: d)
                emit.configurationErrorEscalation(sensor: i, device: d, finding: evidence)
            }
            return
        }
        let g = sensorGroup[i]
        var alternative = false
        if g >= 0 {
            for s in 0..<groupSize[g] where members[groupStart[g] + s] != i && isUsable(members[groupStart[g] + s]) && health[members[groupStart[g] + s]] == .healthy {
                alternative = true
            }
        }
        let diag = Diagnosis(cause: kind == .dropout && deviceLooksDead(d) ? .deviceFault : .sensorFault,
                             severity: alternative ? .minor : .major, evidence: evidence,
                             firstSeenCycle: firstSeen[i], decidedCycle: cycle)
        sensorDiagnoses[i] = diag
        deviceOutage[i] = kind == .dropout && (diag.cause == .deviceFault || (d >= 0 && devices[d].faulted))
        // A sensor on a faulted device is covered by the device's (or bus's) diagnosis.
        if d >= 0 && devices[d].faulted { return }
        emit.diagnosis(diag, sensor: i, device: d)
        if policy.lookup(cause: .sensorFault, kind: kind, severity: diag.severity) != .automaticRepair {
            repairDeclined[i] = true
            emit.policyEscalation(sensor: i, device: d, cause: .sensorFault, severity: diag.severity, finding: evidence)
        } else if g < 0 && kind != .dropout {
            // A sensor in no redundancy group has nobody to fail over to: the repair the policy
            // allows does not exist, and its value is out of use until it is healthy again. A human
            // must look at it, once the fault has lasted (`callOperatorsForSensorsWithoutBackup`).
            // A dropout is left to the device watch and the stale hold: it is a communication
            // matter, and a device being reconnected would otherwise raise one alarm per point.
            noBackupCall[i] = NoBackupCall(dueNanoseconds: lastNowNanoseconds &+ max(tuning.noBackupConfirmNanoseconds, 1),
                                           samples: 0, movedAtConfirm: detectors[i].lastMoved, lastSeenNanoseconds: lastNowNanoseconds,
                                           severity: diag.severity, finding: evidence)
        }
    }

    /// Calls an operator for each sensor in no redundancy group whose confirmed fault has lasted
    /// `noBackupConfirmNanoseconds` and three new samples: still out of use (quarantined), its
    /// finding seen again within the last half of that time, and if it was stuck, still at the value
    /// it froze at. Nobody is called for a fault that ended meanwhile: a quiet sensor that repeated
    /// itself for a moment, or a real step of the process (a tank level's sawtooth reset) that the
    /// spike filter saw for a few samples. No allocation.
    private mutating func callOperatorsForSensorsWithoutBackup() {
        for i in 0..<sensorCount where noBackupCall[i].dueNanoseconds != 0 {
            if fresh[i] { noBackupCall[i].samples += 1 }
            // Still faulty: the finding that confirmed it still fires, or a new spike, rate or range
            // finding started (a noisy sensor confirmed by its spikes goes on with fresh spike and
            // rate findings). Statistics that merely linger after a one-off step of the process —
            // noise, drift — do not count, nor does latency (the device's).
            if bits[i] & .bit(noBackupCall[i].finding.kind) != 0 || lastFaultStart[i] == lastNowNanoseconds {
                noBackupCall[i].lastSeenNanoseconds = lastNowNanoseconds
            }
            let call = noBackupCall[i]
            let stillStuck = call.finding.kind != .stuck || detectors[i].lastMoved == call.movedAtConfirm
            let d = sensorDevice[i]
            // A sensor on a faulted device is covered by the device's (or bus's) diagnosis.
            let deviceFaulted = d >= 0 && devices[d].faulted
            guard health[i] == .quarantined || health[i] == .faulty, stillStuck, !deviceFaulted else {
                noBackupCall[i] = NoBackupCall()
                continue
            }
            guard lastNowNanoseconds >= call.dueNanoseconds && call.samples >= 3 else { continue }
            noBackupCall[i] = NoBackupCall()
            guard lastNowNanoseconds &- call.lastSeenNanoseconds <= tuning.noBackupConfirmNanoseconds / 2 else { continue }
            emit.noBackupEscalation(sensor: i, device: d, severity: call.severity, finding: call.finding)
        }
    }

    /// True when every sensor of device `d` (two or more) has dropped out this cycle: their common
    /// device is the likelier root cause, named before the device's own all-bad count confirms it.
    private func deviceLooksDead(_ d: Int) -> Bool {
        guard d >= 0 else { return false }
        var n = 0
        for j in 0..<sensorCount where sensorDevice[j] == d {
            if bits[j] & .bit(.dropout) == 0 { return false }
            n += 1
        }
        return n >= 2
    }

    // MARK: Redundancy

    private mutating func selectSource(_ g: Int, now: UInt64, out: inout Reading) {
        let start = groupStart[g], size = groupSize[g]
        // An operator's choice holds while that member stays usable; then the group is automatic again.
        if operatorSlot[g] >= 0 && !isUsable(members[start + operatorSlot[g]]) { operatorSlot[g] = -1 }
        let forced = operatorSlot[g] >= 0
        let current = members[start + active[g]]

        // Failover when the active source is out of use (unless the policy left that to an operator).
        if forced {
            // Control stays where the operator put it.
        } else if health[current] != .healthy && health[current] != .suspect && !repairDeclined[current] {
            var choice = -1
            if preferred[g] >= 0 && preferred[g] != active[g] && health[members[start + preferred[g]]] == .healthy && isUsable(members[start + preferred[g]]) {
                choice = preferred[g]
            }
            if choice < 0 {
                for s in 0..<size where s != active[g] && health[members[start + s]] == .healthy && isUsable(members[start + s]) { choice = s; break }
            }
            if choice < 0 {
                for s in 0..<size where s != active[g] && isUsable(members[start + s]) { choice = s; break }
            }
            if choice >= 0 {
                if verifySlot[g] >= 0 { finishFailoverVerification(g, verified: false) }
                emit.failover(group: g, from: current, to: members[start + choice])
                repairs[Int(RepairStrategy.failoverToBackup.rawValue)].attempted += 1
                active[g] = choice
                verifySlot[g] = choice
                verifyRemaining[g] = repairVerifyCycles
            }
        } else if active[g] != 0 && health[members[start]] == .healthy && isUsable(members[start]) && verifySlot[g] < 0 {
            // The primary is back after its probation.
            emit.failback(group: g, from: current, to: members[start])
            active[g] = 0
        }

        // The value for control.
        var n = 0
        for s in 0..<size where isUsable(members[start + s]) {
            scratchSlot[n] = s
            n += 1
        }
        let a = members[start + active[g]]
        var chosen = -1
        var value = Double.nan
        if forced {
            chosen = a
            value = detectors[a].value
        } else if n >= tuning.midValueSelectMinMembers && n >= 3 {
            for k in 0..<n { scratch[k] = detectors[members[start + scratchSlot[k]]].value }
            value = median(n)
            chosen = a
            // Timestamp and latency of the member whose value is the median (or the active one).
            for k in 0..<n where detectors[members[start + scratchSlot[k]]].value == value { chosen = members[start + scratchSlot[k]]; break }
        } else if isUsable(a) {
            chosen = a
            value = detectors[a].value
        } else if n > 0 {
            chosen = members[start + scratchSlot[0]]
            value = detectors[chosen].value
        }

        if chosen >= 0 {
            out = Reading(value: value, timestampNanoseconds: detectors[chosen].lastGoodTimestamp, latencyNanoseconds: 0, quality: .good)
            lastGoodOut[g] = out
            if holding[g] || failedSafe[g] {
                if holding[g] { repairs[Int(RepairStrategy.holdLastGood.rawValue)].verified += 1 }
                holding[g] = false
                failedSafe[g] = false
            }
        } else {
            let last = lastGoodOut[g]
            let age = now &- last.timestampNanoseconds
            if last.quality.isGood && age <= tuning.holdMaxNanoseconds && !failedSafe[g] {
                out = Reading(value: last.value, timestampNanoseconds: last.timestampNanoseconds, latencyNanoseconds: 0, quality: .stale(ageNanoseconds: age))
                if !holding[g] {
                    holding[g] = true
                    repairs[Int(RepairStrategy.holdLastGood.rawValue)].attempted += 1
                    emit.holdLastGood(group: g)
                }
            } else {
                out = Reading(value: .nan, timestampNanoseconds: now, latencyNanoseconds: 0, quality: .bad(.notYetRead))
                if !failedSafe[g] {
                    failedSafe[g] = true
                    if holding[g] {
                        repairs[Int(RepairStrategy.holdLastGood.rawValue)].failed += 1
                        holding[g] = false
                    }
                    repairs[Int(RepairStrategy.groupSafeAction.rawValue)].attempted += 1
                    emit.groupSafeAction(group: g)
                }
            }
        }

        // Verify the last failover: the new source must stay usable and the output good.
        if verifySlot[g] >= 0 {
            let v = members[start + verifySlot[g]]
            if health[v] != .healthy && health[v] != .suspect {
                finishFailoverVerification(g, verified: false)
            } else if out.quality.isGood && isUsable(v) {
                verifyRemaining[g] -= 1
                if verifyRemaining[g] <= 0 { finishFailoverVerification(g, verified: true) }
            }
        }
    }

    private mutating func finishFailoverVerification(_ g: Int, verified: Bool) {
        let slot = verifySlot[g]
        verifySlot[g] = -1
        let to = members[groupStart[g] + slot]
        if verified {
            emit.failoverVerified(group: g, to: to)
            repairs[Int(RepairStrategy.failoverToBackup.rawValue)].verified += 1
            if slot != 0 { preferred[g] = slot }
        } else {
            repairs[Int(RepairStrategy.failoverToBackup.rawValue)].failed += 1
            // With no usable source left the noHealthySource escalation says it (one cause, one alarm).
            var anyUsable = false
            for s in 0..<groupSize[g] where isUsable(members[groupStart[g] + s]) { anyUsable = true }
            emit.failoverFailed(group: g, to: to, escalate: anyUsable)
        }
    }
}

/// A sensor without backup whose confirmed fault waits to be shown to an operator (0 due: none).
struct NoBackupCall {
    var dueNanoseconds: UInt64 = 0
    var samples = 0
    var movedAtConfirm: UInt64 = 0
    /// When the confirming finding last fired, or a new fault finding last started.
    var lastSeenNanoseconds: UInt64 = 0
    var severity: DiagnosisSeverity = .major
    var finding = Finding(kind: .stuck, subject: -1, statistic: 0, threshold: 0, cycle: 0)
}
