import Foundation
import Dispatch
import Synchronization
import VigilCore
import Monitor
import Policy
import Journal
import Kernel
import Runtime
import Console
import CRuntime

/// The console's view of a running controller: snapshots and the journal for viewing, the cycle's
/// command queue (with receipts) for alarm handling and control, the policy service for teaching,
/// the model store for rollback, the journal's audit log for every command. Runs on the console's
/// thread, never the cycle's (hence unchecked Sendable: one thread uses it at a time).
final class ControllerConsole: ConsoleBackend, @unchecked Sendable {
    let controller: Controller
    let plant: PlantConfig
    let store: ModelStore?
    private var journal: Journal { controller.journal }
    /// Which alarms were announced, and at what severity.
    private var announcer = AlarmAnnouncer<DiagnosisSeverity>()
    private var announcedModel: UInt32?
    private var newsPrimed = false
    /// Results of model updates asked for from this console, waiting to be announced (learner thread → console thread).
    private let updateNews = Mutex<[String]>([])
    /// Outputs put in manual from this console (their loops do not publish their mode).
    private var manualOutputs: Set<String> = []
    /// Set when a command's audit entry was committed in the same transaction as what it did
    /// (feedback, rollback): the first words of that command. The session's next `audit` call,
    /// when it is for that command, then writes nothing; any other is written as usual.
    private var auditedWithCommand: [String]?
    private var recorder: AuditRecorder
    /// System alarms already announced (their sequence numbers).
    private var announcedSystem: Set<Int> = []

    private let text: EventText

    init(controller: Controller, store: ModelStore?) {
        self.controller = controller
        text = EventText(names: controller.subjects)
        self.plant = controller.plant
        self.store = store ?? controller.modelRegistry
        recorder = AuditRecorder(journal: controller.journal)
    }

    private var wallNanoseconds: Int64 { Int64(Date().timeIntervalSince1970 * 1e9) }

    // MARK: Viewing

    func status() -> String {
        let s = controller.snapshot(), t = s.timing
        var lines: [String] = []
        // Lines short enough for an 80-column terminal.
        lines.append(String(format: "plant %@   cycle %llu   period %.1f ms", plant.name, s.cycle, Double(plant.cycle.periodMicroseconds) / 1000))
        lines.append(String(format: "lateness p99 %.0f µs (max %.0f)   overruns %llu (storms %llu)   watchdog stalls %d",
                            t.latenessP99Microseconds, t.latenessMaxMicroseconds, t.overruns, t.overrunStorms, s.watchdogStalls))
        lines.append("safe state: " + (s.safeStateReasons.isEmpty ? "no" : "YES (" + s.safeStateReasons.map(\.description).joined(separator: ", ") + ")")
                     + "   interlocks tripped: " + (s.trippedInterlocks.isEmpty ? "none" : s.trippedInterlocks.joined(separator: ", ")))
        let trust = s.trustScore.map { String(format: "%.2f", $0) } ?? "- (no repairs or escalations yet)"
        let model = controller.policyModelVersion.map { "v\($0) (\(plant.monitor.policyModel.assist ? "assisting the monitor" : "advisory"))" } ?? "none"
        lines.append("alarms: \(s.annunciatedAlarms) shown, \(s.activeAlarms) active   trust score: \(trust)")
        for a in controller.systemAlarms.active { lines.append("SYSTEM ALARM: \(a.text)") }
        lines.append("policy model: \(model)" + (s.journalDropped > 0 ? "   journal events dropped: \(s.journalDropped)" : ""))
        let manual = s.groupIDs.compactMap { g in s.operatorSource(g).map { "\(g) on \($0)" } } + manualOutputs.sorted().map { "\($0) manual" }
        if !manual.isEmpty { lines.append("manual: " + manual.joined(separator: ", ")) }
        return lines.joined(separator: "\n")
    }

