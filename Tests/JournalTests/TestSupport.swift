import Foundation
import Journal
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

func event(_ kind: EventKind = .detection, _ severity: EventSeverity, mono: UInt64 = 0, subject: Int32 = -1,
           code: Int32 = 0, value: Double = 0) -> ControllerEvent {
    ControllerEvent(kind: kind, severity: severity, wallNanoseconds: 1_700_000_000_000_000_000 + Int64(mono),
                    monotonicNanoseconds: mono, subject: subject, code: code, value: value)
}
