import Testing
import Monitor
import VigilCore

/// The policy model's part in the monitor's decisions (`monitor.policy_model.assist`): it may
/// attribute a pair's disagreement the rules cannot, and hold back a soft finding it confidently
/// calls healthy, for a bounded time; without assist its opinions change nothing.
@Suite struct ModelAssistTests {
    typealias R = MonitorRig

    static func settings(assist: Bool, maxSuppression: Int = 3_000) -> MonitorSettings {
        var s = MonitorRig.fastBusSettings
        s.policyModel.assist = assist
        s.policyModel.maxSuppressionSamples = maxSuppression
        return s
    }

    /// T-B creeps away (1σ per 100 cycles), as in `pairDriftWithoutEvidenceEscalatesInsteadOfGuessing`.
    static func driftPair(_ rig: inout MonitorRig, cycles: Int, from c0: UInt64) {
        rig.run(cycles) { r, c in r[R.tB].value += R.temperatureSigma * Double(c - c0 + 1) / 100 }
    }

    @Test func confidentModelAttributesAPairsDisagreementInsteadOfAnEscalation() throws {
        var rig = try MonitorRig(settings: Self.settings(assist: true))
        rig.warmUp()
        rig.monitor.setModelOpinion(sensor: R.tA, .healthy)
        rig.monitor.setModelOpinion(sensor: R.tB, .drift)
        let c0 = rig.cycle + 1
        Self.driftPair(&rig, cycles: 1_000, from: c0)
        #expect(rig.events(.escalation, after: c0).filter { $0.escalation == .unresolvedDisagreement }.isEmpty)
        let assists = rig.events(.modelAssist, after: c0)
        #expect(assists.count == 1 && assists[0].sensor == Int32(R.tB) && assists[0].modelAssist == .resolvedPair)
        #expect(rig.monitor.healthState(sensor: R.tB) != .healthy, "the blamed member is taken out of use")
        #expect(rig.monitor.healthState(sensor: R.tA) == .healthy)
        #expect(rig.events(.failover, after: c0).isEmpty, "the primary T-A stays in control")
    }

    @Test func withoutAssistOrWithoutAConfidentOpinionThePairStillEscalates() throws {
        for (assist, opinions) in [(false, true), (true, false)] {
            var rig = try MonitorRig(settings: Self.settings(assist: assist))
            rig.warmUp()
            if opinions {
                rig.monitor.setModelOpinion(sensor: R.tA, .healthy)
                rig.monitor.setModelOpinion(sensor: R.tB, .drift)
            }
            let c0 = rig.cycle + 1
            Self.driftPair(&rig, cycles: 1_000, from: c0)
            #expect(rig.events(.escalation, after: c0).filter { $0.escalation == .unresolvedDisagreement }.count == 1, "assist \(assist), opinions \(opinions)")
            #expect(rig.events(.modelAssist, after: c0).isEmpty)
        }
    }

    /// P-B drifts out of its triple (a soft finding, the odd one out). The model calls it healthy
    /// (say operators taught it that this transmitter's slow wander is normal): the fault is held
    /// back, journalled once, and the bound then lets the rule confirm it.
    @Test func softFindingIsHeldBackWhileTheModelCallsTheSensorHealthyThenTheRuleWins() throws {
        func run(assist: Bool) throws -> (firstDiagnosis: UInt64?, assists: [MonitorEvent], c0: UInt64) {
            var rig = try MonitorRig(settings: Self.settings(assist: assist, maxSuppression: 300))
            rig.warmUp()
            rig.monitor.setModelOpinion(sensor: R.pB, .healthy)
            let c0 = rig.cycle + 1
            rig.run(1_500) { r, c in r[R.pB].value += R.pressureSigma * Double(c - c0 + 1) / 20 }
            return (rig.sensorDiagnosis(R.pB, after: c0)?.cycle, rig.events(.modelAssist, after: c0), c0)
        }
        let plain = try run(assist: false), held = try run(assist: true)
        let plainAt = try #require(plain.firstDiagnosis, "the rule confirms the drift without the model")
        let heldAt = try #require(held.firstDiagnosis, "the bound lets the rule confirm it in the end")
        #expect(plain.assists.isEmpty)
        // One hold per episode (the drift goes on, so after probation a second episode begins).
        #expect(!held.assists.isEmpty && held.assists.allSatisfy { $0.modelAssist == .suppressedFalseAlarm && $0.sensor == Int32(R.pB) })
        #expect(held.assists.first.map { $0.cycle <= plainAt } == true, "held back where the rule would have confirmed")
        #expect((295...305).contains(heldAt - plainAt), "held back for the 300-sample bound: \(plainAt - plain.c0) → \(heldAt - held.c0) cycles after onset")
    }

    @Test func hardFaultsAreNeverHeldBack() throws {
        var rig = try MonitorRig(settings: Self.settings(assist: true))
        rig.warmUp()
        rig.monitor.setModelOpinion(sensor: R.pA, .healthy)
        let c0 = rig.cycle + 1
        rig.run(5) { r, _ in r[R.pA].value = 40 } // far out of its 0–16 bar range
        #expect(rig.firstFailover(group: R.pressure, after: c0) != nil, "out of range fails over whatever the model says")
        #expect(rig.events(.modelAssist, after: c0).isEmpty)
    }
}
