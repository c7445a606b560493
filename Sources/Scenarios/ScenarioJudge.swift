import Foundation

/// Judges expectations against what a run recorded, each with one sentence a plant engineer can
/// read: "failover of discharge-pressure to PT-101B expected within 3 cycles of cycle 200:
/// happened at cycle 202 (+2)".
struct ScenarioJudge {
    let scenario: Scenario
    let result: ScenarioResult

    /// Events before the plant left start-up are start-up noise (interlocks trip on unread inputs).
    private var settled: UInt64 { result.firstGoodCycle ?? 0 }

    func judge(_ e: Expectation) -> ExpectationResult {
        switch e {
        case .failover(let group, let to, let within, let after, let afterDetection):
            var ref = after ?? scenario.firstFaultCycle
            var what = "failover of \(group)" + (to.map { " to \($0)" } ?? "")
            if afterDetection {
                let members = result.groups.first { $0.id == group }?.members ?? []
                guard let d = result.detections.first(where: { members.contains($0.sensor) && $0.cycle >= ref }) else {
                    return ExpectationResult(passed: false, sentence: "\(what) expected within \(within ?? 0) cycles of a detection on a member of \(group): no detection happened")
                }
                ref = d.cycle
                what += " (after the \(d.kind) detection on \(d.sensor))"
            }
            let hits = result.failovers.filter { $0.group == group && $0.cycle >= ref }
            let match = hits.first { to == nil || $0.to == to }
            let other = hits.first.flatMap { match == nil ? " (it failed over to \($0.to) at cycle \($0.cycle) instead)" : nil } ?? ""
            return windowed(what, ref: ref, within: within, at: match?.cycle, otherwise: other)
        case .noFailover(let group):
            let hits = result.failovers.filter { group == nil || $0.group == group }
            let what = "no failover" + (group.map { " of \($0)" } ?? "") + " expected"
            if let f = hits.first {
                return ExpectationResult(passed: false, sentence: "\(what): \(f.group) failed over from \(f.from) to \(f.to) at cycle \(f.cycle)"
                                         + (hits.count > 1 ? " (\(hits.count) failovers in all)" : ""))
            }
            return ExpectationResult(passed: true, sentence: "\(what): none happened")
        case .detection(let subject, let kind, let within, let after):
            let ref = after ?? scenario.firstFaultCycle
            let what = (kind.map { "\($0.scenarioName) detection" } ?? "a detection") + " on \(subject)"
            let hits = result.detections.filter { $0.sensor == subject && $0.cycle >= ref }
            let match = hits.first { kind == nil || $0.kind == kind!.scenarioName }
            let other = hits.first.flatMap { match == nil ? " (a \($0.kind) detection came at cycle \($0.cycle) instead)" : nil } ?? ""
            return windowed(what, ref: ref, within: within, at: match?.cycle, otherwise: other)
        case .noDetection(let subject, let kind):
            let what = "no " + (kind.map { "\($0.scenarioName) detection" } ?? "detection") + " on \(subject) expected"
            if let x = result.detections.first(where: { $0.sensor == subject && (kind == nil || $0.kind == kind!.scenarioName) }) {
                return ExpectationResult(passed: false, sentence: "\(what): \(x.kind) at cycle \(x.cycle) (statistic \(x.statistic), limit \(x.threshold))")
            }
            return ExpectationResult(passed: true, sentence: "\(what): none happened")
        case .escalation(let target, let reason, let within, let after):
            let ref = after ?? scenario.firstFaultCycle
            let what = "escalation about \(target)" + (reason.map { " (\($0.scenarioName))" } ?? "")
            let hits = result.escalations.filter { $0.target == target && $0.cycle >= ref }
            let match = hits.first { reason == nil || $0.reason == reason!.scenarioName }
            let other = hits.first.flatMap { match == nil ? " (one for \($0.reason) came at cycle \($0.cycle) instead)" : nil } ?? ""
            return windowed(what, ref: ref, within: within, at: match?.cycle, otherwise: other)
        case .noEscalation(let target):
            let hits = result.escalations.filter { (target == nil || $0.target == target) && $0.cycle >= settled }
            let what = "no escalation" + (target.map { " about \($0)" } ?? "") + " expected"
            if let x = hits.first {
                return ExpectationResult(passed: false, sentence: "\(what): \(x.target) escalated (\(x.reason)) at cycle \(x.cycle)")
            }
            return ExpectationResult(passed: true, sentence: "\(what): none happened")
        case .interlock(let id, let tripped, let within, let after, let cleared):
            return judgeInterlock(id, tripped: tripped, within: within, after: after, cleared: cleared)
        case .outputsWithin(let output, let lo, let hi, let from, let until):
            return judgeOutput(output, lo, hi, from: from, until: until)
        case .repair(let device, let strategy, let verified, let within, let after):
            let ref = after ?? scenario.firstFaultCycle
            let name = strategy?.scenarioName
            let what = "\(name ?? "a") repair of \(device)" + (verified == true ? " verified" : "")
            let hits = result.repairs.filter { $0.target == device && $0.cycle >= ref && (name == nil || $0.strategy == name!) }
            if verified == false {
                if let v = hits.first(where: \.verified) {
                    return ExpectationResult(passed: false, sentence: "\(what) expected never verified: verified at cycle \(v.cycle)")
                }
                return windowed(what + " (never verified)", ref: ref, within: within, at: hits.first?.cycle, otherwise: "")
            }
            let match = verified == true ? hits.first(where: \.verified) : hits.first
            let other = hits.first.flatMap { _ in match == nil ? " (started at cycle \(hits[0].cycle), not verified)" : nil } ?? ""
            return windowed(what, ref: ref, within: within, at: match?.cycle, otherwise: other)
        case .noRepair(let target, let strategy):
            let what = "no " + (strategy.map { "\($0.scenarioName) " } ?? "") + "repair" + (target.map { " of \($0)" } ?? "") + " expected"
            if let r = result.repairs.first(where: { (target == nil || $0.target == target) && (strategy == nil || $0.strategy == strategy!.scenarioName)
                                                     && $0.cycle >= settled }) {
                return ExpectationResult(passed: false, sentence: "\(what): \(r.strategy) of \(r.target) at cycle \(r.cycle)" + (r.verified ? ", verified" : ""))
            }
            return ExpectationResult(passed: true, sentence: "\(what): none happened")
        case .deviceState(let device, let backup, let minPoll, let at):
            let what = "\(device)" + (backup.map { " on its \($0 ? "backup" : "primary") path" } ?? "")
                + (minPoll.map { " polled every ≥ \($0) ms" } ?? "") + (at.map { " at cycle \($0)" } ?? " at the end")
            guard let d = result.deviceIDs.firstIndex(of: device) else { return ExpectationResult(passed: false, sentence: "\(what): no such device") }
            let sample = at.flatMap { c in result.samples.first { $0.cycle >= c } } ?? (at == nil ? result.samples.last : nil)
            guard let sample, d < sample.devicesOnBackup.count, d < sample.devicePollIntervals.count else {
                return ExpectationResult(passed: false, sentence: "\(what) expected: no sample")
            }
            let onBackup = sample.devicesOnBackup[d], interval = sample.devicePollIntervals[d]
            let seen = "cycle \(sample.cycle): \(onBackup ? "backup" : "primary") path, polled every \(interval) ms"
            let passed = (backup == nil || backup == onBackup) && (minPoll == nil || interval >= minPoll!)
            return ExpectationResult(passed: passed, sentence: "\(what) expected: \(seen)")
        case .readingsGood(let sensor, let from, let until):
            let start = from ?? settled
            let what = "\(sensor) readings expected good from cycle \(start)" + (until.map { " to \($0)" } ?? " to the end")
            guard let i = result.sensorIDs.firstIndex(of: sensor) else { return ExpectationResult(passed: false, sentence: "\(what): no such sensor") }
            let window = result.samples.filter { $0.cycle >= start && $0.cycle < (until ?? .max) }
            guard !window.isEmpty else { return ExpectationResult(passed: false, sentence: "\(what): no samples in that range") }
            let bad = window.filter { $0.sensors[i].isNaN }
            if let first = bad.first {
                return ExpectationResult(passed: false, sentence: "\(what): \(bad.count) of \(window.count) samples unusable, first at cycle \(first.cycle)")
            }
            return ExpectationResult(passed: true, sentence: "\(what): all \(window.count) samples good")
        case .failoverCount(let group, let lo, let hi):
            let hits = result.failovers.filter { (group == nil || $0.group == group) && $0.cycle >= settled }
            let what = "failovers" + (group.map { " of \($0)" } ?? "") + " expected " + Self.range(lo, hi)
            let passed = hits.count >= (lo ?? 0) && hits.count <= (hi ?? .max)
            let list = hits.prefix(5).map { "\($0.from) → \($0.to) at \($0.cycle)" }.joined(separator: ", ")
            return ExpectationResult(passed: passed, sentence: "\(what): \(hits.count)" + (hits.isEmpty ? "" : " (\(list)\(hits.count > 5 ? ", …" : ""))"))
        case .neverFailoverTo(let sensor, let group):
            let what = "no failover" + (group.map { " of \($0)" } ?? "") + " to \(sensor) expected"
            if let f = result.failovers.first(where: { $0.to == sensor && (group == nil || $0.group == group) }) {
                return ExpectationResult(passed: false, sentence: "\(what): \(f.group) failed over from \(f.from) to \(sensor) at cycle \(f.cycle)")
            }
            return ExpectationResult(passed: true, sentence: "\(what): none happened")
        case .activeSource(let group, let sensor, let at):
            let what = "\(group) on \(sensor)" + (at.map { " at cycle \($0)" } ?? " at the end") + " expected"
            guard let g = result.groupIDs.firstIndex(of: group) else { return ExpectationResult(passed: false, sentence: "\(what): no such group") }
            let sample = at.flatMap { c in result.samples.first { $0.cycle >= c } } ?? (at == nil ? result.samples.last : nil)
            guard let sample, g < sample.activeSources.count else { return ExpectationResult(passed: false, sentence: "\(what): no sample") }
            let active = sample.activeSources[g] ?? "none"
            return ExpectationResult(passed: active == sensor, sentence: "\(what): control followed \(active) at cycle \(sample.cycle)")
        case .diagnosis(let target, let cause, let within, let after):
            let ref = after ?? scenario.firstFaultCycle
            let what = (cause.map { "\($0.scenarioName) diagnosis" } ?? "a diagnosis") + " about \(target)"
            let hits = result.diagnoses.filter { $0.target == target && $0.cycle >= ref }
            let match = hits.first { cause == nil || $0.cause == cause!.scenarioName }
            let other = hits.first.flatMap { match == nil ? " (\($0.cause) came at cycle \($0.cycle) instead)" : nil } ?? ""
            return windowed(what, ref: ref, within: within, at: match?.cycle, otherwise: other)
        case .noDiagnosis(let target, let cause):
            let what = "no " + (cause.map { "\($0.scenarioName) diagnosis" } ?? "diagnosis") + (target.map { " about \($0)" } ?? "") + " expected"
            if let d = result.diagnoses.first(where: { (target == nil || $0.target == target) && (cause == nil || $0.cause == cause!.scenarioName)
                                                        && $0.cycle >= settled }) {
                return ExpectationResult(passed: false, sentence: "\(what): \(d.cause) about \(d.target) at cycle \(d.cycle) (\(d.evidence))")
            }
            return ExpectationResult(passed: true, sentence: "\(what): none happened")
        case .alarms(let target, let priority, let lo, let hi, let from):
            let start = from ?? settled
            let hits = result.alarms.filter { $0.cycle >= start && (target == nil || $0.target == target)
                && (priority == nil || $0.priority == priority!.scenarioName) }
            let what = (priority.map { "\($0.scenarioName) " } ?? "") + "alarms" + (target.map { " about \($0)" } ?? "")
                + " from cycle \(start) expected " + Self.range(lo, hi)
            let passed = hits.count >= (lo ?? 0) && hits.count <= (hi ?? .max)
            let list = hits.prefix(5).map { "#\($0.id) \($0.target) (\($0.priority)) at \($0.cycle)" }.joined(separator: ", ")
            return ExpectationResult(passed: passed, sentence: "\(what): \(hits.count)" + (hits.isEmpty ? "" : " (\(list)\(hits.count > 5 ? ", …" : ""))"))
        case .noLatchedOutputs(let outputs):
            let names = outputs.isEmpty ? result.outputIDs : outputs
            let what = (outputs.isEmpty ? "every output" : names.joined(separator: ", ")) + " expected never latched safe"
            let indices = names.compactMap { result.outputIDs.firstIndex(of: $0) }
            if let s = result.samples.first(where: { s in indices.contains { $0 < s.latchedOutputs.count && s.latchedOutputs[$0] } }) {
                let latched = indices.filter { $0 < s.latchedOutputs.count && s.latchedOutputs[$0] }.map { result.outputIDs[$0] }
                return ExpectationResult(passed: false, sentence: "\(what): \(latched.joined(separator: ", ")) latched at cycle \(s.cycle)")
            }
            if result.samples.allSatisfy({ $0.latchedOutputs.isEmpty }), let f = result.safeOutputsForced.first {
                return ExpectationResult(passed: false, sentence: "\(what): \(f.outputs) output(s) latched by a safety escalation about \(f.target) at cycle \(f.cycle)")
            }
            return ExpectationResult(passed: true, sentence: "\(what): none was")
        case .safeState(let expected):
            let entries = result.safeStates.filter { $0.entered && $0.reason != "startup" && $0.reason != "shutdown" && $0.cycle >= settled }
            let what = expected ? "a plant-wide safe state expected" : "no plant-wide safe state expected"
            if let s = entries.first {
                return ExpectationResult(passed: expected, sentence: "\(what): entered at cycle \(s.cycle) (\(s.reason))")
            }
            return ExpectationResult(passed: !expected, sentence: "\(what): none entered")
        }
    }

