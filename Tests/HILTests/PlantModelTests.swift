import Foundation
import Testing
import HIL
import VigilCore

@Suite("Plant model")
struct PlantModelTests {
    let pressureA = PointKey(device: "pump-plc", point: "discharge_pressure_a")
    let pressureB = PointKey(device: "pump-plc", point: "discharge_pressure_b")
    let waterTemp = PointKey(device: "rtu-temps", point: "water_temp_b")

    private func seconds(_ s: Double) -> UInt64 { UInt64(s * 1e9) }

    @Test func sameSeedGivesSameSequence() {
        let a = PlantModel(plant: Fixture.plant, seed: 42)
        let b = PlantModel(plant: Fixture.plant, seed: 42)
        let times = stride(from: 0.0, to: 60, by: 0.7).map(seconds)
        // Ask b in reverse order: the value must not depend on the order of questions.
        let fromA = times.map { a.value(of: waterTemp, atNanoseconds: $0)! }
        let fromB = times.reversed().map { b.value(of: waterTemp, atNanoseconds: $0)! }.reversed()
        #expect(fromA == Array(fromB))
        #expect(times.map { a.value(of: pressureA, atNanoseconds: $0)! } == times.map { b.value(of: pressureA, atNanoseconds: $0)! })
    }

    @Test func differentSeedGivesDifferentNoise() {
        let a = PlantModel(plant: Fixture.plant, seed: 1)
        let b = PlantModel(plant: Fixture.plant, seed: 2)
        #expect(a.value(of: pressureA, atNanoseconds: seconds(3)) != b.value(of: pressureA, atNanoseconds: seconds(3)))
    }

    @Test func redundantSensorsSeeTheSameProcessWithTheirOwnNoise() {
        let m = PlantModel(plant: Fixture.plant, seed: 7)
        for s in [1.0, 10, 25] {
            let a = m.value(of: pressureA, atNanoseconds: seconds(s))!
            let b = m.value(of: pressureB, atNanoseconds: seconds(s))!
            let process = 6.0 + 0.4 * sin(2 * Double.pi * s / 40)
            #expect(a != b)
            #expect(abs(a - process) < 0.08)  // 8 sigma of the 0.01 bar noise
            #expect(abs(b - process) < 0.08)
        }
    }

    @Test func waveformsHaveTheirShapes() {
        func plant(_ spec: SignalSpec) -> (PlantModel, PointKey) {
            let p = PointConfig(id: "p", function: .input, address: 0, type: .float32, simulation: PointSimulation(source: .inline(spec)))
            let d = DeviceConfig(id: "d", transport: .tcp(host: "127.0.0.1", port: 0), points: [p])
            return (PlantModel(plant: PlantConfig(name: "x", devices: [d])), PointKey(device: "d", point: "p"))
        }
        let (sine, k) = plant(SignalSpec(shape: .sine, base: 10, amplitude: 2, periodSeconds: 8))
        #expect(abs(sine.value(of: k, atNanoseconds: seconds(2))! - 12) < 1e-9)
        #expect(abs(sine.value(of: k, atNanoseconds: seconds(6))! - 8) < 1e-9)
        let (ramp, _) = plant(SignalSpec(shape: .ramp, base: 3, amplitude: 0.5, periodSeconds: 120))
        #expect(abs(ramp.value(of: k, atNanoseconds: seconds(0))! - 3) < 1e-9)
        #expect(abs(ramp.value(of: k, atNanoseconds: seconds(60))! - 3.25) < 1e-9)
        #expect(abs(ramp.value(of: k, atNanoseconds: seconds(120))! - 3) < 1e-9)  // sawtooth wraps
        let (square, _) = plant(SignalSpec(shape: .square, base: 0, amplitude: 1, periodSeconds: 10))
        #expect(square.value(of: k, atNanoseconds: seconds(2)) == 1)
        #expect(square.value(of: k, atNanoseconds: seconds(7)) == -1)
        let (constant, _) = plant(SignalSpec(shape: .constant, base: 65))
        #expect(constant.value(of: k, atNanoseconds: seconds(1234)) == 65)
    }

