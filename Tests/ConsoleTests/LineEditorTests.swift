import Testing
import Console

/// Feeds bytes one at a time; collects the echo and the events.
private struct Typist {
    var editor: LineEditor
    var echo: [UInt8] = []
    var events: [LineEditor.Event] = []

    init(maxLineBytes: Int = 256) { editor = LineEditor(maxLineBytes: maxLineBytes) }

    mutating func type(_ bytes: [UInt8], secret: Bool = false) {
        for b in bytes {
            if let e = editor.feed(b, secret: secret, echo: &echo) { events.append(e) }
        }
    }

    mutating func type(_ s: String, secret: Bool = false) { type(Array(s.utf8), secret: secret) }

    var echoText: String { String(decoding: echo, as: UTF8.self) }
}

private let erase = "\u{8} \u{8}"

@Suite("Line editor: a human typing on a raw serial terminal")
struct LineEditorTests {
    @Test func enterEndsTheLineAndEchoesCRLF() {
        var t = Typist()
        t.type("status\r")
        #expect(t.events == [.line("status")])
        #expect(t.echoText == "status\r\n")
        #expect(t.editor.pendingBytes.isEmpty)
    }

    @Test func crlfAndLfcrEndOneLineNotTwo() {
        var t = Typist()
        t.type("a\r\nb\n\rc\n\n\r\r")
        // CR LF and LF CR are one line end each; LF LF and CR CR are two.
        #expect(t.events == [.line("a"), .line("b"), .line("c"), .line(""), .line("")])
    }

    @Test func backspaceRemovesAWholeMultibyteCharacter() {
        var t = Typist()
        t.type("t€")               // € is three bytes
        t.type([0x7F])             // DEL
        #expect(t.editor.pendingBytes == Array("t".utf8))
        t.type("é😀")
        t.type([0x08])             // BS removes the four-byte emoji
        #expect(t.editor.pendingBytes == Array("té".utf8))
        t.type("\r")
        #expect(t.events == [.line("té")])
        #expect(t.echoText == "t€" + erase + "é😀" + erase + "\r\n")
    }

    @Test func backspaceOnAnEmptyLineEchoesNothing() {
        var t = Typist()
        t.type([0x7F, 0x08, 0x7F])
        #expect(t.echo.isEmpty)
        t.type("\r")
        #expect(t.events == [.line("")])
    }

    @Test func ctrlCCancelsTheLine() {
        var t = Typist()
        t.type("reboot")
        t.type([0x03])
        #expect(t.events == [.problem(.cancelled)])
        #expect(t.echoText.hasSuffix("^C\r\n"))
        t.type("ok\r")
        #expect(t.events.last == .line("ok"))
    }

    @Test func ctrlUErasesTheLineOnScreenAndInTheBuffer() {
        var t = Typist()
        t.type("ab€")
        t.echo.removeAll()
        t.type([0x15])
        #expect(t.echoText == erase + erase + erase)
        #expect(t.editor.pendingBytes.isEmpty)
        t.type("x\r")
        #expect(t.events == [.line("x")])
    }

    @Test func arrowKeysAndOtherEscapeSequencesAreSwallowed() {
        var t = Typist()
        // Up, Left (CSI), F1 (SS3), Ctrl-Right (CSI with parameters), Alt-x, Delete (CSI 3 ~).
        t.type("a\u{1B}[A\u{1B}[D\u{1B}OP\u{1B}[1;5Cb\u{1B}x\u{1B}[3~c\r")
        #expect(t.events == [.line("abc")])
        #expect(t.echoText == "abc\r\n")
    }

    @Test func anEscapeSequenceBrokenByEnterStillEndsTheLine() {
        var t = Typist()
        t.type("a\u{1B}[1\r")
        #expect(t.events == [.line("a")])
    }

    @Test func controlCharactersAreDroppedSilentlyAndTabIsASpace() {
        var t = Typist()
        t.type([0x61, 0x00, 0x01, 0x02, 0x04, 0x07, 0x0B, 0x0C, 0x1F, 0x62, 0x09, 0x63, 0x0D])
        #expect(t.events == [.line("ab c")])
        #expect(t.echoText == "ab c\r\n")
    }

