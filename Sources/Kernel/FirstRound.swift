import VigilCore

/// Start-up: nothing is judged until every Modbus sensor has been read once.
///
/// "Never read yet" is not "lost": on a slow serial line the first reply of the last unit on it
/// comes several cycles after the first cycle, and a monitor that ran on the first cycle would see
/// a redundancy group with no reading at all and take its safe action. The kernel holds the monitor
/// (and with it the groups' values, so the plant stays in its start-up safe state) until each
/// sensor on a Modbus device has a reading, good or bad: a unit that does not answer gives a bad
/// reading once its response timeout has run, so the first round ends within the devices'
/// timeouts. A reading that never comes at all (a link that never polls) cannot hold start-up
/// forever: after `deadlineNanoseconds` the monitor starts anyway and says which sensor was unread.
struct FirstRound {
    /// Sensors on Modbus devices, in plant order.
    let watched: [Int32]
    /// The longest the first round may take: on the slowest link, every device's response timeout
    /// twice over (a failed transaction is retried) plus its slowest poll interval.
    let deadlineNanoseconds: UInt64
    private var startNanoseconds: UInt64?
    private(set) var complete = false

    init(plant: PlantConfig) {
        var watched: [Int32] = []
        for (i, sensor) in plant.sensors.enumerated() {
            if case .point = sensor.source { watched.append(Int32(i)) }
        }
        self.watched = watched
        var perLink: [String: (timeouts: Int, poll: Int)] = [:]
        for d in plant.devices {
            let key: String
            switch d.transport {
            case .tcp(let host, let port): key = "tcp:\(host):\(port)"
            case .rtu(let s): key = "rtu:" + s.port
            }
            let old = perLink[key] ?? (0, 0)
            perLink[key] = (old.timeouts + d.responseTimeoutMilliseconds, max(old.poll, d.pollIntervalMilliseconds))
        }
        let worst = perLink.values.map { 2 * $0.timeouts + $0.poll }.max() ?? 0
        deadlineNanoseconds = UInt64(max(worst, 0)) * 1_000_000
        complete = watched.isEmpty
    }

    /// What ended the first round this step, if it ended.
    enum Outcome {
        /// Every watched sensor has a reading.
        case everyDeviceAnswered(waitedNanoseconds: UInt64)
        /// The deadline passed with `unread` sensors still unread, `first` the first of them.
        case deadlinePassed(waitedNanoseconds: UInt64, unread: Int32, first: Int32)
    }

    /// Looks at this step's readings; returns how the round ended when it ends now, nil otherwise
    /// (also once it has ended). No allocation.
    mutating func check(nowNanoseconds now: UInt64, sensors: UnsafeBufferPointer<Reading>) -> Outcome? {
        guard !complete else { return nil }
        let start = startNanoseconds ?? now
        startNanoseconds = start
        var unread: Int32 = 0
        var first: Int32 = -1
        for i in watched where sensors[Int(i)].quality == .bad(.notYetRead) {
            unread += 1
            if first < 0 { first = i }
        }
        let waited = now &- start
        if unread == 0 {
            complete = true
            return .everyDeviceAnswered(waitedNanoseconds: waited)
        }
        if waited >= deadlineNanoseconds {
            complete = true
            return .deadlinePassed(waitedNanoseconds: waited, unread: unread, first: first)
        }
        return nil
    }
}