    @Test func randomWalkStaysWithinItsAmplitude() {
        let m = PlantModel(plant: Fixture.plant, seed: 3)
        let values = stride(from: 0.0, to: 900, by: 0.5).map { m.value(of: PointKey(device: "tank", point: "none"), atNanoseconds: seconds($0)) }
        #expect(values.allSatisfy { $0 == nil })  // unknown point: nothing drives it
        // The signal itself, without the point's noise: water_temp_b minus noise is within 18.5 ± 0.5.
        let walk = stride(from: 0.0, to: 900, by: 0.5).map { m.value(of: waterTemp, atNanoseconds: seconds($0))! }
        #expect(walk.allSatisfy { abs($0 - 18.5) < 0.5 + 0.05 * 8 })
        #expect(Set(walk.map { ($0 * 100).rounded() }).count > 10)  // it does wander
    }

    @Test func overridesStickBiasAndScaleAPoint() {
        let m = PlantModel(plant: Fixture.plant, seed: 1)
        let t = seconds(5)
        let clean = m.value(of: pressureA, atNanoseconds: t)!
        m.setOverride(.stuck(at: 3.3), for: pressureA)
        #expect(m.value(of: pressureA, atNanoseconds: t) == 3.3)
        #expect(m.value(of: pressureA, atNanoseconds: seconds(30)) == 3.3)
        m.setOverride(PointOverride(addedBias: 1.5, scale: 2), for: pressureA)
        #expect(abs(m.value(of: pressureA, atNanoseconds: t)! - (clean * 2 + 1.5)) < 1e-12)
        #expect(m.value(of: pressureB, atNanoseconds: t) != m.value(of: pressureA, atNanoseconds: t))
        m.clearOverride(for: pressureA)
        #expect(m.value(of: pressureA, atNanoseconds: t) == clean)
        // An override also drives a point the simulation leaves alone.
        let setpoint = PointKey(device: "pump-plc", point: "pump1_speed_setpoint")
        #expect(!m.drives(setpoint))
        m.setOverride(.stuck(at: 40), for: setpoint)
        #expect(m.drives(setpoint))
    }

    @Test func csvReplayInterpolatesLinearlyOrInStepsAtTheGivenRate() throws {
        let csv = "time,p,other\n0,1.0,9\n10,2.0,9\n20,4.0,9\n"
        let mapping = ["p": pressureA]
        let linear = try CSVReplay(text: csv, file: "t.csv", mapping: mapping)
        #expect(linear.value(of: pressureA, atNanoseconds: seconds(5)) == 1.5)
        #expect(linear.value(of: pressureA, atNanoseconds: seconds(15)) == 3.0)
        #expect(linear.value(of: pressureA, atNanoseconds: seconds(99)) == 4.0)
        #expect(linear.value(of: pressureB, atNanoseconds: seconds(5)) == nil)
        let step = try CSVReplay(text: csv, file: "t.csv", mapping: mapping, interpolation: .step)
        #expect(step.value(of: pressureA, atNanoseconds: seconds(15)) == 2.0)
        let fast = try CSVReplay(text: csv, file: "t.csv", mapping: mapping, rate: 2)
        #expect(fast.value(of: pressureA, atNanoseconds: seconds(5)) == 2.0)
        let looping = try CSVReplay(text: csv, file: "t.csv", mapping: mapping, loops: true)
        #expect(looping.value(of: pressureA, atNanoseconds: seconds(25)) == 1.5)

        let m = PlantModel(plant: Fixture.plant)
        m.attach(linear)
        #expect(m.value(of: pressureA, atNanoseconds: seconds(5)) == 1.5)
    }

