import ArgumentParser
import CommandSupport
import Foundation
import Kernel
import Policy
import Replay
import VigilCore

/// `vigil replay`: a historian export streamed through the cycle kernel in virtual time.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Stream a historian export (CSV) through the controller's kernel in virtual time and report what it finds.",
        discussion: """
            Each CSV has a header row and a time column in seconds or ISO 8601; a column feeds the \
            sensor whose id it carries, or the one --map names. Several files are merged by time. The \
            kernel steps at the plant's cycle period from the first row to the last, each sensor reading \
            its latest row, and writes events.txt, events.jsonl, state.csv, summary.json and replay.svg \
            into --out. Format and outputs: docs/REPLAY.md.
            """
    )

    @Option(help: "Plant configuration file (configs/*.yaml).")
    var config: String

    @Option(parsing: .upToNextOption, help: ArgumentHelp("CSV files, merged by time.", valueName: "FILE"))
    var csv: [String] = []

    @Option(help: ArgumentHelp("Feed SENSOR from COLUMN (repeatable); other columns feed the sensor they are named after.",
                               valueName: "COLUMN=SENSOR"))
    var map: [String] = []

    @Option(help: ArgumentHelp("The header name of the time column.", valueName: "NAME"))
    var timeColumn = "time"

    @Option(help: ArgumentHelp("Pace plant time at R × wall time (default: as fast as the CPU allows).", valueName: "R"))
    var rate: Double?

    @Option(help: ArgumentHelp("Train every section on the first N seconds of plant time (its training_seconds).", valueName: "N"))
    var trainSeconds: Double?

    @Option(help: ArgumentHelp("Folder for the report files.", valueName: "DIR"))
    var out = "replay-out"

    @Option(help: ArgumentHelp("Run this policy model (a .vglm file, e.g. models/default.vglm) on every step; its confirmed verdicts are journalled and counted.",
                               valueName: "FILE"))
    var model: String?

    @Flag(help: "Let sensors no column feeds stay unread (bad) instead of refusing the recording.")
    var allowUnmapped = false

    func validate() throws {
        if csv.isEmpty { throw ValidationError("give at least one CSV file with --csv FILE") }
        if let rate, !(rate > 0 && rate.isFinite) { throw ValidationError("--rate must be a positive number, got \(rate).") }
        if let trainSeconds, !(trainSeconds > 0 && trainSeconds <= 1_000_000) {
            throw ValidationError("--train-seconds must be a number of seconds in (0, 1000000], got \(trainSeconds).")
        }
    }

    func run() throws {
        var plant = try loadPlantOrExit(path: config, boardPath: nil).plant
        if let trainSeconds {
            for s in plant.sections.indices { plant.sections[s].trainingSeconds = trainSeconds }
        }
        let clock = SystemMonotonicClock()
        do throws(ReplayError) {
            let maps = try map.map { a throws(ReplayError) in try ColumnMap(argument: a) }
            let readStart = clock.nowNanoseconds()
            let recording = try Recording.load(paths: csv, plant: plant, options: RecordingOptions(
                timeColumn: timeColumn, maps: maps, allowUnmapped: allowUnmapped))
            let readNanoseconds = clock.nowNanoseconds() - readStart
            for column in recording.plan.ignoredColumns { print("note: column \(column) feeds no sensor of the plant: ignored") }
            for sensor in recording.plan.unread { print("note: no column feeds \(sensor): it stays unread (bad) the whole replay") }

            let policyModel = try model.map { path throws(ReplayError) in try loadModel(path) }
            let run = try ReplayRun(plant: plant, recording: recording, policyModel: policyModel)
            let report = try ReplayReport(directory: out, run: run)
            let files = recording.files.count
            print("vigil replay: \(plant.name), \(files) file\(files == 1 ? "" : "s"), \(grouped(recording.rowCount)) rows (times in "
                  + "\(recording.timeFormat)), \(grouped(Int(run.stepCount))) steps of \(EventText.number(Double(run.periodNanoseconds) / 1e6)) ms"
                  + (rate.map { " at \(EventText.number($0))× real time" } ?? ""))
            fflush(nil)
            let result = try run.run(report: report, pacer: rate.map { ReplayPacer(rate: $0) })
            let summary = try report.finish(run: run, result: result, readNanoseconds: readNanoseconds)
            printSummary(summary, result: result, run: run)
        } catch {
            printToStandardError("vigil replay: \(error)")
            throw ExitCode(1)
        }
    }

    private func loadModel(_ path: String) throws(ReplayError) -> PolicyModel {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .output(path: path, reason: "cannot read the policy model file")
        }
        do { return try ModelFile.decode([UInt8](data)) } catch {
            throw .model(path: path, reason: "\(error)")
        }
    }

    private func printSummary(_ s: ReplaySummary, result: ReplayResult, run: ReplayRun) {
        let wall = s.timing.replaySeconds
        let speed = wall > 0 ? s.plantSeconds / wall : 0
        print("  \(grouped(Int(s.steps))) steps, \(duration(s.plantSeconds)) of plant time in \(EventText.number(wall)) s wall: "
              + "\(grouped(Int(s.timing.stepsPerSecond))) steps/s, \(grouped(Int(speed)))× real time (files checked in \(EventText.number(s.timing.readSeconds)) s)")
        var findings: [String] = []
        for (sensor, kinds) in s.findingsBySensor.sorted(by: { $0.key < $1.key }) {
            findings.append("\(sensor) " + kinds.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        }
        for (device, kinds) in s.findingsByDevice.sorted(by: { $0.key < $1.key }) {
            findings.append("\(device) " + kinds.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", "))
        }
        print("  findings: \(s.findingCount)" + (findings.isEmpty ? "" : " (" + findings.joined(separator: "; ") + ")")
              + "; failovers \(s.failovers), escalations \(s.escalations), alarms \(s.alarmsRaised), interlock trips \(s.interlockTrips)")
        for (id, section) in s.sections.sorted(by: { $0.key < $1.key }) {
            let trained = section.trainedSamples.map { "trained on \($0) samples" } ?? "still learning at the end"
            let live = section.liveAtSeconds.map { ", live at \(duration($0))" } ?? ""
            print("  section \(id): \(trained)\(live); T² findings \(section.t2Findings), SPE findings \(section.speFindings)")
        }
        if let model = s.policyModel {
            let verdicts = s.modelVerdictsBySensor.sorted { $0.key < $1.key }.map { sensor, classes in
                "\(sensor) " + classes.sorted { $0.key < $1.key }.map { "\($0.key) ×\($0.value)" }.joined(separator: ", ")
            }
            print("  policy model \(model): " + (verdicts.isEmpty ? "no confirmed verdicts" : "confirmed verdicts " + verdicts.joined(separator: "; ")))
        }
        if s.eventsDropped > 0 { print("  WARNING: \(s.eventsDropped) events did not fit the kernel's per-step buffer") }
        print("  wrote \(out)/{\(ReplayReport.eventsText), \(ReplayReport.eventsJSON), \(ReplayReport.stateCSV), "
              + "\(ReplayReport.summaryJSON), \(ReplayReport.plotSVG)}")
    }

    private func duration(_ seconds: Double) -> String {
        if seconds < 120 { return EventText.number(seconds) + " s" }
        if seconds < 7200 { return EventText.number(seconds / 60) + " min" }
        return EventText.number(seconds / 3600) + " h"
    }
}

/// 1234567 → `1,234,567`.
func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return (n < 0 ? "-" : "") + out
}
