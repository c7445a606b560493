import VigilCore

/// Each section member's estimate from the rest of its section: a virtual peer.
///
/// A section's *units* are the redundancy groups its sensors belong to (the median of their members
/// in service) and its sensors in no group. From the section's first `trainingSamples` samples in
/// which every member is usable, the units' joint mean and covariance are learned; then each unit
/// `a` gets the linear regression on the other units, v̂ₐ = μₐ + βₐ·(x₋ₐ − μ₋ₐ), with most of the
/// regressors' learned noise variance taken out of their variances (errors in variables: noisy
/// regressors would flatten the slope, and the estimate would be off wherever the process goes
/// beyond what training saw) as long as the fit stays close to plain least squares. A member's
/// residual r = x − v̂ learns its mean and σ over another `trainingSamples` of its own samples, out
/// of sample, so the model's own error is in its σ; its CUSUM (allowance `driftK`, larger than a
/// group's: a learned estimate is never exact) and disagreement test (`ResidualDetector`) judge it
/// from then on.
///
/// The estimate is used two ways:
///   • a third vote in a disagreeing pair (`GroupConsensus`): the member far from its estimate is
///     the wrong one (each member's |EWMA of its standardized residual| is in
///     `SensorState.virtualLevel`);
///   • the peer of a sensor with none of its own (in no group, or the last member of its group in
///     service): its drift or disagreement with its estimate is its finding when the section has at
///     least 3 units and its level (EWMA of its standardized residual) is `loneMargin` times every
///     other unit's. For one faulty unit the standardized residual of that unit is the largest (the
///     reconstruction-based isolation argument: |Λₐᵦ|/√Λₐₐ ≤ √Λᵦᵦ for the precision matrix Λ); a
///     process change that breaks the correlation moves several units' residuals and blames nobody.
///
/// The fit (up to three Cholesky solves per unit, ~units⁴ flops) runs once, in the cycle that
/// completes training, on storage allocated here; sections with more than `maxUnits` units get no
/// virtual peers. Estimates pause while any other unit of the section has no usable member.
struct VirtualPeers: Sendable {
    /// One section's units, members, learned statistics and fitted regressions.
    struct Section: Sendable {
        /// Per unit: its redundancy group, or −1 for a lone sensor (`loneSensor`).
        let unitGroup: [Int]
        let loneSensor: [Int]
        /// Member sensor indices and each one's unit.
        let members: [Int]
        let memberUnit: [Int]
        var unitCount: Int { unitGroup.count }
        let target: Int

        // Training: Welford mean and co-moment of the unit values.
        var count = 0
        var mean: [Double]
        var comoment: [Double]
        var fitted = false
        /// Row a: βₐ over the units (0 at a).
        var beta: [Double]
        /// This cycle's unit values (NaN: no usable member).
        var unitValue: [Double]
        /// Training: each unit's change of mean this sample; fitting: the least-squares row kept aside.
        var delta: [Double]
        /// Each unit's noise variance (learned by its sensors' detectors), taken when fitting.
        var noise: [Double]
        /// Per member: drift and disagreement against its estimate, and this cycle's findings.
        var residual: [ResidualDetector]
        var memberBits: [FindingBits]
        /// Per member: EWMA of its standardized residual (NaN: no estimate yet). Unlike the CUSUM
        /// it is not capped, so it still ranks members when every CUSUM has saturated.
        var level: [Double]
    }

    private var sections: [Section]
    /// Fit scratch, shared by the sections (one fits at a time): the other units' covariance and
    /// the right-hand side, for the largest section.
    private var matrix: [Double]
    private var rhs: [Double]
    private let topology: MonitorTopology
    private let settings: MonitorSettings.VirtualPeers
    private var scratch: MedianScratch

