import VigilCore

// The self-healing monitor, as the runtime uses it:
//
//     var monitor = try PlantMonitor(plant: plant, settings: plant.monitor)    // at start: allocates everything
//     // every cycle, on the cycle thread (no allocation, deterministic given cycle, time and readings):
//     monitor.observe(cycle: n, nowNanoseconds: t,
//                     sensors: readings,      // UnsafeBufferPointer<Reading>, plant.sensors order
//                     groupsOut: groupValues) // UnsafeMutableBufferPointer<Reading>, plant.redundancyGroups order
//     for e in monitor.events { queue.push(e) }  // this cycle's MonitorEvents (valid until the next observe)
//     monitor.healthState(sensor:), activeSource(group:), preferredBackup(group:), repairRecord(_:)
//
// Per cycle, each step its own part (the monitor itself only holds them and calls them in order):
//   (1) sensor detectors on every new sample (a reading is new when its timestamp moved; devices
//       poll slower than the cycle), dropout on every cycle (`SensorState`, one per sensor);
//   (2) device detectors, device and bus faults, device repairs (`DeviceHealth`);
//   (3) virtual peers: each section member against its estimate from the section's other units,
//       and a lone sensor's drift or disagreement with it (`VirtualPeers`); per group: process
//       excursion (all members move together and agree: their rate/spike findings are dropped),
//       residual to the consensus (drift, disagreement), "stuck while peers move", attribution of a
//       disagreement to the odd one out, a pair's by its members' virtual peers when their own
//       series cannot tell (`GroupConsensus`);
//   (4) health state machines, diagnoses, escalations (`SensorHealth`);
//   (5) redundancy: failover, failback after probation, the value control gets, and (6) failover
//       verification (`Redundancy`).
// The plant is resolved to indices once (`MonitorTopology`); every event is built by one
// `EventFactory`; repair attempts and outcomes are counted in one `RepairLedger`.
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

/// Why an operator's choice of a group's source was refused.
public enum SourceOverrideError: Error, Sendable, Hashable {
    case unknownGroup
    case notAMember
    /// The member is out of use (its health state, or no good reading).
    case notUsable(HealthState)
}

/// Errors found while resolving a plant for the monitor.
public enum MonitorConfigurationError: Error, Sendable, Hashable {
    case unknownGroupMember(group: String, sensor: String)
    case unknownDevice(sensor: String, device: String)
    case emptyGroup(group: String)
}

/// Detectors, diagnosis, health states, redundancy and repairs for one plant. See the top of this file.
public struct PlantMonitor: Sendable {
    /// The knobs the monitor runs with (the plant file's `monitor:` section, or an override).
    public let settings: MonitorSettings
    /// Decides, per diagnosis, between an automatic repair and an escalation (`interventionPolicy`).
    public let policy: InterventionPolicy

    private let topology: MonitorTopology
    /// Per sensor (plant.sensors order), mutated in place by every step of the cycle.
    private var sensors: [SensorState]
    private var devices: DeviceHealth
    private var consensus: GroupConsensus
    private var virtualPeers: VirtualPeers
    private var sensorHealth: SensorHealth
    private var redundancy: Redundancy
    private var repairs = RepairLedger()
    private var emit: EventFactory
    private var lastNowNanoseconds: UInt64 = 0

    /// Resolves the plant to indices and allocates every array the cycle will use. Each array the
    /// cycle writes gets its own buffer: two sharing one until the first write would copy (allocate)
    /// on the cycle thread at that write, which may come hours into a run.
    public init(plant: PlantConfig, settings: MonitorSettings = MonitorSettings(),
                policy: InterventionPolicy = .defaults) throws(MonitorConfigurationError) {
        self.settings = settings
        self.policy = policy
        let topology = try MonitorTopology(plant: plant)
        self.topology = topology
        let cycleNanoseconds = UInt64(max(plant.cycle.periodMicroseconds, 1)) * 1_000

        sensors = plant.sensors.enumerated().map { i, s in
            let d = topology.sensors[i].device
            // A point is expected as often as its device is polled (at most once a cycle); a GPIO
            // line (0/1) every cycle.
            let expected = d >= 0 ? max(UInt64(max(plant.devices[d].pollIntervalMilliseconds, 0)) * 1_000_000, cycleNanoseconds)
                                  : cycleNanoseconds
            var detector = SensorDetector(tuning: settings.sensor(s.id), rangeMin: s.rangeMin, rangeMax: s.rangeMax,
                                          discrete: d < 0, expectedIntervalNanoseconds: expected)
            if d >= 0 {
                detector.linkHoldNanoseconds = topology.devices[d].linkHoldNanoseconds
                detector.linkTransactions = topology.devices[d].linkTransactions
            }
            return SensorState(detector: detector)
        }
        devices = DeviceHealth(topology: topology, settings: settings, policy: policy)
        consensus = GroupConsensus(topology: topology, settings: settings, cycleNanoseconds: cycleNanoseconds)
        virtualPeers = VirtualPeers(plant: plant, topology: topology, settings: settings)
        sensorHealth = SensorHealth(topology: topology, settings: settings, policy: policy)
        redundancy = Redundancy(topology: topology, settings: settings, cycleNanoseconds: cycleNanoseconds)
        emit = EventFactory(capacity: settings.maxEventsPerCycle, sensors: topology.sensors)
    }

