import VigilCore

/// Running mean and variance (Welford), O(1) per sample, no storage.
struct Welford: Sendable {
    var count = 0
    var mean = 0.0
    var m2 = 0.0
    mutating func add(_ x: Double) {
        count += 1
        let d = x - mean
        mean += d / Double(count)
        m2 += d * (x - mean)
    }
    var variance: Double { count > 1 ? m2 / Double(count - 1) : 0 }
}

/// Bits of one sample's findings: bit n is `FindingKind(rawValue: n)` for the sensor kinds (1…9);
/// two high bits carry "confirmed hard fault" and "configuration error".
typealias FindingBits = UInt32
extension FindingBits {
    static func bit(_ kind: FindingKind) -> FindingBits { 1 << FindingBits(kind.rawValue) }
    static let hardConfirmed: FindingBits = 1 << 30
    static let configError: FindingBits = 1 << 29
    static let sensorKinds: FindingBits = 0x3FE
    func has(_ kind: FindingKind) -> Bool { self & .bit(kind) != 0 }
}

/// The detectors of one sensor that need only its own samples: range, stuck, rate, spike (Hampel),
/// noise (Welford baseline of second differences, EWMA of the current one), dropout, latency.
/// Windows are inline fixed-size storage: nothing here allocates.
struct SensorDetector: Sendable {
    static let windowCapacity = 15
    static let spikeRingCapacity = 8

    let tuning: MonitorSettings.Sensor
    let rangeMin: Double
    let rangeMax: Double
    let span: Double
    let resolution: Double
    /// A GPIO line or other 0/1 point: only range, quality and dropout apply.
    let discrete: Bool
    /// Raised when the device's polling is slowed (a dropout is judged against the rate in use).
    var expectedIntervalNanoseconds: UInt64
    /// How long the point's link can be busy with other transactions before its next poll: every
    /// response timeout on its serial line (its own included), or its own on TCP. A sample is not
    /// missing before one poll interval plus that: a unit that stops answering holds a shared line
    /// for its whole timeout each round, and that is its fault, not its neighbours'.
    var linkHoldNanoseconds: UInt64 = 0
    let window: Int

    // Sample bookkeeping.
    var hasSample = false
    var lastTimestamp: UInt64 = 0
    var lastWasBad = false
    var goodSamples = 0
    var lastGoodValue = Double.nan
    var lastGoodTimestamp: UInt64 = 0
    var lastNewSampleTimestamp: UInt64 = 0
    /// The pace the device has achieved lately: the longest recent gap between new samples (an
    /// outage's gap counted at most twice the static limit), or its last reply time times its
    /// link's transactions, held and decaying by 1/64 a sample. A device that answers, only slowly
    /// (latency, slower polling, a busy line), sets the pace its silence is judged against.
    var achievedIntervalNanoseconds: UInt64 = 0
    /// The current dropout is a silence (no new sample at all), not bad replies: the device or its
    /// link stopped delivering, whatever the point's sensor does.
    var silentDropout = false
    /// Transactions in a round of this sensor's link: a reply this slow makes a round this many
    /// times as long, before the gaps show it.
    var linkTransactions = 1
    /// This sample's value for control (the Hampel median when the raw value was a spike).
    var value = Double.nan
    var usable = false

    var badRun = 0
    var outOfRangeRun = 0
    var outOfRangeSinceFirst = true

