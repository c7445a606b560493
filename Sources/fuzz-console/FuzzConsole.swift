// libFuzzer harness: the console's line editor and command language on bytes as a terminal sends
// them. The first byte chooses a PIN prompt (secret echo) or an ordinary one. Beyond "no crash":
// at a PIN prompt no typed printable character is echoed (only `*`, and `^C` for Ctrl-C); the
// audit text of a finished line never holds the secret part of a login line; every line parses to
// a command, nothing, or an error, and its help renders. Built and run by scripts/fuzz.
import Console
import FuzzSupport

#if VIGIL_FUZZ
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = fuzzBytes(data, size)
    guard let first = bytes.first else { return 0 }
    let secret = first & 1 == 1
    var editor = LineEditor(maxLineBytes: 256)
    for byte in bytes.dropFirst() {
        var echo: [UInt8] = []
        let event = editor.feed(byte, secret: secret, echo: &echo)
        if secret, let leaked = echo.first(where: { (0x21...0x7E).contains($0) && $0 != UInt8(ascii: "*") && $0 != UInt8(ascii: "^") && $0 != UInt8(ascii: "C") }) {
            fatalError("a PIN prompt echoed \(leaked)")
        }
        guard case .line(let line)? = event else { continue }
        let lineBytes = Array(line.utf8)
        if let cut = CommandLanguage.secretStart(in: lineBytes), lineBytes.count - cut >= 3 {
            let kept = String(decoding: lineBytes[..<cut], as: UTF8.self)
            let secretPart = String(decoding: lineBytes[cut...], as: UTF8.self)
            let audited = CommandLanguage.redacted(line)
            guard audited.hasPrefix(kept) else { fatalError("the audit text of a login line does not keep its command") }
            var rest = Substring(audited.dropFirst(kept.count))
            if rest.hasSuffix("<withheld>") { rest = rest.dropLast("<withheld>".count) } // the marker itself may hold a short "secret"
            if rest.contains(secretPart) { fatalError("the audit text of \(line.utf8.count) bytes keeps its secret") }
        }
        if let command = try? CommandLanguage.parse(line) { _ = command.name }
        _ = CommandLanguage.help(line.split(separator: " ").first.map(String.init), role: .engineer)
    }
    return 0
}
#endif

@main struct FuzzConsole {
    static func main() { fuzzMain(FuzzConsole.self) }
}
