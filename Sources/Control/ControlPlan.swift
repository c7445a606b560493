import VigilCore

/// Why a `PlantConfig` cannot become a `ControlPlan`. The config decoder reports these first, with file
/// positions; this is the last line of defence for plants built in code.
public enum ControlPlanError: Error, Sendable, Hashable {
    case unknownInput(control: String, input: String)
    case unknownOutput(control: String, output: String)
    case outputDrivenTwice(output: String, controls: [String])
    case unknownSubject(limit: String, subject: String)
    case unknownSafeOutput(limit: String, output: String)
    case unknownGroupMember(group: String, sensor: String)
}

/// A plant's control layer, resolved once: every id becomes an index, every array is allocated here.
///
/// The runtime calls `step` once per cycle on the cycle thread:
///
/// ```swift
/// var plan = try ControlPlan(plant: plant)              // at start
/// var outputs = plan.makeOutputBuffer()                 // at start
/// // every cycle:
/// plan.step(inputs: readings, dtSeconds: 0.010, into: &outputs)
/// for t in plan.transitions { journal.enqueue(t) }      // copy out before the next step
/// ```
///
/// - `inputs` are indexed like `plant.sensors` (`sensorIDs`); a missing index counts as unread.
/// - `outputs` are indexed like `plant.outputs` (`outputIDs`) and hold the final values to write.
/// - A redundancy group's value is its primary's reading if good, else the first good backup, else the
///   primary's (bad) reading. The self-healing monitor will replace this selection.
/// - The plant starts in safe state (`.startup`) and leaves it at the end of the first good cycle: every
///   interlock subject and every control input good. The runtime may also `leave(.startup)` itself.
/// - Laws always run (their state follows the plant even in safe state); `SafeStateManager` decides last. A PID
///   loop whose output was overridden tracks the value written, so it resumes from it without a jump.
/// - `step` does not allocate.
public struct ControlPlan: Sendable {
    public let sensorIDs: [String]
    public let groupIDs: [String]
    public let outputIDs: [String]
    public let controlIDs: [String]
    public let limitIDs: [String]

    /// Per control: its law's state.
    public enum Law: Sendable, Hashable {
        case onOff(OnOffController)
        case pid(PIDController)
    }

    public private(set) var laws: [Law]
    /// Per control: the subject index it reads (sensors, then groups) and the output it drives.
    private let controlInput: [Int]
    private let controlOutput: [Int]
    /// Per group: member sensor indices, primary first, flattened with offsets.
    private let groupMembers: [Int]
    private let groupStart: [Int]
    /// Subject values this cycle: sensors, then groups.
    private var subjects: [Reading]
    /// Per output: what laws and the operator request before the safe-state decision (NaN = nothing).
    private var requested: [Double]
    /// Per output: an operator's or learned value (NaN = none). Goes through the safe-state decision like any request.
    private var operatorValues: [Double]
    private var holding: [Bool]
    /// Per control: what its law computed this step (to see whether the output was overridden).
    private var lawValues: [Double]
    /// Subject indices that must be good for a cycle to count as good (interlock subjects and control inputs).
    private let requiredSubjects: [Int]
    /// Per subject (sensors, then groups): the outputs a safety escalation about it forces safe, flattened
    /// with offsets: the outputs of controls reading it and the safe outputs of its interlocks, and for a
    /// group member those of its groups too.
    private let subjectOutputs: [Int]
    private let subjectOutputStart: [Int]

    public private(set) var interlocks: InterlockEvaluator
    public private(set) var safeState: SafeStateManager
    /// What changed in the last `step` (valid until the next one).
    public private(set) var transitions: TransitionBuffer

