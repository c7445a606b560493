/// What went wrong with the journal, with the database path and SQLite's own message.
public enum JournalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened or created (missing directory, permissions, disk full, …).
    case cannotOpen(path: String, message: String)
    /// The file exists but is not a SQLite database, or its pages are damaged.
    case corrupt(path: String, message: String)
    /// The schema could not be brought up to date.
    case migrationFailed(path: String, message: String)
    /// The database was written by a newer Vigil whose migrations this build does not know.
    case newerSchema(path: String, unknownMigrations: [String])
    /// A write did not commit; nothing of it is in the journal, so it must not be acknowledged.
    case writeFailed(path: String, operation: String, message: String)
    /// A query failed.
    case readFailed(path: String, operation: String, message: String)
    /// `registerModel` was given a version number that is already registered.
    case duplicateModelVersion(path: String, version: Int)
    /// A model version that is not registered.
    case unknownModelVersion(path: String, version: Int)

    public var description: String {
        switch self {
        case let .cannotOpen(path, message):
            return "cannot open journal \(path): \(message)"
        case let .corrupt(path, message):
            return "journal \(path) is not a valid SQLite database or is damaged: \(message)"
        case let .migrationFailed(path, message):
            return "cannot migrate journal \(path): \(message)"
        case let .newerSchema(path, unknown):
            return "journal \(path) was written by a newer Vigil (unknown migrations: \(unknown.joined(separator: ", ")))"
        case let .writeFailed(path, operation, message):
            return "journal \(path): \(operation) failed, nothing written: \(message)"
        case let .readFailed(path, operation, message):
            return "journal \(path): \(operation) failed: \(message)"
        case let .duplicateModelVersion(path, version):
            return "journal \(path): model version \(version) is already registered"
        case let .unknownModelVersion(path, version):
            return "journal \(path): no model version \(version)"
        }
    }
}
