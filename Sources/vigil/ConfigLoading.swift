import ArgumentParser
import Config
import VigilCore
import CommandSupport

/// Loads a plant and its board, printing every diagnostic and exiting with status 1 on error.
func loadPlantOrExit(path: String, boardPath: String?) throws -> (plant: PlantConfig, board: BoardConfig?, boardFile: String) {
    do {
        let loaded = try ConfigLoader.loadPlant(path: path, boardPath: boardPath)
        let boardFile = boardPath ?? loaded.plant.board.map { resolveRelative($0, to: path) } ?? "(no board)"
        return (loaded.plant, loaded.board, boardFile)
    } catch {
        for d in error.diagnostics { printToStandardError(d.description) }
        printToStandardError("vigil: \(path): \(error.diagnostics.count) configuration problem(s); see above")
        throw ExitCode(1)
    }
}

/// A path from a config file, relative to that file's folder.
func resolveRelative(_ path: String, to file: String) -> String {
    if path.hasPrefix("/") { return path }
    guard let slash = file.lastIndex(of: "/") else { return path }
    return String(file[...slash]) + path
}