    /// Resolves `plant`. `limitRule` may adjust each limit's deadband or bad-quality action; the default keeps
    /// `LimitRule`'s defaults (no deadband; interlocks trip on a bad subject, other limits hold).
    public init(plant: PlantConfig,
                limitRule: (LimitConfig, _ subject: Int) -> LimitRule = { LimitRule(subject: $1, low: $0.low, high: $0.high, severity: $0.severity,
                                                                                   badInputDelaySeconds: $0.badInputDelaySeconds) })
    throws(ControlPlanError) {
        sensorIDs = plant.sensors.map(\.id)
        groupIDs = plant.redundancyGroups.map(\.id)
        outputIDs = plant.outputs.map(\.id)
        controlIDs = plant.controls.map(\.id)
        limitIDs = plant.limits.map(\.id)
        var subjectIndex: [String: Int] = [:]
        for (i, id) in sensorIDs.enumerated() where subjectIndex[id] == nil { subjectIndex[id] = i }
        for (i, id) in groupIDs.enumerated() where subjectIndex[id] == nil { subjectIndex[id] = sensorIDs.count + i }
        var outputIndex: [String: Int] = [:]
        for (i, id) in outputIDs.enumerated() where outputIndex[id] == nil { outputIndex[id] = i }

        var members: [Int] = [], starts: [Int] = []
        for group in plant.redundancyGroups {
            starts.append(members.count)
            for member in group.members {
                guard let index = subjectIndex[member], index < sensorIDs.count else {
                    throw .unknownGroupMember(group: group.id, sensor: member)
                }
                members.append(index)
            }
        }
        starts.append(members.count)
        groupMembers = members
        groupStart = starts

        var laws: [Law] = [], inputs: [Int] = [], outputs: [Int] = []
        var driver: [Int: String] = [:]
        for control in plant.controls {
            guard let input = subjectIndex[control.input] else { throw .unknownInput(control: control.id, input: control.input) }
            guard let output = outputIndex[control.output] else { throw .unknownOutput(control: control.id, output: control.output) }
            if let other = driver[output] { throw .outputDrivenTwice(output: control.output, controls: [other, control.id]) }
            driver[output] = control.id
            let initial = plant.outputs[output].initial
            switch control.law {
            case .onOff(let law):
                laws.append(.onOff(OnOffController(law: law, startsOn: initial == law.onValue && initial != law.offValue)))
            case .pid(let law):
                laws.append(.pid(PIDController(law: law, mode: control.mode, initialOutput: initial)))
            }
            inputs.append(input)
            outputs.append(output)
        }
        self.laws = laws
        controlInput = inputs
        controlOutput = outputs

        var rules: [LimitRule] = [], forced: [[Int]] = []
        for limit in plant.limits {
            guard let subject = subjectIndex[limit.subject] else { throw .unknownSubject(limit: limit.id, subject: limit.subject) }
            var rule = limitRule(limit, subject)
            rule.subject = subject
            rules.append(rule)
            var forces: [Int] = []
            if limit.severity == .interlock {
                for id in limit.safeOutputs {
                    guard let index = outputIndex[id] else { throw .unknownSafeOutput(limit: limit.id, output: id) }
                    forces.append(index)
                }
            }
            forced.append(forces)
        }
        interlocks = InterlockEvaluator(rules: rules)
        safeState = SafeStateManager(outputs: plant.outputs, interlockOutputs: forced)
        var affected = Array(repeating: [Int](), count: sensorIDs.count + groupIDs.count)
        for (c, input) in inputs.enumerated() { affected[input].append(outputs[c]) }
        for (l, rule) in rules.enumerated() { affected[rule.subject].append(contentsOf: forced[l]) }
        for g in groupIDs.indices {
            for m in starts[g]..<starts[g + 1] { affected[members[m]].append(contentsOf: affected[sensorIDs.count + g]) }
        }
        var flat: [Int] = [], offsets: [Int] = []
        for list in affected {
            offsets.append(flat.count)
            for o in list where !flat[offsets.last!...].contains(o) { flat.append(o) }
        }
        offsets.append(flat.count)
        subjectOutputs = flat
        subjectOutputStart = offsets
        var required = Set(inputs)
        for rule in rules where rule.severity == .interlock { required.insert(rule.subject) }
        requiredSubjects = required.sorted()

        subjects = Array(repeating: .unread, count: sensorIDs.count + groupIDs.count)
        requested = Array(repeating: .nan, count: outputIDs.count)
        operatorValues = Array(repeating: .nan, count: outputIDs.count)
        holding = Array(repeating: false, count: laws.count)
        lawValues = Array(repeating: .nan, count: laws.count)
        // Every limit, every plant-wide reason and every control can change at most once per step.
        transitions = TransitionBuffer(capacity: rules.count + SafeStateReason.allCases.count + laws.count + 1)
    }

