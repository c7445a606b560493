import Testing
@testable import CommandSupport

@Suite struct ShippedModelSearchTests {
    @Test func installedExecutableLooksUnderItsPrefixOnly() {
        #expect(ShippedModelSearch.directories(explicit: nil, executablePath: "/usr/bin/vigil") == ["/usr/share/vigil/models"])
        #expect(ShippedModelSearch.directories(explicit: nil, executablePath: "/opt/vigil/bin/vigil") == ["/opt/vigil/share/vigil/models"])
    }

    @Test func checkoutBuildFallsBackToTheRepositoryModels() {
        let exe = "/src/vigil/.build/x86_64-unknown-linux-gnu/release/vigil"
        #expect(ShippedModelSearch.directories(explicit: nil, executablePath: exe)
                == ["/src/vigil/.build/x86_64-unknown-linux-gnu/share/vigil/models", "/src/vigil/models"])
        #expect(ShippedModelSearch.directories(explicit: nil, executablePath: "/src/v/.build-fuzz/debug/vigil").last == "/src/v/models")
    }

    @Test func explicitDirectoryIsTheOnlyOne() {
        #expect(ShippedModelSearch.directories(explicit: "/etc/m", executablePath: "/usr/bin/vigil") == ["/etc/m"])
        let path = ShippedModelSearch.modelPath(explicit: "/etc/m", executablePath: "/src/.build/debug/vigil") { _ in false }
        #expect(path == "/etc/m/default.vglm")
    }

    @Test func firstExistingCandidateWinsElseTheFirstSearched() {
        let exe = "/src/vigil/.build/debug/vigil"
        let found = ShippedModelSearch.modelPath(explicit: nil, executablePath: exe) { $0 == "/src/vigil/models/default.vglm" }
        #expect(found == "/src/vigil/models/default.vglm")
        let missing = ShippedModelSearch.modelPath(explicit: nil, executablePath: exe) { _ in false }
        #expect(missing == "/src/vigil/.build/share/vigil/models/default.vglm")
    }

    @Test func dotsResolveLexicallyAndRelativeExecutablesFindNothing() {
        #expect(ShippedModelSearch.normalized("/usr/bin/../share/./vigil") == "/usr/share/vigil")
        #expect(ShippedModelSearch.directories(explicit: nil, executablePath: "vigil").isEmpty)
        #expect(ShippedModelSearch.modelPath(explicit: nil, executablePath: "./vigil") { _ in true } == nil)
    }
}
