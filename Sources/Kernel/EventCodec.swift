import VigilCore
import Monitor

/// The journal's name for each kind of event (the `kind` column). Names never change: a journal
/// written by an older build still reads.
public enum EventKind: String, Sendable, Hashable, CaseIterable {
    case startup, shutdown, overrun, overrunStorm, watchdogStall, firstRound
    case detection, findingCleared, diagnosis, healthChanged, failover, failback, repair, escalation
    case modelVerdict, modelAssist
    case alarm
    case interlockTripped, interlockCleared, limitCrossed, limitCleared, controlHolding, controlResumed
    case safeStateEntered, safeStateLeft, safeOutputsForced
    case commandApplied, commandRefused

    /// The name stored in the journal.
    public var journalName: String { rawValue }
}

extension ControllerEvent {
    /// The journal's kind for this event.
    public var kind: EventKind {
        switch self {
        case .started: return .startup
        case .stopped: return .shutdown
        case .overrun: return .overrun
        case .overrunStorm: return .overrunStorm
        case .watchdogStall: return .watchdogStall
        case .firstRound: return .firstRound
        case .findingRaised: return .detection
        case .findingCleared: return .findingCleared
        case .diagnosis: return .diagnosis
        case .healthChanged: return .healthChanged
        case .failover: return .failover
        case .failback: return .failback
        case .repair: return .repair
        case .escalation: return .escalation
        case .modelVerdict: return .modelVerdict
        case .modelAssist: return .modelAssist
        case .alarm: return .alarm
        case .interlockTripped: return .interlockTripped
        case .interlockCleared: return .interlockCleared
        case .limitCrossed: return .limitCrossed
        case .limitCleared: return .limitCleared
        case .controlHolding: return .controlHolding
        case .controlResumed: return .controlResumed
        case .safeStateEntered: return .safeStateEntered
        case .safeStateLeft: return .safeStateLeft
        case .safeOutputsForced: return .safeOutputsForced
        case .commandApplied: return .commandApplied
        case .commandRefused: return .commandRefused
        }
    }
}

/// An event as the journal's `event` table holds it: a kind name, a severity, a subject name and
/// up to two numbers, a code and a short detail. `EventCodec` is the only code that writes or reads
/// this layout.
public struct EventRow: Sendable, Hashable {
    public var kindName: String
    public var severity: EventSeverity
    public var subject: String?
    public var code: Int32
    public var value: Double
    public var value2: Double
    public var detail: String?

    public init(kindName: String, severity: EventSeverity, subject: String?, code: Int32 = 0, value: Double = 0,
                value2: Double = 0, detail: String? = nil) {
        self.kindName = kindName
        self.severity = severity
        self.subject = subject
        self.code = code
        self.value = value
        self.value2 = value2
        self.detail = detail
    }
}

/// The one translation between `ControllerEvent` and the journal's rows.
///
/// | kind | subject | code | value | value2 | detail |
/// |---|---|---|---|---|---|
/// | startup | – | period µs | period ns | | |
/// | shutdown | – | SafeStateReason.shutdown | | | |
/// | overrun | – | | lateness ms | | |
/// | overrunStorm | – | | overruns in a row | | |
/// | firstRound | the first unread sensor, if any | sensors unread | waited ns | | |
/// | detection / findingCleared | sensor, device or section (by FindingKind) | FindingKind | statistic | threshold | |
/// | diagnosis | the subject | RootCause | FindingKind of the evidence | statistic | `category severity` |
/// | healthChanged | sensor | new HealthState | old HealthState | | |
/// | failover / failback | group | from sensor index | to sensor index | 1 = by an operator | |
/// | repair | the subject | RepairStrategy | 0 started, 1 verified, −1 failed | | category |
/// | escalation | the subject | EscalationReason | | | category |
/// | modelVerdict | sensor | class index | action index | int8 logit | |
/// | modelAssist | sensor | ModelAssist | the rule's FindingKind | statistic | |
/// | alarm | the alarm's key subject | AlarmState | alarm id | DiagnosisSeverity | `scope[ shelved][ removed]` |
/// | interlock…, limit… | limit | | the subject's value | | |
/// | controlHolding / controlResumed | control | | the input's value | | |
/// | safeStateEntered / Left | – | SafeStateReason | | | the reason in words |
/// | safeOutputsForced | the subject | outputs newly forced | | | category |
/// | commandApplied | – | CommandKind | | | |
/// | commandRefused | – | CommandKind | CommandResult | | |
public struct EventCodec: Sendable, Hashable {
    public let names: SubjectTable

    public init(names: SubjectTable) { self.names = names }