    /// An output array of the right size, to allocate once and pass to `step`.
    public func makeOutputBuffer() -> [Double] { safeState.safeValues }

    public func outputIndex(id: String) -> Int? { outputIDs.firstIndex(of: id) }
    public func controlIndex(id: String) -> Int? { controlIDs.firstIndex(of: id) }
    public func limitIndex(id: String) -> Int? { limitIDs.firstIndex(of: id) }

    /// One cycle. `inputs` indexed like `sensorIDs`; `outputs` receives the final value of every output.
    public mutating func step(inputs: UnsafeBufferPointer<Reading>, dtSeconds: Double, into outputs: inout [Double]) {
        step(inputs: inputs, groups: nil, dtSeconds: dtSeconds, into: &outputs)
    }

    /// One cycle with the redundancy groups' values chosen by the self-healing monitor
    /// (`groups` indexed like `groupIDs`); nil uses the plan's own primary-then-backups rule.
    public mutating func step(inputs: UnsafeBufferPointer<Reading>, groups: UnsafeBufferPointer<Reading>?,
                              dtSeconds: Double, into outputs: inout [Double]) {
        transitions.removeAll()
        for i in sensorIDs.indices {
            subjects[i] = i < inputs.count ? inputs[i] : .unread
        }
        for g in groupIDs.indices {
            if let groups, g < groups.count {
                subjects[sensorIDs.count + g] = groups[g]
            } else {
                subjects[sensorIDs.count + g] = groupValue(g)
            }
        }
        var cycleIsGood = true
        for subject in requiredSubjects where !isUsable(subjects[subject]) {
            cycleIsGood = false
            break
        }

        for o in requested.indices { requested[o] = operatorValues[o] }
        for c in laws.indices {
            let reading = subjects[controlInput[c]]
            let value: Double
            let isHolding: Bool
            switch laws[c] {
            case .onOff(var controller):
                value = controller.step(reading)
                isHolding = controller.isHolding
                laws[c] = .onOff(controller)
            case .pid(var controller):
                value = controller.step(reading, dtSeconds: dtSeconds)
                isHolding = controller.isHolding
                laws[c] = .pid(controller)
            }
            if isHolding != holding[c] {
                holding[c] = isHolding
                transitions.append(ControlTransition(kind: isHolding ? .controlHolding : .controlResumed,
                                                     subject: Int32(c), value: reading.value))
            }
            lawValues[c] = value
            let o = controlOutput[c]
            if requested[o].isNaN { requested[o] = value }
        }

        subjects.withUnsafeBufferPointer { interlocks.evaluate($0, dtSeconds: dtSeconds, transitions: &transitions) }
        requested.withUnsafeBufferPointer {
            safeState.resolve(requested: $0, interlocks: interlocks, into: &outputs, transitions: &transitions)
        }
        // A PID whose output was overridden (interlock, safe state, operator) continues from what was written,
        // so it does not wind up and jump when the override ends.
        for c in laws.indices {
            let o = controlOutput[c]
            guard o < outputs.count, outputs[o] != lawValues[c], case .pid(var pid) = laws[c] else { continue }
            pid.track(appliedOutput: outputs[o])
            laws[c] = .pid(pid)
        }
        if cycleIsGood && safeState.reasons.contains(.startup) {
            safeState.leave(.startup)
        }
    }

    /// `[Reading]` convenience (no allocation).
    public mutating func step(inputs: [Reading], dtSeconds: Double, into outputs: inout [Double]) {
        inputs.withUnsafeBufferPointer { step(inputs: $0, dtSeconds: dtSeconds, into: &outputs) }
    }