    func sensors(group: String?) -> ConsoleOutcome {
        let s = controller.snapshot()
        var members: Set<String>? = nil
        var groups = plant.redundancyGroups
        if let group {
            guard let g = plant.redundancyGroups.first(where: { $0.id == group }) else {
                return .refused("no redundancy group '\(group)'; groups: \(plant.redundancyGroups.map(\.id).joined(separator: ", "))")
            }
            members = Set(g.members)
            groups = [g]
        }
        let activeSet = Set(s.groupIDs.compactMap { s.activeSource($0) })
        var rows = [["SENSOR", "VALUE", "UNIT", "QUALITY", "HEALTH", ""]]
        for (i, sensor) in plant.sensors.enumerated() where i < s.sensors.count && (members?.contains(sensor.id) ?? true) {
            let r = s.sensors[i]
            rows.append([sensor.id, r.value.isNaN ? "-" : String(format: "%.3f", r.value), sensor.unit ?? "", r.quality.description,
                         i < s.health.count ? s.health[i].description : "-", activeSet.contains(sensor.id) ? "*active" : ""])
        }
        var text = table(rows)
        if !groups.isEmpty {
            var g = [["GROUP", "VALUE", "QUALITY", "ACTIVE SOURCE", "MODE"]]
            for group in groups {
                let r = s.group(group.id) ?? .unread
                g.append([group.id, r.value.isNaN ? "-" : String(format: "%.3f", r.value), r.quality.description,
                          s.activeSource(group.id) ?? "-", s.operatorSource(group.id) == nil ? "auto" : "manual (operator)"])
            }
            text += "\n\n" + table(g)
        }
        return .done(text)
    }

    func alarms() -> String {
        let list = controller.alarms().filter { $0.state != .cleared }
        let system = controller.systemAlarms.active.map { "SYSTEM ALARM (\($0.key)): \($0.text)" }
        guard !list.isEmpty else { return system.isEmpty ? "no open alarms" : system.joined(separator: "\n") }
        let now = vigil_rt_monotonic_ns()
        var rows = [["ALARM", "STATE", "SEVERITY", "SUBJECT", "DIAGNOSIS", "SINCE", "COUNT", "EVIDENCE"]]
        for a in list {
            var state: String
            switch a.state {
            case .unacknowledged: state = "UNACK"
            case .acknowledged: state = "ack"
            case .returnedUnacknowledged: state = "RTN unack"
            case .cleared: state = "cleared"
            }
            if a.isShelved { state += ", shelved \(max(0, Int((Int64(a.shelvedUntilNanoseconds) - Int64(now)) / 1_000_000_000))) s" }
            let diagnosis = Self.cause(a.cause) + (a.reason.map { ", " + Self.reason($0) } ?? "") + " → " + Self.decision(a.decision)
            let since = now > a.firstRaisedNanoseconds ? Self.age(now - a.firstRaisedNanoseconds) : "-"
            rows.append(["\(a.id)", state, "\(a.severity)", subject(of: a.key), diagnosis, since,
                         "\(a.occurrences)" + (a.absorbedAlarms > 0 ? " (+\(a.absorbedAlarms) folded in)" : ""), evidence(a)])
        }
        return (system + [table(rows)]).joined(separator: "\n")
    }

    func events(limit: Int) -> String {
        let events: [StoredEvent]
        do { events = try journal.recentEvents(limit: limit, minSeverity: .info, kinds: Self.interestingKinds) } catch {
            return "the journal cannot be read: \(error)"
        }
        guard !events.isEmpty else { return "no events yet" }
        return events.reversed().map(describe).joined(separator: "\n")
    }

