import Foundation
import Logging

/// swift-log on stderr, one line per message with an ISO-8601 time: readable at 3 a.m.
public struct StderrLogHandler: LogHandler {
    public let label: String
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]

    public init(label: String, logLevel: Logger.Level) {
        self.label = label
        self.logLevel = logLevel
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        let fields = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        let error = event.error.map { " error=\($0)" } ?? ""
        let time = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true))
        printToStandardError("\(time) \(event.level.rawValue.uppercased()) \(label): \(event.message)\(fields)\(error)")
    }
}

public func makeLogger(_ label: String, level: Logger.Level) -> Logger {
    Logger(label: label) { StderrLogHandler(label: $0, logLevel: level) }
}
