import Testing
@testable import Scenarios
import Monitor
import VigilCore

/// The score plant's section (pressure triple, temperature pair, flow and level, tied by pump speed
/// and heat load) gives every member a virtual peer: its estimate from the other units.
@Suite struct VirtualPeerTests {
    static let pressure = 0, tA = 3, tB = 4, flow = 5, level = 6
    static let temperatureGroup: Int32 = 1

    struct Outcome {
        var events: [MonitorEvent] = []
        func failedOver(from s: Int) -> Bool { events.contains { $0.kind == .failover && $0.fromSensor == Int32(s) } }
        func blamed(_ s: Int) -> Bool {
            events.contains { $0.kind == .diagnosis && $0.cause == .sensorFault && $0.sensor == Int32(s) }
        }
        var unresolvedPair: Bool {
            events.contains { $0.kind == .escalation && $0.escalation == .unresolvedDisagreement && $0.group == VirtualPeerTests.temperatureGroup }
        }
    }

    /// 1,200 cycles of warm-up (the virtual peers learn for 500 samples, their residuals for 500
    /// more), then `cycles` with `fault` applied from the first of them.
    static func run(virtualPeers: Bool, cycles: Int = 1_500, seed: UInt64 = 7,
                    _ fault: @escaping (inout [Reading], UInt64) -> Void) throws -> Outcome {
        var settings = MonitorSettings()
        settings.virtualPeers.enabled = virtualPeers
        var sim = try ScoreCampaign.Sim(seed: seed, settings: settings)
        var outcome = Outcome()
        for _ in 0..<(1_200 + cycles) {
            sim.step { r, c, _ in if c > 1_200 { fault(&r, c - 1_200) } }
            if sim.cycle > 1_200 { outcome.events.append(contentsOf: sim.monitor.events) }
        }
        return outcome
    }

    /// A pair member drifting 1σ per 100 cycles: the pair alone sees the disagreement but cannot
    /// tell who moved (an operator is asked, control stays on the drifting member); with its virtual
    /// peer the drifting member is isolated and control leaves it, and nobody else is blamed.
    @Test func aDriftingPairMemberIsIsolatedByItsVirtualPeer() throws {
        let sigma = ScoreCampaign.sigma(Self.tA)
        let drift: (inout [Reading], UInt64) -> Void = { r, k in r[Self.tA].value += sigma * Double(k) / 100 }
        let without = try Self.run(virtualPeers: false, drift)
        #expect(without.unresolvedPair && !without.failedOver(from: Self.tA))
        let with = try Self.run(virtualPeers: true, drift)
        #expect(with.failedOver(from: Self.tA))
        #expect(!with.blamed(Self.tB) && !with.blamed(Self.flow) && !with.blamed(Self.level))
    }

    /// A 20σ bias on the flow sensor, which has no redundancy: found only against its virtual peer.
    @Test func aBiasOnALoneSensorIsFoundAgainstItsVirtualPeer() throws {
        let bias = 20 * ScoreCampaign.sigma(Self.flow)
        let fault: (inout [Reading], UInt64) -> Void = { r, _ in r[Self.flow].value += bias }
        #expect(!(try Self.run(virtualPeers: false, fault)).blamed(Self.flow))
        let with = try Self.run(virtualPeers: true, fault)
        #expect(with.blamed(Self.flow))
        #expect(!with.blamed(Self.level) && !with.blamed(Self.tA) && !with.blamed(Self.tB))
    }

    /// Fault-free, every estimate in use: no finding becomes a diagnosis or a failover.
    @Test func noFalseFindingsWithoutAFault() throws {
        for seed in [UInt64(1), 2, 3] {
            let outcome = try Self.run(virtualPeers: true, cycles: 5_000, seed: seed) { _, _ in }
            #expect(!outcome.events.contains { $0.kind == .failover || ($0.kind == .diagnosis && $0.cause == .sensorFault) })
        }
    }
}