    func explain(event id: Int64) -> ConsoleOutcome {
        let found: StoredEvent?
        do { found = try journal.event(id) } catch { return .refused("the journal cannot be read: \(error)") }
        guard let e = found else { return .refused("no event \(id) (it may have been pruned); 'events' lists recent ones") }
        var lines = ["event " + describe(e)]
        // The findings, diagnoses and health changes of the same subject in the 30 s before it (and 2 s after).
        if let subject = e.subject {
            let related = (try? journal.events(after: max(0, id - 2000), kinds: Self.evidenceKinds, limit: 4000)) ?? []
            let from = e.monotonicNanoseconds &- min(e.monotonicNanoseconds, 30_000_000_000)
            let through = e.monotonicNanoseconds &+ 2_000_000_000
            let window = related.filter { (r: StoredEvent) -> Bool in
                r.subject == subject && r.id != id && r.monotonicNanoseconds >= from && r.monotonicNanoseconds <= through
            }
            if window.isEmpty {
                lines.append("no detector findings on \(subject) around it")
            } else {
                lines.append("evidence on \(subject) (30 s before, 2 s after):")
                // Collapse repeats: the same kind and code counted once with its last statistic.
                var seen: [String: (count: Int, last: StoredEvent)] = [:], order: [String] = []
                for w in window {
                    let key = "\(w.kindName)/\(w.code)"
                    if seen[key] == nil { order.append(key) }
                    seen[key] = ((seen[key]?.count ?? 0) + 1, w)
                }
                for key in order.suffix(12) {
                    let (count, last) = seen[key]!
                    lines.append("  " + evidenceLine(last) + (count > 1 ? "  (×\(count))" : ""))
                }
            }
            if let i = plant.sensors.firstIndex(where: { $0.id == subject }) {
                let s = controller.snapshot()
                lines.append("now: \(subject) is \(i < s.health.count ? s.health[i].description : "-"), reading \(s.sensors[i].quality)")
            }
        }
        // What the policy model saw and said.
        if let f = try? journal.eventFeatures(id) {
            let verdict = f.diagnosis.map { "\($0)" } ?? "no verdict"
            lines.append("policy model\(f.modelVersion.map { " v\($0)" } ?? ""): \(verdict)"
                         + (f.action.map { ", recommends \($0)" } ?? "") + (f.margin.map { ", margin \($0) (int8 steps)" } ?? "")
                         + ", \(f.samples.count) samples stored for feedback")
            if let last = f.samples.last {
                let named = zip(SensorFeatures.names, last).sorted { abs($0.1) > abs($1.1) }.prefix(5)
                lines.append("  strongest features: " + named.map { String(format: "%@ %.2f", $0.0, $0.1) }.joined(separator: ", "))
            }
            lines.append("  teach it: 'feedback \(id) confirm', 'feedback \(id) false-alarm' or 'feedback \(id) class CLASS'")
        } else if e.kind == .modelVerdict || e.subject.map({ s in plant.sensors.contains { $0.id == s } }) == true {
            let recent = vigil_rt_monotonic_ns() < e.monotonicNanoseconds &+ 10_000_000_000
            lines.append(recent ? "policy model: its samples for this event are still being stored (a second or two); feedback is refused until then"
                                : "policy model: no samples stored for this event (only sensor events after the model's warm-up have them)")
        }
        return .done(lines.joined(separator: "\n"))
    }

    // MARK: Alarm handling

    func acknowledge(alarm id: UInt64, by: ConsoleActor) -> ConsoleOutcome {
        switch controller.execute(.acknowledgeAlarm(id: id)) {
        case .applied: return .done("alarm \(id) acknowledged")
        case .unchanged: return .done("alarm \(id) was acknowledged already")
        case let r: return .refused("alarm \(id): \(r)")
        }
    }

    func shelve(alarm id: UInt64, seconds: Int, reason: String, by: ConsoleActor) -> ConsoleOutcome {
        switch controller.execute(.shelveAlarm(id: id, seconds: seconds)) {
        case .applied: return .done("alarm \(id) shelved for \(Self.age(UInt64(seconds) * 1_000_000_000)): \(reason)")
        case .shelveTooLong: return .refused("alarm \(id): shelving is limited to \(Self.age(controller.maximumShelveNanoseconds))")
        case let r: return .refused("alarm \(id): \(r)")
        }
    }

    func unshelve(alarm id: UInt64, by: ConsoleActor) -> ConsoleOutcome {
        let r = controller.execute(.unshelveAlarm(id: id))
        return r == .applied ? .done("alarm \(id) shown again") : .refused("alarm \(id): \(r)")
    }

    // MARK: Teaching

    func feedback(event id: Int64, verdict: ConsoleVerdict, note: String, by: ConsoleActor) -> ConsoleOutcome {
        let v: FeedbackVerdictInput
        let words: String
        switch verdict {
        case .confirm: v = .confirm; words = "confirm"
        case .falseAlarm: v = .falseAlarm; words = "false-alarm"
        case .correctClass(let c): v = .correct(c); words = "class \(c)"
        case .withdraw: return withdraw(event: id, by: by)
        }
        return teach(event: id, command: "feedback \(id) \(words)" + (note.isEmpty ? "" : " \(note)"),
                     FeedbackInput(verdict: v, note: note, operatorName: Self.operatorName(by), wallNanoseconds: wallNanoseconds), by: by)
    }

