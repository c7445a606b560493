import ArgumentParser
import HIL

/// A fault typed on the command line of `vigil demo`:
/// `[sensor|device|line|signal] ID KIND [VALUE] at SECONDS[s] [for SECONDS[s]]`, e.g.
/// `PT-101A stuck at 10s`, `PT-101A bias 2.5 at 5s for 20s`, `device tank-io disconnect at 15s for 10s`.
/// VALUE is the stuck level, the bias, the drift rate per second, the noise σ, or the excursion offset.
struct DemoInjection {
    var fault: ScheduledFault
    var text: String

    init(_ text: String, periodMilliseconds: Double) throws {
        self.text = text
        var words = text.split(separator: " ").map(String.init)
        func fail(_ why: String) -> ValidationError {
            ValidationError("--inject \"\(text)\": \(why). Expected e.g. \"PT-101A stuck at 10s\" or \"device tank-io disconnect at 15s for 10s\"")
        }
        var targetKind = "sensor"
        if let first = words.first, ["sensor", "device", "gateway", "backup_gateway", "line", "signal"].contains(first) { targetKind = first; words.removeFirst() }
        guard words.count >= 4 else { throw fail("too few words") }
        let id = words.removeFirst()
        guard let kind = FaultKind(rawValue: words.removeFirst()) else {
            throw fail("unknown fault kind; one of \(FaultKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var value: Double?
        if let v = Double(words.first ?? "") { value = v; words.removeFirst() }
        func seconds(_ word: String) -> Double? { Double(word.hasSuffix("s") ? String(word.dropLast()) : word) }
        guard words.first == "at", words.count >= 2, let at = seconds(words[1]), at >= 0 else { throw fail("missing \"at SECONDS\"") }
        words.removeFirst(2)
        var duration: Double?
        if words.first == "for" {
            guard words.count >= 2, let d = seconds(words[1]), d > 0 else { throw fail("\"for\" needs a positive number of seconds") }
            duration = d
            words.removeFirst(2)
        }
        guard words.isEmpty else { throw fail("unexpected \"\(words.joined(separator: " "))\"") }
        let target: FaultTarget = switch targetKind {
        case "device": .device(id)
        case "line": .line(id)
        case "gateway": .gateway(id)
        case "backup_gateway": .backupGateway(id)
        case "signal": .signal(id)
        default: .sensor(id)
        }
        var p = FaultParameters()
        switch kind {
        case .drift: p.ratePerSecond = value
        case .noise, .spike, .excursion: p.magnitude = value
        case .delay: p.milliseconds = value.map { Int($0) }
        case .exception: p.code = value.map { Int($0) }
        default: p.value = value
        }
        let cycle = { (s: Double) in UInt64(s * 1000 / periodMilliseconds) }
        fault = ScheduledFault(at: cycle(at), until: duration.map { cycle(at + $0) }, target: target, kind: kind, parameters: p)
    }
}
