import VigilCore
import Monitor
@testable import Kernel

/// A small plant for the kernel: a pressure pair (PT-A primary, PT-B backup) on one PLC, a tank
/// level LT with a low-low interlock on the pump, a PID on pressure driving the pump speed.
enum KernelTestPlant {
    static let period: UInt64 = 10_000_000

    static func plant() -> PlantConfig {
        func sensor(_ id: String, max: Double) -> SensorConfig {
            SensorConfig(id: id, source: .point(device: "plc", point: id), rangeMin: 0, rangeMax: max)
        }
        let plc = DeviceConfig(id: "plc", transport: .tcp(host: "127.0.0.1", port: 502), pollIntervalMilliseconds: 10, points: [])
        return PlantConfig(
            name: "kernel-test", devices: [plc],
            sensors: [sensor("PT-A", max: 10), sensor("PT-B", max: 10), sensor("LT", max: 5)],
            redundancyGroups: [RedundancyGroupConfig(id: "pressure", primary: "PT-A", backups: ["PT-B"])],
            outputs: [OutputConfig(id: "pump-speed", target: .point(device: "plc", point: "speed"), initial: 0, safe: 0),
                      OutputConfig(id: "valve", target: .point(device: "plc", point: "valve"), initial: 65, safe: 5)],
            limits: [LimitConfig(id: "level-low-low", subject: "LT", low: 0.5, severity: .interlock, safeOutputs: ["pump-speed"])],
            cycle: CycleConfig(periodMicroseconds: 10_000),
            controls: [ControlConfig(id: "pressure-pid", input: "pressure", output: "pump-speed",
                                     law: .pid(PIDLaw(setpoint: 6, kp: 10, ki: 2)))])
    }

    /// A deterministic process: pressure around 6 bar with seeded noise, level around 3 m; faults
    /// by cycle number. Every reading is new each cycle and stamped with the cycle's time.
    struct Process {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        var stuckA: Double? = nil
        var level = 3.0

        mutating func noise() -> Double {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return (Double(state >> 11) / Double(1 << 53) - 0.5) * 0.02
        }

        mutating func readings(cycle: UInt64, now: UInt64) -> [Reading] {
            let p = 6 + 0.3 * _sin(Double(cycle) / 50)
            let a = stuckA ?? p + noise()
            return [a, p + noise(), level + noise()].map {
                Reading(value: $0, timestampNanoseconds: now, latencyNanoseconds: 200_000, quality: .good)
            }
        }
    }

    /// Runs `cycles` steps from `start` (plant time of cycle 0), calling `each` before every step
    /// (to change the process or queue commands) and collecting every event.
    static func run(_ kernel: CycleKernel, _ process: inout Process, cycles: ClosedRange<UInt64>, start: UInt64 = 1_000_000_000,
                    each: (UInt64, inout Process, CycleKernel) -> Void = { _, _, _ in }) -> [TimedEvent] {
        var events: [TimedEvent] = []
        for c in cycles {
            let now = start + c * period
            each(c, &process, kernel)
            let r = process.readings(cycle: c, now: now)
            r.withUnsafeBufferPointer { kernel.step(nowNanoseconds: now, sensors: $0) }
            events.append(contentsOf: kernel.events)
        }
        return events
    }
}
