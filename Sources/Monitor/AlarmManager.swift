import VigilCore

/// Turns escalations into ISA-18.2 alarms, one per root cause, in fixed-capacity storage.
///
/// Flood suppression: an escalation is keyed by its root cause (`key(for:)`): a device or bus
/// fault by device, a missing healthy source by redundancy group, a multivariate finding by
/// section, anything else by its sensor (or device). Escalations with the key of an existing alarm
/// are counted on it. A sensor escalation whose device (or group) has a live alarm is counted on
/// that alarm instead; a new device (or group) alarm absorbs the live alarms of its sensors raised
/// within the grouping window. Fifty sensor findings from one dead device are one alarm.
///
/// State table (ISA-18.2; an escalation is "alarm", return to normal is "RTN"):
///
/// | from \ event | alarm | RTN | acknowledge |
/// |---|---|---|---|
/// | (none) | new `unacknowledged` | – | – |
/// | `unacknowledged` | count | `returnedUnacknowledged` | `acknowledged` |
/// | `acknowledged` | count; higher severity → `unacknowledged` | `cleared` | – |
/// | `returnedUnacknowledged` | `unacknowledged` | – | `cleared` |
/// | `cleared` (within window) | `unacknowledged` (same alarm) | – | – |
///
/// Shelving hides an alarm from annunciation until it expires (`tick`) or is unshelved; the state
/// machine keeps running underneath. A safety-severity escalation unshelves; safety alarms cannot
/// be shelved. `raise`, `returnToNormal`, `tick` and the operator commands do not allocate;
/// `snapshot` does (it is for the console).
public struct AlarmManager: Sendable {
    public let configuration: AlarmConfiguration
    public let topology: AlarmTopology

    private var slots: [Alarm]
    private var used: [Bool]
    /// Slots in use: the per-cycle walks (`tick`, the counts) return at once while no alarm is held.
    private var usedCount = 0
    private var nextID: UInt64 = 1

    /// Escalations dropped because every slot held a live alarm.
    public private(set) var overflowCount = 0
    /// Alarms created.
    public private(set) var raisedCount = 0
    /// Escalations counted on an existing alarm of the same key.
    public private(set) var mergedCount = 0
    /// Sensor escalations counted on their device's or group's alarm.
    public private(set) var suppressedCount = 0
    /// Shelves ended by expiry.
    public private(set) var shelveExpiredCount = 0
    /// Grows with every change to any alarm (raise, count, state, shelve, free): a publisher copies
    /// the alarms out only when it moved.
    public private(set) var revision: UInt64 = 0

    /// An empty slot (id 0).
    public let blankAlarm = Alarm(id: 0, key: AlarmKey(scope: .sensor, index: -1), cause: .sensorFault, reason: nil,
                                  decision: .operatorIntervention, severity: .minor, state: .cleared,
                                  shelvedUntilNanoseconds: 0, firstRaisedNanoseconds: 0, lastRaisedNanoseconds: 0,
                                  lastChangeNanoseconds: 0, occurrences: 0, absorbedAlarms: 0,
                                  firstFinding: Finding(kind: .stuck, subject: -1, statistic: 0, threshold: 0, cycle: 0),
                                  lastFinding: Finding(kind: .stuck, subject: -1, statistic: 0, threshold: 0, cycle: 0))

    public init(topology: AlarmTopology, configuration: AlarmConfiguration = AlarmConfiguration()) {
        self.configuration = configuration
        self.topology = topology
        let blank = blankAlarm
        slots = Array(repeating: blank, count: max(1, configuration.capacity))
        used = Array(repeating: false, count: max(1, configuration.capacity))
    }

    // MARK: Keys

