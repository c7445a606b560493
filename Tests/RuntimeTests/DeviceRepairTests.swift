import Foundation
import Testing
import VigilCore
import Fieldbus
import HIL
import CAllocCounter
@testable import Runtime

/// Device repairs requested by the cycle and executed by the bus thread, over real loopback sockets.
@Suite(.serialized) struct DeviceRepairTests {
    @Test func requestBitsAccumulateUntilTheBusThreadTakesThem() {
        let channel = DeviceRepairChannel(pollIntervalMilliseconds: 100, hasBackup: true)
        #expect(channel.take() == 0)
        channel.request(channel.bits(for: .switchToBackupGateway))
        channel.request(channel.bits(for: .slowPolling))
        #expect(channel.take() == LinkSchedule.toBackup | LinkSchedule.slowPolling)
        #expect(channel.take() == 0, "taking clears the word")
        channel.onBackup.store(true, ordering: .relaxed)
        #expect(channel.bits(for: .switchToBackupGateway) == LinkSchedule.toPrimary, "a switch leaves the path in use")
        #expect(channel.bits(for: .reconnect) == LinkSchedule.reconnect)
        #expect(channel.bits(for: .failoverToBackup) == 0, "sensor repairs are not bus-thread actions")
        #expect(channel.bits(for: nil) == 0)
    }

    /// One TCP device served twice (a primary and a backup gateway over the same model): the bus
    /// thread switches paths on request, and slows and caps the poll interval on request.
    @Test func busThreadSwitchesToTheBackupGatewayAndSlowsPolling() throws {
        let point = PointConfig(id: "p", function: .holding, address: 0, type: .uint16)
        var device = DeviceConfig(id: "plc", transport: .tcp(host: "127.0.0.1", port: 1), responseTimeoutMilliseconds: 100,
                                  pollIntervalMilliseconds: 10, points: [point], maxPollIntervalMilliseconds: 30)
        let plant = PlantConfig(name: "t", devices: [device])
        let model = PlantModel(plant: plant, seed: 1)
        let primary = try SimulatedModbusDevice(config: device, model: model)
        let backup = try SimulatedModbusDevice(config: device, model: model)
        defer { primary.stop(); backup.stop() }
        let primaryPort = try primary.serveTCP(), backupPort = try backup.serveTCP()
        device.transport = .tcp(host: "127.0.0.1", port: primaryPort)
        device.backup = .tcp(host: "127.0.0.1", port: backupPort)

        let clock = SystemMonotonicClock()
        let link = ModbusLink(connection: try ModbusConnection(tcpHost: "127.0.0.1", port: primaryPort),
                              backup: try ModbusConnection(tcpHost: "127.0.0.1", port: backupPort), clock: clock,
                              backoff: BackoffPolicy(initialMilliseconds: 20, maximumMilliseconds: 200))
        let scanner = BusScanner(name: "plc", pollers: [DevicePoller(device: device, link: link, clock: clock)], outputs: [],
                                 board: OutputBoard(outputs: []), basePeriodNanoseconds: 5_000_000, epochNanoseconds: clock.nowNanoseconds())
        let channel = scanner.channels[0]
        #expect(channel.hasBackup)
        try scanner.start()
        defer { scanner.stop() }
        func reading() -> Reading { scanner.readings[0].snapshot()[0] }

        #expect(eventually { reading().quality.isGood })
        #expect(primary.requestsServed > 0 && backup.requestsServed == 0)
        primary.disconnect()
        #expect(eventually { !reading().quality.isGood }, "the primary gateway is gone")
        channel.request(LinkSchedule.toBackup)
        #expect(eventually { channel.onBackup.load(ordering: .relaxed) })
        let servedAtSwitch = backup.requestsServed
        #expect(eventually { reading().quality.isGood && backup.requestsServed > servedAtSwitch + 3 }, "readings come over the backup")
        #expect(channel.switches.load(ordering: .relaxed) == 1)

        // A second request for the path in use is not a second switch (the devices of a line ask together).
        channel.request(LinkSchedule.toBackup)
        #expect(eventually { channel.executed.load(ordering: .relaxed) == 2 })
        #expect(channel.onBackup.load(ordering: .relaxed) && channel.switches.load(ordering: .relaxed) == 1)

        // Slow polling doubles the interval, capped at max_poll_interval_ms.
        channel.request(LinkSchedule.slowPolling)
        #expect(eventually { channel.pollIntervalMilliseconds.load(ordering: .relaxed) == 20 })
        channel.request(LinkSchedule.slowPolling)
        #expect(eventually { channel.pollIntervalMilliseconds.load(ordering: .relaxed) == 30 })
        channel.request(LinkSchedule.slowPolling)
        #expect(eventually { channel.executed.load(ordering: .relaxed) == 5 })
        #expect(channel.pollIntervalMilliseconds.load(ordering: .relaxed) == 30)
        // The slower rate is real: count requests the backup serves over a window of wall time.
        let before = backup.requestsServed
        let start = clock.nowNanoseconds()
        #expect(eventually { clock.nowNanoseconds() - start >= 600_000_000 })
        let served = backup.requestsServed - before
        #expect(served <= 25, "about 20 polls in 600 ms at 30 ms (60 at 10 ms); got \(served)")
    }

