import VigilCore

/// The per-sensor health state machine (healthy → suspect → faulty → quarantined → probation →
/// healthy), driven by each cycle's findings (`SensorState.bits`): detections and their return to
/// normal, soft findings counted to a confirmation, hard ones confirmed at once, the diagnosis of a
/// confirmed fault and what the intervention policy makes of it, and the operator call for a
/// faulty sensor that no redundancy group can stand in for. Its per-cycle methods are `mutating`
/// also where only `sensors` changes: calling a non-mutating one on the monitor's stored copy
/// copies the whole struct first, on every call.
struct SensorHealth: Sendable {
    private let topology: MonitorTopology
    private let policy: InterventionPolicy
    private let settings: MonitorSettings.Health
    private let model: MonitorSettings.PolicyModel
    /// Per device: a configuration error of one of its points was escalated (one per device: every
    /// point of a mis-configured map tends to be wrong together).
    private var configErrorEscalated: [Bool]

    init(topology: MonitorTopology, settings: MonitorSettings, policy: InterventionPolicy) {
        self.topology = topology
        self.policy = policy
        self.settings = settings.health
        model = settings.policyModel
        configErrorEscalated = [Bool](repeating: false, count: topology.deviceCount)
    }

    /// A fault confirmed last cycle has been acted on: the sensor is now out of use.
    mutating func quarantineConfirmedFaults(_ sensors: inout [SensorState], emit: inout EventFactory) {
        for i in 0..<topology.sensorCount where sensors[i].health == .faulty {
            setHealth(i, .quarantined, sensors: &sensors, emit: &emit)
            sensors[i].residual.clearStatistics()
        }
    }

    /// Detections for the kinds that started firing on sensor `i`, and their return to normal for
    /// those that stopped. A sensor's findings are judged on its samples: between two samples (a
    /// device polled slower than the cycle) only a dropout can start or end; the rest stand as the
    /// last sample left them.
    mutating func journalFindings(_ i: Int, now: UInt64, sensors: inout [SensorState], emit: inout EventFactory) {
        // A dropout of silence is judged every cycle; one of bad readings lasts until a good sample ends it.
        let dropout = FindingBits.bit(.dropout)
        let previous = sensors[i].previousBits, bits = sensors[i].bits
        let keep = sensors[i].detector.lastWasBad ? ~0 : ~dropout
        let current = (sensors[i].fresh ? bits : previous & keep | bits & dropout) & FindingBits.sensorKinds
        let rising = current & ~previous
        let falling = previous & ~current
        sensors[i].previousBits = current
        guard rising | falling != 0 else { return }
        if rising & (FindingBits.bit(.spike) | .bit(.rateOfChange) | .bit(.outOfRange)) != 0 { sensors[i].lastFaultStart = now }
        for raw in 1...9 where (rising | falling) & (1 << FindingBits(raw)) != 0 {
            emit.sensorFinding(i, emit.finding(FindingKind(rawValue: Int32(raw))!, subject: i,
                                               statistic: sensors[i].detector.statistic[raw], threshold: sensors[i].detector.threshold[raw]),
                               started: rising & (1 << FindingBits(raw)) != 0)
        }
    }