    /// The root-cause key an escalation is grouped by.
    public func key(for e: AlarmEscalation) -> AlarmKey {
        let kind = e.finding.kind
        let subject = e.finding.subject
        if e.group >= 0 { return AlarmKey(scope: .group, index: e.group) }
        if FindingCategory.of(kind) == .multivariate { return AlarmKey(scope: .section, index: subject) }
        let sensorLevel = kind.rawValue < FindingKind.deviceTimeouts.rawValue
        guard sensorLevel else { return AlarmKey(scope: .device, index: subject) }
        if e.cause == .deviceFault || e.cause == .busFault {
            let device = topology.device(ofSensor: subject)
            if device >= 0 { return AlarmKey(scope: .device, index: device) }
        }
        if e.reason == .noHealthySource {
            let group = topology.group(ofSensor: subject)
            if group >= 0 { return AlarmKey(scope: .group, index: group) }
        }
        return AlarmKey(scope: .sensor, index: subject)
    }

    // MARK: Cycle entry points (no allocation)

    /// Files an escalation: a new alarm, or counted on the alarm of its root cause.
    @discardableResult
    public mutating func raise(_ e: AlarmEscalation, nowNanoseconds now: UInt64) -> AlarmRaiseOutcome {
        guard e.decision != .automaticRepair else { return .notAnAlarm }
        let key = key(for: e)

        if let slot = slot(for: key) {
            revision &+= 1
            mergedCount += 1
            count(e, onSlot: slot, now: now)
            return .merged(id: slots[slot].id)
        }
        if key.scope == .sensor, let parent = liveParentSlot(ofSensor: key.index) {
            revision &+= 1
            suppressedCount += 1
            count(e, onSlot: parent, now: now)
            return .suppressed(byID: slots[parent].id)
        }
        guard let slot = freeSlot(now: now) else {
            overflowCount += 1
            return .overflow
        }
        let id = nextID
        nextID &+= 1
        revision &+= 1
        raisedCount += 1
        if !used[slot] { usedCount += 1 }
        used[slot] = true
        slots[slot] = Alarm(id: id, key: key, cause: e.cause, reason: e.reason, decision: e.decision,
                            severity: e.severity, state: .unacknowledged, shelvedUntilNanoseconds: 0,
                            firstRaisedNanoseconds: now, lastRaisedNanoseconds: now, lastChangeNanoseconds: now,
                            occurrences: 1, absorbedAlarms: 0, firstFinding: e.finding, lastFinding: e.finding)
        if key.scope == .device || key.scope == .group { absorbChildren(intoSlot: slot, now: now) }
        return .raised(id: id)
    }

    /// The condition behind an escalation's key is gone. Returns whether an alarm changed state.
    @discardableResult
    public mutating func returnToNormal(_ e: AlarmEscalation, nowNanoseconds now: UInt64) -> Bool {
        returnToNormal(key: key(for: e), nowNanoseconds: now)
    }

    /// The condition behind a key is gone. Returns whether an alarm changed state.
    @discardableResult
    public mutating func returnToNormal(key: AlarmKey, nowNanoseconds now: UInt64) -> Bool {
        guard let slot = slot(for: key) else { return false }
        switch slots[slot].state {
        case .unacknowledged: slots[slot].state = .returnedUnacknowledged
        case .acknowledged: slots[slot].state = .cleared
        case .returnedUnacknowledged, .cleared: return false
        }
        slots[slot].lastChangeNanoseconds = now
        revision &+= 1
        return true
    }

    /// Ends expired shelves and frees cleared alarms older than the grouping window. Call once a cycle.
    public mutating func tick(nowNanoseconds now: UInt64) {
        guard usedCount > 0 else { return }
        for i in slots.indices where used[i] {
            let until = slots[i].shelvedUntilNanoseconds
            if until != 0 && now >= until {
                slots[i].shelvedUntilNanoseconds = 0
                shelveExpiredCount += 1
                revision &+= 1
            }
            if slots[i].state == .cleared && expired(i, now: now) {
                used[i] = false
                usedCount -= 1
                revision &+= 1
            }
        }
    }

    // MARK: Operator commands (no allocation)

