/// How the scan cycle runs. Decoded from a plant file's `cycle:` block.
public struct CycleConfig: Sendable, Hashable {
    /// Base period of the cycle; devices poll at multiples of it. 1 ms ... 10 s.
    public var periodMicroseconds: Int
    /// This many overruns in a row is an overrun storm: a fault that puts outputs in safe state.
    public var overrunStormLimit: Int
    /// The watchdog declares the cycle stalled after this many periods without a completed cycle.
    public var watchdogPeriods: Int
    public var realtime: RealtimeConfig

    public init(periodMicroseconds: Int = 10_000, overrunStormLimit: Int = 5, watchdogPeriods: Int = 10,
                realtime: RealtimeConfig = RealtimeConfig()) {
        self.periodMicroseconds = periodMicroseconds
        self.overrunStormLimit = overrunStormLimit
        self.watchdogPeriods = watchdogPeriods
        self.realtime = realtime
    }
}

/// Optional real-time settings for the cycle thread. Each is best effort: without permission
/// Vigil logs one warning and runs without it.
public struct RealtimeConfig: Sendable, Hashable {
    /// `SCHED_FIFO` priority 1...99; nil keeps the normal scheduler.
    public var schedFIFOPriority: Int?
    /// `mlockall(MCL_CURRENT | MCL_FUTURE)`: no page faults in the cycle.
    public var lockMemory: Bool
    /// CPU to pin the cycle thread to; nil uses the board's `cycle_cpu`, if any.
    public var cpu: Int?
    /// Timer slack of the cycle thread (`PR_SET_TIMERSLACK`); the kernel default is 50 µs.
    public var timerSlackNanoseconds: Int
    /// Wake this long before the deadline and spin the rest (trades CPU for lateness). 0 = off.
    public var spinMicroseconds: Int

    public init(schedFIFOPriority: Int? = nil, lockMemory: Bool = false, cpu: Int? = nil,
                timerSlackNanoseconds: Int = 1, spinMicroseconds: Int = 0) {
        self.schedFIFOPriority = schedFIFOPriority
        self.lockMemory = lockMemory
        self.cpu = cpu
        self.timerSlackNanoseconds = timerSlackNanoseconds
        self.spinMicroseconds = spinMicroseconds
    }
}

/// Manual or automatic operation of a control loop.
public enum ControlMode: String, Sendable, Hashable, CaseIterable {
    case auto, manual
}

/// A control law: what it reads, what it drives and how.
public struct ControlConfig: Sendable, Hashable {
    public var id: String
    /// A sensor id or a redundancy group id (control uses the group's value).
    public var input: String
    /// An output id.
    public var output: String
    public var law: ControlLaw
    /// The mode at start; a loop in manual holds its output until an operator moves it.
    public var mode: ControlMode

    public init(id: String, input: String, output: String, law: ControlLaw, mode: ControlMode = .auto) {
        self.id = id
        self.input = input
        self.output = output
        self.law = law
        self.mode = mode
    }
}

public enum ControlLaw: Sendable, Hashable {
    case onOff(OnOffLaw)
    case pid(PIDLaw)
}

/// Two-position control with hysteresis.
///
/// When `onAt < offAt` the output switches on at or below `onAt` and off at or above `offAt`
/// (filling a tank); when `onAt > offAt`, on at or above `onAt` and off at or below `offAt`
/// (cooling). Between the two it keeps its state.
public struct OnOffLaw: Sendable, Hashable {
    public var onAt: Double
    public var offAt: Double
    public var onValue: Double
    public var offValue: Double

    public init(onAt: Double, offAt: Double, onValue: Double = 1, offValue: Double = 0) {
        self.onAt = onAt
        self.offAt = offAt
        self.onValue = onValue
        self.offValue = offValue
    }
}

/// PID control with output limits, anti-windup and bumpless manual/auto transfer.
public struct PIDLaw: Sendable, Hashable {
    public enum Action: String, Sendable, Hashable, CaseIterable {
        /// Output rises when the measurement is below setpoint (heating, pumping up pressure).
        case reverse
        /// Output rises when the measurement is above setpoint (cooling).
        case direct
    }
    public var setpoint: Double
    /// Proportional gain (output units per input unit).
    public var kp: Double
    /// Integral gain (output units per input unit per second).
    public var ki: Double
    /// Derivative gain (output units per input unit per second of change); on the measurement.
    public var kd: Double
    public var outputMin: Double
    public var outputMax: Double
    public var action: Action

    public init(setpoint: Double, kp: Double, ki: Double = 0, kd: Double = 0, outputMin: Double = 0, outputMax: Double = 100,
                action: Action = .reverse) {
        self.setpoint = setpoint
        self.kp = kp
        self.ki = ki
        self.kd = kd
        self.outputMin = outputMin
        self.outputMax = outputMax
        self.action = action
    }
}
