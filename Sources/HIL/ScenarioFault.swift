import Foundation
import VigilCore

/// What a scheduled fault acts on: a sensor's point, a whole device, a serial line, or a process signal.
public enum FaultTarget: Sendable, Hashable, CustomStringConvertible {
    case sensor(String)
    case device(String)
    /// A configured serial port name (`rs485-0`).
    case line(String)
    /// A named signal of `simulation.signals`: the process itself changes.
    case signal(String)
    /// Only the primary path of a device (its gateway server, or its serial line); a device with a
    /// backup path stays reachable over it. (`device` faults hit both paths.)
    case gateway(String)
    /// Only the backup path of a device (`backup:` gateway or `backup_port:` line).
    case backupGateway(String)

    /// `sensor PT-101A`, as written in a scenario.
    public var description: String {
        switch self {
        case .sensor(let id): return "sensor \(id)"
        case .device(let id): return "device \(id)"
        case .line(let id): return "line \(id)"
        case .signal(let id): return "signal \(id)"
        case .gateway(let id): return "gateway \(id)"
        case .backupGateway(let id): return "backup_gateway \(id)"
        }
    }

    /// The id without the kind word.
    public var id: String {
        switch self {
        case .sensor(let id), .device(let id), .line(let id), .signal(let id), .gateway(let id), .backupGateway(let id): return id
        }
    }
}

/// The kinds of fault a scenario can schedule.
public enum FaultKind: String, Sendable, Hashable, CaseIterable {
    // Sensor
    case stuck, drift, bias, spike, noise, dropout
    // Device or line
    case delay, timeout, exception, corrupt, disconnect
    // Signal
    case excursion

    /// Which target kinds accept this fault.
    public var targetKinds: [String] {
        switch self {
        case .stuck, .drift, .bias, .spike, .noise, .dropout: return ["sensor"]
        case .exception: return ["device", "gateway", "backup_gateway"]
        case .delay, .timeout, .disconnect: return ["device", "line", "gateway", "backup_gateway"]
        case .corrupt: return ["device", "line"]
        case .excursion: return ["signal"]
        }
    }
}

/// The numbers a fault takes; which ones a kind uses is documented in `hil/README.md`.
public struct FaultParameters: Sendable, Hashable {
    /// Stuck: the level (default: the value at onset). Bias: the offset. Excursion: the level the signal holds.
    public var value: Double?
    /// Drift and excursion: rate of change per second of simulation time.
    public var ratePerSecond: Double?
    /// Spike and bias: the offset; noise: the extra standard deviation; excursion: an offset.
    public var magnitude: Double?
    /// Exception and dropout: the Modbus exception code (default 4, slave device failure).
    public var code: Int?
    /// Delay: the reply delay (device) or the mid-frame gap (line). Disconnect: a timed disconnection.
    public var milliseconds: Int?
    /// Corrupt: frames to corrupt at onset (default 1 when no probability is given).
    public var frames: Int?
    /// Corrupt: the probability each frame is corrupted while the fault lasts.
    public var probability: Double?
    /// Spike: the number of replies that carry it (the next N reads of the point from onset),
    /// instead of a time window whose sample count depends on the poll phase.
    public var samples: Int?

    public init(value: Double? = nil, ratePerSecond: Double? = nil, magnitude: Double? = nil, code: Int? = nil,
                milliseconds: Int? = nil, frames: Int? = nil, probability: Double? = nil, samples: Int? = nil) {
        self.value = value
        self.ratePerSecond = ratePerSecond
        self.magnitude = magnitude
        self.code = code
        self.milliseconds = milliseconds
        self.frames = frames
        self.probability = probability
        self.samples = samples
    }
}

/// One fault of a scenario's timeline: applied when the controller reaches cycle `at`, removed at `until`.
public struct ScheduledFault: Sendable, Hashable {
    public var at: UInt64
    /// Removal cycle; nil keeps the fault to the end (a spike defaults to one cycle).
    public var until: UInt64?
    public var target: FaultTarget
    public var kind: FaultKind
    public var parameters: FaultParameters

