import Foundation
@testable import TEPBenchmark

/// The Braatz archive beside the clone (`../shared/data/tep/tep-braatz.tar.xz`, as CI has it), or a
/// directory of unpacked files in `VIGIL_TEP_DATA`; unpacked once per test process.
enum TEPArchive {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let archive = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/data/tep/tep-braatz.tar.xz").path

    static var isPresent: Bool {
        if let dir = ProcessInfo.processInfo.environment["VIGIL_TEP_DATA"] { return FileManager.default.fileExists(atPath: dir) }
        return FileManager.default.fileExists(atPath: archive)
    }

    /// The data set, or the reason it could not be had.
    static let data: Result<TEPDataSet, Error> = Result {
        if let dir = ProcessInfo.processInfo.environment["VIGIL_TEP_DATA"] { return try TEPDataSet.load(directory: dir) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-tep-\(getpid())").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        tar.arguments = ["tar", "-xJf", archive, "-C", dir]
        try tar.run()
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else { throw UnpackError(status: tar.terminationStatus) }
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try TEPDataSet.load(directory: dir)
    }

    struct UnpackError: Error, CustomStringConvertible {
        var status: Int32
        var description: String { "tar -xJf \(TEPArchive.archive) exited with \(status)" }
    }
}