    // MARK: Queries

    /// Sensors, devices and redundancy groups of the plant (the indices the other queries take).
    public var sensorCount: Int { topology.sensorCount }
    public var deviceCount: Int { topology.deviceCount }
    public var groupCount: Int { topology.groupCount }
    /// This cycle's events (valid until the next `observe`).
    public var events: ArraySlice<MonitorEvent> { emit.buffer.events }
    /// How many events this cycle has (`event(k)` reads one without copying the list).
    public var eventCount: Int { emit.buffer.count }
    @inline(__always)
    public func event(_ k: Int) -> MonitorEvent { emit.buffer.storage[k] }
    /// Events that did not fit in `maxEventsPerCycle`, since the start.
    public var droppedEvents: UInt64 { emit.buffer.dropped }
    /// Health of a sensor (index into plant.sensors).
    public func healthState(sensor: Int) -> HealthState { sensors[sensor].health }
    /// The policy model's confident verdict on a sensor for the next `observe` (nil: none). Used only
    /// with `settings.policyModel.assist`; never for hard faults, device faults or safety. No allocation.
    public mutating func setModelOpinion(sensor: Int, _ diagnosis: ModelDiagnosis?) {
        sensors[sensor].opinion = diagnosis?.rawValue ?? -1
    }

    /// Whether a sensor's detectors have seen their warm-up samples (before that its features, and
    /// what a model makes of them, describe a sensor nobody knows yet). A discrete point (GPIO, 0/1)
    /// has no warm-up.
    public func isWarmedUp(sensor: Int) -> Bool { sensors[sensor].detector.warmedUp || sensors[sensor].detector.discrete }
    /// The run of repeated samples sensor `sensor`'s stuck detector has learned to need.
    func stuckRunNeeded(sensor: Int) -> Int { sensors[sensor].detector.stuckNeeded }
    /// Sensor index control follows in a group (the median is used instead with ≥ 3 usable members).
    public func activeSource(group: Int) -> Int { redundancy.activeSource(group) }
    /// The backup that proved itself in a verified failover, chosen first next time; nil before.
    public func preferredBackup(group: Int) -> Int? { redundancy.preferredBackup(group) }
    /// The sensor an operator put a group's control on, nil in automatic.
    public func operatorSource(group: Int) -> Int? { redundancy.operatorSource(group) }
    /// True while a group outputs its held last good value or its bad safe-action value.
    public func isHolding(group: Int) -> Bool { redundancy.isHolding(group) }
    /// Attempts and outcomes of a repair strategy since the start.
    public func repairRecord(_ strategy: RepairStrategy) -> RepairRecord { repairs[strategy] }
    /// verified / decided for a strategy; nil before any outcome.
    public func repairSuccessRate(_ strategy: RepairStrategy) -> Double? { repairs[strategy].successRate }
    /// The last diagnosis of a sensor (kept as evidence until the next one).
    public func diagnosis(sensor: Int) -> Diagnosis? { sensors[sensor].diagnosis }
    /// The last diagnosis of a device (device or bus fault).
    public func diagnosis(device: Int) -> Diagnosis? { devices.devices[device].diagnosis }

    /// The finding kinds on a sensor journalled as started and not yet ended (allocates: for
    /// queries and tests, not the cycle).
    public func openFindings(sensor i: Int) -> [FindingKind] {
        let open = sensors[i].previousBits & FindingBits.sensorKinds
        return (1...9).compactMap { raw in open & (1 << FindingBits(raw)) != 0 ? FindingKind(rawValue: Int32(raw)) : nil }
    }

    /// The finding kinds on a device journalled as started and not yet ended (allocates).
    public func openFindings(device d: Int) -> [FindingKind] { devices.openFindings(d) }

