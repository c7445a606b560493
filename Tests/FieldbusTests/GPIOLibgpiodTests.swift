import Foundation
import Testing
import Fieldbus
import VigilCore

/// These tests call the real libgpiod through the shim.
@Suite("LibgpiodChip")
struct GPIOLibgpiodTests {
    @Test func shimIsBuiltAgainstAKnownAPI() {
        #expect([1, 2].contains(LibgpiodChip.apiVersion))
    }

    // scripts/test-gpiod2 sets VIGIL_EXPECT_GPIOD_API=2, so its run proves the shim took the v2 branch.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["VIGIL_EXPECT_GPIOD_API"] != nil,
                   "set VIGIL_EXPECT_GPIOD_API to the libgpiod API (1 or 2) the build must use"))
    func shimIsBuiltAgainstTheExpectedAPI() throws {
        let expected = try #require(ProcessInfo.processInfo.environment["VIGIL_EXPECT_GPIOD_API"].flatMap { Int($0) })
        #expect(LibgpiodChip.apiVersion == expected)
    }

    @Test func missingChipIsNoSuchChip() {
        let error = #expect(throws: GPIOError.self) { try LibgpiodChip(name: "gpiochip42") }
        #expect(error?.kind == .noSuchChip)
        #expect(error?.chip == "gpiochip42")
    }

    @Test func missingChipNamesChipLineAndBoardFile() {
        let board = BoardConfig(name: "test", gpioChips: [
            GPIOChipSpec(name: "gpiochip42", lines: [GPIOLineSpec(name: "GPIO17", offset: 17)]),
        ])
        let gpio = GPIOBoard.libgpiod(config: board, boardFile: "boards/raspberry-pi-4.yaml")
        let error = #expect(throws: GPIOError.self) { try gpio.input(GPIOInputSettings(line: "GPIO17")) }
        #expect(error?.kind == .noSuchChip)
        #expect(error?.chip == "gpiochip42")
        #expect(error?.line == "GPIO17")
        #expect(error?.boardFile == "boards/raspberry-pi-4.yaml")
        #expect(error?.description == "gpiochip42: no such GPIO chip (line GPIO17 of board boards/raspberry-pi-4.yaml)")
    }

    // 300 characters: over NAME_MAX for the kernel (v1) and over the shim's path buffer (v2).
    @Test func chipNameTooLongIsRejectedNotTruncated() {
        let name = "gpiochip" + String(repeating: "9", count: 292)
        let error = #expect(throws: GPIOError.self) { try LibgpiodChip(name: name) }
        #expect(error?.kind == .io(errno: ENAMETOOLONG))
    }

    @Test func pathThatIsNotAChipIsNoSuchChip() {
        let error = #expect(throws: GPIOError.self) { try LibgpiodChip(name: "/dev/null") }
        #expect(error?.kind == .noSuchChip)
    }
}

/// The libgpiod backend end to end on simulated chips of the kernel's gpio-sim module: requests,
/// values, bias, active-low, edge events and their timestamps, release and conflicts, checked
/// against what the kernel reports through gpio-sim's sysfs attributes. Needs gpio-sim and root;
/// `scripts/test-gpio-sim` boots a kernel that has it and runs this suite on both libgpiod APIs.
@Suite("LibgpiodChip on gpio-sim", .serialized,
       .enabled(if: GPIOSim.isAvailable,
                "needs the gpio-sim kernel module (/sys/kernel/config/gpio-sim writable, as root): scripts/test-gpio-sim"))
struct GPIOSimTests {
    /// Generous: a busy machine (or a VM without KVM) may be slow to deliver an event.
    static let edgeTimeout: UInt64 = 10_000_000_000

    @Test func chipOpensByNameAndPathWithLabelAndLineCount() throws {
        let sim = try GPIOSim(lines: 8)
        defer { sim.remove() }
        let byName = try LibgpiodChip(name: sim.chipName)
        #expect(byName.label == GPIOSim.label)
        #expect(byName.lineCount == 8)
        let byPath = try LibgpiodChip(name: "/dev/\(sim.chipName)")
        #expect(byPath.label == GPIOSim.label)
        #expect(byPath.lineCount == 8)
    }

    @Test func inputsReadThePullAndActiveLowInvertsThem() throws {
        let sim = try GPIOSim(lines: 8)
        defer { sim.remove() }
        let chip = try LibgpiodChip(name: sim.chipName)
        let plain = try chip.requestInput(offset: 1, GPIOInputRequest(consumer: "vigil-test"))
        let inverted = try chip.requestInput(offset: 4, GPIOInputRequest(consumer: "vigil-test", activeLow: true))
        #expect(try plain.read() == false) // gpio-sim lines start pulled down
        #expect(try inverted.read() == true)
        try sim.pull(1, up: true)
        try sim.pull(4, up: true)
        #expect(try plain.read() == true)
        #expect(try inverted.read() == false)
        try sim.pull(1, up: false)
        #expect(try plain.read() == false)
        #expect(try inverted.read() == false) // line 4 untouched
    }

