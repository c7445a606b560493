import VigilCore

/// One redundancy group's consensus episode.
struct GroupEpisode: Sendable {
    /// The members move together and agree: a process excursion, until they have been quiet for
    /// `excursionQuietNanoseconds` (`quietCycles` so far).
    var excursion = false
    var quietCycles = 0
    /// The pair's disagreement was escalated as unresolved (once per episode).
    var unresolved = false
    /// Samples both pair members brought while their disagreement stayed undecided. The step test
    /// needs `StepLocator.minimumSide` samples after a jump before it can blame anyone, so the
    /// pair escalates only after that many more.
    var pairUndecidedSamples = 0
    /// Which pair member has brought a new sample since the last count (bit 0: the first, bit 1: the second).
    var pairFresh: UInt8 = 0
    /// The model attributed this disagreement episode (journalled once).
    var modelResolved = false
}

/// What a group's members say about each other: a process excursion (every usable member moves
/// fast and they agree: their rate, spike and noise findings are dropped; every one noisy at once
/// and agreeing: their noise findings are dropped), stuck only while the
/// peers move, each member's residual to the median of its peers (drift, disagreement), and which
/// member a disagreement or drift belongs to (the odd one out of three or more; in a pair, the
/// member whose own series stepped, or the one far from its virtual peer, or with the worse record,
/// or the one the model blames).
struct GroupConsensus: Sendable {
    private let topology: MonitorTopology
    private let settings: MonitorSettings.Groups
    /// `settings.excursionQuietNanoseconds` in cycles of the plant's period.
    private let excursionQuietCycles: Int
    /// The model may attribute a pair's disagreement (`MonitorSettings.PolicyModel.assist`).
    private let modelAssist: Bool
    /// `MonitorSettings.VirtualPeers.pairScore`.
    private let virtualPairScore: Double
    private var episodes: [GroupEpisode]
    private var scratch: MedianScratch

    init(topology: MonitorTopology, settings: MonitorSettings, cycleNanoseconds: UInt64) {
        self.topology = topology
        self.settings = settings.groups
        modelAssist = settings.policyModel.assist
        virtualPairScore = settings.virtualPeers.pairScore
        excursionQuietCycles = max(1, Int(settings.groups.excursionQuietNanoseconds / cycleNanoseconds))
        episodes = [GroupEpisode](repeating: GroupEpisode(), count: topology.groupCount)
        scratch = MedianScratch(capacity: topology.largestGroup)
    }

    /// Group `g`'s findings this cycle, on top of its members' own (`sensors[i].bits`); the
    /// excursion's evidence is the active member's (`activeSlot`).
    mutating func observe(_ g: Int, activeSlot: Int, now: UInt64, sensors: inout [SensorState], emit: inout EventFactory) {
        guard topology.groups[g].size >= 2 else { return }
        observeExcursion(g, activeSlot: activeSlot, now: now, sensors: &sensors, emit: &emit)
        acceptSharedShifts(g, sensors: &sensors)
        observeResiduals(g, sensors: &sensors)
        attribute(g, sensors: &sensors, emit: &emit)
    }

    // MARK: Process excursion

    private static let moved = FindingBits.bit(.rateOfChange) | .bit(.spike)
    private static let noValue = FindingBits.bit(.outOfRange) | .bit(.dropout)

