import Testing
@testable import Console

/// The command language: every command parses with its arguments, wrong shapes get their usage
/// line, mistyped names get a suggestion, and no line (random bytes included) crashes the parser.
@Suite struct CommandLanguageTests {
    @Test func everyCommandParses() throws {
        let cases: [(String, ConsoleCommand)] = [
            ("help", .help(nil)), ("HELP Ack", .help("ack")), ("status", .status), ("sensors", .sensors(group: nil)),
            ("sensors discharge-pressure", .sensors(group: "discharge-pressure")), ("alarms", .alarms), ("events", .events(20)),
            ("events 5", .events(5)), ("explain 42", .explain(event: 42)), ("explain #42", .explain(event: 42)),
            ("ack 3", .ack(alarm: 3)), ("shelve 3 30m pump in maintenance", .shelve(alarm: 3, seconds: 1800, reason: "pump in maintenance")),
            ("shelve 3 90 \"quoted reason\"", .shelve(alarm: 3, seconds: 90, reason: "quoted reason")),
            ("shelve 3 2h x", .shelve(alarm: 3, seconds: 7200, reason: "x")), ("unshelve 3", .unshelve(alarm: 3)),
            ("feedback 7 confirm", .feedback(event: 7, verdict: .confirm, note: "")),
            ("feedback 7 false-alarm  summer heat ", .feedback(event: 7, verdict: .falseAlarm, note: "summer heat")),
            ("feedback 7 class Drift slow creep", .feedback(event: 7, verdict: .correctClass("drift"), note: "slow creep")),
            ("rate 9 good", .rate(event: 9, good: true, note: "")), ("rate 9 bad too early", .rate(event: 9, good: false, note: "too early")),
            ("failover g s", .failover(group: "g", sensor: "s")), ("release g", .release(group: "g")),
            ("output FV-101 40.5", .output(name: "FV-101", value: 40.5)), ("auto FV-101", .auto(name: "FV-101")),
            ("safe-state enter", .safeStateEnter), ("safe-state EXIT", .safeStateExit), ("model", .model),
            ("model history", .modelHistory), ("model info", .model), ("model rollback v3", .modelRollback(version: 3)), ("model rollback 3", .modelRollback(version: 3)),
            ("login operator", .login(.operator, pin: nil)), ("login ENGINEER", .login(.engineer, pin: nil)),
            ("login operator 1234", .login(.operator, pin: SecretText("1234"))), ("logout", .logout), ("whoami", .whoami),
            ("   status   ", .status),
        ]
        for (line, expected) in cases {
            #expect(try CommandLanguage.parse(line) == expected, "\(line)")
        }
        #expect(try CommandLanguage.parse("") == nil)
        #expect(try CommandLanguage.parse("    ") == nil)
    }

    @Test func wrongShapesGetTheirUsage() {
        let cases: [(String, String)] = [
            ("ack", "missing argument. Usage: ack ALARM"), ("ack x", "ALARM must be a positive whole number"),
            ("ack 0", "ALARM must be a positive whole number"), ("ack 1 2", "too many arguments"),
            ("shelve 1 30m", "a REASON is required"), ("shelve 1 soon x", "DURATION must be seconds"),
            ("shelve 1 8d x", "DURATION must be seconds"), ("shelve 1 999999999999h x", "DURATION must be"),
            ("shelve 1 9h x", "DURATION must be between 1 s and 8 h (the plant's shelving limit)"),
            ("feedback 1 maybe", "the verdict is confirm, false-alarm, class CLASS or withdraw"), ("feedback 1 class", "class needs the right CLASS"),
            ("rate 1 meh", "the rating is good or bad"), ("output x nan", "VALUE must be a finite number"),
            ("output x 1e999", "VALUE must be a finite number"), ("safe-state maybe", "say enter or exit"),
            ("model delete 3", "say info, history or rollback VERSION"), ("model rollback", "rollback needs a VERSION"),
            ("login root", "ROLE is operator or engineer"), ("events 500", "N is at most 200"),
            ("sensors \(String(repeating: "g", count: 65))", "GROUP must be a name of printable ASCII characters"),
        ]
        for (line, text) in cases {
            do {
                _ = try CommandLanguage.parse(line)
                Issue.record("'\(line)' parsed")
            } catch {
                #expect(error.description.contains(text), "'\(line)': \(error.description)")
                if case .usage = error {} else { Issue.record("'\(line)' should be a usage error") }
            }
        }
    }

