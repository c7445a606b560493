import Foundation
import Testing
import Journal
import Kernel
import Policy
@testable import Runtime

/// `vigil model info` shows each recent version's live agreement from the journal: outcomes,
/// agreement, baseline, the distance to it, state and lineage.
@Suite(.serialized) struct ModelInfoWatchTests {
    @Test func modelInfoPrintsTheLiveFiguresOfRecentVersions() throws {
        try #require(FileManager.default.isExecutableFile(atPath: RunBinaryTests.binary), "build the binary first: swift build")
        let directory = NSTemporaryDirectory() + "vigil-model-info-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try DurableFile.makeDirectories(directory)
        let journalPath = directory + "/journal.sqlite"
        do {
            let journal = try Journal(path: journalPath)
            let store = try ModelStore(directory: directory + "/models", journal: journal)
            try store.installIfEmpty(shippedModelAt: PolicyServiceTests.shipped, wallNanoseconds: 1)
            let model = try store.loadDeployed().model
            try store.add(model, parent: 1, trainingSummary: "fleet model", validationJSON: "{}", deploy: false, wallNanoseconds: 2)
            try journal.recordModelWatch([
                ModelWatchFigures(version: 1, lineage: "site", baseline: 0.9, baselineSource: "first window",
                                  recent: Array(repeating: true, count: 19) + [false], outcomes: 44, agreed: 40, afterRollback: true),
                ModelWatchFigures(version: 2, lineage: "fleet", fleetVersion: 7, baseline: 0.95, baselineSource: "parent v1",
                                  recent: Array(repeating: true, count: 13) + Array(repeating: false, count: 7), outcomes: 20, agreed: 13,
                                  state: .rolledBack, reason: "rolled back to v1: agreement 65% over 20 outcomes, baseline 95%, margin 15 points"),
            ], wallNanoseconds: 3)
        }
        let out = try RunBinaryTests.Child(["model", "info", "--journal", journalPath, "--models", directory + "/models",
                                            "--config", "configs/demo-pump-station.yaml"]).wait()
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.contains("live agreement") && $0.contains("margin 15 points, window 50, judged from 20 outcomes") })
        let v2 = try #require(lines.first { $0.hasPrefix("  v2 ") })
        #expect(v2.contains("20 (20)") && v2.contains("65%") && v2.contains("95% (parent v1)") && v2.contains("-30 pts")
                && v2.contains("rolled back") && v2.contains("fleet #7"), "\(v2)")
        let v1 = try #require(lines.first { $0.hasPrefix("  v1*") }, "v1 is the deployed version")
        #expect(v1.contains("20 (44)") && v1.contains("95%") && v1.contains("watching") && v1.contains("site"), "\(v1)")
        #expect(lines.contains { $0.contains("v2: rolled back to v1") })
    }
}
