import Foundation
import Journal
import Kernel
import Monitor
import VigilCore

/// A fresh directory under the system temp dir, removed by `cleanup()`.
struct TemporaryDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-journal-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    func cleanup() { try? FileManager.default.removeItem(at: url) }
}

/// Names for the events these tests journal.
let testNames = SubjectTable(limits: ["tank.level.hi"], controls: ["level"], devices: ["plc"],
                             sensors: ["pump1.flow", "tank.level", "pump1.pressure"], groups: ["pressure"])
let testCodec = EventCodec(names: testNames)

/// An event of `severity` that carries `tag` in its value (read back with `tag(_:)`), at plant time `mono`.
func event(_ severity: EventSeverity, mono: UInt64 = 0, tag: Int32 = 0) -> TimedEvent {
    let e: ControllerEvent
    switch severity {
    case .debug: e = .alarm(AlarmChange(id: UInt64(max(0, tag)), key: AlarmKey(scope: .sensor, index: 0), state: .cleared,
                                        severity: .minor, shelved: false, removed: true))
    case .info: e = .limitCleared(limit: 0, value: Double(tag))
    case .warning: e = .controlHolding(control: 0, value: Double(tag))
    case .alarm: e = .limitCrossed(limit: 0, value: Double(tag))
    case .safety: e = .interlockTripped(limit: 0, value: Double(tag))
    }
    precondition(e.severity == severity)
    return TimedEvent(plantNanoseconds: mono, cycle: mono, event: e)
}

func tag(_ e: TimedEvent) -> Int32 { Int32(testCodec.encode(e.event).value) }
func tag(_ e: StoredEvent) -> Int32 { Int32(e.value) }
