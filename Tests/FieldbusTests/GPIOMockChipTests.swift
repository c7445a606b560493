import Testing
import Fieldbus
import HIL
import VigilCore

private let ms: UInt64 = 1_000_000

@Suite("MockGPIOChip")
struct GPIOMockChipTests {
    @Test func inputReadsThePhysicalLevelAndInvertsActiveLow() throws {
        let chip = MockGPIOChip()
        let plain = try chip.requestInput(offset: 1, GPIOInputRequest())
        let inverted = try chip.requestInput(offset: 2, GPIOInputRequest(activeLow: true))
        #expect(try plain.read() == false)
        #expect(try inverted.read() == true)
        chip.setLevel(1, high: true)
        chip.setLevel(2, high: true)
        #expect(try plain.read() == true)
        #expect(try inverted.read() == false)
    }

    @Test func scheduledChangesHappenWhenTheClockGetsThere() throws {
        let clock = ManualClock()
        let chip = MockGPIOChip(clock: clock)
        let line = try chip.requestInput(offset: 0, GPIOInputRequest(edges: .both))
        chip.setLevel(0, high: true, atNanoseconds: 5 * ms)
        #expect(try line.read() == false)
        #expect(try line.nextEdge(timeoutNanoseconds: 0) == nil)
        clock.advance(byNanoseconds: 5 * ms)
        #expect(try line.read() == true)
        #expect(try line.nextEdge(timeoutNanoseconds: 0) == GPIOEdgeEvent(rising: true, timestampNanoseconds: 5 * ms))
        #expect(try line.nextEdge(timeoutNanoseconds: 0) == nil)
    }