    /// "at least 1", "at most 2", "between 1 and 3", "exactly 0".
    static func range(_ lo: Int?, _ hi: Int?) -> String {
        switch (lo, hi) {
        case let (l?, h?) where l == h: return "exactly \(l)"
        case let (l?, h?): return "between \(l) and \(h)"
        case let (l?, nil): return "at least \(l)"
        case let (nil, h?): return "at most \(h)"
        case (nil, nil): return "in any number"
        }
    }

    /// The cycle a fault scheduled at `ref` really began (the runner's record, later than `ref`
    /// when the runner was late); `ref` itself when no fault was scheduled there.
    func appliedCycle(scheduledAt ref: UInt64) -> UInt64 {
        var applied = ref
        for (i, f) in scenario.faults.enumerated() where f.at == ref && i < result.injected.count {
            applied = max(applied, result.injected[i].startCycle)
        }
        return applied
    }

    /// "X expected within N cycles of cycle R: happened at cycle C (+d)", d counted from when the
    /// fault scheduled at R was really applied ("cycle R, applied at A").
    private func windowed(_ what: String, ref: UInt64, within: UInt64?, at cycle: UInt64?, otherwise: String) -> ExpectationResult {
        let applied = appliedCycle(scheduledAt: ref)
        let origin = applied == ref ? "cycle \(ref)" : "cycle \(ref) (applied at \(applied))"
        let expected = within.map { "\(what) expected within \($0) cycles of \(origin)" } ?? "\(what) expected after \(origin)"
        guard let cycle else { return ExpectationResult(passed: false, sentence: "\(expected): none happened" + otherwise) }
        let delta = cycle > applied ? cycle - applied : 0
        if let within, delta > within {
            return ExpectationResult(passed: false, sentence: "\(expected): happened at cycle \(cycle) (+\(delta)), too late")
        }
        return ExpectationResult(passed: true, sentence: "\(expected): happened at cycle \(cycle) (+\(delta))")
    }

