import VigilCore

/// A simulated device a fault can be injected into: the real-time one on a libmodbus server
/// (`SimulatedModbusDevice`) or the virtual-time one (`VirtualModbusDevice`).
public protocol FaultableDevice: AnyObject {
    var config: DeviceConfig { get }
    func injectReplyDelay(milliseconds: Int)
    func injectNoReply(_ on: Bool)
    func injectException(_ exception: InjectedException?)
    /// Off the network until `endInjectedDisconnect()` or, when given, for `milliseconds`.
    func injectDisconnect(milliseconds: Int?)
    func endInjectedDisconnect()
}

/// A simulated serial line a fault can be injected into: `VirtualSerialLine` (a pty relay in real
/// time) or `VirtualLine` (virtual time).
public protocol FaultableLine: AnyObject {
    /// The next `frames` answers toward the master arrive with a bad CRC.
    func injectCorruption(frames: Int)
    /// Each answer toward the master is corrupted with probability `p` (0 ends it).
    func injectCorruption(probability p: Double)
    /// Nothing passes until `clearInjectedBreak()` or, when given, for `milliseconds`.
    func injectBreak(milliseconds: Int?)
    func clearInjectedBreak()
    /// A gap of `milliseconds` in the middle of every frame toward the master (0 ends it).
    func injectGap(milliseconds: Int)
}

/// A simulated rig faults can be injected into: its plant, its process model and where each
/// device, line and GPIO input lives.
public protocol FaultableRig: AnyObject {
    /// The plant as configured (ids, addresses, ports as written).
    var original: PlantConfig { get }
    var model: PlantModel { get }
    /// Time of simulation time 0 on the rig's clock.
    var epochNanoseconds: UInt64 { get }
    /// The rig's clock now (the same scale as `epochNanoseconds`).
    var nowNanoseconds: UInt64 { get }
    func faultableDevice(_ id: String) -> (any FaultableDevice)?
    /// A device's backup path (`backup:` gateway or `backup_port:` line), if it has one.
    func faultableBackupDevice(_ id: String) -> (any FaultableDevice)?
    /// A serial line by configured port name (primary or backup).
    func faultableLine(_ port: String) -> (any FaultableLine)?
    /// The mock chip and line offset of a GPIO input sensor (nil when the rig has no GPIO).
    func gpioInput(sensor id: String) -> (chip: MockGPIOChip, offset: Int, activeLow: Bool)?
}

extension SimulatedModbusDevice: FaultableDevice {
    public func injectReplyDelay(milliseconds: Int) { setReplyDelay(milliseconds: milliseconds) }
    public func injectNoReply(_ on: Bool) { setNoReply(on) }
    public func injectException(_ exception: InjectedException?) { setException(exception) }
    public func injectDisconnect(milliseconds: Int?) { disconnect(forMilliseconds: milliseconds) }
    public func endInjectedDisconnect() { reconnect() }
}

extension VirtualModbusDevice: FaultableDevice {
    public func injectReplyDelay(milliseconds: Int) { setReplyDelay(milliseconds: milliseconds) }
    public func injectNoReply(_ on: Bool) { setNoReply(on) }
    public func injectException(_ exception: InjectedException?) { setException(exception) }
    public func injectDisconnect(milliseconds: Int?) { disconnect(forMilliseconds: milliseconds) }
    public func endInjectedDisconnect() { reconnect() }
}

extension VirtualSerialLine: FaultableLine {
    public func injectCorruption(frames: Int) { corruptNextFrames(frames, direction: .toClient) }
    public func injectCorruption(probability p: Double) { setCorruptionProbability(p, direction: .toClient) }
    public func injectBreak(milliseconds: Int?) { breakLine(forMilliseconds: milliseconds) }
    public func clearInjectedBreak() { clearBreak() }
    public func injectGap(milliseconds: Int) { insertGap(milliseconds: milliseconds, frames: milliseconds > 0 ? Int.max : 0) }
}

extension VirtualLine: FaultableLine {
    public func injectCorruption(frames: Int) { corruptNextFrames(frames) }
    public func injectCorruption(probability p: Double) { setCorruptionProbability(p) }
    public func injectBreak(milliseconds: Int?) { breakLine(forMilliseconds: milliseconds) }
    public func clearInjectedBreak() { clearBreak() }
    public func injectGap(milliseconds: Int) { insertGap(milliseconds: milliseconds) }
}
