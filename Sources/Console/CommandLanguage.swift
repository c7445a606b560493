/// One console command, parsed and checked for shape (not for meaning: whether an alarm or a
/// group exists is the backend's answer).
public enum ConsoleCommand: Sendable, Hashable {
    case help(String?)
    case status
    case sensors(group: String?)
    case alarms
    case events(Int)
    case explain(event: Int64)
    case ack(alarm: UInt64)
    case shelve(alarm: UInt64, seconds: Int, reason: String)
    case unshelve(alarm: UInt64)
    case feedback(event: Int64, verdict: ConsoleVerdict, note: String)
    case rate(event: Int64, good: Bool, note: String)
    case failover(group: String, sensor: String)
    case release(group: String)
    case output(name: String, value: Double)
    case auto(name: String)
    case safeStateEnter
    case safeStateExit
    case model
    case modelHistory
    case modelRollback(version: Int)
    /// `login ROLE`, or `login ROLE PIN` on one line (the PIN masked as it is typed).
    case login(ConsoleRole, pin: SecretText?)
    case logout
    case whoami

    /// The role a command needs. Viewing needs none; alarm handling, teaching and entering safe
    /// state need an operator (entering is the safe direction); control, leaving safe state and
    /// model rollback need an engineer.
    public var requiredRole: ConsoleRole {
        switch self {
        case .help, .status, .sensors, .alarms, .events, .explain, .model, .modelHistory, .login, .logout, .whoami: return .viewer
        case .ack, .shelve, .unshelve, .feedback, .rate, .safeStateEnter: return .operator
        case .failover, .release, .output, .auto, .safeStateExit, .modelRollback: return .engineer
        }
    }

    /// The command's name as `help` lists it.
    public var name: String {
        switch self {
        case .help: return "help"
        case .status: return "status"
        case .sensors: return "sensors"
        case .alarms: return "alarms"
        case .events: return "events"
        case .explain: return "explain"
        case .ack: return "ack"
        case .shelve: return "shelve"
        case .unshelve: return "unshelve"
        case .feedback: return "feedback"
        case .rate: return "rate"
        case .failover: return "failover"
        case .release: return "release"
        case .output: return "output"
        case .auto: return "auto"
        case .safeStateEnter, .safeStateExit: return "safe-state"
        case .model, .modelHistory, .modelRollback: return "model"
        case .login: return "login"
        case .logout: return "logout"
        case .whoami: return "whoami"
        }
    }
}

