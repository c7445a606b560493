import Fleet
import FleetLink
import Foundation
import Journal
import HIL
import MQTT
import Policy
import Synchronization
import Testing
import VigilCore

/// `vigil fleet learn --broker` as an operator runs it: a child process on a real mosquitto on
/// loopback, fed feedback samples by a plain client; it publishes the signed model retained, prints
/// the verdict that comes back and, with `--once`, exits; without it, SIGTERM ends it cleanly.
@Suite(.serialized) struct FleetLearnCommandTests {
    static let root = FleetOverBrokerTests.root.path
    static let binary = root + "/.build/debug/vigil"
    static let group = "cli-fleet"

    final class Child {
        let process = Process()
        let outPath = NSTemporaryDirectory() + "vigil-fleet-out-\(UUID().uuidString)"
        let errPath = NSTemporaryDirectory() + "vigil-fleet-err-\(UUID().uuidString)"
        init(_ arguments: [String]) throws {
            _ = FileManager.default.createFile(atPath: outPath, contents: nil)
            _ = FileManager.default.createFile(atPath: errPath, contents: nil)
            process.executableURL = URL(fileURLWithPath: FleetLearnCommandTests.binary)
            process.arguments = arguments
            process.currentDirectoryURL = URL(fileURLWithPath: FleetLearnCommandTests.root)
            process.standardOutput = FileHandle(forWritingAtPath: outPath)
            process.standardError = FileHandle(forWritingAtPath: errPath)
            try process.run()
        }
        var stdout: String { (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
        /// Waits for the exit (a bound, not a synchronisation); nil when it is still running.
        func exitStatus(within seconds: Double) -> Int32? {
            guard FleetOverBrokerTests.eventually(within: seconds, { !process.isRunning }) else { return nil }
            return process.terminationStatus
        }
        func kill() { if process.isRunning { process.terminate() } }
        func remove() { try? FileManager.default.removeItem(atPath: outPath); try? FileManager.default.removeItem(atPath: errPath) }
    }

    /// A plain client that keeps what arrives.
    final class Peer: Sendable {
        let events = Events()
        let client: MosquittoClient
        init(_ url: String, id: String) throws {
            let events = self.events
            client = MosquittoClient(options: MQTTConnectOptions(clientID: id), events: { e in events.box.withLock { $0.append(e) } })
            try client.connect(to: try MQTTBrokerAddress(parsing: url), will: nil)
            #expect(FleetOverBrokerTests.eventually(within: 30) { self.events.box.withLock { $0.contains { if case .connected = $0 { true } else { false } } } })
        }
        func messages(on topic: String) -> [MQTTMessage] {
            events.box.withLock { $0.compactMap { if case .message(let m) = $0, m.topic == topic { m } else { nil } } }
        }
    }

    /// Site A's 20 "false alarm" verdicts on the slow-line pattern, as its controller publishes them.
    static func siteASamples() -> [FleetFeedbackSample] {
        let shipped = FleetOverBrokerTests.shipped
        let rows = FleetOverBrokerTests.slowLine(FleetOverBrokerTests.learningSet.replay.filter { $0.label == 0 }, count: 40, seed: 99)
        let scratch = shipped.makeScratch()
        return (0..<20).map { e in
            let window = Array(rows[(2 * e)..<(2 * e + 2)])
            let said = window[0].withUnsafeBufferPointer { shipped.decide($0, scratch: scratch).diagnosis }
            return FleetFeedbackSample(site: "A", eventID: Int64(100 + e), sensor: "PT-10\(e % 3)", window: window, label: "healthy",
                                       modelSaid: shipped.schema.classes[said], bucket: said == 0 ? .success : .failure,
                                       modelVersion: 1, fleetVersion: 0, wallNanoseconds: 1_000 + Int64(e))
        }
    }

    static func keygen() throws -> (directory: String, key: String, publicKey: Ed25519PublicKey) {
        let directory = NSTemporaryDirectory() + "vigil-fleet-cli-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let child = try Child(["fleet", "keygen", "--out", directory + "/fleet.key"])
        defer { child.remove() }
        #expect(child.exitStatus(within: 60) == 0, "\(child.stderr)")
        let printed = child.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return (directory, directory + "/fleet.key", try Ed25519PublicKey(base64: printed))
    }

    @Test(.enabled(if: MosquittoBroker.isInstalled && FileManager.default.isExecutableFile(atPath: binary), "needs mosquitto and the vigil binary"))
    func theLearnerPublishesASignedModelRetainedAndPrintsTheVerdictsThenStops() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        let (directory, key, publicKey) = try Self.keygen()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let learner = try Child(["fleet", "learn", "--broker", broker.url, "--group", Self.group, "--key", key,
                                 "--min-samples", "20", "--seed", "7", "--once", "--out", directory + "/fleet-v1.vgfe"])
        defer { learner.kill(); learner.remove() }
        let peer = try Peer(broker.url, id: "site-a-stand-in")
        defer { peer.client.destroy() }
        _ = try peer.client.subscribe(to: FleetTopics.models(group: Self.group), qos: .atLeastOnce)
        // Feedback is not retained: send it again until the learner has heard it (it counts each sample once).
        let samples = Self.siteASamples()
        let models = FleetTopics.models(group: Self.group)
        #expect(FleetOverBrokerTests.eventually(within: 300) {
            if !peer.messages(on: models).isEmpty { return true }
            for s in samples {
                _ = try? peer.client.publish(topic: FleetTopics.feedback(group: Self.group, site: "A"), payload: s.encode(), qos: .atLeastOnce, retain: false)
            }
            usleep(500_000)
            return !peer.messages(on: models).isEmpty
        }, "no model published: \(learner.stderr)")
        let message = try #require(peer.messages(on: models).first)
        let envelope = try FleetModelEnvelope.decode(message.payload)
        #expect(envelope.verifies(with: publicKey) && envelope.header.fleetVersion == 1)
        #expect(envelope.header.lineage == [FleetSiteContribution(site: "A", trainingSamples: 32, goldenSamples: 8)])

