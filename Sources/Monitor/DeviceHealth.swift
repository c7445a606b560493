import VigilCore

/// One device as the monitor keeps it.
struct DeviceState: Sendable {
    /// Its detectors, fault and the repair under way.
    var watch = DeviceWatch()
    /// This cycle's new samples of its points.
    var tally = DeviceTally()
    /// Faulted this cycle: a diagnosis to make, unless its whole bus is at fault.
    var newlyFaulted = false
    /// The last diagnosis (device or bus fault), kept as evidence.
    var diagnosis: Diagnosis? = nil
}

/// Device and bus health: each device's findings from the tally of its points' new samples, device
/// faults, one diagnosis for a bus whose devices all failed, and the device repairs the runtime
/// executes (reconnect, backup path, slower polling) with their verification.
struct DeviceHealth: Sendable {
    private let topology: MonitorTopology
    private let settings: MonitorSettings.Devices
    /// `MonitorSettings.Repairs.deviceVerifyNanoseconds`.
    private let repairVerifyNanoseconds: UInt64
    private let policy: InterventionPolicy
    private(set) var devices: [DeviceState]
    /// Per bus: at fault as a whole (every device on it faulted; diagnosed once).
    private var busFaulted: [Bool]
    /// Per bus: its frames arrive corrupted now and then (CRC or framing errors between good
    /// replies): one bus diagnosis for the episode, no device or sensor fault for a garbled reply.
    private var busNoisy: [Bool]

    /// Consecutive all-garbled polls after which a device counts as dead (its readings bad, its
    /// sensors out of use): at one frame in five corrupted, eight in a row happen about once in
    /// 400,000 polls.
    static let noisyLineDeadPolls = 8
    /// Share of a device's recent polls (EWMA over ~50) with a CRC or framing error above which the
    /// device counts towards a noisy line: about one error in the last 50 polls.
    static let noisyLineCRCShare = 0.015

    static let kinds: [FindingKind] = [.deviceTimeouts, .deviceExceptions, .deviceCRCErrors, .deviceDisconnected, .deviceLatencyTrend]

    init(topology: MonitorTopology, settings: MonitorSettings, policy: InterventionPolicy) {
        self.topology = topology
        self.settings = settings.devices
        repairVerifyNanoseconds = settings.repairs.deviceVerifyNanoseconds
        self.policy = policy
        devices = [DeviceState](repeating: DeviceState(), count: topology.deviceCount)
        busFaulted = [Bool](repeating: false, count: topology.busDeviceCount.count)
        busNoisy = [Bool](repeating: false, count: topology.busDeviceCount.count)
    }

    /// Whether reading `r` of a point on device `d` is a garbled reply (CRC or framing) from a device
    /// that still answers cleanly now and then: no sample for the sensor's detectors.
    @inline(__always)
    func isGarbledReply(_ r: Reading, device d: Int) -> Bool {
        r.quality == .bad(.crcOrFraming) && devices[d].watch.allBadRun < Self.noisyLineDeadPolls
    }

    func isFaulted(_ d: Int) -> Bool { devices[d].watch.faulted }

    /// The finding kinds on a device journalled as started and not yet ended (allocates).
    func openFindings(_ d: Int) -> [FindingKind] {
        Self.kinds.filter { devices[d].watch.flags & DeviceWatch.bit($0) != 0 }
    }

    /// Starts a cycle's tallies.
    mutating func beginCycle() {
        for d in devices.indices { devices[d].tally = DeviceTally() }
    }

    /// Counts a new sample of one of device `d`'s points.
    mutating func tally(_ d: Int, _ r: Reading) { devices[d].tally.add(r) }

