/// One key of a block of the plant file (e.g. `confirm_samples` of `monitor.health`): its name,
/// the setting it writes, the file's unit and the values it accepts, and what it does. A block's
/// list of keys, next to the block's properties, is where a file setting is declared: the config
/// decoder reads the file with it and the tables of docs/CONFIGURATION.md are generated from it;
/// the property it writes gives the setting's type and default, in the units the code uses.
public struct SettingKey<Block> {
    public enum Value {
        /// An integer in `range`.
        case integer(WritableKeyPath<Block, Int>, ClosedRange<Int>)
        /// An odd integer in `range` (a window of samples with a middle).
        case oddInteger(WritableKeyPath<Block, Int>, ClosedRange<Int>)
        case number(WritableKeyPath<Block, Double>, SettingBound)
        /// Milliseconds in the file, nanoseconds in the setting.
        case milliseconds(WritableKeyPath<Block, Double>, SettingBound)
        /// Seconds in the file, whole nanoseconds in the setting.
        case seconds(WritableKeyPath<Block, UInt64>, SettingBound)
        case flag(WritableKeyPath<Block, Bool>)
        /// A key this one replaced (cycles became seconds of plant time): a file that still uses it
        /// is refused with the new key and how to convert (`hint`).
        case renamed(to: String, hint: String)
    }

    /// The key in the file.
    public let key: String
    public let value: Value
    /// What the setting does, for docs/CONFIGURATION.md (empty for a renamed key).
    public let doc: String

    public init(_ key: String, _ value: Value, _ doc: String) {
        self.key = key
        self.value = value
        self.doc = doc
    }

    public static func integer(_ key: String, _ field: WritableKeyPath<Block, Int>, _ range: ClosedRange<Int>, _ doc: String) -> Self {
        Self(key, .integer(field, range), doc)
    }

    public static func oddInteger(_ key: String, _ field: WritableKeyPath<Block, Int>, _ range: ClosedRange<Int>, _ doc: String) -> Self {
        Self(key, .oddInteger(field, range), doc)
    }

    public static func number(_ key: String, _ field: WritableKeyPath<Block, Double>, _ bound: SettingBound, _ doc: String) -> Self {
        Self(key, .number(field, bound), doc)
    }

    public static func milliseconds(_ key: String, _ field: WritableKeyPath<Block, Double>, _ bound: SettingBound, _ doc: String) -> Self {
        Self(key, .milliseconds(field, bound), doc)
    }

    public static func seconds(_ key: String, _ field: WritableKeyPath<Block, UInt64>, _ bound: SettingBound, _ doc: String) -> Self {
        Self(key, .seconds(field, bound), doc)
    }

    public static func flag(_ key: String, _ field: WritableKeyPath<Block, Bool>, _ doc: String) -> Self {
        Self(key, .flag(field), doc)
    }

    public static func renamed(_ old: String, to new: String, hint: String) -> Self {
        Self(old, .renamed(to: new, hint: hint), "")
    }

    /// The file's milliseconds as the setting's nanoseconds.
    public static func nanoseconds(milliseconds: Double) -> Double { milliseconds * 1e6 }

    /// The file's seconds as the setting's nanoseconds (rounded to the nearest).
    public static func nanoseconds(seconds: Double) -> UInt64 { UInt64((seconds * 1e9).rounded()) }
}

/// The numbers a number setting accepts, and how a diagnostic and the docs say so.
public struct SettingBound: Sendable {
    /// What the file must say instead, as a diagnostic puts it ("a number > 0").
    public let expected: String
    public let accepts: @Sendable (Double) -> Bool

    public init(expected: String, accepts: @escaping @Sendable (Double) -> Bool) {
        self.expected = expected
        self.accepts = accepts
    }

    public static let positive = SettingBound(expected: "a number > 0") { $0 > 0 }
    public static let nonNegative = SettingBound(expected: "a number ≥ 0") { $0 >= 0 }
    public static let probability = SettingBound(expected: "a probability strictly between 0 and 1") { $0 > 0 && $0 < 1 }
    public static let weight = SettingBound(expected: "a weight in 0 < w < 1") { $0 > 0 && $0 < 1 }
    public static let fractionOfSpan = SettingBound(expected: "a fraction of the sensor's span in 0...1") { $0 >= 0 && $0 <= 1 }

    /// `what` ≥ `low`.
    public static func atLeast(_ low: Double, _ what: String) -> SettingBound {
        SettingBound(expected: "\(what) ≥ \(format(low))") { $0 >= low }
    }

    /// `what` > `low`.
    public static func above(_ low: Double, _ what: String) -> SettingBound {
        SettingBound(expected: "\(what) > \(format(low))") { $0 > low }
    }

    /// `what` in `range`, both ends included.
    public static func within(_ range: ClosedRange<Double>, _ what: String) -> SettingBound {
        SettingBound(expected: "\(what) in \(format(range.lowerBound))...\(format(range.upperBound))") { range.contains($0) }
    }

    /// Seconds in 0 < s ≤ `high`.
    public static func secondsUpTo(_ high: Double) -> SettingBound {
        SettingBound(expected: "a number of seconds in 0 < s ≤ \(format(high))") { $0 > 0 && $0 <= high }
    }

    private static func format(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }
}
