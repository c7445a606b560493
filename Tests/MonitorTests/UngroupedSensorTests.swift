import Testing
import Monitor
import VigilCore

/// A sensor in no redundancy group has no backup to fail over to. When it is confirmed faulty the
/// monitor cannot repair it, so it must say so: an escalation (reason `noHealthySource`, keyed by
/// the sensor) that the runtime turns into an alarm for a human, once the fault has lasted
/// `noBackupConfirmNanoseconds` (a quiet quantized sensor may repeat itself for a moment). The
/// plant is the monitor rig with T-A and T-B left ungrouped.
@Suite struct UngroupedSensorTests {
    typealias R = MonitorRig

    static func escalations(_ rig: MonitorRig, sensor: Int, after c0: UInt64) -> [MonitorEvent] {
        rig.events(.escalation, after: c0).filter { $0.sensor == Int32(sensor) }
    }

    /// Warms the rig up, then freezes `sensor` at its last reading for `cycles`; returns the first
    /// frozen cycle.
    static func warmUpThenFreeze(_ rig: inout MonitorRig, _ sensor: Int, cycles: Int) -> UInt64 {
        rig.warmUp()
        let frozen = rig.readings[sensor].value
        let c0 = rig.cycle + 1
        rig.run(cycles) { r, _ in r[sensor].value = frozen }
        return c0
    }

    @Test func aStuckUngroupedSensorIsEscalatedBecauseNothingCanStandInForIt() throws {
        var rig = try MonitorRig(temperaturePair: false)
        let c0 = Self.warmUpThenFreeze(&rig, R.tA, cycles: 250)
        #expect(rig.events(.escalation).allSatisfy { $0.cycle >= c0 }, "a fault-free warm-up escalates nothing")
        let d = try #require(rig.sensorDiagnosis(R.tA, after: c0))
        #expect(d.cause == .sensorFault && d.finding?.kind == .stuck)
        let e = try #require(Self.escalations(rig, sensor: R.tA, after: c0).first, "the stuck T-A is escalated")
        #expect(e.escalation == .noHealthySource)
        #expect(e.group == -1 && e.cause == .sensorFault && e.finding?.kind == .stuck)
        // Called once the fault has lasted `noBackupConfirmNanoseconds` (2 s: 200 cycles of 10 ms).
        #expect(e.cycle >= d.cycle + 200 && e.cycle <= d.cycle + 201, "escalated 2 s after the fault was confirmed (confirmed \(d.cycle), escalated \(e.cycle))")
        #expect(Self.escalations(rig, sensor: R.tB, after: c0).isEmpty, "the healthy neighbour is not blamed")
        #expect(rig.events(.failover, after: c0).isEmpty, "no group, no failover")
        #expect(Self.escalations(rig, sensor: R.tA, after: c0).count == 1, "one call per episode")
    }

    /// A sensor that froze for a moment and moves again before the confirmation time is over goes
    /// back towards service; nobody is called for it.
    @Test func aStuckRunThatEndsBeforeTheConfirmationTimeCallsNobody() throws {
        var rig = try MonitorRig(temperaturePair: false)
        let c0 = Self.warmUpThenFreeze(&rig, R.tA, cycles: 20)
        #expect(rig.sensorDiagnosis(R.tA, after: c0)?.finding?.kind == .stuck, "the frozen run is diagnosed")
        rig.run(600)
        #expect(Self.escalations(rig, sensor: R.tA, after: c0).isEmpty)
    }