    /// The whole loop over the real runtime: the pump PLC's primary gateway dies, the monitor
    /// decides to switch, the cycle passes the request, the bus thread switches, readings return.
    @Test func controllerSwitchesADeadGatewayToItsBackup() throws {
        let h = try RuntimeHarness { plant in
            plant.cycle.periodMicroseconds = 10_000
            for i in plant.devices.indices { plant.devices[i].responseTimeoutMilliseconds = 50 }
        }
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        #expect(eventually(within: 20) { h.controller.snapshot().sensor("PT-100")?.quality == .good })
        #expect(h.controller.snapshot().onBackup("pump-plc") == false)
        h.sim("pump-plc").disconnect()
        #expect(eventually { h.controller.snapshot().sensor("PT-100")?.quality.isGood == false })
        #expect(eventually(within: 20) { h.controller.snapshot().onBackup("pump-plc") == true })
        #expect(eventually(within: 20) { h.controller.snapshot().sensor("PT-100")?.quality == .good }, "readings over the backup gateway")
        #expect(h.controller.snapshot().onBackup("tank-io") == false, "other devices stay on their paths")
        #expect(h.controller.snapshot().devicePathSwitches == [1, 0, 0])
        // Outputs are re-asserted on the backup path's device.
        #expect(eventually(within: 20) { h.rig.backupDevice("pump-plc")?.currentValue(ofPoint: "pump1_run_cmd") == 1 })
    }

    /// The backup gateway answers, then dies before the switch is verified: that switch failed
    /// (escalated) and the PLC is switched back to its primary, which works again by then.
    @Test func backupThatDiesDuringVerificationSwitchesBackAndEscalates() throws {
        let h = try RuntimeHarness { plant in
            plant.cycle.periodMicroseconds = 10_000
            for i in plant.devices.indices { plant.devices[i].responseTimeoutMilliseconds = 50 }
        }
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        #expect(eventually(within: 20) { h.controller.snapshot().sensor("PT-100")?.quality == .good })
        h.sim("pump-plc").disconnect()
        #expect(eventually(within: 20) { h.controller.snapshot().onBackup("pump-plc") == true })
        #expect(eventually(within: 20) { h.controller.snapshot().sensor("PT-100")?.quality == .good })
        // Verification needs 10 clean samples (1 s at 100 ms polling): break the backup well before.
        h.sim("pump-plc").reconnect()
        h.rig.backupDevice("pump-plc")!.disconnect()
        #expect(eventually(within: 20) { h.controller.snapshot().onBackup("pump-plc") == false })
        #expect(eventually(within: 20) { h.controller.snapshot().sensor("PT-100")?.quality == .good }, "readings over the primary again")
        #expect(h.controller.snapshot().devicePathSwitches[0] == 2)
        #expect(eventually(within: 20) { h.controller.snapshot().activeAlarms >= 1 }, "the failed switch is escalated")
    }

    /// A repair request crosses from the cycle to the bus thread without allocating. The first
    /// device fault after start allocates a few times on the cycle thread whether or not the device
    /// has a backup (4 with or without one, measured: a first-episode cost outside the request path),
    /// so the count spans a second episode: the PLC is switched to its backup gateway, then that
    /// gateway dies and the PLC is switched back to its (repaired) primary while allocations are counted.
    @Test(.enabled(if: !_isDebugAssertConfiguration(), "runs in the release pass (swift test -c release)"))
    func gatewaySwitchAllocatesNothingOnTheCycleThread() throws {
        let h = try RuntimeHarness(adjust: { plant in
            plant.cycle.periodMicroseconds = 2_000 // 500 µs overran on a loaded 2-core machine
            for i in plant.devices.indices { plant.devices[i].responseTimeoutMilliseconds = 50 }
        }, minimumPeriodMicroseconds: 100, allocationCounter: vigil_thread_allocations)
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        #expect(eventually(within: 60) { h.controller.steadyStateAllocations.cycles >= 1_000 })
        h.sim("pump-plc").disconnect()
        #expect(eventually(within: 30) { h.controller.snapshot().onBackup("pump-plc") == true })
        #expect(eventually(within: 30) { h.controller.snapshot().sensor("PT-100")?.quality == .good })
        let settle = h.controller.steadyStateAllocations.cycles
        // The switch is verified after 10 clean samples (1 s at 100 ms polling): wait past that, or a
        // second fault would fall inside the first repair's verification and start no new one.
        #expect(eventually(within: 60) { h.controller.steadyStateAllocations.cycles >= settle + 4_000 })

        let (base, baseCycles) = h.controller.steadyStateAllocations
        h.sim("pump-plc").reconnect()
        h.rig.backupDevice("pump-plc")!.disconnect()
        #expect(eventually(within: 30) { h.controller.snapshot().onBackup("pump-plc") == false })
        #expect(eventually(within: 30) { h.controller.snapshot().sensor("PT-100")?.quality == .good })
        #expect(h.controller.snapshot().devicePathSwitches[0] == 2)
        #expect(eventually(within: 60) { h.controller.steadyStateAllocations.cycles >= baseCycles + 2_000 })
        let (allocations, cycles) = h.controller.steadyStateAllocations
        #expect(allocations - base == 0,
                "\(allocations - base) heap allocations on the cycle thread in \(cycles - baseCycles) cycles spanning a gateway switch")
    }
}