    private func judgeInterlock(_ id: String, tripped: Bool, within: UInt64?, after: UInt64?, cleared: Bool?) -> ExpectationResult {
        let events = result.interlocks.filter { $0.id == id && $0.cycle >= settled }
        let endTripped = result.samples.last?.trippedInterlocks.contains(id) ?? false
        if !tripped {
            if let t = events.first(where: \.tripped) {
                return ExpectationResult(passed: false, sentence: "interlock \(id) expected not to trip: tripped at cycle \(t.cycle) (value \(format(t.value)))")
            }
            if endTripped {
                return ExpectationResult(passed: false, sentence: "interlock \(id) expected not to trip: tripped at the end of the run")
            }
            return ExpectationResult(passed: true, sentence: "interlock \(id) expected not to trip: it did not")
        }
        let ref = after ?? scenario.firstFaultCycle
        let trip = events.first { $0.tripped && $0.cycle >= ref }
        var r = windowed("interlock \(id) trip", ref: ref, within: within, at: trip?.cycle, otherwise: "")
        if let trip { r.sentence += " (value \(format(trip.value)))" }
        if let cleared, let trip {
            let clear = events.first { !$0.tripped && $0.cycle > trip.cycle }
            switch (cleared, endTripped) {
            case (true, false):
                r.sentence += clear.map { ", cleared at cycle \($0.cycle)" } ?? ", clear at the end"
            case (true, true):
                r.passed = false
                r.sentence += ", but still tripped at the end of the run (expected to clear)"
            case (false, true):
                r.sentence += ", still tripped at the end"
            case (false, false):
                r.passed = false
                r.sentence += ", but cleared" + (clear.map { " at cycle \($0.cycle)" } ?? "") + " (expected to stay tripped)"
            }
        }
        return r
    }

