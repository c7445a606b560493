import Foundation
import Testing
@testable import Monitor
import VigilCore

/// Two things a real plant does that a healthy sensor must survive: resting at an end of its range
/// (a stopped pump's flow reads 0, its noise clipped by the register) and answering at a slower
/// pace than its poll interval (slower polling, a slow gateway). Neither is a sensor fault; a
/// frozen value inside the range and a real silence still are.
@Suite struct RangeEndAndPaceTests {
    typealias R = MonitorRig

    static func stuckFindings(_ rig: MonitorRig, _ sensor: Int, after c0: UInt64) -> [MonitorEvent] {
        rig.events(.detection, after: c0).filter { $0.sensor == Int32(sensor) && $0.finding?.kind == .stuck }
    }

    /// T-A (ungrouped, −20…80 °C) ramps down to its range floor, then rests there: its noise is
    /// clipped at −20, so almost every sample repeats −20 exactly.
    @Test func aSensorRestingAtItsRangeFloorIsNotStuck() throws {
        var rig = try MonitorRig(temperaturePair: false)
        rig.warmUp()
        let c0 = rig.cycle + 1
        rig.run(4_000) { r, c in
            let k = Double(c - c0)
            let target = 18.5 - min(k / 2_000, 1) * (38.5 + 2 * R.temperatureSigma)
            r[R.tA].value = max(-20, target + (r[R.tA].value - trueTemperature(atCycle: c)))
        }
        let atFloor = rig.readings[R.tA].value
        #expect(atFloor == -20, "the run ends resting at the floor")
        #expect(Self.stuckFindings(rig, R.tA, after: c0).isEmpty, "\(Self.stuckFindings(rig, R.tA, after: c0))")
    }

    /// The same repeats one degree inside the range are a frozen sensor.
    @Test func theSameRunInsideTheRangeIsStuck() throws {
        var rig = try MonitorRig(temperaturePair: false)
        rig.warmUp()
        let c0 = rig.cycle + 1
        rig.run(400) { r, _ in r[R.tA].value = -19 }
        #expect(!Self.stuckFindings(rig, R.tA, after: c0).isEmpty)
    }

    /// Every point of dev-a (P-A, T-A) answers slower and slower: 10 ms, then 20, 40, 80, 160 and
    /// 320 ms between samples (slower polling the monitor did not ask for, or a gateway slowing
    /// down). Each step is within a few of the device's recent gaps: no dropout. A 2 s silence
    /// afterwards still is one.
    @Test func aDeviceThatAnswersAtASlowerPaceIsNoDropoutButItsSilenceIs() throws {
        var rig = try MonitorRig(settings: MonitorSettings(), temperaturePair: false)
        rig.warmUp()
        let c0 = rig.cycle + 1
        var held = rig.readings
        var gapCycles: UInt64 = 1, next = c0
        for interval in [1, 2, 4, 8, 16, 32] as [UInt64] {
            gapCycles = interval
            rig.run(Int(40 * interval)) { r, c in
                if c >= next {
                    held[R.pA] = r[R.pA]
                    held[R.tA] = r[R.tA]
                    next = c + gapCycles
                } else {
                    r[R.pA] = held[R.pA]
                    r[R.tA] = held[R.tA]
                }
            }
        }
        let paced = rig.events(.detection, after: c0).filter { $0.finding?.kind == .dropout }
        #expect(paced.isEmpty, "\(paced.map { "cycle \($0.cycle) sensor \($0.sensor)" })")
        let c1 = rig.cycle + 1
        let frozen = rig.readings
        rig.run(200) { r, _ in
            r[R.pA] = frozen[R.pA]
            r[R.tA] = frozen[R.tA]
        }
        let silent = rig.events(.detection, after: c1).filter { $0.finding?.kind == .dropout && $0.sensor == Int32(R.pA) }
        #expect(!silent.isEmpty, "a 2 s silence after the slow pace is a dropout")
    }

    /// P-C is alone on dev-c. Its silence (no reply at all) is its device's or link's matter (a slow
    /// gateway's first round, a stalled line); the silence of P-A while T-A on the same device still
    /// answers is P-A's own.
    @Test func theSilenceOfTheOnlySensorOnADeviceIsADeviceFault() throws {
        func diagnosis(sensor: Int, _ fault: @escaping (inout [Reading], [Reading]) -> Void) throws -> RootCause? {
            var rig = try MonitorRig(settings: MonitorSettings())
            rig.warmUp()
            let c0 = rig.cycle + 1
            let held = rig.readings
            rig.run(60) { r, _ in fault(&r, held) }
            return rig.sensorDiagnosis(sensor, after: c0)?.cause
        }
        #expect(try diagnosis(sensor: R.pC) { r, held in r[R.pC] = held[R.pC] } == .deviceFault)
        #expect(try diagnosis(sensor: R.pA) { r, held in r[R.pA] = held[R.pA] } == .sensorFault)
    }
}

/// The rig's true temperature at cycle `c` (its readings are this plus noise).
private func trueTemperature(atCycle c: UInt64) -> Double {
    let phase: Double = 2 * Double.pi * Double(c) * 0.01 / 300
    return 18.5 + 0.5 * sin(phase)
}

/// A quantized, quiet sensor with no peer (T-A ungrouped, read in 0.5 °C steps with 0.2 °C noise)
/// repeats itself in bursts whenever the process sits mid-step: longer than its warm-up's repeat
/// rate predicts. Without peers to compare, its run is stuck only past twice its learned length.
@Suite struct QuantizedLoneSensorTests {
    typealias R = MonitorRig

    static func quantize(_ r: inout [Reading]) { r[R.tA].value = (r[R.tA].value / 0.5).rounded() * 0.5 }

    /// Warms a rig up on quantized T-A, then holds T-A at one value for `samples` samples and lets
    /// it move again; returns its stuck findings and the learned run length.
    static func hold(for samples: (Int) -> Int) throws -> (stuck: Int, needed: Int) {
        var rig = try MonitorRig(temperaturePair: false)
        rig.run(1_200) { r, _ in Self.quantize(&r) }
        let needed = rig.monitor.stuckRunNeeded(sensor: R.tA)
        let c0 = rig.cycle + 1
        rig.run(samples(needed)) { r, _ in r[R.tA].value = 18.5 }
        rig.run(50) { r, c in r[R.tA].value = 18.5 + (c % 2 == 0 ? 0.5 : -0.5) }
        return (rig.events(.detection, after: c0).filter { $0.sensor == Int32(R.tA) && $0.finding?.kind == .stuck }.count, needed)
    }

    @Test func aRunBetweenOnceAndTwiceItsLearnedLengthIsNotStuck() throws {
        let (stuck, needed) = try Self.hold { $0 * 3 / 2 }
        #expect(needed > 3, "the quantized sensor learned that it repeats (\(needed))")
        #expect(stuck == 0)
    }

    @Test func aLongerRunIsStuck() throws {
        let (stuck, _) = try Self.hold { $0 * 2 + 5 }
        #expect(stuck > 0)
    }
}