    // Hampel and rate windows (rings).
    var raw = InlineArray<15, Double>(repeating: 0)
    var filtered = InlineArray<15, Double>(repeating: 0)
    var stamps = InlineArray<15, UInt64>(repeating: 0)
    var head = 0
    var filled = 0
    var spikeAt = InlineArray<8, Int>(repeating: Int.min / 2)
    var spikeHead = 0
    var lastRateTimestamp: UInt64 = 0
    /// Timestamp of the last sample the Hampel filter called a spike (a step of the process looks
    /// like one to each member for a few samples).
    var lastSpikeTimestamp: UInt64 = 0
    /// The last spike was above the window's median.
    var lastSpikeAbove = false
    /// Spikes on consecutive samples on one side, up to the last (a level shift when it reaches
    /// the repeat count: `isLevelShift`).
    var shiftRun = 0
    /// The last sample's repeated-spike fault is one level shift, not separate spikes.
    var isLevelShift: Bool { lastSpikeTimestamp == lastTimestamp && shiftRun >= min(max(tuning.spikeRepeatCount, 1), Self.spikeRingCapacity) }

    // Noise and stuck.
    var diffStats = Welford()
    var zeroDiffs = 0
    var baseDiffVariance = 0.0
    var shortDiffVariance = 0.0
    var lastFiltered = Double.nan
    var lastDiff = Double.nan
    var stuckRun = 0
    var stuckNeeded: Int
    /// Smallest non-zero change seen between consecutive good samples: the register's quantization
    /// step for an integer-scaled point (e.g. 0.1 °C for int16 × 0.1), the noise scale otherwise.
    var quantum = Double.infinity
    /// Longest run of repeats the group's peers showed to be innocent (see `GroupConsensus`).
    private(set) var acquittedRun = 0
    mutating func acquitRun() { acquittedRun = max(acquittedRun, stuckRun) }
    var lastMoved: UInt64 = 0

    // Latency.
    var latencyStats = Welford()
    var latencyRun = 0

    /// Statistic and threshold per finding kind, for evidence.
    var statistic = InlineArray<10, Double>(repeating: 0)
    var threshold = InlineArray<10, Double>(repeating: 0)

    // The last sample's statistics whether or not they crossed a threshold: the policy model reads
    // them (`SensorFeatures`); no finding depends on them.
    /// Hampel |x − median| / scale (0 until the window is full and armed).
    var spikeZ = 0.0
    /// Change over the rate window / its limit (0 until armed).
    var rateRatio = 0.0
    /// (latency − mean) / σ of the Welford statistics (0 while they learn, or without a latency).
    var latencyZ = 0.0
    /// The last finite value read, in range or not.
    var lastRawValue = Double.nan
    /// EWMA of the share of bad-quality samples.
    var badShare = 0.0
    static let badShareWeight = 0.1
    /// Fast and slow EWMAs of the filtered value: their gap is a recent level shift (time constants
    /// ≈ 3 and 20 samples: a step shows at once, a slow process trend lags the slow one by < 1 σ).
    var fastLevel = Double.nan
    var slowLevel = Double.nan
    static let fastLevelWeight = 0.3
    static let slowLevelWeight = 0.05

    init(tuning: MonitorSettings.Sensor, rangeMin: Double, rangeMax: Double, discrete: Bool, expectedIntervalNanoseconds: UInt64) {
        self.tuning = tuning
        self.rangeMin = rangeMin
        self.rangeMax = rangeMax
        span = max(rangeMax - rangeMin, .leastNormalMagnitude)
        resolution = tuning.stuckResolutionFractionOfSpan * span
        self.discrete = discrete
        self.expectedIntervalNanoseconds = max(expectedIntervalNanoseconds, 1)
        window = min(max(tuning.spikeWindow | 1, 3), Self.windowCapacity)
        stuckNeeded = tuning.stuckMaxSamples
    }

    var warmedUp: Bool { goodSamples > tuning.warmupSamples }
    /// The largest share of its baseline one squared second difference adds to the noise statistic.
    static let noiseClip = 25.0
    /// The recent second-difference variance over its learned baseline (1 before it is learned).
    var noiseRatio: Double { baseDiffVariance > 0 ? shortDiffVariance / baseDiffVariance : 1 }
    /// Noise σ of the value, from the baseline variance of second differences (var(Δ²x) = 6σ²).
    var noiseSigma: Double { (baseDiffVariance / 6).squareRoot() }
    /// Recent level shift in noise σ (fast − slow EWMA), signed; 0 before the noise is learned.
    var motionSigmas: Double {
        let sigma = noiseSigma
        return sigma > 0 && fastLevel.isFinite && slowLevel.isFinite ? (fastLevel - slowLevel) / sigma : 0
    }