    @Test func mistypedCommandsGetASuggestion() {
        #expect(CommandLanguage.suggestion(for: "stauts") == "status")
        #expect(CommandLanguage.suggestion(for: "alarm") == "alarms")
        #expect(CommandLanguage.suggestion(for: "logut") == "logout")
        #expect(CommandLanguage.suggestion(for: "xyzzyplugh") == nil)
        do {
            _ = try CommandLanguage.parse("stauts")
            Issue.record("parsed")
        } catch {
            #expect(error.description == "the first word is not a command (did you mean 'status'?); 'help' lists the commands")
        }
    }

    @Test func rolesFollowTheIssue() throws {
        #expect(try CommandLanguage.parse("alarms")?.requiredRole == .viewer)
        #expect(try CommandLanguage.parse("explain 1")?.requiredRole == .viewer)
        #expect(try CommandLanguage.parse("ack 1")?.requiredRole == .operator)
        #expect(try CommandLanguage.parse("feedback 1 confirm")?.requiredRole == .operator)
        #expect(try CommandLanguage.parse("safe-state enter")?.requiredRole == .operator)
        #expect(try CommandLanguage.parse("safe-state exit")?.requiredRole == .engineer)
        #expect(try CommandLanguage.parse("output a 1")?.requiredRole == .engineer)
        #expect(try CommandLanguage.parse("model rollback 2")?.requiredRole == .engineer)
        #expect(try CommandLanguage.parse("failover g s")?.requiredRole == .engineer)
    }

