import Config
import Foundation
import Testing
import VigilCore

/// `sections:` decode to `SectionConfig`; broken sections are reported with file, line and key path.
@Suite struct SectionConfigTests {
    static let plantBody = """
        devices:
          - id: plc
            transport: tcp
            host: 127.0.0.1
            port: 502
            points:
              - { id: p, function: input, address: 0, type: float32 }
              - { id: f, function: input, address: 2, type: float32 }
              - { id: i, function: input, address: 4, type: float32 }
        sensors:
          - { id: PT-1, device: plc, point: p, range: [0, 16] }
          - { id: FT-1, device: plc, point: f, range: [0, 200] }
          - { id: IT-1, device: plc, point: i, range: [0, 60] }
        redundancy_groups:
          - { id: pressure, primary: PT-1, backups: [IT-1] }

        """

    func write(_ yaml: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-\(UUID().uuidString).yaml").path
        try yaml.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func load(_ yaml: String) throws -> PlantConfig {
        let path = try write(yaml)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try ConfigLoader.loadPlant(path: path).plant
    }

    /// The diagnostics of a plant that must not load, with the temporary file name replaced by `F`.
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

    @Test func noSectionsByDefault() throws {
        #expect(try load("name: x\n" + Self.plantBody).sections.isEmpty)
    }

    @Test func sectionDecodesWithDefaultsAndOverrides() throws {
        let plant = try load("name: x\n" + Self.plantBody + """
            sections:
              - { id: pump, sensors: [PT-1, FT-1, IT-1] }
              - id: line
                sensors: [PT-1, FT-1]
                training_samples: 500
                persistence: 5
                clear_persistence: 20
                variance_to_keep: 0.8
                false_alarm_rate: 0.0001
                update_lambda: 0
                refit_interval: 5000

            """)
        #expect(plant.sections == [
            SectionConfig(id: "pump", sensors: ["PT-1", "FT-1", "IT-1"]),
            SectionConfig(id: "line", sensors: ["PT-1", "FT-1"], trainingSamples: 500, persistence: 5, clearPersistence: 20,
                          varianceToKeep: 0.8, falseAlarmRate: 0.0001, updateLambda: 0, refitInterval: 5000),
        ])
        #expect(plant.sections[0].trainingSamples == 2000 && plant.sections[0].persistence == 3)
        #expect(plant.sections[0].lags == 0 && plant.sections[0].ewmaLambda == 0 && plant.sections[0].limits == .crossValidated)
        #expect(plant.sections[0].scaling == .standard && plant.sections[0].persistenceWindow == nil)
    }

    @Test func dynamicEWMAAndRunRuleKeysDecode() throws {
        let plant = try load("name: x\n" + Self.plantBody + """
            sections:
              - id: tep
                sensors: [PT-1, FT-1, IT-1]
                lags: 2
                scaling: robust
                limits: theoretical
                ewma_lambda: 0.05
                persistence: 2
                persistence_window: 5

            """)
        #expect(plant.sections == [
            SectionConfig(id: "tep", sensors: ["PT-1", "FT-1", "IT-1"], persistence: 2, persistenceWindow: 5, lags: 2, scaling: .robust,
                          limits: .theoretical, ewmaLambda: 0.05),
        ])
        // 2000 (or ten per model variable when more), plus the lags.
        #expect(plant.sections[0].trainingSamples == 2002)
    }

    @Test func trainingDefaultGrowsWithTheModelAndInSampleLimitsNeedTenOverAlpha() {
        #expect(SectionConfig(id: "s", sensors: (0..<52).map { "x\($0)" }, lags: 1).trainingSamples == 2001)
        #expect(SectionConfig(id: "s", sensors: (0..<64).map { "x\($0)" }, lags: 3).trainingSamples == 2563)
        #expect(SectionConfig(id: "s", sensors: ["a", "b"], falseAlarmRate: 0.001, limits: .inSample).trainingSamples == 10_000)
        #expect(SectionConfig.minimumTrainingSamples(sensorCount: 52, lags: 1) == 209)
    }

    @Test func badDynamicAndRunRuleValuesAreLocatedErrors() throws {
        let found = try diagnostics("name: x\n" + Self.plantBody + """
            sections:
              - { id: a, sensors: [PT-1, FT-1], lags: 40, scaling: fancy, limits: guessed }
              - { id: b, sensors: [PT-1, FT-1], persistence: 4, persistence_window: 3, ewma_lambda: 0.9 }
              - { id: c, sensors: [PT-1, FT-1], limits: in_sample, training_samples: 600 }

            """)
        #expect(found == [
            "F:18:43: sections[0].lags: found \"40\", expected an integer in 0...16",
            "F:18:56: sections[0].scaling: found \"fancy\", expected one of standard, robust",
            "F:18:71: sections[0].limits: found \"guessed\", expected one of theoretical, in_sample, cross_validated",
            "F:19:73: sections[1].persistence_window: found \"3\", expected an integer in 4...64 (at least persistence)",
            "F:19:89: sections[1].ewma_lambda: found \"0.9\", expected a weight in 0...0.5 (0: no EWMA statistics)",
            "F:20:74: sections[2].training_samples: found \"600\", expected an integer in 10000...10000000 (at least max(50, 2 × sensors × (lags + 1)) + lags, with in_sample limits also 10 / false_alarm_rate)",
        ])
    }

    @Test func trainingSecondsDecodesInsteadOfASampleCount() throws {
        let plant = try load("name: x\n" + Self.plantBody + """
            sections:
              - { id: pump, sensors: [PT-1, FT-1], training_seconds: 90.5 }

            """)
        #expect(plant.sections == [SectionConfig(id: "pump", sensors: ["PT-1", "FT-1"], trainingSeconds: 90.5)])
    }

    @Test func aBadTrainingTimeOrBothTrainingKeysAreLocatedErrors() throws {
        let found = try diagnostics("name: x\n" + Self.plantBody + """
            sections:
              - { id: a, sensors: [PT-1, FT-1], training_seconds: 0 }
              - { id: b, sensors: [PT-1, FT-1], training_seconds: soon }
              - { id: c, sensors: [PT-1, FT-1], training_samples: 500, training_seconds: 60 }

            """)
        #expect(found == [
            "F:18:55: sections[0].training_seconds: found \"0\", expected a number of seconds in (0, 1000000]",
            "F:19:55: sections[1].training_seconds: found \"soon\", expected a number of seconds in (0, 1000000]",
            "F:20:78: sections[2].training_seconds: found both training_samples and training_seconds, expected one of them: a section learns a number of samples or for a time",
        ])
    }

    @Test func brokenSectionsNameFileLineAndKeyPath() throws {
        let found = try diagnostics("name: x\n" + Self.plantBody + """
            sections:
              - { id: a, sensors: [PT-1], colour: red }
              - { id: a, sensors: [PT-1, PT-9, PT-1, pressure] }
              - { id: c, sensors: [PT-1, FT-1], training_samples: 10, persistence: many, false_alarm_rate: 0.7 }
              - { sensors: PT-1 }

            """)
        #expect(found == [
            "F:18:23: sections[0].sensors: found a list, expected at least 2 sensor ids: a section watches sensors together",
            "F:18:31: sections[0].colour: found unknown key \"colour\", expected one of id, sensors, training_samples, training_seconds, persistence, persistence_window, clear_persistence, variance_to_keep, false_alarm_rate, update_lambda, refit_interval, lags, scaling, limits, ewma_lambda",
            "F:19:11: sections[1].id: found \"a\" again (first at 18:11), expected a unique section id",
            "F:19:30: sections[1].sensors[1]: found \"PT-9\", expected a sensor id",
            "F:19:36: sections[1].sensors[2]: found sensor \"PT-1\" listed twice, expected each sensor once in a section",
            "F:19:42: sections[1].sensors[3]: found \"pressure\", expected a sensor id, not a redundancy group",
            "F:20:55: sections[2].training_samples: found \"10\", expected an integer in 50...10000000 (at least max(50, 2 × sensors × (lags + 1)) + lags)",
            "F:20:72: sections[2].persistence: found \"many\", expected an integer in 1...10000",
            "F:20:96: sections[2].false_alarm_rate: found \"0.7\", expected a probability in (0, 0.5)",
            "F:21:5: sections[3].id: found nothing, expected the section's id",
            "F:21:16: sections[3].sensors: found \"PT-1\", expected a list of sensor ids (at least 2)",
        ])
    }
}