    /// A real step of the process on a sensor with no peer (the demo's tank level resets its
    /// sawtooth by 0.5 m) is seen by the spike filter for a few samples and can confirm a fault; the
    /// spikes are over long before the confirmation time, so nobody is called for it.
    @Test func aProcessStepThatTheSpikeFilterSawForAMomentCallsNobody() throws {
        var rig = try MonitorRig(temperaturePair: false)
        rig.warmUp()
        let c0 = rig.cycle + 1
        rig.run(600) { r, _ in r[R.tB].value -= 30 } // T-B's process drops 30 °C at once and stays there
        let found = rig.events(.detection, after: c0).filter { $0.sensor == Int32(R.tB) }.compactMap(\.finding?.kind)
        #expect(!found.isEmpty, "the step was seen: \(found)")
        #expect(rig.sensorDiagnosis(R.tB, after: c0) != nil, "and confirmed as a fault")
        #expect(Self.escalations(rig, sensor: R.tB, after: c0).isEmpty, "\(Self.escalations(rig, sensor: R.tB, after: c0))")
    }

    /// A sensor that keeps spiking is called for.
    @Test func anUngroupedSensorThatKeepsSpikingIsEscalated() throws {
        var rig = try MonitorRig(temperaturePair: false)
        rig.warmUp()
        let c0 = rig.cycle + 1
        rig.run(400) { r, c in if c % 7 == 0 { r[R.tB].value += 30 } }
        #expect(!Self.escalations(rig, sensor: R.tB, after: c0).isEmpty)
    }

    /// The time is a knob (`health.no_backup_confirm_seconds`).
    @Test func theConfirmationTimeIsTunable() throws {
        var settings = MonitorRig.fastBusSettings
        settings.health.noBackupConfirmNanoseconds = 500_000_000
        var rig = try MonitorRig(settings: settings, temperaturePair: false)
        rig.warmUp()
        let c0 = rig.cycle + 1
        rig.run(100) { r, _ in r[R.tB].value = 95 }
        let d = try #require(rig.sensorDiagnosis(R.tB, after: c0))
        let e = try #require(Self.escalations(rig, sensor: R.tB, after: c0).first)
        #expect(e.cycle - d.cycle >= 50 && e.cycle - d.cycle <= 51)
    }

    @Test func anOutOfRangeUngroupedSensorIsEscalated() throws {
        var rig = try MonitorRig(temperaturePair: false)
        rig.warmUp()
        let c0 = rig.cycle + 1
        rig.run(250) { r, _ in r[R.tB].value = 95 } // range −20…80 °C
        let e = try #require(Self.escalations(rig, sensor: R.tB, after: c0).first)
        #expect(e.escalation == .noHealthySource && e.finding?.kind == .outOfRange)
    }

    /// In a group the same fault is repaired by a failover and nobody is called.
    @Test func theSameFaultInAGroupIsRepairedNotEscalated() throws {
        var rig = try MonitorRig(temperaturePair: true)
        let c0 = Self.warmUpThenFreeze(&rig, R.tA, cycles: 300)
        #expect(rig.firstFailover(group: R.temperature, after: c0) != nil)
        #expect(rig.events(.escalation, after: c0).isEmpty)
    }

    /// A point that stops answering is a communication matter (the device watch, the stale hold),
    /// not a reason to call a human for every point of a device being reconnected.
    @Test func aDropoutOfAnUngroupedSensorIsNotEscalatedAsASensorWithoutBackup() throws {
        var rig = try MonitorRig(temperaturePair: false)
        rig.warmUp()
        let c0 = rig.cycle + 1
        rig.run(300) { r, _ in r[R.tA].quality = .bad(.timeout); r[R.tA].value = .nan }
        #expect(rig.events(.detection, after: c0).contains { $0.sensor == Int32(R.tA) && $0.finding?.kind == .dropout })
        #expect(Self.escalations(rig, sensor: R.tA, after: c0).allSatisfy { $0.escalation != .noHealthySource })
    }

    @Test func faultFreeUngroupedSensorsAreNeverEscalated() throws {
        var rig = try MonitorRig(seed: 7, temperaturePair: false)
        rig.run(20_000)
        #expect(rig.events(.escalation).isEmpty)
        #expect(rig.events(.diagnosis).isEmpty)
    }
}