    init(plant: PlantConfig, topology: MonitorTopology, settings: MonitorSettings) {
        self.topology = topology
        self.settings = settings.virtualPeers
        scratch = MedianScratch(capacity: max(topology.largestGroup, 1))
        guard settings.virtualPeers.enabled else { sections = []; matrix = []; rhs = []; return }
        var built: [Section] = []
        for s in plant.sections {
            let ids = s.sensors.compactMap { id in plant.sensors.firstIndex { $0.id == id } }
            guard ids.count == s.sensors.count else { continue }
            var unitGroup: [Int] = [], loneSensor: [Int] = [], memberUnit: [Int] = []
            for i in ids {
                let g = topology.sensors[i].group
                if g >= 0, let u = unitGroup.firstIndex(of: g) {
                    memberUnit.append(u)
                } else {
                    unitGroup.append(g)
                    loneSensor.append(g >= 0 ? -1 : i)
                    memberUnit.append(unitGroup.count - 1)
                }
            }
            let u = unitGroup.count
            guard u >= 2, u <= settings.virtualPeers.maxUnits else { continue }
            built.append(Section(
                unitGroup: unitGroup, loneSensor: loneSensor, members: ids, memberUnit: memberUnit,
                target: max(settings.virtualPeers.trainingSamples, 10 * u),
                mean: [Double](repeating: 0, count: u), comoment: [Double](repeating: 0, count: u * u),
                beta: [Double](repeating: 0, count: u * u), unitValue: [Double](repeating: .nan, count: u),
                delta: [Double](repeating: 0, count: u), noise: [Double](repeating: 0, count: u),
                residual: [ResidualDetector](repeating: ResidualDetector(), count: ids.count),
                memberBits: [FindingBits](repeating: 0, count: ids.count),
                level: [Double](repeating: .nan, count: ids.count)))
        }
        sections = built
        let largest = built.map(\.unitCount).max() ?? 0
        matrix = [Double](repeating: 0, count: largest * largest)
        rhs = [Double](repeating: 0, count: largest)
    }

    /// Learns, or estimates every member with a new sample and adds a lone sensor's findings.
    mutating func observe(sensors: inout [SensorState]) {
        for k in sections.indices { observe(k, sensors: &sensors) }
    }

    private mutating func observe(_ k: Int, sensors: inout [SensorState]) {
        var anyFresh = false
        for i in sections[k].members where sensors[i].fresh { anyFresh = true }
        guard anyFresh else { return }
        var allUnits = true
        for a in 0..<sections[k].unitCount {
            let v = unitValue(k, a, sensors: sensors)
            sections[k].unitValue[a] = v
            if !v.isFinite { allUnits = false }
        }
        guard sections[k].fitted else {
            var allMembers = allUnits
            for i in sections[k].members where !sensors[i].isPeer || sensors[i].bits & FindingBits.sensorKinds != 0 { allMembers = false }
            if allMembers { learn(k, sensors: sensors) }
            return
        }
        estimate(k, sensors: &sensors)
        blameLoneSensors(k, sensors: &sensors)
    }

    /// A lone sensor's value, or the median of a group's members in service; NaN when none is usable.
    private mutating func unitValue(_ k: Int, _ a: Int, sensors: [SensorState]) -> Double {
        let g = sections[k].unitGroup[a]
        if g < 0 {
            let i = sections[k].loneSensor[a]
            return sensors[i].isPeer ? sensors[i].detector.value : .nan
        }
        var n = 0
        for s in 0..<topology.groups[g].size {
            let j = topology.member(g, s)
            guard sensors[j].isPeer else { continue }
            scratch[n] = sensors[j].detector.value
            n += 1
        }
        return n > 0 ? scratch.median(n) : .nan
    }

    // MARK: Training

    private mutating func learn(_ k: Int, sensors: [SensorState]) {
        let u = sections[k].unitCount
        sections[k].count += 1
        let n = Double(sections[k].count)
        for p in 0..<u {
            sections[k].delta[p] = sections[k].unitValue[p] - sections[k].mean[p]
            sections[k].mean[p] += sections[k].delta[p] / n
        }
        for p in 0..<u {
            let after = sections[k].unitValue[p] - sections[k].mean[p]
            for q in 0..<u { sections[k].comoment[p * u + q] += sections[k].delta[q] * after }
        }
        if sections[k].count >= sections[k].target { fit(k, sensors: sensors) }
    }

    /// Covariance of units p and q over the training samples.
    private func covariance(_ k: Int, _ p: Int, _ q: Int) -> Double {
        sections[k].comoment[p * sections[k].unitCount + q] / Double(max(sections[k].count - 1, 1))
    }

