import Testing
import Console

/// The console's alarm news: new alarms once, and a rise in an announced alarm's severity again, so
/// the announcement never says `major` for an alarm the list shows as `safety`.
@Suite struct AlarmAnnouncerTests {
    typealias A = AlarmAnnouncer<Int>.Alarm

    @Test func newAlarmsOnceAndSeverityRisesAgain() {
        var announcer = AlarmAnnouncer<Int>()
        // The first list is what was there before the session: no news.
        #expect(announcer.update([A(id: 1, unacknowledged: true, severity: 1)]).isEmpty)
        #expect(announcer.update([A(id: 1, unacknowledged: true, severity: 1), A(id: 2, unacknowledged: true, severity: 2)])
                == [.raised(id: 2, severity: 2)])
        #expect(announcer.update([A(id: 1, unacknowledged: true, severity: 1), A(id: 2, unacknowledged: true, severity: 2)]).isEmpty)
        // Alarm 2 escalates (major → safety): said again; staying there is no news.
        let one = A(id: 1, unacknowledged: true, severity: 1)
        #expect(announcer.update([one, A(id: 2, unacknowledged: true, severity: 3)]) == [.severityRose(id: 2, from: 2, to: 3)])
        #expect(announcer.update([one, A(id: 2, unacknowledged: true, severity: 3)]).isEmpty)
        // A pre-session alarm that escalates is news too.
        #expect(announcer.update([A(id: 1, unacknowledged: true, severity: 3), A(id: 2, unacknowledged: true, severity: 3)])
                == [.severityRose(id: 1, from: 1, to: 3)])
        // Acknowledged, then returned unacknowledged: announced again.
        _ = announcer.update([A(id: 2, unacknowledged: false, severity: 3)])
        #expect(announcer.update([A(id: 2, unacknowledged: true, severity: 3)]) == [.raised(id: 2, severity: 3)])
        // A severity that falls is no news.
        #expect(announcer.update([A(id: 2, unacknowledged: true, severity: 1)]).isEmpty)
    }
}