    private func groupValue(_ g: Int) -> Reading {
        let start = groupStart[g], end = groupStart[g + 1]
        for m in start..<end where isUsable(subjects[groupMembers[m]]) {
            return subjects[groupMembers[m]]
        }
        return subjects[groupMembers[start]]
    }

    // MARK: Safety queries (no allocation)

    /// The output a control loop drives (nil: no such control).
    public func output(ofControl control: Int) -> Int? {
        controlOutput.indices.contains(control) ? controlOutput[control] : nil
    }

    /// Whether any interlock is tripped now.
    public var anyInterlockTripped: Bool {
        for i in 0..<interlocks.rules.count where interlocks.isTripped(i) { return true }
        return false
    }

    /// Whether an output is held at its safe value by something no command may override: a
    /// plant-wide safe-state reason, a tripped interlock that forces it, or the intervention
    /// policy's latch after a safety escalation.
    public func isHeldSafe(output: Int) -> Bool {
        guard output >= 0 && output < outputIDs.count else { return false }
        if safeState.plantInSafeState || safeState.isPolicyForced[output] { return true }
        for limit in safeState.forcedOutputs.indices where limit < interlocks.rules.count && interlocks.isTripped(limit) {
            for o in safeState.forcedOutputs[limit] where o == output { return true }
        }
        return false
    }

    // MARK: Commands (between steps, on the cycle thread)

    /// Activates a plant-wide safe-state reason (every output safe). Reported in the next step's transitions.
    public mutating func enter(_ reason: SafeStateReason) { safeState.enter(reason) }

    /// Clears a plant-wide safe-state reason.
    public mutating func leave(_ reason: SafeStateReason) { safeState.leave(reason) }

    /// The intervention policy's "operator intervention and safe outputs" for a safety escalation about
    /// `subject` (a sensor index, or `sensorIDs.count + group`): latches every output it affects at its
    /// safe value until `releasePolicyForcedOutputs`. Returns how many outputs were newly forced. Does
    /// not allocate.
    @discardableResult
    public mutating func forceSafeOutputs(subject: Int) -> Int {
        guard subject >= 0, subject + 1 < subjectOutputStart.count else { return 0 }
        var n = 0
        for k in subjectOutputStart[subject]..<subjectOutputStart[subject + 1] where safeState.forceByPolicy(output: subjectOutputs[k]) {
            n += 1
        }
        return n
    }

    /// The outputs a safety escalation about `subject` would force (for `vigil config check` and tests).
    public func outputsAffected(bySubject subject: Int) -> [Int] {
        guard subject >= 0, subject + 1 < subjectOutputStart.count else { return [] }
        return Array(subjectOutputs[subjectOutputStart[subject]..<subjectOutputStart[subject + 1]])
    }

    /// An operator's reset of policy-forced outputs; returns how many were released.
    @discardableResult
    public mutating func releasePolicyForcedOutputs() -> Int { safeState.releasePolicyForced() }

    /// An operator's or learned value for an output (nil clears it). It replaces the law's value but still
    /// goes through the safe-state decision: it cannot override an interlock or a plant-wide safe state.
    public mutating func setOperatorValue(output: Int, _ value: Double?) {
        guard operatorValues.indices.contains(output) else { return }
        operatorValues[output] = value ?? .nan
    }

    /// Switches a PID loop between auto and manual (bumpless). On/off loops have no manual mode.
    public mutating func setMode(control: Int, _ mode: ControlMode) {
        guard laws.indices.contains(control), case .pid(var pid) = laws[control] else { return }
        pid.setMode(mode)
        laws[control] = .pid(pid)
    }

    /// The operator's value for a PID loop in manual.
    public mutating func setManualOutput(control: Int, _ value: Double) {
        guard laws.indices.contains(control), case .pid(var pid) = laws[control] else { return }
        pid.setManualOutput(value)
        laws[control] = .pid(pid)
    }

    /// A new setpoint for a PID loop.
    public mutating func setSetpoint(control: Int, _ value: Double) {
        guard laws.indices.contains(control), value.isFinite, case .pid(var pid) = laws[control] else { return }
        pid.setSetpoint(value)
        laws[control] = .pid(pid)
    }
}
