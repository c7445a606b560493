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

    /// A bad-input delay rides through a short gap (the last condition stands, a held stale value
    /// counts as no value) and trips fail-safe on the cycle the delay has run; a good reading in
    /// between starts the count again.
    @Test func aBadInputDelayTripsOnlyOnceTheSubjectHasBeenUnusableThatLong() {
        var e = InterlockEvaluator(rules: [LimitRule(subject: 0, high: 10, severity: .interlock, badInputDelaySeconds: 0.1)])
        var t = TransitionBuffer(capacity: 4)
        let stale = Reading(value: 5, timestampNanoseconds: 1, latencyNanoseconds: 0, quality: .stale(ageNanoseconds: 40_000_000))
        e.evaluate([good(5)], dtSeconds: 0.02, transitions: &t)
        for _ in 0..<4 { e.evaluate([stale], dtSeconds: 0.02, transitions: &t) }
        #expect(!e.isTripped(0), "0.08 s of a held value is inside the delay")
        e.evaluate([good(5)], dtSeconds: 0.02, transitions: &t)
        for _ in 0..<4 { e.evaluate([bad], dtSeconds: 0.02, transitions: &t) }
        #expect(!e.isTripped(0) && t.isEmpty, "the good reading restarted the count")
        e.evaluate([bad], dtSeconds: 0.02, transitions: &t)
        #expect(e.isTripped(0) && e.conditions[0] == .badQuality, "the fifth bad cycle of 20 ms reaches 0.1 s")
        #expect(t.map(\.kind) == [.interlockTripped])
        e.evaluate([good(5)], dtSeconds: 0.02, transitions: &t)
        #expect(!e.isTripped(0))
    }

    /// A limit already crossed stays crossed through the delay: the delay never clears a trip.
    @Test func aBadInputDelayKeepsATripThatWasAlreadyThere() {
        var e = InterlockEvaluator(rules: [LimitRule(subject: 0, high: 10, severity: .interlock, badInputDelaySeconds: 5)])
        var t = TransitionBuffer(capacity: 4)
        e.evaluate([good(12)], dtSeconds: 0.02, transitions: &t)
        e.evaluate([bad], dtSeconds: 0.02, transitions: &t)
        #expect(e.isTripped(0) && e.conditions[0] == .high)
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
