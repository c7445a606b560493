import Testing
import VigilCore
@testable import Replay

/// The readings the kernel gets as rows arrive: the latest row value at or before a time, stamped
/// with its row's time; an empty cell keeps the previous reading; files interleave by time.
@Suite struct RowMergerTests {
    typealias S = ReplayTestSupport
    static let epoch: UInt64 = 1_000_000_000

    @Test func eachSensorReadsItsLatestRowStampedWithTheRowsTime() throws {
        let r = try S.recording([("a.csv", "time,PT-1,PT-2\n10.00,1,2\n10.10,1.1,\n10.20,,2.2\n"),
                                 ("b.csv", "time,FT-1\n10.05,30\n10.15,31\n")])
        var merger = try RowMerger(recording: r, sensorCount: 4, epochNanoseconds: Self.epoch)
        let readings = merger.readings
        func reading(_ i: Int) -> (Double, UInt64)? {
            let x = readings[i]
            return x.quality.isGood ? (x.value, x.timestampNanoseconds - Self.epoch) : nil
        }
        var arrived = try merger.advance(to: 10_000_000_000)
        #expect(arrived)
        #expect(reading(0)! == (1, 0) && reading(1)! == (2, 0) && reading(2) == nil, "FT-1's first row is at 10.05 s")
        arrived = try merger.advance(to: 10_040_000_000)
        #expect(!arrived, "no row between 10.00 and 10.04 s")
        arrived = try merger.advance(to: 10_120_000_000)
        #expect(arrived)
        #expect(reading(0)! == (1.1, 100_000_000), "PT-1 took the 10.10 s row")
        #expect(reading(1)! == (2, 0), "PT-2's cell at 10.10 s is empty: its reading (and its stamp) stay")
        #expect(reading(2)! == (30, 50_000_000), "the rows of both files up to 10.12 s arrived")
        arrived = try merger.advance(to: 20_000_000_000)
        #expect(arrived)
        #expect(reading(1)! == (2.2, 200_000_000) && reading(2)! == (31, 150_000_000))
        let rows = merger.rowsRead
        #expect(rows == 5)
        #expect(!readings[3].quality.isGood && readings[3].timestampNanoseconds == 0, "SW has no column: unread")
        arrived = try merger.advance(to: .max)
        #expect(!arrived, "every row was read")
    }
}