    /// The row for an event.
    public func encode(_ event: ControllerEvent) -> EventRow {
        let kind = event.kind.journalName
        let severity = event.severity
        func row(_ subject: String? = nil, code: Int32 = 0, value: Double = 0, value2: Double = 0, detail: String? = nil) -> EventRow {
            EventRow(kindName: kind, severity: severity, subject: subject, code: code, value: value, value2: value2, detail: detail)
        }
        switch event {
        case .started(let period):
            return row(code: Int32(clamping: period / 1000), value: Double(period))
        case .stopped:
            return row(code: SafeStateReason.shutdown.rawValue)
        case .overrun(let late):
            return row(value: Double(late) / 1e6)
        case .overrunStorm(let n):
            return row(value: Double(n))
        case .watchdogStall:
            return row()
        case .firstRound(let waited, let unread, let first):
            return row(first >= 0 ? names.name(.sensor, first) : nil, code: unread, value: Double(waited))
        case .findingRaised(let subject, let finding, let statistic, let threshold):
            return row(names.name(subject), code: finding.rawValue, value: statistic, value2: threshold)
        case .findingCleared(let subject, let finding):
            return row(names.name(subject), code: finding.rawValue)
        case .diagnosis(let subject, let cause, let evidence, let statistic, let diagnosisSeverity):
            return row(names.name(subject), code: cause.rawValue, value: Double(evidence.rawValue), value2: statistic,
                       detail: "\(subject.category.rawValue) \(Self.severityName(diagnosisSeverity))")
        case .healthChanged(let sensor, let from, let to):
            return row(names.name(.sensor, sensor), code: to.rawValue, value: Double(from.rawValue))
        case .failover(let group, let from, let to, let byOperator):
            return row(names.name(.group, group), code: from, value: Double(to), value2: byOperator ? 1 : 0)
        case .failback(let group, let from, let to):
            return row(names.name(.group, group), code: from, value: Double(to))
        case .repair(let subject, let strategy, let phase):
            return row(names.name(subject), code: strategy.rawValue, value: Double(phase.rawValue), detail: subject.category.rawValue)
        case .escalation(let subject, let reason):
            return row(names.name(subject), code: reason.rawValue, detail: subject.category.rawValue)
        case .modelVerdict(let sensor, let diagnosis, let action, let logit):
            return row(names.name(.sensor, sensor), code: diagnosis, value: Double(action), value2: Double(logit))
        case .modelAssist(let sensor, let assist, let rule, let statistic):
            return row(names.name(.sensor, sensor), code: assist.rawValue, value: Double(rule.rawValue), value2: statistic)
        case .alarm(let a):
            let category = Self.category(a.key.scope)
            var detail = category.rawValue
            if a.shelved { detail += " shelved" }
            if a.removed { detail += " removed" }
            return row(names.name(category, a.key.index), code: a.state.rawValue, value: Double(a.id),
                       value2: Double(a.severity.rawValue), detail: detail)
        case .interlockTripped(let limit, let value), .interlockCleared(let limit, let value),
             .limitCrossed(let limit, let value), .limitCleared(let limit, let value):
            return row(names.name(.limit, limit), value: value)
        case .controlHolding(let control, let value), .controlResumed(let control, let value):
            return row(names.name(.control, control), value: value)
        case .safeStateEntered(let reason), .safeStateLeft(let reason):
            return row(code: reason.rawValue, detail: reason.description)
        case .safeOutputsForced(let subject, let outputs):
            return row(names.name(subject), code: outputs, detail: subject.category.rawValue)
        case .commandApplied(let command):
            return row(code: command.rawValue)
        case .commandRefused(let command, let result):
            return row(code: command.rawValue, value: Double(result.rawValue))
        }
    }

