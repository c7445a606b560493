import Foundation

/// One sample line of the text exposition format, parsed for assertions.
struct ExposedSample: Hashable {
    var name: String
    var labels: [String: String]
    var value: Double
}

/// The samples, HELP and TYPE lines of a scrape.
struct ExpositionText {
    var samples: [ExposedSample] = []
    var types: [String: String] = [:]
    var helps: [String: String] = [:]

    init(_ text: String) {
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                if parts.count == 2 { types[String(parts[0])] = String(parts[1]) }
                continue
            }
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                if let space = rest.firstIndex(of: " ") { helps[String(rest[..<space])] = String(rest[rest.index(after: space)...]) }
                continue
            }
            if line.hasPrefix("#") { continue }
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            var labels: [String: String] = [:]
            var name = String(series)
            if let open = series.firstIndex(of: "{"), series.hasSuffix("}") {
                name = String(series[..<open])
                let body = series[series.index(after: open)..<series.index(before: series.endIndex)]
                // Label values here never hold `",` (plant ids and fixed words).
                for pair in body.components(separatedBy: "\",") where !pair.isEmpty {
                    guard let eq = pair.firstIndex(of: "=") else { continue }
                    var v = String(pair[pair.index(after: eq)...])
                    if v.hasPrefix("\"") { v.removeFirst() }
                    if v.hasSuffix("\"") { v.removeLast() }
                    labels[String(pair[..<eq])] = v
                }
            }
            samples.append(ExposedSample(name: name, labels: labels, value: value))
        }
    }

    /// The one sample of `name` whose labels include `labels`, nil when none or several match.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matches = all(name, labels)
        return matches.count == 1 ? matches[0].value : nil
    }

    func all(_ name: String, _ labels: [String: String] = [:]) -> [ExposedSample] {
        samples.filter { sample in sample.name == name && labels.allSatisfy { k, v in sample.labels[k] == v } }
    }
}

/// The repository's root (this file is `Tests/VigilMetricsTests/ExpositionText.swift`).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// Runs a repository script; its exit status, standard output and standard error (kept in a
/// temporary file, so neither pipe can fill up while the other is read).
func runScript(_ script: String, _ arguments: [String] = [], stdin: String? = nil) throws -> (status: Int32, stdout: String, stderr: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: repositoryRoot + "/" + script)
    process.arguments = arguments
    process.currentDirectoryURL = URL(fileURLWithPath: repositoryRoot)
    let errorFile = NSTemporaryDirectory() + "vigil-script-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).err"
    guard FileManager.default.createFile(atPath: errorFile, contents: nil) else { throw CocoaError(.fileWriteUnknown) }
    defer { try? FileManager.default.removeItem(atPath: errorFile) }
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = FileHandle(forWritingAtPath: errorFile)
    try process.run()
    if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
    try input.fileHandleForWriting.close()
    let out = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let err = FileManager.default.contents(atPath: errorFile) ?? Data()
    return (process.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
}

/// promtool: the one on PATH, or the copy `scripts/fetch-promtool` unpacks from Debian's prometheus package.
func promtoolPath() throws -> String {
    let r = try runScript("scripts/fetch-promtool")
    let path = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    guard r.status == 0, !path.isEmpty else { throw PromtoolUnavailable(message: r.stderr) }
    return path
}

struct PromtoolUnavailable: Error, CustomStringConvertible {
    var message: String
    var description: String { "scripts/fetch-promtool found no promtool: \(message)" }
}

/// Runs `promtool check metrics` with `text` on stdin; its exit status and everything it printed.
func promtoolCheck(_ text: String) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try promtoolPath())
    process.arguments = ["check", "metrics"]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = output
    try process.run()
    input.fileHandleForWriting.write(Data(text.utf8))
    try input.fileHandleForWriting.close()
    let printed = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: printed, as: UTF8.self))
}

/// The metric families of the dashboard contract (/tmp/metrics-names.md, docs/METRICS.md): name and type.
let contractFamilies: [(String, String)] = [
    ("vigil_build_info", "gauge"), ("vigil_cycle_period_seconds", "gauge"), ("vigil_cycles_total", "counter"),
    ("vigil_cycle_duration_seconds", "histogram"), ("vigil_cycle_lateness_seconds", "histogram"),
    ("vigil_cycle_overruns_total", "counter"), ("vigil_cycle_overrun_storms_total", "counter"), ("vigil_watchdog_stalls_total", "counter"),
    ("vigil_safe_state", "gauge"), ("vigil_safe_state_reasons", "gauge"), ("vigil_interlocks_tripped", "gauge"),
    ("vigil_interlock_tripped", "gauge"), ("vigil_device_requests_total", "counter"), ("vigil_device_errors_total", "counter"),
    ("vigil_device_round_trip_seconds", "histogram"), ("vigil_device_up", "gauge"), ("vigil_device_on_backup_path", "gauge"),
    ("vigil_device_poll_interval_seconds", "gauge"), ("vigil_sensor_health", "gauge"), ("vigil_sensor_quality_good", "gauge"),
    ("vigil_group_active_source", "gauge"), ("vigil_group_failovers_total", "counter"), ("vigil_repairs_total", "counter"),
    ("vigil_alarms", "gauge"), ("vigil_alarms_raised_total", "counter"), ("vigil_trust_score", "gauge"),
    ("vigil_model_version", "gauge"), ("vigil_model_updates_total", "counter"), ("vigil_journal_queue_depth", "gauge"),
    ("vigil_journal_dropped_total", "counter"), ("process_resident_memory_bytes", "gauge"), ("process_start_time_seconds", "gauge"),
]
