import ArgumentParser
import Foundation
import Fleet
import Journal
import Policy
import Runtime
import CommandSupport
import FleetLink
import Logging
import MQTT
import VigilCore
import EdgeNode

/// `vigil fleet`: learning across sites (docs/FLEET.md): the signing key, the fleet learner, and
/// checking or admitting a signed fleet model.
struct FleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Learning across sites: signing key, fleet learner, signed fleet models.",
        subcommands: [FleetKeygenCommand.self, FleetExportCommand.self, FleetLearnCommand.self, FleetVerifyCommand.self, FleetAdmitCommand.self]
    )
}

/// `vigil fleet keygen --out FILE`: a new Ed25519 key; FILE (mode 0600) holds the private key,
/// FILE.pub the public one, which is printed (it goes into the plant files).
struct FleetKeygenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen",
        abstract: "Make the fleet's Ed25519 signing key; print the public key for the plant files.")

    @Option(help: ArgumentHelp("The private key file to create (mode 0600; FILE.pub gets the public key).", valueName: "FILE"))
    var out: String

    func run() throws {
        do {
            let key = try Ed25519PrivateKey.generate()
            try FleetKeyFile.writePrivateKey(key, to: out)
            try FleetKeyFile.writePublicKey(key.publicKey, to: out + ".pub")
            print(key.publicKey.base64)
            printToStandardError("vigil fleet keygen: private key in \(out) (mode 0600, keep it on the fleet learner), public key in \(out).pub")
        } catch {
            printToStandardError("vigil fleet keygen: \(error)")
            throw ExitCode(1)
        }
    }
}

/// `vigil fleet export`: a controller's operator feedback as fleet feedback sample files.
struct FleetExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write this controller's operator feedback as fleet feedback samples, one file per verdict, for `vigil fleet learn --from`.")

    @OptionGroup var location: ModelLocation
    @Option(help: "This site's id.")
    var site: String
    @Option(help: ArgumentHelp("Directory to write the sample files into (SITE-feedback-N.vgfs; existing ones are replaced).", valueName: "DIR"))
    var out: String

    func run() throws {
        do {
            let samples = try location.store().fleetFeedbackSamples(site: site)
            try DurableFile.makeDirectories(out)
            for (i, s) in samples.enumerated() { try DurableFile.write(s.encode(), to: "\(out)/\(site)-feedback-\(i + 1).vgfs") }
            print("vigil fleet export: \(samples.count) verdicts (\(samples.reduce(0) { $0 + $1.window.count }) feature vectors) of site \(site) in \(out)")
        } catch let e as ValidationError {
            throw e
        } catch {
            printToStandardError("vigil fleet export: \(error)")
            throw ExitCode(1)
        }
    }
}