    func rate(event id: Int64, good: Bool, note: String, by: ConsoleActor) -> ConsoleOutcome {
        teach(event: id, command: "rate \(id) \(good ? "good" : "bad")" + (note.isEmpty ? "" : " \(note)"),
              FeedbackInput(verdict: .confirm, rating: good ? .good : .bad, note: note, operatorName: Self.operatorName(by),
                            wallNanoseconds: wallNanoseconds), by: by)
    }

    /// The first `n` words of a command line, lower-cased.
    static func words(_ line: String, _ n: Int) -> [String] {
        line.split(whereSeparator: \.isWhitespace).prefix(n).map { $0.lowercased() }
    }

    /// Who gave a verdict: one verdict per event and this name.
    static func operatorName(_ by: ConsoleActor) -> String { "\(by.source) \(by.role)" }

    /// The audit entry of a command whose audit commits with what it does, as the session would write it.
    private func auditEntry(_ command: String, _ outcome: ConsoleOutcome, by: ConsoleActor) -> AuditEntry {
        AuditEntry(wallNanoseconds: wallNanoseconds, source: by.source, command: String(command.prefix(200)),
                   result: (outcome.isDone ? "ok: " : "refused: ") + String(outcome.text.prefix(200)).split(separator: "\n").joined(separator: " | "),
                   role: by.role.description)
    }

    /// Stores the feedback with its audit entry (one transaction, durable before the reply) and asks
    /// the learner for a model update; the update's result is announced as news when the learner
    /// has run it, never awaited here. Nothing on this path waits: feedback on an event whose
    /// samples are not stored yet (within a second or two of it) is refused with a "say it again".
    private func teach(event id: Int64, command: String, _ input: FeedbackInput, by: ConsoleActor) -> ConsoleOutcome {
        guard let policy = controller.policy else {
            let why = controller.policyModelAbsence.map { " (\($0))" } ?? ""
            return .refused("no policy model is running on this controller\(why); the feedback was not stored")
        }
        if (try? journal.eventFeatures(id)) == nil, let e = try? journal.event(id),
           vigil_rt_monotonic_ns() < e.monotonicNanoseconds &+ 10_000_000_000 {
            return .refused("event \(id)'s feature samples are still being stored (a second or two after the event); "
                            + "nothing was stored: give the verdict again in a moment")
        }
        // The reply is known before the write but for the feedback id: the audit row says the same.
        let receipt: FeedbackReceipt
        do throws(PolicyLearningError) {
            let audit = auditEntry(command, .done("feedback on event \(id) stored (\(input.verdict), by \(input.operatorName))"), by: by)
            receipt = try policy.recordFeedback(event: id, input, audit: audit)
            auditedWithCommand = Self.words(command, 2)
        } catch {
            return .refused("feedback on event \(id) not taken: \(error)")
        }
        let feedbackID = receipt.feedbackID
        policy.requestUpdate(wallNanoseconds: input.wallNanoseconds) { [self] result in
            let summary = switch result {
            case .success(let update): update.summary
            case .failure(let error): "update failed: \(error)"
            }
            updateNews.withLock { $0.append("model update after feedback \(feedbackID): \(summary)") }
        }
        let text = "feedback \(receipt.feedbackID) stored: \(receipt.sensor) labelled \(receipt.label) (\(receipt.samples) samples, \(receipt.bucket))"
            + (receipt.modelSaid.map { "; the model had said \($0)" } ?? "")
            + (receipt.replaced.map { "; it replaces your earlier verdict \($0) on event \(id)" } ?? "")
            + "\nmodel update queued: the learner runs it beside the plant at low priority and its result is announced here"
        return .done(text)
    }

    private func withdraw(event id: Int64, by: ConsoleActor) -> ConsoleOutcome {
        guard let policy = controller.policy, let learning = policy.learning else {
            return .refused("no policy model learns on this controller: there is no feedback to withdraw")
        }
        let name = Self.operatorName(by)
        do throws(PolicyLearningError) {
            let withdrawn = try learning.withdrawFeedback(event: id, operatorName: name,
                                                          audit: auditEntry("feedback \(id) withdraw", .done("feedback on event \(id) withdrawn"), by: by))
            auditedWithCommand = ["feedback", "\(id)"]
            return .done("feedback \(withdrawn) on event \(id) withdrawn: its samples are deleted and no later update learns from it")
        } catch {
            return .refused("feedback on event \(id) not withdrawn: \(error)")
        }
    }