    @Test func requestedBiasReachesTheLine() throws {
        let sim = try GPIOSim(lines: 8)
        defer { sim.remove() }
        let chip = try LibgpiodChip(name: sim.chipName)

        let up = try chip.requestInput(offset: 0, GPIOInputRequest(consumer: "vigil-test", bias: .pullUp))
        #expect(try sim.pullSetting(0) == "pull-up")
        #expect(try sim.value(0) == true)
        #expect(try up.read() == true)

        try sim.pull(6, up: true)
        let down = try chip.requestInput(offset: 6, GPIOInputRequest(consumer: "vigil-test", bias: .pullDown))
        #expect(try sim.pullSetting(6) == "pull-down")
        #expect(try down.read() == false)

        try sim.pull(7, up: true)
        let asIs = try chip.requestInput(offset: 7, GPIOInputRequest(consumer: "vigil-test", bias: .asIs))
        #expect(try sim.pullSetting(7) == "pull-up")
        #expect(try asIs.read() == true)

        // gpio-sim has no bias-disable setting; the kernel treats it as optional, so the request succeeds.
        let disabled = try chip.requestInput(offset: 3, GPIOInputRequest(consumer: "vigil-test", bias: .disabled))
        #expect(try disabled.read() == false)

        // Bias with active-low: the pull-up is physical, the read is logical.
        up.release()
        try sim.pull(0, up: false)
        let button = try chip.requestInput(offset: 0, GPIOInputRequest(consumer: "vigil-test", activeLow: true, bias: .pullUp))
        #expect(try sim.pullSetting(0) == "pull-up")
        #expect(try button.read() == false)
    }

    @Test func outputsDriveTheLineOverItsPull() throws {
        let sim = try GPIOSim(lines: 8)
        defer { sim.remove() }
        let chip = try LibgpiodChip(name: sim.chipName)

        try sim.pull(2, up: true)
        let relay = try chip.requestOutput(offset: 2, GPIOOutputRequest(consumer: "vigil-test", initial: false))
        #expect(try sim.value(2) == false)
        #expect(relay.lastWritten == false)
        try relay.write(true)
        #expect(try sim.value(2) == true)
        #expect(relay.lastWritten == true)
        try relay.write(false)
        #expect(try sim.value(2) == false)

        let lamp = try chip.requestOutput(offset: 3, GPIOOutputRequest(consumer: "vigil-test", initial: true))
        #expect(try sim.value(3) == true)
        #expect(lamp.lastWritten == true)

        let inverted = try chip.requestOutput(offset: 5, GPIOOutputRequest(consumer: "vigil-test", activeLow: true, initial: true))
        #expect(try sim.value(5) == false)
        try inverted.write(false)
        #expect(try sim.value(5) == true)
        #expect(try sim.value(2) == false) // other lines untouched
        #expect(try sim.value(3) == true)
    }

    @Test func releaseGivesTheLineBackAndItCanBeRequestedAgain() throws {
        let sim = try GPIOSim(lines: 8)
        defer { sim.remove() }
        let chip = try LibgpiodChip(name: sim.chipName)

        let relay = try chip.requestOutput(offset: 2, GPIOOutputRequest(consumer: "vigil-test", initial: true))
        #expect(try sim.value(2) == true)
        relay.release()
        #expect(try sim.value(2) == false) // released: the line follows its pull-down
        let written = #expect(throws: GPIOError.self) { try relay.write(true) }
        #expect(written?.kind == .released)
        #expect(try sim.value(2) == false)

        let input = try chip.requestInput(offset: 2, GPIOInputRequest(consumer: "vigil-test", edges: .both))
        #expect(try input.read() == false)
        input.release()
        let read = #expect(throws: GPIOError.self) { try input.read() }
        #expect(read?.kind == .released)
        let waited = #expect(throws: GPIOError.self) { try input.nextEdge(timeoutNanoseconds: 0) }
        #expect(waited?.kind == .released)

        let again = try chip.requestOutput(offset: 2, GPIOOutputRequest(consumer: "vigil-test", initial: true))
        #expect(try sim.value(2) == true)
        again.release()
        again.release() // releasing twice is harmless
        #expect(try sim.value(2) == false)
    }

