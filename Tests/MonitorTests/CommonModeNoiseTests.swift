import Testing
import Monitor
import VigilCore

/// A real step of the process (a pump starting, an inflow surge) lingers for a while in every
/// member's second-difference noise statistic. All of a group's members noisy at once, and agreeing,
/// is the process: no member is faulty for it. One noisy member still is.
@Suite struct CommonModeNoiseTests {
    typealias R = MonitorRig

    static func noiseFaults(_ rig: MonitorRig, after c0: UInt64) -> [MonitorEvent] {
        rig.events(.diagnosis, after: c0).filter { $0.cause == .sensorFault && $0.finding?.kind == .noise }
    }

    @Test func theWholeTripleSteppingTogetherIsNoNoiseFault() throws {
        var rig = try MonitorRig()
        rig.warmUp()
        let c0 = rig.cycle + 1
        // The pressure steps 0.6 bar (about 19 σ) up and back down every 40 cycles, three times.
        rig.run(600) { r, c in
            let k = (c - c0) / 40
            if k < 6 && k % 2 == 0 { for s in [R.pA, R.pB, R.pC] { r[s].value += 0.6 } }
        }
        #expect(Self.noiseFaults(rig, after: c0).isEmpty, "\(Self.noiseFaults(rig, after: c0).map { "sensor \($0.sensor) cycle \($0.cycle)" })")
        #expect(rig.events(.failover, after: c0).isEmpty)
    }

    @Test func oneNoisyMemberIsStillItsOwnFault() throws {
        var rig = try MonitorRig()
        rig.warmUp()
        let c0 = rig.cycle + 1
        rig.run(600) { r, _ in r[R.pB].value += 5 * R.pressureSigma * noiseFrom(r[R.pA].value) }
        #expect(Self.noiseFaults(rig, after: c0).contains { $0.sensor == Int32(R.pB) })
    }
}

/// A cheap pseudo-random sign in −1…1 from another reading's noise (the closure cannot reach the rig's generator).
private func noiseFrom(_ x: Double) -> Double { (x * 1e4).truncatingRemainder(dividingBy: 2) - 1 }
