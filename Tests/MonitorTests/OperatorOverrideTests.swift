import Testing
import VigilCore
@testable import Monitor

/// An engineer's `failover GROUP SENSOR`: control follows that member alone (no mid-value select,
/// no automatic failover or failback) until released, or until the member goes out of use.
@Suite struct OperatorOverrideTests {
    @Test func forcedMemberCarriesTheGroupUntilReleased() throws {
        var rig = try MonitorRig()
        rig.warmUp()
        let moved = try rig.monitor.forceSource(group: R.pressure, sensor: R.pC)
        #expect(moved.from == R.pA && moved.to == R.pC)
        rig.run(5)
        #expect(rig.monitor.activeSource(group: R.pressure) == R.pC)
        #expect(rig.monitor.operatorSource(group: R.pressure) == R.pC)
        // The group's value is P-C's own reading, not the median of three.
        #expect(rig.out[R.pressure].value == rig.readings[R.pC].value)
        // Nothing the monitor does moves it back while P-C stays usable (no failback to the primary).
        rig.run(300)
        #expect(rig.monitor.activeSource(group: R.pressure) == R.pC)
        #expect(rig.events(.failback).isEmpty && rig.events(.failover).isEmpty)
        let released = rig.monitor.releaseSource(group: R.pressure)
        let again = rig.monitor.releaseSource(group: R.pressure)
        #expect(released)
        #expect(!again, "releasing twice changes nothing")
        rig.run(5)
        #expect(rig.monitor.operatorSource(group: R.pressure) == nil)
        #expect(rig.monitor.activeSource(group: R.pressure) == R.pA, "automatic again: the healthy primary takes over")
    }

    @Test func forcedMemberThatFailsHandsTheGroupBackToAutomatic() throws {
        var rig = try MonitorRig()
        rig.warmUp()
        _ = try rig.monitor.forceSource(group: R.pressure, sensor: R.pB)
        let frozen = rig.readings[R.pB].value
        let c0 = rig.cycle + 1
        rig.run(30) { r, _ in r[R.pB].value = frozen }
        #expect(rig.monitor.operatorSource(group: R.pressure) == nil)
        let f = try #require(rig.firstFailover(group: R.pressure, after: c0))
        #expect(f.fromSensor == Int32(R.pB) && f.toSensor != Int32(R.pB))
        #expect(rig.out[R.pressure].quality.isGood)
    }

    @Test func unusableOrForeignSensorsAreRefused() throws {
        var rig = try MonitorRig()
        rig.warmUp()
        func attempt(_ group: Int, _ sensor: Int) -> SourceOverrideError? {
            do { _ = try rig.monitor.forceSource(group: group, sensor: sensor); return nil } catch { return error }
        }
        #expect(attempt(R.pressure, R.tA) == .notAMember)
        #expect(attempt(7, R.pA) == .unknownGroup)
        let frozen = rig.readings[R.pA].value
        rig.run(30) { r, _ in r[R.pA].value = frozen }
        guard case .notUsable(let state)? = attempt(R.pressure, R.pA) else {
            Issue.record("a stuck member was accepted"); return
        }
        #expect(state != .healthy && state != .suspect)
        #expect(rig.monitor.operatorSource(group: R.pressure) == nil)
    }
}
