import VigilCore

/// PID control in positional form with the integral kept in output units.
///
/// - Derivative on the measurement, not the error: a setpoint step moves P only, with no derivative kick.
/// - Output clamped to `[outputMin, outputMax]`.
/// - Anti-windup by conditional integration: while the unclamped output is beyond a limit, the integral
///   does not move further in that direction, so the output leaves saturation as soon as the error
///   reverses instead of first unwinding an integral built up during saturation.
/// - Bumpless transfer: in manual the operator's value passes through (clamped to the output limits) and the
///   integral tracks it (`integral = output − P − D`), so switching to auto continues from the manual output.
///   Switching to manual starts the manual value at the current output.
/// - An unusable input (not `.good`, or not finite) or a non-positive `dt` holds the output without integrating.
///   The first good input (at start or after a hold) continues from the held output: the integral is set so the
///   output does not jump, and no derivative is computed across the gap.
public struct PIDController: Sendable, Hashable {
    public private(set) var law: PIDLaw
    public private(set) var mode: ControlMode
    /// The value commanded by the last step (or the initial value before the first step).
    public private(set) var output: Double
    /// The operator's value, used in manual mode.
    public private(set) var manualOutput: Double
    /// Integral term, in output units.
    public private(set) var integral: Double
    /// True while the last input was unusable and the output is held.
    public private(set) var isHolding: Bool
    /// -1 held at `outputMin`, +1 at `outputMax`, 0 inside the limits (auto mode only).
    public private(set) var saturation: Int8

    private var lastMeasurement: Double
    private var hasLastMeasurement: Bool
    /// P and D of the last step, so `track` can set the integral that reproduces an applied output.
    private var lastP: Double = 0
    private var lastD: Double = 0

    /// Starts at `initialOutput` (clamped); the first good input continues from it without a jump.
    public init(law: PIDLaw, mode: ControlMode = .auto, initialOutput: Double) {
        self.law = law
        self.mode = mode
        let start = PIDController.clamp(initialOutput.isFinite ? initialOutput : law.outputMin, law)
        output = start
        manualOutput = start
        integral = start
        isHolding = false
        saturation = 0
        lastMeasurement = 0
        hasLastMeasurement = false
    }

    /// +1 for reverse action (output rises when the measurement is below setpoint), −1 for direct.
    private var sign: Double { law.action == .reverse ? 1 : -1 }

    private static func clamp(_ value: Double, _ law: PIDLaw) -> Double {
        min(max(value, law.outputMin), law.outputMax)
    }

    /// Changes the setpoint; takes effect on the next step (P moves, D does not kick).
    public mutating func setSetpoint(_ setpoint: Double) {
        law.setpoint = setpoint
    }

    /// Changes the gains without a bump: the integral is in output units, so it keeps its meaning.
    public mutating func setGains(kp: Double, ki: Double, kd: Double) {
        law.kp = kp
        law.ki = ki
        law.kd = kd
    }

    /// Switches mode. To manual: the manual value starts at the current output. To auto: the integral
    /// already tracks the manual output, so the next step continues from it.
    public mutating func setMode(_ newMode: ControlMode) {
        guard newMode != mode else { return }
        if newMode == .manual { manualOutput = output }
        mode = newMode
    }

    /// The operator's value for manual mode (clamped to the output limits when applied).
    public mutating func setManualOutput(_ value: Double) {
        if value.isFinite { manualOutput = value }
    }

    /// One cycle of `dtSeconds`; returns the commanded value.
    @discardableResult
    public mutating func step(_ reading: Reading, dtSeconds: Double) -> Double {
        let usable = isUsable(reading)
        isHolding = !usable
        if mode == .manual {
            output = PIDController.clamp(manualOutput, law)
            saturation = 0
            if usable {
                let dt = dtSeconds > 0 && dtSeconds.isFinite ? dtSeconds : 0
                lastP = proportional(reading.value)
                lastD = derivative(reading.value, dtSeconds: dt)
                integral = output - lastP - lastD
                remember(reading.value)
            } else {
                hasLastMeasurement = false
            }
            return output
        }
        guard usable, dtSeconds > 0, dtSeconds.isFinite else {
            if !usable { hasLastMeasurement = false }
            return output
        }
        let measurement = reading.value
        let error = sign * (law.setpoint - measurement)
        let p = proportional(measurement)
        let d = derivative(measurement, dtSeconds: dtSeconds)
        if !hasLastMeasurement {
            // First good input since start or a hold: continue from the held output instead of jumping by P.
            integral = output - p
        }
        remember(measurement)
        lastP = p
        lastD = d

        // Conditional integration: the integral moves toward a limit only until the output reaches it,
        // never beyond (and is not pulled back if P or D alone already pushed the output past it).
        let step = law.ki * error * dtSeconds
        if step > 0 {
            integral = Swift.max(integral, Swift.min(integral + step, law.outputMax - p - d))
        } else if step < 0 {
            integral = Swift.min(integral, Swift.max(integral + step, law.outputMin - p - d))
        }
        let unclamped = p + integral + d
        if unclamped > law.outputMax {
            output = law.outputMax
            saturation = 1
        } else if unclamped < law.outputMin {
            output = law.outputMin
            saturation = -1
        } else {
            output = unclamped
            saturation = 0
        }
        return output
    }

    /// Something downstream (an interlock, safe state, an operator's value) wrote `appliedOutput` instead of this
    /// loop's output: continue from it on the next step rather than winding up against an output it does not drive.
    public mutating func track(appliedOutput: Double) {
        guard mode == .auto, appliedOutput.isFinite else { return }
        let applied = PIDController.clamp(appliedOutput, law)
        guard applied != output else { return }
        output = applied
        integral = applied - lastP - lastD
        saturation = 0
    }

    private func proportional(_ measurement: Double) -> Double {
        law.kp * sign * (law.setpoint - measurement)
    }

    private func derivative(_ measurement: Double, dtSeconds: Double) -> Double {
        guard hasLastMeasurement, dtSeconds > 0 else { return 0 }
        return -sign * law.kd * (measurement - lastMeasurement) / dtSeconds
    }

    private mutating func remember(_ measurement: Double) {
        lastMeasurement = measurement
        hasLastMeasurement = true
    }
}