    /// The policy model's input for one sensor (`SensorFeatures`), from the state the last `observe`
    /// left. Runs on the cycle thread for every sensor: no allocation, no lock. Mutating only to
    /// keep the sensor's step score until its next sample (the score is the costly feature).
    public mutating func features(sensor i: Int, into out: UnsafeMutableBufferPointer<Float>) {
        var peers = 0
        var coMovement = 0.0
        let g = topology.sensors[i].group
        if g >= 0 {
            // The group's co-movement: the smallest recent shift of its usable members when all
            // moved the same way (a process excursion moves everyone; a faulty member moves alone).
            var lo = Double.infinity, hi = -Double.infinity, usable = 0
            for s in 0..<topology.groups[g].size {
                let j = topology.member(g, s)
                if j != i && sensors[j].isPeer { peers += 1 }
                guard sensors[j].isUsable else { continue }
                let m = sensors[j].detector.motionSigmas
                lo = min(lo, m)
                hi = max(hi, m)
                usable += 1
            }
            if usable >= 2 { coMovement = lo > 0 ? lo : hi < 0 ? -hi : 0 }
        }
        let context = SensorFeatures.Context(
            nowNanoseconds: lastNowNanoseconds, peers: peers, coMovement: coMovement,
            stepScore: sensors[i].stepScore(), pairStepSigmas: settings.groups.pairStepSigmas,
            history: sensors[i].history, health: sensors[i].health)
        SensorFeatures.write(sensors[i].detector, sensors[i].residual, context, into: out)
    }

    // MARK: Operator overrides (between observes, at a cycle boundary; no allocation)

    /// An operator puts a group's control on one member: it becomes the active source and control
    /// follows its value alone (no mid-value select, no automatic failover or failback) until
    /// `releaseSource`, or until the member stops being usable (faulty, quarantined, no good
    /// reading), when the group returns to automatic by itself. Returns the sensor indices moved
    /// from and to.
    public mutating func forceSource(group g: Int, sensor: Int) throws(SourceOverrideError) -> (from: Int, to: Int) {
        try redundancy.force(group: g, sensor: sensor, sensors: sensors)
    }

    /// Back to automatic source selection; false when the group was in automatic already.
    @discardableResult
    public mutating func releaseSource(group g: Int) -> Bool { redundancy.release(group: g) }

    // MARK: The cycle

    /// Runs every detector on this cycle's readings and writes each group's value for control.
    public mutating func observe(cycle: UInt64, nowNanoseconds now: UInt64,
                                 sensors readings: UnsafeBufferPointer<Reading>, groupsOut: UnsafeMutableBufferPointer<Reading>) {
        precondition(readings.count >= sensorCount && groupsOut.count >= groupCount)
        lastNowNanoseconds = now
        emit.begin(cycle: cycle)

        // A fault confirmed last cycle has been acted on: the sensor is now out of use.
        sensorHealth.quarantineConfirmedFaults(&sensors, emit: &emit)

        // (1) Sensor detectors, and each device's tally of its points' new samples.
        devices.beginCycle()
        for i in 0..<sensorCount {
            let d = topology.sensors[i].device
            let r = readings[i]
            if d >= 0 && devices.isGarbledReply(r, device: d) {
                // The line garbled the reply: the device hears of it (once per reply), the sensor said nothing.
                if r.timestampNanoseconds != sensors[i].garbledAt {
                    sensors[i].garbledAt = r.timestampNanoseconds
                    devices.tally(d, r)
                }
                sensors[i].skipGarbled(nowNanoseconds: now)
                continue
            }
            sensors[i].observe(r, nowNanoseconds: now)
            if sensors[i].fresh && d >= 0 { devices.tally(d, r) }
        }

        // (2) Devices and buses.
        devices.observe(now: now, sensors: &sensors, repairs: &repairs, emit: &emit)

        // (3) Each section member against its estimate from the rest of its section, then
        // group-level findings (a pair's disagreement may be settled by those estimates).
        virtualPeers.observe(sensors: &sensors)
        for g in 0..<groupCount {
            consensus.observe(g, activeSlot: redundancy.groups[g].active, now: now, sensors: &sensors, emit: &emit)
        }

        // A quantized, quiet sensor with no peer to compare repeats in correlated bursts longer than
        // its warm-up's repeat rate predicts: its run is stuck once it outlasts twice its learned
        // run length (as a group member whose peers are all out of service).
        for i in 0..<sensorCount where topology.sensors[i].group < 0 && sensors[i].bits & .bit(.stuck) != 0
            && sensors[i].repeatsInnocently && sensors[i].detector.runWithinQuietBursts {
            sensors[i].bits &= ~FindingBits.bit(.stuck)
        }

        // A stuck run is its own confirmation (its length already bounds false alarms).
        for i in 0..<sensorCount where sensors[i].bits & .bit(.stuck) != 0 {
            sensors[i].bits |= .hardConfirmed
            sensors[i].detector.usable = false
        }

        // (4) Health.
        for i in 0..<sensorCount {
            sensorHealth.journalFindings(i, now: now, sensors: &sensors, emit: &emit)
            if sensors[i].fresh || sensors[i].bits != 0 {
                sensorHealth.update(i, now: now, sensors: &sensors, devices: devices.devices, emit: &emit)
            }
        }
        sensorHealth.callOperatorsForSensorsWithoutBackup(now: now, sensors: &sensors, devices: devices.devices, emit: &emit)

        // (5) Redundancy and (6) failover verification.
        for g in 0..<groupCount {
            redundancy.select(g, now: now, sensors: sensors, repairs: &repairs, emit: &emit, out: &groupsOut[g])
        }
    }
}
