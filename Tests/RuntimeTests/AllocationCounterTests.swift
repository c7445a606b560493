import Testing
import CAllocCounter

/// The malloc interposer the cycle's zero-allocation proof relies on must itself be trustworthy:
/// it must see Swift's allocations, and only the calling thread's.
@Suite struct AllocationCounterTests {
    @Test func countsSwiftHeapAllocationsOfThisThread() {
        #expect(vigil_alloc_counter_active() == 1)
        let before = vigil_thread_allocations()
        var arrays: [[Int]] = []
        for i in 0..<10 { arrays.append(Array(repeating: i, count: 100)) }
        #expect(vigil_thread_allocations() - before >= 10)
        #expect(arrays.count == 10)
    }

    @Test func arithmeticOnPreallocatedStorageCountsNothing() {
        let buffer = UnsafeMutableBufferPointer<Double>.allocate(capacity: 64)
        defer { buffer.deallocate() }
        buffer.initialize(repeating: 1)
        let before = vigil_thread_allocations()
        var sum = 0.0
        for _ in 0..<1000 { for i in buffer.indices { buffer[i] = buffer[i] * 1.0001; sum += buffer[i] } }
        #expect(vigil_thread_allocations() == before)
        #expect(sum > 0)
    }
}
