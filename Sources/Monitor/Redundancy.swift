import VigilCore

/// Where one redundancy group's value for control comes from. Slots are positions in the group's
/// member list (0: the primary); −1 means none.
struct GroupSource: Sendable {
    /// The member control follows (when the median is not used).
    var active = 0
    /// The backup that proved itself in a verified failover, chosen first next time.
    var preferred = -1
    /// The member an operator put control on (`forceSource`); −1 in automatic.
    var operatorSlot = -1
    /// The member whose failover is being verified, and the clean cycles it still needs.
    var verifySlot = -1
    var verifyRemaining = 0
    /// The group's last good output: held (stale) while no member is usable.
    var lastGoodOut = Reading.unread
    /// Holding `lastGoodOut`; past the hold, failed safe (a bad value: interlocks trip fail-safe).
    var holding = false
    var failedSafe = false
}

/// Redundancy: failover from an active source out of use (preferring the backup that proved
/// itself), failback to the primary after its probation, an operator's choice of source, the value
/// control gets (mid-value select, the active source, a one-cycle substitute, the held last good
/// value, then bad), and the verification of each failover.
struct Redundancy: Sendable {
    private let topology: MonitorTopology
    private let settings: MonitorSettings.Groups
    /// `MonitorSettings.Repairs.verifyNanoseconds` in cycles of the plant's period.
    private let repairVerifyCycles: Int
    private(set) var groups: [GroupSource]
    private var scratch: MedianScratch
    private var usableSlots: [Int]

    init(topology: MonitorTopology, settings: MonitorSettings, cycleNanoseconds: UInt64) {
        self.topology = topology
        self.settings = settings.groups
        repairVerifyCycles = max(1, Int((settings.repairs.verifyNanoseconds + cycleNanoseconds - 1) / cycleNanoseconds))
        groups = [GroupSource](repeating: GroupSource(), count: topology.groupCount)
        scratch = MedianScratch(capacity: topology.largestGroup)
        usableSlots = [Int](repeating: 0, count: topology.largestGroup)
    }

    // MARK: Queries

    func activeSource(_ g: Int) -> Int { topology.member(g, groups[g].active) }

    func preferredBackup(_ g: Int) -> Int? { groups[g].preferred < 0 ? nil : topology.member(g, groups[g].preferred) }

    func operatorSource(_ g: Int) -> Int? { groups[g].operatorSlot < 0 ? nil : topology.member(g, groups[g].operatorSlot) }

    func isHolding(_ g: Int) -> Bool { groups[g].holding || groups[g].failedSafe }

    // MARK: Operator overrides

    /// Puts group `g`'s control on `sensor` (see `PlantMonitor.forceSource`).
    mutating func force(group g: Int, sensor: Int, sensors: [SensorState]) throws(SourceOverrideError) -> (from: Int, to: Int) {
        guard g >= 0 && g < topology.groupCount else { throw .unknownGroup }
        var slot = -1
        for s in 0..<topology.groups[g].size where topology.member(g, s) == sensor { slot = s }
        guard slot >= 0 else { throw .notAMember }
        guard sensors[sensor].isUsable else { throw .notUsable(sensors[sensor].health) }
        let from = topology.member(g, groups[g].active)
        // The operator's choice ends the verification of another member.
        if groups[g].verifySlot >= 0 && groups[g].verifySlot != slot { groups[g].verifySlot = -1 }
        groups[g].operatorSlot = slot
        groups[g].active = slot
        return (from, sensor)
    }

    /// Back to automatic source selection; false when the group was in automatic already.
    mutating func release(group g: Int) -> Bool {
        guard g >= 0 && g < topology.groupCount, groups[g].operatorSlot >= 0 else { return false }
        groups[g].operatorSlot = -1
        return true
    }

    // MARK: The cycle

    /// Chooses group `g`'s source for this cycle, writes its value for control into `out`, and
    /// verifies the last failover.
    mutating func select(_ g: Int, now: UInt64, sensors: [SensorState], repairs: inout RepairLedger,
                         emit: inout EventFactory, out: inout Reading) {
        let start = topology.groups[g].start, size = topology.groups[g].size
        // An operator's choice holds while that member stays usable; then the group is automatic again.
        if groups[g].operatorSlot >= 0 && !sensors[topology.members[start + groups[g].operatorSlot]].isUsable { groups[g].operatorSlot = -1 }
        let forced = groups[g].operatorSlot >= 0
        let active = groups[g].active
        let current = topology.members[start + active]

        // Failover when the active source is out of use (unless the policy left that to an operator).
        if forced {
            // Control stays where the operator put it.
        } else if !sensors[current].inService && !sensors[current].repairDeclined {
            let preferred = groups[g].preferred
            var choice = -1
            if preferred >= 0 && preferred != active && isHealthyAndUsable(topology.members[start + preferred], sensors) {
                choice = preferred
            }
            if choice < 0 {
                for s in 0..<size where s != active && isHealthyAndUsable(topology.members[start + s], sensors) { choice = s; break }
            }
            if choice < 0 {
                for s in 0..<size where s != active && sensors[topology.members[start + s]].isUsable { choice = s; break }
            }
            if choice >= 0 {
                if groups[g].verifySlot >= 0 { finishFailoverVerification(g, verified: false, sensors: sensors, repairs: &repairs, emit: &emit) }
                emit.failover(group: g, from: current, to: topology.members[start + choice])
                repairs.attempted(.failoverToBackup)
                groups[g].active = choice
                groups[g].verifySlot = choice
                groups[g].verifyRemaining = repairVerifyCycles
            }
        } else if active != 0 && isHealthyAndUsable(topology.members[start], sensors) && groups[g].verifySlot < 0 {
            // The primary is back after its probation.
            emit.failback(group: g, from: current, to: topology.members[start])
            groups[g].active = 0
        }

        out = value(g, forced: forced, now: now, sensors: sensors, repairs: &repairs, emit: &emit)

        // Verify the last failover: the new source must stay usable and the output good.
        if groups[g].verifySlot >= 0 {
            let v = topology.members[start + groups[g].verifySlot]
            if !sensors[v].inService {
                finishFailoverVerification(g, verified: false, sensors: sensors, repairs: &repairs, emit: &emit)
            } else if out.quality.isGood && sensors[v].isUsable {
                groups[g].verifyRemaining -= 1
                if groups[g].verifyRemaining <= 0 { finishFailoverVerification(g, verified: true, sensors: sensors, repairs: &repairs, emit: &emit) }
            }
        }
    }