    // MARK: Control

    private func interlocksHolding(on subjects: Set<String>, outputs: Set<String> = []) -> [String] {
        let tripped = Set(controller.snapshot().trippedInterlocks)
        return plant.limits.filter { tripped.contains($0.id) && (subjects.contains($0.subject) || !outputs.isDisjoint(with: $0.safeOutputs)) }.map(\.id)
    }

    func checkFailover(group: String, sensor: String) -> ConsoleOutcome {
        guard let g = plant.redundancyGroups.first(where: { $0.id == group }) else { return .refused("no redundancy group '\(group)'") }
        guard g.members.contains(sensor) else { return .refused("\(sensor) is not a member of \(group) (members: \(g.members.joined(separator: ", ")))") }
        guard controller.hasMonitor else { return .refused("the self-healing monitor is not running: sources are not selected") }
        let holding = interlocksHolding(on: Set(g.members + [group]))
        guard holding.isEmpty else { return .refused("refused: interlock \(holding.joined(separator: ", ")) holds on \(group)") }
        let s = controller.snapshot()
        let health = s.health(sensor).map(\.description) ?? "-"
        let reading = s.sensor(sensor).map { $0.value.isNaN ? "-" : String(format: "%.3f", $0.value) } ?? "-"
        return .done("Put \(group)'s control on \(sensor) (now \(health), reading \(reading); active now: \(s.activeSource(group) ?? "-"))? "
                     + "Control follows \(sensor) alone until 'release \(group)'.")
    }

    func failover(group: String, sensor: String, by: ConsoleActor) -> ConsoleOutcome {
        if case .refused(let why) = checkFailover(group: group, sensor: sensor) { return .refused(why) }
        guard let g = plant.redundancyGroups.firstIndex(where: { $0.id == group }),
              let s = plant.sensors.firstIndex(where: { $0.id == sensor }) else { return .refused("unknown group or sensor") }
        let r = controller.execute(.forceSource(group: g, sensor: s))
        return r == .applied ? .done("\(group) now follows \(sensor) (manual); 'release \(group)' gives it back to automatic")
                             : .refused("failover \(group) \(sensor): \(r)")
    }

    func release(group: String, by: ConsoleActor) -> ConsoleOutcome {
        guard let g = plant.redundancyGroups.firstIndex(where: { $0.id == group }) else { return .refused("no redundancy group '\(group)'") }
        switch controller.execute(.releaseSource(group: g)) {
        case .applied: return .done("\(group) back to automatic source selection")
        case .unchanged: return .done("\(group) was in automatic already")
        case let r: return .refused("release \(group): \(r)")
        }
    }

    private func pidControl(for output: String) -> (index: Int, law: PIDLaw)? {
        for (i, c) in plant.controls.enumerated() where c.output == output {
            if case .pid(let law) = c.law { return (i, law) }
        }
        return nil
    }

    func checkOutput(name: String, value: Double) -> ConsoleOutcome {
        guard plant.outputs.contains(where: { $0.id == name }) else {
            return .refused("no output '\(name)'; outputs: \(plant.outputs.map(\.id).joined(separator: ", "))")
        }
        guard let (_, law) = pidControl(for: name) else {
            return .refused("\(name) is not driven by a PID loop; only PID loops have a manual mode")
        }
        guard value >= law.outputMin && value <= law.outputMax else {
            return .refused(String(format: "%@ takes %g to %g, not %g", name, law.outputMin, law.outputMax, value))
        }
        let s = controller.snapshot()
        guard !s.inSafeState else { return .refused("refused: the plant is in safe state (\(s.safeStateReasons.map(\.description).joined(separator: ", ")))") }
        let holding = interlocksHolding(on: [], outputs: [name])
        guard holding.isEmpty else { return .refused("refused: interlock \(holding.joined(separator: ", ")) holds \(name) safe") }
        let now = s.output(name).map { String(format: "%g", $0) } ?? "-"
        return .done("Put \(name) in manual and drive it from \(now) to \(String(format: "%g", value))?")
    }

