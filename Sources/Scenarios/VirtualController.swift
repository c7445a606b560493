import Config
import Fieldbus
import HIL
import Kernel
import Monitor
import VigilCore

/// The cycle kernel driven in virtual time against a `VirtualRig`: the same `CycleKernel`, the same
/// pollers, links and `LinkSchedule`s as the real-time runtime, with the rig's virtual transports
/// under them and time taken from manual clocks instead of `clock_nanosleep`.
///
/// Each `step()` is one cycle: every link runs the passes due by the cycle's plant time (a pass
/// advances the link's own clock by what its transactions took; a reading becomes visible to the
/// kernel only once its transaction has finished), GPIO inputs are sampled, the kernel steps, and
/// its outputs, repair requests and events go where the runtime would send them. No thread, no
/// socket and no host clock: two runs with the same plant, seed and faults are identical.
public final class VirtualController {
    public let plant: PlantConfig
    public let rig: VirtualRig
    public let kernel: CycleKernel
    public let modbus: ModbusPlant
    public let periodNanoseconds: UInt64
    private let schedules: [LinkSchedule]
    /// Per link: the plant device index of each of its pollers.
    private let linkDevices: [[Int]]
    private var nextPass: [UInt64]
    /// Per plant device: its link and poller index.
    private let deviceLink: [(link: Int, poller: Int)]
    /// Per plant device: the readings the kernel sees, and a poll that finished after the current
    /// cycle's time (visible from `pendingAt`).
    private var visible: [[Reading]]
    private var pending: [[Reading]]
    private var pendingAt: [UInt64]
    private var requests: [UInt32]
    private let gpio: GPIOPlant?
    private let gpioOutput: [Int]
    private var lastGPIOWritten: [Double]
    private enum Source { case point(device: Int, point: Int), gpio(Int), none }
    private let sources: [Source]
    private var sensors: [Reading]
    private var commanded: [Double]
    private var started = false

    /// - Parameters:
    ///   - board: the plant's board (GPIO lines, serial port paths); nil for a plant without GPIO.
    public init(plant: PlantConfig, board: BoardConfig? = nil, boardFile: String? = nil, seed: UInt64 = 1,
                pacing: VirtualRig.Pacing = .paced, timing: WireTiming = WireTiming(),
                options: KernelOptions = KernelOptions(), epochNanoseconds: UInt64 = 1_000_000_000) throws {
        self.plant = plant
        let rig = try VirtualRig(plant: plant, board: board, seed: seed, pacing: pacing, timing: timing, epochNanoseconds: epochNanoseconds)
        let kernel = try CycleKernel(plant: plant, options: options)
        let modbus = try ModbusPlant(config: plant, board: board, transports: rig, seed: seed)
        self.rig = rig
        self.kernel = kernel
        self.modbus = modbus
        periodNanoseconds = kernel.periodNanoseconds
        var schedules: [LinkSchedule] = [], linkDevices: [[Int]] = []
        var deviceLink = Array(repeating: (link: -1, poller: -1), count: plant.devices.count)
        for (l, link) in modbus.links.enumerated() {
            let pollers = link.pollers.map { modbus.pollers[$0] }
            let devices = pollers.map { p in plant.devices.firstIndex { $0.id == p.device.id }! }
            for (k, d) in devices.enumerated() { deviceLink[d] = (l, k) }
            schedules.append(LinkSchedule(pollers: pollers, outputs: LinkTargets.outputs(of: plant, on: pollers.map(\.device)),
                                          clock: rig.linkClock(l), basePeriodNanoseconds: kernel.periodNanoseconds,
                                          epochNanoseconds: epochNanoseconds))
            linkDevices.append(devices)
        }
        self.schedules = schedules
        self.linkDevices = linkDevices
        self.deviceLink = deviceLink
        nextPass = Array(repeating: epochNanoseconds, count: schedules.count)
        visible = plant.devices.map { Array(repeating: .unread, count: $0.points.count) }
        pending = visible
        pendingAt = Array(repeating: .max, count: plant.devices.count)
        requests = Array(repeating: 0, count: plant.devices.count)
        let gpio: GPIOPlant?
        if let board, let boardFile, plant.sensors.contains(where: { if case .gpio = $0.source { true } else { false } })
            || plant.outputs.contains(where: { if case .gpio = $0.target { true } else { false } }) {
            let gpioBoard = GPIOBoard(config: board, boardFile: boardFile, openChip: MockGPIOChip.opener(rig.gpioChips))
            gpio = try GPIOPlant(config: plant, board: gpioBoard, clock: rig.clock)
        } else {
            gpio = nil
        }
        self.gpio = gpio
        let gpioIDs = gpio?.sensorIDs ?? []
        sources = plant.sensors.map { sensor in
            switch sensor.source {
            case .point(let device, let point):
                guard let d = plant.devices.firstIndex(where: { $0.id == device }),
                      let p = plant.devices[d].points.firstIndex(where: { $0.id == point }) else { return .none }
                return .point(device: d, point: p)
            case .gpio:
                return gpioIDs.firstIndex(of: sensor.id).map { .gpio($0) } ?? .none
            }
        }
        gpioOutput = plant.outputs.map { output in gpio?.outputIDs.firstIndex(of: output.id) ?? -1 }
        lastGPIOWritten = Array(repeating: .nan, count: plant.outputs.count)
        sensors = Array(repeating: .unread, count: plant.sensors.count)
        commanded = plant.outputs.map(\.safe)
    }

