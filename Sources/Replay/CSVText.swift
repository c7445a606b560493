/// Text written into a CSV file.
enum CSVText {
    /// `text` as one field: quoted (inner quotes doubled) when it holds a comma, a quote or a line end.
    static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
        return "\"" + text.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
    }
}