    private func judgeOutput(_ output: String, _ lo: Double, _ hi: Double, from: UInt64?, until: UInt64?) -> ExpectationResult {
        let start = from ?? settled
        let end = until ?? UInt64.max
        let what = "\(output) expected within [\(format(lo)), \(format(hi))] from cycle \(start)" + (until.map { " to \($0)" } ?? " to the end")
        guard let index = result.outputIDs.firstIndex(of: output) else {
            return ExpectationResult(passed: false, sentence: "\(what): no such output")
        }
        let window = result.samples.filter { $0.cycle >= start && $0.cycle < end }
        guard !window.isEmpty else { return ExpectationResult(passed: false, sentence: "\(what): no samples in that range") }
        let outside = window.filter { !($0.outputs[index] >= lo && $0.outputs[index] <= hi) }
        if let first = outside.first {
            return ExpectationResult(passed: false, sentence: "\(what): \(outside.count) of \(window.count) samples outside, first at cycle \(first.cycle) = \(format(first.outputs[index]))")
        }
        let values = window.map { $0.outputs[index] }
        return ExpectationResult(passed: true, sentence: "\(what): all \(window.count) samples within (\(format(values.min()!))…\(format(values.max()!)))")
    }
}

func format(_ v: Double) -> String {
    if v.isNaN { return "NaN" }
    if v == v.rounded() && abs(v) < 1e9 { return String(Int(v)) }
    return String(format: "%.3g", v)
}