    /// Updates every device that brought new samples this cycle: findings, faults (of a device, or
    /// of its bus), repairs and their verification. A slower-polling repair raises the expected
    /// interval of the device's sensors' dropout detectors.
    mutating func observe(now: UInt64, sensors: inout [SensorState], repairs: inout RepairLedger, emit: inout EventFactory) {
        for d in 0..<topology.deviceCount {
            devices[d].newlyFaulted = false
            let t = devices[d].tally
            guard t.newSamples > 0 else { continue }
            let before = devices[d].watch.flags
            defer { emitClearedFindings(d, before: before, emit: &emit) }
            var evidence: (kind: FindingKind, stat: Double, limit: Double)?
            let f = devices[d].watch.update(t, tuning: settings, evidence: &evidence)
            for kind in Self.kinds {
                let b = DeviceWatch.bit(kind)
                if f & b != 0 && before & b == 0 {
                    emit.deviceDetection(d, kind, statistic: evidence?.kind == kind ? evidence!.stat : 0,
                                         threshold: evidence?.kind == kind ? evidence!.limit : 0)
                }
            }
            updateNoisyBus(of: d, now: now, sensors: &sensors, repairs: &repairs, emit: &emit)
            // A run of garbled replies is noise on the line until it outlasts what noise does: the
            // line carries frames, so the device is not silent.
            let faultRun = devices[d].watch.runCRCErrors > 0 ? max(settings.faultSamples, Self.noisyLineDeadPolls) : settings.faultSamples
            if !devices[d].watch.faulted && devices[d].watch.allBadRun >= faultRun {
                devices[d].watch.faulted = true
                devices[d].newlyFaulted = true
                let ev: (kind: FindingKind, stat: Double, limit: Double)
                if let evidence {
                    ev = evidence
                } else {
                    // Every point bad before any per-kind threshold: the device fault is itself the
                    // detection, named after what its bad samples were.
                    let run = devices[d].watch.allBadRunEvidence
                    ev = (run.kind, Double(devices[d].watch.allBadRun), Double(settings.faultSamples))
                    devices[d].watch.faultKind = run.kind
                    let b = DeviceWatch.bit(run.kind)
                    if f & b == 0 {
                        devices[d].watch.flags |= b
                        emit.deviceDetection(d, run.kind, statistic: ev.stat, threshold: ev.limit)
                    }
                }
                devices[d].diagnosis = Diagnosis(cause: .deviceFault, severity: .major,
                                                 evidence: emit.finding(ev.kind, subject: d, statistic: ev.stat, threshold: ev.limit),
                                                 firstSeenCycle: emit.cycle, decidedCycle: emit.cycle)
            } else if devices[d].watch.faulted && t.good > 0 {
                devices[d].watch.faulted = false
                devices[d].watch.faultKind = nil
                busFaulted[topology.devices[d].bus] = false
            }
            // Struggling but alive: ask for slower polling once.
            if !devices[d].watch.faulted && !devices[d].watch.slowPollingRequested && devices[d].watch.repair == nil
                && (devices[d].watch.timeoutShare > settings.timeoutRatioForSlowPolling || f & DeviceWatch.bit(.deviceLatencyTrend) != 0) {
                devices[d].watch.slowPollingRequested = true
                let kind: FindingKind = f & DeviceWatch.bit(.deviceLatencyTrend) != 0 ? .deviceLatencyTrend : .deviceTimeouts
                let decision = policy.lookup(cause: .deviceFault, kind: kind, severity: .minor)
                if decision == .automaticRepair {
                    startRepair(d, .slowPolling, now: now, sensors: &sensors, repairs: &repairs, emit: &emit)
                } else {
                    emit.policyEscalation(sensor: -1, device: d, cause: .deviceFault, severity: .minor,
                                          finding: emit.finding(kind, subject: d, statistic: devices[d].watch.timeoutShare,
                                                                threshold: settings.timeoutRatioForSlowPolling))
                }
            }
            verifyRepair(d, tally: t, now: now, repairs: &repairs, emit: &emit)
        }
        diagnoseBuses(now: now, sensors: &sensors, repairs: &repairs, emit: &emit)
        for d in 0..<topology.deviceCount where devices[d].newlyFaulted {
            guard let diag = devices[d].diagnosis else { continue }
            emit.diagnosis(diag, sensor: -1, device: d)
            // A dead device makes slower polling moot: drop it (neither verified nor failed) so the
            // fault gets its own repair (it would otherwise "verify" on a dead device and block it).
            if devices[d].watch.repair == .slowPolling { devices[d].watch.repair = nil }
            let alone = topology.devices[d].switchesAlone
            if policy.lookup(cause: diag.cause, kind: diag.evidence.kind, severity: diag.severity) != .automaticRepair {
                emit.policyEscalation(sensor: -1, device: d, cause: diag.cause, severity: diag.severity, finding: diag.evidence)
            } else if devices[d].watch.repair == nil {
                startRepair(d, alone ? .switchToBackupGateway : .reconnect, now: now, sensors: &sensors, repairs: &repairs, emit: &emit)
            } else if devices[d].watch.repair == .switchToBackupGateway && alone {
                // The path switched to answered, then died before the switch was verified: that switch
                // failed (escalated like any failed repair); switch again, back to the other path.
                failRepair(d, .switchToBackupGateway, repairs: &repairs, emit: &emit)
                startRepair(d, .switchToBackupGateway, now: now, sensors: &sensors, repairs: &repairs, emit: &emit)
            }
        }
    }

