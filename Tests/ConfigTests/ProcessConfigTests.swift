import Config
import Foundation
import Testing
import VigilCore

/// `simulation.process`: closed-loop signals the controller's outputs move, decoded and checked
/// with file, line and key path.
@Suite struct ProcessConfigTests {
    static let plant = """
        name: loop
        simulation:
          signals:
            - { name: demand, shape: sine, base: 0, amplitude: 1, period_s: 60 }
          process:
            - name: pressure
              law: first_order
              tau_s: 1.5
              inputs: [{ output: speed, gain: 0.08 }, { signal: demand, gain: -0.5 }]
              offset: 0.8
              initial: 0.8
            - name: level
              law: integrator
              inputs: [{ signal: pressure, gain: -0.001 }]
              initial: 3
              min: 0
              max: 6
        devices:
          - id: plc
            transport: tcp
            host: 127.0.0.1
            port: 502
            points:
              - { id: p, function: input, address: 0, type: float32, sim: { signal: pressure, noise: 0.01 } }
              - { id: l, function: input, address: 2, type: float32, sim: { signal: level } }
              - { id: s, function: holding, address: 100, type: uint16 }
        sensors:
          - { id: PT-1, device: plc, point: p, range: [0, 16] }
        outputs:
          - { id: speed, device: plc, point: s, initial: 0, safe: 0 }

        """

    func write(_ yaml: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func diagnostics(_ yaml: String) throws -> [String] {
        let path = try write(yaml)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try ConfigLoader.loadPlant(path: path)
            Issue.record("the plant loaded")
            return []
        } catch {
            return error.diagnostics.map { $0.description.replacingOccurrences(of: path, with: "F") }
        }
    }

    @Test func processSignalsDecodeInOrder() throws {
        let path = try write(Self.plant)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let plant = try ConfigLoader.loadPlant(path: path).plant
        #expect(plant.processSignals == [
            ProcessSignal(name: "pressure", law: .firstOrder(timeConstantSeconds: 1.5),
                          terms: [.init(input: .output("speed"), gain: 0.08), .init(input: .signal("demand"), gain: -0.5)],
                          offset: 0.8, initial: 0.8),
            ProcessSignal(name: "level", law: .integrator(min: 0, max: 6), terms: [.init(input: .signal("pressure"), gain: -0.001)],
                          initial: 3),
        ])
    }

    @Test func anUnknownOutputALaterSignalAndABadLawAreLocated() throws {
        let broken = Self.plant
            .replacingOccurrences(of: "{ output: speed, gain: 0.08 }", with: "{ output: sped, gain: 0.08 }")
            .replacingOccurrences(of: "[{ signal: pressure, gain: -0.001 }]", with: "[{ signal: pressure, gain: -0.001 }, { signal: later, gain: 1 }]")
            + """
            """
        var found = try diagnostics(broken)
        #expect(found.contains { $0.hasPrefix("F:9:") && $0.contains("simulation.process[0].inputs[0].output") && $0.contains("\"sped\"") })
        #expect(found.contains { $0.contains("simulation.process[1].inputs[1].signal") && $0.contains("\"later\"") })
        found = try diagnostics(Self.plant.replacingOccurrences(of: "law: integrator", with: "law: pid"))
        #expect(found.contains { $0.contains("simulation.process[1].law") && $0.contains("first_order or integrator") })
        found = try diagnostics(Self.plant.replacingOccurrences(of: "tau_s: 1.5", with: "tau_s: 0"))
        #expect(found.contains { $0.contains("simulation.process[0].tau_s") })
    }
}
