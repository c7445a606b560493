import ArgumentParser
import Config
import Foundation
import Yams

/// `vigil-bench config`: `vigil config check` on generated plants of growing size, against the YAML
/// parse of the same text alone. A check that is linear in the plant keeps its ratio to the parse
/// (and its time per point) flat as the plant grows.
struct ConfigBenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Time of `vigil config check` per plant size, and its ratio to parsing the same YAML alone.")

    @Option(help: ArgumentHelp("Plant sizes in points (one sensor per point, 100 points per device).", valueName: "N,N,..."))
    var points = "10000,40000,100000"
    @Option(help: "Points per device (all on one device is the worst case for lookups and overlaps).")
    var perDevice = 100

    func run() throws {
        let sizes = points.split(separator: ",").compactMap { Int($0) }
        print("points  check s  parse s  check/parse  µs per point")
        for n in sizes {
            let path = NSTemporaryDirectory() + "vigil-bench-config-\(n).yaml"
            let text = Self.plant(points: n, perDevice: max(1, perDevice))
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(atPath: path) }
            let parse = Self.seconds { _ = try? Yams.compose(yaml: text, .basic) }
            var diagnostics = 0
            let check = Self.seconds { diagnostics = ConfigChecker.check(path: path).count }
            guard diagnostics == 0 else { throw ValidationError("the generated plant of \(n) points has \(diagnostics) diagnostics") }
            print(String(format: "%6d  %7.2f  %7.2f  %11.2f  %12.1f", n, check, parse, check / parse, check / Double(n) * 1e6))
        }
    }

    static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    /// A plant of `points` float32 input points on TCP devices, one ranged sensor per point.
    static func plant(points: Int, perDevice: Int) -> String {
        var lines = ["name: bench", "cycle: { period_ms: 100 }", "devices:"]
        let devices = (points + perDevice - 1) / perDevice
        for d in 0..<devices {
            lines += ["  - id: dev\(d)", "    transport: tcp", "    host: 127.0.0.1", "    port: \(20000 + d % 40000)",
                      "    unit_id: \(1 + d / 40000)", "    poll_interval_ms: 1000", "    points:"]
            for k in 0..<min(perDevice, points - d * perDevice) {
                let function = k < 30000 ? "input" : "holding"
                lines.append("      - { id: p\(d * perDevice + k), function: \(function), address: \(k % 30000 * 2), type: float32, unit: bar }")
            }
        }
        lines.append("sensors:")
        for i in 0..<points {
            lines.append("  - { id: S\(i), device: dev\(i / perDevice), point: p\(i), range: [0, 16], unit: bar }")
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