    func output(name: String, value: Double, by: ConsoleActor) -> ConsoleOutcome {
        if case .refused(let why) = checkOutput(name: name, value: value) { return .refused(why) }
        guard let (control, _) = pidControl(for: name) else { return .refused("\(name) has no PID loop") }
        let mode = controller.execute(.setMode(control: control, .manual))
        guard mode == .applied else { return .refused("output \(name): \(mode)") }
        let set = controller.execute(.setManualOutput(control: control, value: value))
        guard set == .applied else { return .refused("output \(name): \(set)") }
        manualOutputs.insert(name)
        return .done(String(format: "%@ in manual at %g; 'auto %@' gives it back to its loop", name, value, name))
    }

    func auto(name: String, by: ConsoleActor) -> ConsoleOutcome {
        guard let (control, _) = pidControl(for: name) else { return .refused("\(name) is not driven by a PID loop") }
        let r = controller.execute(.setMode(control: control, .auto))
        guard r == .applied else { return .refused("auto \(name): \(r)") }
        manualOutputs.remove(name)
        return .done("\(name) back under its control loop")
    }

    func enterSafeState(by: ConsoleActor) -> ConsoleOutcome {
        let r = controller.execute(.requestSafeState)
        return r == .applied ? .done("every output to its safe value (operator request); 'safe-state exit' (engineer) leaves it")
                             : .refused("safe-state enter: \(r)")
    }

    func checkExitSafeState() -> ConsoleOutcome {
        let s = controller.snapshot()
        guard s.inSafeState else { return .refused("the plant is not in safe state") }
        guard s.trippedInterlocks.isEmpty else {
            return .refused("refused: interlock \(s.trippedInterlocks.joined(separator: ", ")) holds; clear its cause first")
        }
        return .done("Leave safe state (\(s.safeStateReasons.map(\.description).joined(separator: ", "))) and give the outputs back to control?")
    }

    func exitSafeState(by: ConsoleActor) -> ConsoleOutcome {
        if case .refused(let why) = checkExitSafeState() { return .refused(why) }
        let r = controller.execute(.resetSafeState)
        guard r == .applied else { return .refused("safe-state exit: \(r)") }
        let left = controller.snapshot().safeStateReasons
        return left.isEmpty ? .done("safe state left; outputs under control again")
                            : .done("latched reasons cleared; still safe: \(left.map(\.description).joined(separator: ", "))")
    }

    // MARK: Model

    func model() -> String {
        var watch: [String] = []
        if let figures = controller.policy?.watchFigures ?? (try? journal.modelWatchFigures()) {
            watch = ModelWatchText.lines(figures, deployed: (try? journal.deployedModel())?.version, settings: plant.monitor.policyModel)
        }
        guard let running = controller.policyModelVersion else {
            return (["no policy model is running; the monitor's rules decide alone"
                     + (controller.policyModelAbsence.map { ": \($0)" } ?? "")] + watch).joined(separator: "\n")
        }
        var lines = ["policy model v\(running) running on the cycle (\(plant.monitor.policyModel.assist ? "assisting the monitor" : "advisory: verdicts are journalled, rules decide"))"]
        let history = (try? journal.modelHistory()) ?? []
        if let record = history.first(where: { $0.version == Int(running) }) {
            lines.append("  parent: \(record.parentVersion.map { "v\($0)" } ?? "none"); \(record.trainingSummary)")
        }
        if let deployed = history.first(where: \.deployed), deployed.version != Int(running) {
            lines.append("  v\(deployed.version) is deployed in the registry: the cycle takes it at a boundary within about a second")
        }
        for m in history where m.damaged != nil { lines.append("  v\(m.version) is damaged: \(m.damaged!)") }
        for a in controller.systemAlarms.active where a.key == "policy-model" || a.key == Controller.modelWatchAlarmKey {
            lines.append("SYSTEM ALARM: \(a.text)")
        }
        lines += watch
        if let updates = try? journal.modelUpdates(limit: 3), !updates.isEmpty {
            lines.append("recent updates:")
            for u in updates {
                lines.append("  from v\(u.baseVersion): \(u.outcome)" + (u.newVersion.map { " → v\($0)" } ?? "") + (u.reasons.isEmpty ? "" : ": " + u.reasons))
            }
        }
        return lines.joined(separator: "\n")
    }