    /// One step of sensor `i`'s state machine on this cycle's findings.
    mutating func update(_ i: Int, now: UInt64, sensors: inout [SensorState], devices: [DeviceState], emit: inout EventFactory) {
        let b = sensors[i].bits
        let fresh = sensors[i].fresh
        if b & .configError != 0 { sensors[i].sawConfigError = true }
        let hard = b & .hardConfirmed != 0
        // A single spike is filtered, not a fault; latency belongs to the device.
        let soft = b & FindingBits.sensorKinds & ~(FindingBits.bit(.spike) | .bit(.latency)) != 0
        let anything = hard || soft
        if fresh {
            sensors[i].history *= 0.999
            if b & FindingBits.sensorKinds & ~(FindingBits.bit(.drift) | .bit(.disagreement) | .bit(.latency)) != 0 { sensors[i].history += 1 }
        }
        switch sensors[i].health {
        case .healthy:
            if hard {
                confirmFault(i, now: now, sensors: &sensors, devices: devices, emit: &emit)
            } else if soft {
                sensors[i].firstSeen = emit.cycle
                sensors[i].score = 1
                sensors[i].cleanRun = 0
                setHealth(i, .suspect, sensors: &sensors, emit: &emit)
            }
        case .suspect:
            if hard { confirmFault(i, now: now, sensors: &sensors, devices: devices, emit: &emit); break }
            if fresh && sensors[i].suppressed > 0 {
                // A held-back finding keeps the sensor suspect (its baselines do not adapt to what
                // was held back) and every sample counts towards the bound, with or without a
                // finding; then the rule wins.
                sensors[i].suppressed += 1
                if sensors[i].suppressed >= model.maxSuppressionSamples || sensors[i].opinion != ModelDiagnosis.healthy.rawValue {
                    sensors[i].bits |= .bit(sensors[i].suppressedKind)
                    confirmFault(i, now: now, sensors: &sensors, devices: devices, emit: &emit)
                }
            } else if soft {
                sensors[i].score += 1
                sensors[i].cleanRun = 0
                let needed = sensors[i].oddOneOut ? settings.confirmSamplesOddOneOut : settings.confirmSamples
                if sensors[i].score >= needed {
                    if holdsBackAsFalseAlarm(i, sensors: &sensors, emit: &emit) {
                        sensors[i].score = needed
                    } else {
                        confirmFault(i, now: now, sensors: &sensors, devices: devices, emit: &emit)
                    }
                }
            } else if fresh {
                sensors[i].cleanRun += 1
                sensors[i].score = max(sensors[i].score - 1, 0)
                if sensors[i].cleanRun >= settings.suspectClearSamples {
                    sensors[i].score = 0
                    setHealth(i, .healthy, sensors: &sensors, emit: &emit)
                }
            }
        case .faulty:
            break
        case .quarantined:
            if anything || b & .bit(.spike) != 0 {
                sensors[i].cleanRun = 0
            } else if fresh {
                sensors[i].cleanRun += 1
                if sensors[i].deviceOutage && sensors[i].cleanRun >= settings.deviceRecoverySamples
                    && !groupHasHealthyMember(besides: i, sensors) {
                    sensors[i].cleanRun = 0
                    setHealth(i, .healthy, sensors: &sensors, emit: &emit)
                } else if sensors[i].cleanRun >= settings.quarantineClearSamples {
                    sensors[i].cleanRun = 0
                    setHealth(i, .probation, sensors: &sensors, emit: &emit)
                }
            }
        case .probation:
            if anything {
                sensors[i].cleanRun = 0
                setHealth(i, .quarantined, sensors: &sensors, emit: &emit)
            } else if fresh {
                sensors[i].cleanRun += 1
                if sensors[i].cleanRun >= settings.probationSamples || (sensors[i].deviceOutage && !groupHasHealthyMember(besides: i, sensors)) {
                    sensors[i].cleanRun = 0
                    setHealth(i, .healthy, sensors: &sensors, emit: &emit)
                }
            }
        }
    }

    private mutating func setHealth(_ i: Int, _ to: HealthState, sensors: inout [SensorState], emit: inout EventFactory) {
        let from = sensors[i].health
        guard from != to else { return }
        sensors[i].health = to
        if to == .healthy {
            sensors[i].repairDeclined = false
            sensors[i].deviceOutage = false
            sensors[i].suppressed = 0
        }
        emit.healthChange(sensor: i, from: from, to: to)
    }

    /// With the model assisting: a soft finding about to confirm a fault is held back while the
    /// model confidently calls the sensor healthy (a pattern operators taught it is a false alarm).
    /// The sensor stays suspect (still used, its baselines frozen) for at most
    /// `maxSuppressionSamples` samples, or until the model stops calling it healthy; then the
    /// rule's finding is confirmed. The first hold of an episode is journalled with the evidence.
    private mutating func holdsBackAsFalseAlarm(_ i: Int, sensors: inout [SensorState], emit: inout EventFactory) -> Bool {
        guard model.assist, sensors[i].opinion == ModelDiagnosis.healthy.rawValue,
              sensors[i].suppressed < model.maxSuppressionSamples else { return false }
        sensors[i].suppressed += 1
        if sensors[i].suppressed == 1 {
            let kind = Self.dominantKind(sensors[i].bits, otherwise: .noise)
            sensors[i].suppressedKind = kind
            let raw = Int(kind.rawValue)
            emit.suppressedFalseAlarm(sensor: i, finding: emit.finding(kind, subject: i, statistic: sensors[i].detector.statistic[raw],
                                                                       threshold: sensors[i].detector.threshold[raw]))
        }
        return true
    }

