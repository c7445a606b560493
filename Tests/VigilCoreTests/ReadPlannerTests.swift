import Testing
@testable import VigilCore

@Suite struct ReadPlannerTests {
    func reg(_ id: String, _ address: Int, _ type: PointDataType = .uint16, _ f: RegisterFunction = .holding) -> PointConfig {
        PointConfig(id: id, function: f, address: address, type: type)
    }

    @Test func adjacentRegistersMergeIntoOneRead() {
        let blocks = ReadPlanner.plan(points: [reg("a", 0), reg("b", 1, .float32), reg("c", 3, .int64)])
        #expect(blocks.count == 1)
        #expect(blocks[0].address == 0 && blocks[0].count == 7)
        #expect(blocks[0].points.map(\.offset) == [0, 1, 3])
    }

    @Test func gapWithinLimitIsReadThrough() {
        let blocks = ReadPlanner.plan(points: [reg("a", 0), reg("b", 17)], maxGapRegisters: 16)
        #expect(blocks.count == 1)
        #expect(blocks[0].count == 18)
    }

    @Test func gapBeyondLimitSplitsTheRead() {
        let blocks = ReadPlanner.plan(points: [reg("a", 0), reg("b", 18)], maxGapRegisters: 16)
        #expect(blocks.map(\.address) == [0, 18])
        #expect(blocks.map(\.count) == [1, 1])
    }

    @Test func zeroGapMergesOnlyContiguousPoints() {
        let blocks = ReadPlanner.plan(points: [reg("a", 0), reg("b", 1), reg("c", 3)], maxGapRegisters: 0)
        #expect(blocks.map(\.address) == [0, 3])
    }

    @Test func readNeverExceeds125Registers() {
        // 100 float32 values back to back: 200 registers, must be split at the protocol limit
        // without cutting a value in half.
        let points = (0..<100).map { reg("p\($0)", $0 * 2, .float32) }
        let blocks = ReadPlanner.plan(points: points)
        #expect(blocks.allSatisfy { $0.count <= 125 })
        #expect(blocks.count == 2)
        #expect(blocks[0].count == 124 && blocks[1].address == 124)
        #expect(blocks.flatMap(\.points).count == 100)
    }

    @Test func deviceLimitBelowProtocolLimitIsHonoured() {
        let points = (0..<20).map { reg("p\($0)", $0) }
        let blocks = ReadPlanner.plan(points: points, maxRegistersPerRead: 8)
        #expect(blocks.map(\.count) == [8, 8, 4])
    }

    @Test func bitReadsStopAt2000Bits() {
        let points = (0..<2500).map { reg("c\($0)", $0, .bool, .coil) }
        let blocks = ReadPlanner.plan(points: points)
        #expect(blocks.map(\.count) == [2000, 500])
    }

    @Test func tablesAreNeverMixed() {
        let blocks = ReadPlanner.plan(points: [reg("h", 0), reg("i", 0, .uint16, .input), reg("c", 0, .bool, .coil),
                                               reg("d", 0, .bool, .discreteInput)])
        #expect(blocks.map(\.function) == [.coil, .discreteInput, .holding, .input])
    }

    @Test func bitFieldsSharingARegisterAreReadOnce() {
        let blocks = ReadPlanner.plan(points: [reg("f1", 10, .bitField(bit: 0, width: 3)), reg("f2", 10, .bitField(bit: 3, width: 1))])
        #expect(blocks.count == 1 && blocks[0].count == 1)
        #expect(blocks[0].points.map(\.offset) == [0, 0])
    }

    @Test func unsortedPointsArePlannedByAddress() {
        let blocks = ReadPlanner.plan(points: [reg("z", 40), reg("a", 0), reg("m", 20)], maxGapRegisters: 5)
        #expect(blocks.map(\.address) == [0, 20, 40])
        #expect(blocks.map { $0.points[0].pointIndex } == [1, 2, 0])
    }

    @Test func demoDeviceNeedsFewReads() {
        // The demo's pump PLC: input registers 0..27 with one gap, holding 100 and 110, coils, discretes.
        let points = [reg("a", 0, .float32, .input), reg("b", 2, .float32, .input), reg("c", 4, .int16, .input),
                      reg("d", 6, .uint32, .input), reg("e", 8, .int32, .input), reg("f", 20, .uint64, .input),
                      reg("g", 24, .float64, .input), reg("h", 100), reg("i", 110, .bitField(bit: 3, width: 1)),
                      reg("j", 0, .bool, .coil), reg("k", 1, .bool, .coil)]
        let blocks = ReadPlanner.plan(points: points, maxGapRegisters: 16)
        #expect(blocks.count == 3) // coils 0-1, holding 100..110, input 0..27
    }
}