    func modelHistory() -> String {
        guard let history = try? journal.modelHistory(), !history.isEmpty else { return "the model registry is empty" }
        var rows = [["VERSION", "PARENT", "DEPLOYED", "CREATED", "SUMMARY"]]
        let f = ISO8601DateFormatter()
        for m in history {
            rows.append(["v\(m.version)", m.parentVersion.map { "v\($0)" } ?? "-", m.damaged != nil ? "DAMAGED" : m.deployed ? "yes" : "",
                         f.string(from: Date(timeIntervalSince1970: Double(m.createdWallNanoseconds) / 1e9)),
                         m.damaged.map { "does not load: " + String($0.prefix(60)) } ?? String(m.trainingSummary.prefix(60))])
        }
        return table(rows)
    }

    func checkRollback(version: Int) -> ConsoleOutcome {
        guard let store else { return .refused("no model registry on this controller") }
        do {
            let (_, record) = try store.load(version: version)
            if record.deployed { return .refused("v\(version) is the deployed version already") }
            return .done("Deploy policy model v\(version) instead of v\(controller.policyModelVersion.map(String.init) ?? "-")? The cycle takes it at its next boundary.")
        } catch {
            return .refused("v\(version) cannot be deployed: \(error)")
        }
    }

    func rollback(version: Int, by: ConsoleActor) -> ConsoleOutcome {
        guard let store else { return .refused("no model registry on this controller") }
        let done = "policy model v\(version) deployed in the registry"
        do { try store.rollback(to: version, audit: auditEntry("model rollback \(version)", .done(done), by: by)) } catch {
            return .refused("rollback to v\(version) refused: \(error)")
        }
        auditedWithCommand = ["model", "rollback", "\(version)"]
        controller.systemAlarms.clear(key: "policy-model")
        controller.systemAlarms.clear(key: Controller.modelWatchAlarmKey)
        guard controller.policy != nil else {
            return .done("\(done); this controller started without a model and takes it at its next start")
        }
        // The policy service follows the registry about once a second; the console does not wait for it.
        return .done("\(done); the cycle takes it at a boundary within about a second ('model' shows when it has)")
    }

    // MARK: News, audit

