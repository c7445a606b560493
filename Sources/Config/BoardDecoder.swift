import VigilCore
import Yams

/// Turns a board document into a `BoardConfig`, reporting every problem to the sink.
enum BoardDecoder {
    static let topKeys = ["name", "description", "gpio_chips", "serial_ports", "cycle_cpu"]

    static func decode(_ root: Node, sink: DiagnosticSink) -> BoardConfig? {
        guard let top = MappingReader(root, path: "", allowed: topKeys, sink: sink) else { return nil }
        let name = top.string("name", required: true, expected: "the board's name")
        let description = top.string("description")
        let cpu = top.int("cycle_cpu", in: 0...Int.max)

        var chips: [GPIOChipSpec] = []
        for item in top.list("gpio_chips", expected: "a list of GPIO chips") ?? [] {
            if let chip = chip(item.node, path: item.path, sink: sink) { chips.append(chip) }
        }
        var ports: [SerialPortSpec] = []
        var portPaths: [String] = []
        for item in top.list("serial_ports", expected: "a list of serial ports") ?? [] {
            if let port = serialPort(item.node, path: item.path, sink: sink) {
                ports.append(port)
                portPaths.append(item.path)
            }
        }
        checkUnique(chips.enumerated().map { ($0.element.name, "gpio_chips[\($0.offset)].name") },
                    what: "GPIO chip name", sink: sink)
        var lineNames: [(String, String)] = []
        for (c, chip) in chips.enumerated() {
            for (l, line) in chip.lines.enumerated() {
                lineNames.append((line.name, "gpio_chips[\(c)].lines[\(l)].name"))
            }
            checkUnique(chip.lines.enumerated().map { (String($0.element.offset), "gpio_chips[\(c)].lines[\($0.offset)].offset") },
                        what: "line offset on chip \(quoted(chip.name))", sink: sink)
        }
        checkUnique(lineNames, what: "GPIO line name on this board", sink: sink)
        checkUnique(ports.enumerated().map { ($0.element.name, portPaths[$0.offset].key("name")) },
                    what: "serial port name", sink: sink)
        checkUnique(ports.enumerated().map { ($0.element.path, portPaths[$0.offset].key("path")) },
                    what: "serial device path", sink: sink)

        guard let name, !sink.hasErrors else { return nil }
        return BoardConfig(name: name, description: description, gpioChips: chips, serialPorts: ports, cycleCPU: cpu)
    }

    private static func chip(_ node: Node, path: String, sink: DiagnosticSink) -> GPIOChipSpec? {
        guard let map = MappingReader(node, path: path, allowed: ["name", "label", "lines"], sink: sink) else { return nil }
        let name = map.string("name", required: true, expected: "a chip name such as gpiochip0")
        let label = map.string("label")
        var lines: [GPIOLineSpec] = []
        for item in map.list("lines", required: true, expected: "a list of GPIO lines") ?? [] {
            guard let line = MappingReader(item.node, path: item.path, allowed: ["name", "offset", "pin"], sink: sink) else { continue }
            let lineName = line.string("name", required: true, expected: "the line's board-wide name")
            let offset = line.int("offset", in: 0...1023, required: true)
            let pin = line.string("pin")
            if let lineName, let offset { lines.append(GPIOLineSpec(name: lineName, offset: offset, pin: pin)) }
        }
        guard let name else { return nil }
        return GPIOChipSpec(name: name, label: label, lines: lines)
    }

    private static func serialPort(_ node: Node, path: String, sink: DiagnosticSink) -> SerialPortSpec? {
        guard let map = MappingReader(node, path: path, allowed: ["name", "path", "rs485", "rts_delay_us"], sink: sink) else { return nil }
        let name = map.string("name", required: true, expected: "the port's name used by configs")
        let devicePath = map.string("path", required: true, expected: "an absolute device path /dev/...")
        if let devicePath, !devicePath.hasPrefix("/dev/") {
            map.wrong("path", map.node("path", expected: "")!, expected: "an absolute device path /dev/...", kind: .outOfRange)
        }
        let rs485 = map.bool("rs485") ?? false
        let delay = map.int("rts_delay_us", in: 0...1_000_000) ?? 0
        guard let name, let devicePath else { return nil }
        return SerialPortSpec(name: name, path: devicePath, rs485: rs485, rtsDelayMicroseconds: delay)
    }
}

/// Reports every repeat of a value after its first occurrence.
func checkUnique(_ entries: [(value: String, path: String)], what: String, sink: DiagnosticSink) {
    var first: [String: String] = [:]
    for entry in entries {
        if let firstPath = first[entry.value] {
            sink.report(.duplicate, entry.path, found: "\(quoted(entry.value)) again (first at \(sink.position(of: firstPath)))",
                        expected: "a unique \(what)")
        } else {
            first[entry.value] = entry.path
        }
    }
}
