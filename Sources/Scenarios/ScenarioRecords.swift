import Kernel
import Monitor
import VigilCore

/// Turns the kernel's typed events into a scenario result's records: the one place the judge's
/// view of a run is built, whether the events came back from a journal or straight from the kernel.
enum ScenarioRecords {
    static func collect(_ events: [TimedEvent], names: SubjectTable, into result: inout ScenarioResult) {
        let text = EventText(names: names)
        for e in events {
            result.eventLog.append("cycle \(e.cycle)  \(e.severity.journalName)  \(text.describe(e.event))")
            let c = e.cycle
            let severity = e.severity.journalName
            switch e.event {
            case .findingRaised(let subject, let kind, let statistic, let threshold):
                result.detections.append(DetectionRecord(cycle: c, sensor: names.name(subject), kind: kind.scenarioName,
                                                         statistic: statistic, threshold: threshold, severity: severity))
            case .failover(let group, let from, let to, _):
                result.failovers.append(FailoverRecord(cycle: c, group: names.name(.group, group), from: names.name(.sensor, from),
                                                       to: names.name(.sensor, to)))
            case .repair(let subject, let strategy, let phase):
                result.repairs.append(RepairRecord(cycle: c, target: names.name(subject), strategy: strategy.scenarioName,
                                                   verified: phase == .verified))
            case .escalation(let subject, let reason):
                result.escalations.append(EscalationRecord(cycle: c, target: names.name(subject), reason: reason.scenarioName))
            case .interlockTripped(let limit, let value), .interlockCleared(let limit, let value):
                let tripped: Bool
                if case .interlockTripped = e.event { tripped = true } else { tripped = false }
                result.interlocks.append(InterlockRecord(cycle: c, id: names.name(.limit, limit), tripped: tripped, value: value))
            case .safeStateEntered(let reason):
                result.safeStates.append(SafeStateRecord(cycle: c, entered: true, reason: ScenarioRunner.name(reason)))
            case .safeStateLeft(let reason):
                result.safeStates.append(SafeStateRecord(cycle: c, entered: false, reason: ScenarioRunner.name(reason)))
                if reason == .startup, result.firstGoodCycle == nil { result.firstGoodCycle = c }
            case .diagnosis(let subject, let cause, let evidence, let statistic, _):
                result.diagnoses.append(DiagnosisRecord(cycle: c, target: names.name(subject), cause: String(describing: cause),
                                                        evidence: evidence.scenarioName, statistic: statistic, severity: severity))
            case .alarm(let a) where !a.removed && !result.alarms.contains(where: { $0.id == a.id }):
                let target = names.name(EventCodec.category(a.key.scope), a.key.index)
                result.alarms.append(AlarmRecord(cycle: c, id: a.id, target: target, priority: a.severity.scenarioName))
            case .alarm(let a) where !a.removed:
                // A later change may raise its priority: the record keeps the highest.
                if let k = result.alarms.firstIndex(where: { $0.id == a.id }), a.severity.scenarioName == "safety"
                    || (a.severity.scenarioName == "major" && result.alarms[k].priority == "minor") {
                    result.alarms[k].priority = a.severity.scenarioName
                }
            case .safeOutputsForced(let subject, let outputs):
                result.safeOutputsForced.append(SafeOutputsRecord(cycle: c, target: names.name(subject), outputs: Int(outputs)))
            default:
                break
            }
        }
    }
}
