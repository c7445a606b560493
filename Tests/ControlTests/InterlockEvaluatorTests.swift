import Control
import Testing
import VigilCore

@Suite struct InterlockEvaluatorTests {
    @Test func highInterlockTripsAboveAndClearsOnlyPastTheDeadband() {
        var e = InterlockEvaluator(rules: [LimitRule(subject: 0, high: 10, severity: .interlock, clearDeadband: 0.5)])
        var t = TransitionBuffer(capacity: 4)
        e.evaluate([good(10)], transitions: &t)
        #expect(!e.isTripped(0))   // at the limit is not beyond it
        e.evaluate([good(10.1)], transitions: &t)
        #expect(e.isTripped(0) && e.conditions[0] == .high)
        #expect(t.map(\.kind) == [.interlockTripped])
        t.removeAll()
        e.evaluate([good(9.6)], transitions: &t)
        #expect(e.isTripped(0))    // inside, but not past the deadband
        #expect(t.isEmpty)
        e.evaluate([good(9.5)], transitions: &t)
        #expect(!e.isTripped(0))
        #expect(t.map(\.kind) == [.interlockCleared])
    }

    @Test func lowInterlockTripsBelowAndClearsPastTheDeadband() {
        var e = InterlockEvaluator(rules: [LimitRule(subject: 0, low: 0.5, severity: .interlock, clearDeadband: 0.1)])
        var t = TransitionBuffer(capacity: 4)
        e.evaluate([good(0.4)], transitions: &t)
        #expect(e.conditions[0] == .low)
        e.evaluate([good(0.55)], transitions: &t)
        #expect(e.isTripped(0))
        e.evaluate([good(0.6)], transitions: &t)
        #expect(!e.isTripped(0))
    }

    @Test func interlockTripsWhenItsSubjectIsBadAndClearsWhenGoodAgain() {
        var e = InterlockEvaluator(rules: [LimitRule(subject: 0, high: 10, severity: .interlock)])
        var t = TransitionBuffer(capacity: 4)
        e.evaluate([good(5)], transitions: &t)
        #expect(!e.isTripped(0))
        e.evaluate([bad], transitions: &t)
        #expect(e.isTripped(0) && e.conditions[0] == .badQuality)
        e.evaluate([good(5)], transitions: &t)
        #expect(!e.isTripped(0))
        #expect(t.map(\.kind) == [.interlockTripped, .interlockCleared])
    }

    @Test func missingSubjectCountsAsBad() {
        var e = InterlockEvaluator(rules: [LimitRule(subject: 3, high: 10, severity: .interlock)])
        var t = TransitionBuffer(capacity: 4)
        e.evaluate([good(5)], transitions: &t)
        #expect(e.isTripped(0))
    }

    @Test func alarmIsACrossingNotATripAndHoldsOnBadQuality() {
        var e = InterlockEvaluator(rules: [LimitRule(subject: 0, high: 8.5, severity: .alarm)])
        var t = TransitionBuffer(capacity: 4)
        e.evaluate([good(9)], transitions: &t)
        #expect(e.conditions[0] == .high)
        #expect(!e.isTripped(0) && !e.anyTripped)
        e.evaluate([bad], transitions: &t)
        #expect(e.conditions[0] == .high)
        e.evaluate([good(8)], transitions: &t)
        #expect(t.map(\.kind) == [.limitCrossed, .limitCleared])
        e.evaluate([bad], transitions: &t)
        #expect(e.conditions[0] == .normal)
    }

    @Test func transitionBufferCountsWhatDoesNotFit() {
        var t = TransitionBuffer(capacity: 1)
        t.append(ControlTransition(kind: .limitCrossed))
        t.append(ControlTransition(kind: .limitCleared))
        #expect(t.count == 1 && t.dropped == 1)
        t.removeAll()
        #expect(t.isEmpty && t.dropped == 0 && t.capacity == 1)
    }
}
