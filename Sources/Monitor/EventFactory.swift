import VigilCore

/// Builds every `MonitorEvent` the monitor emits, stamped with the cycle being observed, into a
/// fixed-capacity list refilled every cycle: one method per decision, so which fields an event
/// carries is decided here alone. No allocation.
struct EventFactory: Sendable {
    private(set) var buffer: EventBuffer
    /// The cycle being observed; its events and their findings carry it.
    private(set) var cycle: UInt64 = 0
    /// Per sensor: its redundancy group (−1: none), named in the sensor's events.
    private let sensors: [MonitorTopology.Sensor]

    init(capacity: Int, sensors: [MonitorTopology.Sensor]) {
        buffer = EventBuffer(capacity: capacity)
        self.sensors = sensors
    }

    /// Starts a cycle: the previous cycle's events are dropped.
    mutating func begin(cycle: UInt64) {
        self.cycle = cycle
        buffer.reset()
    }

    /// A finding of this cycle (evidence for an event or a diagnosis).
    func finding(_ kind: FindingKind, subject: Int, statistic: Double, threshold: Double) -> Finding {
        Finding(kind: kind, subject: Int32(subject), statistic: statistic, threshold: threshold, cycle: cycle)
    }

    private func event(_ kind: MonitorEvent.Kind) -> MonitorEvent { MonitorEvent(kind: kind, cycle: cycle) }

    // MARK: Sensors

    /// A sensor's finding started (`started`) or returned to normal.
    mutating func sensorFinding(_ i: Int, _ finding: Finding, started: Bool) {
        var e = event(started ? .detection : .findingCleared)
        e.sensor = Int32(i)
        e.group = Int32(sensors[i].group)
        e.finding = finding
        buffer.append(e)
    }

    mutating func healthChange(sensor i: Int, from: HealthState, to: HealthState) {
        var e = event(.healthChange)
        e.sensor = Int32(i)
        e.group = Int32(sensors[i].group)
        e.fromState = from
        e.toState = to
        buffer.append(e)
    }

    /// The model holds back a soft finding that would confirm a fault (`finding`: the rule's evidence).
    mutating func suppressedFalseAlarm(sensor i: Int, finding: Finding) {
        var e = event(.modelAssist)
        e.sensor = Int32(i)
        e.group = Int32(sensors[i].group)
        e.modelAssist = .suppressedFalseAlarm
        e.finding = finding
        buffer.append(e)
    }

    /// A sensor (and with it its device's point map) looks mis-configured.
    mutating func configurationErrorEscalation(sensor i: Int, device d: Int, finding: Finding) {
        var e = event(.escalation)
        e.sensor = Int32(i)
        e.device = Int32(d)
        e.escalation = .configurationError
        e.finding = finding
        buffer.append(e)
    }

    /// A sensor in no redundancy group stays faulty: nothing can stand in for it.
    mutating func noBackupEscalation(sensor i: Int, device d: Int, severity: DiagnosisSeverity, finding: Finding) {
        var e = event(.escalation)
        e.sensor = Int32(i)
        e.device = Int32(d)
        e.cause = .sensorFault
        e.severity = severity
        e.finding = finding
        e.escalation = .noHealthySource
        buffer.append(e)
    }

    // MARK: Sensors and devices

    /// A diagnosis of a sensor (`sensor` ≥ 0) or of a device (`sensor` −1).
    mutating func diagnosis(_ diag: Diagnosis, sensor: Int, device: Int) {
        var e = event(.diagnosis)
        e.sensor = Int32(sensor)
        e.device = Int32(device)
        e.group = sensor >= 0 ? Int32(sensors[sensor].group) : -1
        e.cause = diag.cause
        e.severity = diag.severity
        e.finding = diag.evidence
        buffer.append(e)
    }

    /// The intervention policy sends a diagnosis to an operator instead of its repair.
    mutating func policyEscalation(sensor: Int, device: Int, cause: RootCause, severity: DiagnosisSeverity, finding: Finding) {
        var e = event(.escalation)
        e.sensor = Int32(sensor)
        e.device = Int32(device)
        e.group = sensor >= 0 ? Int32(sensors[sensor].group) : -1
        e.cause = cause
        e.severity = severity
        e.finding = finding
        e.escalation = .interventionPolicy
        buffer.append(e)
    }

    // MARK: Devices

    mutating func deviceDetection(_ d: Int, _ kind: FindingKind, statistic: Double, threshold: Double) {
        var e = event(.detection)
        e.device = Int32(d)
        e.finding = finding(kind, subject: d, statistic: statistic, threshold: threshold)
        buffer.append(e)
    }

    mutating func deviceFindingCleared(_ d: Int, _ kind: FindingKind) {
        var e = event(.findingCleared)
        e.device = Int32(d)
        e.finding = finding(kind, subject: d, statistic: 0, threshold: 0)
        buffer.append(e)
    }