    /// Plant time of the current (last completed) cycle.
    public var nowNanoseconds: UInt64 { rig.clock.nowNanoseconds() }
    /// Cycles completed.
    public var cycle: UInt64 { kernel.cycle }
    public var epochNanoseconds: UInt64 { rig.epochNanoseconds }

    /// The kernel's `started` event (its events are in `kernel.events` until the first step).
    public func start() {
        guard !started else { return }
        started = true
        kernel.start(nowNanoseconds: rig.epochNanoseconds)
    }

    /// One cycle, at the next period boundary of plant time.
    public func step() {
        if !started { start() }
        let now = rig.epochNanoseconds &+ (kernel.cycle &+ 1) &* periodNanoseconds
        rig.clock.advance(toNanoseconds: now)
        runLinks(until: now)
        gatherInputs()
        sensors.withUnsafeBufferPointer { kernel.step(nowNanoseconds: now, sensors: $0) }
        deliver()
    }

    /// An orderly stop: the kernel's shutdown step (every output safe), then every link writes the
    /// safe values once more.
    public func stop() {
        let now = rig.epochNanoseconds &+ (kernel.cycle &+ 1) &* periodNanoseconds
        rig.clock.advance(toNanoseconds: now)
        runLinks(until: now)
        gatherInputs()
        sensors.withUnsafeBufferPointer { kernel.stepShutdown(nowNanoseconds: now, sensors: $0) }
        deliver()
        for (l, schedule) in schedules.enumerated() {
            rig.linkClock(l).advance(toNanoseconds: now)
            commanded.withUnsafeBufferPointer { _ = schedule.pass(commanded: $0, requests: { _ in 0 }, published: { _ in }, final: true) }
        }
    }

    // MARK: Links

    private func runLinks(until now: UInt64) {
        for l in schedules.indices {
            deliverDue(link: l, now: now)
            let clock = rig.linkClock(l)
            while nextPass[l] <= now {
                clock.advance(toNanoseconds: nextPass[l])
                let devices = linkDevices[l]
                nextPass[l] = commanded.withUnsafeBufferPointer { values in
                    schedules[l].pass(commanded: values, requests: { p in
                        let d = devices[p]
                        defer { requests[d] = 0 }
                        return requests[d]
                    }, published: { p in
                        let d = devices[p]
                        pending[d] = schedules[l].pollers[p].readings
                        pendingAt[d] = clock.nowNanoseconds()
                    })
                }
                deliverDue(link: l, now: now)
            }
        }
    }

    /// Readings whose poll finished by `now` become what the kernel sees.
    private func deliverDue(link l: Int, now: UInt64) {
        for d in linkDevices[l] where pendingAt[d] <= now {
            swap(&visible[d], &pending[d])
            pendingAt[d] = .max
        }
    }

    private func gatherInputs() {
        gpio?.poll()
        for i in sources.indices {
            switch sources[i] {
            case .point(let d, let p): sensors[i] = visible[d][p]
            case .gpio(let g): sensors[i] = gpio!.reading(at: g)
            case .none: sensors[i] = .unread
            }
        }
    }

    private func deliver() {
        for o in commanded.indices { commanded[o] = kernel.output(o) }
        if let gpio {
            for o in gpioOutput.indices where gpioOutput[o] >= 0 && commanded[o] != lastGPIOWritten[o] {
                do {
                    try gpio.write(outputAt: gpioOutput[o], value: commanded[o] != 0)
                    lastGPIOWritten[o] = commanded[o]
                } catch {
                    lastGPIOWritten[o] = .nan
                }
            }
        }
        for r in kernel.repairRequests where r.device >= 0 && Int(r.device) < requests.count {
            let d = Int(r.device)
            let request: LinkSchedule.RepairStrategyRequest? = switch r.strategy {
            case .switchToBackupGateway: .switchPath
            case .slowPolling: .slowPolling
            case .reconnect: .reconnect
            default: nil
            }
            guard let request, deviceLink[d].link >= 0 else { continue }
            requests[d] |= LinkSchedule.requestBits(for: request, onBackup: schedules[deviceLink[d].link].isOnBackup(deviceLink[d].poller))
        }
    }

    // MARK: State for reports

    /// The readings the kernel saw in the last cycle.
    public var sensorReadings: [Reading] { sensors }
    /// The outputs commanded in the last cycle.
    public var outputValues: [Double] { commanded }
    /// Per plant device: reached over its backup path.
    public var devicesOnBackup: [Bool] {
        deviceLink.map { $0.link >= 0 ? schedules[$0.link].isOnBackup($0.poller) : false }
    }
    /// Per plant device: the poll interval in use, in ms.
    public var devicePollIntervalsMilliseconds: [Int] {
        deviceLink.enumerated().map { d, at in
            at.link >= 0 ? Int(schedules[at.link].pollIntervalNanoseconds(at.poller) / 1_000_000) : plant.devices[d].pollIntervalMilliseconds
        }
    }
    /// Per plant device: path switches of its link.
    public var devicePathSwitches: [Int] { deviceLink.map { $0.link >= 0 ? schedules[$0.link].switches : 0 } }
    /// Output writes that failed, over every link.
    public var outputWriteFailures: Int { schedules.reduce(0) { $0 + $1.writeFailures } }
}
