import VigilCore

/// Where one simulated device listens, in words a person can act on.
public struct RigEndpoint: Sendable, Hashable, CustomStringConvertible {
    public var deviceID: String
    /// `tcp 127.0.0.1:15020 unit 1` or `rtu /dev/pts/7 19200 8E1 unit 3`.
    public var listening: String
    /// An `mbpoll` command line that reads the device's first mapped block once.
    public var mbpollCommand: String

    public var description: String { "\(deviceID): \(listening)  — poll: \(mbpollCommand)" }

    /// Describes a device of a plant as rewritten by `SimulatedRig` (so it names the real endpoint).
    public init(device: DeviceConfig) {
        deviceID = device.id
        // The first table in Modbus order that has points, and its span (at most one read's worth).
        let tables: [(RegisterFunction, String)] = [(.input, "3"), (.holding, "4"), (.discreteInput, "1"), (.coil, "0")]
        var read = ""
        for (function, type) in tables {
            let ps = device.points.filter { $0.function == function }
            guard let lo = ps.map(\.address).min(), let hi = ps.map(\.endAddress).max() else { continue }
            read = "-0 -r \(lo) -c \(min(hi - lo, 125)) -t \(type)"
            break
        }
        if read.isEmpty { read = "-0 -r 0 -c 1 -t 4" }
        switch device.transport {
        case .tcp(let host, let port):
            listening = "tcp \(host):\(port) unit \(device.unitID)"
            mbpollCommand = "mbpoll -m tcp -a \(device.unitID) \(read) -1 -p \(port) \(host)"
        case .rtu(let s):
            let frame = "\(s.dataBits)\(s.parity.libmodbusCharacter)\(s.stopBits)"
            listening = "rtu \(s.port) \(s.baud) \(frame) unit \(device.unitID)"
            let parity = s.parity == .none ? "none" : s.parity.rawValue
            mbpollCommand = "mbpoll -m rtu -a \(device.unitID) -b \(s.baud) -P \(parity) -d \(s.dataBits) -s \(s.stopBits) \(read) -1 \(s.port)"
        }
    }
}

extension SimulatedRig {
    /// One endpoint per device, in config order.
    public var endpoints: [RigEndpoint] { plant.devices.map(RigEndpoint.init(device:)) }
}
