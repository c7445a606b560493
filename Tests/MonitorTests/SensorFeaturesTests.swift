import Testing
import Monitor
import VigilCore

/// The policy model's input vector (`SensorFeatures`, `PlantMonitor.features`): each feature moves
/// with the fault it is meant to show, and stays quiet on a healthy sensor.
@Suite struct SensorFeaturesTests {
    static func index(_ name: String) -> Int {
        guard let i = SensorFeatures.index(name) else { fatalError("no feature \(name)") }
        return i
    }
    static let residual = index("residual_z"), disagreement = index("disagreement"), drift = index("drift")
    static let spike = index("spike"), rate = index("rate"), stuck = index("stuck"), noise = index("noise")
    static let silence = index("silence"), badQuality = index("bad_quality"), latency = index("latency")
    static let margin = index("range_margin"), step = index("step"), peers = index("peers")
    static let motion = index("motion"), coMovement = index("co_movement"), history = index("history")
    static let suspect = index("suspect"), outOfService = index("out_of_service")

    static func features(_ rig: MonitorRig, _ sensor: Int) -> [Float] {
        var monitor = rig.monitor
        var f = [Float](repeating: .nan, count: SensorFeatures.count)
        f.withUnsafeMutableBufferPointer { monitor.features(sensor: sensor, into: $0) }
        return f
    }

    @Test func namesAreUniqueAndTheWriterFillsExactlyCountFiniteValues() throws {
        #expect(Set(SensorFeatures.names).count == SensorFeatures.names.count)
        #expect(SensorFeatures.count == SensorFeatures.names.count)
        #expect((14...20).contains(SensorFeatures.count))
        var rig = try MonitorRig()
        rig.run(50)
        // One slot past the end holds a sentinel the writer must not touch.
        var f = [Float](repeating: .nan, count: SensorFeatures.count + 1)
        f[SensorFeatures.count] = 12345
        f.withUnsafeMutableBufferPointer { rig.monitor.features(sensor: R.pA, into: $0) }
        #expect(f[..<SensorFeatures.count].allSatisfy { $0.isFinite && abs($0) <= SensorFeatures.limit })
        #expect(f[SensorFeatures.count] == 12345)
    }

