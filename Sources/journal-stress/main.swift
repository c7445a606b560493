// journal-stress: records operator feedback and commands durably in a loop, printing
// `ACK feedback <id>` or `ACK command <id>` on stdout after each write has committed, while a
// JournalWriter writes bursts of events from an EventQueue. JournalTests kills it with SIGKILL
// and checks that every acknowledged id survived.
//
// usage: journal-stress <database path> [--seed N] [--count N]
//   --count N: stop after N acknowledged writes, shut the writer down in order, exit 0.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Journal
import Kernel
import VigilCore

func fail(_ message: String) -> Never {
    let line = "journal-stress: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(2)
}

/// Unbuffered, so a line is in the pipe the moment the write is acknowledged.
func emit(_ line: String) {
    let text = line + "\n"
    text.withCString { pointer in
        var offset = 0
        let length = strlen(pointer)
        while offset < length {
            let n = write(1, pointer + offset, length - offset)
            if n <= 0 { exit(3) }
            offset += n
        }
    }
}

func wallNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

var arguments = Array(CommandLine.arguments.dropFirst())
guard let path = arguments.first else { fail("usage: journal-stress <database path> [--seed N] [--count N]") }
arguments.removeFirst()
var seed: UInt64 = 1
var count: Int? = nil
while !arguments.isEmpty {
    let option = arguments.removeFirst()
    guard let value = arguments.first else { fail("\(option) needs a value") }
    arguments.removeFirst()
    switch option {
    case "--seed": seed = UInt64(value) ?? { fail("bad seed \(value)") }()
    case "--count": count = Int(value) ?? { fail("bad count \(value)") }()
    default: fail("unknown option \(option)")
    }
}

let journal: Journal
do {
    journal = try Journal(path: path)
} catch {
    fail(error.description)
}
let names = ["pump1.flow", "pump1.pressure", "tank.level", "valve3", "plc2"]
let table = SubjectTable(limits: ["tank.level.hi"], devices: ["plc2"], sensors: Array(names.prefix(3)), outputs: ["valve3"])
// One event of each severity (debug … safety), picked in turn.
let samples: [ControllerEvent] = [
    .findingCleared(.sensor(0), .noise), .healthChanged(sensor: 1, from: .healthy, to: .suspect), .overrun(lateNanoseconds: 2_000_000),
    .escalation(.sensor(2), .noHealthySource), .interlockTripped(limit: 0, value: 4.2),
]
let queue = EventQueue(capacity: 4096, safetyCapacity: 256)
let writer = JournalWriter(journal: journal, queue: queue, codec: EventCodec(names: table),
                           configuration: .init(batchSize: 256, flushIntervalNanoseconds: 20_000_000,
                                                pollIntervalNanoseconds: 2_000_000,
                                                retention: RetentionPolicy(maxEvents: 50_000)))
writer.start()

var random = SeededRandom(seed: seed)
let clock = SystemMonotonicClock()
var acknowledged = 0
while count.map({ acknowledged < $0 }) ?? true {
    let burst = Int.random(in: 0...64, using: &random)
    for i in 0..<burst {
        queue.push(TimedEvent(plantNanoseconds: clock.nowNanoseconds(), cycle: UInt64(acknowledged), event: samples[i % samples.count]))
    }
    do {
        if acknowledged % 2 == 0 {
            let id = try journal.recordFeedback(OperatorFeedback(
                wallNanoseconds: wallNanoseconds(), operatorName: "stress", subject: names[acknowledged % names.count],
                verdict: .confirmed, actionRating: .good, note: "seed \(seed) #\(acknowledged)"))
            emit("ACK feedback \(id)")
        } else {
            let id = try journal.recordCommand(AuditEntry(
                wallNanoseconds: wallNanoseconds(), source: "stress:\(seed)", command: "ack \(acknowledged)",
                result: "ok"))
            emit("ACK command \(id)")
        }
    } catch {
        fail(error.description)
    }
    acknowledged += 1
}
do {
    try writer.stop()
} catch {
    fail(error.description)
}
emit("DONE \(writer.statistics.eventsWritten)")
