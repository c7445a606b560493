import Testing
import Monitor
import VigilCore

/// Three level transmitters on one 9600-baud RS-485 line, polled every 100 ms (a read ~28 ms on
/// the wire), a 20 ms cycle. When one unit stops answering it holds the line for its 300 ms
/// response timeout every round: its neighbours' samples come every ~360 ms instead of 100 ms.
@Suite struct SharedLineTests {
    static let cycle: UInt64 = 20_000_000

    static func plant() -> PlantConfig {
        let line = RTUSettings(port: "rs485-0", baud: 9600, parity: .none)
        let devices = ["lt-a", "lt-b", "lt-c"].enumerated().map { k, id in
            DeviceConfig(id: id, transport: .rtu(line), unitID: k + 1, responseTimeoutMilliseconds: 300, pollIntervalMilliseconds: 100)
        }
        return PlantConfig(
            name: "shared-line", devices: devices,
            sensors: ["A", "B", "C"].enumerated().map { k, s in
                SensorConfig(id: "L-\(s)", source: .point(device: devices[k].id, point: "level"), rangeMin: 0, rangeMax: 4, quantity: "level")
            },
            redundancyGroups: [RedundancyGroupConfig(id: "level", primary: "L-A", backups: ["L-B", "L-C"])],
            cycle: CycleConfig(periodMicroseconds: 20_000))
    }

    /// Runs `seconds` of plant time; unit C stops answering at `cDiesAt` (seconds). Each round polls
    /// A, B, C in turn, 28 ms a read, 300 ms for a read that times out; the next round starts on
    /// the next 100 ms tick. Returns every event.
    /// Between `noise` (seconds, a range) one reply in five comes back garbled (a CRC error).
    static func run(seconds: Double, cDiesAt: Double, noise: Range<Double> = 0..<0) throws -> [MonitorEvent] {
        var random = SeededRandom(seed: 0xC4C)
        var monitor = try PlantMonitor(plant: plant())
        var readings = [Reading](repeating: .unread, count: 3)
        var groups = [Reading](repeating: .unread, count: 1)
        var pending: [(at: UInt64, sensor: Int, reading: Reading)] = []
        var nextRound: UInt64 = 0
        var events: [MonitorEvent] = []
        let end = UInt64(seconds * 1e9)
        var c: UInt64 = 0
        while c * cycle < end {
            c += 1
            let now = c * cycle
            while nextRound <= now {   // schedule a whole round when it starts
                var t = nextRound
                for s in 0..<3 {
                    let dead = s == 2 && Double(t) / 1e9 >= cDiesAt
                    t += dead ? 300_000_000 : 28_000_000
                    let value = 1.5 + 0.003 * Double((Int(t / 1_000_000) * 7919 + s * 31) % 11 - 5)
                    let garbled = noise.contains(Double(t) / 1e9) && Double.random(in: 0..<1, using: &random) < 0.2
                    pending.append((t, s, dead ? Reading(value: .nan, timestampNanoseconds: t, latencyNanoseconds: 300_000_000, quality: .bad(.timeout))
                                        : garbled ? Reading(value: .nan, timestampNanoseconds: t, latencyNanoseconds: 28_000_000, quality: .bad(.crcOrFraming))
                                        : Reading(value: value, timestampNanoseconds: t, latencyNanoseconds: 28_000_000, quality: .good)))
                }
                nextRound = (t / 100_000_000 + 1) * 100_000_000
            }
            for p in pending where p.at <= now { readings[p.sensor] = p.reading }
            pending.removeAll { $0.at <= now }
            readings.withUnsafeBufferPointer { r in
                groups.withUnsafeMutableBufferPointer { g in monitor.observe(cycle: c, nowNanoseconds: now, sensors: r, groupsOut: g) }
            }
            for k in 0..<monitor.eventCount { events.append(monitor.event(k)) }
        }
        return events
    }

    /// The dead unit is a device fault; its neighbours, answering at the line's slower pace, are
    /// not dropouts and nothing fails over.
    @Test func aDeadUnitOnASharedLineIsNotChargedToItsNeighbours() throws {
        let events = try Self.run(seconds: 60, cDiesAt: 30)
        let dropouts = events.filter { $0.kind == .detection && $0.finding?.kind == .dropout }
        #expect(dropouts.allSatisfy { $0.sensor == 2 }, "\(dropouts.map { ($0.cycle, $0.sensor) })")
        #expect(!events.contains { $0.kind == .failover }, "no failover")
        #expect(events.contains { $0.kind == .diagnosis && $0.device == 2 && $0.cause == .deviceFault })
        #expect(!events.contains { $0.kind == .diagnosis && $0.cause == .sensorFault && $0.sensor != 2 })
    }

    /// A run of bad readings is one dropout finding from its first bad sample to the next good
    /// one, not a finding raised and cleared with every sample.
    @Test func aRunOfBadReadingsIsOneDropoutFinding() throws {
        let events = try Self.run(seconds: 60, cDiesAt: 30)
        let raised = events.filter { $0.kind == .detection && $0.sensor == 2 && $0.finding?.kind == .dropout }
        let cleared = events.filter { $0.kind == .findingCleared && $0.sensor == 2 && $0.finding?.kind == .dropout }
        #expect(raised.count == 1 && cleared.isEmpty, "raised \(raised.count), cleared \(cleared.count)")
    }

    /// One frame in five garbled for 20 s: one bus diagnosis for the episode; a garbled reply is no
    /// sample for the sensor, so the three are not failed over against each other, and no sensor
    /// or device fault is diagnosed for it.
    @Test func noiseOnASharedLineIsOneBusDiagnosisAndNoFailover() throws {
        let events = try Self.run(seconds: 60, cDiesAt: .infinity, noise: 20..<40)
        let diagnoses = events.filter { $0.kind == .diagnosis }
        #expect(diagnoses.count == 1 && diagnoses.first?.cause == .busFault && diagnoses.first?.finding?.kind == .deviceCRCErrors,
                "\(diagnoses.map { ($0.cycle, $0.cause, $0.device) })")
        #expect(!events.contains { $0.kind == .failover }, "no failover")
        // (The kernel holds the monitor until every sensor has been read once; alone it sees cycle 1 unread.)
        let escalations = events.filter { $0.kind == .escalation && $0.cycle > 50 }
        #expect(escalations.isEmpty, "no escalation: \(escalations.map { ($0.cycle, $0.escalation) })")
    }
}
