import Testing
@testable import Console

/// A backend that records what the session asked of it (a test double: the real one, over a
/// running controller, is exercised end to end in RuntimeTests.ConsoleEndToEndTests).
final class RecordingBackend: ConsoleBackend {
    var calls: [String] = []
    var audits: [(actor: ConsoleActor, command: String, result: String)] = []
    var interlockHolds = false
    var pendingNews: String?
    var auditWorks = true

    func status() -> String { calls.append("status"); return "cycle 1" }
    func sensors(group: String?) -> ConsoleOutcome { calls.append("sensors \(group ?? "")"); return .done("table") }
    func alarms() -> String { calls.append("alarms"); return "no open alarms" }
    func events(limit: Int) -> String { calls.append("events \(limit)"); return "" }
    func explain(event: Int64) -> ConsoleOutcome { calls.append("explain \(event)"); return .done("why") }
    func acknowledge(alarm: UInt64, by: ConsoleActor) -> ConsoleOutcome { calls.append("ack \(alarm) \(by.role)"); return .done("alarm \(alarm) acknowledged") }
    func shelve(alarm: UInt64, seconds: Int, reason: String, by: ConsoleActor) -> ConsoleOutcome {
        calls.append("shelve \(alarm) \(seconds) \(reason)"); return .done("shelved")
    }
    func unshelve(alarm: UInt64, by: ConsoleActor) -> ConsoleOutcome { calls.append("unshelve \(alarm)"); return .done("shown") }
    func feedback(event: Int64, verdict: ConsoleVerdict, note: String, by: ConsoleActor) -> ConsoleOutcome {
        calls.append("feedback \(event) \(verdict) \(note)"); return .done("feedback 1 stored\nmodel v2 deployed")
    }
    func rate(event: Int64, good: Bool, note: String, by: ConsoleActor) -> ConsoleOutcome { calls.append("rate \(event) \(good)"); return .done("rated") }
    func checkFailover(group: String, sensor: String) -> ConsoleOutcome {
        interlockHolds ? .refused("refused: interlock hh holds on \(group)") : .done("Put \(group) on \(sensor)?")
    }
    func failover(group: String, sensor: String, by: ConsoleActor) -> ConsoleOutcome { calls.append("failover \(group) \(sensor)"); return .done("now follows \(sensor)") }
    func release(group: String, by: ConsoleActor) -> ConsoleOutcome { calls.append("release \(group)"); return .done("released") }
    func checkOutput(name: String, value: Double) -> ConsoleOutcome {
        interlockHolds ? .refused("refused: interlock hh holds \(name) safe") : .done("Drive \(name) to \(value)?")
    }
    func output(name: String, value: Double, by: ConsoleActor) -> ConsoleOutcome { calls.append("output \(name) \(value)"); return .done("manual") }
    func auto(name: String, by: ConsoleActor) -> ConsoleOutcome { calls.append("auto \(name)"); return .done("auto") }
    func enterSafeState(by: ConsoleActor) -> ConsoleOutcome { calls.append("safe enter"); return .done("safe") }
    func checkExitSafeState() -> ConsoleOutcome { interlockHolds ? .refused("refused: interlock hh holds") : .done("Leave safe state?") }
    func exitSafeState(by: ConsoleActor) -> ConsoleOutcome { calls.append("safe exit"); return .done("left") }
    func model() -> String { "v1" }
    func modelHistory() -> String { "v1" }
    func checkRollback(version: Int) -> ConsoleOutcome { .done("Deploy v\(version)?") }
    func rollback(version: Int, by: ConsoleActor) -> ConsoleOutcome { calls.append("rollback \(version)"); return .done("v\(version) running") }
    func news() -> String? { defer { pendingNews = nil }; return pendingNews }
    func audit(by: ConsoleActor, command: String, result: String) -> Bool {
        audits.append((by, command, result))
        return auditWorks
    }
}

/// The session: roles gate commands, PINs are checked against salted hashes and never echoed or
/// audited, repeated failures lock a role out (across sessions), idle sessions fall back to viewer,
/// commands that move outputs wait for "yes" (and are refused while an interlock holds), and every
/// command, accepted or refused, is audited before its reply.
@Suite struct ConsoleSessionTests {
    static let operatorPIN = try! PINHash.make(pin: "1111", iterations: PINHash.minimumIterations)
    static let engineerPIN = try! PINHash.make(pin: "2222", iterations: PINHash.minimumIterations)
    static let second: UInt64 = 1_000_000_000

    func session(_ backend: RecordingBackend, guard g: LoginGuard = LoginGuard(attempts: 3, lockoutNanoseconds: 60_000_000_000),
                 idle: UInt64 = 600_000_000_000) -> ConsoleSession {
        ConsoleSession(backend: backend,
                       settings: .init(source: "console:test", pins: [.operator: Self.operatorPIN, .engineer: Self.engineerPIN],
                                       idleLogoutNanoseconds: idle, confirmNanoseconds: 30 * Self.second),
                       loginGuard: g)
    }