    mutating func record(_ kind: FindingKind, _ stat: Double, _ limit: Double) {
        statistic[Int(kind.rawValue)] = stat
        threshold[Int(kind.rawValue)] = limit
    }

    /// True when the reading is a new sample: its timestamp moved, or it turned bad or good.
    /// A `.stale` reading is a value someone else held: never new.
    func isNew(_ r: Reading) -> Bool {
        if case .stale = r.quality { return false }
        // Before its device's first poll a point reads `notYetRead`: no sample yet, not a dropout
        // (a slow RTU device would otherwise turn suspect at every start).
        if !hasSample, case .bad(.notYetRead) = r.quality { return false }
        if !hasSample { return true }
        let bad = !r.quality.isGood
        return r.timestampNanoseconds != lastTimestamp || bad != lastWasBad
    }

    /// Timestamp not advancing for `dropoutIntervals` expected intervals (checked every cycle).
    mutating func checkDropout(nowNanoseconds: UInt64) -> FindingBits {
        guard hasSample, nowNanoseconds > lastNewSampleTimestamp else { return 0 }
        let silent = Double(nowNanoseconds - lastNewSampleTimestamp)
        let limit = max(tuning.dropoutIntervals * Double(max(expectedIntervalNanoseconds, achievedIntervalNanoseconds)), staticDropoutLimit)
        guard silent > limit else { return 0 }
        silentDropout = true
        record(.dropout, silent, limit)
        usable = false
        return .bit(.dropout) | .hardConfirmed
    }

    /// The dropout limit from the poll interval, the floor and the link's hold alone.
    var staticDropoutLimit: Double {
        max(tuning.dropoutIntervals * Double(expectedIntervalNanoseconds), tuning.dropoutFloorNanoseconds,
            Double(expectedIntervalNanoseconds &+ linkHoldNanoseconds))
    }