    @Test func edgesCarryTheirDirectionAndAMonotonicTimestamp() throws {
        let sim = try GPIOSim(lines: 8)
        defer { sim.remove() }
        let chip = try LibgpiodChip(name: sim.chipName)
        let line = try chip.requestInput(offset: 3, GPIOInputRequest(consumer: "vigil-test", edges: .both))
        #expect(try line.nextEdge(timeoutNanoseconds: 0) == nil)

        let beforeUp = monotonicNanoseconds()
        try sim.pull(3, up: true)
        let up = try #require(try line.nextEdge(timeoutNanoseconds: Self.edgeTimeout))
        let afterUp = monotonicNanoseconds()
        #expect(up.rising)
        #expect(up.timestampNanoseconds >= beforeUp && up.timestampNanoseconds <= afterUp,
                "edge at \(up.timestampNanoseconds) ns, expected within [\(beforeUp), \(afterUp)] on CLOCK_MONOTONIC")
        #expect(try line.read() == true)

        try sim.pull(3, up: false)
        let down = try #require(try line.nextEdge(timeoutNanoseconds: Self.edgeTimeout))
        let afterDown = monotonicNanoseconds()
        #expect(!down.rising)
        #expect(down.timestampNanoseconds > up.timestampNanoseconds && down.timestampNanoseconds <= afterDown)
        #expect(try line.read() == false)
        #expect(try line.nextEdge(timeoutNanoseconds: 0) == nil) // one event per change

        let plain = try chip.requestInput(offset: 4, GPIOInputRequest(consumer: "vigil-test"))
        let noEdges = #expect(throws: GPIOError.self) { try plain.nextEdge(timeoutNanoseconds: 0) }
        #expect(noEdges?.kind == .unsupported)
    }

    // Each event is read before the line changes again: an edge that comes while the kernel still
    // handles the previous one of the same line can be merged into it.
    @Test func edgeDetectionDeliversOnlyTheRequestedDirection() throws {
        let sim = try GPIOSim(lines: 8)
        defer { sim.remove() }
        let chip = try LibgpiodChip(name: sim.chipName)
        let rising = try chip.requestInput(offset: 1, GPIOInputRequest(consumer: "vigil-test", edges: .rising))
        let falling = try chip.requestInput(offset: 6, GPIOInputRequest(consumer: "vigil-test", edges: .falling))
        for (line, offset, wantRising) in [(rising, 1, true), (falling, 6, false)] {
            var events: [GPIOEdgeEvent] = []
            for _ in 0..<2 {
                // The edge not requested first (none on line 1's first pass: it starts low): had
                // it been delivered, it would be the event read here.
                try sim.pull(offset, up: !wantRising)
                try sim.pull(offset, up: wantRising)
                events.append(try #require(try line.nextEdge(timeoutNanoseconds: Self.edgeTimeout)))
            }
            #expect(events.map(\.rising) == [wantRising, wantRising])
            #expect(events[1].timestampNanoseconds > events[0].timestampNanoseconds)
            #expect(try line.nextEdge(timeoutNanoseconds: 0) == nil)
        }
    }

    @Test func activeLowMakesAFallingLineARisingEdge() throws {
        let sim = try GPIOSim(lines: 8)
        defer { sim.remove() }
        let chip = try LibgpiodChip(name: sim.chipName)
        try sim.pull(3, up: true)
        let button = try chip.requestInput(offset: 3, GPIOInputRequest(consumer: "vigil-test", activeLow: true, edges: .rising))
        #expect(try button.read() == false)
        try sim.pull(3, up: false) // pressed: the line falls
        let press = try #require(try button.nextEdge(timeoutNanoseconds: Self.edgeTimeout))
        #expect(press.rising)
        #expect(try button.read() == true)
        try sim.pull(3, up: true) // released: a logical falling edge, not requested
        try sim.pull(3, up: false)
        let next = try #require(try button.nextEdge(timeoutNanoseconds: Self.edgeTimeout))
        #expect(next.rising)
        #expect(next.timestampNanoseconds > press.timestampNanoseconds)
        #expect(try button.nextEdge(timeoutNanoseconds: 0) == nil)
    }

    @Test func aSecondRequestOfARequestedLineIsBusyUntilReleased() throws {
        let sim = try GPIOSim(lines: 8)
        defer { sim.remove() }
        let chip = try LibgpiodChip(name: sim.chipName)
        let other = try LibgpiodChip(name: sim.chipName) // its own file descriptor, as another process has

        let owner = try chip.requestInput(offset: 3, GPIOInputRequest(consumer: "vigil-test", edges: .both))
        let sameChip = #expect(throws: GPIOError.self) { try chip.requestInput(offset: 3, GPIOInputRequest()) }
        #expect(sameChip?.kind == .busy)
        let asInput = #expect(throws: GPIOError.self) { try other.requestInput(offset: 3, GPIOInputRequest()) }
        #expect(asInput?.kind == .busy)
        #expect(asInput?.chip == sim.chipName)
        #expect(asInput?.offset == 3)
        #expect(asInput?.description == "\(sim.chipName): GPIO line is busy (requested by another user) (line offset 3)")
        let asOutput = #expect(throws: GPIOError.self) { try other.requestOutput(offset: 3, GPIOOutputRequest(initial: true)) }
        #expect(asOutput?.kind == .busy)
        #expect(try sim.value(3) == false) // the failed output request drove nothing

        let beyond = #expect(throws: GPIOError.self) { try other.requestInput(offset: 8, GPIOInputRequest()) }
        #expect(beyond?.kind == .noSuchLine)

        owner.release()
        let taken = try other.requestOutput(offset: 3, GPIOOutputRequest(consumer: "vigil-test", initial: true))
        #expect(try sim.value(3) == true)
        taken.release()
    }

    @Test func boardOpensLinesByNameAndChecksTheChipLabel() throws {
        let sim = try GPIOSim(lines: 8)
        defer { sim.remove() }
        let lines = [GPIOLineSpec(name: "BUTTON", offset: 3), GPIOLineSpec(name: "RELAY", offset: 2)]
        let board = GPIOBoard.libgpiod(
            config: BoardConfig(name: "sim", gpioChips: [GPIOChipSpec(name: sim.chipName, label: GPIOSim.label, lines: lines)]),
            boardFile: "boards/sim.yaml")

        let button = try board.input(GPIOInputSettings(line: "BUTTON", activeLow: true, bias: .pullUp), edges: .both)
        #expect(try sim.pullSetting(3) == "pull-up")
        #expect(try button.read() == false)
        try sim.pull(3, up: false)
        let press = try #require(try button.nextEdge(timeoutNanoseconds: Self.edgeTimeout))
        #expect(press.rising)

        let relay = try board.output(line: "RELAY", initial: true)
        #expect(try sim.value(2) == true)
        try relay.write(false)
        #expect(try sim.value(2) == false)

        let busy = #expect(throws: GPIOError.self) { try board.output(line: "BUTTON") }
        #expect(busy?.kind == .busy)
        #expect(busy?.line == "BUTTON")
        #expect(busy?.boardFile == "boards/sim.yaml")

        let wrongBoard = GPIOBoard.libgpiod(
            config: BoardConfig(name: "pi", gpioChips: [GPIOChipSpec(name: sim.chipName, label: "pinctrl-bcm2711", lines: lines)]),
            boardFile: "boards/raspberry-pi-4.yaml")
        let wrong = #expect(throws: GPIOError.self) { try wrongBoard.output(line: "RELAY") }
        #expect(wrong?.kind == .wrongChip(expectedLabel: "pinctrl-bcm2711", foundLabel: GPIOSim.label))
        #expect(try sim.value(2) == false) // the wrong board requested nothing
    }
}

