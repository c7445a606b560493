import Synchronization

/// An alarm raised beside the cycle, about the controller itself (a damaged policy model at
/// start): the cycle's alarm manager knows only the plant. Shown by the console with the plant's
/// alarms and logged when raised; it stands until cleared.
public struct SystemAlarm: Sendable, Hashable {
    /// Stable key, e.g. `policy-model`: raising the same key again replaces the text.
    public var key: String
    public var text: String
    public var raisedWallNanoseconds: Int64
    /// Increases with every raise, so a console can tell a new one from one it has announced.
    public var sequence: Int
}

/// The controller's standing system alarms; thread-safe, never touched by the cycle.
public final class SystemAlarms: Sendable {
    private let alarms = Mutex<(list: [SystemAlarm], sequence: Int)>(([], 0))

    public init() {}

    public func raise(key: String, text: String, wallNanoseconds: Int64) {
        alarms.withLock { a in
            a.sequence += 1
            a.list.removeAll { $0.key == key }
            a.list.append(SystemAlarm(key: key, text: text, raisedWallNanoseconds: wallNanoseconds, sequence: a.sequence))
        }
    }

    /// Clears the alarm under `key`; true when there was one.
    @discardableResult
    public func clear(key: String) -> Bool {
        alarms.withLock { a in
            let before = a.list.count
            a.list.removeAll { $0.key == key }
            return a.list.count != before
        }
    }

    public var active: [SystemAlarm] { alarms.withLock { $0.list } }
}