    public init(at: UInt64, until: UInt64? = nil, target: FaultTarget, kind: FaultKind, parameters: FaultParameters = FaultParameters()) {
        self.at = at
        self.until = until
        self.target = target
        self.kind = kind
        self.parameters = parameters
    }

    /// The cycle the fault is removed at, if ever.
    public var endCycle: UInt64? { until ?? (kind == .spike ? at + 1 : nil) }
}

/// Why a fault cannot be applied to a rig.
public enum FaultInjectionError: Error, Sendable, Hashable, CustomStringConvertible {
    case unknownTarget(FaultTarget)
    case unsupported(FaultTarget, FaultKind, String)

    public var description: String {
        switch self {
        case .unknownTarget(let t): return "\(t): no such \(String(describing: t).split(separator: " ")[0]) in the plant or rig"
        case .unsupported(let t, let k, let why): return "\(k.rawValue) on \(t): \(why)"
        }
    }
}

/// Applies scheduled faults to a simulated rig (real-time `SimulatedRig` or virtual-time
/// `VirtualRig`) through its fault API, and removes them again.
///
/// Several faults on one point are merged (stuck wins; biases, drifts and noise add), so
/// overlapping faults compose and removing one leaves the others in force. Thread-safe.
public final class FaultInjector: @unchecked Sendable {
    public let rig: any FaultableRig
    private let lock = NSLock()
    // Guarded by `lock`: the point overrides each active fault contributes, by fault index.
    private var pointFaults: [PointKey: [Int: PointOverride]] = [:]

    public init(rig: any FaultableRig) {
        self.rig = rig
    }

    /// Simulation time now.
    private var modelNanoseconds: UInt64 {
        let now = rig.nowNanoseconds
        return now > rig.epochNanoseconds ? now - rig.epochNanoseconds : 0
    }

    /// Checks that a fault can be applied to this rig without applying it.
    public func validate(_ fault: ScheduledFault) throws(FaultInjectionError) {
        _ = try resolve(fault)
    }

    private enum Resolved {
        case point(PointKey, PointConfig, any FaultableDevice)
        /// The simulators of the paths hit (primary, backup or both) and the primary's serial line.
        case device([any FaultableDevice], (any FaultableLine)?)
        case line(any FaultableLine)
        case signal(String)
        case gpio(MockGPIOChip, offset: Int, activeLow: Bool)
    }

    private func resolve(_ fault: ScheduledFault) throws(FaultInjectionError) -> Resolved {
        let t = fault.target
        let plant = rig.original
        switch t {
        case .sensor(let id):
            guard let sensor = plant.sensors.first(where: { $0.id == id }) else { throw .unknownTarget(t) }
            switch sensor.source {
            case .gpio:
                guard let input = rig.gpioInput(sensor: id) else {
                    throw .unsupported(t, fault.kind, "the rig has no mock GPIO chip for this input (does the plant name a board?)")
                }
                guard [.stuck, .dropout, .spike, .noise].contains(fault.kind) else {
                    throw .unsupported(t, fault.kind, "a GPIO input takes stuck, dropout, spike or noise")
                }
                return .gpio(input.chip, offset: input.offset, activeLow: input.activeLow)
            case .point(let deviceID, let pointID):
                guard let device = rig.faultableDevice(deviceID), let point = device.config.points.first(where: { $0.id == pointID }) else {
                    throw .unknownTarget(t)
                }
                return .point(PointKey(device: deviceID, point: pointID), point, device)
            }
        case .device(let id):
            guard let device = rig.faultableDevice(id) else { throw .unknownTarget(t) }
            var line: (any FaultableLine)?
            if case .rtu(let s) = device.config.transport { line = rig.faultableLine(s.port) }
            if fault.kind == .corrupt, line == nil {
                throw .unsupported(t, fault.kind, "corruption needs a serial line; a TCP device has none")
            }
            return .device([device] + (rig.faultableBackupDevice(id).map { [$0] } ?? []), line)
        case .gateway(let id):
            guard let device = rig.faultableDevice(id) else { throw .unknownTarget(t) }
            if case .rtu(let s) = device.config.transport {
                guard let line = rig.faultableLine(s.port) else { throw .unknownTarget(t) }
                return .line(line)
            }
            return .device([device], nil)
        case .backupGateway(let id):
            guard let device = rig.faultableDevice(id) else { throw .unknownTarget(t) }
            guard let backup = rig.faultableBackupDevice(id) else {
                throw .unsupported(t, fault.kind, "device \(id) has no backup path (backup: or backup_port:)")
            }
            if case .rtu(let s)? = device.config.backup {
                guard let line = rig.faultableLine(s.port) else { throw .unknownTarget(t) }
                return .line(line)
            }
            return .device([backup], nil)
        case .line(let id):
            guard let line = rig.faultableLine(id) else { throw .unknownTarget(t) }
            return .line(line)
        case .signal(let name):
            guard rig.model.hasSignal(name) else { throw .unknownTarget(t) }
            return .signal(name)
        }
    }

