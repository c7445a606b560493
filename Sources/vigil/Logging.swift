import Foundation
import Logging

/// swift-log on stderr, one line per message with an ISO-8601 time: readable at 3 a.m.
struct StderrLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata extra: Logger.Metadata?, source: String,
             file: String, function: String, line: UInt) {
        let all = metadata.merging(extra ?? [:]) { $1 }
        let fields = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let time = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
        printToStandardError("\(time) \(level.rawValue.uppercased()) \(label): \(message)\(fields)")
    }
}

func makeLogger(_ label: String, level: Logger.Level) -> Logger {
    Logger(label: label) { StderrLogHandler(label: $0, logLevel: level) }
}
