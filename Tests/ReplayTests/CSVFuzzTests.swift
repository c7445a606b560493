import Testing
import VigilCore
@testable import Replay

/// The CSV reader takes bytes from outside: thousands of seeded random and mutated files must each
/// either read or be refused with a `ReplayError`, never trap. What reads must hold its invariants,
/// and read the same through a buffer of a few bytes as in one piece (rows, or the same refusal).
@Suite struct CSVFuzzTests {
    typealias S = ReplayTestSupport

    static let seeds: [String] = [
        "time,PT-1,PT-2,FT-1\n0,1.5,2,3\n0.1,,2.25,NaN\n0.2,1e-3,\"4\",5\n",
        "\u{FEFF}time,\"PT-1\",PT-2,FT-1,other\r\n# comment\r\n2026-03-01T12:00:00Z,1,2,3,x\r\n2026-03-01 12:00:00.250+01:00,4,5,6,y\r\n",
        "PT-1,time,FT-1,PT-2\n1,-5.5,2,3\n\n4,-5.25,\"5\",6\n7,1.5E+2,8,9",
        "time,PT-1,\"a,\"\"b\"\"\",FT-1,PT-2\n0,1,2,3,4\n1,,,,\n",
    ]
    /// Bytes the mutations insert: the ones the reader reacts to, and any byte.
    static let interesting = Array(",\"\n\r.-+eE:TtZz 0123456789#\u{FEFF}".utf8)

    static func named(_ files: [[UInt8]]) -> [(name: String, bytes: [UInt8])] {
        files.enumerated().map { ("f\($0.offset).csv", $0.element) }
    }

    /// What reading `files` through a `chunkBytes` buffer gives, as text: every file's rows (times
    /// and the values' bits, both reads: the check's summary and `rows()`), or the refusal.
    func outcome(_ files: [[UInt8]], chunkBytes: Int) -> String {
        do throws(ReplayError) {
            let r = try Recording.parse(Self.named(files), plant: S.smallPlant(), options: RecordingOptions(allowUnmapped: true),
                                        chunkBytes: chunkBytes)
            var text = "\(r.timeFormat) \(r.firstTime) \(r.lastTime)\n"
            for file in r.files {
                let rows = try file.rows()
                text += "\(file.file) \(file.header.columns) \(file.feeds) first line \(file.firstLine), \(file.rowCount) rows\n"
                for row in 0..<rows.rowCount {
                    text += "\(rows.times[row]):" + (0..<rows.feedCount).map { String(rows.value(row: row, feed: $0).bitPattern, radix: 16) }
                        .joined(separator: ",") + "\n"
                }
            }
            return text
        } catch {
            return "refused: \(error)"
        }
    }