    @Test func helpListsEveryCommandAndExplainsEach() {
        let text = CommandLanguage.help(nil, role: .viewer)
        for e in CommandLanguage.entries { #expect(text.contains(e.usage), "\(e.name) missing from help") }
        let shelve = CommandLanguage.help("shelve", role: .operator).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(shelve.contains("Safety alarms cannot be shelved"))
        #expect(CommandLanguage.help("nosuch", role: .viewer).hasPrefix("no such command"))
    }

    /// The help is generated from the rules: every entry's example parses, and the role the help shows
    /// is the role the session enforces for it; every kind of command has an entry.
    @Test func helpShowsTheRolesTheSessionEnforces() throws {
        var kinds = Set<String>()
        for e in CommandLanguage.entries {
            let command = try #require(try CommandLanguage.parse(e.example), "\(e.usage): example '\(e.example)' does not parse")
            #expect(e.role == command.requiredRole)
            #expect(command.name == e.name, "\(e.usage)")
            kinds.insert(String(describing: command).prefix { $0 != "(" }.description)
        }
        let all = ["help", "status", "sensors", "alarms", "events", "explain", "ack", "shelve", "unshelve", "feedback", "rate",
                   "failover", "release", "output", "auto", "safeStateEnter", "safeStateExit", "model", "modelHistory",
                   "modelRollback", "login", "logout", "whoami"]
        // `model` and `model history` share an entry.
        #expect(kinds.union(["model"]) == Set(all), "commands without a help entry: \(Set(all).subtracting(kinds))")
        // The cases the issue found: safe-state exit and model rollback are listed for engineers only.
        let list = CommandLanguage.help(nil, role: .operator).split(separator: "\n").map(String.init)
        /// The usage's line and the next (a long usage puts its summary there).
        func listed(_ usage: String) -> String {
            guard let i = list.firstIndex(where: { $0.hasPrefix("  " + usage) }) else { return "" }
            return list[i] + (i + 1 < list.count && list[i + 1].hasPrefix("    ") ? list[i + 1] : "")
        }
        #expect(listed("safe-state exit").contains("[engineer]"))
        #expect(listed("safe-state enter").contains("[operator]"))
        #expect(listed("model rollback").contains("[engineer]"))
        #expect(!listed("model [history]").contains("[operator]") && !listed("model [history]").contains("[engineer]"))
        // Shelving's limit is the plant's, in the help and in the refusal.
        let shelve = CommandLanguage.help("shelve", role: .operator, maxShelveSeconds: 8 * 3600).split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(shelve.contains("up to the plant's shelving limit (8 h)") && !shelve.contains("7 days"))
        // rate does not promise failover, repair or escalation-only events.
        let rate = CommandLanguage.help(nil, role: .operator).split(separator: "\n").first { $0.contains("rate EVENT") } ?? ""
        #expect(!rate.contains("failover") && !rate.contains("repair"))
    }

    /// One rule decides what of a line is secret, for the echo and for the audit log.
    @Test func secretPartOfALoginLineIsFoundAndRedacted() {
        func cut(_ s: String) -> Int? { CommandLanguage.secretStart(in: Array(s.utf8)) }
        #expect(cut("login operator 1111") == 15)
        #expect(cut("LOGIN Engineer   2222") == 17)
        #expect(cut("login operator") == nil)
        #expect(cut("login operator ") == 15)
        #expect(cut("login 1111") == 6)
        #expect(cut("login op1111") == 8)
        #expect(cut("logins 1111") == nil)
        #expect(cut("status 1111") == nil)
        #expect(CommandLanguage.redacted("login operator 1111") == "login operator <withheld>")
        #expect(CommandLanguage.redacted("login 1111") == "login <withheld>")
        #expect(CommandLanguage.redacted("login operator") == "login operator")
        #expect(CommandLanguage.redacted("1111") == "(not a command: 4 characters withheld)")
        #expect(CommandLanguage.redacted("ack 3") == "ack 3")
        // Whatever follows login, no refusal repeats it.
        for line in ["login 1111", "login operator 1111 2", "login op1111", "login"] {
            do { _ = try CommandLanguage.parse(line); Issue.record("\(line) parsed") } catch {
                #expect(!error.description.contains("1111"), "\(line): \(error.description)")
            }
        }
        #expect("\(SecretText("1111"))" == "<withheld>" && String(reflecting: SecretText("1111")) == "<withheld>")
        #expect(!"\(ConsoleCommand.login(.operator, pin: SecretText("1111")))".contains("1111"))
    }

    /// A plain 80-column terminal (screen's default) must not wrap any help line.
    @Test func helpFitsAnEightyColumnTerminal() {
        let texts = [CommandLanguage.help(nil, role: .engineer)] + CommandLanguage.entries.map { CommandLanguage.help($0.name, role: .engineer) }
        for text in texts {
            for line in text.split(separator: "\n") {
                #expect(line.count <= CommandLanguage.lineWidth, "\(line.count) columns: \(line)")
            }
        }
        // Every summary is still there, word for word.
        let flat = texts[0].split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for e in CommandLanguage.entries { #expect(flat.contains(e.summary), "\(e.name)") }
    }

    /// Property-based fuzzing: 200,000 seeded random lines (command words with random arguments,
    /// random printable text, random Unicode, very long words) never crash the parser; every
    /// refusal is one short line; every accepted command re-parses the same from its canonical form.
    @Test func randomLinesNeverCrashAndRefusalsStayShort() {
        var rng = SplitMix64(seed: 0x5EED)
        let words = CommandLanguage.entries.map(\.name) + ["safe-state", "model", "history", "rollback", "confirm", "false-alarm",
                                                           "class", "good", "bad", "enter", "exit", "operator", "engineer", "#1", "v2"]
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789-_#.\" ÄéØ漢🙂\t")
        var accepted = 0, refused = 0
        let executions = 200_000
        for _ in 0..<executions {
            var parts: [String] = []
            for _ in 0..<Int(rng.next() % 6) {
                switch rng.next() % 5 {
                case 0, 1: parts.append(words[Int(rng.next() % UInt64(words.count))])
                case 2: parts.append(String(Int64(bitPattern: rng.next()) % 100_000))
                case 3: parts.append(String((0..<Int(rng.next() % 12)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }))
                default: parts.append(String(repeating: "9", count: Int(rng.next() % 40)) + ["s", "m", "h", ""][Int(rng.next() % 4)])
                }
            }
            let line = parts.joined(separator: " ")
            do {
                if try CommandLanguage.parse(line) != nil { accepted += 1 }
            } catch {
                refused += 1
                let text = error.description
                #expect(!text.isEmpty && !text.contains("\n") && text.count < 400, "\(line) → \(text)")
            }
        }
        #expect(accepted > 1000 && refused > 1000, "the generator should reach both sides: \(accepted) accepted, \(refused) refused")
        print("CommandLanguage fuzz: \(executions) executions, \(accepted) accepted, \(refused) refused, 0 crashes")
    }
}
