import Testing
@testable import Monitor
import VigilCore

/// Losing a member must not blind the rest of its group.
@Suite struct MemberLossTests {
    typealias R = MonitorRig

    /// P-A sticks and is quarantined (control on P-B); then P-B drifts. P-A, frozen at a value
    /// close to P-B's, must not outvote the healthy P-C: the pair P-B/P-C cannot tell who moved
    /// and says so to an operator, and nothing fails over to P-A or calls P-C faulty.
    @Test func aDriftAfterAMemberIsLostIsEscalatedNotHidden() throws {
        var rig = try MonitorRig()
        rig.warmUp()
        let c0 = rig.cycle + 1
        let frozen = rig.readings[R.pA].value
        rig.run(200) { r, _ in r[R.pA].value = frozen }
        #expect(rig.monitor.activeSource(group: R.pressure) == R.pB)
        let c1 = rig.cycle + 1
        var k = 0.0
        rig.run(1_500) { r, _ in
            r[R.pA].value = frozen
            k += 1
            r[R.pB].value += 0.0005 * k      // 0.05 bar a second at 10 ms
        }
        let escalations = rig.events(.escalation, after: c1).filter { $0.group == Int32(R.pressure) }
        #expect(escalations.contains { $0.escalation == .unresolvedDisagreement }, "\(escalations.map { ($0.cycle, $0.escalation) })")
        #expect(rig.events(.failover, after: c0).allSatisfy { $0.toSensor != Int32(R.pA) })
        #expect(rig.sensorDiagnosis(R.pC, after: c1) == nil, "P-C is not blamed")
    }

    /// The residual's statistics survive a change in the number of peers: σ is rescaled by the
    /// known factor (residual to one peer vs the median of two), the learning is kept.
    @Test func aResidualKeepsWhatItLearnedWhenAPeerIsLost() {
        var r = ResidualDetector()
        r.restart(peers: 2)
        r.learned = true
        r.mean = 0.1
        r.variance = 1.5
        r.restart(peers: 1)
        #expect(r.learned && r.mean == 0.1 && abs(r.variance - 2) < 1e-12)
        var fresh = ResidualDetector()
        fresh.restart(peers: 1)
        #expect(!fresh.learned)
    }
}
