import Foundation
import Testing
@testable import TEPBenchmark

/// The .dat reader: whitespace-separated numbers, located errors for anything else.
@Suite struct TEPDataTests {
    func parse(_ text: String) throws(TEPDataError) -> TEPTable { try TEPTable.parse(Array(text.utf8), path: "x.dat") }

    func error(_ text: String) -> String {
        do {
            _ = try parse(text)
            return "parsed"
        } catch {
            return error.description
        }
    }

    @Test func readsWhitespaceSeparatedNumbersWithCRLFTabsAndBlankLines() throws {
        let t = try parse("  2.4987000e-01   3.7023000e+03\r\n\n-1\t.5\n\n")
        #expect(t.values == [[0.24987, 3702.3], [-1, 0.5]])
        #expect(try parse("1 2").values == [[1, 2]], "no newline at the end")
        #expect(try parse("").values.isEmpty)
    }

    @Test func malformedInputNamesFileLineAndField() {
        #expect(error("1 2 3\n4 five 6\n") == "x.dat:2: field 2 is not a number: \"five\"")
        #expect(error("1 2 3\n4 5\n") == "x.dat:2: 2 fields, expected 3 (as on the first data line)")
        #expect(error("1 2\n\n3 4 5\n") == "x.dat:3: 3 fields, expected 2 (as on the first data line)")
        #expect(error("1 2\n3 nan\n") == "x.dat:2: field 2 is not a finite number")
        #expect(error("1 2\n3 -inf\n") == "x.dat:2: field 2 is not a finite number")
        #expect(error("1 2\n3 4,5\n") == "x.dat:2: field 2 is not a number: \"4,5\"")
        #expect(error("1 2\n3 1e\n") == "x.dat:2: field 2 is not a number: \"1e\"")
        #expect(error("1 2\n3 \u{00}4\n").hasPrefix("x.dat:2: field 2 is not a number"))
    }

    func write(_ name: String, _ text: String, in dir: String) throws {
        try text.write(toFile: (dir as NSString).appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    @Test func filesOfTheWrongShapeOrMissingAreNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-tep-data-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let row52 = (1...52).map(String.init).joined(separator: " ")
        // Training as 52 variables × 60 samples is transposed to 60 × 52; 60 × 52 is taken as is.
        try write("train.dat", (0..<52).map { v in (0..<60).map { s in "\(v * 1000 + s)" }.joined(separator: " ") }.joined(separator: "\n"), in: dir)
        let training = try TEPDataSet.readTraining(path: dir + "/train.dat")
        #expect(training.count == 60 && training[0].count == 52 && training[3][2] == 2003)
        try write("rows.dat", Array(repeating: row52, count: 60).joined(separator: "\n"), in: dir)
        #expect(try TEPDataSet.readTraining(path: dir + "/rows.dat").count == 60)
        try write("narrow.dat", Array(repeating: "1 2 3", count: 200).joined(separator: "\n"), in: dir)
        #expect(throws: TEPDataError.wrongShape(path: dir + "/narrow.dat", rows: 200, columns: 3,
                                                expected: "52 rows (one per variable) of more than 52 samples, or samples × 52")) {
            try TEPDataSet.readTraining(path: dir + "/narrow.dat")
        }
        try write("short.dat", Array(repeating: row52, count: 100).joined(separator: "\n"), in: dir)
        #expect(throws: TEPDataError.wrongShape(path: dir + "/short.dat", rows: 100, columns: 52, expected: "more than 160 samples × 52 variables")) {
            try TEPDataSet.readRun(path: dir + "/short.dat")
        }
        #expect(throws: TEPDataError.missingFile(path: dir + "/d00.dat")) { try TEPDataSet.load(directory: dir) }
        try write("d00.dat", Array(repeating: row52, count: 60).joined(separator: "\n"), in: dir)
        try write("d00_te.dat", Array(repeating: row52, count: 200).joined(separator: "\n") + "\n1 2\n", in: dir)
        #expect(throws: TEPDataError.wrongFieldCount(path: dir + "/d00_te.dat", line: 201, found: 2, expected: 52)) {
            try TEPDataSet.load(directory: dir)
        }
    }
}
