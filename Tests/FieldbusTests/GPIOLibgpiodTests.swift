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

    // Needs the kernel's gpio-sim module (configfs at /sys/kernel/config/gpio-sim) and root to
    // create a simulated chip. This machine has neither, so the test is skipped here; on a kernel
    // with gpio-sim (`modprobe gpio-sim`) it exercises the libgpiod backend end to end.
    @Test(.enabled(if: GPIOSim.isAvailable,
                   "needs the gpio-sim kernel module (/sys/kernel/config/gpio-sim, writable: modprobe gpio-sim, run as root)"))
    func simulatedChipReadsWritesAndReportsEdges() throws {
        let sim = try GPIOSim(lines: 8)
        defer { sim.remove() }
        let chip = try LibgpiodChip(name: sim.chipName)
        #expect(chip.lineCount == 8)

        let relay = try chip.requestOutput(offset: 2, GPIOOutputRequest(consumer: "vigil-test", initial: false))
        try relay.write(true)
        #expect(try sim.value(2) == true)
        let inverted = try chip.requestOutput(offset: 5, GPIOOutputRequest(consumer: "vigil-test", activeLow: true, initial: true))
        #expect(try sim.value(5) == false)
        inverted.release()

        try sim.pull(3, up: true)
        let button = try chip.requestInput(offset: 3, GPIOInputRequest(consumer: "vigil-test", activeLow: true, edges: .both))
        #expect(try button.read() == false)
        try sim.pull(3, up: false)
        let edge = try #require(try button.nextEdge(timeoutNanoseconds: 1_000_000_000))
        #expect(edge.rising) // active-low: falling physical edge is a logical rising edge
        #expect(edge.timestampNanoseconds > 0)
        #expect(try button.read() == true)

        let busy = #expect(throws: GPIOError.self) { try chip.requestInput(offset: 3, GPIOInputRequest()) }
        #expect(busy?.kind == .busy)
        let beyond = #expect(throws: GPIOError.self) { try chip.requestInput(offset: 8, GPIOInputRequest()) }
        #expect(beyond?.kind == .noSuchLine)
    }
}

/// A chip of the kernel's gpio-sim module, created through configfs for one test.
struct GPIOSim {
    static let root = "/sys/kernel/config/gpio-sim"
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
        try Self.write("vigil-test", to: "\(directory)/bank0/label")
        try Self.write("1", to: "\(directory)/live")
        chipName = try Self.read("\(directory)/bank0/chip_name")
        let device = try Self.read("\(directory)/dev_name")
        sysfs = "/sys/devices/platform/\(device)/\(chipName)"
    }

    func value(_ offset: Int) throws -> Bool { try Self.read("\(sysfs)/sim_gpio\(offset)/value") == "1" }
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
