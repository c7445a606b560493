/// How much an event matters. The journal never drops `safety` events; when its queue is full it
/// drops the oldest events of the lowest severity first, and counts them.
public enum EventSeverity: UInt8, Sendable, Hashable, Comparable, CaseIterable {
    case debug = 0, info, warning, alarm, safety

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// Why outputs were driven to their safe values.
public enum SafeStateReason: Int32, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case startup = 1
    case interlock
    case fatalFault
    case overrunStorm
    case watchdogStall
    case shutdown
    case operatorRequest

    public var description: String {
        switch self {
        case .startup: return "start-up (no good cycle yet)"
        case .interlock: return "interlock"
        case .fatalFault: return "fatal fault"
        case .overrunStorm: return "overrun storm"
        case .watchdogStall: return "cycle stalled (watchdog)"
        case .shutdown: return "orderly shutdown"
        case .operatorRequest: return "operator request"
        }
    }
}
