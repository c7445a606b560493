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
        migrator.registerMigration("v2 policy feedback") { db in
            try db.execute(sql: """
                -- What the policy model saw of a sensor around a journalled event (the samples an
                -- operator's verdict on that event teaches). No foreign key: events are pruned,
                -- feedback that refers to them is not.
                CREATE TABLE event_features (
                    event_id INTEGER PRIMARY KEY,
                    sensor TEXT NOT NULL,
                    mono_ns INTEGER NOT NULL,
                    feature_count INTEGER NOT NULL,
                    samples BLOB NOT NULL,          -- float32 little-endian, feature_count per sample, newest last
                    model_version INTEGER,
                    diagnosis TEXT,                 -- the model's verdict then (class and action names)
                    action TEXT,
                    margin INTEGER                  -- its diagnosis logit over the runner-up, in int8 steps
                );

                -- The labelled samples of one piece of feedback, written in the same transaction.
                CREATE TABLE feedback_sample (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    feedback_id INTEGER NOT NULL,
                    features BLOB NOT NULL,
                    label TEXT NOT NULL,
                    action TEXT,
                    reward REAL,
                    bucket TEXT NOT NULL CHECK (bucket IN ('success', 'failure', 'edge_case'))
                );
                CREATE INDEX feedback_sample_feedback ON feedback_sample(feedback_id);

                -- Every update the learner ran, accepted or not, and why.
                CREATE TABLE model_update (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    wall_ns INTEGER NOT NULL,
                    base_version INTEGER NOT NULL,
                    last_feedback_id INTEGER NOT NULL,
                    outcome TEXT NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'rate_limited')),
                    new_version INTEGER,
                    reasons TEXT NOT NULL DEFAULT '',
                    report_json TEXT NOT NULL DEFAULT '{}',
                    duration_ms REAL NOT NULL DEFAULT 0
                );
                CREATE INDEX model_update_wall ON model_update(wall_ns);
                """)
        }
        migrator.registerMigration("v3 audit role") { db in
            // The console's role behind each command (viewer, operator, engineer); empty for older rows.
            try db.execute(sql: "ALTER TABLE audit_log ADD COLUMN role TEXT NOT NULL DEFAULT ''")
        }
        migrator.registerMigration("v4 event cycle") { db in
            // The kernel cycle of each event (NULL for older rows): events of one cycle share it,
            // and simulation and replay number their reports by it.
            try db.execute(sql: "ALTER TABLE event ADD COLUMN cycle INTEGER")
        }
        migrator.registerMigration("v5 feedback status, audit privilege, damaged models") { db in
            try db.execute(sql: """
                -- What became of each verdict: waiting for an update (pending), in a deployed version
                -- (learned), refused by the gate and set aside until the operator gives it again
                -- (rejected), or taken back by the operator (withdrawn: its samples are deleted).
                ALTER TABLE operator_feedback ADD COLUMN status TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'learned', 'rejected', 'withdrawn'));
                -- The model_update row that settled it (NULL while pending).
                ALTER TABLE operator_feedback ADD COLUMN update_id INTEGER;
                CREATE INDEX operator_feedback_event_operator ON operator_feedback(event_id, operator);

                -- 0: a read-only command (status, sensors, …), which retention may prune; 1: kept for ever.
                ALTER TABLE audit_log ADD COLUMN privileged INTEGER NOT NULL DEFAULT 1;
                CREATE INDEX audit_log_privileged ON audit_log(privileged, id);

                -- Why a registered version no longer loads (digest mismatch, undecodable); NULL: intact
                -- as far as known.
                ALTER TABLE model_version ADD COLUMN damaged TEXT;

                CREATE INDEX model_update_outcome_wall ON model_update(outcome, wall_ns);
                """)
        }
        migrator.registerMigration("v6 console login failures") { db in
            // Wrong console PINs in a row per endpoint and role, and the lockout they started (wall time),
            // so a restart does not reset a lockout. A right PIN deletes the row.
            try db.execute(sql: """
                CREATE TABLE login_failure (
                    source TEXT NOT NULL,
                    role TEXT NOT NULL,
                    failures INTEGER NOT NULL,
                    last_failure_wall_ns INTEGER NOT NULL,
                    locked_until_wall_ns INTEGER NOT NULL,
                    PRIMARY KEY (source, role)
                )
                """)
        }
        migrator.registerMigration("v7 mqtt outbox") { db in
            // Sparkplug messages kept while no broker is reachable, oldest first: the topic, the payload
            // without its seq (given at send time), and whether it carries an event or alarm (those go
            // last when the outbox is full). One state row: rows kept, rows dropped for space, and the
            // last journal event handed to the edge node.
            try db.execute(sql: """
                CREATE TABLE mqtt_outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    topic TEXT NOT NULL,
                    payload BLOB NOT NULL,
                    important INTEGER NOT NULL,
                    wall_ns INTEGER NOT NULL
                )
                """)
            try db.execute(sql: "CREATE INDEX mqtt_outbox_plain ON mqtt_outbox (important, id)")
            try db.execute(sql: """
                CREATE TABLE mqtt_outbox_state (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    kept INTEGER NOT NULL,
                    dropped INTEGER NOT NULL,
                    event_cursor INTEGER
                )
                """)
            try db.execute(sql: "INSERT INTO mqtt_outbox_state (id, kept, dropped, event_cursor) VALUES (1, 0, 0, NULL)")
        }
        migrator.registerMigration("v8 model watch") { db in
            try db.execute(sql: """
                -- Each model version's live agreement with what the plant proved (operator verdicts,
                -- confirmed faults, verified repairs, false alarms), its baseline and where the watch
                -- left it (watching, rolled back, model error). `recent` is the running window, oldest
                -- first, one character per outcome: 1 agreed, 0 did not.
                CREATE TABLE model_watch (
                    version INTEGER PRIMARY KEY,
                    lineage TEXT,
                    fleet_version INTEGER,
                    baseline REAL,
                    baseline_source TEXT,
                    recent TEXT NOT NULL DEFAULT '',
                    outcomes INTEGER NOT NULL DEFAULT 0,
                    agreed INTEGER NOT NULL DEFAULT 0,
                    contradictions INTEGER NOT NULL DEFAULT 0,
                    state TEXT NOT NULL DEFAULT 'watching' CHECK (state IN ('watching', 'rolled_back', 'model_error')),
                    after_rollback INTEGER NOT NULL DEFAULT 0,
                    reason TEXT NOT NULL DEFAULT '',
                    updated_wall_ns INTEGER NOT NULL DEFAULT 0
                );

                -- Every outcome counted, once per event and kind of proof (a restart does not count one twice).
                CREATE TABLE model_watch_outcome (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    event_id INTEGER NOT NULL,
                    proof TEXT NOT NULL,
                    version INTEGER NOT NULL,
                    model_said TEXT NOT NULL,
                    truth TEXT,                     -- NULL: a fault of any kind
                    margin INTEGER,
                    agreed INTEGER NOT NULL CHECK (agreed IN (0, 1)),
                    wall_ns INTEGER NOT NULL,
                    UNIQUE (event_id, proof)
                );
                CREATE INDEX model_watch_outcome_version ON model_watch_outcome(version, id);

                -- How far the watch has read the event and feedback tables.
                CREATE TABLE model_watch_cursor (
                    name TEXT PRIMARY KEY NOT NULL,
                    value INTEGER NOT NULL
                ) WITHOUT ROWID;
                """)
        }
        migrator.registerMigration("v9 fleet cursor") { db in
            // How far the fleet link has had operator feedback acknowledged by the broker (the
            // feedback table is the store: everything after the cursor is published again).
            try db.execute(sql: """
                CREATE TABLE fleet_cursor (
                    name TEXT PRIMARY KEY NOT NULL,
                    value INTEGER NOT NULL
                ) WITHOUT ROWID
                """)
        }
        migrator.registerMigration("v10 sparkplug bdSeq") { db in
            // The bdSeq the edge node's next MQTT connection takes: Sparkplug counts it on from the
            // previous CONNECT, across restarts, so a late will of an old session never matches a new birth.
            try db.execute(sql: "ALTER TABLE mqtt_outbox_state ADD COLUMN next_bd_seq INTEGER NOT NULL DEFAULT 0")
        }
        return migrator
    }
}
