import VigilCore

func good(_ value: Double) -> Reading {
    Reading(value: value, timestampNanoseconds: 0, latencyNanoseconds: 0, quality: .good)
}

let bad = Reading(value: .nan, timestampNanoseconds: 0, latencyNanoseconds: 0, quality: .bad(.timeout))

/// A first-order process (gain, time constant) stepped with the controller's dt: deterministic.
struct FirstOrderPlant {
    var value: Double
    var gain: Double
    var timeConstantSeconds: Double

    mutating func step(input: Double, dtSeconds: Double) -> Double {
        value += (gain * input - value) * dtSeconds / timeConstantSeconds
        return value
    }
}

/// The textbook PID with no anti-windup, to compare against.
struct NaivePID {
    var law: PIDLaw
    var integral = 0.0
    var last: Double?

    mutating func step(_ measurement: Double, dtSeconds: Double) -> Double {
        let error = law.setpoint - measurement
        integral += law.ki * error * dtSeconds
        let d = last.map { -law.kd * (measurement - $0) / dtSeconds } ?? 0
        last = measurement
        return min(max(law.kp * error + integral + d, law.outputMin), law.outputMax)
    }
}