private func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
}

/// A chip of the kernel's gpio-sim module, created through configfs for one test and removed after.
/// Its lines start pulled down; `pull` changes a line's simulated pull (an input follows it, with
/// an edge event when requested) and `value` is the line's level as the kernel sees it (an output
/// shows what it drives).
struct GPIOSim {
    static let root = "/sys/kernel/config/gpio-sim"
    static let label = "vigil-test"
    static var isAvailable: Bool { FileManager.default.isWritableFile(atPath: root) }

    let directory: String
    let chipName: String
    let sysfs: String

    init(lines: Int) throws {
        directory = "\(Self.root)/vigil-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: false)
        try fm.createDirectory(atPath: "\(directory)/bank0", withIntermediateDirectories: false)
        try Self.write("\(lines)", to: "\(directory)/bank0/num_lines")
        try Self.write(Self.label, to: "\(directory)/bank0/label")
        try Self.write("1", to: "\(directory)/live")
        chipName = try Self.read("\(directory)/bank0/chip_name")
        let device = try Self.read("\(directory)/dev_name")
        sysfs = "/sys/devices/platform/\(device)/\(chipName)"
    }

    func value(_ offset: Int) throws -> Bool {
        let text = try Self.read("\(sysfs)/sim_gpio\(offset)/value")
        guard text == "0" || text == "1" else { throw CocoaError(.fileReadCorruptFile) }
        return text == "1"
    }
    /// "pull-up" or "pull-down": the simulated pull, which a requested bias sets.
    func pullSetting(_ offset: Int) throws -> String { try Self.read("\(sysfs)/sim_gpio\(offset)/pull") }
    func pull(_ offset: Int, up: Bool) throws { try Self.write(up ? "pull-up" : "pull-down", to: "\(sysfs)/sim_gpio\(offset)/pull") }

    func remove() {
        try? Self.write("0", to: "\(directory)/live")
        rmdir("\(directory)/bank0")
        rmdir(directory)
    }

    static func write(_ text: String, to path: String) throws { try text.write(toFile: path, atomically: false, encoding: .utf8) }
    static func read(_ path: String) throws -> String {
        try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