    /// A bus (serial line or gateway host) is at fault when every device on it is: one diagnosis,
    /// not one per device, and its devices' own diagnoses are not made.
    private mutating func diagnoseBuses(now: UInt64, sensors: inout [SensorState], repairs: inout RepairLedger, emit: inout EventFactory) {
        for d in 0..<topology.deviceCount where devices[d].newlyFaulted {
            let b = topology.devices[d].bus
            var allOnBus = topology.busDeviceCount[b] >= 2 && !busFaulted[b]
            if allOnBus {
                for o in 0..<topology.deviceCount where topology.devices[o].bus == b && !devices[o].watch.faulted { allOnBus = false }
            }
            guard allOnBus else { continue }
            busFaulted[b] = true
            var first = true
            for o in 0..<topology.deviceCount where topology.devices[o].bus == b {
                devices[o].newlyFaulted = false
                devices[o].diagnosis?.cause = .busFault
                // A device already switching (it died a cycle before the rest of its bus) is not
                // switched again: that would send it back to the path just left.
                let switching = devices[o].watch.repair == .switchToBackupGateway
                if first, let diag = devices[o].diagnosis {
                    emit.diagnosis(diag, sensor: -1, device: o)
                    if !switching {
                        if policy.lookup(cause: diag.cause, kind: diag.evidence.kind, severity: diag.severity) == .automaticRepair {
                            // A line with no other path is reconnected, never "switched".
                            startRepair(o, topology.busHasBackup[b] ? .switchToBackupGateway : .reconnect, now: now,
                                        sensors: &sensors, repairs: &repairs, emit: &emit)
                        } else {
                            emit.policyEscalation(sensor: -1, device: o, cause: diag.cause, severity: diag.severity, finding: diag.evidence)
                        }
                    }
                    first = false
                } else if topology.devices[o].switchesAlone && !switching {
                    // Each TCP device has its own connection.
                    startRepair(o, .switchToBackupGateway, now: now, sensors: &sensors, repairs: &repairs, emit: &emit)
                }
            }
        }
    }

    /// Whether bus `b` has become noisy: CRC errors on two of its devices (or on its only one)
    /// between good replies.
    private func busLooksNoisy(_ b: Int) -> Bool {
        var noisy = 0, clean = true
        for o in 0..<topology.deviceCount where topology.devices[o].bus == b && devices[o].watch.crcShare > Self.noisyLineCRCShare {
            noisy += 1
            if devices[o].watch.allBadRun >= Self.noisyLineDeadPolls { clean = false }
        }
        return clean && noisy >= min(2, topology.busDeviceCount[b])
    }

