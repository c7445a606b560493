import VigilCore

/// One cycle's tally of the new samples of one device's points.
struct DeviceTally: Sendable {
    var newSamples = 0
    var good = 0
    var timeouts = 0
    var exceptions = 0
    var crcErrors = 0
    var disconnects = 0
    var latencySum = 0.0
    var latencyCount = 0

    mutating func add(_ r: Reading) {
        newSamples += 1
        switch r.quality {
        case .good:
            good += 1
            if r.latencyNanoseconds > 0 {
                latencySum += Double(r.latencyNanoseconds)
                latencyCount += 1
            }
        case .bad(.timeout): timeouts += 1
        // The device answered, but not with data: an exception, or (TCP, where no line can
        // garble a frame) a reply that does not answer the request. Not line noise.
        case .bad(.exception), .bad(.unexpectedException), .bad(.malformedReply): exceptions += 1
        case .bad(.crcOrFraming): crcErrors += 1
        case .bad(.disconnected): disconnects += 1
        default: break
        }
    }
}

/// Per-device detectors: consecutive timeouts, exceptions, CRC error share, disconnects, the
/// latency trend, and "every point bad" (a device fault). One device sample = one cycle in which
/// any of its points brought a new sample.
struct DeviceWatch: Sendable {
    var timeoutRun = 0
    var exceptionRun = 0
    var allBadRun = 0
    var timeoutShare = 0.0
    var crcShare = 0.0
    var latency = Welford()
    var latencyEWMA = 0.0
    var flags: UInt32 = 0
    var faulted = false
    /// The first device of a bus the monitor calls noisy carries the bus's CRC finding while it lasts.
    var lineNoise = false
    /// What the bad samples of the current all-bad run were; names a device fault found by the
    /// all-bad rule before any per-kind threshold (e.g. a switch to the backup line cured it first).
    var runTimeouts = 0, runExceptions = 0, runCRCErrors = 0, runDisconnects = 0
    /// The kind reported when the device was declared faulted; its bit stays set while faulted.
    var faultKind: FindingKind? = nil

    // The device repair under way (reconnect, backup gateway, slower polling).
    var repair: RepairStrategy? = nil
    var repairStartNanoseconds: UInt64 = 0
    var repairGoodRun = 0
    var slowPollingRequested = false

    static func bit(_ kind: FindingKind) -> UInt32 { 1 << UInt32(kind.rawValue - 20) }

    /// Updates from one cycle's tally; returns the device finding bits and fills `evidence` for the strongest.
    mutating func update(_ t: DeviceTally, tuning: MonitorSettings.Devices, evidence: inout (kind: FindingKind, stat: Double, limit: Double)?) -> UInt32 {
        guard t.newSamples > 0 else { return flags }
        let allBad = t.good == 0
        timeoutRun = (t.timeouts > 0 && allBad) ? timeoutRun + 1 : 0
        exceptionRun = (t.exceptions > 0 && allBad) ? exceptionRun + 1 : 0
        allBadRun = allBad ? allBadRun + 1 : 0
        if allBad {
            runTimeouts += t.timeouts
            runExceptions += t.exceptions
            runCRCErrors += t.crcErrors
            runDisconnects += t.disconnects
        } else {
            runTimeouts = 0; runExceptions = 0; runCRCErrors = 0; runDisconnects = 0
        }
        timeoutShare += 0.02 * ((t.timeouts > 0 ? 1.0 : 0.0) - timeoutShare)
        crcShare += 0.02 * ((t.crcErrors > 0 ? 1.0 : 0.0) - crcShare)
        var f: UInt32 = 0
        evidence = nil
        if t.latencyCount > 0 {
            let l = t.latencySum / Double(t.latencyCount)
            if latency.count < tuning.latencyWarmupSamples {
                latency.add(l)
                latencyEWMA = latency.mean
            } else {
                latencyEWMA += 0.05 * (l - latencyEWMA)
                let limit = latency.mean + max(tuning.latencyTrendSigmas * max(latency.variance.squareRoot(), latency.mean * 0.01),
                                               tuning.latencyTrendFloorNanoseconds)
                if latencyEWMA > limit {
                    f |= Self.bit(.deviceLatencyTrend)
                    evidence = (.deviceLatencyTrend, latencyEWMA, limit)
                }
            }
        }
        if crcShare > tuning.crcRatio {
            f |= Self.bit(.deviceCRCErrors)
            evidence = (.deviceCRCErrors, crcShare, tuning.crcRatio)
        }
        if exceptionRun >= tuning.exceptionCount {
            f |= Self.bit(.deviceExceptions)
            evidence = (.deviceExceptions, Double(exceptionRun), Double(tuning.exceptionCount))
        }
        if timeoutRun >= tuning.timeoutCount {
            f |= Self.bit(.deviceTimeouts)
            evidence = (.deviceTimeouts, Double(timeoutRun), Double(tuning.timeoutCount))
        }
        if t.disconnects > 0 && allBad {
            f |= Self.bit(.deviceDisconnected)
            evidence = (.deviceDisconnected, Double(t.disconnects), 1)
        }
        if faulted, let k = faultKind { f |= Self.bit(k) }
        if lineNoise { f |= Self.bit(.deviceCRCErrors) }
        flags = f
        return f
    }

    /// What the current all-bad run says the device fault is, and how many of its samples said so.
    /// Any CRC or framing error names corruption on the line: a corrupted length or function byte
    /// turns other replies of the same burst into timeouts, but a silent line never fails a CRC.
    /// Otherwise the commonest of disconnect, timeout, exception. No allocation.
    var allBadRunEvidence: (kind: FindingKind, count: Int) {
        if runCRCErrors > 0 { return (.deviceCRCErrors, runCRCErrors) }
        var best = (kind: FindingKind.deviceTimeouts, count: runTimeouts)
        if runDisconnects >= best.count && runDisconnects > 0 { best = (.deviceDisconnected, runDisconnects) }
        if runExceptions > best.count { best = (.deviceExceptions, runExceptions) }
        return best
    }
}