    /// The order in which a confirmed fault names its kind (the strongest evidence first).
    private static let dominance: [FindingKind] = [.outOfRange, .dropout, .stuck, .spike, .disagreement, .drift, .noise, .rateOfChange]

    /// The strongest kind among `bits`, or `otherwise` when none is set.
    private static func dominantKind(_ bits: FindingBits, otherwise: FindingKind) -> FindingKind {
        for k in dominance where bits & .bit(k) != 0 { return k }
        return otherwise
    }

    private mutating func confirmFault(_ i: Int, now: UInt64, sensors: inout [SensorState], devices: [DeviceState],
                                       emit: inout EventFactory) {
        if sensors[i].health == .healthy { sensors[i].firstSeen = emit.cycle }
        sensors[i].score = 0
        sensors[i].cleanRun = 0
        sensors[i].history += 10
        setHealth(i, .faulty, sensors: &sensors, emit: &emit)
        let kind = Self.dominantKind(sensors[i].bits, otherwise: .dropout)
        let raw = Int(kind.rawValue)
        let evidence = emit.finding(kind, subject: i, statistic: sensors[i].detector.statistic[raw], threshold: sensors[i].detector.threshold[raw])
        let d = topology.sensors[i].device
        if sensors[i].sawConfigError {
            let diag = Diagnosis(cause: .configurationError, severity: .major, evidence: evidence,
                                 firstSeenCycle: sensors[i].firstSeen, decidedCycle: emit.cycle)
            sensors[i].diagnosis = diag
            if d < 0 || !configErrorEscalated[d] {
                if d >= 0 { configErrorEscalated[d] = true }
                emit.diagnosis(diag, sensor: i, device: d)
                emit.configurationErrorEscalation(sensor: i, device: d, finding: evidence)
            }
            return
        }
        let g = topology.sensors[i].group
        let diag = Diagnosis(cause: kind == .dropout && (deviceLooksDead(d, sensors) || silentAlone(i, d, sensors)) ? .deviceFault : .sensorFault,
                             severity: groupHasHealthyMember(besides: i, sensors) ? .minor : .major, evidence: evidence,
                             firstSeenCycle: sensors[i].firstSeen, decidedCycle: emit.cycle)
        sensors[i].diagnosis = diag
        let deviceFaulted = d >= 0 && devices[d].watch.faulted
        sensors[i].deviceOutage = kind == .dropout && (diag.cause == .deviceFault || deviceFaulted)
        // A sensor on a faulted device is covered by the device's (or bus's) diagnosis.
        if deviceFaulted { return }
        emit.diagnosis(diag, sensor: i, device: d)
        if policy.lookup(cause: .sensorFault, kind: kind, severity: diag.severity) != .automaticRepair {
            sensors[i].repairDeclined = true
            emit.policyEscalation(sensor: i, device: d, cause: .sensorFault, severity: diag.severity, finding: evidence)
        } else if g < 0 && kind != .dropout {
            // A sensor in no redundancy group has nobody to fail over to: the repair the policy
            // allows does not exist, and its value is out of use until it is healthy again. A human
            // must look at it, once the fault has lasted (`callOperatorsForSensorsWithoutBackup`).
            // A dropout is left to the device watch and the stale hold: it is a communication
            // matter, and a device being reconnected would otherwise raise one alarm per point.
            sensors[i].noBackupCall = NoBackupCall(dueNanoseconds: now &+ max(settings.noBackupConfirmNanoseconds, 1),
                                                   samples: 0, movedAtConfirm: sensors[i].detector.lastMoved, lastSeenNanoseconds: now,
                                                   severity: diag.severity, finding: evidence)
        }
    }

