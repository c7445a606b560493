/// Which alarms the console announces as news: an alarm that became unacknowledged (new, or
/// returned), and an announced alarm whose severity rose since (the `alarms` list shows the highest
/// severity seen, so the announcement must not stay behind it). Pure bookkeeping over the alarm list.
public struct AlarmAnnouncer<Severity: Comparable & Sendable>: Sendable {
    /// One alarm as the list shows it now.
    public struct Alarm: Sendable {
        public var id: UInt64
        public var unacknowledged: Bool
        public var severity: Severity
        public init(id: UInt64, unacknowledged: Bool, severity: Severity) {
            self.id = id
            self.unacknowledged = unacknowledged
            self.severity = severity
        }
    }

    public enum Announcement: Sendable, Equatable where Severity: Equatable {
        /// Newly unacknowledged.
        case raised(id: UInt64, severity: Severity)
        /// Announced before at `from`, now at `to`.
        case severityRose(id: UInt64, from: Severity, to: Severity)
    }

    private var unacknowledged: [UInt64: Bool] = [:]
    private var announcedSeverity: [UInt64: Severity] = [:]
    private var primed = false

    public init() {}

    /// The announcements `alarms` (the annunciated, not cleared alarms) call for. The first call only
    /// learns the list: alarms raised before the session are in `alarms`, not news.
    public mutating func update(_ alarms: [Alarm]) -> [Announcement] {
        var out: [Announcement] = []
        if primed {
            for a in alarms {
                if a.unacknowledged && unacknowledged[a.id] != true {
                    out.append(.raised(id: a.id, severity: a.severity))
                    announcedSeverity[a.id] = a.severity
                } else if let was = announcedSeverity[a.id], a.severity > was {
                    out.append(.severityRose(id: a.id, from: was, to: a.severity))
                    announcedSeverity[a.id] = a.severity
                }
            }
        } else {
            for a in alarms { announcedSeverity[a.id] = a.severity }
            primed = true
        }
        unacknowledged = Dictionary(alarms.map { ($0.id, $0.unacknowledged) }, uniquingKeysWith: { $1 })
        announcedSeverity = announcedSeverity.filter { unacknowledged[$0.key] != nil }
        return out
    }
}
