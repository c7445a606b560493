import VigilCore
import Monitor
import Policy

/// Events in words, one line each, for the people reading the log at 3 a.m., the console and
/// replay reports. The only place an event becomes a sentence.
public struct EventText: Sendable {
    public let names: SubjectTable

    public init(names: SubjectTable) { self.names = names }

    /// One line: what happened, to what, and the numbers.
    public func describe(_ event: ControllerEvent) -> String {
        switch event {
        case .started(let period): return "cycle running, period \(Self.number(Double(period) / 1e6)) ms"
        case .stopped: return "orderly shutdown: outputs commanded safe"
        case .overrun(let late): return "cycle overrun: finished \(Self.number(Double(late) / 1e6)) ms after its deadline"
        case .overrunStorm(let n): return "OVERRUN STORM: \(n) overruns in a row; outputs to safe state"
        case .watchdogStall: return "WATCHDOG: the cycle stalled; outputs forced to safe state"
        case .firstRound(let waited, let unread, let first):
            let after = "after \(Self.number(Double(waited) / 1e6)) ms"
            if unread == 0 { return "start-up: every Modbus sensor read once \(after); the monitor starts judging" }
            return "START-UP: \(names.name(.sensor, first))" + (unread > 1 ? " and \(unread - 1) more sensor(s)" : "")
                + " still unread \(after), past the first round's deadline; the monitor starts judging anyway"
        case .findingRaised(let subject, let kind, let statistic, let threshold):
            if kind == .dropout {
                // A dropout is silence (its statistic in nanoseconds of plant time) or a run of bad readings (a count).
                if threshold >= 1_000_000 {
                    return "detection \(names.name(subject)): dropout, silent \(Self.number(statistic / 1e6)) ms (limit \(Self.number(threshold / 1e6)) ms)"
                }
                return "detection \(names.name(subject)): dropout, \(Self.number(statistic)) bad readings in a row (limit \(Self.number(threshold)))"
            }
            return "detection \(names.name(subject)): \(Self.finding(kind)) \(Self.number(statistic)) (threshold \(Self.number(threshold)))"
        case .findingCleared(let subject, let kind):
            return "cleared \(names.name(subject)): \(Self.finding(kind)) back to normal"
        case .diagnosis(let subject, let cause, let evidence, _, let severity):
            let s = severity == .safety ? ", SAFETY" : ""
            return "diagnosis \(names.name(subject)): \(Self.cause(cause)) (\(Self.finding(evidence))\(s))"
        case .healthChanged(let sensor, let from, let to):
            return "health \(names.name(.sensor, sensor)): \(from) → \(to)"
        case .failover(let group, let from, let to, let byOperator):
            return "failover \(names.name(.group, group)): \(names.name(.sensor, from)) → \(names.name(.sensor, to))" + (byOperator ? " (operator)" : "")
        case .failback(let group, _, let to):
            return "failback \(names.name(.group, group)) to \(names.name(.sensor, to))"
        case .repair(let subject, let strategy, let phase):
            let outcome = switch phase {
            case .started: "started"
            case .verified: "verified"
            case .failed: "FAILED"
            }
            return "repair \(names.name(subject)): \(Self.strategy(strategy)) \(outcome)"
        case .escalation(let subject, let reason):
            return "ESCALATION \(names.name(subject)): \(Self.reason(reason))"
        case .modelVerdict(let sensor, let diagnosis, let action, _):
            return "model verdict \(names.name(.sensor, sensor)): \(Self.label(diagnosis, PolicyLabels.diagnoses)), recommends \(Self.label(action, PolicyLabels.actions))"
        case .modelAssist(let sensor, let assist, let rule, _):
            let what = assist == .suppressedFalseAlarm ? "held back a known false alarm" : "attributed the pair's disagreement to it"
            return "model assist \(names.name(.sensor, sensor)): \(what) (\(Self.finding(rule)))"
        case .alarm(let a):
            let subject = names.name(EventCodec.category(a.key.scope), a.key.index)
            if a.removed { return "alarm \(a.id) \(subject): removed from the list" }
            return "alarm \(a.id) \(subject): \(a.state)\(a.shelved ? ", shelved" : "") (\(EventCodec.severityName(a.severity)))"
        case .interlockTripped(let limit, let value): return "INTERLOCK TRIPPED \(names.name(.limit, limit)) (value \(Self.number(value)))"
        case .interlockCleared(let limit, let value): return "interlock cleared \(names.name(.limit, limit)) (value \(Self.number(value)))"
        case .limitCrossed(let limit, let value): return "limit crossed \(names.name(.limit, limit)) (value \(Self.number(value)))"
        case .limitCleared(let limit, let value): return "limit back inside \(names.name(.limit, limit)) (value \(Self.number(value)))"
        case .controlHolding(let control, _): return "control \(names.name(.control, control)) holds its output: its input is not good"
        case .controlResumed(let control, _): return "control \(names.name(.control, control)) resumed"
        case .safeStateEntered(let reason): return "outputs to SAFE STATE: \(reason)"
        case .safeStateLeft(let reason): return "safe state cleared: \(reason)"
        case .safeOutputsForced(let subject, let n):
            return "SAFE OUTPUTS forced by a safety escalation about \(names.name(subject)): \(n) output\(n == 1 ? "" : "s")"
        case .commandApplied(let c): return "command applied: \(c)"
        case .commandRefused(let c, let r): return "command refused: \(c): \(r)"
        }
    }