    /// One new sample. `sampleTime` is the reading's timestamp (or now, for a bad reading without one).
    mutating func sample(_ r: Reading, nowNanoseconds: UInt64) -> FindingBits {
        hasSample = true
        silentDropout = false
        spikeZ = 0
        rateRatio = 0
        latencyZ = 0
        lastTimestamp = r.timestampNanoseconds
        // An outage's own gap counts at most twice the static limit: the next one is still found.
        let paceCap = UInt64(2 * staticDropoutLimit)
        if lastNewSampleTimestamp > 0 && r.timestampNanoseconds > lastNewSampleTimestamp {
            let gap = min(r.timestampNanoseconds - lastNewSampleTimestamp, paceCap)
            achievedIntervalNanoseconds = max(gap, achievedIntervalNanoseconds - achievedIntervalNanoseconds / 64)
        }
        if r.latencyNanoseconds > 0 {
            achievedIntervalNanoseconds = max(achievedIntervalNanoseconds, min(r.latencyNanoseconds &* UInt64(linkTransactions), paceCap))
        }
        lastNewSampleTimestamp = max(r.timestampNanoseconds, lastNewSampleTimestamp)
        if r.timestampNanoseconds == 0 { lastNewSampleTimestamp = nowNanoseconds }
        let v = r.value
        guard r.quality.isGood, v.isFinite else {
            lastWasBad = true
            badShare += Self.badShareWeight * (1 - badShare)
            badRun += 1
            usable = false
            record(.dropout, Double(badRun), Double(tuning.badQualityConfirmSamples))
            return .bit(.dropout) | (badRun >= tuning.badQualityConfirmSamples ? .hardConfirmed : 0)
        }
        lastWasBad = false
        badShare -= Self.badShareWeight * badShare
        lastRawValue = v
        badRun = 0
        goodSamples += 1

        let tolerance = tuning.rangeToleranceFractionOfSpan * span
        if v < rangeMin - tolerance || v > rangeMax + tolerance {
            outOfRangeRun += 1
            usable = false
            record(.outOfRange, v, v < rangeMin ? rangeMin - tolerance : rangeMax + tolerance)
            var bits: FindingBits = .bit(.outOfRange)
            // Out of range since the very first reading is more likely a wrong scale or word order:
            // wait for `configErrorSamples` so the diagnosis can say so (the value is not used meanwhile).
            if outOfRangeSinceFirst {
                if goodSamples >= tuning.configErrorSamples { bits |= .configError | .hardConfirmed }
            } else if outOfRangeRun >= tuning.outOfRangeConfirmSamples {
                bits |= .hardConfirmed
            }
            return bits
        }
        outOfRangeRun = 0
        outOfRangeSinceFirst = false
        usable = true
        if discrete {
            value = v
            lastGoodValue = v
            lastGoodTimestamp = r.timestampNanoseconds
            return 0
        }

        var bits: FindingBits = 0
        let armed = warmedUp

        // Stuck: the run of unchanged samples, against a run length learned from how often this
        // sensor repeats a value when healthy (pᴺ below the accepted false-run probability).
        let step = v - lastGoodValue
        if lastGoodValue.isFinite && abs(step) <= resolution {
            stuckRun += 1
            // Innocent repeats teach the repeat rate; a long run is the fault itself.
            if stuckRun == 1 { zeroDiffs += 1 }
        } else {
            if lastGoodValue.isFinite { quantum = min(quantum, abs(step)) }
            stuckRun = 0
            lastMoved = r.timestampNanoseconds
        }
        if armed && goodSamples % 256 == 0 && stuckRun == 0 { updateStuckRunLength() }
        // A run at an end of the range is a reading resting there (a stopped pump's flow reads 0,
        // its noise clipped by the register), not a frozen one; peers or a virtual peer judge it.
        let clipped = quantum.isFinite ? quantum : resolution
        let atRangeEnd = abs(v - rangeMin) <= max(resolution, clipped) || abs(v - rangeMax) <= max(resolution, clipped)
        if stuckRun >= stuckNeeded && !atRangeEnd {
            record(.stuck, Double(stuckRun), Double(stuckNeeded))
            bits |= .bit(.stuck)
        }

        // Hampel filter over the last `window` raw samples.
        raw[head] = v
        stamps[head] = r.timestampNanoseconds
        filled = min(filled + 1, window)
        var out = v
        if filled == window && armed {
            var sorted = InlineArray<15, Double>(repeating: 0)
            for i in 0..<window { sorted[i] = raw[i] }
            let median = Self.median(&sorted, window)
            for i in 0..<window { sorted[i] = abs(raw[i] - median) }
            let mad = Self.median(&sorted, window)
            let scale = max(1.4826 * mad, noiseSigma, resolution, span * 1e-12)
            let z = abs(v - median) / scale
            spikeZ = z
            if z > tuning.spikeSigmas {
                out = median
                record(.spike, z, tuning.spikeSigmas)
                bits |= .bit(.spike)
                lastSpikeTimestamp = r.timestampNanoseconds
                // Outliers on consecutive samples on one side are a level shift seen through the
                // window (the median keeps the old level for half a window): still a fault here,
                // but marked, so a group can tell the process's step from a member's (`shiftedToPeers`).
                let above = v > median
                let previous = spikeAt[(spikeHead - 1 + Self.spikeRingCapacity) % Self.spikeRingCapacity]
                shiftRun = previous == goodSamples - 1 && lastSpikeAbove == above ? shiftRun + 1 : 1
                lastSpikeAbove = above
                spikeAt[spikeHead] = goodSamples
                spikeHead = (spikeHead + 1) % Self.spikeRingCapacity
                let need = min(max(tuning.spikeRepeatCount, 1), Self.spikeRingCapacity)
                let oldest = spikeAt[(spikeHead - need + Self.spikeRingCapacity) % Self.spikeRingCapacity]
                if goodSamples - oldest < tuning.spikeRepeatWindowSamples {
                    record(.spike, Double(need), Double(tuning.spikeRepeatCount))
                    bits |= .hardConfirmed
                    usable = false
                }
            }
        }
        filtered[head] = out
        let oldestSlot = (head + 1) % window
        head = (head + 1) % window

        // Rate of change over the window, on filtered values, beyond the limit plus noise.
        if filled == window && armed {
            let t0 = stamps[oldestSlot]
            if r.timestampNanoseconds > t0 {
                let seconds = Double(r.timestampNanoseconds - t0) / 1e9
                let change = abs(out - filtered[oldestSlot])
                let limit = tuning.maxRateFractionOfSpanPerSecond * span * seconds
                    + tuning.rateNoiseSigmas * noiseSigma * 2.0.squareRoot()
                if limit > 0 { rateRatio = change / limit }
                if change > limit {
                    record(.rateOfChange, change / seconds, limit / seconds)
                    bits |= .bit(.rateOfChange)
                    lastRateTimestamp = r.timestampNanoseconds
                }
            }
        }

        // Noise: learned baseline of second differences (a ramp of the process cancels out; for
        // white noise var(Δ²x) = 6σ²), then a short EWMA against it.
        if lastFiltered.isFinite {
            let d = out - lastFiltered
            if lastDiff.isFinite {
                let dd = d - lastDiff
                if !armed {
                    diffStats.add(dd)
                } else {
                    // A second difference beyond 5 of its baseline σ counts as 5: one kink of the
                    // process's path (a ramp starting or stopping) cannot make noise on its own;
                    // noise several times its usual size still reaches the limit.
                    let w = tuning.noiseEWMAWeight
                    shortDiffVariance = (1 - w) * shortDiffVariance + w * min(dd * dd, Self.noiseClip * baseDiffVariance)
                    let limit = tuning.noiseVarianceRatio * baseDiffVariance
                    if shortDiffVariance > limit {
                        record(.noise, shortDiffVariance / baseDiffVariance, tuning.noiseVarianceRatio)
                        bits |= .bit(.noise)
                    }
                }
            }
            lastDiff = d
            if goodSamples == tuning.warmupSamples {
                baseDiffVariance = max(diffStats.variance, resolution * resolution, span * span * 1e-18)
                shortDiffVariance = baseDiffVariance
                updateStuckRunLength()
            }
        }
        lastFiltered = out

        // Latency: beyond mean + kσ of the running Welford statistics, several samples in a row.
        if r.latencyNanoseconds > 0 {
            let l = Double(r.latencyNanoseconds)
            if latencyStats.count < tuning.warmupSamples {
                latencyStats.add(l)
            } else {
                let scale = max(latencyStats.variance.squareRoot(), latencyStats.mean * 0.01)
                if scale > 0 { latencyZ = (l - latencyStats.mean) / scale }
                let limit = latencyStats.mean + max(tuning.latencySigmas * scale, tuning.latencyFloorNanoseconds)
                if l > limit {
                    latencyRun += 1
                    if latencyRun >= tuning.latencyConsecutiveSamples {
                        record(.latency, l, limit)
                        bits |= .bit(.latency)
                    }
                } else {
                    latencyRun = 0
                    latencyStats.add(l)
                }
            }
        }

        if fastLevel.isFinite {
            fastLevel += Self.fastLevelWeight * (out - fastLevel)
            slowLevel += Self.slowLevelWeight * (out - slowLevel)
        } else {
            fastLevel = out
            slowLevel = out
        }
        value = out
        lastGoodValue = v
        lastGoodTimestamp = r.timestampNanoseconds
        return bits
    }

