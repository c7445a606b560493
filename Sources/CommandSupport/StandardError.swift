import Foundation

/// Writes one line to stderr.
public func printToStandardError(_ line: String, terminator: String = "\n") {
    FileHandle.standardError.write(Data((line + terminator).utf8))
}