    /// Enters or leaves the noisy state of device `d`'s bus. Entering is one bus diagnosis with a CRC
    /// finding on the bus's first device that lasts until the line is quiet again, and the repair
    /// the policy allows (the line's other path, or reopening it); leaving is quiet.
    private mutating func updateNoisyBus(of d: Int, now: UInt64, sensors: inout [SensorState], repairs: inout RepairLedger,
                                         emit: inout EventFactory) {
        let b = topology.devices[d].bus
        if !busNoisy[b] && busLooksNoisy(b) {
            busNoisy[b] = true
            var first = -1, share = 0.0
            for o in 0..<topology.deviceCount where topology.devices[o].bus == b {
                if first < 0 { first = o }
                share = max(share, devices[o].watch.crcShare)
            }
            let evidence = emit.finding(.deviceCRCErrors, subject: first, statistic: share, threshold: Self.noisyLineCRCShare)
            let diag = Diagnosis(cause: .busFault, severity: .major, evidence: evidence, firstSeenCycle: emit.cycle, decidedCycle: emit.cycle)
            devices[first].watch.lineNoise = true
            if devices[first].watch.flags & DeviceWatch.bit(.deviceCRCErrors) == 0 {
                devices[first].watch.flags |= DeviceWatch.bit(.deviceCRCErrors)
                emit.deviceDetection(first, .deviceCRCErrors, statistic: share, threshold: Self.noisyLineCRCShare)
            }
            emit.diagnosis(diag, sensor: -1, device: first)
            if policy.lookup(cause: .busFault, kind: .deviceCRCErrors, severity: .major) == .automaticRepair {
                if devices[first].watch.repair == nil {
                    startRepair(first, topology.busHasBackup[b] ? .switchToBackupGateway : .reconnect, now: now,
                                sensors: &sensors, repairs: &repairs, emit: &emit)
                }
            } else {
                emit.policyEscalation(sensor: -1, device: first, cause: .busFault, severity: .major, finding: evidence)
            }
        } else if busNoisy[b] {
            var quiet = true
            for o in 0..<topology.deviceCount where topology.devices[o].bus == b && devices[o].watch.crcShare > Self.noisyLineCRCShare / 3 {
                quiet = false
            }
            if quiet {
                busNoisy[b] = false
                for o in 0..<topology.deviceCount where topology.devices[o].bus == b { devices[o].watch.lineNoise = false }
            }
        }
    }

    /// Return to normal of the device findings that were firing before this cycle's update
    /// (`mutating` so the cycle does not copy `self` to call it).
    private mutating func emitClearedFindings(_ d: Int, before: UInt32, emit: inout EventFactory) {
        let falling = before & ~devices[d].watch.flags
        guard falling != 0 else { return }
        for kind in Self.kinds where falling & DeviceWatch.bit(kind) != 0 {
            emit.deviceFindingCleared(d, kind)
        }
    }

    private mutating func startRepair(_ d: Int, _ strategy: RepairStrategy, now: UInt64, sensors: inout [SensorState],
                                      repairs: inout RepairLedger, emit: inout EventFactory) {
        if strategy == .slowPolling {
            // The bus thread doubles the device's interval (up to its ceiling): judge dropouts of its
            // sensors against that rate, or slower polling would look like readings stopping.
            for i in 0..<topology.sensorCount where topology.sensors[i].device == d {
                let expected = sensors[i].detector.expectedIntervalNanoseconds
                sensors[i].detector.expectedIntervalNanoseconds = min(expected &* 2, max(topology.devices[d].pollCeilingNanoseconds, expected))
            }
        }
        devices[d].watch.repair = strategy
        devices[d].watch.repairStartNanoseconds = now
        devices[d].watch.repairGoodRun = 0
        repairs.attempted(strategy)
        emit.deviceRepair(d, strategy)
    }

    private mutating func failRepair(_ d: Int, _ strategy: RepairStrategy, repairs: inout RepairLedger, emit: inout EventFactory) {
        repairs.failed(strategy)
        devices[d].watch.repair = nil
        emit.deviceRepairFailed(d, strategy)
    }

    /// A repair is verified by ten healthy device samples in a row within `repairVerifyNanoseconds`.
    private mutating func verifyRepair(_ d: Int, tally t: DeviceTally, now: UInt64, repairs: inout RepairLedger, emit: inout EventFactory) {
        guard let strategy = devices[d].watch.repair else { return }
        let healthy: Bool
        if strategy == .slowPolling {
            healthy = devices[d].watch.timeoutShare < settings.timeoutRatioForSlowPolling / 2
                && devices[d].watch.flags & DeviceWatch.bit(.deviceLatencyTrend) == 0
        } else {
            healthy = t.good > 0 && t.good == t.newSamples
        }
        devices[d].watch.repairGoodRun = healthy ? devices[d].watch.repairGoodRun + 1 : 0
        if devices[d].watch.repairGoodRun >= 10 {
            repairs.verified(strategy)
            devices[d].watch.repair = nil
            emit.deviceRepairVerified(d, strategy)
        } else if now - devices[d].watch.repairStartNanoseconds > repairVerifyNanoseconds {
            failRepair(d, strategy, repairs: &repairs, emit: &emit)
        }
    }
}
