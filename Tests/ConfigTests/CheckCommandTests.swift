import Config
import Foundation
import Testing

/// `vigil config check`: what it prints and its exit status.
@Suite struct CheckCommandTests {
    @Test func cleanFilesPrintOKAndExitZero() {
        let report = ConfigChecker.report(paths: [FixturePaths.demoConfig, FixturePaths.boardFiles[0]])
        #expect(report.exitStatus == 0)
        #expect(report.errors.isEmpty)
        #expect(report.output == ["OK: \(FixturePaths.demoConfig)", "OK: \(FixturePaths.boardFiles[0])"])
    }

    @Test func anyProblemExitsOneAndCleanFilesStillSayOK() {
        let broken = FixturePaths.fixtures + "/broken/tcp-ranges.yaml"
        let report = ConfigChecker.report(paths: [broken, FixturePaths.demoConfig])
        #expect(report.exitStatus == 1)
        #expect(report.errors.count == 11)
        #expect(report.errors.allSatisfy { $0.hasPrefix(broken + ":") })
        #expect(report.output == ["OK: \(FixturePaths.demoConfig)"])
    }

    static let binary = FixturePaths.root + "/.build/debug/vigil"

    @Test func binaryExitStatusFollowsTheDiagnostics() throws {
        // README's test command runs `swift build` first; `swift test` alone does not relink the binary.
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "build the binary first: swift build")
        #expect(try run([FixturePaths.demoConfig]).status == 0)
        let broken = try run([FixturePaths.fixtures + "/broken/root-list.yaml", FixturePaths.demoConfig])
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("root-list.yaml:1:1: found a list, expected a mapping"))
        #expect(broken.stdout == "OK: \(FixturePaths.demoConfig)\n")
    }

    private func run(_ files: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["config", "check"] + files
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}
