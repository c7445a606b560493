import ArgumentParser
import HIL

/// `vigil-bench mqtt-transport`: publish → subscribe latency of `MosquittoClient` against
/// `mosquitto_pub` on the same loopback broker in the same run (see `MQTTTransportBench`).
struct MQTTTransportBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mqtt-transport",
        abstract: "Publish → mosquitto_sub latency p50/p99 on a loopback Mosquitto: MosquittoClient against mosquitto_pub -l, and their ratio.")

    @Option(help: "Messages per round and publisher.")
    var messages = 2000
    @Option(help: "Rounds (the publishers alternate).")
    var rounds = 3
    @Option(help: "Pause between messages, in microseconds.")
    var intervalMicroseconds: UInt32 = 500

    func run() throws {
        let broker = try MosquittoBroker()
        defer { broker.stop() }
        try MQTTTransportBench(broker: broker, messages: messages, intervalMicroseconds: intervalMicroseconds).run(rounds: rounds)
    }
}
