import VigilCore

/// The plant resolved to indices, once at start: each sensor's device and redundancy group, each
/// device's bus, each group's members in preference order (primary first). Read-only on the cycle.
struct MonitorTopology: Sendable {
    let sensorCount: Int
    let deviceCount: Int
    let groupCount: Int
    /// Per sensor: its device (−1: a GPIO line).
    let sensorDevice: [Int]
    /// Per sensor: its redundancy group (−1: none).
    let sensorGroup: [Int]
    /// Per device: its bus (a serial line, or a gateway host).
    let deviceBus: [Int]
    /// Per bus: how many devices share it.
    let busDeviceCount: [Int]
    /// Per device: whether a fault of this device alone is repaired by switching to its backup path.
    let deviceSwitchesAlone: [Bool]
    /// Per device: the slow-polling ceiling (`max_poll_interval_ms`), in ns.
    let devicePollCeilingNanoseconds: [UInt64]
    /// Group g's members are `members[groupStart[g] ..< groupStart[g] + groupSize[g]]`, primary
    /// first; a member's position in that range is its slot.
    let groupStart: [Int]
    let groupSize: [Int]
    let members: [Int]

    init(plant: PlantConfig) throws(MonitorConfigurationError) {
        sensorCount = plant.sensors.count
        deviceCount = plant.devices.count
        groupCount = plant.redundancyGroups.count

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
        self.deviceBus = deviceBus
        devicePollCeilingNanoseconds = plant.devices.map { UInt64(max($0.pollIntervalCeilingMilliseconds, 0)) * 1_000_000 }
        let counts = busKeys.indices.map { b in deviceBus.filter { $0 == b }.count }
        // A TCP device with a second gateway switches to it alone; a serial line switches only as a
        // whole (alone when it has one device).
        deviceSwitchesAlone = plant.devices.enumerated().map { d, device in
            switch device.backup {
            case .tcp?: return true
            case .rtu?: return counts[deviceBus[d]] == 1
            case nil: return false
            }
        }
        busDeviceCount = counts

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
        self.sensorDevice = sensorDevice

        var sensorGroup = [Int](repeating: -1, count: sensorCount)
        var groupStart: [Int] = []
        var groupSize: [Int] = []
        var members: [Int] = []
        for (g, group) in plant.redundancyGroups.enumerated() {
            guard !group.members.isEmpty else { throw .emptyGroup(group: group.id) }
            groupStart.append(members.count)
            groupSize.append(group.members.count)
            for id in group.members {
                guard let i = plant.sensors.firstIndex(where: { $0.id == id }) else {
                    throw .unknownGroupMember(group: group.id, sensor: id)
                }
                members.append(i)
                sensorGroup[i] = g
            }
        }
        self.sensorGroup = sensorGroup
        self.groupStart = groupStart
        self.groupSize = groupSize
        self.members = members
    }

    /// The sensor in slot `slot` of group `g`.
    @inline(__always)
    func member(_ g: Int, _ slot: Int) -> Int { members[groupStart[g] + slot] }

    /// Members of the largest group (at least 1): room for one group's values.
    var largestGroup: Int { max(groupSize.max() ?? 1, 1) }
}
