import Synchronization

/// Latest values from one writer thread to any number of readers, without locks (a seqlock).
///
/// The writer never waits and never allocates: it bumps the sequence to odd, copies, bumps it to
/// even. A reader copies and retries if the sequence moved, so it never sees a half-written set.
/// `Element` must be a trivial type (no references): readers copy raw bytes.
final class SeqLockBoard<Element>: @unchecked Sendable {
    let count: Int
    private let storage: UnsafeMutablePointer<Element>
    private let sequence = Atomic<UInt64>(0)

    init(count: Int, initial: Element) {
        precondition(_isPOD(Element.self), "SeqLockBoard holds trivial values only")
        self.count = count
        storage = .allocate(capacity: max(count, 1))
        storage.initialize(repeating: initial, count: max(count, 1))
    }

    deinit { storage.deallocate() }

    /// Writer side: copies `values` in. Only one thread may publish.
    func publish(_ values: UnsafeBufferPointer<Element>) {
        let s = sequence.load(ordering: .relaxed)
        sequence.store(s &+ 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
        UnsafeMutableRawPointer(storage).copyMemory(from: UnsafeRawPointer(values.baseAddress!),
                                                    byteCount: min(values.count, count) * MemoryLayout<Element>.stride)
        sequence.store(s &+ 2, ordering: .releasing)
    }

    /// Writer side: changes one element in place.
    func publish(at index: Int, _ value: Element) {
        let s = sequence.load(ordering: .relaxed)
        sequence.store(s &+ 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
        storage[index] = value
        sequence.store(s &+ 2, ordering: .releasing)
    }

    /// Reader side: copies a consistent set into `destination` (which holds at least `count`).
    /// Returns the sequence number of the copy (it grows by 2 per publish).
    @discardableResult
    func read(into destination: UnsafeMutableBufferPointer<Element>) -> UInt64 {
        let bytes = min(destination.count, count) * MemoryLayout<Element>.stride
        while true {
            let before = sequence.load(ordering: .acquiring)
            if before & 1 == 1 { continue } // a publish is in progress
            UnsafeMutableRawPointer(destination.baseAddress!).copyMemory(from: UnsafeRawPointer(storage), byteCount: bytes)
            atomicMemoryFence(ordering: .acquiring)
            if sequence.load(ordering: .relaxed) == before { return before }
        }
    }

    /// Reader side: a consistent copy of one element (no allocation).
    func read(at index: Int) -> Element {
        precondition(index >= 0 && index < count, "SeqLockBoard index out of range")
        return withUnsafeTemporaryAllocation(of: Element.self, capacity: 1) { one in
            while true {
                let before = sequence.load(ordering: .acquiring)
                if before & 1 == 1 { continue } // a publish is in progress
                UnsafeMutableRawPointer(one.baseAddress!).copyMemory(from: UnsafeRawPointer(storage + index),
                                                                    byteCount: MemoryLayout<Element>.stride)
                atomicMemoryFence(ordering: .acquiring)
                if sequence.load(ordering: .relaxed) == before { return one[0] }
            }
        }
    }

    /// Reader side: a consistent copy as an array (allocates: not for the cycle thread).
    func snapshot() -> [Element] {
        [Element](unsafeUninitializedCapacity: count) { buffer, initialized in
            read(into: buffer)
            initialized = count
        }
    }
}