        // Site A answers; with --once the learner then exits and prints it.
        let report = FleetVerdictReport(site: "A", fleetVersion: 1, deployed: true, localVersion: 2, reason: "deployed as v2 (from v1)",
                                        goldenSamples: 1600, goldenBefore: 0.944, goldenAfter: 0.951, corrections: 0, correctionsLearned: 0,
                                        wallNanoseconds: 5)
        _ = try peer.client.publish(topic: FleetTopics.verdicts(group: Self.group, site: "A"), payload: report.encode(), qos: .atLeastOnce, retain: true)
        let status = learner.exitStatus(within: 120)
        #expect(status == 0, "\(learner.stderr)")
        #expect(try DurableFile.read(directory + "/fleet-v1.vgfe") == message.payload, "--out holds the published model")
        #expect(learner.stdout.contains("1 fleet models published") && learner.stdout.contains("site A: fleet model v1 deployed as v2"), "\(learner.stdout)")
        #expect(learner.stderr.contains("site A deployed fleet v1") && learner.stderr.contains("every site answered fleet v1"))
        #expect(!learner.stderr.contains(try String(contentsOfFile: key, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)),
                "the private key is never logged")

        // Without --once it runs until SIGTERM, then disconnects and exits cleanly.
        let second = try Child(["fleet", "learn", "--broker", broker.url, "--group", Self.group, "--key", key])
        defer { second.kill(); second.remove() }
        #expect(FleetOverBrokerTests.eventually(within: 60) { second.stderr.contains("holds fleet model v1 signed with this key") }, "\(second.stderr)")
        second.process.terminate()
        #expect(second.exitStatus(within: 60) == 0, "\(second.stderr)")
        #expect(second.stderr.contains("fleet learner: stopped"))
        #expect(second.stdout.contains("0 fleet models published") && second.stdout.contains("site A: fleet model v1 deployed"), "\(second.stdout)")
    }
}