    private mutating func observeExcursion(_ g: Int, activeSlot: Int, now: UInt64, sensors: inout [SensorState],
                                           emit: inout EventFactory) {
        let start = topology.groups[g].start, size = topology.groups[g].size
        var usableCount = 0, moving = 0, noisy = 0
        var lo = Double.infinity, hi = -Double.infinity, floor = Double.infinity
        var movingLo = Double.infinity, movingHi = -Double.infinity
        for s in 0..<size {
            let i = topology.members[start + s]
            let bits = sensors[i].bits
            // In the vote: a usable member without a range, dropout or stuck finding, or one whose
            // value is only a spike.
            let votes = sensors[i].inService && sensors[i].detector.hasSample
                && bits & (Self.noValue | .bit(.stuck)) == 0 && sensors[i].detector.usable
                || (bits & .bit(.spike) != 0 && bits & Self.noValue == 0 && sensors[i].detector.hasSample && sensors[i].inService)
            guard votes else { continue }
            usableCount += 1
            let recent = 3 * sensors[i].detector.expectedIntervalNanoseconds
            // A member moved recently when its rate or spike detector fired within three polls: on
            // one serial line the members see the same step in different cycles.
            let lastMove = max(sensors[i].detector.lastRateTimestamp, sensors[i].detector.lastSpikeTimestamp)
            let value = sensors[i].detector.lastGoodValue
            if bits & Self.moved != 0 || (lastMove > 0 && now &- lastMove <= recent) {
                moving += 1
                movingLo = min(movingLo, value)
                movingHi = max(movingHi, value)
            }
            // Noisy, or on the way to it: each member's statistic crosses its limit a few samples
            // apart from the others'.
            if sensors[i].detector.noiseRatio >= sensors[i].detector.tuning.noiseVarianceRatio / 2 { noisy += 1 }
            lo = min(lo, value)
            hi = max(hi, value)
            floor = min(floor, sensors[i].detector.tuning.disagreementFractionOfSpan * sensors[i].detector.span)
        }
        // Every usable member noisy at once, and agreeing: the process changed its pace (a step or
        // the start of a ramp lingers in each one's second-difference statistic), not every sensor
        // at once. A member noisy on its own stays so.
        if usableCount >= 2 && noisy == usableCount && hi - lo <= floor {
            for s in 0..<size { sensors[topology.members[start + s]].bits &= ~FindingBits.bit(.noise) }
        }
        // Members on different devices see a real step a few polls apart: while at least two of
        // them have moved and agree, their jump is the process, not a fault (2 out of 3 outvote
        // the one still showing the old value, which catches up or is judged by disagreement).
        if usableCount >= 3 && moving >= 2 && moving < usableCount && movingHi - movingLo <= floor {
            for s in 0..<size {
                let i = topology.members[start + s]
                if sensors[i].bits & Self.moved != 0 {
                    sensors[i].bits &= ~(Self.moved | .bit(.noise) | .hardConfirmed)
                    if sensors[i].bits & Self.noValue == 0 { sensors[i].restoreLastGoodValue() }
                }
            }
        }
        if usableCount >= 2 && moving == usableCount && hi - lo <= floor {
            for s in 0..<size {
                let i = topology.members[start + s]
                // Moving together also shakes the difference statistics: the noise finding goes too.
                sensors[i].bits &= ~FindingBits.bit(.noise)
                if sensors[i].bits & Self.moved != 0 {
                    sensors[i].bits &= ~(Self.moved | .hardConfirmed)
                    if sensors[i].bits & Self.noValue == 0 { sensors[i].restoreLastGoodValue() }
                }
            }
            episodes[g].quietCycles = 0
            if !episodes[g].excursion {
                episodes[g].excursion = true
                let i = topology.members[start + activeSlot]
                let rate = Int(FindingKind.rateOfChange.rawValue)
                emit.processExcursion(group: g, evidence: emit.finding(.rateOfChange, subject: i, statistic: sensors[i].detector.statistic[rate],
                                                                       threshold: sensors[i].detector.threshold[rate]))
            }
        } else if episodes[g].excursion {
            episodes[g].quietCycles += 1
            if episodes[g].quietCycles > excursionQuietCycles { episodes[g].excursion = false }
        }
    }

    // MARK: Level shifts

    /// A member whose repeated-spike fault is one level shift (`SensorDetector.isLevelShift`) that
    /// took it to where its peers are (within its disagreement limit, compared at one instant) has
    /// followed the process's step, sampled later than they were: not a fault. A shift away from its
    /// peers (stuck at a new value) stays one.
    private mutating func acceptSharedShifts(_ g: Int, sensors: inout [SensorState]) {
        let start = topology.groups[g].start, size = topology.groups[g].size
        for s in 0..<size {
            let i = topology.members[start + s]
            guard sensors[i].fresh, sensors[i].bits & .hardConfirmed != 0, sensors[i].bits & .bit(.spike) != 0,
                  sensors[i].bits & Self.noValue == 0, sensors[i].detector.isLevelShift else { continue }
            let peers = consensus(g, slot: s, sensors: &sensors)
            guard peers.count > 0 else { continue }
            let r = sensors[i].residual
            let limit = r.disagreementLimit(slack: peers.slack, tuning: sensors[i].detector.tuning, span: sensors[i].detector.span)
            let gap = sensors[i].detector.lastRawValue - peers.median - (r.learned ? r.mean : 0)
            if abs(gap) <= limit {
                sensors[i].bits &= ~(FindingBits.bit(.spike) | .hardConfirmed)
                sensors[i].restoreLastGoodValue()
            }
        }
    }

    // MARK: Residuals