    /// Samples in the slope fit of `aligned(at:)`.
    static let alignmentSamples = 5

    /// The value extrapolated to time `t` along the slope of the last `alignmentSamples` filtered
    /// samples (least squares), at most two poll intervals ahead, and the extrapolated amount as
    /// its uncertainty: members sampled at different times by different devices are compared at
    /// one instant, and what extrapolation cannot know (the process turning since the last
    /// sample) is not charged to the sensors. The plain value, with no uncertainty, when the
    /// window is short or `t` is not later than the last sample.
    func aligned(at t: UInt64) -> (value: Double, slack: Double) {
        let m = min(filled, Self.alignmentSamples)
        guard m >= 3, t > lastGoodTimestamp, value.isFinite else { return (value, 0) }
        let newest = (head - 1 + window) % window
        let t0 = stamps[newest]
        var st = 0.0, sv = 0.0
        for k in 0..<m {
            let slot = (newest - k + window) % window
            st -= Double(t0 &- stamps[slot])
            sv += filtered[slot]
        }
        let tm = st / Double(m), vm = sv / Double(m)
        var stt = 0.0, stv = 0.0
        for k in 0..<m {
            let slot = (newest - k + window) % window
            let dt = -Double(t0 &- stamps[slot]) - tm
            stt += dt * dt
            stv += dt * (filtered[slot] - vm)
        }
        guard stt > 0 else { return (value, 0) }
        let ahead = stv / stt * Double(min(t - lastGoodTimestamp, 2 * expectedIntervalNanoseconds))
        return (value + ahead, abs(ahead))
    }