    func login(_ s: ConsoleSession, _ role: String, _ pin: String, at t: UInt64) -> String {
        _ = s.handle(line: "login \(role)", nowNanoseconds: t)
        #expect(s.nextLineIsSecret && s.prompt == "PIN: ")
        return s.handle(line: pin, nowNanoseconds: t)
    }

    @Test func viewingNeedsNoLoginAndAlarmHandlingNeedsAnOperator() {
        let b = RecordingBackend(), s = session(b)
        _ = s.begin(nowNanoseconds: 0)
        #expect(s.prompt == "vigil> ")
        #expect(s.handle(line: "status", nowNanoseconds: 1) == "cycle 1")
        #expect(s.handle(line: "ack 1", nowNanoseconds: 2).contains("ack needs operator; you are viewer"))
        #expect(!b.calls.contains { $0.hasPrefix("ack") })
        #expect(login(s, "operator", "1111", at: 3) == "logged in as operator")
        #expect(s.prompt == "vigil(operator)# ")
        #expect(s.handle(line: "ack 1", nowNanoseconds: 4) == "alarm 1 acknowledged")
        #expect(b.calls.contains("ack 1 operator"))
        // Control needs an engineer.
        #expect(s.handle(line: "output FV-101 40", nowNanoseconds: 5).contains("output needs engineer"))
        #expect(s.handle(line: "safe-state exit", nowNanoseconds: 5).contains("safe-state needs engineer"))
        #expect(s.handle(line: "model rollback 1", nowNanoseconds: 5).contains("model needs engineer"))
    }