    /// Applies fault number `index` of a timeline (the index keys its removal).
    public func apply(_ fault: ScheduledFault, index: Int) throws(FaultInjectionError) {
        let p = fault.parameters
        switch try resolve(fault) {
        case .point(let key, let point, let device):
            let t = modelNanoseconds
            switch fault.kind {
            case .stuck:
                let level = p.value ?? rig.model.value(of: key, atNanoseconds: t) ?? 0
                setPointFault(key, index, .stuck(at: level))
            case .bias: setPointFault(key, index, .bias(p.value ?? p.magnitude ?? 0))
            case .spike:
                if let n = p.samples {
                    rig.model.setSampleSpike(p.magnitude ?? p.value ?? 0, samples: n, for: key)
                } else {
                    setPointFault(key, index, .bias(p.magnitude ?? p.value ?? 0))
                }
            case .drift: setPointFault(key, index, .drift(ratePerSecond: p.ratePerSecond ?? 0, fromNanoseconds: t))
            case .noise: setPointFault(key, index, .noise(p.magnitude ?? 0))
            case .dropout:
                device.injectException(InjectedException(code: exceptionCode(p), addresses: point.address...(point.endAddress - 1)))
            default: throw .unsupported(fault.target, fault.kind, "not a sensor fault")
            }
        case .device(let devices, let line):
            for device in devices {
                switch fault.kind {
                case .delay: device.injectReplyDelay(milliseconds: p.milliseconds ?? 0)
                case .timeout: device.injectNoReply(true)
                case .exception: device.injectException(InjectedException(code: exceptionCode(p)))
                case .disconnect: device.injectDisconnect(milliseconds: p.milliseconds)
                case .corrupt: if device === devices[0] { corrupt(line!, p) }
                default: throw .unsupported(fault.target, fault.kind, "not a device fault")
                }
            }
        case .line(let line):
            switch fault.kind {
            case .corrupt: corrupt(line, p)
            case .timeout, .disconnect: line.injectBreak(milliseconds: p.milliseconds)
            case .delay: line.injectGap(milliseconds: p.milliseconds ?? 0)
            default: throw .unsupported(fault.target, fault.kind, "not a line fault")
            }
        case .signal(let name):
            guard fault.kind == .excursion else { throw .unsupported(fault.target, fault.kind, "a signal takes only excursion") }
            rig.model.setSignalOverride(SignalOverride(holdAt: p.value, offset: p.magnitude ?? 0,
                                                       ratePerSecond: p.ratePerSecond ?? 0, onsetNanoseconds: modelNanoseconds),
                                        forSignal: name)
        case .gpio(let chip, let offset, let activeLow):
            switch fault.kind {
            case .stuck:
                // `value` is the logical value the input sticks at (default: what it reads now).
                let logical = p.value.map { $0 != 0 } ?? (chip.isHigh(offset) != activeLow)
                chip.setLevel(offset, high: logical != activeLow)
            case .dropout:
                chip.failReads(offset, with: .io(errno: 5))
            case .spike:
                // One pulse of `milliseconds` (default 20 ms): the input flips and comes back.
                let now = rig.nowNanoseconds
                let width = UInt64(max(1, p.milliseconds ?? 20)) * 1_000_000
                chip.injectBounce(offset, togglesAtNanoseconds: [now, now &+ width])
            case .noise:
                // Chatter: the input flips every `milliseconds` (default 5 ms) for `samples` flips (default 40).
                let now = rig.nowNanoseconds
                let every = UInt64(max(1, p.milliseconds ?? 5)) * 1_000_000
                let flips = max(2, (p.samples ?? 40) / 2 * 2)
                chip.injectBounce(offset, togglesAtNanoseconds: (0..<flips).map { now &+ UInt64($0) &* every })
            default:
                throw .unsupported(fault.target, fault.kind, "a GPIO input takes stuck, dropout, spike or noise")
            }
        }
    }