    @inline(__always)
    private func isHealthyAndUsable(_ i: Int, _ sensors: [SensorState]) -> Bool {
        sensors[i].health == .healthy && sensors[i].isUsable
    }

    /// The value for control: the operator's member; else with enough usable members their median;
    /// else the active source; else a usable substitute for this cycle; else the last good value
    /// (stale) for `holdMaxNanoseconds` (repair `holdLastGood`); then bad (repair `groupSafeAction`).
    private mutating func value(_ g: Int, forced: Bool, now: UInt64, sensors: [SensorState], repairs: inout RepairLedger,
                                emit: inout EventFactory) -> Reading {
        let start = topology.groups[g].start, size = topology.groups[g].size
        var n = 0
        for s in 0..<size where sensors[topology.members[start + s]].isUsable {
            usableSlots[n] = s
            n += 1
        }
        let a = topology.members[start + groups[g].active]
        var chosen = -1
        var value = Double.nan
        if forced {
            chosen = a
            value = sensors[a].detector.value
        } else if n >= settings.midValueSelectMinMembers && n >= 3 {
            for k in 0..<n { scratch[k] = sensors[topology.members[start + usableSlots[k]]].detector.value }
            value = scratch.median(n)
            chosen = a
            // Timestamp and latency of the member whose value is the median (or the active one).
            for k in 0..<n where sensors[topology.members[start + usableSlots[k]]].detector.value == value {
                chosen = topology.members[start + usableSlots[k]]
                break
            }
        } else if sensors[a].isUsable {
            chosen = a
            value = sensors[a].detector.value
        } else if n > 0 {
            chosen = topology.members[start + usableSlots[0]]
            value = sensors[chosen].detector.value
        }

        if chosen >= 0 {
            let out = Reading(value: value, timestampNanoseconds: sensors[chosen].detector.lastGoodTimestamp, latencyNanoseconds: 0, quality: .good)
            groups[g].lastGoodOut = out
            if groups[g].holding || groups[g].failedSafe {
                if groups[g].holding { repairs.verified(.holdLastGood) }
                groups[g].holding = false
                groups[g].failedSafe = false
            }
            return out
        }
        let last = groups[g].lastGoodOut
        let age = now &- last.timestampNanoseconds
        if last.quality.isGood && age <= settings.holdMaxNanoseconds && !groups[g].failedSafe {
            if !groups[g].holding {
                groups[g].holding = true
                repairs.attempted(.holdLastGood)
                emit.holdLastGood(group: g)
            }
            return Reading(value: last.value, timestampNanoseconds: last.timestampNanoseconds, latencyNanoseconds: 0, quality: .stale(ageNanoseconds: age))
        }
        if !groups[g].failedSafe {
            groups[g].failedSafe = true
            if groups[g].holding {
                repairs.failed(.holdLastGood)
                groups[g].holding = false
            }
            repairs.attempted(.groupSafeAction)
            emit.groupSafeAction(group: g)
        }
        return Reading(value: .nan, timestampNanoseconds: now, latencyNanoseconds: 0, quality: .bad(.notYetRead))
    }

    private mutating func finishFailoverVerification(_ g: Int, verified: Bool, sensors: [SensorState], repairs: inout RepairLedger,
                                                     emit: inout EventFactory) {
        let slot = groups[g].verifySlot
        groups[g].verifySlot = -1
        let to = topology.member(g, slot)
        if verified {
            emit.failoverVerified(group: g, to: to)
            repairs.verified(.failoverToBackup)
            if slot != 0 { groups[g].preferred = slot }
        } else {
            repairs.failed(.failoverToBackup)
            // With no usable source left the noHealthySource escalation says it (one cause, one alarm).
            var anyUsable = false
            for s in 0..<topology.groups[g].size where sensors[topology.member(g, s)].isUsable { anyUsable = true }
            emit.failoverFailed(group: g, to: to, escalate: anyUsable)
        }
    }
}