    func news() -> String? {
        var lines: [String] = []
        let list = controller.alarms()
        let shown = list.filter { $0.isAnnunciated && $0.state != .cleared }
        // The first call learns the list: alarms raised before this session are in 'alarms', not news.
        let announcements = announcer.update(shown.map { .init(id: $0.id, unacknowledged: $0.state == .unacknowledged, severity: $0.severity) })
        if !newsPrimed {
            announcedModel = controller.policyModelVersion
            newsPrimed = true
            // A system alarm standing when the session starts is announced once all the same.
            let standing = controller.systemAlarms.active
            for a in standing { announcedSystem.insert(a.sequence) }
            return standing.isEmpty ? nil : standing.map { "*** SYSTEM ALARM \($0.key): \($0.text)" }.joined(separator: "\n")
        }
        let byID = Dictionary(shown.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        for announcement in announcements {
            switch announcement {
            case .raised(let id, let severity):
                guard let a = byID[id] else { continue }
                lines.append("*** ALARM \(id) \(severity) \(alarmLine(a)). 'alarms' lists, 'ack \(id)' acknowledges")
            case .severityRose(let id, let from, let to):
                guard let a = byID[id] else { continue }
                lines.append("*** ALARM \(id) raised from \(from) to \(to): \(alarmLine(a))")
            }
        }
        for a in controller.systemAlarms.active where !announcedSystem.contains(a.sequence) {
            lines.append("*** SYSTEM ALARM \(a.key): \(a.text)")
            announcedSystem.insert(a.sequence)
        }
        lines += updateNews.withLock { news in defer { news.removeAll() }; return news }
        let model = controller.policyModelVersion
        if model != announcedModel {
            lines.append("policy model now v\(model.map(String.init) ?? "-") on the cycle")
            announcedModel = model
        }
        return lines.isEmpty ? nil : lines.joined(separator: "\n")
    }

    func audit(by: ConsoleActor, command: String, result: String) -> Bool {
        let expected = auditedWithCommand
        auditedWithCommand = nil
        if let expected, Self.words(command, expected.count) == expected {
            return true // committed with the feedback or the rollback it records
        }
        do {
            try recorder.record(AuditEntry(wallNanoseconds: wallNanoseconds, source: by.source, command: command, result: result,
                                           role: by.role.description, privileged: !ConsoleCommand.auditIsReadOnly(command)),
                                now: vigil_rt_monotonic_ns())
            return true
        } catch {
            return false
        }
    }

    // MARK: Formatting

    static let interestingKinds: Set<EventKind> = Set(EventKind.allCases).subtracting([.modelVerdict, .commandApplied, .overrun,
                                                                                       .findingCleared, .alarm])
    static let evidenceKinds: Set<EventKind> = [.detection, .diagnosis, .healthChanged, .failover, .failback, .repair, .escalation,
                                                .modelVerdict, .modelAssist, .interlockTripped, .limitCrossed]

    private func subject(of key: AlarmKey) -> String {
        let i = Int(key.index)
        switch key.scope {
        case .sensor: return i >= 0 && i < plant.sensors.count ? plant.sensors[i].id : "sensor \(i)"
        case .device: return i >= 0 && i < plant.devices.count ? "device " + plant.devices[i].id : "device \(i)"
        case .group: return i >= 0 && i < plant.redundancyGroups.count ? "group " + plant.redundancyGroups[i].id : "group \(i)"
        case .section: return i >= 0 && i < plant.sections.count ? "section " + plant.sections[i].id : "section \(i)"
        }
    }

    /// An announced alarm: subject, cause, reason, first evidence.
    private func alarmLine(_ a: Alarm) -> String {
        "\(subject(of: a.key)): \(Self.cause(a.cause))\(a.reason.map { ", " + Self.reason($0) } ?? "") — \(evidence(a))"
    }

    /// The first finding in words; a group-level escalation carries no detector statistic.
    private func evidence(_ a: Alarm) -> String {
        let f = a.firstFinding
        if a.key.scope == .group && f.statistic == 0 && f.threshold == 0 {
            return a.reason == .noHealthySource ? "no usable member left: holding the last good value, then the group's safe action"
                                                : "group-level: see 'events' for its members"
        }
        if f.statistic == 0 && f.threshold == 0 {
            // Raised from the bus's own state (a device stopped answering), not from a detector's statistic.
            return "\(Self.finding(f.kind)) reported by the bus (no detector statistic); 'events' shows its history"
        }
        return String(format: "%@ %.3g (limit %.3g)", Self.finding(f.kind), f.statistic, f.threshold)
    }

    private func evidenceLine(_ e: StoredEvent) -> String {
        if case .findingRaised(_, let kind, let statistic, let threshold)? = e.event(controller.codec) {
            return String(format: "#%lld detection: %@ statistic %.3g, threshold %.3g", e.id, Self.finding(kind), statistic, threshold)
        }
        return describe(e)
    }

    /// One line per event: id, time, severity, and the event in words (`EventText`).
    func describe(_ e: StoredEvent) -> String {
        let time = Self.clock.string(from: Date(timeIntervalSince1970: Double(e.wallNanoseconds) / 1e9))
        let what = e.event(controller.codec).map(text.describe) ?? "\(e.kindName) \(e.subject ?? "") (not readable by this build)"
        return "#\(e.id) \(time) \(e.severity) \(what)"
    }

    private static let clock: DateFormatter = {
        let f = DateFormatter()
        f.dateFormat = "HH:mm:ss.SSS"
        f.locale = Locale(identifier: "en_US_POSIX")
        return f
    }()

    static func finding(_ k: FindingKind) -> String { EventText.finding(k) }

    static func cause(_ c: RootCause) -> String { EventText.cause(c) }

    static func reason(_ r: EscalationReason) -> String { EventText.reason(r) }

    static func decision(_ d: InterventionDecision) -> String {
        switch d {
        case .automaticRepair: return "automatic repair"
        case .operatorIntervention: return "operator"
        case .operatorInterventionAndSafeOutputs: return "operator, outputs safe"
        @unknown default: return String(describing: d)
        }
    }

    static func age(_ ns: UInt64) -> String {
        let s = ns / 1_000_000_000
        return s < 120 ? "\(s) s" : s < 7200 ? "\(s / 60) min" : "\(s / 3600) h \(s % 3600 / 60) min"
    }

    private func table(_ rows: [[String]]) -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        var widths = Array(repeating: 0, count: width)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in i == r.count - 1 ? c : c + String(repeating: " ", count: widths[i] - c.count) }.joined(separator: "  ")
                .trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
