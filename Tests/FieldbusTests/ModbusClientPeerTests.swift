import Foundation
import Testing
import VigilCore
@testable import Fieldbus

/// Vigil's client against independent peers and dead devices, over real loopback TCP.
@Suite(.serialized) struct ModbusClientPeerTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let pymodbusAvailable = FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/pymodbus")

    func pymodbusDevice(port: Int) -> DeviceConfig {
        DeviceConfig(id: "pymodbus", transport: .tcp(host: "127.0.0.1", port: port), unitID: 1,
                     responseTimeoutMilliseconds: 1000, points: [
            PointConfig(id: "f_abcd", function: .input, address: 0, type: .float32, order: .abcd),
            PointConfig(id: "f_cdab", function: .input, address: 2, type: .float32, order: .cdab),
            PointConfig(id: "i32_badc", function: .input, address: 4, type: .int32, order: .badc, scale: 0.01),
            PointConfig(id: "f64_dcba", function: .input, address: 6, type: .float64, order: .dcba),
            PointConfig(id: "u64", function: .input, address: 10, type: .uint64),
            PointConfig(id: "i16", function: .holding, address: 0, type: .int16, scale: 0.1, offset: 1),
            PointConfig(id: "field", function: .holding, address: 1, type: .bitField(bit: 5, width: 4)),
            PointConfig(id: "coil3", function: .coil, address: 3, type: .bool),
            PointConfig(id: "coil4", function: .coil, address: 4, type: .bool),
            PointConfig(id: "di9", function: .discreteInput, address: 9, type: .bool),
        ])
    }

    @Test(.enabled(if: pymodbusAvailable, "needs Debian's python3-pymodbus (apt-get install python3-pymodbus)"))
    func readsEveryTypeAndOrderFromPymodbus() throws {
        let peer = try PeerProcess(executable: "/usr/bin/python3", arguments: [Self.fixtures.appendingPathComponent("pymodbus_server.py").path])
        defer { peer.stop() }
        let device = pymodbusDevice(port: peer.port)
        let clock = SystemMonotonicClock()
        let poller = DevicePoller(device: device, link: ModbusLink(connection: try ModbusConnection(tcpHost: "127.0.0.1", port: peer.port), clock: clock), clock: clock)
        poller.poll()
        let r = Dictionary(uniqueKeysWithValues: zip(device.points.map(\.id), poller.readings))
        #expect(r.values.allSatisfy { $0.quality == .good }, "\(r)")
        #expect(r["f_abcd"]?.value == 3.5)
        #expect(r["f_cdab"]?.value == -12.25)
        #expect(r["i32_badc"]?.value == -1000.0)
        #expect(r["f64_dcba"]?.value == 1234.5678)
        #expect(r["u64"]?.value == Double(UInt64(1) << 53 + 1))
        #expect(abs((r["i16"]?.value ?? 0) - (-122.4)) < 1e-9)
        #expect(r["field"]?.value == 13)
        #expect(r["coil3"]?.value == 1 && r["coil4"]?.value == 0)
        #expect(r["di9"]?.value == 1)
        #expect(r.values.allSatisfy { $0.latencyNanoseconds > 0 })
        #expect(poller.statistics.transactions == poller.blocks.count)
    }

    @Test(.enabled(if: pymodbusAvailable, "needs Debian's python3-pymodbus"))
    func writesWithFunctions5_6_15_16AreReadBackFromPymodbus() throws {
        let peer = try PeerProcess(executable: "/usr/bin/python3", arguments: [Self.fixtures.appendingPathComponent("pymodbus_server.py").path])
        defer { peer.stop() }
        var device = pymodbusDevice(port: peer.port)
        device.points.append(PointConfig(id: "f32w", function: .holding, address: 20, type: .float32, order: .cdab))
        let clock = SystemMonotonicClock()
        let poller = DevicePoller(device: device, link: ModbusLink(connection: try ModbusConnection(tcpHost: "127.0.0.1", port: peer.port), clock: clock), clock: clock)
        let index = { (id: String) in device.points.firstIndex { $0.id == id }! }
        try poller.write(pointIndex: index("coil4"), engineeringValue: 1)      // FC 5
        try poller.write(pointIndex: index("i16"), engineeringValue: -50)      // FC 6: raw (-50-1)/0.1 = -510
        try poller.write(pointIndex: index("f32w"), engineeringValue: 2.75)    // FC 16
        try poller.write(pointIndex: index("field"), engineeringValue: 2)      // FC 3 + FC 6, other bits kept
        try poller.writeCoils(address: 0, values: [true, true, false])         // FC 15
        poller.poll()
        #expect(poller.reading(at: index("coil4")).value == 1)
        #expect(abs(poller.reading(at: index("i16")).value - (-50)) < 1e-9)
        #expect(poller.reading(at: index("f32w")).value == 2.75)
        #expect(poller.reading(at: index("field")).value == 2)
        #expect(poller.reading(at: index("coil3")).value == 1, "FC15 on coils 0-2 must not touch coil 3")
        // The bit field's neighbours (bits outside 5..8 of 0x05A0) are preserved: read raw.
        var raw: [UInt16] = [0]
        try raw.withUnsafeMutableBufferPointer { try poller.link.connection.readRegisters(.holding, unit: 1, address: 1, count: 1, into: $0.baseAddress!) }
        // 0x05A0 with bits 5...8 replaced by 2: 0x0400 | (2 << 5)
        #expect(raw[0] == 0x0440)
    }

    @Test(.enabled(if: pymodbusAvailable, "needs Debian's python3-pymodbus"))
    func exceptionFromPymodbusIsABadReadingNotACrash() throws {
        let peer = try PeerProcess(executable: "/usr/bin/python3", arguments: [Self.fixtures.appendingPathComponent("pymodbus_server.py").path])
        defer { peer.stop() }
        let device = DeviceConfig(id: "x", transport: .tcp(host: "127.0.0.1", port: peer.port), responseTimeoutMilliseconds: 1000, points: [
            PointConfig(id: "beyond", function: .holding, address: 1000, type: .uint16),
            PointConfig(id: "ok", function: .input, address: 0, type: .float32),
        ])
        let clock = SystemMonotonicClock()
        let poller = DevicePoller(device: device, link: ModbusLink(connection: try ModbusConnection(tcpHost: "127.0.0.1", port: peer.port), clock: clock), clock: clock)
        poller.poll()
        #expect(poller.reading(at: 0).quality == .bad(.exception(.illegalDataAddress)))
        #expect(poller.reading(at: 1).quality == .good, "an exception on one block must not spoil the next")
        #expect(poller.statistics.exceptions == 1)
    }

    @Test func refusedConnectionIsDisconnectedAndRetriedOnlyAfterBackoff() throws {
        let port = refusedPort()
        let clock = ManualClock(startNanoseconds: 1_000_000_000)
        let device = DeviceConfig(id: "dead", transport: .tcp(host: "127.0.0.1", port: port), points: [
            PointConfig(id: "a", function: .holding, address: 0, type: .uint16),
            PointConfig(id: "b", function: .input, address: 0, type: .uint16),
        ])
        let link = ModbusLink(connection: try ModbusConnection(tcpHost: "127.0.0.1", port: port), clock: clock,
                              backoff: BackoffPolicy(initialMilliseconds: 100, jitterFraction: 0), seed: 3)
        let poller = DevicePoller(device: device, link: link, clock: clock)
        poller.poll()
        #expect(poller.readings.allSatisfy { $0.quality == .bad(.disconnected) })
        #expect(link.lastError == .disconnected(errno: ECONNREFUSED))
        #expect(link.nextAttemptAtNanoseconds == 1_100_000_000)
        poller.poll() // within the back-off: no connect attempt, points stay disconnected
        #expect(poller.statistics.skipped == 4)
        clock.advance(byNanoseconds: 100_000_000)
        poller.poll() // attempt 2 fails: the next wait doubles
        #expect(link.nextAttemptAtNanoseconds == 1_300_000_000)
        #expect(poller.statistics.transactions == 0)
    }

    @Test func silentDeviceTimesOutOncePerPollNotOncePerBlock() throws {
        let silent = SilentListener()
        let clock = SystemMonotonicClock()
        let device = DeviceConfig(id: "hung", transport: .tcp(host: "127.0.0.1", port: silent.port),
                                  responseTimeoutMilliseconds: 50, points: [
            PointConfig(id: "a", function: .holding, address: 0, type: .uint16),
            PointConfig(id: "b", function: .input, address: 0, type: .uint16),
            PointConfig(id: "c", function: .coil, address: 0, type: .bool),
        ])
        let poller = DevicePoller(device: device, link: ModbusLink(connection: try ModbusConnection(tcpHost: "127.0.0.1", port: silent.port), clock: clock), clock: clock)
        poller.poll()
        #expect(poller.readings.allSatisfy { $0.quality == .bad(.timeout) })
        #expect(poller.statistics.transactions == 1, "after one timeout the device's other reads wait for the next poll")
        #expect(poller.statistics.timeouts == 1)
        #expect(poller.readings.contains { $0.latencyNanoseconds >= 50_000_000 }, "the timed-out read's latency is the time actually waited")
        poller.poll(); poller.poll()
        // Three timeouts in a row on TCP: the connection is presumed half-open and reopened.
        #expect(poller.statistics.disconnects == 1)
        #expect(!poller.link.connection.isConnected)
    }
}
