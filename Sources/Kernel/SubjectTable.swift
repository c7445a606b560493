import VigilCore
import Monitor

/// The names of everything an event can be about, by kind and index, as the plant file gives them.
/// The kernel's events carry indices; the journal stores names; this table turns one into the other.
public struct SubjectTable: Sendable, Hashable {
    public var limits: [String]
    public var controls: [String]
    public var devices: [String]
    public var sensors: [String]
    public var outputs: [String]
    public var groups: [String]
    public var sections: [String]

    public init(limits: [String] = [], controls: [String] = [], devices: [String] = [], sensors: [String] = [],
                outputs: [String] = [], groups: [String] = [], sections: [String] = []) {
        self.limits = limits
        self.controls = controls
        self.devices = devices
        self.sensors = sensors
        self.outputs = outputs
        self.groups = groups
        self.sections = sections
    }

    public init(plant: PlantConfig) {
        self.init(limits: plant.limits.map(\.id), controls: plant.controls.map(\.id), devices: plant.devices.map(\.id),
                  sensors: plant.sensors.map(\.id), outputs: plant.outputs.map(\.id), groups: plant.redundancyGroups.map(\.id),
                  sections: plant.sections.map(\.id))
    }

    /// The kinds of thing a subject can be.
    public enum Category: String, Sendable, Hashable, CaseIterable {
        case limit, control, device, sensor, output, group, section
    }

    public func names(_ category: Category) -> [String] {
        switch category {
        case .limit: return limits
        case .control: return controls
        case .device: return devices
        case .sensor: return sensors
        case .output: return outputs
        case .group: return groups
        case .section: return sections
        }
    }

    /// The name of subject `index` of a category; `#index` for an index the plant does not have.
    public func name(_ category: Category, _ index: Int32) -> String {
        let list = names(category)
        return index >= 0 && Int(index) < list.count ? list[Int(index)] : "#\(index)"
    }

    /// The index of a name in a category (`#N` reads back as N).
    public func index(_ category: Category, _ name: String) -> Int32? {
        if let i = names(category).firstIndex(of: name) { return Int32(i) }
        if name.hasPrefix("#"), let n = Int32(name.dropFirst()) { return n }
        return nil
    }

    public func name(_ subject: FindingSubject) -> String {
        switch subject {
        case .sensor(let i): return name(.sensor, i)
        case .device(let i): return name(.device, i)
        case .section(let i): return name(.section, i)
        }
    }

    public func name(_ subject: EventSubject) -> String {
        switch subject {
        case .sensor(let i): return name(.sensor, i)
        case .device(let i): return name(.device, i)
        case .group(let i): return name(.group, i)
        case .section(let i): return name(.section, i)
        }
    }
}

extension EventSubject {
    public var category: SubjectTable.Category {
        switch self {
        case .sensor: return .sensor
        case .device: return .device
        case .group: return .group
        case .section: return .section
        }
    }

    public var index: Int32 {
        switch self {
        case .sensor(let i), .device(let i), .group(let i), .section(let i): return i
        }
    }

    init?(_ category: SubjectTable.Category, _ index: Int32) {
        switch category {
        case .sensor: self = .sensor(index)
        case .device: self = .device(index)
        case .group: self = .group(index)
        case .section: self = .section(index)
        case .limit, .control, .output: return nil
        }
    }
}

extension FindingSubject {
    public var category: SubjectTable.Category {
        switch self {
        case .sensor: return .sensor
        case .device: return .device
        case .section: return .section
        }
    }

    public var index: Int32 {
        switch self {
        case .sensor(let i), .device(let i), .section(let i): return i
        }
    }

    /// The subject category a finding of this kind is about.
    public static func subjectCategory(of kind: FindingKind) -> SubjectTable.Category {
        if kind.rawValue >= FindingKind.multivariateT2.rawValue { return .section }
        if kind.rawValue >= FindingKind.deviceTimeouts.rawValue { return .device }
        return .sensor
    }
}
