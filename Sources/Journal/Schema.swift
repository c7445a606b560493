import GRDB

/// The journal's schema, one migration per change, applied in order at open. Never edit a
/// migration that has shipped; add the next one.
enum JournalSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            // AUTOINCREMENT: ids are never reused after pruning, so an id in feedback or a
            // console transcript always means the same event.
            try db.execute(sql: """
                CREATE TABLE event (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    wall_ns INTEGER NOT NULL,
                    mono_ns INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    severity INTEGER NOT NULL,
                    subject TEXT,
                    code INTEGER NOT NULL,
                    value REAL,   -- SQLite stores NaN as NULL; NULL reads back as NaN
                    value2 REAL,
                    detail TEXT
                );
                CREATE INDEX event_severity_id ON event(severity, id);
                CREATE INDEX event_kind_id ON event(kind, id);
                CREATE INDEX event_wall ON event(wall_ns);

                CREATE TABLE operator_feedback (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    wall_ns INTEGER NOT NULL,
                    operator TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    event_id INTEGER,   -- no foreign key: the event may be pruned later, the verdict stays
                    verdict TEXT NOT NULL CHECK (verdict IN ('confirmed', 'falseAlarm', 'correctedClass')),
                    class TEXT,
                    action_rating TEXT CHECK (action_rating IN ('good', 'bad')),
                    note TEXT NOT NULL DEFAULT ''
                );
                CREATE INDEX operator_feedback_event ON operator_feedback(event_id);
                CREATE INDEX operator_feedback_subject ON operator_feedback(subject, id);

                CREATE TABLE audit_log (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    wall_ns INTEGER NOT NULL,
                    source TEXT NOT NULL,
                    command TEXT NOT NULL,
                    result TEXT NOT NULL
                );
                CREATE INDEX audit_log_wall ON audit_log(wall_ns);

                CREATE TABLE model_version (
                    version INTEGER PRIMARY KEY,
                    parent_version INTEGER,
                    created_wall_ns INTEGER NOT NULL,
                    file_path TEXT NOT NULL,
                    sha256 TEXT NOT NULL,
                    training_summary TEXT NOT NULL DEFAULT '',
                    validation_json TEXT NOT NULL DEFAULT '{}',
                    deployed INTEGER NOT NULL DEFAULT 0 CHECK (deployed IN (0, 1)),
                    note TEXT NOT NULL DEFAULT ''
                );
                -- At most one deployed model.
                CREATE UNIQUE INDEX model_version_deployed ON model_version(deployed) WHERE deployed = 1;

                -- Cumulative counters that outlive a process, e.g. `dropped.warning`.
                CREATE TABLE journal_stats (
                    name TEXT PRIMARY KEY NOT NULL,
                    value INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        return migrator
    }
}
