import VigilCore
import Monitor

/// The label values a plant gives the metrics (all from the plant file, so cardinality is fixed at
/// start-up): device, sensor, group (with its member sensors) and interlock ids.
public struct MetricsLayout: Sendable, Hashable {
    public var deviceIDs: [String]
    public var sensorIDs: [String]
    public var groupIDs: [String]
    /// Each group's member sensors (primary first), as ids.
    public var groupMembers: [[String]]
    /// Limits that are interlocks.
    public var interlockIDs: [String]
    public var periodSeconds: Double

    public init(deviceIDs: [String], sensorIDs: [String], groupIDs: [String], groupMembers: [[String]], interlockIDs: [String],
                periodSeconds: Double) {
        self.deviceIDs = deviceIDs
        self.sensorIDs = sensorIDs
        self.groupIDs = groupIDs
        self.groupMembers = groupMembers
        self.interlockIDs = interlockIDs
        self.periodSeconds = periodSeconds
    }

    public init(plant: PlantConfig) {
        self.init(deviceIDs: plant.devices.map(\.id), sensorIDs: plant.sensors.map(\.id),
                  groupIDs: plant.redundancyGroups.map(\.id), groupMembers: plant.redundancyGroups.map { [$0.primary] + $0.backups },
                  interlockIDs: plant.limits.filter { $0.severity == .interlock }.map(\.id),
                  periodSeconds: Double(plant.cycle.periodMicroseconds) / 1e6)
    }
}

/// What the binary says of itself in `vigil_build_info`.
public struct BuildInfo: Sendable, Hashable {
    public var version: String
    public var swiftVersion: String

    public init(version: String, swiftVersion: String = BuildInfo.compilerSwiftVersion) {
        self.version = version
        self.swiftVersion = swiftVersion
    }

    /// The Swift language version the binary was compiled with (major.minor).
    public static var compilerSwiftVersion: String {
        #if swift(>=6.5)
        return "6.5+"
        #elseif swift(>=6.4)
        return "6.4"
        #elseif swift(>=6.3)
        return "6.3"
        #elseif swift(>=6.2)
        return "6.2"
        #else
        return "6.1"
        #endif
    }
}

/// Prometheus label values for Vigil's enums (snake_case, stable: the dashboard matches on them).
enum MetricLabels {
    static func reason(_ r: SafeStateReason) -> String {
        switch r {
        case .startup: return "startup"
        case .interlock: return "interlock"
        case .fatalFault: return "fatal_fault"
        case .overrunStorm: return "overrun_storm"
        case .watchdogStall: return "watchdog_stall"
        case .shutdown: return "shutdown"
        case .operatorRequest: return "operator_request"
        }
    }

    static func strategy(_ s: RepairStrategy) -> String {
        switch s {
        case .failoverToBackup: return "failover_to_backup"
        case .holdLastGood: return "hold_last_good"
        case .reconnect: return "reconnect"
        case .switchToBackupGateway: return "switch_to_backup_gateway"
        case .slowPolling: return "slow_polling"
        case .groupSafeAction: return "group_safe_action"
        }
    }

    static func priority(_ s: DiagnosisSeverity) -> String {
        switch s {
        case .minor: return "minor"
        case .major: return "major"
        case .safety: return "safety"
        }
    }

    /// The four alarm states the gauge reports; a shelved alarm counts as `shelved` whatever its state.
    static let alarmStates = ["unacknowledged", "acknowledged", "returned_unacknowledged", "shelved"]

    static func alarmState(_ a: Alarm) -> String? {
        if a.state == .cleared { return nil }
        if a.isShelved { return "shelved" }
        switch a.state {
        case .unacknowledged: return "unacknowledged"
        case .acknowledged: return "acknowledged"
        case .returnedUnacknowledged: return "returned_unacknowledged"
        case .cleared: return nil
        }
    }

    static let modelOutcomes = ["deployed", "refused", "rolled_back"]
}
