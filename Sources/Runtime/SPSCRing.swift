import Synchronization

/// A bounded single-producer single-consumer ring of trivial values. `push` never blocks and
/// never allocates; when the ring is full the new value is dropped and counted.
final class SPSCRing<Element>: @unchecked Sendable {
    private let capacity: Int
    private let buffer: UnsafeMutablePointer<Element>
    private let head = Atomic<Int>(0) // next slot to read (consumer)
    private let tail = Atomic<Int>(0) // next slot to write (producer)
    private let droppedCount = Atomic<Int>(0)

    init(capacity: Int, filler: Element) {
        precondition(_isPOD(Element.self))
        self.capacity = max(2, capacity)
        buffer = .allocate(capacity: self.capacity)
        buffer.initialize(repeating: filler, count: self.capacity)
    }

    deinit { buffer.deallocate() }

    /// Producer: false (and counted) when full.
    @inline(__always) @discardableResult
    func push(_ value: Element) -> Bool {
        let t = tail.load(ordering: .relaxed)
        let next = t + 1 == capacity ? 0 : t + 1
        if next == head.load(ordering: .acquiring) {
            droppedCount.add(1, ordering: .relaxed)
            return false
        }
        buffer[t] = value
        tail.store(next, ordering: .releasing)
        return true
    }

    /// Consumer: hands every queued value to `body`, oldest first; returns how many.
    @discardableResult
    func drain(_ body: (Element) -> Void) -> Int {
        var h = head.load(ordering: .relaxed)
        let t = tail.load(ordering: .acquiring)
        var n = 0
        while h != t {
            body(buffer[h])
            h = h + 1 == capacity ? 0 : h + 1
            n += 1
        }
        head.store(h, ordering: .releasing)
        return n
    }

    var dropped: Int { droppedCount.load(ordering: .relaxed) }
}