    @Test func csvReplayReadsAFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("hil-replay-\(UUID().uuidString).csv")
        try "time,level\r\n0,3.0\r\n2,3.5\r\n".write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        let key = PointKey(device: "tank-io", point: "tank_level")
        let r = try CSVReplay(contentsOf: url, mapping: ["level": key])
        #expect(r.value(of: key, atNanoseconds: seconds(1)) == 3.25)
    }

    @Test func malformedCSVNamesFileLineAndColumn() {
        let mapping = ["p": pressureA]
        func error(_ text: String) -> CSVReplayError? {
            do { _ = try CSVReplay(text: text, file: "plant.csv", mapping: mapping); return nil }
            catch let e as CSVReplayError { return e }
            catch { return nil }
        }
        let notANumber = error("time,p\n0,1\n1,abc\n")
        #expect(notANumber?.file == "plant.csv")
        #expect(notANumber?.line == 3)
        #expect(notANumber?.column == "p")
        #expect(notANumber?.description.contains("plant.csv:3 column p") == true)
        #expect(error("time,p\n0,1\n1\n")?.line == 3)
        #expect(error("time,p\n5,1\n5,2\n")?.column == "time")
        #expect(error("t,p\n0,1\n")?.column == "time")
        #expect(error("time,q\n0,1\n")?.column == "p")
        #expect(error("time,p\n")?.reason.contains("no data rows") == true)
    }
}

/// Closed-loop process signals: integrated on a fixed grid from the outputs as the devices hold them.
@Suite struct ProcessSignalTests {
    func plant(_ signals: [ProcessSignal]) -> PlantConfig {
        var plant = PlantConfig(name: "loop", devices: [DeviceConfig(id: "plc", transport: .tcp(host: "127.0.0.1", port: 502), points: [
            PointConfig(id: "y", function: .input, address: 0, type: .float32, simulation: PointSimulation(source: .signal("y"))),
            PointConfig(id: "z", function: .input, address: 2, type: .float32, simulation: PointSimulation(source: .signal("z"))),
        ])], outputs: [OutputConfig(id: "speed", target: .point(device: "plc", point: "s"), initial: 0, safe: 2)])
        plant.processSignals = signals
        return plant
    }

    @Test func aFirstOrderLagFollowsTheOutputWithItsTimeConstant() {
        let model = PlantModel(plant: plant([ProcessSignal(name: "y", law: .firstOrder(timeConstantSeconds: 1),
                                                           terms: [.init(input: .output("speed"), gain: 1)])]))
        #expect(model.isClosedLoop)
        let y = PointKey(device: "plc", point: "y")
        #expect(model.value(of: y, atNanoseconds: 1_000_000_000)! > 1.26 && model.value(of: y, atNanoseconds: 1_000_000_000)! < 1.27,
                "before a reader: the output's safe value (2) drives it: 2 × (1 − e⁻¹)")
        let speed = ManagedValue(10.0)
        model.readOutputs { $0 == "speed" ? speed.value : nil }
        let after = model.value(of: y, atNanoseconds: 2_000_000_000)!
        let expected = 10 - (10 - 2 * (1 - exp(-1.0))) * exp(-1.0)
        #expect(abs(after - expected) < 1e-9, "\(after) vs \(expected)")
    }

    @Test func anIntegratorIsHeldWithinItsBounds() {
        let model = PlantModel(plant: plant([
            ProcessSignal(name: "y", law: .firstOrder(timeConstantSeconds: 0.5), terms: [.init(input: .output("speed"), gain: 1)]),
            ProcessSignal(name: "z", law: .integrator(min: 0, max: 3), terms: [.init(input: .signal("y"), gain: -1)], offset: 1, initial: 2),
        ]))
        model.readOutputs { _ in 0 }
        let z = PointKey(device: "plc", point: "z")
        #expect(model.value(of: z, atNanoseconds: 1_500_000_000)! == 3, "fills at 1/s from 2 and stops at its maximum")
        model.readOutputs { _ in 5 }
        #expect(model.value(of: z, atNanoseconds: 10_000_000_000)! == 0, "drains at up to 4/s and stops at its minimum")
    }
}

/// A value a test changes while a closure reads it.
final class ManagedValue<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}
