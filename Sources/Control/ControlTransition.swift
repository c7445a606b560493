import VigilCore

/// Something that changed in one cycle, for the journal. A plain value: the cycle thread copies it
/// into a preallocated `TransitionBuffer` without allocating.
public struct ControlTransition: Sendable, Hashable {
    public enum Kind: UInt8, Sendable, Hashable, CaseIterable {
        /// A plant-wide safe-state reason became active; `code` is its `SafeStateReason`.
        case safeStateEntered
        /// A plant-wide safe-state reason cleared; `code` is its `SafeStateReason`.
        case safeStateLeft
        /// An interlock limit tripped; `subject` is the limit index, `code` a `LimitCondition`.
        case interlockTripped
        /// An interlock limit cleared; `subject` is the limit index.
        case interlockCleared
        /// A warning or alarm limit was crossed; `subject` is the limit index, `code` a `LimitCondition`.
        case limitCrossed
        /// A warning or alarm limit returned inside its band; `subject` is the limit index.
        case limitCleared
        /// A control loop's input became unusable and it holds its output; `subject` is the control index.
        case controlHolding
        /// A control loop's input is good again; `subject` is the control index.
        case controlResumed
    }

    public var kind: Kind
    /// Index of the limit or control, −1 for plant-wide transitions.
    public var subject: Int32
    /// Kind-specific code (`SafeStateReason.rawValue`, `LimitCondition.rawValue`).
    public var code: Int32
    /// The subject's value when it happened (NaN when it had none).
    public var value: Double

    public init(kind: Kind, subject: Int32 = -1, code: Int32 = 0, value: Double = .nan) {
        self.kind = kind
        self.subject = subject
        self.code = code
        self.value = value
    }
}

/// A fixed-capacity list of transitions, cleared and refilled every cycle without allocating.
/// When full, further transitions are counted in `dropped` instead of stored.
public struct TransitionBuffer: Sendable, RandomAccessCollection {
    private var storage: [ControlTransition]
    public private(set) var count: Int = 0
    /// Transitions that did not fit since the last `removeAll()`.
    public private(set) var dropped: Int = 0

    public init(capacity: Int) {
        storage = Array(repeating: ControlTransition(kind: .limitCleared), count: Swift.max(capacity, 1))
    }

    public var capacity: Int { storage.count }
    public var startIndex: Int { 0 }
    public var endIndex: Int { count }
    public subscript(position: Int) -> ControlTransition { storage[position] }

    public mutating func append(_ transition: ControlTransition) {
        guard count < storage.count else {
            dropped += 1
            return
        }
        storage[count] = transition
        count += 1
    }

    /// Empties the list; the storage is kept.
    public mutating func removeAll() {
        count = 0
        dropped = 0
    }
}