/// `vigil fleet learn`: a fleet learning run over feedback sample files, or the fleet learner on a broker.
struct FleetLearnCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "learn",
        abstract: "Train a fleet model from the shipped learning set and every site's feedback; sign and write or publish it.",
        discussion: """
        With --from DIR: reads every file of DIR as a fleet feedback sample (docs/FLEET.md; files that \
        are not one are reported and skipped), trains a candidate from the parent model with the \
        device's incremental learner, validates it on the shipped golden set and every site's held-back \
        feedback, and writes the signed envelope to --out only when it is no worse than its parent \
        anywhere (exit status 2 when it is refused).
        With --broker URL --group G: subscribes to vigil/fleet/G/feedback/+ (start it before or beside \
        the controllers: feedback is not retained), trains as above whenever --min-samples new samples \
        have arrived (--from DIR adds stored ones), publishes each signed model retained on \
        vigil/fleet/G/models and logs the verdicts on vigil/fleet/G/verdicts/+. Runs until SIGTERM or \
        SIGINT; --once stops after the first publication has been answered by every site known.
        """)

    @Option(help: ArgumentHelp("Directory of feedback sample files.", valueName: "DIR"))
    var from: String?
    @Option(help: ArgumentHelp("The fleet's private key file (mode 0600).", valueName: "FILE"))
    var key: String
    @Option(help: ArgumentHelp("Write the signed fleet model here (with --broker: the last one published, when it stops).", valueName: "FILE"))
    var out: String?
    @Option(help: ArgumentHelp("The broker (mqtt://host:port or mqtts://…) to learn over.", valueName: "URL"))
    var broker: String?
    @Option(help: "The fleet's group (the plant files' mqtt.group_id).")
    var group: String?
    @Option(help: ArgumentHelp("Broker user name and password file (two lines, mode 0600).", valueName: "FILE"))
    var credentials: String?
    @Option(help: ArgumentHelp("With an mqtts:// broker: the CA file its certificate must chain to (default: the system's CAs).", valueName: "FILE"))
    var tlsCA: String?
    @Option(help: "With --broker: new samples needed before a training run.")
    var minSamples = 10
    @Flag(help: "With --broker: stop after the first publication has been answered (or 120 s).")
    var once = false
    @Option(help: ArgumentHelp("The shipped model (its learning set is read beside it).", valueName: "FILE"))
    var model = shippedPolicyModelPath
    @Option(help: ArgumentHelp("The current fleet model (a signed envelope) to train from instead of the shipped one.", valueName: "FILE"))
    var parent: String?
    @Option(help: "The new fleet version (default: the parent's + 1).")
    var version: UInt32?
    @Option(help: "Seed of the learner.")
    var seed: UInt64 = 1

    func validate() throws {
        if broker == nil {
            guard from != nil, out != nil else { throw ValidationError("give --from DIR and --out FILE, or --broker URL and --group G") }
        } else {
            guard let group else { throw ValidationError("--broker needs --group") }
            if let problem = FleetTopics.idProblem(group) { throw ValidationError("--group: \(problem)") }
            guard minSamples >= 1 else { throw ValidationError("--min-samples must be at least 1") }
            guard version == nil else { throw ValidationError("--version is not used with --broker: each model is its parent's version + 1") }
        }
    }

    func run() throws {
        func fail(_ message: String) -> ExitCode {
            printToStandardError("vigil fleet learn: \(message)")
            return ExitCode(1)
        }
        let privateKey: Ed25519PrivateKey
        do { privateKey = try FleetKeyFile.readPrivateKey(key) } catch { throw fail("\(error)") }
        let shipped: PolicyModel, set: LearningSet
        do { shipped = try ModelFile.decode(DurableFile.read(model)) } catch { throw fail("\(model): \(error)") }
        let setPath = LearningSetFile.path(forModel: model)
        do { set = try LearningSetFile.decode(DurableFile.read(setPath)) } catch { throw fail("\(setPath): \(error)") }
        var parentModel = shipped, parentVersion: UInt32 = 0
        if let parent {
            do {
                let envelope = try FleetModelEnvelope.decode(DurableFile.read(parent))
                guard envelope.verifies(with: privateKey.publicKey) else { throw fail("\(parent): not signed with this key") }
                parentModel = try envelope.model()
                parentVersion = envelope.header.fleetVersion
            } catch let e as ExitCode { throw e } catch { throw fail("\(parent): \(error)") }
        }
        let (samples, problems) = from.map(Self.readSamples) ?? ([], [])
        for p in problems { printToStandardError("vigil fleet learn: skipped \(p)") }
        if let broker, let group {
            try learnOverBroker(broker, group: group, shipped: shipped, set: set, key: privateKey,
                                parent: self.parent == nil ? nil : (parentModel, parentVersion), samples: samples)
            return
        }
        guard let out else { throw fail("--out is needed") }
        let input = FleetLearningInput(parent: parentModel, parentFleetVersion: parentVersion, learningSet: set, samples: samples,
                                       fleetVersion: version ?? parentVersion + 1, createdWallNanoseconds: Int64(Date().timeIntervalSince1970 * 1e9),
                                       seed: seed, reference: shipped)
        print("vigil fleet learn: \(samples.count) feedback samples from \(Set(samples.map(\.site)).count) sites, parent fleet v\(parentVersion)")
        let publication: FleetPublication
        do { publication = try runFleetLearning(input, key: privateKey) } catch {
            if case .refused(_, let header) = error { print(header.summary) }
            printToStandardError("vigil fleet learn: \(error)")
            throw ExitCode(2)
        }
        for i in publication.notes.ignored { printToStandardError("vigil fleet learn: ignored \(i)") }
        print(publication.envelope.header.summary)
        let bytes = publication.envelope.encode()
        do { try DurableFile.write(bytes, to: out) } catch { throw fail("\(out): \(error)") }
        print("wrote \(out) (\(bytes.count) bytes, signed by \(privateKey.publicKey.base64))")
    }

    /// The fleet learner on a broker until SIGTERM/SIGINT (or, with --once, the first answered publication).
    func learnOverBroker(_ url: String, group: String, shipped: PolicyModel, set: LearningSet, key: Ed25519PrivateKey,
                         parent: (PolicyModel, UInt32)?, samples: [FleetFeedbackSample]) throws {
        let logger = makeLogger("vigil-fleet", level: .info)
        let address: MQTTBrokerAddress
        do { address = try MQTTBrokerAddress(parsing: url) } catch {
            printToStandardError("vigil fleet learn: --broker \(url): \(error)")
            throw ExitCode(1)
        }
        let login: MQTTCredentials?
        do { login = try credentials.map { path throws(EdgeNodeError) in try MQTTCredentials.load(path: path) } } catch {
            printToStandardError("vigil fleet learn: \(error)")
            throw ExitCode(1)
        }
        Shutdown.install()
        let clock = SystemMonotonicClock()
        let options = MQTTConnectOptions(clientID: "vigil-fleet-learner-\(group)-\(getpid())", credentials: login,
                                         tls: MQTTTLSOptions(caFile: tlsCA))
        let learner = FleetBrokerLearner(
            settings: FleetBrokerLearner.Settings(group: group, broker: address, minSamples: minSamples, seed: seed, once: once),
            shipped: shipped, learningSet: set, key: key, parent: parent.map { (model: $0.0, fleetVersion: $0.1) }, preloaded: samples,
            logger: logger, wall: { Int64(Date().timeIntervalSince1970 * 1e9) }, monotonic: { clock.nowNanoseconds() },
            makeClient: { handler in MosquittoClient(options: options, events: handler) })
        let watcher = Thread {
            Shutdown.sleep(nanoseconds: nil)
            learner.stop()
        }
        watcher.start()
        learner.run()
        let progress = learner.progress
        print("vigil fleet learn: \(progress.samples) samples, \(progress.published.count) fleet models published, \(progress.verdicts.count) verdicts")
        for v in progress.verdicts { print("  \(v)") }
        if let out, let last = progress.lastEnvelope {
            do { try DurableFile.write(last, to: out) } catch {
                printToStandardError("vigil fleet learn: \(out): \(error)")
                throw ExitCode(1)
            }
            print("wrote \(out) (the last fleet model published, \(last.count) bytes)")
        }
    }

    /// Every regular file of `dir` (sorted by name) decoded as a feedback sample, and what was not one.
    static func readSamples(_ dir: String) -> ([FleetFeedbackSample], [String]) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return ([], ["\(dir): cannot list the directory"]) }
        var samples: [FleetFeedbackSample] = [], problems: [String] = []
        for name in names.sorted() where !name.hasPrefix(".") {
            let path = dir + "/" + name
            do { samples.append(try FleetFeedbackSample.decode(DurableFile.read(path))) } catch { problems.append("\(path): \(error)") }
        }
        return (samples, problems)
    }
}

