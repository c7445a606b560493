import VigilCore

/// A point's place inside a planned read.
public struct PlannedPoint: Sendable, Hashable {
    /// Index into the device's `points`.
    public var pointIndex: Int
    /// Registers (or bits) from the start of the block.
    public var offset: Int
}

/// One Modbus read request covering one or more points.
public struct ReadBlock: Sendable, Hashable {
    public var function: RegisterFunction
    public var address: Int
    /// Registers or bits requested.
    public var count: Int
    public var points: [PlannedPoint]

    public var endAddress: Int { address + count }
}

/// Merges the points of a device into as few reads as the protocol and the device allow.
///
/// Points of one table are sorted by address and read together while the unused gap between
/// them stays within `maxGap` and the whole read within the per-read limit (125 registers,
/// 2000 bits, or the device's own lower limit). Reading through a small gap costs a few bytes;
/// a separate request costs a full round trip (on RTU at 9600 baud, ~10 ms).
public enum ReadPlanner {
    /// Plans the reads for one device, using its gap and size limits.
    public static func plan(_ device: DeviceConfig) -> [ReadBlock] {
        plan(points: device.points,
             maxGapRegisters: device.maxGapRegisters, maxGapBits: device.maxGapBits,
             maxRegistersPerRead: device.maxRegistersPerRead, maxBitsPerRead: device.maxBitsPerRead)
    }

    /// Plans reads for a list of points. Blocks come ordered by table (coils, discrete inputs,
    /// holding, input) then address.
    public static func plan(points: [PointConfig], maxGapRegisters: Int = 16, maxGapBits: Int = 64,
                            maxRegistersPerRead: Int = 125, maxBitsPerRead: Int = 2000) -> [ReadBlock] {
        var blocks: [ReadBlock] = []
        for function in RegisterFunction.allCases {
            let maxGap = max(0, function.isBit ? maxGapBits : maxGapRegisters)
            let maxCount = max(1, min(function.maxReadCount, function.isBit ? maxBitsPerRead : maxRegistersPerRead))
            let indices = points.indices
                .filter { points[$0].function == function }
                .sorted { (points[$0].address, points[$0].endAddress) < (points[$1].address, points[$1].endAddress) }
            var current: ReadBlock?
            for index in indices {
                let p = points[index]
                if var block = current {
                    let newEnd = max(block.endAddress, p.endAddress)
                    if p.address - block.endAddress <= maxGap && newEnd - block.address <= maxCount {
                        block.count = newEnd - block.address
                        block.points.append(PlannedPoint(pointIndex: index, offset: p.address - block.address))
                        current = block
                        continue
                    }
                    blocks.append(block)
                }
                // A single point wider than the limit is still read whole; the config checker rejects it.
                current = ReadBlock(function: function, address: p.address, count: p.width,
                                    points: [PlannedPoint(pointIndex: index, offset: 0)])
            }
            if let block = current { blocks.append(block) }
        }
        return blocks
    }
}