    /// Noise variance of unit `a`'s value: its sensors' learned noise, less for a group's median.
    private func unitNoiseVariance(_ k: Int, _ a: Int, sensors: [SensorState]) -> Double {
        let g = sections[k].unitGroup[a]
        if g < 0 {
            let sigma = sensors[sections[k].loneSensor[a]].detector.noiseSigma
            return sigma.isFinite ? sigma * sigma : 0
        }
        var sum = 0.0, n = 0
        for s in 0..<topology.groups[g].size {
            let sigma = sensors[topology.member(g, s)].detector.noiseSigma
            if sigma.isFinite { sum += sigma * sigma; n += 1 }
        }
        guard n > 0 else { return 0 }
        return sum / Double(n) * (n == 1 ? 1 : ResidualDetector.residualVarianceFactor(peers: n) - 1)
    }

    /// Shares of each regressor's noise variance kept in its variance when fitting, tried in turn: the
    /// rest is taken out (errors in variables), so a process that moved little while the section
    /// learned does not shrink the estimate's slope; what is kept bounds how much noise the estimate
    /// may amplify, and a learned noise that also holds some of the process's own motion (it comes
    /// from second differences) can leave too little: the next share is tried, up to plain least squares.
    static let keptNoise = [0.25, 0.5]

    /// Each unit's regression on the others; each member's residual then learns its mean and σ.
    private mutating func fit(_ k: Int, sensors: [SensorState]) {
        let u = sections[k].unitCount
        for a in 0..<u { sections[k].noise[a] = unitNoiseVariance(k, a, sensors: sensors) }
        for a in 0..<u {
            // Plain least squares first (kept in `delta`): the smallest residual the data allow. A
            // corrected slope is taken when its residual is not much larger.
            let solved = solve(k, unit: a, keptNoise: 1)
            // Units that repeat each other exactly: the estimate is the unit's mean.
            for b in 0..<u { sections[k].beta[a * u + b] = b == a || !solved ? 0 : rhs[b] }
            let leastSquares = residualVariance(k, unit: a)
            for b in 0..<u { sections[k].delta[b] = sections[k].beta[a * u + b] }
            var accepted = false
            for kept in Self.keptNoise where !accepted {
                guard solve(k, unit: a, keptNoise: kept) else { continue }
                for b in 0..<u { sections[k].beta[a * u + b] = b == a ? 0 : rhs[b] }
                let v = residualVariance(k, unit: a)
                accepted = v.isFinite && v <= 1.25 * leastSquares
            }
            if !accepted { for b in 0..<u { sections[k].beta[a * u + b] = sections[k].delta[b] } }
        }
        for m in sections[k].members.indices { sections[k].residual[m].restart(peers: 0) }
        sections[k].fitted = true
    }

    /// Unit `a`'s regression on the other units into `rhs`, with `keptNoise` of their noise variance
    /// in their variances; false when the system is not safely positive definite.
    private mutating func solve(_ k: Int, unit a: Int, keptNoise kept: Double) -> Bool {
        let u = sections[k].unitCount
        for b in 0..<u {
            for c in 0..<u {
                var v: Double
                if b == a || c == a { v = b == c ? 1 : 0 } else {
                    v = covariance(k, b, c)
                    if b == c { v = max(v - (1 - kept) * sections[k].noise[b], 0) + max(v, 1e-300) * 1e-9 }
                }
                matrix[b * u + c] = v
            }
            rhs[b] = b == a ? 0 : covariance(k, b, a)
        }
        return matrix.withUnsafeMutableBufferPointer { m in rhs.withUnsafeMutableBufferPointer { x in Self.cholesky(m, x, u) } }
    }

    /// The in-sample variance of unit `a`'s value less its estimate (row a of `beta`).
    private func residualVariance(_ k: Int, unit a: Int) -> Double {
        let u = sections[k].unitCount
        var v = covariance(k, a, a)
        for b in 0..<u where b != a {
            let bb = sections[k].beta[a * u + b]
            v -= 2 * bb * covariance(k, b, a)
            for c in 0..<u where c != a { v += bb * sections[k].beta[a * u + c] * covariance(k, b, c) }
        }
        return v
    }

