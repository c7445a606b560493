import Testing
import Kernel

@Suite("Model watch: live agreement, rollback, model error")
struct ModelWatchTests {
    static let settings = ModelWatchSettings(margin: 0.2, window: 10, minOutcomes: 5, contradictions: 3, contradictionMargin: 30)

    /// An operator verdict on version `v`: the model agreed or not.
    static func verdict(_ v: Int, agrees: Bool) -> ModelOutcome {
        ModelOutcome(version: v, proof: .operatorVerdict, modelSaid: "stuck", truth: agrees ? "stuck" : "drift", margin: 40)
    }

    /// Records `n` outcomes and returns the decisions taken.
    static func feed(_ watch: inout ModelWatch, _ v: Int, agrees: Bool, _ n: Int) -> [ModelWatchDecision] {
        (0..<n).compactMap { _ in watch.record(verdict(v, agrees: agrees)) }
    }

    @Test func agreementFollowsTheProof() {
        #expect(ModelOutcome(version: 1, proof: .confirmedFault, modelSaid: "stuck", truth: nil, margin: 10).agrees)
        #expect(!ModelOutcome(version: 1, proof: .confirmedFault, modelSaid: "healthy", truth: nil, margin: 10).agrees)
        #expect(ModelOutcome(version: 1, proof: .falseAlarm, modelSaid: "healthy", truth: "healthy", margin: 10).agrees)
        #expect(!ModelOutcome(version: 1, proof: .falseAlarm, modelSaid: "spike", truth: "healthy", margin: 10).agrees)
    }

    @Test func belowTheMinimumCountNothingIsDecided() {
        var watch = ModelWatch(settings: Self.settings)
        watch.deploy(version: 2, previous: 1, baseline: (0.9, "parent v1"))
        #expect(Self.feed(&watch, 2, agrees: false, 4).isEmpty)
        #expect(watch.figures[2]?.recent.count == 4)
        #expect(watch.figures[2]?.state == .watching)
    }

