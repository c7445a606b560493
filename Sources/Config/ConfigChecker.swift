import Foundation
import VigilCore
import Yams

/// What `vigil config check` does, without the printing, so tests can run it.
public enum ConfigChecker {
    /// Diagnostics for each file, boards and plants alike (a plant's board is checked with it).
    public static func check(paths: [String], boardPath: String? = nil) -> [ConfigDiagnostic] {
        paths.flatMap { check(path: $0, boardPath: boardPath) }
    }

    /// Diagnostics for one file. A file is a board if it sits in a `boards` folder or has a board's
    /// top-level keys (`gpio_chips`, `serial_ports`, `cycle_cpu`); anything else is a plant. The
    /// file is read and parsed once.
    public static func check(path: String, boardPath: String? = nil) -> [ConfigDiagnostic] {
        if inBoardsFolder(path) {
            do {
                _ = try ConfigLoader.loadBoard(path: path)
                return []
            } catch {
                return error.diagnostics
            }
        }
        let sink = DiagnosticSink(file: path)
        guard let root = ConfigLoader.readDocument(path, sink: sink) else { return sink.diagnostics }
        return check(root, path: path, boardPath: boardPath, sink: sink)
    }

    /// Diagnostics for YAML text as if read from `path` (a board by its keys, else a plant whose
    /// `board:` resolves relative to `path`): the config parser on bytes from anywhere (fuzzing).
    public static func check(text: String, path: String) -> [ConfigDiagnostic] {
        let sink = DiagnosticSink(file: path)
        guard let root = parseDocument(text, sink: sink) else { return sink.diagnostics }
        return check(root, path: path, boardPath: nil, sink: sink)
    }

    /// A parsed document: a board by its keys, else a plant.
    private static func check(_ root: Node, path: String, boardPath: String?, sink: DiagnosticSink) -> [ConfigDiagnostic] {
        if hasBoardKeys(root) {
            _ = BoardDecoder.decode(root, sink: sink)
            return ConfigLoader.sorted(sink.diagnostics)
        }
        return ConfigLoader.checkPlant(root, path: path, boardPath: boardPath, sink: sink).diagnostics
    }

    static func inBoardsFolder(_ path: String) -> Bool { path.split(separator: "/").dropLast().last == "boards" }

    static func hasBoardKeys(_ root: Node) -> Bool {
        guard case .mapping(let mapping) = root else { return false }
        let keys = Set(mapping.keys.compactMap(\.string))
        return !keys.isDisjoint(with: ["gpio_chips", "serial_ports", "cycle_cpu"]) && keys.isDisjoint(with: ["devices", "board"])
    }

    /// Lines to print and the exit status: every diagnostic (stderr), `OK: <file>` for each clean file
    /// (stdout), status 1 if any diagnostic was found.
    public static func report(paths: [String], boardPath: String? = nil) -> CheckReport {
        var report = CheckReport()
        for path in paths {
            let diagnostics = check(path: path, boardPath: boardPath)
            if diagnostics.isEmpty {
                report.output.append("OK: \(path)")
            } else {
                report.errors += diagnostics.map(\.description)
                report.exitStatus = 1
            }
        }
        return report
    }

    /// The result of checking files on the command line.
    public struct CheckReport: Sendable, Hashable {
        /// Lines for stdout.
        public var output: [String] = []
        /// Lines for stderr.
        public var errors: [String] = []
        /// 0 when every file is clean, 1 otherwise.
        public var exitStatus: Int32 = 0
    }
}
