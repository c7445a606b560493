import Foundation
import Testing
@testable import Runtime

/// The seqlock board carries the cycle's alarms and command receipts to other threads: a reader
/// must never see an element half written, and never see time go backwards.
@Suite struct SeqLockBoardTests {
    struct Pair: Equatable {
        var value: UInt64
        var check: UInt64
    }

    @Test func readsOfOneElementAndOfTheWholeBoardAreNeverTornWhileTheWriterPublishes() {
        let board = SeqLockBoard<Pair>(count: 8, initial: Pair(value: 0, check: ~0))
        let updates: UInt64 = 200_000
        let done = DispatchSemaphore(value: 0)
        let writer = Thread {
            var all = [Pair](repeating: Pair(value: 0, check: ~0), count: 8)
            for k in 1...updates {
                if k % 64 == 0 {
                    for i in 0..<8 { all[i] = Pair(value: k, check: ~k) }
                    all.withUnsafeBufferPointer { board.publish($0) }
                } else {
                    board.publish(at: 3, Pair(value: k, check: ~k))
                }
            }
            done.signal()
        }
        writer.start()
        var last: UInt64 = 0
        var torn = 0, backwards = 0, reads = 0
        var finished = false
        while !finished {
            finished = done.wait(timeout: .now()) == .success // one more pass after the writer ends
            let p = board.read(at: 3)
            if p.check != ~p.value { torn += 1 }
            if p.value < last { backwards += 1 }
            last = p.value
            let snapshot = board.snapshot()
            if snapshot.contains(where: { $0.check != ~$0.value }) { torn += 1 }
            reads += 1
        }
        #expect(torn == 0, "\(torn) torn reads in \(reads)")
        #expect(backwards == 0)
        #expect(board.read(at: 3) == Pair(value: updates, check: ~updates), "the last publish is what a reader sees at the end")
        #expect(board.read(at: 0).value == updates / 64 * 64)
    }
}