    /// The median of the other members of group `g` in service, each extrapolated to the sample
    /// time of the member in `slot` (`SensorDetector.aligned(at:)`); the largest extrapolation as
    /// its slack; whether any of them moved since that member last did. NaN without peers.
    private mutating func consensus(_ g: Int, slot s: Int, sensors: inout [SensorState]) -> (median: Double, slack: Double, count: Int, moved: Bool) {
        let start = topology.groups[g].start, size = topology.groups[g].size
        let i = topology.members[start + s]
        let now = sensors[i].detector.lastGoodTimestamp
        var n = 0, slack = 0.0, moved = false
        for p in 0..<size where p != s {
            let j = topology.members[start + p]
            guard sensors[j].isPeer else { continue }
            let peer = sensors[j].detector.aligned(at: now)
            scratch[n] = peer.value
            slack = max(slack, peer.slack)
            n += 1
            if sensors[j].detector.lastMoved > sensors[i].detector.lastMoved { moved = true }
        }
        return (n > 0 ? scratch.median(n) : .nan, slack, n, moved)
    }

    /// Each member with a new sample against the median of its peers (the other members in service).
    private mutating func observeResiduals(_ g: Int, sensors: inout [SensorState]) {
        let start = topology.groups[g].start, size = topology.groups[g].size
        for s in 0..<size {
            let i = topology.members[start + s]
            if sensors[i].fresh { sensors[i].residual.lastResidual = .nan }
            guard sensors[i].fresh, sensors[i].detector.usable, !sensors[i].detector.discrete else { continue }
            let peers = consensus(g, slot: s, sensors: &sensors)
            let n = peers.count
            // Stuck only counts while the peers move.
            if sensors[i].bits & .bit(.stuck) != 0 && n > 0 && !peers.moved { sensors[i].bits &= ~FindingBits.bit(.stuck) }
            let consensus = peers.median
            // A quantized, quiet sensor repeats innocently in bursts longer than its learned run
            // length. With peers, its run counts as stuck only once they have left its frozen value
            // behind by more than two quantization steps (or the noise): a stuck sensor is caught as
            // soon as the process moves, a healthy one within a count of its peers is acquitted and
            // its run remembered. Alone (its peers out of service), it must outlast twice its learned
            // run length and twice the longest run its peers acquitted: a quantized signal's repeats
            // come in correlated bursts, longer than the warm-up's repeat rate predicts. The same
            // holds on probation, or a recovered sensor would bounce back to faulty on a quiet spell.
            if sensors[i].bits & .bit(.stuck) != 0 && sensors[i].repeatsInnocently {
                if n > 0 {
                    let offset = sensors[i].residual.learned ? sensors[i].residual.mean : 0
                    let gap = abs(sensors[i].detector.lastGoodValue - consensus - offset)
                    let quantum = sensors[i].detector.quantum.isFinite ? sensors[i].detector.quantum : 0
                    if gap <= 2 * max(quantum, sensors[i].detector.noiseSigma) + 2 * sensors[i].residual.variance.squareRoot() {
                        sensors[i].bits &= ~FindingBits.bit(.stuck)
                        sensors[i].detector.acquitRun()
                    }
                } else if sensors[i].detector.runWithinQuietBursts {
                    sensors[i].bits &= ~FindingBits.bit(.stuck)
                }
            }
            guard n > 0 else { continue }
            sensors[i].addResidualFindings(consensus: consensus, slack: peers.slack, peers: n)
        }
    }

    // MARK: Attribution

    private static let both = FindingBits.bit(.disagreement) | .bit(.drift)

