import Testing
import Monitor
import VigilCore

/// Device repairs the runtime executes: which strategy the monitor picks for a device with a
/// backup path, what happens when the new path dies before it is verified, and that slower
/// polling is not mistaken for readings stopping.
@Suite struct DeviceRepairMonitorTests {
    typealias R = MonitorRig

    /// The rig's plant with a backup gateway on dev-c (the only device behind 10.0.0.2).
    static func rigWithBackup() throws -> MonitorRig {
        var rig = try MonitorRig()
        var plant = MonitorRig.plant()
        plant.devices[2].backup = .tcp(host: "10.0.0.3", port: 502)
        rig.monitor = try PlantMonitor(plant: plant, settings: MonitorRig.fastBusSettings)
        return rig
    }

    @Test func deadDeviceWithABackupGatewaySwitchesInsteadOfReconnecting() throws {
        var rig = try Self.rigWithBackup()
        rig.warmUp()
        let c0 = rig.cycle + 1
        rig.run(10) { r, _ in r[R.pC].quality = .bad(.disconnected) }
        let repairs = rig.events(.repair, after: c0).filter { $0.device == 2 }
        #expect(repairs.map(\.strategy) == [.switchToBackupGateway])
        // Without a backup the same fault is a reconnect.
        var plain = try MonitorRig()
        plain.warmUp()
        plain.run(10) { r, _ in r[R.pC].quality = .bad(.disconnected) }
        #expect(plain.events(.repair, after: c0).filter { $0.device == 2 }.map(\.strategy) == [.reconnect])
    }

    /// A switch to the backup path can cure a device before any per-kind threshold is reached (3
    /// timeouts in a row, 10 % CRC share): the device fault is still a journalled detection, named
    /// after its bad samples, once, and any CRC error in the run names line corruption.
    @Test func deviceFaultCuredBeforeAnyPerKindThresholdIsStillADetectionOfItsKind() throws {
        func detections(_ bad: (Int) -> Quality) throws -> [FindingKind] {
            var rig = try Self.rigWithBackup()
            rig.warmUp()
            let c0 = rig.cycle + 1
            var n = 0
            rig.run(2) { r, _ in r[R.pC].quality = bad(n); n += 1 }   // two all-bad samples: faulted, switch
            rig.run(12)                                                 // the backup path answers
            #expect(rig.events(.repair, after: c0).contains { $0.device == 2 && $0.strategy == .switchToBackupGateway })
            return rig.events(.detection, after: c0).filter { $0.device == 2 }.compactMap { $0.finding?.kind }
        }
        #expect(try detections { _ in .bad(.timeout) } == [.deviceTimeouts])
        #expect(try detections { $0 == 0 ? .bad(.timeout) : .bad(.crcOrFraming) } == [.deviceCRCErrors])
        #expect(try detections { _ in .bad(.exception(.serverDeviceFailure)) } == [.deviceExceptions])
        // TCP has no line to garble a frame: a reply that does not answer its request, or an
        // undefined exception code, is the device answering wrongly, never CRC noise.
        #expect(try detections { _ in .bad(.malformedReply(.unitID)) } == [.deviceExceptions])
        #expect(try detections { $0 == 0 ? .bad(.malformedReply(.length)) : .bad(.unexpectedException(code: 12)) } == [.deviceExceptions])
        #expect(try detections { _ in .bad(.unexpectedException(code: 0)) } == [.deviceExceptions])
    }

    /// When every point of a device stops bringing samples together, the sensors' own diagnoses
    /// already name the device as the root cause (before its all-bad count can confirm it: no bad
    /// sample has come back yet); one point alone is a sensor fault.
    @Test func pointsDroppingOutTogetherAreDiagnosedAsTheirDevicesFault() throws {
        var rig = try MonitorRig()
        rig.warmUp()
        let c0 = rig.cycle + 1
        // The device goes silent (a serial line's 300 ms timeouts): no new sample of either point.
        let heldP = rig.readings[R.pA], heldT = rig.readings[R.tA]
        rig.run(10) { r, _ in r[R.pA] = heldP; r[R.tA] = heldT }
        let causes = rig.events(.diagnosis, after: c0).filter { $0.sensor == Int32(R.pA) || $0.sensor == Int32(R.tA) }.map(\.cause)
        #expect(causes == [.deviceFault, .deviceFault])

        var lone = try MonitorRig()
        lone.warmUp()
        let c1 = lone.cycle + 1
        let held = lone.readings[R.pA]
        lone.run(10) { r, _ in r[R.pA] = held }
        #expect(lone.events(.diagnosis, after: c1).filter { $0.sensor == Int32(R.pA) }.map(\.cause) == [.sensorFault])
    }

    /// dev-a (with a backup gateway) dies one cycle before dev-b on the same gateway host: its
    /// switch is under way when the bus fault is found, and is not started again (which would send
    /// it back to the path it just left).
    @Test func busFaultFoundAfterADeviceStartedSwitchingDoesNotSwitchItBack() throws {
        var rig = try MonitorRig()
        var plant = MonitorRig.plant()
        plant.devices[0].backup = .tcp(host: "10.0.0.9", port: 502)
        rig.monitor = try PlantMonitor(plant: plant, settings: MonitorSettings())
        rig.warmUp()
        let c0 = rig.cycle + 1
        rig.run(10) { r, cycle in
            for i in [R.pA, R.tA] { r[i].quality = .bad(.disconnected) }
            if cycle >= c0 + 3 { for i in [R.pB, R.tB] { r[i].quality = .bad(.disconnected) } }
        }
        #expect(rig.events(.diagnosis, after: c0).contains { $0.cause == .busFault })
        #expect(rig.events(.repair, after: c0).filter { $0.device == 0 && $0.strategy == .switchToBackupGateway }.count == 1)
    }