    /// A device repair the runtime is to execute.
    mutating func deviceRepair(_ d: Int, _ strategy: RepairStrategy) {
        var e = event(.repair)
        e.device = Int32(d)
        e.strategy = strategy
        buffer.append(e)
    }

    mutating func deviceRepairVerified(_ d: Int, _ strategy: RepairStrategy) {
        var e = event(.repairVerified)
        e.device = Int32(d)
        e.strategy = strategy
        buffer.append(e)
    }

    /// A device repair failed, and an operator is called.
    mutating func deviceRepairFailed(_ d: Int, _ strategy: RepairStrategy) {
        var e = event(.repairFailed)
        e.device = Int32(d)
        e.strategy = strategy
        buffer.append(e)
        e.kind = .escalation
        e.escalation = .repairFailed
        buffer.append(e)
    }

    // MARK: Groups

    /// The group's members move together and agree: the plant changed (`evidence`: the active member's rate).
    mutating func processExcursion(group g: Int, evidence: Finding) {
        var e = event(.diagnosis)
        e.group = Int32(g)
        e.cause = .processExcursion
        e.severity = .minor
        e.finding = evidence
        buffer.append(e)
    }

    /// The model blamed one member of a disagreeing pair.
    mutating func resolvedPair(group g: Int, blamed: Int, score: Double) {
        var e = event(.modelAssist)
        e.sensor = Int32(blamed)
        e.group = Int32(g)
        e.modelAssist = .resolvedPair
        e.finding = finding(.disagreement, subject: blamed, statistic: score, threshold: 1)
        buffer.append(e)
    }

    /// A pair disagrees and nothing says which member is wrong.
    mutating func unresolvedDisagreement(group g: Int, worst: Int, score: Double) {
        var e = event(.escalation)
        e.group = Int32(g)
        e.escalation = .unresolvedDisagreement
        e.finding = finding(.disagreement, subject: worst, statistic: score, threshold: 1)
        buffer.append(e)
    }

    /// Control moves to a backup: the failover and its repair.
    mutating func failover(group g: Int, from: Int, to: Int) {
        var e = event(.failover)
        e.group = Int32(g)
        e.fromSensor = Int32(from)
        e.toSensor = Int32(to)
        e.strategy = .failoverToBackup
        buffer.append(e)
        e.kind = .repair
        buffer.append(e)
    }

    mutating func failback(group g: Int, from: Int, to: Int) {
        var e = event(.failback)
        e.group = Int32(g)
        e.fromSensor = Int32(from)
        e.toSensor = Int32(to)
        buffer.append(e)
    }

    /// The failover to `to` stayed clean for its verification period.
    mutating func failoverVerified(group g: Int, to: Int) {
        var e = event(.repairVerified)
        e.group = Int32(g)
        e.toSensor = Int32(to)
        e.strategy = .failoverToBackup
        buffer.append(e)
    }

    /// The failover to `to` failed; `escalate`: an operator is called for it.
    mutating func failoverFailed(group g: Int, to: Int, escalate: Bool) {
        var e = event(.repairFailed)
        e.group = Int32(g)
        e.toSensor = Int32(to)
        e.strategy = .failoverToBackup
        buffer.append(e)
        if escalate {
            e.kind = .escalation
            e.escalation = .repairFailed
            buffer.append(e)
        }
    }

    /// No usable source left: the group holds its last good value (a bounded repair) and calls an
    /// operator (major); the safety escalation comes when the hold ends.
    mutating func holdLastGood(group g: Int) {
        var e = event(.repair)
        e.group = Int32(g)
        e.strategy = .holdLastGood
        buffer.append(e)
        e.kind = .escalation
        e.strategy = nil
        e.escalation = .noHealthySource
        e.severity = .major
        buffer.append(e)
    }

    /// No value for control any more: a safety escalation (the policy's default sends it to an
    /// operator and drives the outputs that depend on the group to safe), then the safe action.
    mutating func groupSafeAction(group g: Int) {
        var x = event(.escalation)
        x.group = Int32(g)
        x.escalation = .noHealthySource
        x.severity = .safety
        buffer.append(x)
        var e = event(.repair)
        e.group = Int32(g)
        e.strategy = .groupSafeAction
        buffer.append(e)
    }
}

/// A fixed-capacity list refilled every cycle: appending never allocates; overflow is counted.
struct EventBuffer: Sendable {
    private(set) var storage: [MonitorEvent]
    private(set) var count = 0
    private(set) var dropped: UInt64 = 0

    init(capacity: Int) {
        storage = [MonitorEvent](repeating: MonitorEvent(kind: .detection, cycle: 0), count: max(capacity, 1))
    }

    mutating func reset() { count = 0 }

    mutating func append(_ event: MonitorEvent) {
        if count < storage.count {
            storage[count] = event
            count += 1
        } else {
            dropped &+= 1
        }
    }

    var events: ArraySlice<MonitorEvent> { storage[0..<count] }
}
