import Testing
import Fieldbus
import HIL
import VigilCore

private let ms: UInt64 = 1_000_000

@Suite("Debouncer")
struct GPIODebouncerTests {
    @Test func bounceBurstShorterThanWindowReportsOnce() {
        var debouncer = Debouncer(windowNanoseconds: 10 * ms, initial: false)
        var reports: [Bool] = []
        // Contact closes at 0 ms and bounces for 4 ms, then stays closed.
        let burst: [(UInt64, Bool)] = [(0, true), (1, false), (2, true), (3, false), (4, true)]
        for (t, level) in burst {
            if let r = debouncer.observe(level, atNanoseconds: t * ms) { reports.append(r) }
        }
        for t in stride(from: UInt64(5), through: 30, by: 1) {
            if let r = debouncer.settle(atNanoseconds: t * ms) { reports.append(r) }
        }
        #expect(reports == [true])
        #expect(debouncer.level)
    }

    @Test func burstThatReturnsToTheOldLevelReportsNothing() {
        var debouncer = Debouncer(windowNanoseconds: 10 * ms, initial: false)
        var reports: [Bool] = []
        for (t, level) in [(UInt64(0), true), (3, false), (5, true), (8, false)] {
            if let r = debouncer.observe(level, atNanoseconds: t * ms) { reports.append(r) }
        }
        if let r = debouncer.settle(atNanoseconds: 100 * ms) { reports.append(r) }
        #expect(reports.isEmpty)
        #expect(debouncer.level == false)
    }

    @Test func changeHeldExactlyTheWindowReports() {
        var debouncer = Debouncer(windowNanoseconds: 10 * ms, initial: false)
        #expect(debouncer.observe(true, atNanoseconds: 50 * ms) == nil)
        #expect(debouncer.settle(atNanoseconds: 60 * ms - 1) == nil)
        #expect(debouncer.settle(atNanoseconds: 60 * ms) == true)
        #expect(debouncer.settle(atNanoseconds: 70 * ms) == nil)
    }

    @Test func zeroWindowReportsAtOnce() {
        var debouncer = Debouncer(GPIOInputSettings(line: "GPIO17", debounceMilliseconds: 0), initial: false)
        #expect(debouncer.observe(true, atNanoseconds: 7) == true)
        #expect(debouncer.observe(false, atNanoseconds: 8) == false)
    }

    @Test func windowComesFromTheInputSettings() {
        let debouncer = Debouncer(GPIOInputSettings(line: "GPIO17", debounceMilliseconds: 25), initial: true)
        #expect(debouncer.windowNanoseconds == 25 * ms)
        #expect(debouncer.level)
    }

    @Test func activeLowInputIsInvertedBeforeDebouncing() throws {
        let clock = ManualClock()
        let chip = MockGPIOChip(clock: clock)
        chip.setLevel(4, high: true) // idle: pulled up, button open
        let settings = GPIOInputSettings(line: "BUTTON", activeLow: true, bias: .pullUp, debounceMilliseconds: 10)
        let line = try chip.requestInput(offset: 4, GPIOInputRequest(settings, edges: .both))
        let input = try DebouncedInput(line: line, windowNanoseconds: 10 * ms, clock: clock, source: .edges(eventTimestamps: true))
        #expect(input.level == false)

        // Pressing pulls the line low (logical true), with a bounce.
        chip.injectBounce(4, togglesAtNanoseconds: [1 * ms, 2 * ms, 3 * ms])
        clock.advance(byNanoseconds: 5 * ms)
        #expect(try input.poll() == false)
        clock.advance(byNanoseconds: 8 * ms) // 13 ms: 10 ms after the last toggle
        #expect(try input.poll() == true)
    }

    @Test func edgesStampedAtPollTimeStartTheWindowAtThePoll() throws {
        let clock = ManualClock()
        let chip = MockGPIOChip(clock: clock)
        let line = try chip.requestInput(offset: 1, GPIOInputRequest(edges: .both))
        let input = try DebouncedInput(line: line, windowNanoseconds: 10 * ms, clock: clock, source: .edges(eventTimestamps: false))
        chip.injectBounce(1, togglesAtNanoseconds: [1 * ms, 2 * ms, 3 * ms])
        clock.advance(byNanoseconds: 5 * ms)
        #expect(try input.poll() == false) // burst seen at 5 ms, ends high
        clock.advance(byNanoseconds: 9 * ms)
        #expect(try input.poll() == false)
        clock.advance(byNanoseconds: 1 * ms)
        #expect(try input.poll() == true)
    }

    @Test func sampledInputDebouncesOnTheInjectedClock() throws {
        let clock = ManualClock()
        let chip = MockGPIOChip(clock: clock)
        let line = try chip.requestInput(offset: 2, GPIOInputRequest())
        let input = try DebouncedInput(line: line, windowNanoseconds: 10 * ms, clock: clock, source: .sampling)
        chip.setLevel(2, high: true)
        #expect(try input.poll() == false)
        clock.advance(byNanoseconds: 9 * ms)
        #expect(try input.poll() == false)
        clock.advance(byNanoseconds: 1 * ms)
        #expect(try input.poll() == true)
    }
}
