import Testing
import VigilCore
@testable import Replay

/// Reading historian exports: times in seconds or ISO 8601, empty cells, quoting and line ends.
@Suite struct CSVParsingTests {
    typealias S = ReplayTestSupport

    @Test func secondsAreReadToTheNanosecond() throws {
        let r = try S.recording([("a.csv", "time,PT-1,PT-2,FT-1\n-2.5,1,2,3\n0,1,2,3\n0.1,1,2,3\n12.3456789019,1,2,3\n1.5e1,1,2,3\n")])
        #expect(r.timeFormat == .seconds)
        #expect(try r.files[0].rows().times == [-2_500_000_000, 0, 100_000_000, 12_345_678_901, 15_000_000_000],
                "digits past the ninth decimal are dropped; an exponent is rounded to the nanosecond")
        #expect(r.firstTime == -2_500_000_000 && r.lastTime == 15_000_000_000)
    }

    @Test(arguments: [
        ("2026-03-01T12:00:00Z", Int64(1_772_366_400_000_000_000)),
        ("2026-03-01T12:00:00.250+01:00", 1_772_362_800_250_000_000),
        ("2026-03-01 12:00:00.250+01:00", 1_772_362_800_250_000_000),
        ("2026-03-01t13:30:00+0130", 1_772_366_400_000_000_000),
        ("2026-03-01T10:00:00-02", 1_772_366_400_000_000_000),
        ("2026-03-01T12:00:00", 1_772_366_400_000_000_000),
        ("2026-03-01T12:00:00,5z", 1_772_366_400_500_000_000),
        ("2024-02-29T23:59:59.1234567891Z", 1_709_251_199_123_456_789),
        ("1970-01-01T00:00:00Z", 0),
        ("1969-12-31T23:59:59.5Z", -500_000_000),
    ])
    func isoTimesAreReadWithTheirZone(_ text: String, _ nanoseconds: Int64) throws {
        let r = try S.recording([("a.csv", "time,PT-1,PT-2,FT-1\n\"\(text)\",1,2,3\n")])
        #expect(r.timeFormat == .iso8601)
        #expect(try r.files[0].rows().times == [nanoseconds])
    }

    @Test(arguments: ["2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-03-01T24:00:00Z", "2026-03-01T12:00:60Z",
                      "2026-03-01T12:00Z", "2026-03-01", "2026-03-01T12:00:00+25:00", "2026-03-01T12:00:00.Z",
                      "2026-03-01T12:00:00Z junk", "0000-01-01T00:00:00Z", "2300-01-01T00:00:00Z", "2026-3-01T12:00:00Z"])
    func malformedTimesAreRefused(_ text: String) {
        #expect(S.refusal([("a.csv", "time,PT-1,PT-2,FT-1\n\(text),1,2,3\n")])?.contains("is not a time") == true)
    }

    @Test func isoTextReadsBack() {
        for t: Int64 in [0, 1_772_362_800_250_000_000, -500_000_000, 9_000_000_000_123_000_000] {
            let text = ISOTimestamp.text(nanoseconds: t, decimals: 3)
            let bytes = Array(text.utf8)
            let back = bytes.withUnsafeBufferPointer { ISOTimestamp.nanoseconds($0, 0, $0.count) }
            #expect(back == t, "\(text)")
        }
        #expect(ISOTimestamp.text(nanoseconds: 1_772_362_800_250_000_000) == "2026-03-01T11:00:00.250Z")
    }

    @Test func emptyCellsAndNaNMeanNoNewValue() throws {
        let r = try S.recording([("a.csv", "time,PT-1,PT-2,FT-1\n0,1.5,,NaN\n1,nan,-2,3e-1\n2,,NAN,\"\"\n")])
        let f = try r.files[0].rows()
        let values = (0..<f.rowCount).map { row in (0..<f.feedCount).map { f.value(row: row, feed: $0) } }
        #expect(values[0][0] == 1.5 && values[0][1].isNaN && values[0][2].isNaN)
        #expect(values[1][0].isNaN && values[1][1] == -2 && values[1][2] == 0.3)
        let lastRowEmpty = values[2].allSatisfy(\.isNaN)
        #expect(lastRowEmpty)
    }

    @Test func quotesCRLFByteOrderMarkBlankAndCommentLinesAreRead() throws {
        let text = "\u{FEFF}time,\"PT-1\", PT-2 ,FT-1\r\n# exported by the historian\r\n\r\n0,\"1.5\", 2 ,3\r\n  \r\n1,4,5,6\r2,7,8,9"
        let r = try S.recording([("a.csv", text)])
        let f = r.files[0]
        #expect(f.header.columns == ["time", "PT-1", "PT-2", "FT-1"])
        #expect(try f.rows().times == [0, 1_000_000_000, 2_000_000_000])
        #expect(try f.rows().values == [1.5, 2, 3, 4, 5, 6, 7, 8, 9])
    }

    @Test func aQuotedHeaderNameMayHoldCommasQuotesAndLineEnds() throws {
        let text = "time,\"PT-1\",\"flow, \"\"main\"\"\nline\",FT-1\n0,1,2,3\n1,4,5,6\n"
        let plant = S.smallPlant()
        let r = try S.recording([("a.csv", text)], plant: plant,
                                options: RecordingOptions(maps: [ColumnMap(column: "flow, \"main\"\nline", sensor: "PT-2")]))
        #expect(r.files[0].header.columns[2] == "flow, \"main\"\nline")
        #expect(r.files[0].feeds.map(\.sensor) == [0, 1, 2])
        #expect(try r.files[0].rows().times == [0, 1_000_000_000])
        #expect(r.files[0].firstLine == 3, "the line end inside the header's quotes counts: the first row is on line 3")
    }

    @Test func anotherTimeColumnCanBeNamed() throws {
        let r = try S.recording([("a.csv", "PT-1,Timestamp,PT-2,FT-1\n1,2026-03-01T12:00:00Z,2,3\n")],
                                options: RecordingOptions(timeColumn: "Timestamp"))
        #expect(r.files[0].header.timeColumn == 1 && r.files[0].feeds.map(\.column) == [0, 2, 3])
    }

    @Test func severalFilesMakeOneRecording() throws {
        let r = try S.recording([("a.csv", "time,PT-1,PT-2\n0.05,1,2\n0.15,1,2\n"), ("b.csv", "time,FT-1\n0,3\n0.1,3\n0.2,3\n")])
        #expect(r.rowCount == 5)
        #expect(r.firstTime == 0 && r.lastTime == 200_000_000)
        #expect(r.files.map { $0.feeds.map(\.sensor) } == [[0, 1], [2]])
    }
}
