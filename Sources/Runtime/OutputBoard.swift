import Synchronization
import VigilCore

/// The output values the cycle commands, read by the threads that own the output hardware (bus
/// scanners for Modbus). The watchdog can force every output to its safe value without the cycle
/// thread's help: `forceSafe` is a plain atomic flag every writer checks before each write.
final class OutputBoard: @unchecked Sendable {
    let safeValues: [Double]
    private let commanded: SeqLockBoard<Double>
    private let forced = Atomic<Bool>(false)

    init(outputs: [OutputConfig]) {
        safeValues = outputs.map(\.safe)
        commanded = SeqLockBoard(count: outputs.count, initial: 0)
        safeValues.withUnsafeBufferPointer { commanded.publish($0) }
    }

    var count: Int { safeValues.count }

    /// Cycle thread: publishes this cycle's output values.
    func command(_ values: UnsafeBufferPointer<Double>) { commanded.publish(values) }

    /// Writer threads: the values to write now (the safe values while forced).
    func values(into destination: UnsafeMutableBufferPointer<Double>) {
        commanded.read(into: destination)
        if forced.load(ordering: .acquiring) {
            for i in 0..<min(destination.count, safeValues.count) { destination[i] = safeValues[i] }
        }
    }

    /// Watchdog or shutdown: every output to its safe value until `release()`.
    func forceSafe() { forced.store(true, ordering: .releasing) }
    func release() { forced.store(false, ordering: .releasing) }
    var isForced: Bool { forced.load(ordering: .acquiring) }
}