    /// Reads `bytes` and checks what was read, and that a buffer of `chunkBytes` reads it alike;
    /// returns whether it read.
    @discardableResult
    func check(_ files: [[UInt8]], chunkBytes: Int) -> Bool {
        #expect(outcome(files, chunkBytes: chunkBytes) == outcome(files, chunkBytes: CSVRecordReader.defaultChunkBytes),
                "read through \(chunkBytes) bytes at a time: \(files.map { String(decoding: $0, as: UTF8.self) })")
        do throws(ReplayError) {
            let r = try Recording.parse(Self.named(files), plant: S.smallPlant(), options: RecordingOptions(allowUnmapped: true))
            for file in r.files {
                let f = try file.rows()
                #expect(f.rowCount == file.rowCount && f.rowCount > 0 && f.values.count == f.rowCount * file.feeds.count)
                #expect(f.times.first == file.firstTime && f.times.last == file.lastTime)
                #expect(zip(f.times, f.times.dropFirst()).allSatisfy { $0 < $1 }, "times increase")
                #expect(f.values.allSatisfy { $0.isNaN || $0.isFinite })
                #expect(f.times.allSatisfy { abs($0) <= 9_200_000_000_000_000_000 })
            }
            #expect(r.files.allSatisfy { $0.timeFormat == r.timeFormat })
            let run = try ReplayRun(plant: S.smallPlant(), recording: r)
            #expect(run.stepCount >= 1, "what reads can be stepped")
            return true
        } catch {
            #expect(!error.description.isEmpty)
            return false
        }
    }

    func mutate(_ bytes: [UInt8], _ random: inout SeededRandom) -> [UInt8] {
        var b = bytes
        for _ in 0..<(1 + Int(random.next() % 4)) {
            let at = b.isEmpty ? 0 : Int(random.next() % UInt64(b.count))
            let byte = random.next() % 2 == 0 ? Self.interesting[Int(random.next() % UInt64(Self.interesting.count))] : UInt8(truncatingIfNeeded: random.next())
            switch random.next() % 6 {
            case 0 where !b.isEmpty: b[at] = byte
            case 1: b.insert(byte, at: at)
            case 2 where !b.isEmpty: b.remove(at: at)
            case 3 where !b.isEmpty:
                let end = min(b.count, at + 1 + Int(random.next() % 16))
                b.insert(contentsOf: b[at..<end], at: Int(random.next() % UInt64(b.count)))
            case 4: b.removeLast(Int(random.next() % UInt64(b.count + 1)))
            default:
                let digits = Array(String(random.next() >> (random.next() % 64)).utf8)
                b.insert(contentsOf: digits, at: at)
            }
        }
        return b
    }

    @Test func mutatedFilesReadOrAreRefusedNeverTrap() {
        var random = SeededRandom(seed: 0x5EED_C5F0), chunks = SeededRandom(seed: 1)
        var read = 0, refused = 0
        for i in 0..<4_000 {
            let seed = Array(Self.seeds[i % Self.seeds.count].utf8)
            if check([mutate(seed, &random)], chunkBytes: 1 + Int(chunks.next() % 24)) { read += 1 } else { refused += 1 }
        }
        #expect(read > 100 && refused > 100, "the mutations reach both outcomes: \(read) read, \(refused) refused")
    }

    @Test func randomBytesAreRefusedNeverTrap() {
        var random = SeededRandom(seed: 42), chunks = SeededRandom(seed: 2)
        for _ in 0..<2_000 {
            let count = Int(random.next() % 300)
            let bytes = (0..<count).map { _ in
                random.next() % 3 == 0 ? Self.interesting[Int(random.next() % UInt64(Self.interesting.count))] : UInt8(truncatingIfNeeded: random.next())
            }
            check([bytes], chunkBytes: 1 + Int(chunks.next() % 24))
        }
    }

    @Test func mutatedPairsOfFilesReadOrAreRefusedNeverTrap() {
        var random = SeededRandom(seed: 7), chunks = SeededRandom(seed: 3)
        for i in 0..<1_000 {
            let a = mutate(Array(Self.seeds[i % 4].utf8), &random), b = mutate(Array(Self.seeds[(i + 1) % 4].utf8), &random)
            check([a, b], chunkBytes: 1 + Int(chunks.next() % 24))
        }
    }

    /// Feeding the reader awkwardly: every seed, and mutations of it, cut at every offset (a buffer
    /// of every size from 1 byte to the whole file) reads as in one piece.
    @Test func everyBufferSizeReadsAFileAsOnePieceDoes() {
        var random = SeededRandom(seed: 11)
        for seed in Self.seeds {
            for variant in 0..<6 {
                let bytes = variant == 0 ? Array(seed.utf8) : mutate(Array(seed.utf8), &random)
                let whole = outcome([bytes], chunkBytes: CSVRecordReader.defaultChunkBytes)
                for chunk in 1...(bytes.count + 1) {
                    #expect(outcome([bytes], chunkBytes: chunk) == whole, "\(chunk) bytes at a time: \(String(decoding: bytes, as: UTF8.self))")
                }
            }
        }
    }

    /// Line ends, blank lines and comments where a buffer's end cuts them: a CR whose LF is in the
    /// next piece, a comment line longer than the buffer, a byte order mark cut in two.
    @Test func lineEndsAndCommentsCutByTheBufferReadAsInOnePiece() {
        let texts = [
            "\u{FEFF}time,PT-1\r\n\r\n0,1\r\n\r\n# a comment much longer than the buffer it is read through\r\n1,2\r\n",
            "time,PT-1\r\r\r0,1\r1,2\r\n\n\r2,3",
            "\n\n  \n# c\n\ttime , PT-1\n\n# \"quoted\ncomment\n0,\"1\"\n#\n#\n1,\"2\"\"\"\n",
            "time,PT-1\n0,1\n1,\"unterminated\n2,3\n",
            "time,PT-1\n0,1\n1,\"x\" y\n",
        ]
        for text in texts {
            let bytes = Array(text.utf8)
            let whole = outcome([bytes], chunkBytes: CSVRecordReader.defaultChunkBytes)
            for chunk in 1...(bytes.count + 1) {
                #expect(outcome([bytes], chunkBytes: chunk) == whole, "\(chunk) bytes at a time: \(text)")
            }
        }
    }

    /// The fast path of the number reader against the standard library's parser, bit for bit.
    @Test func numbersReadExactlyAsTheStandardLibraryReadsThem() {
        var random = SeededRandom(seed: 2026)
        for _ in 0..<20_000 {
            var text = random.next() % 4 == 0 ? "-" : ""
            let integerDigits = Int(random.next() % 12), fractionDigits = Int(random.next() % 12)
            text += String((0..<integerDigits).map { _ in Character(String(random.next() % 10)) })
            if fractionDigits > 0 || integerDigits == 0 {
                text += "." + String((0..<max(1, fractionDigits)).map { _ in Character(String(random.next() % 10)) })
            }
            if random.next() % 5 == 0 { text += "e" + String(Int(random.next() % 60) - 30) }
            let bytes = Array(text.utf8)
            let fast = bytes.withUnsafeBufferPointer { DecimalText.double($0, 0, $0.count) }
            let reference = Double(text)
            #expect(fast?.bitPattern == reference?.bitPattern, "\(text): \(String(describing: fast)) against \(String(describing: reference))")
        }
    }

    /// Past the fast path (more than 2⁵³, more than 19 digits, exponents past ±22, subnormals and
    /// overflow), the C library's reading is the standard library's, bit for bit.
    @Test func longNumbersReadExactlyAsTheStandardLibraryReadsThem() {
        var random = SeededRandom(seed: 2027)
        var texts = ["6.4000033000000005", "0.30000000000000004", "9007199254740993", "123456789012345678901234567890", "1e23",
                     "2.2250738585072011e-308", "4.9e-324", "2e-324", "1e-400", "-1e-400", "1.7976931348623157e308", "1.8e308", "-0.0e5",
                     "1" + String(repeating: "0", count: 400), "0." + String(repeating: "0", count: 330) + "1"]
        for value in (0..<5_000).map({ _ in Double(bitPattern: random.next()) }) where value.isFinite { texts.append("\(value)") }
        for _ in 0..<10_000 {
            var text = random.next() % 4 == 0 ? "-" : ""
            text += String((0..<(1 + Int(random.next() % 28))).map { _ in Character(String(random.next() % 10)) })
            if random.next() % 2 == 0 { text += "." + String((0..<(1 + Int(random.next() % 12))).map { _ in Character(String(random.next() % 10)) }) }
            if random.next() % 2 == 0 { text += "e" + String(Int(random.next() % 660) - 330) }
            texts.append(text)
        }
        for text in texts {
            let bytes = Array(text.utf8)
            let read = bytes.withUnsafeBufferPointer { DecimalText.double($0, 0, $0.count) }
            let reference = Double(text)
            #expect(read?.bitPattern == reference?.bitPattern, "\(text): \(String(describing: read)) against \(String(describing: reference))")
        }
    }

    @Test func secondsReadToTheNanosecondAsIntegerArithmeticDoes() {
        var random = SeededRandom(seed: 99)
        for _ in 0..<5_000 {
            let seconds = Int64(random.next() % 5_000_000_000), nanos = Int64(random.next() % 1_000_000_000)
            var fraction = String(nanos)
            fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
            let text = "\(seconds)." + fraction.prefix(1 + Int(random.next() % 9))
            var expected = seconds * 1_000_000_000
            let kept = String(text.split(separator: ".")[1])
            expected += Int64(kept + String(repeating: "0", count: 9 - kept.count))!
            let bytes = Array(text.utf8)
            #expect(bytes.withUnsafeBufferPointer { DecimalText.nanoseconds(fromSeconds: $0, 0, $0.count) } == expected, "\(text)")
        }
    }
}
