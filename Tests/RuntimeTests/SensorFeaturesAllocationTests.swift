import Testing
import CAllocCounter
import Monitor
import VigilCore

/// `PlantMonitor.features` runs on the cycle thread for every sensor, so it must not allocate.
@Suite struct SensorFeaturesAllocationTests {
    /// Like the cycle's own proof, a property of the optimized build (README's `swift test -c release` pass).
    @Test(.enabled(if: !_isDebugAssertConfiguration(), "runs in the release pass of README's test command (swift test -c release)"))
    func featuresOfEverySensorAllocateNothing() throws {
        let plant = PlantConfig(
            name: "features",
            devices: [DeviceConfig(id: "d", transport: .tcp(host: "10.0.0.1", port: 502), pollIntervalMilliseconds: 10)],
            sensors: ["A", "B", "C", "T", "U", "F"].map {
                SensorConfig(id: $0, source: .point(device: "d", point: $0.lowercased()), rangeMin: 0, rangeMax: 16, quantity: "pressure")
            },
            redundancyGroups: [RedundancyGroupConfig(id: "P", primary: "A", backups: ["B", "C"]),
                               RedundancyGroupConfig(id: "T", primary: "T", backups: ["U"])])
        var monitor = try PlantMonitor(plant: plant)
        var rng = SeededRandom(seed: 3)
        var readings = [Reading](repeating: .unread, count: 6)
        var out = [Reading](repeating: .unread, count: 2)
        let features = UnsafeMutableBufferPointer<Float>.allocate(capacity: SensorFeatures.count)
        defer { features.deallocate() }
        features.initialize(repeating: 0)
        var allocations = 0
        var checksum: Float = 0
        for cycle in UInt64(1)...1_500 {
            let now = 1_000_000_000 + cycle * 10_000_000
            for i in 0..<6 {
                // Uniform noise of σ ≈ 0.03 around 6, never repeating.
                let u = Double(rng.next() >> 11) / 9_007_199_254_740_992.0
                readings[i] = Reading(value: 6 + 0.1 * (u - 0.5), timestampNanoseconds: now, latencyNanoseconds: 2_000_000, quality: .good)
            }
            if cycle > 1_400 { readings[0].value += 0.5 } // a bias, so the residual paths run too
            readings.withUnsafeBufferPointer { r in
                out.withUnsafeMutableBufferPointer { o in monitor.observe(cycle: cycle, nowNanoseconds: now, sensors: r, groupsOut: o) }
            }
            guard cycle > 1_300 else { continue }
            let before = vigil_thread_allocations()
            for s in 0..<6 {
                monitor.features(sensor: s, into: features)
                checksum += features[0]
            }
            allocations += Int(vigil_thread_allocations() - before)
        }
        #expect(allocations == 0, "\(allocations) heap allocations in 200 cycles × 6 sensors of features()")
        #expect(checksum.isFinite && checksum > 0)
    }
}
