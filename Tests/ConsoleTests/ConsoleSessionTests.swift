import Synchronization
import Testing
@testable import Console

/// A wall clock the test sets (the login guard's time).
final class TestWallClock: Sendable {
    private let now = Mutex<Int64>(1_800_000_000_000_000_000)
    var nanoseconds: Int64 { now.withLock { $0 } }
    func advance(seconds: Int64) { now.withLock { $0 += seconds * 1_000_000_000 } }
    var read: @Sendable () -> Int64 { { [self] in nanoseconds } }
}

/// The journal's part for the guard, in memory (the journal's own table is tested in JournalTests).
final class MemoryLoginStore: LoginFailureStore, @unchecked Sendable {
    private let rows = Mutex<[String: LoginFailureRecord]>([:])
    var saves: Int { saveCount.withLock { $0 } }
    private let saveCount = Mutex(0)
    func loadLoginFailures() throws -> [LoginFailureRecord] { rows.withLock { Array($0.values) } }
    func saveLoginFailure(_ record: LoginFailureRecord) throws {
        saveCount.withLock { $0 += 1 }
        rows.withLock { $0["\(record.source) \(record.role)"] = record }
    }
    func clearLoginFailures(source: String, role: ConsoleRole) throws { rows.withLock { $0["\(source) \(role)"] = nil } }
}

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

    static func guardian(_ clock: TestWallClock = TestWallClock(), store: LoginFailureStore? = nil, attempts: Int = 3) -> LoginGuard {
        LoginGuard(attempts: attempts, lockoutNanoseconds: 60 * second, maxLockoutNanoseconds: 3600 * second, wallClock: clock.read, store: store)
    }

    func session(_ backend: RecordingBackend, guard g: LoginGuard = ConsoleSessionTests.guardian(),
                 idle: UInt64 = 600_000_000_000, source: String = "console:test") -> ConsoleSession {
        ConsoleSession(backend: backend,
                       settings: .init(source: source, pins: [.operator: Self.operatorPIN, .engineer: Self.engineerPIN],
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
        let clock = TestWallClock()
        let g = Self.guardian(clock)
        let b = RecordingBackend(), s = session(b, guard: g)
        #expect(login(s, "engineer", "0000", at: 1) == "wrong PIN")
        #expect(login(s, "engineer", "0001", at: 2) == "wrong PIN")
        #expect(login(s, "engineer", "0002", at: 3).contains("engineer is locked for 60 s on this console"))
        // Locked: even the right PIN is not asked for, in this session or a new one (cable re-plugged).
        #expect(s.handle(line: "login engineer", nowNanoseconds: 4).contains("locked for 60 s"))
        let fresh = session(b, guard: g)
        #expect(fresh.handle(line: "login engineer", nowNanoseconds: 5).contains("locked"))
        #expect(fresh.prompt != "PIN: ")
        // The operator role is not locked by the engineer's failures.
        #expect(login(fresh, "operator", "1111", at: 6) == "logged in as operator")
        // After the lockout, the right PIN works.
        clock.advance(seconds: 61)
        #expect(login(fresh, "engineer", "2222", at: 7) == "logged in as engineer")
    }

    /// Lockout per endpoint and role, growing after the limit, kept in the store (a restart reads it
    /// back), timed by the injected wall clock; an empty PIN is no guess.
    @Test func lockoutIsPerEndpointGrowsAndSurvivesARestart() {
        let clock = TestWallClock(), store = MemoryLoginStore()
        var g = Self.guardian(clock, store: store)
        let b = RecordingBackend()
        let s = session(b, guard: g, source: "console:/dev/ttyS0")
        // Enter alone at the PIN prompt: not counted, however often.
        for t in 0..<10 { #expect(login(s, "engineer", "", at: UInt64(t)).contains("no PIN typed")) }
        #expect(store.saves == 0)
        for pin in ["0000", "0001"] { #expect(login(s, "engineer", pin, at: 20) == "wrong PIN") }
        #expect(login(s, "engineer", "0002", at: 21).contains("locked for 60 s"))
        // Another endpoint is not locked by this one's failures.
        let other = session(b, guard: g, source: "console:pty")
        #expect(login(other, "engineer", "2222", at: 22) == "logged in as engineer")
        // A restart (a new guard over the same store) keeps the lockout.
        g = Self.guardian(clock, store: store)
        let afterRestart = session(b, guard: g, source: "console:/dev/ttyS0")
        #expect(afterRestart.handle(line: "login engineer", nowNanoseconds: 1).contains("locked for 60 s"))
        // Each further wrong PIN after a lockout doubles it: 60, 120, 240 s …, up to the cap (3600 s).
        var expected = 60
        for _ in 0..<8 {
            clock.advance(seconds: Int64(expected) + 1)
            expected = min(expected * 2, 3600)
            #expect(login(afterRestart, "engineer", "9999", at: 2).contains("locked for \(expected) s"))
        }
        #expect(g.lockout(afterFailures: 3) == 60 * Self.second && g.lockout(afterFailures: 4) == 120 * Self.second)
        #expect(g.lockout(afterFailures: 2) == nil && g.lockout(afterFailures: 1000) == 3600 * Self.second)
        // A clock set back a year does not lengthen the lockout beyond the cap.
        clock.advance(seconds: -365 * 86_400)
        #expect(g.lockedSeconds(source: "console:/dev/ttyS0", role: .engineer) <= 3600)
        clock.advance(seconds: 365 * 86_400 + 3601)
        // The right PIN clears the record, in the store too.
        #expect(login(afterRestart, "engineer", "2222", at: 3) == "logged in as engineer")
        #expect((try? store.loadLoginFailures())?.isEmpty == true)
    }

    /// "Type yes" means the word yes: y, YES, Yes and yes-please cancel.
    @Test func onlyTheExactWordYesConfirms() {
        let b = RecordingBackend(), s = session(b)
        _ = login(s, "engineer", "2222", at: 1)
        var t: UInt64 = 2
        for answer in ["y", "Y", "YES", "Yes", "yes please", "ja", ""] {
            #expect(s.handle(line: "output FV-101 40", nowNanoseconds: t).hasPrefix("Drive FV-101"))
            #expect(s.handle(line: answer, nowNanoseconds: t + 1) == "output cancelled (only yes confirms)", "\(answer)")
            t += 2
        }
        #expect(!b.calls.contains { $0.hasPrefix("output") })
        _ = s.handle(line: "output FV-101 40", nowNanoseconds: t)
        #expect(s.handle(line: " yes ", nowNanoseconds: t + 1) == "manual")
    }

    /// The issue's attempt set, at the session: a PIN on the login line, a PIN typed after a lockout
    /// refusal, after a wrong PIN, after Ctrl-C and after an empty PIN. No PIN in any audit entry or reply.
    @Test func noPINReachesTheAuditLogOrAReply() {
        let b = RecordingBackend(), s = session(b)
        var replies: [String] = []
        func say(_ line: String, _ t: UInt64) { replies.append(s.handle(line: line, nowNanoseconds: t)) }
        say("login operator 1111", 1)
        #expect(s.role == .operator)
        say("logout", 2)
        say("login operator 9998", 3)                          // wrong, on one line
        say("login engineer", 4); say("9999", 5)              // wrong at the prompt
        say("2222", 6)                                        // the right PIN, typed after the prompt went
        #expect(s.role == .viewer)
        say("login engineer", 7); say("9997", 8)
        say("login engineer", 9); say("9996", 10)             // locked now (3 attempts)
        say("login engineer", 11)                             // refused: locked
        #expect(s.nextLineIsSecret)
        say("2222", 12)                                       // typed after the lockout refusal
        say("login operator", 13)
        _ = s.handle(problem: .cancelled, nowNanoseconds: 14)
        say("1111", 15)                                       // typed after Ctrl-C at the PIN prompt
        say("login operator", 16); say("", 17); say("1111", 18) // after an empty PIN
        say("login 1111", 19)                                 // the PIN where the role goes
        #expect(s.role == .viewer)
        let pins = ["1111", "2222", "9996", "9997", "9998", "9999"]
        let audited = b.audits.map { $0.command + " " + $0.result }
        for pin in pins {
            #expect(!audited.contains { $0.contains(pin) }, "\(pin) in the audit log: \(audited)")
            #expect(!replies.contains { $0.contains(pin) }, "\(pin) in a reply")
        }
        #expect(audited.first == "login operator ok: logged in as operator")
        #expect(audited.filter { $0.hasPrefix("(line after a login prompt, withheld)") }.count == 4)
        // A line typed after a refused login that is a command still runs.
        say("login engineer", 20)
        #expect(s.nextLineIsSecret)
        say("whoami", 21)
        #expect(replies.last == "viewer on console:test")
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
        #expect(s.handle(line: "sure", nowNanoseconds: 5) == "safe-state cancelled (only yes confirms)")
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
        #expect(s.handle(line: "bogus", nowNanoseconds: 3).hasPrefix("the first word is not a command"))
        #expect(s.handle(problem: .bidiControl, nowNanoseconds: 3).hasPrefix("line has a bidirectional-text control character"))
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
                               loginGuard: Self.guardian())
        #expect(s.handle(line: "login engineer", nowNanoseconds: 1).contains("no PIN is configured for engineer"))
        #expect(s.prompt != "PIN: ")
    }
}