    /// A policy model class or action by its name (the shipped model's lists); a number outside them stays a number.
    static func label(_ index: Int32, _ names: [String]) -> String {
        index >= 0 && Int(index) < names.count ? names[Int(index)].replacing("_", with: " ") : "#\(index)"
    }

    /// A number as people read it: up to four significant digits.
    public static func number(_ v: Double) -> String {
        guard v.isFinite else { return v.isNaN ? "-" : v > 0 ? "∞" : "-∞" }
        if v == v.rounded() && abs(v) < 1e9 { return String(Int64(v)) }
        let magnitude = abs(v)
        let decimals = magnitude >= 1000 ? 0 : magnitude >= 100 ? 1 : magnitude >= 10 ? 2 : magnitude >= 1 ? 3 : magnitude >= 0.01 ? 4 : 6
        var text = String(v.rounded(toPlaces: decimals))
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    public static func finding(_ k: FindingKind) -> String {
        switch k {
        case .outOfRange: return "out of range"
        case .stuck: return "stuck"
        case .rateOfChange: return "rate of change"
        case .spike: return "spike"
        case .noise: return "noise"
        case .drift: return "drift"
        case .dropout: return "dropout"
        case .latency: return "latency"
        case .disagreement: return "disagreement"
        case .deviceTimeouts: return "device timeouts"
        case .deviceExceptions: return "device exceptions"
        case .deviceCRCErrors: return "CRC errors"
        case .deviceDisconnected: return "disconnected"
        case .deviceLatencyTrend: return "latency trend"
        case .multivariateT2: return "T² (equipment)"
        case .multivariateSPE: return "SPE (sensor vs model)"
        }
    }

    public static func cause(_ c: RootCause) -> String {
        switch c {
        case .sensorFault: return "sensor fault"
        case .deviceFault: return "device fault"
        case .busFault: return "bus fault"
        case .processExcursion: return "process excursion"
        case .configurationError: return "configuration error"
        }
    }

    public static func strategy(_ s: RepairStrategy) -> String {
        switch s {
        case .failoverToBackup: return "failover to backup"
        case .holdLastGood: return "hold last good value"
        case .reconnect: return "reconnect"
        case .switchToBackupGateway: return "switch path"
        case .slowPolling: return "slow polling"
        case .groupSafeAction: return "group safe action"
        }
    }

    public static func reason(_ r: EscalationReason) -> String {
        switch r {
        case .safetyLimit: return "safety limit"
        case .policyViolation: return "policy violation"
        case .modelError: return "model error"
        case .repairFailed: return "repair failed"
        case .noHealthySource: return "no healthy source"
        case .configurationError: return "configuration error"
        case .unresolvedDisagreement: return "unresolved disagreement"
        case .interventionPolicy: return "operator decides (policy)"
        }
    }
}

extension Double {
    func rounded(toPlaces places: Int) -> Double {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        return (self * scale).rounded() / scale
    }
}