    @Test func bounceProducesOneEdgePerToggleWithTimestamps() throws {
        let clock = ManualClock(startNanoseconds: 100 * ms)
        let chip = MockGPIOChip(clock: clock)
        let line = try chip.requestInput(offset: 3, GPIOInputRequest(activeLow: true, edges: .both))
        chip.injectBounce(3, togglesAtNanoseconds: [101 * ms, 102 * ms, 104 * ms])
        clock.advance(byNanoseconds: 10 * ms)
        var events: [GPIOEdgeEvent] = []
        while let e = try line.nextEdge(timeoutNanoseconds: 0) { events.append(e) }
        // Physical low → high → low → high; active-low turns that into falling, rising, falling.
        #expect(events == [
            GPIOEdgeEvent(rising: false, timestampNanoseconds: 101 * ms),
            GPIOEdgeEvent(rising: true, timestampNanoseconds: 102 * ms),
            GPIOEdgeEvent(rising: false, timestampNanoseconds: 104 * ms),
        ])
        #expect(chip.isHigh(3))
    }

    @Test func edgeDetectionFiltersEdges() throws {
        let chip = MockGPIOChip()
        let line = try chip.requestInput(offset: 0, GPIOInputRequest(edges: .falling))
        chip.setLevel(0, high: true)
        chip.setLevel(0, high: false)
        #expect(try line.nextEdge(timeoutNanoseconds: 0)?.rising == false)
        #expect(try line.nextEdge(timeoutNanoseconds: 0) == nil)
    }

    @Test func queuedEdgeEventsArriveWithoutChangingTheLevel() throws {
        let clock = ManualClock()
        let chip = MockGPIOChip(clock: clock)
        let line = try chip.requestInput(offset: 6, GPIOInputRequest(edges: .both))
        chip.queueEdgeEvent(6, rising: true, atNanoseconds: 42)
        clock.advance(byNanoseconds: 42)
        #expect(try line.nextEdge(timeoutNanoseconds: 0) == GPIOEdgeEvent(rising: true, timestampNanoseconds: 42))
        #expect(try line.read() == false)
    }

    @Test func edgesWithoutEdgeDetectionAreUnsupported() throws {
        let chip = MockGPIOChip()
        let line = try chip.requestInput(offset: 0, GPIOInputRequest())
        #expect(throws: GPIOError(.unsupported, chip: "gpiochip0", offset: 0)) { try line.nextEdge(timeoutNanoseconds: 0) }
    }

    @Test func outputsRecordWhatWasDrivenWithHistory() throws {
        let clock = ManualClock()
        let chip = MockGPIOChip(clock: clock)
        let relay = try chip.requestOutput(offset: 7, GPIOOutputRequest(activeLow: true, initial: false))
        #expect(chip.outputValue(7) == false)
        #expect(chip.isHigh(7)) // active-low off = high
        clock.advance(byNanoseconds: 3 * ms)
        try relay.write(true)
        #expect(relay.lastWritten)
        #expect(chip.outputValue(7) == true)
        #expect(chip.isHigh(7) == false)
        #expect(chip.outputHistory(7) == [
            .init(value: false, high: true, atNanoseconds: 0),
            .init(value: true, high: false, atNanoseconds: 3 * ms),
        ])
    }

    @Test func failedOpenIsNoSuchLine() throws {
        let chip = MockGPIOChip(name: "gpiochip4")
        chip.failRequests(5)
        let error = #expect(throws: GPIOError.self) { try chip.requestInput(offset: 5, GPIOInputRequest()) }
        #expect(error?.kind == .noSuchLine)
        chip.clearFailure(5)
        _ = try chip.requestInput(offset: 5, GPIOInputRequest())
    }

    @Test func offsetBeyondTheChipIsNoSuchLine() {
        let chip = MockGPIOChip(lineCount: 8)
        let error = #expect(throws: GPIOError.self) { try chip.requestOutput(offset: 8, GPIOOutputRequest()) }
        #expect(error?.kind == .noSuchLine)
        #expect(error?.description == "gpiochip0: no GPIO line at offset 8 (line offset 8)")
    }

    @Test func aRequestedLineIsBusyUntilReleased() throws {
        let chip = MockGPIOChip()
        let line = try chip.requestOutput(offset: 1, GPIOOutputRequest())
        let error = #expect(throws: GPIOError.self) { try chip.requestInput(offset: 1, GPIOInputRequest()) }
        #expect(error?.kind == .busy)
        line.release()
        #expect(throws: GPIOError.self) { try line.write(true) }
        _ = try chip.requestInput(offset: 1, GPIOInputRequest())
    }

    @Test func boardOpensLinesByNameOnTheMock() throws {
        let chip = MockGPIOChip(name: "gpiochip0", label: "pinctrl-bcm2711")
        let board = GPIOBoard(config: piBoard, boardFile: "boards/raspberry-pi-4.yaml", openChip: MockGPIOChip.opener([chip]))
        chip.setLevel(17, high: false)
        let button = try board.input(GPIOInputSettings(line: "GPIO17", activeLow: true))
        #expect(try button.read() == true)
        let relay = try board.output(line: "GPIO27", initial: true)
        #expect(relay.offset == 27)
        #expect(chip.outputValue(27) == true)
    }

    @Test func boardNamesTheBoardFileWhenALineIsMissing() {
        let board = GPIOBoard(config: piBoard, boardFile: "boards/raspberry-pi-4.yaml",
                              openChip: MockGPIOChip.opener([MockGPIOChip(label: "pinctrl-bcm2711")]))
        let error = #expect(throws: GPIOError.self) { try board.input(GPIOInputSettings(line: "GPIO99")) }
        #expect(error?.kind == .noSuchLine)
        #expect(error?.description == "GPIO99: no such GPIO line in the board file (of board boards/raspberry-pi-4.yaml)")
    }

    @Test func boardRejectsAChipWithTheWrongLabel() {
        let board = GPIOBoard(config: piBoard, boardFile: "boards/raspberry-pi-4.yaml",
                              openChip: MockGPIOChip.opener([MockGPIOChip(label: "gpio-mockup")]))
        let error = #expect(throws: GPIOError.self) { try board.output(line: "GPIO27") }
        #expect(error?.kind == .wrongChip(expectedLabel: "pinctrl-bcm2711", foundLabel: "gpio-mockup"))
        #expect(error?.line == "GPIO27")
    }

    @Test func boardAddsLineAndBoardFileToChipErrors() {
        let chip = MockGPIOChip(label: "pinctrl-bcm2711")
        chip.failRequests(17, with: .busy)
        let board = GPIOBoard(config: piBoard, boardFile: "boards/raspberry-pi-4.yaml", openChip: MockGPIOChip.opener([chip]))
        let error = #expect(throws: GPIOError.self) { try board.input(GPIOInputSettings(line: "GPIO17")) }
        #expect(error?.description
            == "gpiochip0: GPIO line is busy (requested by another user) (line GPIO17 of board boards/raspberry-pi-4.yaml)")
    }
}

let piBoard = BoardConfig(name: "raspberry-pi-4", gpioChips: [
    GPIOChipSpec(name: "gpiochip0", label: "pinctrl-bcm2711", lines: [
        GPIOLineSpec(name: "GPIO17", offset: 17, pin: "pin 11"),
        GPIOLineSpec(name: "GPIO27", offset: 27, pin: "pin 13"),
    ]),
])