    /// Acknowledges an alarm: `unacknowledged` → `acknowledged`, `returnedUnacknowledged` → `cleared`.
    public mutating func acknowledge(id: UInt64, nowNanoseconds now: UInt64) throws(AlarmCommandError) {
        let slot = try liveSlot(id: id)
        switch slots[slot].state {
        case .unacknowledged: slots[slot].state = .acknowledged
        case .returnedUnacknowledged: slots[slot].state = .cleared
        case .acknowledged: return
        case .cleared: throw .alarmCleared(id: id)
        }
        slots[slot].lastChangeNanoseconds = now
        revision &+= 1
    }

    /// Hides an alarm for a while; it comes back by itself at `now + duration`.
    public mutating func shelve(id: UInt64, durationNanoseconds: UInt64, nowNanoseconds now: UInt64) throws(AlarmCommandError) {
        let slot = try liveSlot(id: id)
        guard slots[slot].state != .cleared else { throw .alarmCleared(id: id) }
        guard slots[slot].severity < .safety else { throw .safetyAlarmNotShelvable(id: id) }
        guard durationNanoseconds <= configuration.maximumShelveNanoseconds else {
            throw .shelveDurationTooLong(requestedNanoseconds: durationNanoseconds,
                                         maximumNanoseconds: configuration.maximumShelveNanoseconds)
        }
        slots[slot].shelvedUntilNanoseconds = max(1, now &+ durationNanoseconds)
        slots[slot].lastChangeNanoseconds = now
        revision &+= 1
    }

    /// Shows a shelved alarm again.
    public mutating func unshelve(id: UInt64, nowNanoseconds now: UInt64) throws(AlarmCommandError) {
        let slot = try liveSlot(id: id)
        slots[slot].shelvedUntilNanoseconds = 0
        slots[slot].lastChangeNanoseconds = now
        revision &+= 1
    }

    // MARK: Queries

    /// Storage slots (the most alarms held at once).
    public var slotCount: Int { slots.count }

    /// The alarm held in storage slot `i` (nil: the slot is free). For diffing without allocating.
    @inline(__always)
    public func alarm(inSlot i: Int) -> Alarm? { used[i] ? slots[i] : nil }

    /// The alarm with this id, if still held.
    public func alarm(id: UInt64) -> Alarm? {
        for i in slots.indices where used[i] && slots[i].id == id { return slots[i] }
        return nil
    }

    /// Alarms not cleared (shelved ones included).
    public var activeCount: Int {
        guard usedCount > 0 else { return 0 }
        var n = 0
        for i in slots.indices where used[i] && slots[i].state != .cleared { n += 1 }
        return n
    }

    /// Alarms shown to the operator now (not cleared, not shelved).
    public var annunciatedCount: Int {
        guard usedCount > 0 else { return 0 }
        var n = 0
        for i in slots.indices where used[i] && slots[i].isAnnunciated { n += 1 }
        return n
    }

    /// Copies every held alarm (cleared ones within their grouping window included) into
    /// `destination` in slot order and blanks the rest (id 0). For publishing from the cycle:
    /// no allocation. Returns the number copied.
    @discardableResult
    public func copyAlarms(into destination: UnsafeMutableBufferPointer<Alarm>) -> Int {
        var n = 0
        for i in slots.indices where used[i] && n < destination.count {
            destination[n] = slots[i]
            n += 1
        }
        for k in n..<destination.count where destination[k].id != 0 { destination[k].id = 0 }
        return n
    }

    /// The console's list: highest severity first, then unacknowledged first, then oldest first. Allocates.
    public func snapshot(includeCleared: Bool = false, includeShelved: Bool = true) -> [Alarm] {
        var out: [Alarm] = []
        for i in slots.indices where used[i] {
            let a = slots[i]
            if a.state == .cleared && !includeCleared { continue }
            if a.isShelved && !includeShelved { continue }
            out.append(a)
        }
        out.sort(by: Self.consoleOrder)
        return out
    }

