import Foundation
import VigilCore
import Yams

/// Reads and validates board and plant files.
public enum ConfigLoader {
    /// Decodes a board file, throwing every problem found.
    public static func loadBoard(path: String) throws(ConfigError) -> BoardConfig {
        let sink = DiagnosticSink(file: path)
        let board = decodeBoard(path: path, sink: sink)
        guard let board, !sink.hasErrors else { throw ConfigError(diagnostics: sorted(sink.diagnostics)) }
        return board
    }

    /// Decodes a plant file and its board. The board is `boardPath` if given, else the file's `board:`
    /// key resolved relative to the plant file. Throws every problem found in either file.
    public static func loadPlant(path: String, boardPath: String? = nil) throws(ConfigError) -> (plant: PlantConfig, board: BoardConfig?) {
        let result = checkPlant(path: path, boardPath: boardPath)
        guard let plant = result.plant, result.diagnostics.isEmpty else { throw ConfigError(diagnostics: result.diagnostics) }
        return (plant, result.board)
    }

    static func checkPlant(path: String, boardPath: String?) -> (plant: PlantConfig?, board: BoardConfig?, diagnostics: [ConfigDiagnostic]) {
        let sink = DiagnosticSink(file: path)
        guard let root = readDocument(path, sink: sink) else { return (nil, nil, sink.diagnostics) }
        return checkPlant(root, path: path, boardPath: boardPath, sink: sink)
    }

    /// A file's YAML document (nil after reporting why there is none).
    static func readDocument(_ path: String, sink: DiagnosticSink) -> Node? {
        guard let text = readFile(path, sink: sink) else { return nil }
        return parseDocument(text, sink: sink)
    }

    /// The plant in `root`, parsed from `path` (diagnostics so far in `sink`).
    static func checkPlant(_ root: Node, path: String, boardPath: String?,
                           sink: DiagnosticSink) -> (plant: PlantConfig?, board: BoardConfig?, diagnostics: [ConfigDiagnostic]) {
        let decoded = PlantDecoder.decode(root, sink: sink)
        var board: BoardConfig?
        var boardDiagnostics: [ConfigDiagnostic] = []
        let resolvedBoard = boardPath ?? decoded.board.map { resolve($0, relativeTo: path) }
        if let resolvedBoard {
            let boardSink = DiagnosticSink(file: resolvedBoard)
            board = decodeBoard(path: resolvedBoard, sink: boardSink)
            boardDiagnostics = boardSink.diagnostics
            // A `board:` key naming a file that is not there is the plant file's mistake: point at the key.
            if boardPath == nil, let reference = decoded.board, let missing = boardDiagnostics.first,
               boardDiagnostics.count == 1, missing.kind == .fileNotReadable {
                sink.report(.unresolvedReference, "board", found: quoted(reference),
                            expected: "a board file relative to this file (\(resolvedBoard): \(missing.found))")
                boardDiagnostics = []
            }
        }
        PlantValidator(plant: decoded, board: board, boardBroken: resolvedBoard != nil && board == nil, sink: sink).validate()
        let diagnostics = sorted(sink.diagnostics) + sorted(boardDiagnostics)
        return (diagnostics.isEmpty ? decoded.config : nil, board, diagnostics)
    }

    static func decodeBoard(path: String, sink: DiagnosticSink) -> BoardConfig? {
        guard let text = readFile(path, sink: sink), let root = parseDocument(text, sink: sink) else { return nil }
        return BoardDecoder.decode(root, sink: sink)
    }

    private static func readFile(_ path: String, sink: DiagnosticSink) -> String? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            sink.report(.fileNotReadable, at: nil, "", found: "no such file", expected: "a readable YAML file")
            return nil
        }
        guard !isDirectory.boolValue, let data = FileManager.default.contents(atPath: path) else {
            sink.report(.fileNotReadable, at: nil, "", found: isDirectory.boolValue ? "a directory" : "an unreadable file",
                        expected: "a readable YAML file")
            return nil
        }
        guard let text = String(data: data, encoding: .utf8) else {
            sink.report(.fileNotReadable, at: nil, "", found: "bytes that are not UTF-8", expected: "a UTF-8 YAML file")
            return nil
        }
        return text
    }

    /// Position order within a file; the order of files is kept.
    static func sorted(_ diagnostics: [ConfigDiagnostic]) -> [ConfigDiagnostic] {
        diagnostics.enumerated().sorted { a, b in
            let ka = (a.element.line ?? 0, a.element.column ?? 0, a.offset)
            let kb = (b.element.line ?? 0, b.element.column ?? 0, b.offset)
            return ka < kb
        }.map(\.element)
    }

    /// `configs/plant.yaml` + `../boards/pi.yaml` → `boards/pi.yaml`; absolute references stay as they are.
    static func resolve(_ reference: String, relativeTo file: String) -> String {
        if reference.hasPrefix("/") { return reference }
        var parts = file.split(separator: "/", omittingEmptySubsequences: false).dropLast().map(String.init)
        let isAbsolute = file.hasPrefix("/")
        for part in reference.split(separator: "/").map(String.init) {
            switch part {
            case ".": continue
            case "..":
                if let last = parts.last, last != "..", last != "." , !(last.isEmpty && isAbsolute && parts.count == 1) {
                    parts.removeLast()
                } else if !isAbsolute {
                    parts.append("..")
                }
            default: parts.append(part)
            }
        }
        parts.removeAll { $0 == "." }
        let joined = parts.joined(separator: "/")
        return joined.isEmpty ? "." : joined
    }
}