    /// The member furthest from consensus is the odd one out; the others were only pulled by it.
    /// A pair cannot tell who is wrong without more evidence. Only members in service take part: a
    /// quarantined one (stuck at a value that may still look right) must not outvote a healthy one;
    /// its own findings stand as its own.
    private mutating func attribute(_ g: Int, sensors: inout [SensorState], emit: inout EventFactory) {
        let start = topology.groups[g].start, size = topology.groups[g].size
        let both = Self.both
        var worst = -1, worstScore = 0.0, flagged = 0
        for s in 0..<size {
            let i = topology.members[start + s]
            guard sensors[i].bits & both != 0, sensors[i].inService else { continue }
            flagged += 1
            // Highest score; on a tie (saturated CUSUMs) the residual further out lately.
            let sc = max(sensors[i].residual.disagreementScore, sensors[i].residual.driftScore)
            if worst < 0 || sc > worstScore
                || (sc == worstScore && abs(sensors[i].residual.level) > abs(sensors[worst].residual.level)) {
                worstScore = sc
                worst = i
            }
        }
        guard flagged > 0 else {
            // Between samples (a slowly polled group) nothing was judged: the episode goes on.
            var anyFresh = false
            for s in 0..<size where sensors[topology.members[start + s]].fresh && sensors[topology.members[start + s]].isPeer { anyFresh = true }
            if anyFresh {
                episodes[g].unresolved = false
                episodes[g].pairUndecidedSamples = 0
                episodes[g].pairFresh = 0
                episodes[g].modelResolved = false
            }
            return
        }
        var peers = 0
        for s in 0..<size where sensors[topology.members[start + s]].isPeer { peers += 1 }
        if peers >= 3 {
            // The others were only pulled by the odd one out: cleared when their score or their
            // residual's level is under 3/4 of its. The CUSUM leads early in a drift; once it
            // saturates (twice its threshold) the level, which does not, keeps the odd one apart.
            let worstLevel = abs(sensors[worst].residual.level)
            for s in 0..<size {
                let i = topology.members[start + s]
                if i != worst && sensors[i].bits & both != 0
                    && (max(sensors[i].residual.disagreementScore, sensors[i].residual.driftScore) < 0.75 * worstScore
                        || abs(sensors[i].residual.level) < 0.75 * worstLevel) {
                    sensors[i].bits &= ~both
                }
            }
            sensors[worst].oddOneOut = sensors[worst].bits & .bit(.disagreement) != 0
            return
        }
        // Pair: blame the member with the worse record (findings history, implausible motion).
        var a = -1, b = -1
        for s in 0..<size {
            let i = topology.members[start + s]
            guard sensors[i].isPeer || (sensors[i].bits & both != 0 && sensors[i].inService) else { continue }
            if a < 0 { a = i } else if b < 0 { b = i }
        }
        guard a >= 0, b >= 0 else { return }
        let ha = sensors[a].history + (sensors[a].bits & .bit(.rateOfChange) != 0 ? 2 : 0)
        let hb = sensors[b].history + (sensors[b].bits & .bit(.rateOfChange) != 0 ? 2 : 0)
        // Physical plausibility: the member whose own series stepped, while the other's did not.
        let sa = sensors[a].stepScore()
        let sb = sensors[b].stepScore()
        let stepped = settings.pairStepSigmas
        if sa >= stepped && sb <= settings.pairSmoothSigmas && sa >= 2 * sb {
            sensors[b].bits &= ~both
        } else if sb >= stepped && sa <= settings.pairSmoothSigmas && sb >= 2 * sa {
            sensors[a].bits &= ~both
        } else if let innocent = virtualAttributes(sensors[a].virtualLevel, sensors[b].virtualLevel, a, b) {
            sensors[innocent].bits &= ~both
        } else if abs(ha - hb) >= 1 {
            let innocent = ha > hb ? b : a
            sensors[innocent].bits &= ~both
        } else if let innocent = modelAttributes(sensors[a].opinion, sensors[b].opinion, a, b) {
            sensors[innocent].bits &= ~both
            if !episodes[g].modelResolved { // journalled once per disagreement episode
                episodes[g].modelResolved = true
                emit.resolvedPair(group: g, blamed: innocent == a ? b : a, score: worstScore)
            }
        } else {
            sensors[a].bits &= ~both
            sensors[b].bits &= ~both
            // One more undecided pair of samples once both members have brought a new one (on one
            // serial line they never arrive in the same cycle).
            episodes[g].pairFresh |= (sensors[a].fresh ? 1 : 0) | (sensors[b].fresh ? 2 : 0)
            if episodes[g].pairFresh == 3 {
                episodes[g].pairFresh = 0
                episodes[g].pairUndecidedSamples += 1
            }
            if !episodes[g].unresolved && episodes[g].pairUndecidedSamples > StepLocator.minimumSide + 1 {
                episodes[g].unresolved = true
                emit.unresolvedDisagreement(group: g, worst: worst, score: worstScore)
            }
        }
    }

    /// The innocent member of a disagreeing pair by their virtual peers (their estimates from the
    /// rest of their section): one member is far from its estimate, the other close to its own.
    private func virtualAttributes(_ levelA: Double, _ levelB: Double, _ a: Int, _ b: Int) -> Int? {
        guard levelA.isFinite, levelB.isFinite else { return nil }
        let blame = virtualPairScore
        if levelA >= blame && levelB * 3 <= levelA { return b }
        if levelB >= blame && levelA * 3 <= levelB { return a }
        return nil
    }

    /// With the model assisting: the innocent member of a disagreeing pair (`a`, `b`, with the
    /// model's opinions) when the model confidently calls exactly one of them faulty and the other
    /// healthy; nil otherwise (the pair escalates).
    private func modelAttributes(_ opinionA: Int8, _ opinionB: Int8, _ a: Int, _ b: Int) -> Int? {
        guard modelAssist, opinionA >= 0, opinionB >= 0,
              let da = ModelDiagnosis(rawValue: opinionA), let db = ModelDiagnosis(rawValue: opinionB) else { return nil }
        if da.isSensorFault && db == .healthy { return b }
        if db.isSensorFault && da == .healthy { return a }
        return nil
    }
}
