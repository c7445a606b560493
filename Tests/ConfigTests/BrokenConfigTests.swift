import Config
import Foundation
import Testing

/// Every file in `Fixtures/broken/` yields exactly the diagnostics in its `.expected` file.
@Suite struct BrokenConfigTests {
    @Test func fixtureFolderHoldsEnoughCases() {
        #expect(FixturePaths.brokenNames.count >= 15)
    }

    @Test(arguments: FixturePaths.brokenNames)
    func brokenFileYieldsExactlyTheExpectedDiagnostics(name: String) throws {
        let path = FixturePaths.fixtures + "/broken/\(name).yaml"
        let expected = try String(contentsOfFile: FixturePaths.fixtures + "/broken/\(name).expected", encoding: .utf8)
            .split(separator: "\n").map(String.init)
        let found = ConfigChecker.check(path: path).map { FixturePaths.relative($0.description) }
        #expect(!found.isEmpty)
        #expect(found == expected)
    }

    @Test func oneFileWithManyMistakesReportsThemAll() {
        let diagnostics = ConfigChecker.check(path: FixturePaths.fixtures + "/broken/many-errors.yaml")
        #expect(diagnostics.count >= 10)
        let kinds = Set(diagnostics.map(\.kind))
        #expect(kinds.isSuperset(of: [.outOfRange, .unknownKey, .overlap, .unresolvedReference, .duplicate,
                                      .wrongType, .inconsistent]))
    }

    @Test func everyKindOfProblemIsCoveredByAFixture() {
        let all = FixturePaths.brokenNames.flatMap { ConfigChecker.check(path: FixturePaths.fixtures + "/broken/\($0).yaml") }
        let kinds = Set(all.map(\.kind))
        #expect(kinds == Set(ConfigDiagnostic.Kind.allCases).subtracting([.fileNotReadable]))
    }

    @Test func loaderThrowsEveryDiagnosticNotOnlyTheFirst() {
        let path = FixturePaths.fixtures + "/broken/tcp-ranges.yaml"
        #expect {
            _ = try ConfigLoader.loadPlant(path: path)
        } throws: { error in
            (error as? ConfigError)?.diagnostics.count == 11
        }
    }

    @Test func brokenBoardFailsToLoadWithAllItsProblems() {
        #expect {
            _ = try ConfigLoader.loadBoard(path: FixturePaths.fixtures + "/broken/board-broken.yaml")
        } throws: { error in
            guard let diagnostics = (error as? ConfigError)?.diagnostics else { return false }
            return diagnostics.count == 11 && diagnostics.allSatisfy { $0.line != nil && $0.column != nil }
        }
    }

    @Test func missingFileIsADiagnosticWithoutPosition() {
        let diagnostics = ConfigChecker.check(path: "/nonexistent/plant.yaml")
        #expect(diagnostics.map(\.description) == ["/nonexistent/plant.yaml: found no such file, expected a readable YAML file"])
        #expect(diagnostics.first?.kind == .fileNotReadable)
    }

    @Test func diagnosticDescriptionFollowsCompilerStyle() {
        let diagnostic = ConfigDiagnostic(kind: .wrongType, file: "configs/x.yaml", line: 14, column: 11,
                                          keyPath: "devices[2].port", found: "\"abc\"", expected: "an integer in 1...65535")
        #expect(diagnostic.description == "configs/x.yaml:14:11: devices[2].port: found \"abc\", expected an integer in 1...65535")
    }
}