    @Test func aDropBeyondTheMarginRollsBackToThePreviousVersion() throws {
        var watch = ModelWatch(settings: Self.settings)
        watch.deploy(version: 2, previous: 1, baseline: (0.9, "parent v1"))
        // 3 of 5 agree: 60%, 30 points below the baseline, beyond the 20-point margin.
        var decisions = Self.feed(&watch, 2, agrees: true, 3)
        decisions += Self.feed(&watch, 2, agrees: false, 2)
        #expect(decisions.count == 1)
        guard case .rollback(let from, let to, let figures) = try #require(decisions.first) else {
            Issue.record("expected a rollback, got \(decisions)")
            return
        }
        #expect(from == 2 && to == 1)
        #expect(figures.windowAgreement == 0.6 && figures.baseline == 0.9)
        #expect(watch.figures[2]?.state == .rolledBack)
        #expect(watch.figures[2]?.reason.contains("rolled back to v1") == true)
    }

    @Test func aSmallDropWithinTheMarginIsNoDecision() {
        var watch = ModelWatch(settings: Self.settings)
        watch.deploy(version: 2, previous: 1, baseline: (0.9, "parent v1"))
        // 8 of 10: 80%, 10 points down: within the margin.
        var decisions = Self.feed(&watch, 2, agrees: true, 8)
        decisions += Self.feed(&watch, 2, agrees: false, 2)
        #expect(decisions.isEmpty)
        #expect(watch.figures[2]?.windowAgreement == 0.8)
    }

    @Test func withoutABaselineTheFirstWindowSetsIt() {
        var watch = ModelWatch(settings: Self.settings)
        watch.deploy(version: 1, previous: nil)
        #expect(Self.feed(&watch, 1, agrees: true, 5).isEmpty)
        #expect(watch.figures[1]?.baseline == 1.0)
        #expect(watch.figures[1]?.baselineSource == "first window")
    }

    @Test func confidentHealthyVerdictsOnConfirmedHardFaultsAreAModelError() throws {
        var watch = ModelWatch(settings: Self.settings)
        watch.deploy(version: 2, previous: 1, baseline: (0.9, "parent v1"))
        let contradiction = ModelOutcome(version: 2, proof: .confirmedFault, modelSaid: "healthy", truth: nil, margin: 60)
        let unsure = ModelOutcome(version: 2, proof: .confirmedFault, modelSaid: "healthy", truth: nil, margin: 5)
        // An unsure healthy verdict is a disagreement, not a contradiction.
        #expect(watch.record(unsure) == nil)
        #expect(watch.record(contradiction) == nil)
        #expect(watch.record(contradiction) == nil)
        let recorded = watch.record(contradiction)
        let decision = try #require(recorded)
        guard case .modelError(let version, let cause, _) = decision else {
            Issue.record("expected a model error, got \(decision)")
            return
        }
        #expect(version == 2)
        #expect(cause == .contradictsHardFaults(count: 3))
        #expect(watch.figures[2]?.state == .modelError)
        #expect(watch.figures[2]?.contradictions == 3)
    }

    @Test func aDropAfterAnAutomaticRollbackIsAModelError() throws {
        var watch = ModelWatch(settings: Self.settings)
        watch.deploy(version: 1, previous: nil)
        _ = Self.feed(&watch, 1, agrees: true, 5)
        watch.deploy(version: 2, previous: 1, baseline: (1.0, "parent v1"))
        let first = Self.feed(&watch, 2, agrees: false, 5)
        guard case .rollback(2, 1, _)? = first.first else {
            Issue.record("expected a rollback to v1, got \(first)")
            return
        }
        watch.deploy(version: 1, previous: nil, byRollback: true)
        #expect(watch.figures[1]?.afterRollback == true)
        // v1 now drops too: two new disagreements take its window from 100% to 71%, beyond the margin.
        let second = Self.feed(&watch, 1, agrees: false, 5)
        #expect(second.count == 1)
        guard case .modelError(1, .dropAfterRollback(let agreement, let baseline), _)? = second.first else {
            Issue.record("expected a model error of v1, got \(second)")
            return
        }
        #expect(abs(agreement - 5.0 / 7.0) < 1e-9 && baseline == 1.0)
        #expect(watch.figures[1]?.outcomes == 10, "the outcomes after the decision are still counted")
    }

    @Test func aDropWithNothingToRollBackToIsAModelError() {
        var watch = ModelWatch(settings: Self.settings)
        watch.deploy(version: 1, previous: nil, baseline: (0.95, "validation"))
        let decisions = Self.feed(&watch, 1, agrees: false, 5)
        guard case .modelError(1, .dropWithoutPrevious, _)? = decisions.first else {
            Issue.record("expected a model error, got \(decisions)")
            return
        }
        #expect(decisions.count == 1)
    }

    @Test func recoveringDoesNotFlap() {
        var watch = ModelWatch(settings: Self.settings)
        watch.deploy(version: 2, previous: 1, baseline: (0.9, "parent v1"))
        let drop = Self.feed(&watch, 2, agrees: false, 5)
        #expect(drop.count == 1)
        // v2's opinions on older events keep arriving, good then bad: it stays rolled back, no
        // second decision, no way back on its own.
        #expect(Self.feed(&watch, 2, agrees: true, 10).isEmpty)
        #expect(watch.figures[2]?.windowAgreement == 1.0)
        #expect(watch.figures[2]?.state == .rolledBack)
        #expect(Self.feed(&watch, 2, agrees: false, 10).isEmpty)
        // The same for a model error: it stands until another version is deployed.
        var errored = ModelWatch(settings: Self.settings)
        errored.deploy(version: 1, previous: nil, baseline: (0.9, "validation"))
        #expect(Self.feed(&errored, 1, agrees: false, 5).count == 1)
        #expect(Self.feed(&errored, 1, agrees: true, 10).isEmpty)
        #expect(errored.figures[1]?.state == .modelError)
    }

    @Test func outcomesOfAnotherVersionAreCountedButNotJudged() {
        var watch = ModelWatch(settings: Self.settings)
        watch.deploy(version: 3, previous: 2, baseline: (0.9, "parent v2"))
        #expect(Self.feed(&watch, 2, agrees: false, 8).isEmpty)
        #expect(watch.figures[2]?.outcomes == 8)
        #expect(watch.figures[2]?.state == .watching)
    }

    @Test func theWindowKeepsTheNewestOutcomes() {
        var watch = ModelWatch(settings: Self.settings)
        watch.deploy(version: 1, previous: nil)
        _ = Self.feed(&watch, 1, agrees: true, 25)
        #expect(watch.figures[1]?.recent.count == 10)
        #expect(watch.figures[1]?.outcomes == 25 && watch.figures[1]?.agreed == 25)
    }

    @Test func aMinimumAboveTheWindowIsTheWindow() {
        let s = ModelWatchSettings(margin: 0.1, window: 10, minOutcomes: 50)
        #expect(s.minOutcomes == 10, "a minimum above the window is the window")
    }
}