    @Test func everyCommandIsAuditedWithRoleAndResultAndPINsNever() {
        let b = RecordingBackend(), s = session(b)
        _ = s.handle(line: "status", nowNanoseconds: 1)
        _ = s.handle(line: "ack 1", nowNanoseconds: 2)
        _ = login(s, "operator", "9999", at: 3)
        _ = login(s, "operator", "1111", at: 4)
        _ = s.handle(line: "ack 1", nowNanoseconds: 5)
        let lines = b.audits.map { "\($0.actor.role) \($0.command) → \($0.result)" }
        #expect(lines == [
            "viewer status → ok: cycle 1",
            "viewer ack 1 → refused: ack needs operator; you are viewer. 'login operator' (or engineer) first",
            "viewer login operator → refused: wrong PIN",
            "viewer login operator → ok: logged in as operator",
            "operator ack 1 → ok: alarm 1 acknowledged",
        ])
        #expect(!b.audits.contains { $0.command.contains("1111") || $0.command.contains("9999") || $0.result.contains("1111") })
        #expect(b.audits.allSatisfy { $0.actor.source == "console:test" })
        // An audit log that cannot be written is said, not hidden.
        b.auditWorks = false
        #expect(s.handle(line: "status", nowNanoseconds: 6).contains("the audit log could not be written"))
    }

    @Test func repeatedWrongPINsLockTheRoleOutAcrossSessions() {
        let g = LoginGuard(attempts: 3, lockoutNanoseconds: 60 * Self.second)
        let b = RecordingBackend(), s = session(b, guard: g)
        #expect(login(s, "engineer", "0000", at: 1) == "wrong PIN")
        #expect(login(s, "engineer", "0001", at: 2) == "wrong PIN")
        #expect(login(s, "engineer", "0002", at: 3).contains("engineer is locked for 60 s after 3 failures"))
        // Locked: even the right PIN is not asked for, in this session or a new one (cable re-plugged).
        #expect(s.handle(line: "login engineer", nowNanoseconds: 4).contains("locked for 60 s"))
        let fresh = session(b, guard: g)
        #expect(fresh.handle(line: "login engineer", nowNanoseconds: 5).contains("locked"))
        #expect(!fresh.nextLineIsSecret)
        // The operator role is not locked by the engineer's failures.
        #expect(login(fresh, "operator", "1111", at: 6) == "logged in as operator")
        // After the lockout, the right PIN works.
        #expect(login(fresh, "engineer", "2222", at: 3 + 61 * Self.second) == "logged in as engineer")
    }

    @Test func idleSessionsFallBackToViewer() {
        let b = RecordingBackend(), s = session(b, idle: 600 * Self.second)
        _ = s.begin(nowNanoseconds: 0)
        _ = login(s, "engineer", "2222", at: 1)
        #expect(s.poll(nowNanoseconds: 599 * Self.second) == nil)
        let note = s.poll(nowNanoseconds: 601 * Self.second)
        #expect(note == "logged out (engineer) after 600 s without input; you are viewer")
        #expect(s.role == .viewer)
        #expect(b.audits.last?.command == "(idle)")
    }

    @Test func outputsAndSafeStateWaitForYesAndRefuseWhileAnInterlockHolds() {
        let b = RecordingBackend(), s = session(b)
        _ = login(s, "engineer", "2222", at: 1)
        // A question, then nothing happens until "yes".
        #expect(s.handle(line: "output FV-101 40", nowNanoseconds: 2).hasPrefix("Drive FV-101 to 40.0?\nType yes within 30 s"))
        #expect(s.prompt == "confirm (yes/no)? ")
        #expect(!b.calls.contains { $0.hasPrefix("output") })
        #expect(s.handle(line: "yes", nowNanoseconds: 3) == "manual")
        #expect(b.calls.contains("output FV-101 40.0"))
        // Anything but yes cancels.
        _ = s.handle(line: "safe-state exit", nowNanoseconds: 4)
        #expect(s.handle(line: "sure", nowNanoseconds: 5) == "safe-state cancelled")
        #expect(!b.calls.contains("safe exit"))
        // A late yes is refused; an unanswered question expires by itself.
        _ = s.handle(line: "failover g s", nowNanoseconds: 6)
        #expect(s.handle(line: "yes", nowNanoseconds: 6 + 31 * Self.second).contains("too late"))
        _ = s.handle(line: "release g", nowNanoseconds: 100 * Self.second)
        #expect(s.poll(nowNanoseconds: 131 * Self.second)?.contains("no confirmation in time: release not done") == true)
        #expect(!b.calls.contains { $0.hasPrefix("failover") || $0.hasPrefix("release") })
        // Ctrl-C at the question cancels too.
        _ = s.handle(line: "auto FV-101", nowNanoseconds: 200 * Self.second)
        #expect(s.handle(problem: .cancelled, nowNanoseconds: 201 * Self.second) == "auto cancelled")
        // While an interlock holds, no question is even asked.
        b.interlockHolds = true
        #expect(s.handle(line: "output FV-101 40", nowNanoseconds: 300 * Self.second).contains("interlock hh holds"))
        #expect(s.handle(line: "safe-state exit", nowNanoseconds: 301 * Self.second).contains("interlock hh holds"))
        #expect(s.prompt == "vigil(engineer)# ")
        // Entering safe state is the safe direction: no question, an operator may.
        #expect(s.handle(line: "safe-state enter", nowNanoseconds: 302 * Self.second) == "safe")
    }

    @Test func badLinesGetShortRepliesAndAFloodIsAuditedInSummary() {
        let b = RecordingBackend(), s = session(b)
        #expect(s.handle(problem: .tooLong(limit: 256), nowNanoseconds: 1) == "line too long (at most 256 bytes); ignored")
        #expect(s.handle(problem: .invalidUTF8, nowNanoseconds: 2) == "line is not valid UTF-8; ignored")
        #expect(s.handle(line: "bogus", nowNanoseconds: 3).hasPrefix("unknown command 'bogus'"))
        #expect(s.handle(line: "", nowNanoseconds: 4) == "")
        // Control characters that slipped through are removed before parsing.
        #expect(s.handle(line: "sta\u{7}tus", nowNanoseconds: 5) == "cycle 1")
        // A flood of noise: at most 20 audit writes per 10 s, the rest counted in one line.
        let before = b.audits.count
        for i in 0..<1000 { _ = s.handle(line: "noise\(i)", nowNanoseconds: 10 + UInt64(i)) }
        #expect(b.audits.count - before <= 20)
        _ = s.handle(line: "noise", nowNanoseconds: 20 * Self.second)
        #expect(b.audits.contains { $0.command.hasSuffix("more unreadable lines)") })
    }

    @Test func feedbackAndNewsReachTheOperator() {
        let b = RecordingBackend(), s = session(b)
        _ = login(s, "operator", "1111", at: 1)
        #expect(s.handle(line: "feedback 12 class drift seasonal", nowNanoseconds: 2) == "feedback 1 stored\nmodel v2 deployed")
        #expect(b.calls.contains("feedback 12 correctClass(\"drift\") seasonal"))
        b.pendingNews = "*** ALARM 3 major PT-101A"
        #expect(s.poll(nowNanoseconds: 3) == "*** ALARM 3 major PT-101A")
        #expect(s.poll(nowNanoseconds: 4) == nil)
        #expect(s.handle(line: "logout", nowNanoseconds: 5) == "logged out (operator); you are viewer")
        #expect(s.handle(line: "whoami", nowNanoseconds: 6) == "viewer on console:test")
    }

    @Test func aRoleWithoutAPINCannotBeLoggedInto() {
        let b = RecordingBackend()
        let s = ConsoleSession(backend: b, settings: .init(source: "console:test", pins: [:]),
                               loginGuard: LoginGuard(attempts: 3, lockoutNanoseconds: Self.second))
        #expect(s.handle(line: "login engineer", nowNanoseconds: 1).contains("no PIN is configured for engineer"))
        #expect(!s.nextLineIsSecret)
    }
}
