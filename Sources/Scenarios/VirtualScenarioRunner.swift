import Config
import HIL
import Kernel
import Monitor
import VigilCore

/// Runs a scenario in virtual time: the cycle kernel with the plant's pollers and link schedules
/// over a `VirtualRig` (simulated devices, lines and GPIO, modelled round trips and frame times),
/// faults applied exactly at their cycles, every cycle sampled, every event taken from the kernel
/// through the journal's codec, then the expectations judged as in real time. As fast as the CPU
/// allows, and the same report byte for byte on every run and every host.
public struct VirtualScenarioRunner: Sendable {
    /// Time models of the simulated wire (TCP round trips, serial turnaround).
    public var timing: WireTiming

    public init(timing: WireTiming = WireTiming()) {
        self.timing = timing
    }

    public func run(_ scenario: Scenario) throws(ScenarioError) -> ScenarioResult {
        let (plant, board, boardFile) = try ScenarioRunner.plant(for: scenario)
        var result = ScenarioRunner.emptyResult(scenario, plant: plant, clock: .virtual)
        let controller: VirtualController
        do {
            controller = try VirtualController(plant: plant, board: board, boardFile: boardFile, seed: scenario.seed,
                                               pacing: scenario.rig.pacing == .paced ? .paced : .unpaced, timing: timing,
                                               options: KernelOptions(sectionFitting: .inline))
        } catch let e as KernelError {
            switch e {
            case .control(let c): throw .controller(.control(c))
            case .monitor(let m): throw .controller(.monitor(m))
            }
        } catch {
            throw .rig(String(describing: error))
        }
        let injector = FaultInjector(rig: controller.rig)
        for f in scenario.faults {
            do { try injector.validate(f) } catch { throw .injection(error) }
        }

        let actions = scenario.faultActions
        var applied = Array(repeating: false, count: scenario.faults.count)
        result.injected = scenario.faults.map { InjectedRecord(target: $0.target.description, kind: $0.kind.rawValue, startCycle: $0.at, endCycle: nil) }

        let codec = EventCodec(names: controller.kernel.names)
        var events: [TimedEvent] = []
        func take() throws(ScenarioError) {
            for e in controller.kernel.events {
                // Through the journal's codec, as the real-time runner reads them back from SQLite.
                guard let decoded = codec.decode(codec.encode(e.event)) else {
                    throw .rig("the journal's codec cannot read back \(e.event)")
                }
                events.append(TimedEvent(plantNanoseconds: e.plantNanoseconds, cycle: e.cycle, event: decoded))
            }
        }
        result.samples.reserveCapacity(Int(scenario.cycles) + 1)
        controller.start()
        try take()
        var next = 0
        for c in 1...max(1, scenario.cycles) {
            // A fault scheduled at cycle n is in force from the cycle after the n-th, as in real time
            // (the runner applies it when it sees the counter reach n).
            while next < actions.count, actions[next].cycle < c {
                let a = actions[next]
                do {
                    if a.apply {
                        try injector.apply(scenario.faults[a.index], index: a.index)
                        applied[a.index] = true
                    } else if applied[a.index] {
                        try injector.remove(scenario.faults[a.index], index: a.index)
                        result.injected[a.index].endCycle = a.cycle
                    }
                } catch {
                    throw .injection(error)
                }
                next += 1
            }
            controller.step()
            try take()
            result.samples.append(Self.sample(controller, cycle: c))
        }
        controller.stop()
        try take()
        ScenarioRecords.collect(events, names: codec.names, into: &result)
        result.expectations = scenario.expectations.map { ScenarioJudge(scenario: scenario, result: result).judge($0) }
        result.status = result.expectations.allSatisfy(\.passed) ? .passed : .failed
        return result
    }

    /// One trace sample of the controller after cycle `cycle`.
    static func sample(_ c: VirtualController, cycle: UInt64) -> TraceSample {
        let k = c.kernel
        let values = c.sensorReadings.map { $0.quality.isGood && $0.value.isFinite ? $0.value : .nan }
        let groupValues = (0..<k.groupCount).map { g -> Double in
            let r = k.groups[g]
            switch r.quality {
            case .good, .stale: return r.value.isFinite ? r.value : .nan
            case .bad: return .nan
            }
        }
        let tripped = k.limitIDs.indices.filter { k.isInterlockTripped($0) }.map { k.limitIDs[$0] }
        let sensorIDs = k.names.sensors
        return TraceSample(cycle: cycle, sensors: values, outputs: c.outputValues, groupValues: groupValues,
                           trippedInterlocks: tripped, inSafeState: !k.safeStateReasons.isEmpty,
                           devicesOnBackup: c.devicesOnBackup, devicePollIntervals: c.devicePollIntervalsMilliseconds,
                           activeSources: (0..<k.groupCount).map { g in
                               let s = k.activeSource(group: g)
                               return s >= 0 && s < sensorIDs.count ? sensorIDs[s] : nil
                           },
                           latchedOutputs: (0..<k.outputCount).map { k.isOutputLatchedSafe($0) })
    }
}