    @Test func c1ControlCharactersInUTF8AreDroppedLikeC0() {
        var t = Typist()
        t.type([0x61, 0xC2, 0x85, 0xC2, 0x9B, 0x62, 0x0D])  // U+0085 NEL, U+009B CSI
        #expect(t.events == [.line("ab")])
        #expect(t.echoText == "ab\r\n")
    }

    @Test func overLongLineIsReportedAndTheNextLineWorks() {
        var t = Typist(maxLineBytes: 8)
        t.type("0123456789abcdef")
        #expect(t.editor.pendingBytes.count == 8)
        #expect(t.echoText == "01234567")    // echo stops at the bound
        t.type("\r")
        #expect(t.events == [.problem(.tooLong(limit: 8))])
        t.type("ok\r")
        #expect(t.events.last == .line("ok"))
    }

    @Test func lineOfExactlyTheBoundIsTaken() {
        var t = Typist(maxLineBytes: 4)
        t.type("abcd\r")
        #expect(t.events == [.line("abcd")])
    }

    @Test func invalidUTF8IsReportedAtLineEnd() {
        var t = Typist()
        t.type([0x61, 0xFF, 0x62, 0x0D])
        t.type([0x80, 0x0D])                   // stray continuation byte
        t.type([0xE2, 0x82, 0x61, 0x0D])       // truncated scalar
        t.type([0xC0, 0xAF, 0x0D])             // overlong "/"
        t.type([0xED, 0xA0, 0x80, 0x0D])       // UTF-16 surrogate
        #expect(t.events == Array(repeating: .problem(.invalidUTF8), count: 5))
        t.type("fine\r")
        #expect(t.events.last == .line("fine"))
    }

    @Test func secretLinesEchoOneStarPerCharacter() {
        var t = Typist()
        t.type("1é€4", secret: true)
        #expect(t.echoText == "****")
        #expect(t.editor.redraw(secret: true) == Array("****".utf8))
        t.type([0x7F], secret: true)
        t.type("\r", secret: true)
        #expect(t.events == [.line("1é€")])
        #expect(t.echoText == "****" + erase + "\r\n")
    }

    /// `login ROLE PIN` on one line: the PIN echoes as `*` while it is typed (and in a redraw), whatever
    /// was typed before it shows as typed, and backspacing out of it shows plain text again.
    @Test func aPINAfterLoginOnTheSameLineEchoesAsStars() {
        var t = Typist()
        t.type("login operator 1111")
        #expect(t.echoText == "login operator ****")
        #expect(t.editor.redraw(secret: false) == Array("login operator ****".utf8))
        t.type("\r")
        #expect(t.events == [.line("login operator 1111")])
        // A PIN typed where the role goes is masked from its first character that cannot be a role.
        var u = Typist()
        u.type("login 2222\r")
        #expect(u.echoText == "login ****\r\n")
        var v = Typist()
        v.type("LOGIN Engineer 2222")
        v.type([0x7F, 0x7F, 0x7F, 0x7F, 0x7F])
        v.type("x")   // "engineerx" is no role: from there on, masked
        #expect(v.echoText == "LOGIN Engineer ****" + String(repeating: erase, count: 5) + "*")
        v.type([0x7F, 0x7F])
        v.type("R")
        #expect(v.echoText.hasSuffix(erase + erase + "R"))
        // Other commands echo as typed.
        var w = Typist()
        w.type("ack 1111")
        #expect(w.echoText == "ack 1111")
    }

