import VigilCore

/// The GPIO sensors and outputs of a plant, opened on a board: debounced inputs that yield
/// readings like Modbus points do, and outputs driven by logical value.
///
/// A line that cannot be read gives a bad reading (`disconnected`), never a thrown error.
public final class GPIOPlant {
    /// Ids of the GPIO sensors, in the order of `reading(at:)`.
    public let sensorIDs: [String]
    /// Ids of the GPIO outputs.
    public let outputIDs: [String]
    private let inputs: [DebouncedInput]
    private let outputs: [any GPIOOutputLine]
    private var latest: [Reading]
    private let clock: any MonotonicClock

    /// Opens every GPIO sensor and output of `config` on `board`. Outputs start at their
    /// configured safe value: the controller moves them once it has a good cycle.
    /// Throws the first line that cannot be opened, naming chip, line and board file.
    public init(config: PlantConfig, board: GPIOBoard, clock: any MonotonicClock, consumer: String = "vigil") throws(GPIOError) {
        self.clock = clock
        var ids: [String] = [], inputs: [DebouncedInput] = []
        for sensor in config.sensors {
            guard case .gpio(let settings) = sensor.source else { continue }
            let line = try board.input(settings, consumer: consumer)
            inputs.append(try DebouncedInput(line: line, windowNanoseconds: UInt64(max(0, settings.debounceMilliseconds)) * 1_000_000,
                                             clock: clock, source: .sampling))
            ids.append(sensor.id)
        }
        var outIDs: [String] = [], outs: [any GPIOOutputLine] = []
        for output in config.outputs {
            guard case .gpio(let line, let activeLow) = output.target else { continue }
            outs.append(try board.output(line: line, activeLow: activeLow, initial: output.safe != 0, consumer: consumer))
            outIDs.append(output.id)
        }
        sensorIDs = ids
        outputIDs = outIDs
        self.inputs = inputs
        self.outputs = outs
        latest = Array(repeating: .unread, count: inputs.count)
    }

    /// Samples every input through its debouncer.
    public func poll() {
        for i in inputs.indices {
            let start = clock.nowNanoseconds()
            do {
                let level = try inputs[i].poll()
                let end = clock.nowNanoseconds()
                latest[i] = Reading(value: level ? 1 : 0, timestampNanoseconds: end, latencyNanoseconds: end &- start, quality: .good)
            } catch {
                latest[i].quality = .bad(.disconnected)
                latest[i].timestampNanoseconds = clock.nowNanoseconds()
            }
        }
    }

    /// The latest reading of the sensor `sensorIDs[index]`.
    public func reading(at index: Int) -> Reading { latest[index] }

    /// Drives output `outputIDs[index]` to a logical value.
    public func write(outputAt index: Int, value: Bool) throws(GPIOError) {
        try outputs[index].write(value)
    }

    /// The value output `outputIDs[index]` was last driven to.
    public func lastWritten(outputAt index: Int) -> Bool { outputs[index].lastWritten }
}