    /// Console order: highest severity first, then those needing an acknowledgement, then oldest first.
    public static func consoleOrder(_ a: Alarm, _ b: Alarm) -> Bool {
        if a.severity != b.severity { return a.severity > b.severity }
        if a.needsAcknowledgement != b.needsAcknowledgement { return a.needsAcknowledgement }
        if a.firstRaisedNanoseconds != b.firstRaisedNanoseconds { return a.firstRaisedNanoseconds < b.firstRaisedNanoseconds }
        return a.id < b.id
    }

    // MARK: Internals

    private func slot(for key: AlarmKey) -> Int? {
        guard usedCount > 0 else { return nil }
        for i in slots.indices where used[i] && slots[i].key == key { return i }
        return nil
    }

    private func liveSlot(id: UInt64) throws(AlarmCommandError) -> Int {
        for i in slots.indices where used[i] && slots[i].id == id { return i }
        throw .unknownAlarm(id: id)
    }

    /// A live (not cleared) alarm of the sensor's device or redundancy group.
    private func liveParentSlot(ofSensor sensor: Int32) -> Int? {
        let device = topology.device(ofSensor: sensor)
        let group = topology.group(ofSensor: sensor)
        for i in slots.indices where used[i] && slots[i].state != .cleared {
            let k = slots[i].key
            if (k.scope == .device && k.index == device && device >= 0)
                || (k.scope == .group && k.index == group && group >= 0) {
                return i
            }
        }
        return nil
    }

    private func expired(_ i: Int, now: UInt64) -> Bool {
        now >= slots[i].lastChangeNanoseconds &+ configuration.groupingWindowNanoseconds
    }

    /// A free slot, else the oldest cleared one (its grouping memory is the least valuable).
    private func freeSlot(now: UInt64) -> Int? {
        var oldestCleared: Int? = nil
        for i in slots.indices {
            if !used[i] { return i }
            if slots[i].state == .cleared {
                if let o = oldestCleared, slots[o].lastChangeNanoseconds <= slots[i].lastChangeNanoseconds { continue }
                oldestCleared = i
            }
        }
        return oldestCleared
    }

    private mutating func count(_ e: AlarmEscalation, onSlot i: Int, now: UInt64) {
        slots[i].occurrences += 1
        slots[i].lastRaisedNanoseconds = now
        slots[i].lastFinding = e.finding
        if e.decision > slots[i].decision { slots[i].decision = e.decision }
        let escalated = e.severity > slots[i].severity
        if escalated { slots[i].severity = e.severity }
        if e.severity == .safety && slots[i].isShelved { slots[i].shelvedUntilNanoseconds = 0 }
        switch slots[i].state {
        case .unacknowledged:
            return
        case .acknowledged:
            if !escalated { return }
            slots[i].state = .unacknowledged
        case .returnedUnacknowledged, .cleared:
            slots[i].state = .unacknowledged
        }
        slots[i].lastChangeNanoseconds = now
    }

    /// Folds the recent sensor alarms of a new device/group alarm's sensors into it.
    private mutating func absorbChildren(intoSlot parent: Int, now: UInt64) {
        let pk = slots[parent].key
        for i in slots.indices where used[i] && i != parent && slots[i].key.scope == .sensor {
            let s = slots[i].key.index
            let belongs = pk.scope == .device ? topology.device(ofSensor: s) == pk.index
                                              : topology.group(ofSensor: s) == pk.index
            guard belongs else { continue }
            let recent = now < slots[i].lastRaisedNanoseconds &+ configuration.groupingWindowNanoseconds
            guard recent else { continue }
            slots[parent].occurrences += slots[i].occurrences
            slots[parent].absorbedAlarms += 1
            if slots[i].severity > slots[parent].severity { slots[parent].severity = slots[i].severity }
            if slots[i].firstRaisedNanoseconds < slots[parent].firstRaisedNanoseconds {
                slots[parent].firstRaisedNanoseconds = slots[i].firstRaisedNanoseconds
            }
            used[i] = false
            usedCount -= 1
        }
    }
}
