import Monitor
import Policy
import Foundation
import Testing
import VigilCore
import Fieldbus
import Journal
import HIL
import CAllocCounter
@testable import Runtime

/// The controller against the simulated demo plant over loopback: what a plant engineer expects
/// of start-up, interlocks, dead devices, a stalled cycle and an orderly shutdown.
@Suite(.serialized) struct ControllerTests {
    @Test func outputsStaySafeUntilTheFirstGoodCycleThenFollowControl() throws {
        let h = try RuntimeHarness()
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        // pump1-run's initial value is 1: written once the plant is under control.
        #expect(eventually { h.deviceValue("pump-plc", "pump1_run_cmd") == 1 })
        #expect(eventually { h.deviceValue("tank-io", "inlet_valve_position") == 65 })
        let s = h.controller.snapshot()
        #expect(!s.inSafeState)
        #expect(s.sensors.allSatisfy { $0.quality == .good })
        #expect(s.output("alarm-beacon") == 0, "the beacon (safe = on) goes off once the plant is under control")
    }

    @Test func realProcessExcursionTripsTheInterlockAndReleasesItWhenClear() throws {
        let h = try RuntimeHarness()
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        #expect(eventually { h.deviceValue("pump-plc", "pump1_run_cmd") == 1 })
        // The discharge pressure really rises to 11 bar: all three transmitters agree, above the
        // 10 bar high-high interlock.
        h.rig.model.setSignalOverride(SignalOverride(holdAt: 11), forSignal: "discharge_pressure")
        #expect(eventually { h.controller.snapshot().trippedInterlocks.contains("discharge-high-high") })
        #expect(eventually { h.deviceValue("pump-plc", "pump1_run_cmd") == 0 })
        #expect(h.deviceValue("tank-io", "inlet_valve_position") == 65, "an interlock forces only its own outputs")
        h.rig.model.clearSignalOverride(forSignal: "discharge_pressure")
        #expect(eventually { h.controller.snapshot().trippedInterlocks.isEmpty })
        #expect(eventually { h.deviceValue("pump-plc", "pump1_run_cmd") == 1 })
        // The journal writer commits in batches (every 100 ms): wait for the trip's commit, then
        // check that no failover was journalled beside it.
        let journal = try Journal(path: h.journalPath)
        #expect(eventually {
            let tripped = (try? journal.recentEvents(limit: 200, kinds: [.interlockTripped])) ?? []
            return tripped.contains { $0.subject == "discharge-high-high" }
        }, "the trip is journalled")
        let failovers = try journal.recentEvents(limit: 200, kinds: [.failover])
        #expect(failovers.isEmpty, "a real excursion is not a sensor fault")
    }

    struct HarnessError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// The demo plant with its pump section learning from 300 samples of the pump PLC (100 ms poll:
    /// 30 s), started, the section's model installed and scoring.
    static func pumpSectionHarness() throws -> RuntimeHarness {
        let h = try RuntimeHarness(adjust: {
            $0.sections = [SectionConfig(id: "pump", sensors: ["PT-101A", "PT-101B", "FT-110"], trainingSamples: 300,
                                         falseAlarmRate: 1e-6, updateLambda: 0.002, refitInterval: 50)]
        })
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        guard let sections = h.controller.cycle.kernel.sections else {
            h.shutdown()
            throw HarnessError("the plant has a section but the cycle runs none")
        }
        #expect(eventually(within: 60) { sections.isLive(0) && sections.progress(0).scored >= 20 }, "the section learned and scores")
        return h
    }

    /// One root cause, one alarm: PT-101A stuck 1 bar high is failed over by the per-sensor monitor
    /// (no alarm: an automatic repair). The pump section's SPE then points at PT-101A too; that is
    /// journalled as evidence, but it is no second alarm for the operator to acknowledge.
    @Test func aSectionFindingOnASensorAlreadyFailedOverIsJournalledButRaisesNoAlarm() throws {
        let h = try Self.pumpSectionHarness()
        defer { h.shutdown() }
        h.rig.model.setOverride(.stuck(at: 7), for: PointKey(device: "pump-plc", point: "discharge_pressure_a"))
        #expect(eventually { h.controller.snapshot().activeSource("discharge-pressure") != "PT-101A" }, "failed over")
        let journal = try Journal(path: h.journalPath)
        #expect(eventually(within: 20) {
            let diagnoses = (try? journal.recentEvents(limit: 500, kinds: [.diagnosis])) ?? []
            return diagnoses.contains { $0.subject == "PT-101A" && Int32($0.value) == FindingKind.multivariateSPE.rawValue }
        }, "the section's SPE finding on PT-101A is journalled")
        // Past the grace a finding on a sensor still in use waits for (3 s: 300 cycles of 10 ms).
        let c0 = h.controller.snapshot().cycle
        #expect(eventually { h.controller.snapshot().cycle >= c0 + 400 })
        let sectionAlarms = h.controller.alarms().filter { $0.key.scope == .section }
        #expect(sectionAlarms.isEmpty, "no section alarm for a sensor the monitor already took out of use: \(sectionAlarms)")
    }

    /// The other side of the same rule: a flowmeter drifting slowly away (no peer, so the per-sensor
    /// monitor cannot see it) keeps being used; the section pins its SPE on FT-110, and once the
    /// per-sensor monitor has had its grace (3 s) without taking FT-110 out of use, it is an alarm.
    @Test func aSectionFindingOnASensorStillInUseBecomesAnAlarmAfterTheGrace() throws {
        let h = try Self.pumpSectionHarness()
        defer { h.shutdown() }
        let key = PointKey(device: "pump-plc", point: "flow")
        h.rig.model.setOverride(.drift(ratePerSecond: -0.5, fromNanoseconds: h.sim("pump-plc").simulationNanoseconds), for: key)
        let journal = try Journal(path: h.journalPath)
        #expect(eventually(within: 30) {
            let diagnoses = (try? journal.recentEvents(limit: 500, kinds: [.diagnosis])) ?? []
            return diagnoses.contains { $0.subject == "FT-110" && Int32($0.value) == FindingKind.multivariateSPE.rawValue }
        }, "the section pins its SPE on FT-110")
        #expect(h.controller.snapshot().health("FT-110") == .healthy, "the per-sensor monitor still trusts FT-110")
        #expect(eventually(within: 10) { h.controller.alarms().contains { $0.key.scope == .section && $0.cause == .sensorFault } },
                "a section alarm once the grace is over")
    }

    /// With a policy model the cycle scores every sensor and journals each sensor's first confirmed
    /// verdict once its detectors are warmed up (and later changes), naming the sensor and the class.
    /// The pump PLC's points warm up after 200 polls (20 s at 100 ms); the GPIO lines have no warm-up;
    /// the tank gateway (200 ms) and the RS-485 transmitters poll slower and are not waited for.
    @Test func policyModelVerdictsAreJournalledPerSensor() throws {
        let model = try ModelStoreTests.model(seed: 3, features: SensorFeatures.names)
        let h = try RuntimeHarness(policyModel: model)
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        #expect(h.controller.policyModelVersion == model.lineage.version)
        let sensors: Set<String> = ["PT-101A", "PT-101B", "PT-100", "FT-110", "IT-111", "LSH-202", "ESTOP"]
        #expect(eventually(within: 60) {
            let events = (try? Journal(path: h.journalPath).recentEvents(limit: 500, kinds: [.modelVerdict])) ?? []
            return sensors.isSubset(of: Set(events.compactMap(\.subject)))
        }, "every warmed-up sensor gets a verdict")
        let events = try Journal(path: h.journalPath).recentEvents(limit: 500, kinds: [.modelVerdict])
        #expect(events.allSatisfy { (0..<PolicyLabels.diagnoses.count).contains(Int($0.code)) })
    }

    @Test func oneLyingTransmitterDoesNotTripTheInterlockAndIsFailedOver() throws {
        let h = try RuntimeHarness()
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        #expect(eventually { h.deviceValue("pump-plc", "pump1_run_cmd") == 1 })
        // PT-101A alone reads 11 bar (out of line with PT-101B and PT-101C): mid-value select keeps
        // the group at the true pressure, so the interlock must not trip on one bad transmitter.
        h.rig.model.setOverride(.stuck(at: 11), for: PointKey(device: "pump-plc", point: "discharge_pressure_a"))
        #expect(eventually { h.controller.snapshot().activeSource("discharge-pressure") != "PT-101A" })
        let s = h.controller.snapshot()
        #expect(s.trippedInterlocks.isEmpty)
        #expect(abs((s.group("discharge-pressure")?.value ?? 0) - 6) < 1, "control sees the true pressure")
        #expect(s.health("PT-101A") != .healthy)
        #expect(h.deviceValue("pump-plc", "pump1_run_cmd") == 1)
    }

    @Test func deadDeviceGivesBadReadingsTripsItsInterlockAndRecovers() throws {
        let h = try RuntimeHarness { plant in
            for i in plant.devices.indices { plant.devices[i].responseTimeoutMilliseconds = 50 }
        }
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        #expect(eventually { h.deviceValue("pump-plc", "pump1_run_cmd") == 1 })
        let before = h.controller.snapshot().cycle
        h.sim("tank-io").disconnect()
        // LT-201 (tank level, on tank-io) feeds the tank-low-low interlock: a dead transmitter trips it.
        #expect(eventually { h.controller.snapshot().sensor("LT-201")?.quality.isGood == false })
        #expect(eventually { h.controller.snapshot().trippedInterlocks.contains("tank-low-low") })
        #expect(eventually { h.deviceValue("pump-plc", "pump1_run_cmd") == 0 })
        let during = h.controller.snapshot()
        #expect(during.cycle > before + 10, "the cycle keeps running while a device is dead")
        #expect(during.timing.overrunStorms == 0)
        #expect(during.sensor("PT-101A")?.quality == .good, "other devices are unaffected")
        h.sim("tank-io").reconnect()
        #expect(eventually(within: 20) { h.controller.snapshot().sensor("LT-201")?.quality == .good })
        #expect(eventually { h.controller.snapshot().trippedInterlocks.isEmpty })
        #expect(eventually { h.deviceValue("pump-plc", "pump1_run_cmd") == 1 })
    }

    @Test func stalledCycleIsCaughtByTheWatchdogAndOutputsGoSafe() throws {
        let notify = RunBinaryTests.NotifySocket(timeoutSeconds: 1)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "100000"])
        let h = try RuntimeHarness(adjust: { $0.cycle.watchdogPeriods = 5 }, notifier: notifier)
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        #expect(eventually { h.deviceValue("pump-plc", "pump1_run_cmd") == 1 })
        #expect(notify.receive() != nil, "systemd is pinged while the cycle runs")
        h.controller.submit(.stallCycle(milliseconds: 2500))
        // While the cycle thread hangs, the watchdog forces the board and the bus threads write safe values.
        #expect(eventually { h.deviceValue("pump-plc", "pump1_run_cmd") == 0 })
        #expect(eventually { h.deviceValue("tank-io", "inlet_valve_position") == 0 })
        #expect(h.controller.snapshot().watchdogStalls == 1)
        // ...and stops pinging systemd: drain what was sent before the stall, then silence.
        while notify.receiveWithoutWaiting() != nil {}
        #expect(notify.receive() == nil, "no WATCHDOG=1 while the cycle is stalled")
        // After the stall the safe state stays latched until an operator resets it.
        #expect(eventually { h.controller.snapshot().safeStateReasons.contains(.watchdogStall) })
        #expect(h.deviceValue("pump-plc", "pump1_run_cmd") == 0)
        h.controller.submit(.resetSafeState)
        #expect(eventually { !h.controller.snapshot().inSafeState })
        #expect(eventually { h.deviceValue("pump-plc", "pump1_run_cmd") == 1 })
    }

    @Test func overrunStormPutsThePlantInSafeStateUntilReset() throws {
        // One overrun is a storm here, and the watchdog is slow enough not to fire first.
        let h = try RuntimeHarness { $0.cycle.overrunStormLimit = 1; $0.cycle.watchdogPeriods = 100 }
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        #expect(eventually { h.deviceValue("pump-plc", "pump1_run_cmd") == 1 })
        h.controller.submit(.stallCycle(milliseconds: 60))
        #expect(eventually { h.controller.snapshot().safeStateReasons.contains(.overrunStorm) })
        #expect(eventually { h.deviceValue("pump-plc", "pump1_run_cmd") == 0 })
        let s = h.controller.snapshot()
        #expect(s.timing.overruns >= 1 && s.timing.overrunStorms == 1 && s.watchdogStalls == 0)
        h.controller.submit(.resetSafeState)
        #expect(eventually { !h.controller.snapshot().inSafeState })
        #expect(eventually { h.deviceValue("pump-plc", "pump1_run_cmd") == 1 })
    }

    @Test func orderlyStopLeavesEveryOutputAtItsSafeValueAndTheJournalFlushed() throws {
        let h = try RuntimeHarness()
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        #expect(eventually { h.deviceValue("pump-plc", "pump1_run_cmd") == 1 && h.deviceValue("tank-io", "inlet_valve_position") == 65 })
        h.controller.stop()
        #expect(h.deviceValue("pump-plc", "pump1_run_cmd") == 0)
        #expect(h.deviceValue("pump-plc", "pump2_run_cmd") == 0)
        #expect(h.deviceValue("pump-plc", "pump1_speed_setpoint") == 0)
        #expect(h.deviceValue("tank-io", "inlet_valve_position") == 0)
        #expect(h.gpioChips[0].outputValue(27) == true, "the alarm beacon's safe value is on")
        let journal = try Journal(path: h.journalPath)
        #expect(try journal.recentEvents(limit: 20, kinds: [.shutdown]).count == 1)
        #expect(journal.integrityCheck())
        h.shutdown()
    }

    /// Allocation freedom is a property of the optimized build that runs in the plant: a debug
    /// build keeps unspecialized generics and copies that allocate. README's test command runs
    /// this test again with `swift test -c release`.
    @Test(.enabled(if: !_isDebugAssertConfiguration(), "runs in the release pass of README's test command (swift test -c release)"))
    func steadyStateCycleAllocatesNothingOver10000Cycles() throws {
        let h = try RuntimeHarness(adjust: { $0.cycle.periodMicroseconds = 500 }, minimumPeriodMicroseconds: 100,
                                   allocationCounter: vigil_thread_allocations)
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        #expect(eventually(within: 60) { h.controller.steadyStateAllocations.cycles >= 10_000 })
        let (allocations, cycles) = h.controller.steadyStateAllocations
        #expect(cycles >= 10_000)
        #expect(allocations == 0, "\(allocations) heap allocations on the cycle thread in \(cycles) steady-state cycles")
    }

    /// The same with the policy model scoring every sensor every cycle, and a new model swapped in
    /// during the counted window (the old one goes back to this thread to be released).
    @Test(.enabled(if: !_isDebugAssertConfiguration(), "runs in the release pass of README's test command (swift test -c release)"))
    func steadyStateCycleAllocatesNothingWithThePolicyModelAndASwap() throws {
        let first = try ModelStoreTests.model(seed: 1, features: SensorFeatures.names)
        var second = try ModelStoreTests.model(seed: 2, features: SensorFeatures.names)
        second.lineage = ModelLineage(version: 2, parent: 1)
        let h = try RuntimeHarness(adjust: { $0.cycle.periodMicroseconds = 500 }, minimumPeriodMicroseconds: 100,
                                   allocationCounter: vigil_thread_allocations, policyModel: first)
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        #expect(eventually(within: 60) { h.controller.steadyStateAllocations.cycles >= 5_000 })
        #expect(h.controller.offerPolicyModel(second))
        #expect(eventually(within: 10) { h.controller.policyModelVersion == 2 }, "the cycle took the new model")
        #expect(eventually(within: 60) { h.controller.steadyStateAllocations.cycles >= 10_000 })
        let (allocations, cycles) = h.controller.steadyStateAllocations
        #expect(cycles >= 10_000)
        #expect(allocations == 0, "\(allocations) heap allocations on the cycle thread in \(cycles) steady-state cycles")
    }

    /// The same with a plant section learning, installing its model and refitting during the counted cycles
    /// (the pump PLC polled every 5 ms, a section with two lags and the EWMA statistics that learns from 400
    /// new samples and refits every 100, so training, the swap, scoring and refits all land in the counted
    /// window): all stay off the heap.
    @Test(.enabled(if: !_isDebugAssertConfiguration(), "runs in the release pass of README's test command (swift test -c release)"))
    func steadyStateCycleAllocatesNothingWithASectionTrainingScoringAndRefitting() throws {
        let h = try RuntimeHarness(adjust: {
            $0.cycle.periodMicroseconds = 500
            for d in $0.devices.indices where $0.devices[d].id == "pump-plc" { $0.devices[d].pollIntervalMilliseconds = 5 }
            $0.sections = [SectionConfig(id: "pump", sensors: ["PT-101A", "PT-101B", "FT-110"], trainingSamples: 400,
                                         falseAlarmRate: 1e-6, updateLambda: 0.05, refitInterval: 100, lags: 2, ewmaLambda: 0.05)]
        }, minimumPeriodMicroseconds: 100, allocationCounter: vigil_thread_allocations)
        defer { h.shutdown() }
        #expect(h.controller.waitUntilReady(timeoutNanoseconds: 10_000_000_000))
        let sections = try #require(h.controller.cycle.kernel.sections)
        #expect(eventually(within: 60) { sections.isLive(0) && sections.progress(0).refits >= 2 }, "the section's model was fitted, swapped in and refitted")
        #expect(eventually(within: 60) { h.controller.steadyStateAllocations.cycles >= 10_000 })
        let (allocations, cycles) = h.controller.steadyStateAllocations
        let (scored, refits) = sections.progress(0)
        #expect(scored >= 200 && refits >= 2, "scored \(scored) samples, \(refits) refits")
        #expect(cycles >= 10_000)
        #expect(allocations == 0, "\(allocations) heap allocations on the cycle thread in \(cycles) steady-state cycles")
    }
}