    @Test func newPathThatDiesBeforeVerificationFailsTheSwitchAndSwitchesAgain() throws {
        var rig = try Self.rigWithBackup()
        rig.warmUp()
        let c0 = rig.cycle + 1
        rig.run(5) { r, _ in r[R.pC].quality = .bad(.disconnected) }   // switch to the backup
        rig.run(4)                                                      // the backup answers: 4 clean samples (10 verify)
        rig.run(5) { r, _ in r[R.pC].quality = .bad(.disconnected) }   // and dies
        let switches = rig.events(.repair, after: c0).filter { $0.device == 2 && $0.strategy == .switchToBackupGateway }
        #expect(switches.count == 2, "a second switch, back to the other path")
        #expect(rig.events(.repairFailed, after: c0).contains { $0.device == 2 && $0.strategy == .switchToBackupGateway })
        #expect(rig.events(.escalation, after: c0).contains { $0.device == 2 && $0.escalation == .repairFailed })
        rig.run(12)                                                     // the other path works
        #expect(rig.events(.repairVerified, after: c0).contains { $0.device == 2 && $0.strategy == .switchToBackupGateway })
        #expect(rig.monitor.repairRecord(.switchToBackupGateway).failed == 1)
        #expect(rig.monitor.repairRecord(.switchToBackupGateway).verified == 1)
    }

    @Test func deviceThatDiesWhileSlowedGetsItsSwitch() throws {
        var rig = try Self.rigWithBackup()
        rig.run(300)
        let c0 = rig.cycle + 1
        rig.run(40) { r, _ in r[R.pC].latencyNanoseconds = 20_000_000 }
        #expect(rig.events(.repair, after: c0).contains { $0.device == 2 && $0.strategy == .slowPolling })
        let c1 = rig.cycle + 1
        rig.run(10) { r, _ in r[R.pC].quality = .bad(.disconnected) }
        #expect(rig.events(.repair, after: c1).contains { $0.device == 2 && $0.strategy == .switchToBackupGateway })
        #expect(!rig.events(.repairVerified, after: c1).contains { $0.device == 2 && $0.strategy == .slowPolling },
                "slow polling is not verified on a dead device")
    }

    /// dev-c's round trips jump from 2 ms to 20 ms: slow polling is asked for, and from then on a
    /// sample every 5 cycles (up to 40 ms of silence, beyond 3 × the configured 10 ms) is not a dropout.
    @Test func slowPollingRaisesTheDropoutLimitOfTheDevicesSensors() throws {
        func run(slowFirst: Bool) throws -> (slowPolling: Bool, dropouts: Int) {
            var rig = try MonitorRig()
            rig.run(300) // latency warm-up (200 device samples)
            let c0 = rig.cycle + 1
            if slowFirst { rig.run(40) { r, _ in r[R.pC].latencyNanoseconds = 20_000_000 } }
            let slow = rig.events(.repair, after: c0).contains { $0.device == 2 && $0.strategy == .slowPolling }
            let c1 = rig.cycle + 1
            var held = rig.readings[R.pC]
            rig.run(200) { r, cycle in
                if cycle % 5 == 0 { held = r[R.pC] } else { r[R.pC] = held }
            }
            let dropouts = rig.events(.detection, after: c1).filter { $0.sensor == Int32(R.pC) && $0.finding?.kind == .dropout }.count
            return (slow, dropouts)
        }
        let slowed = try run(slowFirst: true)
        #expect(slowed.slowPolling)
        #expect(slowed.dropouts == 0)
        let control = try run(slowFirst: false)
        #expect(!control.slowPolling)
        #expect(control.dropouts > 0, "the same sample rate without slow polling is a dropout")
    }

    @Test func aFewHundredMicrosecondsOfLatencyJitterIsNoTrend() throws {
        var rig = try MonitorRig()
        rig.run(300)
        let c0 = rig.cycle + 1
        // +0.8 ms on a 2 ms round trip: far beyond 3σ (0.1 ms), below the 2 ms floor.
        rig.run(200) { r, _ in r[R.pC].latencyNanoseconds += 800_000 }
        #expect(!rig.events(.detection, after: c0).contains { $0.device == 2 && $0.finding?.kind == .deviceLatencyTrend })
        rig.run(200) { r, _ in r[R.pC].latencyNanoseconds += 5_000_000 }
        #expect(rig.events(.detection, after: c0).contains { $0.device == 2 && $0.finding?.kind == .deviceLatencyTrend })
    }

    /// The per-point latency anomaly needs 3σ *and* the 1 ms floor: +0.5 ms on a 2 ms round trip
    /// (5σ of its 0.1 ms jitter) is no finding, +5 ms is.
    @Test func pointLatencyAnomalyNeedsItsFloorAsWellAsThreeSigma() throws {
        var rig = try MonitorRig()
        rig.run(300)
        let c0 = rig.cycle + 1
        rig.run(50) { r, _ in r[R.pC].latencyNanoseconds += 500_000 }
        #expect(!rig.events(.detection, after: c0).contains { $0.sensor == Int32(R.pC) && $0.finding?.kind == .latency })
        let c1 = rig.cycle + 1
        rig.run(10) { r, _ in r[R.pC].latencyNanoseconds += 5_000_000 }
        #expect(rig.events(.detection, after: c1).contains { $0.sensor == Int32(R.pC) && $0.finding?.kind == .latency })
    }
}
