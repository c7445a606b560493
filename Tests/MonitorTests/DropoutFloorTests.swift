import Testing
import Monitor
import VigilCore

/// A host that is not a real-time system stalls now and then (a VM for tens of milliseconds):
/// every device's readings stop at once and come back. With the default tuning that is no
/// dropout below the 100 ms floor, and a longer outage that takes every source of a group ends
/// its hold as soon as the devices answer again (no quarantine or probation for sensors that were
/// only silent because their device was).
@Suite struct DropoutFloorTests {
    typealias R = MonitorRig

    /// Every reading frozen for `cycles` cycles (10 ms each), as a whole-process stall looks.
    static func stall(_ rig: inout MonitorRig, cycles: Int) {
        let held = rig.readings
        rig.run(cycles) { r, _ in r = held }
    }

    @Test func aFiftyMillisecondStallOfEveryDeviceIsNoDropout() throws {
        var rig = try MonitorRig(settings: MonitorSettings())
        rig.warmUp()
        let c0 = rig.cycle + 1
        Self.stall(&rig, cycles: 5)
        rig.run(50)
        let dropouts = rig.events(.detection, after: c0).filter { $0.finding?.kind == .dropout }
        #expect(dropouts.isEmpty)
        #expect(rig.events(.escalation, after: c0).isEmpty)
        // Without the floor the same stall is a dropout of every point (the rule it replaces).
        var bare = try MonitorRig(settings: MonitorRig.fastBusSettings)
        bare.warmUp()
        Self.stall(&bare, cycles: 5)
        let bareDropouts = bare.events(.detection, after: c0).filter { $0.finding?.kind == .dropout }
        #expect(bareDropouts.count == 5)
    }

    @Test func anOutageOfEveryDeviceEndsTheHoldAsSoonAsTheDevicesAnswer() throws {
        var rig = try MonitorRig(settings: MonitorSettings())
        rig.warmUp()
        let c0 = rig.cycle + 1
        Self.stall(&rig, cycles: 15) // 150 ms: beyond the floor
        let holds = rig.events(.repair, after: c0).filter { $0.strategy == .holdLastGood }
        #expect(Set(holds.map(\.group)) == [Int32(R.pressure), Int32(R.temperature)], "both groups hold their last good value")
        let c1 = rig.cycle + 1
        rig.run(10)
        for g in [R.pressure, R.temperature] { #expect(rig.out[g].quality.isGood, "group \(g) is good again within 10 samples") }
        #expect(rig.events(.repair, after: c1).filter { $0.strategy == .groupSafeAction }.isEmpty)
        // One member per group is back at once (nobody else could stand in for it); the others
        // then have a healthy peer and take the usual way back through quarantine and probation.
        let healthy = (0..<5).filter { rig.monitor.healthState(sensor: $0) == .healthy }
        #expect(healthy.contains { $0 < 3 } && healthy.contains { $0 >= 3 }, "healthy: \(healthy)")
    }

    /// The short way back is for sensors nobody else can stand in for: with a healthy member left,
    /// a sensor whose device went silent waits out quarantine and probation as usual.
    @Test func aSilentDeviceWhoseGroupHasAHealthyMemberLeftTakesTheUsualWayBack() throws {
        var rig = try MonitorRig(settings: MonitorSettings())
        rig.warmUp()
        let held = rig.readings
        // dev-a (P-A and T-A) silent for 150 ms; dev-b and dev-c keep answering.
        rig.run(15) { r, _ in
            r[R.pA] = held[R.pA]
            r[R.tA] = held[R.tA]
        }
        rig.run(20)
        #expect(rig.monitor.healthState(sensor: R.pA) != .healthy, "P-A has two healthy peers: quarantine and probation first")
        #expect(rig.monitor.activeSource(group: R.pressure) != 0)
    }
}