/// Text that must never be shown or stored: a PIN. Printing it, in any way, gives `<withheld>`; only
/// the console module reads `value` (to check it against the PIN hash).
public struct SecretText: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let value: String
    init(_ value: String) { self.value = value }
    public var description: String { "<withheld>" }
    public var debugDescription: String { "<withheld>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}

/// Why a line is not a command.
public enum ConsoleParseError: Error, Sendable, Hashable, CustomStringConvertible {
    case unknownCommand(String, suggestion: String?)
    /// Right command, wrong arguments: the usage line and what was wrong.
    case usage(command: String, problem: String)

    public var description: String {
        switch self {
        case .unknownCommand(_, let suggestion):
            // The word is not repeated: an unknown word may be a PIN typed at the wrong prompt.
            return "the first word is not a command" + (suggestion.map { " (did you mean '\($0)'?)" } ?? "") + "; 'help' lists the commands"
        case .usage(let command, let problem):
            let usage = CommandLanguage.usage(of: command) ?? command
            return "\(problem). Usage: \(usage)"
        }
    }
}

/// The console's command language: the table behind `help`, the tokenizer and the parser.
public enum CommandLanguage {
    /// One line of `help`. The role it shows is not written here but found by parsing `example`
    /// (`ConsoleCommand.requiredRole`), so the help cannot drift from the rules that are enforced.
    public struct Entry: Sendable {
        /// The command word (`safe-state`); several entries may share it (`safe-state enter`, `safe-state exit`).
        public var name: String
        public var usage: String
        public var summary: String
        public var detail: String
        /// A line of this shape that parses.
        public var example: String

        init(name: String, usage: String, summary: String, example: String, detail: String) {
            self.name = name
            self.usage = usage
            self.summary = summary
            self.detail = detail
            self.example = example
        }

        /// The role the example needs, as the session enforces it.
        public var role: ConsoleRole {
            guard let command = try? CommandLanguage.parse(example) else { return .engineer }
            return command.requiredRole
        }
    }

    /// Every command, in the order `help` lists them.
    public static let entries: [Entry] = [
        Entry(name: "help", usage: "help [COMMAND]", summary: "list the commands, or explain one", example: "help",
              detail: "Without an argument: every command with the role it needs. With one: its usage and details."),
        Entry(name: "status", usage: "status", summary: "cycle, lateness, overruns, safe state, trust score, model", example: "status",
              detail: "The scan cycle's count and period, p99 and worst lateness, overruns, watchdog stalls, safe-state reasons, "
                  + "tripped interlocks, the trust score, the policy model version and the alarm counts."),
        Entry(name: "sensors", usage: "sensors [GROUP]", summary: "value, unit, quality, health and active source", example: "sensors",
              detail: "Every sensor (or a redundancy group's members) with its value, unit, quality and health state; groups show "
                  + "the value control uses and its active source (marked * in the member list; 'manual' after a failover command)."),
        Entry(name: "alarms", usage: "alarms", summary: "open alarms with diagnosis and evidence", example: "alarms",
              detail: "Alarm id, state (UNACK / ack / RTN unack / shelved), severity, subject, diagnosis and the first evidence. "
                  + "Acknowledge with 'ack ALARM'."),
        Entry(name: "events", usage: "events [N]", summary: "the newest N journalled events (default 20, at most 200)", example: "events",
              detail: "Each line starts with the event id that 'explain', 'feedback' and 'rate' take."),
        Entry(name: "explain", usage: "explain EVENT", summary: "why: detectors, statistics, what the model said", example: "explain 1",
              detail: "For a detection, diagnosis, health change, failover or escalation: the findings around it with their statistic "
                  + "and threshold, the diagnosis, the policy decision and the policy model's verdict on the sensor."),
        Entry(name: "ack", usage: "ack ALARM", summary: "acknowledge an alarm", example: "ack 1",
              detail: "An active alarm stays listed as acknowledged until its condition clears; a returned one is cleared."),
        Entry(name: "shelve", usage: "shelve ALARM DURATION REASON", summary: "hide an alarm for a while (e.g. 30m, 2h)", example: "shelve 1 30m why",
              detail: "DURATION is seconds or a number with s, m or h, from 1 s up to the plant's shelving limit (SHELVE_LIMIT). "
                  + "REASON is required and goes to the audit log. Safety alarms cannot be shelved; a shelved alarm returns by "
                  + "itself when the time is up."),
        Entry(name: "unshelve", usage: "unshelve ALARM", summary: "show a shelved alarm again", example: "unshelve 1", detail: ""),
        Entry(name: "feedback", usage: "feedback EVENT confirm|false-alarm|withdraw|class CLASS [NOTE]",
              summary: "teach the model: was Vigil right about this event?", example: "feedback 1 confirm",
              detail: "confirm: the diagnosis was right. false-alarm: nothing was wrong. class CLASS: the right diagnosis was CLASS "
                  + "(healthy, stuck, drift, spike, noise, dropout, excursion). withdraw: take your verdict back. One verdict per "
                  + "event and operator: a later one replaces the earlier. Only sensor events the policy model saw have the "
                  + "samples it learns from (detections, diagnoses, escalations and model verdicts about a sensor; 'explain EVENT' "
                  + "says whether one does). The feedback is stored durably before the reply; the model update it asks for runs "
                  + "beside the plant at low priority (at most the hourly limit of updates), and its result (deployed, or why it "
                  + "was rejected or postponed) is announced on the console when done. A rejected verdict is set aside: later "
                  + "updates leave it out until you give it again."),
        Entry(name: "rate", usage: "rate EVENT good|bad [NOTE]", summary: "rate the action the model recommended on a sensor event",
              example: "rate 1 good",
              detail: "Trains the reward behind the policy model's recommended action. Takes the same events as feedback (a "
                  + "detection, diagnosis, escalation or model verdict about a sensor, with the model's samples; 'explain EVENT' "
                  + "says whether one has them), not failover or repair events; same gate as feedback."),
        Entry(name: "failover", usage: "failover GROUP SENSOR", summary: "put a group's control on one member (manual)",
              example: "failover g s",
              detail: "Control follows SENSOR alone until 'release GROUP' or until SENSOR goes out of service. Asks for confirmation."),
        Entry(name: "release", usage: "release GROUP", summary: "give a group back to automatic source selection", example: "release g",
              detail: "Asks for confirmation."),
        Entry(name: "output", usage: "output NAME VALUE", summary: "drive an output by hand (its loop goes to manual)", example: "output o 1",
              detail: "Refused while an interlock on NAME holds or the plant is in safe state. Asks for confirmation."),
        Entry(name: "auto", usage: "auto NAME", summary: "give an output back to its control loop", example: "auto o",
              detail: "Asks for confirmation."),
        Entry(name: "safe-state", usage: "safe-state enter", summary: "every output to its safe value, at once", example: "safe-state enter",
              detail: "Entering is the safe direction: no question."),
        Entry(name: "safe-state", usage: "safe-state exit", summary: "leave safe state (confirmation)", example: "safe-state exit",
              detail: "Asks for confirmation and is refused while an interlock holds."),
        Entry(name: "model", usage: "model [info|history]", summary: "policy model: running version, live agreement, history", example: "model history",
              detail: "The running version, its lineage, the last updates and each recent version's live agreement with what the plant "
                  + "proved (outcomes, agreement, baseline, state: watching, rolled back, model error); 'history' lists every "
                  + "registered version."),
        Entry(name: "model", usage: "model rollback VERSION", summary: "deploy an earlier policy model version", example: "model rollback 1",
              detail: "Asks for confirmation; the cycle takes the version at a boundary."),
        Entry(name: "login", usage: "login ROLE", summary: "operator or engineer (asks for the PIN)", example: "login operator",
              detail: "The PIN is never shown (typed at the PIN prompt, or after the role on the same line, it echoes as *) and never "
                  + "recorded. Wrong PINs lock the role on this console for a while, longer after each further wrong PIN; an "
                  + "empty PIN cancels without counting. Idle sessions, and sessions whose terminal went away, fall back to viewer."),
        Entry(name: "logout", usage: "logout", summary: "back to viewer", example: "logout", detail: ""),
        Entry(name: "whoami", usage: "whoami", summary: "the session's role and endpoint", example: "whoami", detail: ""),
    ]

    public static func entry(_ name: String) -> Entry? { entries.first { $0.name == name } }

    /// The usage lines of a command word (`safe-state enter | safe-state exit`).
    static func usage(of name: String) -> String? {
        let found = entries.filter { $0.name == name }
        return found.isEmpty ? nil : found.map(\.usage).joined(separator: " | ")
    }

    /// Longest identifier (alarm, group, sensor, output) accepted.
    public static let maxIdentifierLength = 64
    /// The alarm manager's default shelving limit; the session is told the plant's own.
    public static let defaultMaxShelveSeconds = 8 * 3600

    /// Role names as `login` takes them.
    static let roleNames = ConsoleRole.allCases.map(\.description)

    /// Where the secret part of a (partial) line starts, as a byte offset, or nil when it has none: the
    /// PIN of `login ROLE PIN`. Whatever follows `login` stops being shown at the first character that
    /// cannot continue a role name, and everything after a complete second word is secret. The line
    /// editor masks echo from here and `redacted` withholds it from the audit log: one rule for both.
    public static func secretStart<C: Collection<UInt8>>(in line: C) -> Int? where C.Index == Int {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
        let start = line.startIndex, end = line.endIndex
        var i = start
        while i < end, isSpace(line[i]) { i += 1 }
        let w0 = i
        while i < end, !isSpace(line[i]) { i += 1 }
        let login: [UInt8] = Array("login".utf8)
        guard i - w0 == login.count, zip(line[w0..<i], login).allSatisfy({ ($0 | 0x20) == $1 }), i < end else { return nil }
        while i < end, isSpace(line[i]) { i += 1 }
        let w1 = i
        while i < end, !isSpace(line[i]) {
            let prefix = line[w1...i].map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
            guard roleNames.contains(where: { $0.utf8.starts(with: prefix) }) else { return i - start }
            i += 1
        }
        guard i < end else { return nil }
        while i < end, isSpace(line[i]) { i += 1 }
        return i - start
    }

    /// `line` as the audit log may hold it: the secret part (`secretStart`) withheld, and a line whose
    /// first word is not a command reduced to its length (it may be a PIN typed at the wrong prompt).
    public static func redacted(_ line: String) -> String {
        let bytes = Array(line.utf8)
        if let cut = secretStart(in: bytes) {
            let kept = String(decoding: bytes[..<cut], as: UTF8.self)
            return cut < bytes.count ? kept + (kept.last == " " ? "" : " ") + "<withheld>" : kept
        }
        let (words, _) = tokenize(line)
        guard let first = words.first else { return line }
        guard isCommandWord(first.lowercased()) else { return "(not a command: \(line.count) characters withheld)" }
        return line
    }

    /// Whether `word` (lowercased) names a command.
    static func isCommandWord(_ word: String) -> Bool {
        word == "?" || word == "safestate" || word == "safe_state" || entries.contains { $0.name == word }
    }

    /// Splits a line into words; the first word is lowercased. Returns the words and, for each,
    /// the rest of the line from it (for free-text NOTE and REASON).
    static func tokenize(_ line: String) -> (words: [Substring], rests: [Substring]) {
        var words: [Substring] = [], rests: [Substring] = []
        var i = line.startIndex
        while i < line.endIndex {
            while i < line.endIndex && line[i].isWhitespace { i = line.index(after: i) }
            guard i < line.endIndex else { break }
            let start = i
            while i < line.endIndex && !line[i].isWhitespace { i = line.index(after: i) }
            words.append(line[start..<i])
            var rest = line[start...]
            while let last = rest.last, last.isWhitespace { rest = rest.dropLast() }
            rests.append(rest)
        }
        return (words, rests)
    }

    /// Parses one line (already free of control characters). An empty line is nil.
    public static func parse(_ line: String, maxShelveSeconds: Int = defaultMaxShelveSeconds) throws(ConsoleParseError) -> ConsoleCommand? {
        let (words, rests) = tokenize(line)
        guard let first = words.first else { return nil }
        let name = first.lowercased()
        let args = Array(words.dropFirst())
        func usage(_ problem: String) -> ConsoleParseError { .usage(command: name, problem: problem) }
        func count(_ n: ClosedRange<Int>) throws(ConsoleParseError) {
            guard n.contains(args.count) else {
                throw usage(args.count < n.lowerBound ? "missing argument" : "too many arguments")
            }
        }
        func identifier(_ i: Int, _ what: String) throws(ConsoleParseError) -> String {
            let w = args[i]
            guard w.count <= maxIdentifierLength, w.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0.asciiValue! >= 0x21 && $0.asciiValue! < 0x7F }) else {
                throw usage("\(what) must be a name of printable ASCII characters, at most \(maxIdentifierLength)")
            }
            return String(w)
        }
        func number<T: FixedWidthInteger>(_ i: Int, _ what: String, _: T.Type) throws(ConsoleParseError) -> T {
            let w = args[i].hasPrefix("#") ? args[i].dropFirst() : args[i]
            guard let v = T(w), v > 0 else { throw usage("\(what) must be a positive whole number, got '\(args[i].prefix(24))'") }
            return v
        }
        /// The free text after argument `i` (args[i] is words[i + 1]).
        func note(from i: Int) -> String {
            guard i + 2 < rests.count else { return "" }
            var text = rests[i + 2]
            if text.count >= 2, text.first == "\"", text.last == "\"" { text = text.dropFirst().dropLast() }
            return String(text)
        }

        switch name {
        case "help", "?":
            try count(0...1)
            return .help(args.first.map { $0.lowercased() })
        case "status":
            try count(0...0)
            return .status
        case "sensors":
            try count(0...1)
            return .sensors(group: args.isEmpty ? nil : try identifier(0, "GROUP"))
        case "alarms":
            try count(0...0)
            return .alarms
        case "events":
            try count(0...1)
            guard !args.isEmpty else { return .events(20) }
            let n = try number(0, "N", Int.self)
            guard n <= 200 else { throw usage("N is at most 200") }
            return .events(n)
        case "explain":
            try count(1...1)
            return .explain(event: try number(0, "EVENT", Int64.self))
        case "ack":
            try count(1...1)
            return .ack(alarm: try number(0, "ALARM", UInt64.self))
        case "unshelve":
            try count(1...1)
            return .unshelve(alarm: try number(0, "ALARM", UInt64.self))
        case "shelve":
            guard args.count >= 3 else { throw usage(args.count < 2 ? "missing argument" : "a REASON is required") }
            let alarm = try number(0, "ALARM", UInt64.self)
            guard let seconds = duration(args[1]) else {
                throw usage("DURATION must be seconds or a number with s, m or h (e.g. 90, 30m, 2h), got '\(args[1].prefix(24))'")
            }
            guard seconds > 0 && seconds <= maxShelveSeconds else {
                throw usage("DURATION must be between 1 s and \(durationText(maxShelveSeconds)) (the plant's shelving limit)")
            }
            return .shelve(alarm: alarm, seconds: seconds, reason: note(from: 1))
        case "feedback":
            guard args.count >= 2 else { throw usage("missing argument") }
            let event = try number(0, "EVENT", Int64.self)
            switch args[1].lowercased() {
            case "confirm": return .feedback(event: event, verdict: .confirm, note: note(from: 1))
            case "false-alarm", "falsealarm", "false_alarm": return .feedback(event: event, verdict: .falseAlarm, note: note(from: 1))
            case "withdraw":
                guard args.count == 2 else { throw usage("withdraw takes no more arguments") }
                return .feedback(event: event, verdict: .withdraw, note: "")
            case "class":
                guard args.count >= 3 else { throw usage("class needs the right CLASS") }
                let cls = try identifier(2, "CLASS").lowercased()
                return .feedback(event: event, verdict: .correctClass(cls), note: note(from: 2))
            default: throw usage("the verdict is confirm, false-alarm, class CLASS or withdraw, got '\(args[1].prefix(24))'")
            }
        case "rate":
            guard args.count >= 2 else { throw usage("missing argument") }
            let event = try number(0, "EVENT", Int64.self)
            switch args[1].lowercased() {
            case "good": return .rate(event: event, good: true, note: note(from: 1))
            case "bad": return .rate(event: event, good: false, note: note(from: 1))
            default: throw usage("the rating is good or bad, got '\(args[1].prefix(24))'")
            }
        case "failover":
            try count(2...2)
            return .failover(group: try identifier(0, "GROUP"), sensor: try identifier(1, "SENSOR"))
        case "release":
            try count(1...1)
            return .release(group: try identifier(0, "GROUP"))
        case "output":
            try count(2...2)
            let id = try identifier(0, "NAME")
            guard let v = Double(args[1]), v.isFinite else { throw usage("VALUE must be a finite number, got '\(args[1].prefix(24))'") }
            return .output(name: id, value: v)
        case "auto":
            try count(1...1)
            return .auto(name: try identifier(0, "NAME"))
        case "safe-state", "safestate", "safe_state":
            try count(1...1)
            switch args[0].lowercased() {
            case "enter": return .safeStateEnter
            case "exit": return .safeStateExit
            default: throw .usage(command: "safe-state", problem: "say enter or exit, got '\(args[0].prefix(24))'")
            }
        case "model":
            if args.isEmpty { return .model }
            switch args[0].lowercased() {
            case "info":
                guard args.count == 1 else { throw usage("too many arguments") }
                return .model
            case "history":
                guard args.count == 1 else { throw usage("too many arguments") }
                return .modelHistory
            case "rollback":
                guard args.count == 2 else { throw usage(args.count < 2 ? "rollback needs a VERSION" : "too many arguments") }
                let w = args[1].hasPrefix("v") ? args[1].dropFirst() : args[1]
                guard let v = Int(w), v > 0 else { throw usage("VERSION must be a positive whole number, got '\(args[1].prefix(24))'") }
                return .modelRollback(version: v)
            default: throw usage("say info, history or rollback VERSION, got '\(args[0].prefix(24))'")
            }
        case "login":
            // Nothing typed after `login` is repeated: it may be a PIN.
            guard !args.isEmpty else { throw usage("missing argument") }
            guard let role = ConsoleRole(name: String(args[0])) else { throw usage("ROLE is operator or engineer") }
            guard args.count <= 2 else { throw usage("too many arguments (the PIN has no spaces)") }
            return .login(role, pin: args.count == 2 ? SecretText(String(args[1])) : nil)
        case "logout":
            try count(0...0)
            return .logout
        case "whoami":
            try count(0...0)
            return .whoami
        default:
            throw .unknownCommand(String(first), suggestion: suggestion(for: name))
        }
    }

    /// `8 h`, `90 min`, `45 s`.
    static func durationText(_ seconds: Int) -> String {
        seconds % 3600 == 0 ? "\(seconds / 3600) h" : seconds % 60 == 0 ? "\(seconds / 60) min" : "\(seconds) s"
    }

    /// Seconds in `90`, `90s`, `30m`, `2h`; nil when it is none of those.
    static func duration(_ word: Substring) -> Int? {
        let w = word.lowercased()
        var scale = 1
        var digits = Substring(w)
        if let last = w.last, "smh".contains(last) {
            scale = last == "s" ? 1 : last == "m" ? 60 : 3600
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.count <= 9, digits.allSatisfy(\.isASCII), let n = Int(digits), n >= 0 else { return nil }
        return n * scale
    }

    /// The closest command name within two edits, for a mistyped word.
    static func suggestion(for word: String) -> String? {
        guard word.count <= 24 else { return nil }
        var best: (String, Int)?
        for e in entries {
            let d = editDistance(Array(word.utf8), Array(e.name.utf8))
            if d <= 2 && d < (best?.1 ?? .max) { best = (e.name, d) }
        }
        return best?.0
    }

    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count), current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }

    /// `help` or `help COMMAND`, as text.
    public static func help(_ command: String?, role: ConsoleRole, maxShelveSeconds: Int = defaultMaxShelveSeconds) -> String {
        if let command {
            let found = entries.filter { $0.name == command }
            guard !found.isEmpty else {
                return "no such command" + (suggestion(for: command).map { " (did you mean '\($0)'?)" } ?? "")
            }
            var lines: [String] = []
            for e in found {
                lines.append(e.usage)
                lines += wrap("\(e.summary). Needs: \(e.role).", indent: 2)
                let detail = e.detail.replacing("SHELVE_LIMIT", with: durationText(maxShelveSeconds))
                if !detail.isEmpty { lines += wrap(detail, indent: 2) }
            }
            return lines.joined(separator: "\n")
        }
        // Fits an 80-column terminal (screen's and most panels' default): a usage wider than the
        // column puts its summary on the next line.
        let column = 24
        var lines = ["Commands (you are \(role)):"]
        for e in entries {
            let summary = e.summary + (e.role > .viewer ? " [\(e.role)]" : "")
            if e.usage.count <= column - 4 {
                let padded = "  " + e.usage + String(repeating: " ", count: column - 2 - e.usage.count)
                let wrapped = wrap(summary, indent: column)
                lines.append(padded + wrapped[0].dropFirst(column))
                lines += wrapped.dropFirst()
            } else {
                lines.append("  " + e.usage)
                lines += wrap(summary, indent: column)
            }
        }
        lines += wrap("Editing: Backspace, Ctrl-U erases the line, Ctrl-C cancels it. 'help COMMAND' for details.", indent: 0)
        return lines.joined(separator: "\n")
    }

    /// Widest line the console writes by itself, so a plain 80-column terminal never wraps one.
    public static let lineWidth = 79

    /// Words of `text` in lines of at most `lineWidth` columns, each indented by `indent` spaces
    /// (a word longer than the room left stands alone on its line).
    static func wrap(_ text: String, indent: Int) -> [String] {
        let pad = String(repeating: " ", count: indent)
        var lines: [String] = []
        var line = pad
        for word in text.split(separator: " ") {
            if line.count > indent && line.count + 1 + word.count > lineWidth {
                lines.append(line)
                line = pad
            }
            line += (line.count > indent ? " " : "") + word
        }
        lines.append(line)
        return lines
    }
}
