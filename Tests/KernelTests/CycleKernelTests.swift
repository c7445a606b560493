import Testing
import VigilCore
import Monitor
@testable import Kernel

@Suite struct CycleKernelTests {
    typealias P = KernelTestPlant

    @Test func thePlantLeavesStartUpSafeStateOnTheFirstGoodStep() throws {
        let kernel = try CycleKernel(plant: P.plant())
        var process = P.Process()
        kernel.start(nowNanoseconds: 1_000_000_000)
        #expect(kernel.events.map(\.event) == [.started(periodNanoseconds: P.period)])
        #expect(kernel.output(1) == 5, "the valve rests at its safe value before the first step")
        let first = P.run(kernel, &process, cycles: 1...1)
        #expect(first.map(\.event) == [.firstRound(waitedNanoseconds: 0, unread: 0, firstUnread: -1), .safeStateEntered(.startup)],
                "every sensor was read for the first step; the start-up safe state is journalled")
        #expect(kernel.hasHadGoodCycle, "every required input was good in the first step")
        #expect(kernel.output(1) == 5, "the first good step decides; the outputs follow from the next one")
        let second = P.run(kernel, &process, cycles: 2...2)
        #expect(second.map(\.event) == [.safeStateLeft(.startup)])
        #expect(kernel.output(1) == 65, "the valve at its initial value once the plant is out of safe state")
    }

    /// On a slow line the first replies come cycles after the first step: until every Modbus sensor
    /// has been read once, nothing is judged (no group is "lost", no safe action, no escalation) and
    /// the plant stays in its start-up safe state; the monitor starts with the step that completes
    /// the round and says so.
    @Test func nothingIsJudgedUntilEverySensorHasBeenReadOnce() throws {
        let kernel = try CycleKernel(plant: P.plant())
        var process = P.Process()
        kernel.start(nowNanoseconds: 1_000_000_000)
        var events: [ControllerEvent] = []
        for c in UInt64(1)...200 {
            let now = 1_000_000_000 + c * P.period
            var r = process.readings(cycle: c, now: now)
            if c < 6 { r[0] = .unread; r[1] = .unread }   // the pressure pair answers from cycle 6
            r.withUnsafeBufferPointer { kernel.step(nowNanoseconds: now, sensors: $0) }
            events += kernel.events.map(\.event)
            if c == 5 { #expect(!kernel.hasHadGoodCycle && kernel.output(1) == 5, "still in start-up, outputs safe") }
        }
        #expect(events.contains(.firstRound(waitedNanoseconds: 5 * P.period, unread: 0, firstUnread: -1)))
        #expect(kernel.hasHadGoodCycle)
        #expect(!events.contains { if case .escalation = $0 { true } else if case .safeOutputsForced = $0 { true } else { false } }, "\(events)")
        #expect(!events.contains { if case .repair = $0 { true } else { false } }, "no group safe action or hold: \(events)")
    }

    /// A sensor that is never read (a link that never polls) cannot hold start-up forever: past the
    /// first round's deadline the monitor starts and names it.
    @Test func aSensorNeverReadEndsTheFirstRoundAtItsDeadlineByName() throws {
        let plant = P.plant()
        let kernel = try CycleKernel(plant: plant)
        var process = P.Process()
        kernel.start(nowNanoseconds: 1_000_000_000)
        let deadline = UInt64(2 * plant.devices[0].responseTimeoutMilliseconds + plant.devices[0].pollIntervalMilliseconds) * 1_000_000
        var round: [ControllerEvent] = []
        var cycles: UInt64 = 0
        for c in UInt64(1)...1000 where round.isEmpty {
            let now = 1_000_000_000 + c * P.period
            var r = process.readings(cycle: c, now: now)
            r[2] = .unread
            r.withUnsafeBufferPointer { kernel.step(nowNanoseconds: now, sensors: $0) }
            round = kernel.events.map(\.event).filter { if case .firstRound = $0 { true } else { false } }
            cycles = c
        }
        #expect(round == [.firstRound(waitedNanoseconds: (cycles - 1) * P.period, unread: 1, firstUnread: 2)])
        #expect((cycles - 1) * P.period >= deadline && (cycles - 2) * P.period < deadline)
        #expect(EventText(names: SubjectTable(plant: plant)).describe(round[0]).contains("LT still unread"))
        // Policy model classes and actions in words, not numbers.
        let verdict = EventText(names: SubjectTable(plant: plant)).describe(.modelVerdict(sensor: 0, diagnosis: 3, action: 1, logit: 0))
        #expect(verdict.hasSuffix(": bias, recommends fail over"), "\(verdict)")
    }

    /// Whichever front end a command comes from (console, a script, a future SCADA write), the
    /// kernel itself refuses to leave safe state while an interlock holds.
    @Test func aSafeStateResetIsRefusedWhileAnInterlockHolds() throws {
        let kernel = try CycleKernel(plant: P.plant())
        var process = P.Process()
        _ = P.run(kernel, &process, cycles: 1...10)
        kernel.enqueue(.requestSafeState, ticket: 1)
        _ = P.run(kernel, &process, cycles: 11...11) { _, p, _ in p.level = 0.2 } // the level drops: the interlock trips
        #expect(kernel.isInterlockTripped(0))
        #expect(kernel.safeStateReasons.contains(.operatorRequest))

        kernel.enqueue(.resetSafeState, ticket: 2)
        let refused = P.run(kernel, &process, cycles: 12...12)
        #expect(kernel.receipts.map(\.result) == [.interlockHolds])
        #expect(refused.map(\.event).contains(.commandRefused(.resetSafeState, .interlockHolds)))
        #expect(kernel.safeStateReasons.contains(.operatorRequest), "still in safe state")
        #expect(!kernel.safeStateResetAccepted)
        #expect(kernel.output(0) == 0 && kernel.output(1) == 5)

        // The level comes back: the interlock clears and the same reset is accepted.
        _ = P.run(kernel, &process, cycles: 13...14) { _, p, _ in p.level = 3 }
        #expect(!kernel.isInterlockTripped(0))
        kernel.enqueue(.resetSafeState, ticket: 3)
        _ = P.run(kernel, &process, cycles: 15...15)
        #expect(kernel.receipts.map(\.result) == [.applied])
        #expect(kernel.safeStateResetAccepted)
        #expect(kernel.safeStateReasons.isEmpty)
        #expect(kernel.output(1) == 65)
    }

    @Test func aManualValueForAnOutputAnInterlockHoldsSafeIsRefused() throws {
        let kernel = try CycleKernel(plant: P.plant())
        var process = P.Process()
        _ = P.run(kernel, &process, cycles: 1...10)
        kernel.enqueue(.setMode(control: 0, .manual), ticket: 1)
        kernel.enqueue(.setManualOutput(control: 0, value: 40), ticket: 2)
        _ = P.run(kernel, &process, cycles: 11...11)
        #expect(kernel.receipts.map(\.result) == [.applied, .applied])
        #expect(kernel.output(0) == 40)

        _ = P.run(kernel, &process, cycles: 12...12) { _, p, _ in p.level = 0.2 }
        #expect(kernel.output(0) == 0, "the interlock has the last word")
        kernel.enqueue(.setManualOutput(control: 0, value: 80), ticket: 3)
        _ = P.run(kernel, &process, cycles: 13...13)
        #expect(kernel.receipts.map(\.result) == [.outputHeldSafe])
        #expect(kernel.output(0) == 0)
        kernel.enqueue(.setManualOutput(control: 7, value: 1), ticket: 4)
        _ = P.run(kernel, &process, cycles: 14...14)
        #expect(kernel.receipts.map(\.result) == [.unknownControl])
    }

    /// Same readings at the same plant times: the same events, whatever the absolute time base
    /// (the kernel reads no clock of its own).
    @Test func theSameInputsGiveTheSameEventsAtAnyTimeBase() throws {
        func events(start: UInt64) throws -> [ControllerEvent] {
            let kernel = try CycleKernel(plant: P.plant())
            var process = P.Process()
            return P.run(kernel, &process, cycles: 1...1_500, start: start) { c, p, _ in
                if c == 600 { p.stuckA = 6.1 }
                if c == 1_200 { p.level = 0.3 }
            }.map(\.event)
        }
        let a = try events(start: 1_000_000_000)
        let b = try events(start: 5_000_000_000_000)
        #expect(a == b)
        #expect(a.contains { if case .failover = $0 { true } else { false } }, "the stuck primary failed over")
        #expect(a.contains { if case .interlockTripped(limit: 0, _) = $0 { true } else { false } }, "the low level tripped the interlock")
    }

    /// Every finding, health change and alarm has a start and an end in the events, so folding the
    /// journal rebuilds the kernel's state at any cycle.
    @Test func theEventsAloneRebuildThePlantsState() throws {
        let kernel = try CycleKernel(plant: P.plant())
        let codec = EventCodec(names: kernel.names)
        var process = P.Process()
        var ledger = PlantLedger()
        var checked = 0
        for c in UInt64(1)...3_000 {
            let now = 1_000_000_000 + c * P.period
            if c == 600 { process.stuckA = 6.1 }          // PT-A freezes: detected, failed over, alarmed
            if c == 1_400 { process.stuckA = nil }        // and recovers
            if c == 2_000 { process.level = 0.3 }         // the interlock trips
            if c == 2_300 { process.level = 3 }           // and clears
            let r = process.readings(cycle: c, now: now)
            r.withUnsafeBufferPointer { kernel.step(nowNanoseconds: now, sensors: $0) }
            for e in kernel.events {
                let row = codec.encode(e.event)
                let decoded = try #require(codec.decode(row), "\(e.event) round-trips through the journal's codec")
                ledger.apply(TimedEvent(plantNanoseconds: e.plantNanoseconds, cycle: e.cycle, event: decoded))
            }
            if c % 100 == 0 {
                checked += 1
                #expect(ledger.openFindings == kernel.openFindings(), "open findings at cycle \(c)")
                for i in 0..<kernel.sensorCount {
                    #expect(ledger.health(sensor: Int32(i)) == kernel.health(sensor: i), "health of sensor \(i) at cycle \(c)")
                }
                #expect(Set(ledger.alarms.values.map(\.id)) == Set(kernel.alarmList(includeCleared: true).map(\.id)), "alarms at cycle \(c)")
                for a in kernel.alarmList(includeCleared: true) {
                    #expect(ledger.alarms[a.id]?.state == a.state && ledger.alarms[a.id]?.shelved == a.isShelved)
                }
                #expect(ledger.trippedInterlocks == Set((0..<kernel.limitIDs.count).filter { kernel.isInterlockTripped($0) }.map(Int32.init)))
                #expect(ledger.safeStateReasons == Set(SafeStateReason.allCases.filter { kernel.safeStateReasons.contains($0) }))
                if let active = ledger.activeSources[0] { #expect(Int(active) == kernel.activeSource(group: 0)) }
            }
        }
        #expect(checked == 30)
        #expect(ledger.activeSources[0] != nil, "the group failed over at least once")
    }

    @Test func anOverrunStormTakesThePlantSafeUntilReset() throws {
        var plant = P.plant()
        plant.cycle.overrunStormLimit = 3
        let kernel = try CycleKernel(plant: plant)
        var process = P.Process()
        _ = P.run(kernel, &process, cycles: 1...5)
        var events: [ControllerEvent] = []
        for c in UInt64(6)...8 {
            let now = 1_000_000_000 + c * P.period
            let r = process.readings(cycle: c, now: now)
            r.withUnsafeBufferPointer { kernel.step(nowNanoseconds: now, sensors: $0, conditions: CycleConditions(previousOverrunNanoseconds: 12_000_000)) }
            events += kernel.events.map(\.event)
        }
        #expect(events.filter { if case .overrun = $0 { true } else { false } }.count == 3)
        #expect(events.contains(.overrunStorm(consecutive: 3)))
        #expect(kernel.safeStateReasons.contains(.overrunStorm))
        _ = P.run(kernel, &process, cycles: 9...20)
        #expect(kernel.safeStateReasons.contains(.overrunStorm), "latched")
        kernel.enqueue(.resetSafeState)
        _ = P.run(kernel, &process, cycles: 21...21)
        #expect(kernel.safeStateReasons.isEmpty)
    }
}