    /// Removes fault number `index` (what `apply` did, and only that).
    public func remove(_ fault: ScheduledFault, index: Int) throws(FaultInjectionError) {
        switch try resolve(fault) {
        case .point(let key, _, let device):
            // A sample-counted spike ends by itself after its N replies.
            if fault.kind == .dropout {
                device.injectException(nil)
            } else if !(fault.kind == .spike && fault.parameters.samples != nil) {
                setPointFault(key, index, nil)
            }
        case .device(let devices, let line):
            for device in devices {
                switch fault.kind {
                case .delay: device.injectReplyDelay(milliseconds: 0)
                case .timeout: device.injectNoReply(false)
                case .exception: device.injectException(nil)
                case .disconnect: device.endInjectedDisconnect()
                case .corrupt: line?.injectCorruption(probability: 0); line?.injectCorruption(frames: 0)
                default: break
                }
            }
        case .line(let line):
            switch fault.kind {
            case .corrupt: line.injectCorruption(probability: 0); line.injectCorruption(frames: 0)
            case .timeout, .disconnect: line.clearInjectedBreak()
            case .delay: line.injectGap(milliseconds: 0)
            default: break
            }
        case .signal(let name):
            rig.model.clearSignalOverride(forSignal: name)
        case .gpio(let chip, let offset, let activeLow):
            switch fault.kind {
            case .dropout: chip.failReads(offset, with: nil)
            case .stuck: chip.setLevel(offset, high: activeLow) // back to rest: inactive
            default: break // a pulse and chatter end by themselves
            }
        }
    }

    private func exceptionCode(_ p: FaultParameters) -> ModbusExceptionCode {
        p.code.flatMap { ModbusExceptionCode(rawValue: UInt8(clamping: $0)) } ?? .serverDeviceFailure
    }

    private func corrupt(_ line: any FaultableLine, _ p: FaultParameters) {
        if let probability = p.probability {
            line.injectCorruption(probability: probability)
        } else {
            line.injectCorruption(frames: p.frames ?? 1)
        }
    }

    /// Sets (or with nil removes) one fault's contribution to a point and installs the merge.
    private func setPointFault(_ key: PointKey, _ index: Int, _ override: PointOverride?) {
        lock.withLock {
            var faults = pointFaults[key] ?? [:]
            faults[index] = override
            pointFaults[key] = faults.isEmpty ? nil : faults
            guard !faults.isEmpty else {
                rig.model.clearOverride(for: key)
                return
            }
            var merged = PointOverride()
            for i in faults.keys.sorted() {
                let o = faults[i]!
                if let s = o.stuckAt { merged.stuckAt = s }
                merged.addedBias += o.addedBias
                merged.scale *= o.scale
                merged.extraNoise = (merged.extraNoise * merged.extraNoise + o.extraNoise * o.extraNoise).squareRoot()
                if o.driftPerSecond != 0 {
                    // Two drifts: keep the earlier onset and add the rates (close enough for scenarios).
                    merged.driftOnsetNanoseconds = merged.driftPerSecond == 0 ? o.driftOnsetNanoseconds
                        : min(merged.driftOnsetNanoseconds, o.driftOnsetNanoseconds)
                    merged.driftPerSecond += o.driftPerSecond
                }
            }
            rig.model.setOverride(merged, for: key)
        }
    }
}