    /// Bidirectional-text controls (U+202E …) are shown as U+FFFD and their line is refused, never handed on.
    @Test func bidiControlsAreNeitherEchoedNorTaken() {
        for scalar in ["\u{202E}", "\u{202A}", "\u{2066}", "\u{2069}", "\u{200F}", "\u{061C}"] {
            var t = Typist()
            t.type("ack 1 \(scalar)gnp.exe\r")
            #expect(t.echoText == "ack 1 \u{FFFD}gnp.exe\r\n", "\(scalar.unicodeScalars.first!.value)")
            #expect(t.events == [.problem(.bidiControl)])
            #expect(!t.echo.contains(0xE2) || !t.echoText.unicodeScalars.contains { LineEditor.isBidiControl($0) })
        }
        var t = Typist()
        t.type("note \u{202E}x")
        #expect(t.editor.redraw(secret: false) == Array("note \u{FFFD}x".utf8))
        // Other non-ASCII text is untouched.
        var u = Typist()
        u.type("note é漢🙂\r")
        #expect(u.events == [.line("note é漢🙂")])
    }

    @Test func redrawShowsThePartialLine() {
        var t = Typist()
        t.type("set pump1 é")
        #expect(t.editor.redraw(secret: false) == Array("set pump1 é".utf8))
        #expect(t.editor.pendingBytes == Array("set pump1 é".utf8))
    }

    @Test func backspaceAfterAnInvalidByteKeepsTheScreenInStep() {
        var t = Typist()
        t.type([0x61, 0xE2])     // "a" and the lead of "€"; the lead is not echoed yet
        t.type([0x7F])           // removes the unechoed lead: nothing to erase on screen
        #expect(t.echoText == "a")
        t.type([0x7F])
        #expect(t.echoText == "a" + erase)
        t.type([0xE2, 0x0D])     // a lone lead byte
        t.type([0xE2, 0x62, 0x7F, 0x82, 0xAC, 0x0D])   // "b" erased, then the scalar completes
        #expect(t.events == [.problem(.invalidUTF8), .line("€")])
    }

    /// Every byte string, whatever it holds, leaves the editor bounded and yields only clean lines.
    @Test func randomBytesNeverBreakTheEditorsBounds() {
        var rng = SplitMix64(seed: 0x5EED_C0DE)
        let limit = 64
        var editor = LineEditor(maxLineBytes: limit)
        var echo: [UInt8] = []
        var executions = 0, lines = 0, problems = 0
        let escapes: [[UInt8]] = [[0x1B, 0x5B, 0x41], [0x1B, 0x4F, 0x50], [0x1B, 0x5B, 0x31, 0x3B, 0x35, 0x43], [0x1B], [0x1B, 0x5B]]
        for _ in 0..<20_000 {
            executions += 1
            var input: [UInt8] = []
            let pieces = 1 + Int(rng.next() % 12)
            for _ in 0..<pieces {
                switch rng.next() % 7 {
                case 0: input += (0..<Int(rng.next() % 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                case 1: input.append(UInt8(rng.next() % 0x20))
                case 2: input += escapes[Int(rng.next() % UInt64(escapes.count))]
                case 3: input += Array(repeating: UInt8(0x20 + rng.next() % 0x5F), count: Int(rng.next() % 200))
                case 4: input += Array(["é", "€", "😀", "ß", "中"][Int(rng.next() % 5)].utf8)
                case 5: input.append([0x08, 0x7F, 0x15, 0x03][Int(rng.next() % 4)])
                default: input.append([0x0D, 0x0A][Int(rng.next() % 2)])
                }
            }
            for b in input {
                echo.removeAll(keepingCapacity: true)
                let event = editor.feed(b, secret: rng.next() % 8 == 0, echo: &echo)
                #expect(editor.pendingBytes.count <= limit)
                #expect(echo.count <= 3 * limit + 4)
                switch event {
                case .line(let line)?:
                    lines += 1
                    #expect(line.utf8.count <= limit)
                    #expect(String(validating: Array(line.utf8), as: UTF8.self) != nil)
                    #expect(!line.unicodeScalars.contains { $0.properties.generalCategory == .control })
                case .problem?: problems += 1
                case nil: break
                }
            }
        }
        // 20,000 random byte strings, each fed byte by byte.
        print("LineEditor property test: \(executions) executions, \(lines) lines, \(problems) problems")
        #expect(executions == 20_000)
        #expect(lines > 1000 && problems > 1000)
    }
}

/// SplitMix64, written out here so the property test's inputs do not depend on another module.
struct SplitMix64 {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
