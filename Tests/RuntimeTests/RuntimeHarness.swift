import Policy
import Foundation
import Logging
import VigilCore
import Config
import Fieldbus
import Journal
import HIL
@testable import Runtime

/// The demo plant on the simulated rig (real libmodbus slaves on loopback TCP and a virtual
/// serial line, mock GPIO chips) with the real controller running against it.
final class RuntimeHarness {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let rig: SimulatedRig
    let controller: Controller
    let gpioChips: [MockGPIOChip]
    let journalPath: String

    init(adjust: (inout PlantConfig) -> Void = { _ in }, minimumPeriodMicroseconds: Int = 1000,
         allocationCounter: (@convention(c) () -> UInt64)? = nil, notifier: SystemdNotifier? = nil, policyModel: PolicyModel? = nil) throws {
        let loaded = try ConfigLoader.loadPlant(path: Self.root.appendingPathComponent("configs/demo-pump-station.yaml").path)
        var plant = loaded.plant
        adjust(&plant)
        let clock = SystemMonotonicClock()
        rig = try SimulatedRig(plant: plant, ports: .ephemeral, pacing: .unpaced, seed: 3, clock: clock)
        let (gpioBoard, chips) = SimulatedGPIO.board(for: loaded.board!, boardFile: "boards/raspberry-pi-4.yaml", plant: rig.plant, clock: clock)
        gpioChips = chips
        let gpio = try GPIOPlant(config: rig.plant, board: gpioBoard, clock: clock)
        journalPath = NSTemporaryDirectory() + "vigil-runtime-test-\(UUID().uuidString).sqlite"
        let journal = try Journal(path: journalPath)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        controller = try Controller(plant: rig.plant, board: loaded.board, gpio: gpio, journal: journal, logger: logger,
                                    notifier: notifier, minimumPeriodMicroseconds: minimumPeriodMicroseconds,
                                    allocationCounter: allocationCounter, policyModel: policyModel)
        try controller.start()
    }

    /// Stops the controller, then the rig, and removes the journal.
    func shutdown(removeJournal: Bool = true) {
        controller.stop()
        rig.stop()
        if removeJournal {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: journalPath + suffix) }
        }
    }

    func sim(_ device: String) -> SimulatedModbusDevice { rig.device(device)! }

    /// What the simulated device holds for a point (what Vigil wrote, for outputs).
    func deviceValue(_ device: String, _ point: String) -> Double? { sim(device).currentValue(ofPoint: point) }
}

/// Waits for a condition that another thread makes true (no sleep as synchronisation: the
/// condition is the synchronisation; the bound only turns a hang into a failure).
func eventually(within seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(2_000)
    }
    return condition()
}
