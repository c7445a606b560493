import Monitor
import VigilCore
import Glibc

/// A small plant for the monitor tests, fed with seeded Gaussian noise: a triple-redundant
/// pressure group (P-A, P-B, P-C on three devices) and a temperature pair (T-A, T-B).
/// Devices dev-a and dev-b sit behind one gateway host (a bus); dev-c behind another.
/// Noise σ is 0.2 % of span, as in configs/demo-pump-station.yaml's simulated points.
struct MonitorRig {
    static let periodNanoseconds: UInt64 = 10_000_000
    static let pA = 0, pB = 1, pC = 2, tA = 3, tB = 4
    static let pressure = 0, temperature = 1
    static let pressureSigma = 0.002 * 16
    static let temperatureSigma = 0.002 * 100

    var monitor: PlantMonitor
    var rng = SeededRandom(seed: 0x5EED)
    var readings = [Reading](repeating: .unread, count: 5)
    var out = [Reading](repeating: .unread, count: 2)
    var cycle: UInt64 = 0
    var log: [MonitorEvent] = []

    /// The rig's plant; without `temperaturePair` T-A and T-B are two ungrouped sensors. Its devices
    /// are on a fast LAN, polled every 10 ms with a 20 ms response timeout, so silence is a dropout
    /// after 30 ms (three polls; a transaction cannot take longer than poll + timeout).
    static func plant(temperaturePair: Bool = true) -> PlantConfig {
        PlantConfig(
            name: "test",
            devices: [
                DeviceConfig(id: "dev-a", transport: .tcp(host: "10.0.0.1", port: 502), responseTimeoutMilliseconds: 20, pollIntervalMilliseconds: 10),
                DeviceConfig(id: "dev-b", transport: .tcp(host: "10.0.0.1", port: 503), responseTimeoutMilliseconds: 20, pollIntervalMilliseconds: 10),
                DeviceConfig(id: "dev-c", transport: .tcp(host: "10.0.0.2", port: 502), responseTimeoutMilliseconds: 20, pollIntervalMilliseconds: 10),
            ],
            sensors: [
                SensorConfig(id: "P-A", source: .point(device: "dev-a", point: "p"), rangeMin: 0, rangeMax: 16, quantity: "pressure"),
                SensorConfig(id: "P-B", source: .point(device: "dev-b", point: "p"), rangeMin: 0, rangeMax: 16, quantity: "pressure"),
                SensorConfig(id: "P-C", source: .point(device: "dev-c", point: "p"), rangeMin: 0, rangeMax: 16, quantity: "pressure"),
                SensorConfig(id: "T-A", source: .point(device: "dev-a", point: "t"), rangeMin: -20, rangeMax: 80, quantity: "temperature"),
                SensorConfig(id: "T-B", source: .point(device: "dev-b", point: "t"), rangeMin: -20, rangeMax: 80, quantity: "temperature"),
            ],
            redundancyGroups: [
                RedundancyGroupConfig(id: "PT", primary: "P-A", backups: ["P-B", "P-C"]),
                RedundancyGroupConfig(id: "TT", primary: "T-A", backups: ["T-B"]),
            ].filter { temperaturePair || $0.id != "TT" })
    }

    /// The defaults with no dropout floor: the rig is a fast, deterministic bus (10 ms polls, no host
    /// stalls), so its tests judge the interval rules themselves; `DropoutFloorTests` covers the floor.
    static var fastBusSettings: MonitorSettings {
        var s = MonitorSettings()
        s.sensorDefaults.dropoutFloorNanoseconds = 0
        return s
    }

    init(seed: UInt64 = 0x5EED, settings: MonitorSettings = MonitorRig.fastBusSettings, temperaturePair: Bool = true) throws {
        monitor = try PlantMonitor(plant: Self.plant(temperaturePair: temperaturePair), settings: settings)
        out = [Reading](repeating: .unread, count: monitor.groupCount)
        rng = SeededRandom(seed: seed)
    }

    /// A rig around a monitor built elsewhere (e.g. from a plant file with the same five sensors).
    init(monitor: PlantMonitor, seed: UInt64 = 0x5EED) {
        precondition(monitor.sensorCount == 5 && monitor.groupCount == 2)
        self.monitor = monitor
        rng = SeededRandom(seed: seed)
    }

    /// Standard normal by Box–Muller.
    mutating func gaussian() -> Double { standardNormal(&rng) }

    var now: UInt64 { 1_000_000_000 + cycle * Self.periodNanoseconds }

    /// The true process at this cycle.
    func truePressure() -> Double { 6.0 + 0.4 * sin(2 * Double.pi * Double(cycle) * 0.01 / 40) }
    func trueTemperature() -> Double { 18.5 + 0.5 * sin(2 * Double.pi * Double(cycle) * 0.01 / 300) }

    /// One cycle: fresh noisy readings, then `fault` may change them, then the monitor runs.
    mutating func step(_ fault: (inout [Reading], UInt64) -> Void = { _, _ in }) {
        cycle += 1
        let p = truePressure(), t = trueTemperature()
        for i in 0..<5 {
            let base = i < 3 ? p : t
            let sigma = i < 3 ? Self.pressureSigma : Self.temperatureSigma
            let value = base + sigma * gaussian()
            let latency = UInt64(2_000_000 + 100_000 * gaussian())
            readings[i] = Reading(value: value, timestampNanoseconds: now, latencyNanoseconds: latency, quality: .good)
        }
        fault(&readings, cycle)
        let now = self.now
        readings.withUnsafeBufferPointer { r in
            out.withUnsafeMutableBufferPointer { o in
                monitor.observe(cycle: cycle, nowNanoseconds: now, sensors: r, groupsOut: o)
            }
        }
        log.append(contentsOf: monitor.events)
    }

    mutating func run(_ cycles: Int, _ fault: (inout [Reading], UInt64) -> Void = { _, _ in }) {
        for _ in 0..<cycles { step(fault) }
    }

    /// Past the detectors' warm-up (noise 200 samples, residual 1000 samples).
    mutating func warmUp() { run(1_200) }

    func events(_ kind: MonitorEvent.Kind, after start: UInt64 = 0) -> [MonitorEvent] {
        log.filter { $0.kind == kind && $0.cycle >= start }
    }

    func firstFailover(group: Int, after start: UInt64 = 0) -> MonitorEvent? {
        events(.failover, after: start).first { $0.group == Int32(group) }
    }

    func sensorDiagnosis(_ sensor: Int, after start: UInt64 = 0) -> MonitorEvent? {
        events(.diagnosis, after: start).first { $0.sensor == Int32(sensor) }
    }
}

/// Standard normal by Box–Muller from a seeded generator.
func standardNormal(_ rng: inout SeededRandom) -> Double {
    let u1 = (Double(rng.next() >> 11) + 1) / 9_007_199_254_740_993.0
    let u2 = Double(rng.next() >> 11) / 9_007_199_254_740_992.0
    return (-2 * Glibc.log(u1)).squareRoot() * Glibc.cos(2 * Double.pi * u2)
}
