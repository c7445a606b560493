import VigilCore
import Foundation
import MQTT
import Synchronization
import Testing

/// Collects a client's events, as an owner's queue would.
final class EventLog: Sendable {
    private let events = Mutex<[MQTTEvent]>([])

    var handler: MQTTEventHandler { { [self] e in events.withLock { $0.append(e) } } }

    var all: [MQTTEvent] { events.withLock { $0 } }

    func clear() { events.withLock { $0.removeAll() } }

    var messages: [MQTTMessage] {
        all.compactMap { if case .message(let m) = $0 { return m } else { return nil } }
    }

    var delivered: Set<MQTTMessageID> {
        Set(all.compactMap { if case .delivered(let id) = $0 { return id } else { return nil } })
    }

    var connectedBrokers: [MQTTBrokerAddress] {
        all.compactMap { if case .connected(let b) = $0 { return b } else { return nil } }
    }

    var refusals: [MQTTRefusal] {
        all.compactMap { if case .connectionRefused(_, let r) = $0 { return r } else { return nil } }
    }

    var disconnections: [MQTTDisconnectReason] {
        all.compactMap { if case .disconnected(_, let r) = $0 { return r } else { return nil } }
    }

    func subscribed(_ id: MQTTMessageID) -> Bool {
        all.contains { if case .subscribed(id, _) = $0 { return true } else { return false } }
    }

    /// Polls until `condition` holds or `seconds` pass (generous: the machine is shared); returns whether it held.
    @discardableResult
    func wait(seconds: Double = 20, until condition: (EventLog) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition(self) { return true }
            usleep(10_000)
        }
        return condition(self)
    }
}

func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

/// A unique client id per test run, so parallel runs on one machine never take each other's sessions.
func clientID(_ name: String) -> String { "vigil-test-\(getpid())-\(name)" }
