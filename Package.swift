// swift-tools-version:6.2
import PackageDescription

// Module layout and dependency rules: see docs/ARCHITECTURE.md.
// Arrows point down: VigilCore knows nothing of I/O; Fieldbus wraps the C libraries;
// HIL simulates the plant on real sockets and ptys; only the executable wires backends.
let package = Package(
    name: "Vigil",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "vigil", targets: ["vigil"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.1.1"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // C seams
        .systemLibrary(
            name: "CModbus",
            pkgConfig: "libmodbus",
            providers: [.apt(["libmodbus-dev"])]
        ),
        .systemLibrary(
            name: "CGPIOD",
            pkgConfig: "libgpiod",
            providers: [.apt(["libgpiod-dev"])]
        ),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CMosquitto",
            pkgConfig: "libmosquitto",
            providers: [.apt(["libmosquitto-dev"])]
        ),
        // Every libgpiod call goes through this shim, so the v1 -> v2 API change stays inside one C file.
        .target(name: "GPIODShim", dependencies: ["CGPIOD"]),
        // The plain C reference loops `vigil-bench` measures Vigil's read path against.
        .target(name: "CBenchLoops", dependencies: ["CModbus"]),
        // posix_openpt & co. are XSI functions Glibc's Swift module does not import.
        .target(name: "HILShim"),

        // Pure Swift
        .target(name: "VigilCore"),
        .target(name: "Config", dependencies: ["VigilCore", .product(name: "Yams", package: "Yams")]),

        // I/O
        .target(name: "Fieldbus", dependencies: ["VigilCore", "CModbus", "GPIODShim"]),
        .target(name: "HIL", dependencies: ["VigilCore", "Fieldbus", "CModbus", "HILShim"]),
        // MQTT transport: the `MQTTClient` protocol, libmosquitto backend (one instance per connection),
        // broker addresses and fallback rotation, and an in-memory broker for deterministic tests.
        .target(name: "MQTT", dependencies: ["VigilCore", "CMosquitto"]),
        // The self-healing monitor: detectors, diagnosis, health states, failover, repair, policy. Pure logic.
        .target(name: "Monitor", dependencies: ["VigilCore"]),
        // The policy model: int8-quantized MLP inference (reference and SIMD kernels), float
        // teacher/student training, quantization, the model file format. Pure logic, no I/O;
        // RealModule only for exp/log in training.
        .target(name: "Policy", dependencies: ["VigilCore", .product(name: "RealModule", package: "swift-numerics")]),
        // The operator console: line editor, command language, roles and PINs (PBKDF2 via libcrypto),
        // the serial line (termios), pty and stdio transports. Knows the controller only through
        // the `ConsoleBackend` protocol the executable implements.
        .target(name: "Console", dependencies: ["VigilCore", "COpenSSL", "HILShim"]),
        // Sparkplug B 3.0: topics, the edge node's metric layout, births, deaths, data by exception,
        // sequencing (store-and-forward), host commands. Pure logic; payloads through swift-protobuf
        // (schema in Proto/, generated code in Generated/ by scripts/gen-sparkplug).
        .target(name: "Sparkplug", dependencies: ["VigilCore", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["Proto"]),
        // Control laws, interlocks and the safe-state decision: pure logic, deterministic.
        .target(name: "Control", dependencies: ["VigilCore"]),
        // The cycle kernel: one scan cycle as a pure step (monitor, sections, policy model, alarms,
        // commands, control, interlocks, safe state), the typed `ControllerEvent` and its one journal
        // codec. No threads, no clock, no I/O: production, simulation and replay drive the same code.
        .target(name: "Kernel", dependencies: ["VigilCore", "Monitor", "Policy", "Control"]),
        // Replay: a historian export (CSV) streamed through the cycle kernel in virtual time, with
        // reports; and recordings made from the plant simulator (PlantModel) for it.
        .target(name: "Replay", dependencies: ["VigilCore", "Monitor", "Kernel", "Policy", "HIL", "Fieldbus"]),
        // SQLite (WAL) persistence: events, operator feedback, audit log, model registry.
        .target(name: "Journal", dependencies: ["VigilCore", "Kernel", .product(name: "GRDB", package: "GRDB.swift")]),
        // Crash-safety rig: records durably and prints `ACK` lines until killed (JournalTests kill -9 it).
        .executableTarget(name: "journal-stress", dependencies: ["Journal", "Kernel", "VigilCore"]),
        // Learning across sites: Ed25519 (libcrypto) and key files, the fleet wire formats (feedback
        // sample, signed model envelope, verdict report), the fleet learner, the controller's gate over
        // a `FleetModelRegistry` (Runtime's ModelStore is one). No journal, no runtime.
        .target(name: "Fleet", dependencies: ["VigilCore", "Policy", "COpenSSL"]),
        // The scan cycle: cycle thread, watchdog, safe state, systemd notify, wiring from config.
        .target(name: "Runtime", dependencies: [
            "VigilCore", "Kernel", "Fieldbus", "Control", "Journal", "Monitor", "Policy", "CRuntime", "Fleet",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // HIL scenarios: a YAML fault timeline run against the real runtime on the simulated rig, judged and reported.
        .target(name: "Scenarios", dependencies: [
            "HIL", "Kernel", "Runtime", "Journal", "Config", "Monitor", "Policy", "VigilCore", "Fieldbus",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The Sparkplug B edge node beside a running controller: its thread samples the controller's
        // snapshot and the journal's events, publishes by exception, keeps an outbox in the journal
        // while no broker is reachable, and carries out host commands through the console's checks.
        .target(name: "EdgeNode", dependencies: ["VigilCore", "Kernel", "Journal", "Runtime", "Fieldbus", "Sparkplug", "MQTT", "Fleet", "FleetLink", "Policy",
                                                 .product(name: "Logging", package: "swift-log")]),
        // Learning across sites over MQTT: the fleet topics and the fleet learner on a broker.
        .target(name: "FleetLink", dependencies: ["VigilCore", "Fleet", "MQTT", "Policy", .product(name: "Logging", package: "swift-log")]),
        // Prometheus metrics beside a running controller: the snapshot, cycle samples, device traffic and journal
        // events mapped onto swift-prometheus collectors in a registry of its own, served by SwiftNIO's HTTP/1 server on loopback.
        .target(name: "VigilMetrics", dependencies: ["VigilCore", "Kernel", "Journal", "Runtime", "Monitor", "Fieldbus",
                                                     .product(name: "Prometheus", package: "swift-prometheus"),
                                                     .product(name: "CoreMetrics", package: "swift-metrics"),
                                                     .product(name: "NIOCore", package: "swift-nio"),
                                                     .product(name: "NIOPosix", package: "swift-nio"),
                                                     .product(name: "NIOHTTP1", package: "swift-nio")]),
        // prctl, sched_setaffinity, mlockall and CPU sets: variadic or macro-heavy C that Swift cannot call.
        .target(name: "CRuntime"),
        // libFuzzer harnesses for the parsers of outside bytes (scripts/fuzz builds them with
        // `-DVIGIL_FUZZ -sanitize=fuzzer,address` in .build-fuzz; a plain build makes stubs). Never installed.
        .target(name: "FuzzSupport"),
        .executableTarget(name: "fuzz-model", dependencies: ["FuzzSupport", "Policy"]),
        .executableTarget(name: "fuzz-config", dependencies: ["FuzzSupport", "Config"]),
        .executableTarget(name: "fuzz-recording", dependencies: ["FuzzSupport", "Config", "Replay", "VigilCore"]),
        .executableTarget(name: "fuzz-rtu", dependencies: ["FuzzSupport", "HIL"]),
        .executableTarget(name: "fuzz-reply", dependencies: ["FuzzSupport", "Fieldbus", "VigilCore"]),
        .executableTarget(name: "fuzz-console", dependencies: ["FuzzSupport", "Console"]),
        .executableTarget(name: "fuzz-sparkplug", dependencies: ["FuzzSupport", "Sparkplug", "VigilCore"]),
        .executableTarget(name: "fuzz-fleet", dependencies: ["FuzzSupport", "Fleet"]),

        // Counts heap allocations per thread by interposing malloc; linked only into `vigil-bench` and the
        // runtime tests, to prove the cycle allocates nothing. Never into the controller that runs a plant.
        .target(name: "CAllocCounter"),

        // What the command-line tools share: orderly stop on signals, stderr logging, text helpers.
        .target(name: "CommandSupport", dependencies: [.product(name: "Logging", package: "swift-log")]),

        // The controller that runs a plant, and its tools. No benchmark and no allocation counter in it.
        .executableTarget(
            name: "vigil",
            dependencies: [
                "VigilCore", "Kernel", "Config", "Fieldbus", "HIL", "Control", "Journal", "Runtime", "Monitor", "Scenarios", "Policy", "Console",
                "Replay", "CommandSupport", "EdgeNode", "MQTT", "Fleet", "FleetLink", "VigilMetrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The Tennessee Eastman benchmark of the section monitor: the Braatz .dat files read with located
        // errors, the production section code streamed over them, detection and false-alarm figures.
        .target(name: "TEPBenchmark", dependencies: ["VigilCore", "Monitor"]),
        // The benchmarks (`vigil-bench`): Modbus read path against a plain C loop, cycle lateness against
        // a C clock_nanosleep loop, cycle compute and allocations (malloc interposer), RSS, the policy
        // model's kernels and learner. Measures the same code the controller runs; never installed with it.
        .executableTarget(
            name: "vigil-bench",
            dependencies: [
                "VigilCore", "Kernel", "Config", "Fieldbus", "HIL", "CBenchLoops", "CModbus", "Journal", "Runtime", "CAllocCounter", "Monitor",
                "Scenarios", "Policy", "CommandSupport", "TEPBenchmark", "MQTT", "EdgeNode", "Sparkplug", "VigilMetrics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        .testTarget(name: "VigilCoreTests", dependencies: ["VigilCore"]),
        .testTarget(name: "ConfigTests", dependencies: ["Config", "VigilCore"], resources: [.copy("Fixtures")]),
        .testTarget(name: "FieldbusTests", dependencies: ["Fieldbus", "VigilCore", "HIL"], resources: [.copy("Fixtures")]),
        .testTarget(name: "HILTests", dependencies: ["HIL", "Fieldbus", "Config", "VigilCore"]),
        .testTarget(name: "ControlTests", dependencies: ["Control", "VigilCore"]),
        .testTarget(name: "PolicyTests", dependencies: ["Policy", "VigilCore", .product(name: "RealModule", package: "swift-numerics")]),
        .testTarget(name: "MonitorTests", dependencies: ["Monitor", "VigilCore", "Config"]),
        .testTarget(name: "ConsoleTests", dependencies: ["Console", "VigilCore", "HILShim"]),
        .testTarget(name: "KernelTests", dependencies: ["Kernel", "Monitor", "Control", "Policy", "Config", "VigilCore"]),
        .testTarget(name: "ReplayTests", dependencies: ["Replay", "Kernel", "Monitor", "Config", "HIL", "VigilCore", "CAllocCounter"]),
        .testTarget(name: "JournalTests", dependencies: ["Journal", "Kernel", "Monitor", "VigilCore"]),
        .testTarget(name: "ScenarioTests", dependencies: ["Scenarios", "Kernel", "HIL", "Runtime", "Config", "VigilCore", "Fieldbus", "Monitor", "Policy"]),
        .testTarget(name: "MQTTTests", dependencies: ["MQTT", "HIL", "VigilCore"]),
        .testTarget(name: "TEPBenchmarkTests", dependencies: ["TEPBenchmark", "Monitor", "Kernel", "VigilCore"]),
        .testTarget(name: "SparkplugTests", dependencies: ["Sparkplug", "VigilCore", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .testTarget(name: "EdgeNodeTests", dependencies: ["EdgeNode", "Sparkplug", "MQTT", "Journal", "Config", "VigilCore", "Runtime", "HIL",
                                                        .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "FleetTests", dependencies: ["Fleet", "Policy", "Runtime", "Journal", "VigilCore"]),
        .testTarget(name: "FleetLinkTests", dependencies: ["FleetLink", "EdgeNode", "Fleet", "Policy", "Runtime", "Journal", "MQTT", "HIL", "Config",
                                                         "Fieldbus", "Sparkplug", "VigilCore", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "Kernel", "Control", "Journal", "HIL", "Fieldbus", "Config", "VigilCore", "CAllocCounter", "Monitor", "Policy",
                                                      "EdgeNode"]),  // EdgeNode: the Sparkplug end-to-end tests read `EdgeSampling.publishedKinds`
        .testTarget(name: "VigilMetricsTests", dependencies: ["VigilMetrics", "Runtime", "Journal", "Kernel", "Monitor", "Config", "HIL", "Fieldbus",
                                                           "VigilCore", "CAllocCounter", .product(name: "Logging", package: "swift-log")]),
        // Where the shipped model is looked for (install prefix, source checkout, explicit directory).
        .testTarget(name: "CommandSupportTests", dependencies: ["CommandSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