    /// True when this sensor repeats values while healthy (a quantized, quiet signal): its learned
    /// run length is longer than the minimum, and a run alone is weaker evidence.
    var repeatsWhenHealthy: Bool { stuckNeeded > tuning.stuckMinSamples }

    /// With no peer to compare, the current run is shorter than twice the longest a quiet quantized
    /// signal was seen to repeat (its learned run, or the longest run its peers acquitted): its
    /// repeats come in correlated bursts, longer than the warm-up's repeat rate predicts.
    var runWithinQuietBursts: Bool { stuckRun < 2 * max(acquittedRun, stuckNeeded) }

    /// N = the smallest run with pᴺ ≤ the accepted false-run probability, p the repeat rate seen in
    /// warm-up (Laplace-smoothed), clamped to [stuckMinSamples, stuckMaxSamples].
    mutating func updateStuckRunLength() {
        let p = (Double(zeroDiffs) + 1) / (Double(max(goodSamples - 1, 0)) + 2)
        var n = 0
        var chance = 1.0
        while chance > tuning.stuckFalseRunProbability && n < tuning.stuckMaxSamples {
            chance *= p
            n += 1
        }
        stuckNeeded = min(max(n, tuning.stuckMinSamples), tuning.stuckMaxSamples)
    }

    /// Clears the windows after a fault, so a recovered sensor is judged on fresh samples.
    mutating func restartWindows() {
        filled = 0
        head = 0
        stuckRun = 0
        spikeAt = InlineArray<8, Int>(repeating: Int.min / 2)
        if warmedUp { shortDiffVariance = baseDiffVariance }
    }

    /// Median of the first `n` values (insertion sort in place; n ≤ 15).
    static func median(_ a: inout InlineArray<15, Double>, _ n: Int) -> Double {
        if n <= 0 { return .nan }
        var i = 1
        while i < n {
            let x = a[i]
            var j = i - 1
            while j >= 0 && a[j] > x {
                a[j + 1] = a[j]
                j -= 1
            }
            a[j + 1] = x
            i += 1
        }
        return n % 2 == 1 ? a[n / 2] : (a[n / 2 - 1] + a[n / 2]) / 2
    }
}
