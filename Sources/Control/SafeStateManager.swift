import VigilCore

/// A set of `SafeStateReason`s as bits: a value, so tracking it allocates nothing.
public struct SafeStateReasons: Sendable, Hashable {
    public private(set) var bits: UInt32 = 0

    public init() {}

    public init(_ reasons: SafeStateReason...) {
        for reason in reasons { insert(reason) }
    }

    private static func bit(_ reason: SafeStateReason) -> UInt32 { 1 << UInt32(reason.rawValue) }

    public func contains(_ reason: SafeStateReason) -> Bool { bits & Self.bit(reason) != 0 }
    public var isEmpty: Bool { bits == 0 }
    public mutating func insert(_ reason: SafeStateReason) { bits |= Self.bit(reason) }
    public mutating func remove(_ reason: SafeStateReason) { bits &= ~Self.bit(reason) }
}

/// Decides each output's commanded value for the cycle. The result is final: nothing runs after it.
///
/// Precedence, highest first:
/// 1. a plant-wide safe-state reason is active (start-up until the first good cycle, fatal fault, overrun storm,
///    watchdog stall, shutdown, operator request): every output gets its safe value;
/// 2. a tripped interlock: the outputs in its `safeOutputs` get their safe values; an output the
///    intervention policy forced safe (a safety escalation about what drives it) keeps its safe value
///    until an operator resets the safe state;
/// 3. the requested value (control law, operator, learned policy) — or the output's initial value when nothing
///    requests one (NaN). A non-finite request never reaches an output: it gets its safe value.
///
/// Requests are an input to `resolve`, so an operator or learned value cannot override an interlock.
public struct SafeStateManager: Sendable {
    public let safeValues: [Double]
    public let initialValues: [Double]
    /// For each interlock (by limit index), the output indices it forces; empty for other limits.
    public let forcedOutputs: [[Int]]
    /// Plant-wide reasons now. Starts with `.startup`.
    public private(set) var reasons: SafeStateReasons
    /// Reasons as of the last `resolve`, to report what changed.
    private var reportedReasons: SafeStateReasons
    /// Per output: true when the last `resolve` gave it its safe value.
    public private(set) var isForced: [Bool]
    /// Per output: forced safe by the intervention policy (latched until `releasePolicyForced`).
    public private(set) var isPolicyForced: [Bool]

    /// `outputs` in output-index order; `interlockOutputs[limit]` lists the output indices interlock `limit` forces.
    public init(outputs: [OutputConfig], interlockOutputs: [[Int]]) {
        safeValues = outputs.map(\.safe)
        initialValues = outputs.map(\.initial)
        forcedOutputs = interlockOutputs.map { $0.filter { $0 >= 0 && $0 < outputs.count } }
        reasons = SafeStateReasons(.startup)
        reportedReasons = SafeStateReasons()
        isForced = Array(repeating: true, count: outputs.count)
        isPolicyForced = Array(repeating: false, count: outputs.count)
    }

    /// Latches `output` at its safe value (the policy's "operator intervention and safe outputs").
    /// Returns false when it already was. Does not allocate.
    @discardableResult
    public mutating func forceByPolicy(output: Int) -> Bool {
        guard isPolicyForced.indices.contains(output), !isPolicyForced[output] else { return false }
        isPolicyForced[output] = true
        return true
    }

    /// An operator's reset: every policy-forced output follows its request again. Returns how many did.
    @discardableResult
    public mutating func releasePolicyForced() -> Int {
        var n = 0
        for i in isPolicyForced.indices where isPolicyForced[i] {
            isPolicyForced[i] = false
            n += 1
        }
        return n
    }

    /// Whether the whole plant is in safe state now.
    public var plantInSafeState: Bool { !reasons.isEmpty }

    /// Activates a plant-wide reason. `.interlock` given here also forces every output (an interlock of the
    /// whole plant); per-limit interlocks come from the evaluator in `resolve`.
    public mutating func enter(_ reason: SafeStateReason) { reasons.insert(reason) }

    /// Clears a plant-wide reason (e.g. `.startup` after the first good cycle, `.operatorRequest` on release).
    public mutating func leave(_ reason: SafeStateReason) { reasons.remove(reason) }

    /// Writes the final value of every output into `outputs` (resized only if its count is wrong).
    /// `requested[i]` is NaN when nothing drives output `i`; `interlocks` gives the tripped state per limit.
    /// Appends entered/left transitions for plant-wide reasons that changed since the last call.
    public mutating func resolve(requested: UnsafeBufferPointer<Double>, interlocks: InterlockEvaluator,
                                 into outputs: inout [Double], transitions: inout TransitionBuffer) {
        reportChanges(&transitions)
        if outputs.count != safeValues.count {
            outputs = Array(repeating: 0, count: safeValues.count)
        }
        let wholePlant = plantInSafeState
        for i in safeValues.indices {
            let request = i < requested.count ? requested[i] : .nan
            let value = request.isNaN ? initialValues[i] : request
            let safe = wholePlant || !value.isFinite
            outputs[i] = safe ? safeValues[i] : value
            isForced[i] = safe
        }
        if wholePlant { return }
        for i in isPolicyForced.indices where isPolicyForced[i] {
            outputs[i] = safeValues[i]
            isForced[i] = true
        }
        for limit in forcedOutputs.indices where limit < interlocks.rules.count && interlocks.isTripped(limit) {
            for output in forcedOutputs[limit] {
                outputs[output] = safeValues[output]
                isForced[output] = true
            }
        }
    }

    /// `[Double]` convenience (no allocation).
    public mutating func resolve(requested: [Double], interlocks: InterlockEvaluator,
                                 into outputs: inout [Double], transitions: inout TransitionBuffer) {
        requested.withUnsafeBufferPointer {
            resolve(requested: $0, interlocks: interlocks, into: &outputs, transitions: &transitions)
        }
    }

    private mutating func reportChanges(_ transitions: inout TransitionBuffer) {
        guard reasons != reportedReasons else { return }
        // Walk the changed bits (not `allCases`, which builds an array).
        var changed = reasons.bits ^ reportedReasons.bits
        while changed != 0 {
            let raw = Int32(changed.trailingZeroBitCount)
            changed &= changed - 1
            let entered = reasons.bits & (1 << UInt32(raw)) != 0
            transitions.append(ControlTransition(kind: entered ? .safeStateEntered : .safeStateLeft, code: raw))
        }
        reportedReasons = reasons
    }
}
