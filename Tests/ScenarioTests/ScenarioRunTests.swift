import Testing
import Foundation
import HIL
import FoundationXML
@testable import Scenarios

/// End to end: the real controller on the simulated rig, driven through a scenario. Serialized so
/// two real-time cycles never share the machine's two cores.
@Suite(.serialized) struct ScenarioRunTests {
    @Test func aFaultFreeRunKeepsThePlantRunning() throws {
        let scenario = try ScenarioDecoder.load(path: scenarioPath("fault-free.yaml"))
        let result = try ScenarioRunner().run(scenario)
        for e in result.expectations { #expect(e.passed, "\(e.sentence)") }
        #expect(result.status == .passed)
        #expect(result.firstGoodCycle != nil)
        #expect(result.failovers.isEmpty && result.escalations.isEmpty)
        #expect(result.samples.count > Int(scenario.cycles) / 2)
    }

    @Test func aRealOverpressureTripsTheInterlockWithoutAFailoverAndIsReported() throws {
        let scenario = try ScenarioDecoder.load(path: scenarioPath("excursion-interlock.yaml"))
        let result = try ScenarioRunner().run(scenario)
        for e in result.expectations { #expect(e.passed, "\(e.sentence)") }
        #expect(result.status == .passed)
        #expect(result.injected == [InjectedRecord(target: "signal discharge_pressure", kind: "excursion",
                                                   startCycle: result.injected[0].startCycle, endCycle: result.injected[0].endCycle)])
        #expect(result.injected[0].startCycle >= 120 && result.injected[0].startCycle <= 122)
        // (Interlocks may trip on unread inputs while start-up's first round runs: the plant is safe then.)
        let trip = try #require(result.interlocks.first { $0.id == "discharge-high-high" && $0.tripped && $0.cycle >= (result.firstGoodCycle ?? 0) })
        #expect(trip.cycle >= 120 && trip.value > 10)

        // The report: JSON with the required keys, SVG well-formed with the fault window and a marker.
        let dir = NSTemporaryDirectory() + "vigil-hil-report-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let paths = try ScenarioReport.write(result, scenario: scenario, to: dir)
        #expect(paths.json.hasSuffix("/excursion-interlock.json") && paths.svg.hasSuffix("/excursion-interlock.svg"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: paths.json))) as? [String: Any])
        for key in ["injected", "detections", "diagnoses", "failovers", "repairs", "escalations", "expectations"] {
            #expect(json[key] is [Any], "\(key)")
        }
        let injected = try #require((json["injected"] as? [[String: Any]])?.first)
        #expect(Set(injected.keys) == ["target", "kind", "start_cycle", "end_cycle"])
        let expectation = try #require((json["expectations"] as? [[String: Any]])?.first)
        #expect(Set(expectation.keys) == ["passed", "sentence"])
        #expect(try ScenarioReport.json(result) == ScenarioReport.json(result))

        let svg = try Data(contentsOf: URL(fileURLWithPath: paths.svg))
        let checker = SVGChecker()
        let parser = XMLParser(data: svg)
        parser.delegate = checker
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(checker.classes.contains("fault-window"))
        #expect(checker.classes.contains("marker marker-interlock"))
        #expect(checker.classes.contains("trace"))
        #expect(checker.texts.contains { $0.contains("excursion signal discharge_pressure") })
        #expect(checker.texts.contains("cycle"))
    }

    @Test func aScenarioThatNeedsTheMonitorIsSkippedNotPassedWithoutOne() throws {
        let scenario = try ScenarioDecoder.load(path: scenarioPath("stuck-primary-failover.yaml"))
        let result = try ScenarioRunner(monitorAvailable: { _ in false }).run(scenario)
        #expect(result.status == .skipped)
        #expect(result.expectations.isEmpty)
        #expect(result.skipReason?.contains("monitor") == true)
    }
}

final class SVGChecker: NSObject, XMLParserDelegate {
    var classes: Set<String> = []
    var texts: [String] = []
    private var text = ""
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if let c = attributes["class"] { classes.insert(c) }
        text = ""
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "text" { texts.append(text) }
    }
}
