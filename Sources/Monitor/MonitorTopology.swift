import VigilCore

/// The plant resolved to indices, once at start: each sensor's device and redundancy group, each
/// device's bus, each group's members in preference order (primary first). Read-only on the cycle.
struct MonitorTopology: Sendable {
    /// Where a sensor sits.
    struct Sensor: Sendable {
        /// Its device (−1: a GPIO line).
        let device: Int
        /// Its redundancy group (−1: none).
        let group: Int
    }

    /// Where a device sits.
    struct Device: Sendable {
        /// Its bus (a serial line, or a gateway host).
        let bus: Int
        /// A fault of this device alone is repaired by switching to its backup path.
        let switchesAlone: Bool
        /// The slow-polling ceiling (`max_poll_interval_ms`), in ns.
        let pollCeilingNanoseconds: UInt64
        /// How long its link can be busy before its next poll: a response timeout for each
        /// transaction of a round (`linkTransactions`). A sample is not missing before a poll plus this.
        let linkHoldNanoseconds: UInt64
        /// The transactions of one round on its link when every output is written (its planned
        /// reads and a write per output, of every unit on a serial line): slow replies make a round
        /// this many replies long.
        let linkTransactions: Int
    }

    /// A group's members: `members[start ..< start + size]`, primary first; a member's position
    /// in that range is its slot.
    struct Group: Sendable {
        let start: Int
        let size: Int
    }

    /// In plant.sensors, plant.devices and plant.redundancyGroups order.
    let sensors: [Sensor]
    let devices: [Device]
    let groups: [Group]
    let members: [Int]
    /// Per bus: how many devices share it.
    let busDeviceCount: [Int]
    /// Per bus: it has another path to switch to (a backup port for its line, a second gateway for a device on it).
    let busHasBackup: [Bool]

    var sensorCount: Int { sensors.count }
    var deviceCount: Int { devices.count }
    var groupCount: Int { groups.count }

    init(plant: PlantConfig) throws(MonitorConfigurationError) {
        var busKeys: [String] = []
        var deviceBus: [Int] = []
        for d in plant.devices {
            let key: String
            switch d.transport {
            case .tcp(let host, _): key = "tcp:" + host
            case .rtu(let s): key = "rtu:" + s.port
            }
            if let i = busKeys.firstIndex(of: key) { deviceBus.append(i) } else { busKeys.append(key); deviceBus.append(busKeys.count - 1) }
        }
        let counts = busKeys.indices.map { b in deviceBus.filter { $0 == b }.count }
        busDeviceCount = counts
        devices = plant.devices.enumerated().map { d, device in
            // A TCP device with a second gateway switches to it alone; a serial line switches only
            // as a whole (alone when it has one device).
            let alone: Bool
            switch device.backup {
            case .tcp?: alone = true
            case .rtu?: alone = counts[deviceBus[d]] == 1
            case nil: alone = false
            }
            func transactions(_ other: DeviceConfig) -> Int {
                let writes = plant.outputs.filter { if case .point(other.id, _) = $0.target { true } else { false } }.count
                return max(1, ReadPlanner.plan(other).count + writes)
            }
            var holdMilliseconds = 0, linkTransactions = 0
            switch device.transport {
            case .tcp:
                linkTransactions = transactions(device)
                holdMilliseconds = linkTransactions * device.responseTimeoutMilliseconds
            case .rtu(let line):
                for other in plant.devices {
                    guard case .rtu(let l) = other.transport, l.port == line.port else { continue }
                    linkTransactions += transactions(other)
                    holdMilliseconds += transactions(other) * other.responseTimeoutMilliseconds
                }
            }
            return Device(bus: deviceBus[d], switchesAlone: alone,
                          pollCeilingNanoseconds: UInt64(max(device.pollIntervalCeilingMilliseconds, 0)) * 1_000_000,
                          linkHoldNanoseconds: UInt64(max(holdMilliseconds, 0)) * 1_000_000, linkTransactions: linkTransactions)
        }
        busHasBackup = counts.indices.map { b in plant.devices.indices.contains { deviceBus[$0] == b && plant.devices[$0].backup != nil } }

        var sensorDevice: [Int] = []
        for s in plant.sensors {
            switch s.source {
            case .point(let device, _):
                guard let d = plant.devices.firstIndex(where: { $0.id == device }) else {
                    throw .unknownDevice(sensor: s.id, device: device)
                }
                sensorDevice.append(d)
            case .gpio:
                sensorDevice.append(-1)
            }
        }

        var sensorGroup = [Int](repeating: -1, count: plant.sensors.count)
        var groups: [Group] = []
        var members: [Int] = []
        for (g, group) in plant.redundancyGroups.enumerated() {
            guard !group.members.isEmpty else { throw .emptyGroup(group: group.id) }
            groups.append(Group(start: members.count, size: group.members.count))
            for id in group.members {
                guard let i = plant.sensors.firstIndex(where: { $0.id == id }) else {
                    throw .unknownGroupMember(group: group.id, sensor: id)
                }
                members.append(i)
                sensorGroup[i] = g
            }
        }
        sensors = zip(sensorDevice, sensorGroup).map { Sensor(device: $0, group: $1) }
        self.groups = groups
        self.members = members
    }

    /// The sensor in slot `slot` of group `g`.
    @inline(__always)
    func member(_ g: Int, _ slot: Int) -> Int { members[groups[g].start + slot] }

    /// Members of the largest group (at least 1): room for one group's values.
    var largestGroup: Int { max(groups.map(\.size).max() ?? 1, 1) }
}