    /// The event a row holds; nil for a kind this build does not know or a row it cannot read.
    public func decode(_ row: EventRow) -> ControllerEvent? {
        guard let kind = EventKind(rawValue: row.kindName) else { return nil }
        let words = row.detail?.split(separator: " ").map(String.init) ?? []
        let category = words.first.flatMap(SubjectTable.Category.init(rawValue:))
        func index(_ c: SubjectTable.Category) -> Int32? { row.subject.flatMap { names.index(c, $0) } }
        func subject(default fallback: [SubjectTable.Category]) -> EventSubject? {
            for c in category.map({ [$0] }) ?? fallback {
                if let i = index(c), let s = EventSubject(c, i) { return s }
            }
            return nil
        }
        func int32(_ v: Double) -> Int32? { v.isFinite && v >= Double(Int32.min) && v <= Double(Int32.max) ? Int32(v) : nil }
        switch kind {
        case .startup:
            return .started(periodNanoseconds: row.value.isFinite && row.value > 0 ? UInt64(row.value) : UInt64(max(0, row.code)) * 1000)
        case .shutdown:
            return .stopped
        case .overrun:
            return .overrun(lateNanoseconds: row.value.isFinite && row.value > 0 ? UInt64((row.value * 1e6).rounded()) : 0)
        case .overrunStorm:
            return .overrunStorm(consecutive: int32(row.value) ?? 0)
        case .watchdogStall:
            return .watchdogStall
        case .firstRound:
            let waited = row.value.isFinite && row.value > 0 ? UInt64(row.value) : 0
            return .firstRound(waitedNanoseconds: waited, unread: max(0, row.code), firstUnread: index(.sensor) ?? -1)
        case .detection, .findingCleared:
            guard let finding = FindingKind(rawValue: row.code) else { return nil }
            let c = FindingSubject.subjectCategory(of: finding)
            guard let i = index(c) else { return nil }
            let s: FindingSubject = c == .section ? .section(i) : c == .device ? .device(i) : .sensor(i)
            return kind == .detection ? .findingRaised(s, finding, statistic: row.value, threshold: row.value2) : .findingCleared(s, finding)
        case .diagnosis:
            guard let cause = RootCause(rawValue: row.code), let evidence = int32(row.value).flatMap(FindingKind.init(rawValue:)) else { return nil }
            let fallback: [SubjectTable.Category] = switch cause {
            case .deviceFault, .busFault: [.device, .sensor]
            case .processExcursion: [.group, .section, .sensor]
            case .sensorFault, .configurationError: [.sensor, .device, .group, .section]
            }
            guard let s = subject(default: fallback) else { return nil }
            let severity = words.count > 1 ? Self.severity(named: words[1]) : (row.severity >= .alarm ? .safety : .major)
            return .diagnosis(s, cause, evidence: evidence, statistic: row.value2, severity: severity ?? .major)
        case .healthChanged:
            guard let i = index(.sensor), let to = HealthState(rawValue: row.code),
                  let from = int32(row.value).flatMap(HealthState.init(rawValue:)) else { return nil }
            return .healthChanged(sensor: i, from: from, to: to)
        case .failover, .failback:
            guard let g = index(.group), let to = int32(row.value) else { return nil }
            return kind == .failover ? .failover(group: g, from: row.code, to: to, byOperator: row.value2 == 1)
                                     : .failback(group: g, from: row.code, to: to)
        case .repair:
            guard let strategy = RepairStrategy(rawValue: row.code), let s = subject(default: [.device, .group, .sensor]) else { return nil }
            let phase: RepairPhase = row.value > 0 ? .verified : row.value < 0 ? .failed : .started
            return .repair(s, strategy, phase)
        case .escalation:
            guard let reason = EscalationReason(rawValue: row.code), let s = subject(default: [.sensor, .device, .group, .section]) else { return nil }
            return .escalation(s, reason)
        case .modelVerdict:
            guard let i = index(.sensor) else { return nil }
            return .modelVerdict(sensor: i, diagnosis: row.code, action: int32(row.value) ?? -1, logit: int32(row.value2) ?? 0)
        case .modelAssist:
            guard let i = index(.sensor), let assist = ModelAssist(rawValue: row.code),
                  let rule = int32(row.value).flatMap(FindingKind.init(rawValue:)) else { return nil }
            return .modelAssist(sensor: i, assist, rule: rule, statistic: row.value2)
        case .alarm:
            guard let c = category, let scope = Self.scope(c), let i = index(c), let state = AlarmState(rawValue: row.code),
                  row.value.isFinite, row.value >= 0, let severity = int32(row.value2).flatMap(DiagnosisSeverity.init(rawValue:)) else { return nil }
            return .alarm(AlarmChange(id: UInt64(row.value), key: AlarmKey(scope: scope, index: i), state: state, severity: severity,
                                      shelved: words.contains("shelved"), removed: words.contains("removed")))
        case .interlockTripped, .interlockCleared, .limitCrossed, .limitCleared:
            guard let l = index(.limit) else { return nil }
            switch kind {
            case .interlockTripped: return .interlockTripped(limit: l, value: row.value)
            case .interlockCleared: return .interlockCleared(limit: l, value: row.value)
            case .limitCrossed: return .limitCrossed(limit: l, value: row.value)
            default: return .limitCleared(limit: l, value: row.value)
            }
        case .controlHolding, .controlResumed:
            guard let c = index(.control) else { return nil }
            return kind == .controlHolding ? .controlHolding(control: c, value: row.value) : .controlResumed(control: c, value: row.value)
        case .safeStateEntered, .safeStateLeft:
            guard let reason = SafeStateReason(rawValue: row.code) else { return nil }
            return kind == .safeStateEntered ? .safeStateEntered(reason) : .safeStateLeft(reason)
        case .safeOutputsForced:
            guard let s = subject(default: [.sensor, .group, .device]) else { return nil }
            return .safeOutputsForced(s, outputs: row.code)
        case .commandApplied:
            guard let c = CommandKind(rawValue: row.code) else { return nil }
            return .commandApplied(c)
        case .commandRefused:
            guard let c = CommandKind(rawValue: row.code), let r = int32(row.value).flatMap(CommandResult.init(rawValue:)) else { return nil }
            return .commandRefused(c, r)
        }
    }

    public static func category(_ scope: AlarmScope) -> SubjectTable.Category {
        switch scope {
        case .sensor: return .sensor
        case .device: return .device
        case .group: return .group
        case .section: return .section
        }
    }

    static func scope(_ category: SubjectTable.Category) -> AlarmScope? {
        switch category {
        case .sensor: return .sensor
        case .device: return .device
        case .group: return .group
        case .section: return .section
        default: return nil
        }
    }

    static func severityName(_ s: DiagnosisSeverity) -> String {
        switch s {
        case .minor: return "minor"
        case .major: return "major"
        case .safety: return "safety"
        }
    }

    static func severity(named name: String) -> DiagnosisSeverity? {
        DiagnosisSeverity.allCases.first { severityName($0) == name }
    }
}