    /// Calls an operator for each sensor in no redundancy group whose confirmed fault has lasted
    /// `noBackupConfirmNanoseconds` and three new samples: still out of use (quarantined), its
    /// finding seen again within the last half of that time, and if it was stuck, still at the value
    /// it froze at. Nobody is called for a fault that ended meanwhile: a quiet sensor that repeated
    /// itself for a moment, or a real step of the process (a tank level's sawtooth reset) that the
    /// spike filter saw for a few samples. No allocation.
    mutating func callOperatorsForSensorsWithoutBackup(now: UInt64, sensors: inout [SensorState], devices: [DeviceState],
                                              emit: inout EventFactory) {
        for i in 0..<topology.sensorCount where sensors[i].noBackupCall.dueNanoseconds != 0 {
            if sensors[i].fresh { sensors[i].noBackupCall.samples += 1 }
            // Still faulty: the finding that confirmed it still fires, or a new spike, rate or range
            // finding started (a noisy sensor confirmed by its spikes goes on with fresh spike and
            // rate findings). Statistics that merely linger after a one-off step of the process —
            // noise, drift — do not count, nor does latency (the device's).
            if sensors[i].bits & .bit(sensors[i].noBackupCall.finding.kind) != 0 || sensors[i].lastFaultStart == now {
                sensors[i].noBackupCall.lastSeenNanoseconds = now
            }
            let call = sensors[i].noBackupCall
            let stillStuck = call.finding.kind != .stuck || sensors[i].detector.lastMoved == call.movedAtConfirm
            let d = topology.sensors[i].device
            // A sensor on a faulted device is covered by the device's (or bus's) diagnosis.
            let deviceFaulted = d >= 0 && devices[d].watch.faulted
            guard sensors[i].health == .quarantined || sensors[i].health == .faulty, stillStuck, !deviceFaulted else {
                sensors[i].noBackupCall = NoBackupCall()
                continue
            }
            guard now >= call.dueNanoseconds && call.samples >= 3 else { continue }
            sensors[i].noBackupCall = NoBackupCall()
            guard now &- call.lastSeenNanoseconds <= settings.noBackupConfirmNanoseconds / 2 else { continue }
            emit.noBackupEscalation(sensor: i, device: d, severity: call.severity, finding: call.finding)
        }
    }

    /// True when every sensor of device `d` (two or more) has dropped out this cycle: their common
    /// device is the likelier root cause, named before the device's own all-bad count confirms it.
    private func deviceLooksDead(_ d: Int, _ sensors: [SensorState]) -> Bool {
        guard d >= 0 else { return false }
        var n = 0
        for j in 0..<topology.sensorCount where topology.sensors[j].device == d {
            if sensors[j].bits & .bit(.dropout) == 0 { return false }
            n += 1
        }
        return n >= 2
    }

    /// Sensor `i` is the only sensor on device `d` and has gone silent (no reply at all, good or
    /// bad): its device or link stopped delivering (a slow gateway, a stalled line), nothing the
    /// transmitter did.
    private func silentAlone(_ i: Int, _ d: Int, _ sensors: [SensorState]) -> Bool {
        guard d >= 0, sensors[i].detector.silentDropout else { return false }
        for j in 0..<topology.sensorCount where j != i && topology.sensors[j].device == d { return false }
        return true
    }

    /// Whether another member of sensor `i`'s group is healthy and usable (false without a group).
    private func groupHasHealthyMember(besides i: Int, _ sensors: [SensorState]) -> Bool {
        let g = topology.sensors[i].group
        guard g >= 0 else { return false }
        for s in 0..<topology.groups[g].size where topology.member(g, s) != i {
            let j = topology.member(g, s)
            if sensors[j].health == .healthy && sensors[j].isUsable { return true }
        }
        return false
    }
}

/// A sensor without backup whose confirmed fault waits to be shown to an operator (0 due: none).
struct NoBackupCall: Sendable {
    var dueNanoseconds: UInt64 = 0
    var samples = 0
    var movedAtConfirm: UInt64 = 0
    /// When the confirming finding last fired, or a new fault finding last started.
    var lastSeenNanoseconds: UInt64 = 0
    var severity: DiagnosisSeverity = .major
    var finding = Finding(kind: .stuck, subject: -1, statistic: 0, threshold: 0, cycle: 0)
}
