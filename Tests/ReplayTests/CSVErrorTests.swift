import Testing
import VigilCore
@testable import Replay

/// Every way a CSV is refused names the file, the line and (where one is at fault) the column,
/// with what was found and what was expected.
@Suite struct CSVErrorTests {
    typealias S = ReplayTestSupport
    static let header = "time,PT-1,PT-2,FT-1\n"

    func refusal(_ text: String, file: String = "data.csv", options: RecordingOptions = RecordingOptions()) -> String? {
        S.refusal([(file, text)], options: options)
    }

    @Test func aCellThatIsNotANumber() {
        #expect(refusal(Self.header + "0,1,2,3\n1,1,2,3\n2,\"1,2\",2,3\n")
                == "data.csv:4 column PT-1: \"1,2\" is not a number; expected a decimal such as 6.02 (empty or NaN: no new value)")
        #expect(refusal(Self.header + "0,1,2,abc\n")?.hasPrefix("data.csv:2 column FT-1: \"abc\" is not a number") == true)
        #expect(refusal(Self.header + "0,1,inf,3\n")?.hasPrefix("data.csv:2 column PT-2: \"inf\" is not a number") == true)
        #expect(refusal(Self.header + "0,1,2,1e999\n")
                == "data.csv:2 column FT-1: \"1e999\" is not a finite number; expected a decimal such as 6.02")
    }

    @Test func theWrongNumberOfFields() {
        #expect(refusal(Self.header + "0,1,2,3\n1,1,2\n") == "data.csv:3: 3 fields; expected 4 as in the header")
    }

    @Test func timesThatAreNotTimesOrDoNotIncrease() {
        #expect(refusal(Self.header + "soon,1,2,3\n")
                == "data.csv:2 column time: \"soon\" is not a time; expected seconds (12.25) or ISO 8601 (2026-03-01T12:00:00Z)")
        #expect(refusal(Self.header + "0,1,2,3\n2026-03-01T12:00:00Z,1,2,3\n")
                == "data.csv:3 column time: \"2026-03-01T12:00:00Z\" is not a time in seconds like the first row's; expected a decimal such as 12.25")
        #expect(refusal(Self.header + "2026-03-01T12:00:00Z,1,2,3\n5,1,2,3\n")?
                    .hasPrefix("data.csv:3 column time: \"5\" is not an ISO 8601 time like the first row's") == true)
        #expect(refusal(Self.header + "0,1,2,3\n,1,2,3\n")?.hasPrefix("data.csv:3 column time: \"\" is not a time in seconds") == true)
        #expect(refusal(Self.header + "0,1,2,3\n# a comment\n1.5,1,2,3\n1.5,1,2,3\n")
                == "data.csv:5 column time: time 1.5 is not after the previous row's 1.5 (line 4); expected increasing times")
        #expect(refusal(Self.header + "10,1,2,3\n9.99,1,2,3\n")?.hasPrefix("data.csv:3 column time: time 9.99 is not after the previous row's 10 (line 2)") == true)
    }

    @Test func filesWhoseTimesAreInDifferentFormats() {
        let found = S.refusal([("a.csv", Self.header + "0,1,2,3\n"), ("b.csv", "time,PT-1\n2026-03-01T12:00:00Z,1\n")])
        #expect(found == "b.csv:2 column time: times are ISO 8601 but a.csv's are seconds; expected one time format in every file")
    }

    @Test func quotesThatDoNotClose() {
        #expect(refusal(Self.header + "0,1,2,3\n1,\"1,2,3\n2,1,2,3\n")
                == "data.csv:3: a quoted field is never closed; expected a closing \"")
        #expect(refusal(Self.header + "0,\"1\"x,2,3\n")
                == "data.csv:2: \"x\" after a closing quote; expected a comma or the end of the line")
    }

    @Test func headersWithoutATimeColumnOrWithBadNames() {
        #expect(refusal("t,PT-1,PT-2,FT-1\n0,1,2,3\n")
                == "data.csv:1 column time: no time column \"time\" in the header (\"t\", \"PT-1\", \"PT-2\", \"FT-1\"); name it with --time-column")
        #expect(refusal("time,PT-1,PT-2,PT-1\n0,1,2,3\n")
                == "data.csv:1 column PT-1: the column name appears twice (first as column 2); expected unique names")
        #expect(refusal("time,PT-1,,FT-1\n0,1,2,3\n")
                == "data.csv:1 column #3: column 3 has no name; expected a sensor id or a name for --map")
    }

    @Test func emptyFilesAndFilesWithoutRows() {
        #expect(refusal("") == "data.csv:1: empty file; expected a header line naming the columns")
        #expect(refusal("\n# nothing\n") == "data.csv:1: empty file; expected a header line naming the columns")
        #expect(refusal(Self.header + "\n\n") == "data.csv:4: no data rows after the header")
    }

    @Test func aRecordingSpanningMoreThanAReplayTakesIsRefused() {
        let found = S.refusal([("a.csv", Self.header + "-9000000000,1,2,3\n9000000000,1,2,3\n")])
        #expect(found == "the rows span 18000000000.0 s from the first time to the last; expected at most 10^9 s (a replay steps every cycle in between)")
        #expect(S.refusal([("a.csv", Self.header + "0,1,2,3\n999999999,1,2,3\n")]) == nil)
    }

    @Test func aFileThatCannotBeRead() {
        do throws(ReplayError) {
            _ = try Recording.load(paths: ["/nonexistent/data.csv"], plant: S.smallPlant(), options: RecordingOptions())
            Issue.record("loaded")
        } catch {
            #expect(error.description == "/nonexistent/data.csv:0: cannot read the file: No such file or directory")
        }
    }
}
