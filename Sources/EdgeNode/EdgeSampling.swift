import Foundation
import Journal
import Kernel
import Runtime
import Sparkplug
import VigilCore

/// Turns what the controller shows (a snapshot, journal events) into what the edge node publishes.
public struct EdgeSampling: Sendable {
    /// Journal event kinds published: the monitor's findings and actions, alarm changes, safety.
    public static let monitorKinds: Set<EventKind> = [.detection, .diagnosis, .healthChanged, .failover, .failback, .repair, .escalation]
    public static let alarmKinds: Set<EventKind> = [.alarm, .limitCrossed, .limitCleared, .interlockTripped, .interlockCleared,
                                                    .safeStateEntered, .safeStateLeft, .safeOutputsForced]
    public static var publishedKinds: Set<EventKind> { monitorKinds.union(alarmKinds) }

    let codec: EventCodec
    let text: EventText

    public init(codec: EventCodec, names: SubjectTable) {
        self.codec = codec
        text = EventText(names: names)
    }

    /// The sample of a snapshot taken at `timestamp` (ms since the Unix epoch).
    public static func sample(_ s: ControllerSnapshot, modelVersion: Int?, timestamp: UInt64) -> EdgeSample {
        EdgeSample(timestamp: timestamp,
                   sensorValues: s.sensors.map(\.value),
                   sensorQualities: s.sensors.map { EdgeSample.qualityText($0.quality) },
                   sensorHealth: s.health.map(\.description),
                   groupValues: s.groups.map(\.value),
                   groupActiveSources: s.activeSources.map { $0 >= 0 && $0 < s.sensorIDs.count ? s.sensorIDs[$0] : "" },
                   outputs: s.outputs,
                   safeStateReasons: s.safeStateReasons.map(\.description),
                   trippedInterlocks: s.trippedInterlocks,
                   activeAlarms: s.activeAlarms, annunciatedAlarms: s.annunciatedAlarms,
                   trustScore: s.trustScore, modelVersion: modelVersion)
    }

    /// The published form of a journal event: one JSON object with the journal id, kind, severity,
    /// subject, cycle and the event in words.
    public func event(_ e: StoredEvent) -> EdgeEvent {
        let words = e.event(codec).map(text.describe) ?? "\(e.kindName) \(e.subject ?? "")"
        var object: [String: Any] = ["id": e.id, "kind": e.kindName, "severity": "\(e.severity)", "text": words]
        if let subject = e.subject { object["subject"] = subject }
        if let cycle = e.cycle { object["cycle"] = cycle }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        let isAlarm = EventKind(rawValue: e.kindName).map(Self.alarmKinds.contains) ?? false
        return EdgeEvent(json: String(decoding: data, as: UTF8.self), isAlarm: isAlarm,
                         timestamp: UInt64(max(0, e.wallNanoseconds / 1_000_000)))
    }
}