    @Test func healthyWarmedUpSensorsHaveSmallFeatures() throws {
        var rig = try MonitorRig(seed: 7)
        rig.warmUp()
        rig.run(200)
        var worst = [Float](repeating: 0, count: SensorFeatures.count)
        for _ in 0..<200 {
            rig.step()
            for s in 0..<5 {
                let f = Self.features(rig, s)
                for k in f.indices { worst[k] = max(worst[k], abs(f[k])) }
                #expect(f[Self.margin] > 0 && f[Self.margin] <= 0.5)
                #expect(f[Self.peers] == (s < 3 ? 2 : 1))
            }
        }
        // Every "statistic over its threshold" feature stays below its rule's limit.
        for k in [Self.disagreement, Self.drift, Self.spike, Self.rate, Self.stuck, Self.noise, Self.silence, Self.step] {
            #expect(worst[k] < 1, "\(SensorFeatures.names[k]) = \(worst[k])")
        }
        #expect(worst[Self.latency] < 2)
        #expect(worst[Self.residual] < 6)
        #expect(worst[Self.motion] < 3 && worst[Self.coMovement] < 3)
        for k in [Self.badQuality, Self.suspect, Self.outOfService] { #expect(worst[k] == 0, "\(SensorFeatures.names[k])") }
        #expect(worst[Self.history] < 0.5)
    }

    @Test func stuckSensorRaisesTheStuckFeature() throws {
        var rig = try MonitorRig()
        rig.warmUp()
        let healthy = Self.features(rig, R.pA)[Self.stuck]
        let frozen = rig.readings[R.pA].value
        rig.run(3) { r, _ in r[R.pA].value = frozen }
        let f = Self.features(rig, R.pA)
        #expect(healthy < 0.5)
        #expect(f[Self.stuck] >= 1)
        #expect(Self.features(rig, R.pB)[Self.stuck] < 0.5)
    }

    @Test func spikeRaisesTheSpikeFeatureForThatSampleOnly() throws {
        var rig = try MonitorRig()
        rig.warmUp()
        let healthy = Self.features(rig, R.pA)[Self.spike]
        rig.step { r, _ in r[R.pA].value += 3 }
        let during = Self.features(rig, R.pA)[Self.spike]
        rig.run(5)
        let after = Self.features(rig, R.pA)[Self.spike]
        #expect(healthy < 1)
        #expect(during > 5)
        #expect(after < 1)
    }

    @Test func biasOnAGroupMemberRaisesItsResidualAndDisagreementButNotTheGroupsCoMovement() throws {
        var rig = try MonitorRig()
        rig.warmUp()
        let before = Self.features(rig, R.pA)
        // 25 σ. The Hampel filter takes a step's first samples for spikes (the median of its window
        // flips after half of it), so the residual and the motion show from the 4th sample on.
        rig.run(10) { r, _ in r[R.pA].value += 0.8 }
        let a = Self.features(rig, R.pA), b = Self.features(rig, R.pB), c = Self.features(rig, R.pC)
        print("bias 25σ on P-A after 10 samples: residual_z \(a[Self.residual]) (P-B \(b[Self.residual]), P-C \(c[Self.residual])), disagreement \(a[Self.disagreement]), motion \(a[Self.motion]), co_movement \(a[Self.coMovement])")
        #expect(before[Self.residual] < 6 && before[Self.disagreement] < 1)
        #expect(a[Self.residual] > 15)
        #expect(a[Self.disagreement] > 2)
        // Its peers' residuals stay small (P-A is out of use by now, so it is no longer in their consensus).
        #expect(a[Self.residual] > b[Self.residual] && a[Self.residual] > c[Self.residual])
        // P-A moved alone: its own motion is large, the group's co-movement is not.
        #expect(a[Self.motion] > 5)
        #expect(a[Self.coMovement] < 2)
    }

    @Test func frozenTimestampRaisesSilenceAndBadReadingsRaiseBadQuality() throws {
        var rig = try MonitorRig()
        rig.warmUp()
        #expect(Self.features(rig, R.pA)[Self.silence] == 0)
        #expect(Self.features(rig, R.tA)[Self.badQuality] == 0)
        let held = rig.readings[R.pA]
        rig.run(5) { r, _ in
            r[R.pA] = held
            r[R.tA].quality = .bad(.timeout)
            r[R.tA].value = .nan
        }
        #expect(Self.features(rig, R.pA)[Self.silence] >= 1)
        #expect(Self.features(rig, R.tA)[Self.badQuality] > 0.3)
        #expect(Self.features(rig, R.pB)[Self.silence] == 0)
    }

    @Test func excursionOfTheWholeGroupRaisesCoMovementButNotTheResiduals() throws {
        var rig = try MonitorRig()
        rig.warmUp()
        let before = Self.features(rig, R.pB)[Self.coMovement]
        let c0 = rig.cycle + 1
        // A gentle rise, 0.02 bar (0.6 σ) per cycle: too slow for the rate rule, 2 bar in all.
        rig.run(60) { r, c in
            let rise = min(Double(c - c0 + 1) * 0.02, 2.0)
            for i in [R.pA, R.pB, R.pC] { r[i].value += rise }
        }
        #expect(before < 2)
        for s in [R.pA, R.pB, R.pC] {
            let f = Self.features(rig, s)
            print("excursion 0.6σ/cycle, sensor \(s): co_movement \(f[Self.coMovement]), motion \(f[Self.motion]), residual_z \(f[Self.residual])")
            #expect(f[Self.coMovement] > 5, "co-movement of \(s) = \(f[Self.coMovement])")
            #expect(f[Self.residual] < 6, "residual of \(s) = \(f[Self.residual])")
        }
        // The temperature pair did not move.
        #expect(Self.features(rig, R.tA)[Self.coMovement] < 2)
    }

    @Test func outOfRangeValueGivesANegativeRangeMarginAndAConfirmedFaultShowsOutOfService() throws {
        var rig = try MonitorRig()
        rig.warmUp()
        #expect(Self.features(rig, R.pA)[Self.outOfService] == 0)
        rig.run(5) { r, _ in r[R.pA].value = 20 } // range 0…16
        let f = Self.features(rig, R.pA)
        #expect(abs(f[Self.margin] - Float(-4.0 / 16)) < 1e-6)
        #expect(f[Self.outOfService] == 1)
        #expect(f[Self.history] >= 1)
    }
}
