import ArgumentParser
import Console
import EdgeNode
import Foundation
import Logging
import MQTT
import Journal
import Policy
import Runtime
import VigilCore

/// Starts the Sparkplug B edge node of a plant with an `mqtt:` section, or exits with a clear message.
/// Relative file names (credentials, TLS) are read from beside the plant file. A host's write to an
/// output goes through the console's own checks for an engineer's `output` command and is audited
/// like one, with source `mqtt:<client id>`.
func startEdgeNode(_ config: MQTTConfig, controller: Controller, plantFile: String, logger: Logger,
                   shippedModel: String = shippedPolicyModelPath) throws -> EdgeNodeService {
    let directory = (plantFile as NSString).deletingLastPathComponent
    func resolve(_ path: String) -> String { path.hasPrefix("/") || directory.isEmpty ? path : directory + "/" + path }
    var config = config
    config.tlsCAFile = config.tlsCAFile.map(resolve)
    config.tlsCertFile = config.tlsCertFile.map(resolve)
    config.tlsKeyFile = config.tlsKeyFile.map(resolve)
    do {
        let credentials = try config.credentialsFile.map { path throws(EdgeNodeError) in try MQTTCredentials.load(path: resolve(path)) }
        // Fleet models are validated on the shipped learning set's golden set.
        var learningSet: LearningSet?
        if config.fleet?.modelKey != nil {
            let path = LearningSetFile.path(forModel: shippedModel)
            do { learningSet = try LearningSetFile.decode(DurableFile.read(path)) } catch {
                logger.error("fleet: learning set \(path) not readable (\(error)): fleet models cannot be validated")
            }
        }
        let service = try EdgeNodeService(controller: controller, config: config, credentials: credentials, logger: logger,
                                          hostWrite: config.writableOutputs.isEmpty ? nil : hostWrites(controller: controller, clientID: config.clientID),
                                          fleetLearningSet: learningSet)
        try service.start()
        logger.notice("MQTT: Sparkplug edge node \(config.groupID)/\(config.edgeNodeID) starting; brokers \(config.brokers.joined(separator: ", "))")
        return service
    } catch {
        logger.critical("cannot start the MQTT edge node: \(error)")
        throw ExitCode(1)
    }
}

/// Host writes as an engineer's console `output` command: the console's checks (a PID loop to put in
/// manual, the output's range, safe state, interlocks), the kernel's own refusal of a held output, and
/// an audit row for every write, carried out or not. Called from the edge node's thread only.
func hostWrites(controller: Controller, clientID: String) -> HostWriteHandler {
    let console = ControllerConsole(controller: controller, store: controller.modelRegistry)
    let actor = ConsoleActor(source: "mqtt:\(clientID)", role: .engineer)
    return { output, value, topic in
        let outcome = console.output(name: output, value: value, by: actor)
        _ = console.audit(by: actor, command: "DCMD \(topic) output \(output) \(value)",
                          result: (outcome.isDone ? "ok: " : "refused: ") + outcome.text)
        return outcome.isDone ? nil : outcome.text
    }
}
