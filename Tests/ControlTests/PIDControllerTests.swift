import Control
import Testing
import VigilCore

@Suite struct PIDControllerTests {
    let dt = 0.01

    @Test func stepResponseSettlesAtSetpoint() {
        var pid = PIDController(law: PIDLaw(setpoint: 6, kp: 20, ki: 40, outputMin: 0, outputMax: 100), initialOutput: 0)
        var plant = FirstOrderPlant(value: 0, gain: 0.1, timeConstantSeconds: 2)
        var pv = 0.0
        for _ in 0..<3000 { pv = plant.step(input: pid.step(good(pv), dtSeconds: dt), dtSeconds: dt) }
        #expect(abs(pv - 6) < 0.01)
        #expect(abs(pid.output - 60) < 0.5)
        #expect(pid.saturation == 0)
    }

    @Test func outputIsClampedToItsLimits() {
        var pid = PIDController(law: PIDLaw(setpoint: 6, kp: 1000, outputMin: 10, outputMax: 90), initialOutput: 50)
        pid.step(good(5), dtSeconds: dt)
        #expect(pid.step(good(0), dtSeconds: dt) == 90)
        #expect(pid.saturation == 1)
        #expect(pid.step(good(12), dtSeconds: dt) == 10)
        #expect(pid.saturation == -1)
    }

    @Test func directActionRaisesOutputWhenMeasurementIsAboveSetpoint() {
        var pid = PIDController(law: PIDLaw(setpoint: 20, kp: 2, action: .direct), initialOutput: 0)
        pid.step(good(20), dtSeconds: dt)
        #expect(pid.step(good(25), dtSeconds: dt) == 10)
    }

    /// Held saturated for 60 s with the error one way, then the error reverses: the anti-windup
    /// controller leaves saturation at once; the naive one stays saturated while its integral unwinds.
    @Test func antiWindupLeavesSaturationPromptlyWhenErrorReverses() {
        let law = PIDLaw(setpoint: 6, kp: 2, ki: 1, outputMin: 0, outputMax: 100)
        var pid = PIDController(law: law, initialOutput: 0)
        var naive = NaivePID(law: law)
        for _ in 0..<6000 {   // measurement stuck at 0: error +6 for 60 s
            pid.step(good(0), dtSeconds: dt)
            _ = naive.step(0, dtSeconds: dt)
        }
        #expect(pid.output == 100)
        #expect(pid.integral <= 100)
        var pidCycles = 0, naiveCycles = 0
        var pidLeft = false, naiveLeft = false
        for _ in 0..<100_000 where !(pidLeft && naiveLeft) {   // measurement now 8: error −2
            if !pidLeft { pidLeft = pid.step(good(8), dtSeconds: dt) < 100; pidCycles += 1 }
            if !naiveLeft { naiveLeft = naive.step(8, dtSeconds: dt) < 100; naiveCycles += 1 }
        }
        #expect(pidCycles <= 2)
        #expect(naiveCycles > 10_000)   // ~ (360 - 4) / 2 s
    }

    @Test func noDerivativeKickOnSetpointStep() {
        var pid = PIDController(law: PIDLaw(setpoint: 5, kp: 1, ki: 0, kd: 10, outputMin: -1000, outputMax: 1000), initialOutput: 0)
        for _ in 0..<10 { pid.step(good(5), dtSeconds: dt) }
        let before = pid.output
        pid.setSetpoint(7)
        let after = pid.step(good(5), dtSeconds: dt)
        // Only P moves (kp × 2); a derivative on the error would add kd × 2 / dt = 2000.
        #expect(abs(after - before - 2) < 1e-9)
    }

    @Test func derivativeActsOnMeasurementChange() {
        var pid = PIDController(law: PIDLaw(setpoint: 5, kp: 0, ki: 0, kd: 1, outputMin: -1000, outputMax: 1000), initialOutput: 0)
        pid.step(good(5), dtSeconds: dt)
        #expect(abs(pid.step(good(5.1), dtSeconds: dt) - (-10)) < 1e-6)
    }

    @Test func manualToAutoTransferIsBumpless() {
        let law = PIDLaw(setpoint: 6, kp: 10, ki: 5, outputMin: 0, outputMax: 100)
        var pid = PIDController(law: law, mode: .manual, initialOutput: 0)
        pid.setManualOutput(42)
        for _ in 0..<100 { #expect(pid.step(good(4), dtSeconds: dt) == 42) }   // operator's value passes through
        pid.setMode(.auto)
        let first = pid.step(good(4), dtSeconds: dt)
        #expect(abs(first - 42) < 0.2)   // only one cycle of integration: ki × 2 × 0.01
    }

    @Test func autoToManualStartsAtCurrentOutput() {
        var pid = PIDController(law: PIDLaw(setpoint: 6, kp: 10, ki: 5), initialOutput: 0)
        for _ in 0..<50 { pid.step(good(5), dtSeconds: dt) }
        let output = pid.output
        pid.setMode(.manual)
        #expect(pid.step(good(5), dtSeconds: dt) == output)
    }

    @Test func manualValueIsClampedToOutputLimits() {
        var pid = PIDController(law: PIDLaw(setpoint: 6, kp: 1, outputMin: 0, outputMax: 100), mode: .manual, initialOutput: 0)
        pid.setManualOutput(150)
        #expect(pid.step(good(6), dtSeconds: dt) == 100)
    }

    @Test func badInputHoldsOutputWithoutIntegrating() {
        var pid = PIDController(law: PIDLaw(setpoint: 6, kp: 1, ki: 1), initialOutput: 0)
        for _ in 0..<10 { pid.step(good(5), dtSeconds: dt) }
        let output = pid.output, integral = pid.integral
        for _ in 0..<1000 { #expect(pid.step(bad, dtSeconds: dt) == output) }
        #expect(pid.isHolding)
        #expect(pid.integral == integral)
        // Back on a good input it continues from the held output.
        #expect(abs(pid.step(good(5), dtSeconds: dt) - output) < 0.02)
        #expect(!pid.isHolding)
    }

    @Test func firstGoodInputContinuesFromInitialOutput() {
        var pid = PIDController(law: PIDLaw(setpoint: 6, kp: 10, ki: 1), initialOutput: 30)
        #expect(abs(pid.step(good(2), dtSeconds: dt) - 30) < 0.1)
    }
}