/// `vigil fleet verify --key KEY FILE`: a fleet model's header and whether its signature holds.
struct FleetVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Print a fleet model's header and check its signature against a public key (exit status 1 when it does not verify).")

    @Option(help: ArgumentHelp("The fleet's public key file (base64), as the plant file holds it.", valueName: "KEY"))
    var key: String
    @Argument(help: "The signed fleet model.")
    var file: String

    func run() throws {
        let publicKey: Ed25519PublicKey
        do { publicKey = try FleetKeyFile.readPublicKey(key) } catch {
            printToStandardError("vigil fleet verify: \(error)")
            throw ExitCode(1)
        }
        let envelope: FleetModelEnvelope
        do { envelope = try FleetModelEnvelope.decode(DurableFile.read(file)) } catch {
            print("\(file): refused: \(error)")
            throw ExitCode(1)
        }
        print(envelope.header.summary)
        switch (envelope.signature, envelope.verifies(with: publicKey)) {
        case (nil, _):
            print("verdict: refused: not signed")
            throw ExitCode(1)
        case (_, false):
            print("verdict: refused: the signature does not verify against \(publicKey.base64)")
            throw ExitCode(1)
        case (_, true):
            do {
                let model = try envelope.model()
                print("model: \(model.schema.features.count) features, classes \(model.schema.classes.joined(separator: ", ")), "
                      + "\(envelope.modelBytes.count) bytes, sha256 \(SHA256.hex(envelope.modelBytes))")
            } catch {
                print("verdict: refused: signed, but its model file does not decode: \(error)")
                throw ExitCode(1)
            }
            print("verdict: signature verifies against \(publicKey.base64)")
        }
    }
}

/// `vigil fleet admit`: a controller's gate for a fleet model, run by hand on its journal.
struct FleetAdmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admit",
        abstract: "Verify a fleet model, run this controller's validation gate, and deploy it or refuse it (exit status 2).")

    @OptionGroup var location: ModelLocation
    @Option(help: ArgumentHelp("The fleet's public key file (base64).", valueName: "KEY"))
    var key: String
    @Option(help: "This site's id (for the verdict report).")
    var site: String
    @Option(help: ArgumentHelp("The learning set whose golden set the gate scores on.", valueName: "FILE"))
    var learningSet = LearningSetFile.path(forModel: shippedPolicyModelPath)
    @Option(help: ArgumentHelp("Write the verdict report (binary, docs/FLEET.md) here.", valueName: "FILE"))
    var report: String?
    @Argument(help: "The signed fleet model.")
    var file: String

    func run() throws {
        func fail(_ message: String) -> ExitCode {
            printToStandardError("vigil fleet admit: \(message)")
            return ExitCode(1)
        }
        let publicKey: Ed25519PublicKey, set: LearningSet, bytes: [UInt8]
        do { publicKey = try FleetKeyFile.readPublicKey(key) } catch { throw fail("\(error)") }
        do { set = try LearningSetFile.decode(DurableFile.read(learningSet)) } catch { throw fail("\(learningSet): \(error)") }
        do { bytes = try DurableFile.read(file) } catch { throw fail("\(file): \(error)") }
        let store = try location.store()
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        // A registry no controller has started on yet holds the shipped model, as `vigil run` installs it.
        do { try store.installIfEmpty(shippedModelAt: shippedPolicyModelPath, wallNanoseconds: now) } catch { throw fail("\(error)") }
        let gate = FleetModelGate(site: site, trustedKey: publicKey, registry: store, learningSet: set)
        let result = gate.admit(bytes, wallNanoseconds: now)
        if let report {
            do { try DurableFile.write(result.report.encode(), to: report) } catch { throw fail("\(report): \(error)") }
        }
        print(result.description)
        if result.refusal != nil { throw ExitCode(2) }
    }
}
