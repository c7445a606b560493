import Testing
import VigilCore
@testable import Replay

/// Which column feeds which sensor: by name, by --map; unknown columns are notes, unfed sensors errors.
@Suite struct ColumnPlanTests {
    typealias S = ReplayTestSupport

    @Test func aColumnFeedsTheSensorItIsNamedAfterOrTheOneMapped() throws {
        let r = try S.recording([("a.csv", "time,pressure_a,PT-2,FT-1,ambient\n0,1,2,3,20\n")],
                                options: RecordingOptions(maps: [try ColumnMap(argument: "pressure_a=PT-1")]))
        #expect(r.plan.feeds == [[ColumnFeed(column: 1, sensor: 0), ColumnFeed(column: 2, sensor: 1), ColumnFeed(column: 3, sensor: 2)]])
        #expect(r.plan.ignoredColumns == ["ambient"], "a column no sensor is named after is a note, not an error")
        #expect(r.plan.unread == ["SW"], "a GPIO input without a column stays unread")
    }

    @Test func aMapSplitsAtTheLastEqualsSign() throws {
        #expect(try ColumnMap(argument: "a=b=PT-1") == ColumnMap(column: "a=b", sensor: "PT-1"))
        for bad in ["PT-1", "=PT-1", "col=", ""] {
            #expect(throws: ReplayError.badMap(argument: bad)) { try ColumnMap(argument: bad) }
        }
    }

    @Test func anUnfedSensorIsAnErrorNamingItUnlessAllowed() throws {
        let files = [("a.csv", "time,PT-1\n0,1\n")]
        #expect(S.refusal(files) == "no column feeds sensors PT-2, FT-1: name a column after each, map one with --map COLUMN=SENSOR, "
                + "or pass --allow-unmapped (then it stays unread, bad)")
        let r = try S.recording(files, options: RecordingOptions(allowUnmapped: true))
        #expect(r.plan.unread == ["PT-2", "FT-1", "SW"])
    }

    @Test func mapsThatDoNotFitAreErrors() {
        let files = [("a.csv", "time,PT-1,PT-2,FT-1,p\n0,1,2,3,4\n"), ("b.csv", "time,FT-1\n0,3\n")]
        func refusal(_ maps: [ColumnMap]) -> String? { S.refusal(files, options: RecordingOptions(maps: maps)) }
        #expect(refusal([ColumnMap(column: "q", sensor: "PT-1")]) == "--map q=PT-1: no file has a column \"q\" (read: a.csv, b.csv)")
        #expect(refusal([ColumnMap(column: "p", sensor: "PT-9")])
                == "--map p=PT-9: the plant has no sensor \"PT-9\"; expected one of PT-1, PT-2, FT-1, SW")
        #expect(refusal([ColumnMap(column: "time", sensor: "PT-1")]) == "--map time=PT-1: \"time\" is the time column; expected a value column")
        #expect(refusal([ColumnMap(column: "p", sensor: "PT-1"), ColumnMap(column: "p", sensor: "PT-2")])
                == "--map names column \"p\" twice; expected one sensor per column")
        #expect(refusal([ColumnMap(column: "p", sensor: "PT-1")])
                == "a.csv:1: columns \"PT-1\" and \"p\" both feed sensor PT-1; expected one column per sensor in a file")
    }

    @Test func oneSensorMayBeFedByTwoFiles() throws {
        let r = try S.recording([("a.csv", "time,PT-1,PT-2,FT-1\n0,1,2,3\n"), ("b.csv", "time,PT-1\n1,5\n")])
        #expect(r.plan.feeds[1] == [ColumnFeed(column: 1, sensor: 0)])
    }
}
