import Foundation
import Testing
@testable import CommandSupport

@Suite struct LogTimestampTests {
    /// The hand-computed timestamp is what Foundation's ISO-8601 style wrote before, instant for instant.
    @Test(arguments: [Int64(0), 951_782_400, 951_868_799, 1_709_164_800, 1_796_601_599, 4_102_444_800, 253_402_300_799, -86_401])
    func matchesFoundationISO8601(seconds: Int64) {
        let style = Date.ISO8601FormatStyle().year().month().day().time(includingFractionalSeconds: true)
        for milliseconds in [0, 7, 999] {
            let date = Date(timeIntervalSince1970: Double(seconds) + Double(milliseconds) / 1000 + 0.0001)
            #expect(StderrLogHandler.timestamp(secondsSinceEpoch: seconds, milliseconds: milliseconds) == date.formatted(style))
        }
    }

    @Test func knownInstants() {
        #expect(StderrLogHandler.timestamp(secondsSinceEpoch: 0, milliseconds: 0) == "1970-01-01T00:00:00.000")
        #expect(StderrLogHandler.timestamp(secondsSinceEpoch: 951_825_600, milliseconds: 42) == "2000-02-29T12:00:00.042")
        #expect(StderrLogHandler.timestamp(secondsSinceEpoch: -1, milliseconds: 500) == "1969-12-31T23:59:59.500")
    }
}