    /// Solves `m · x = rhs` (u×u, row-major) by Cholesky, in place: x in `x`. False when the matrix
    /// is not safely positive definite (a pivot under 10⁻⁶ of its diagonal entry); `x` is then spoilt.
    private static func cholesky(_ m: UnsafeMutableBufferPointer<Double>, _ x: UnsafeMutableBufferPointer<Double>, _ u: Int) -> Bool {
        for j in 0..<u {
            var s = m[j * u + j]
            let diagonal = s
            for p in 0..<j { s -= m[j * u + p] * m[j * u + p] }
            guard s > 1e-6 * diagonal, s > 0 else { return false }
            let l = s.squareRoot()
            m[j * u + j] = l
            for i in (j + 1)..<max(j + 1, u) {
                var t = m[i * u + j]
                for p in 0..<j { t -= m[i * u + p] * m[j * u + p] }
                m[i * u + j] = t / l
            }
        }
        for i in 0..<u {
            var t = x[i]
            for p in 0..<i { t -= m[i * u + p] * x[p] }
            x[i] = t / m[i * u + i]
        }
        for i in stride(from: u - 1, through: 0, by: -1) {
            var t = x[i]
            for p in (i + 1)..<max(i + 1, u) { t -= m[p * u + i] * x[p] }
            x[i] = t / m[i * u + i]
        }
        return true
    }

    // MARK: Judging

    /// Each member with a new usable sample against its unit's estimate.
    private mutating func estimate(_ k: Int, sensors: inout [SensorState]) {
        let u = sections[k].unitCount
        for (m, i) in sections[k].members.enumerated() {
            sections[k].memberBits[m] = 0
            guard sensors[i].fresh else { continue }
            let a = sections[k].memberUnit[m]
            var v = sections[k].mean[a]
            for b in 0..<u where b != a {
                let x = sections[k].unitValue[b]
                if !x.isFinite { v = .nan; break }
                v += sections[k].beta[a * u + b] * (x - sections[k].mean[b])
            }
            guard v.isFinite, sensors[i].isPeer else {
                sections[k].level[m] = .nan
                sensors[i].virtualLevel = .nan
                continue
            }
            let adapt = sensors[i].health == .healthy && sensors[i].bits & FindingBits.sensorKinds == 0
            var tuning = sensors[i].detector.tuning
            tuning.driftK = settings.driftK
            tuning.driftWarmupSamples = sections[k].target
            let bits = sections[k].residual[m].update(residual: sensors[i].detector.value - v, tuning: tuning,
                                                     span: sensors[i].detector.span, adapt: adapt)
            sections[k].memberBits[m] = bits
            let rd = sections[k].residual[m]
            guard rd.learned else { continue }
            let z = (rd.lastResidual - rd.mean) / rd.variance.squareRoot()
            let previous = sections[k].level[m]
            let level = previous.isFinite ? previous + Self.levelWeight * (z - previous) : z
            sections[k].level[m] = level
            sensors[i].virtualLevel = abs(level)
        }
    }

    /// Weight of a new standardized residual in a member's level (about the last 50 samples).
    static let levelWeight = 0.02

    /// A sensor with no peer of its own takes its finding against its estimate when it stands out.
    private mutating func blameLoneSensors(_ k: Int, sensors: inout [SensorState]) {
        guard sections[k].unitCount >= 3 else { return }
        for (m, i) in sections[k].members.enumerated() where sections[k].memberBits[m] != 0 {
            guard !hasPeer(i, sensors: sensors) else { continue }
            let a = sections[k].memberUnit[m]
            var others = 0.0
            for (n, level) in sections[k].level.enumerated() where sections[k].memberUnit[n] != a && level.isFinite {
                others = max(others, abs(level))
            }
            let own = abs(sections[k].level[m])
            guard own.isFinite, own >= settings.loneMargin * others else { continue }
            let bits = sections[k].memberBits[m]
            let evidence = sections[k].residual[m].evidence
            let t = sensors[i].detector.tuning
            if bits & .bit(.drift) != 0 { sensors[i].detector.record(.drift, evidence.drift, t.driftH) }
            if bits & .bit(.disagreement) != 0 { sensors[i].detector.record(.disagreement, evidence.disagreement, evidence.disagreementLimit) }
            sensors[i].bits |= bits
        }
    }

    /// Another member of its group is in service to compare it with.
    private func hasPeer(_ i: Int, sensors: [SensorState]) -> Bool {
        let g = topology.sensors[i].group
        guard g >= 0 else { return false }
        for s in 0..<topology.groups[g].size where topology.member(g, s) != i && sensors[topology.member(g, s)].isPeer { return true }
        return false
    }
}
