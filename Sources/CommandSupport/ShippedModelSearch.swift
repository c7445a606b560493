/// Where the policy model that ships with Vigil (`default.vglm`, its learning set beside it) is
/// looked for. Never the current directory: an explicit directory when one is given, else the
/// install prefix of the executable (`<prefix>/bin/vigil` → `<prefix>/share/vigil/models`), else,
/// for an executable built in a source checkout (`<repo>/.build…/…/vigil`), the checkout's `models/`.
public enum ShippedModelSearch {
    /// The shipped model's file name inside a models directory.
    public static let modelFileName = "default.vglm"

    /// The directories to look in, in order. An explicit directory is the only one: a mistyped
    /// option must not quietly fall back to another model.
    public static func directories(explicit: String?, executablePath: String) -> [String] {
        if let explicit { return [explicit] }
        let exe = normalized(executablePath)
        var parts = exe.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        guard exe.hasPrefix("/"), parts.count >= 1 else { return [] }
        parts.removeLast()
        let binDirectory = parts
        var result = [join(Array(binDirectory.dropLast()) + ["share", "vigil", "models"])]
        if let build = binDirectory.lastIndex(where: { $0.hasPrefix(".build") }) {
            result.append(join(Array(binDirectory[..<build]) + ["models"]))
        }
        return result
    }

    /// The shipped model's path: in the first directory where `exists` finds it, or, when none
    /// has it, in the first directory searched (so messages name where it belongs). Nil only when
    /// there is nowhere to look (a relative executable path and no explicit directory).
    public static func modelPath(explicit: String?, executablePath: String, exists: (String) -> Bool) -> String? {
        let candidates = directories(explicit: explicit, executablePath: executablePath).map { $0 + "/" + modelFileName }
        return candidates.first(where: exists) ?? candidates.first
    }

    /// An absolute path with `.` and `..` resolved lexically; a relative one is returned as given.
    static func normalized(_ path: String) -> String {
        guard path.hasPrefix("/") else { return path }
        var out: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": if !out.isEmpty { out.removeLast() }
            default: out.append(part)
            }
        }
        return join(out.map(String.init))
    }

    private static func join(_ parts: [String]) -> String { "/" + parts.joined(separator: "/") }
}
