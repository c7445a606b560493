import Config
import Testing
import VigilCore

/// The shipped demo config and board files check clean and decode to what they say.
@Suite struct ValidConfigTests {
    @Test func demoConfigAndEveryBoardCheckClean() {
        let diagnostics = ConfigChecker.check(paths: [FixturePaths.demoConfig] + FixturePaths.boardFiles)
        #expect(diagnostics.map(\.description) == [])
    }

    @Test func demoConfigDecodesWithItsBoard() throws {
        let (plant, board) = try ConfigLoader.loadPlant(path: FixturePaths.demoConfig)
        #expect(plant.name == "demo-pump-station")
        #expect(board?.name == "raspberry-pi-4")
        #expect(plant.devices.map(\.id) == ["pump-plc", "tank-io", "rtu-temps"])
        #expect(plant.sensors.count == 13)
        #expect(plant.outputs.count == 6)
        #expect(plant.limits.count == 5)
        #expect(plant.simulationSignals.map(\.name).contains("tank_level"))

        let plc = try #require(plant.device(id: "pump-plc"))
        #expect(plc.transport == .tcp(host: "127.0.0.1", port: 15020))
        #expect(plc.maxGapRegisters == 16)
        #expect(plc.maxRegistersPerRead == 125) // default
        let pressureB = try #require(plc.points.first { $0.id == "discharge_pressure_b" })
        #expect(pressureB.function == .input && pressureB.address == 2 && pressureB.type == .float32 && pressureB.order == .cdab)
        #expect(pressureB.simulation == PointSimulation(source: .signal("discharge_pressure"), noise: 0.01))
        let mode = try #require(plc.points.first { $0.id == "pump_status_mode" })
        #expect(mode.type == .bitField(bit: 8, width: 4) && mode.address == 110)
        let fault = try #require(plc.points.first { $0.id == "pump_status_fault_bit" })
        #expect(fault.type == .bitField(bit: 3, width: 1))
        let current = try #require(plc.points.first { $0.id == "pump1_current" })
        #expect(current.simulation?.source == .inline(SignalSpec(shape: .sine, base: 11.5, amplitude: 0.4, periodSeconds: 20, noise: 0.05)))
        #expect(plc.points.first { $0.id == "pump1_run_cmd" }?.type == .bool)

        let rtu = try #require(plant.device(id: "rtu-temps"))
        #expect(rtu.transport == .rtu(RTUSettings(port: "rs485-0", baud: 19200, parity: .even, dataBits: 8, stopBits: 1)))
        #expect(rtu.unitID == 3 && rtu.responseTimeoutMilliseconds == 300 && rtu.pollIntervalMilliseconds == 500)

        let group = try #require(plant.redundancyGroups.first { $0.id == "discharge-pressure" })
        #expect(group.members == ["PT-101A", "PT-101B", "PT-101C"])
        #expect(group.quantity == "pressure")

        let estop = try #require(plant.sensors.first { $0.id == "ESTOP" })
        #expect(estop.source == .gpio(GPIOInputSettings(line: "GPIO22", activeLow: true, bias: .pullUp, debounceMilliseconds: 5)))
        #expect(estop.rangeMin == 0 && estop.rangeMax == 1)
        #expect(plant.outputs.first { $0.id == "dosing-pump-enable" }?.target == .gpio(line: "GPIO23", activeLow: true))
        #expect(plant.outputs.first { $0.id == "alarm-beacon" }?.safe == 1)

        let interlock = try #require(plant.limits.first { $0.id == "tank-low-low" })
        #expect(interlock.severity == .interlock && interlock.low == 0.5 && interlock.high == nil)
        #expect(interlock.safeOutputs == ["pump1-run", "pump2-run"])
    }

    @Test func boardOverrideReplacesTheBoardKey() throws {
        let (_, board) = try ConfigLoader.loadPlant(path: FixturePaths.demoConfig,
                                                    boardPath: FixturePaths.root + "/boards/raspberry-pi-5.yaml")
        #expect(board?.name == "raspberry-pi-5")
        #expect(board?.gpioChips.first?.label == "pinctrl-rp1")
    }

    @Test func demoNeedsABoardWithItsLines() {
        // The generic gateway has no GPIO and one RS-485 port, so the demo's GPIO sensors and outputs,
        // its backup RS-485 line (usb-rs485) and its console port do not resolve there.
        let diagnostics = ConfigChecker.check(path: FixturePaths.demoConfig,
                                              boardPath: FixturePaths.root + "/boards/generic-gateway.yaml")
        #expect(diagnostics.count == 6)
        #expect(diagnostics.allSatisfy { $0.kind == .unresolvedReference })
        #expect(diagnostics.filter { $0.keyPath.hasSuffix("gpio.line") }.count == 4)
        #expect(diagnostics.filter { $0.keyPath.hasSuffix("backup_port") }.count == 1)
        #expect(diagnostics.filter { $0.keyPath == "console.port" }.count == 1)
    }

    @Test func raspberryPi4HasTheDemoLinesAtBCMOffsets() throws {
        let board = try ConfigLoader.loadBoard(path: FixturePaths.root + "/boards/raspberry-pi-4.yaml")
        #expect(board.gpioChips.map(\.label) == ["pinctrl-bcm2711"])
        #expect(board.line(named: "GPIO17")?.line == GPIOLineSpec(name: "GPIO17", offset: 17, pin: "pin 11"))
        for name in ["GPIO22", "GPIO23", "GPIO27"] {
            #expect(board.line(named: name)?.line.offset == Int(name.dropFirst(4)))
        }
        #expect(board.gpioChips[0].lines.count == 26) // GPIO2...GPIO27
        #expect(board.serialPort(named: "rs485-0") == SerialPortSpec(name: "rs485-0", path: "/dev/ttyAMA0", rs485: true))
        #expect(board.serialPort(named: "usb-rs485")?.path.hasPrefix("/dev/serial/by-id/") == true)
        #expect(board.cycleCPU == 3)
    }

    @Test func beagleBoneLinesSitOnTheirBanks() throws {
        let board = try ConfigLoader.loadBoard(path: FixturePaths.root + "/boards/beaglebone-black.yaml")
        #expect(board.gpioChips.count == 4)
        // GPIO44 = bank 1, offset 12; GPIO60 = bank 1, offset 28; GPIO66 = bank 2, offset 2.
        #expect(board.line(named: "P8_12").map { ($0.chip.name, $0.line.offset) } ?? ("", -1) == ("gpiochip1", 12))
        #expect(board.line(named: "P9_12").map { ($0.chip.name, $0.line.offset) } ?? ("", -1) == ("gpiochip1", 28))
        #expect(board.line(named: "P8_7").map { ($0.chip.name, $0.line.offset) } ?? ("", -1) == ("gpiochip2", 2))
        #expect(board.cycleCPU == nil)
    }

    @Test func genericGatewayUsesAStableUSBPath() throws {
        let board = try ConfigLoader.loadBoard(path: FixturePaths.root + "/boards/generic-gateway.yaml")
        #expect(board.gpioChips.isEmpty)
        #expect(board.serialPort(named: "rs485-0")?.path.hasPrefix("/dev/serial/by-id/usb-") == true)
    }
}
