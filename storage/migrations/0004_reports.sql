-- reports and anonymous tips, their files and the office's actions
CREATE TABLE reports (
    id                  INTEGER PRIMARY KEY,
    code                TEXT NOT NULL UNIQUE,
    anonymous           INTEGER NOT NULL CHECK (anonymous IN (0, 1)),
    channel             TEXT,
    chat_id             INTEGER,
    category            TEXT NOT NULL,
    unit_code           TEXT REFERENCES units (code) ON UPDATE CASCADE ON DELETE SET NULL,
    status              TEXT NOT NULL DEFAULT 'new',
    body                TEXT NOT NULL,
    passphrase_hash     TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    first_action_at     TEXT,
    last_announced_at   TEXT NOT NULL,
    office_message_id   INTEGER,
    CHECK (anonymous = 0 OR (chat_id IS NULL AND channel IS NULL)),
    CHECK (anonymous = 1 OR passphrase_hash IS NULL)
);
CREATE INDEX reports_by_status ON reports (status, last_announced_at);
CREATE INDEX reports_by_sender ON reports (channel, chat_id);
CREATE INDEX reports_by_unit ON reports (unit_code);

CREATE TABLE report_files (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('photo', 'video', 'document')),
    ref         TEXT NOT NULL,
    added_by    TEXT NOT NULL CHECK (added_by IN ('sender', 'office')),
    added_at    TEXT NOT NULL
);
CREATE INDEX report_files_by_report ON report_files (report_id);

CREATE TABLE report_events (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    at          TEXT NOT NULL,
    actor       TEXT NOT NULL,
    action      TEXT NOT NULL,
    from_status TEXT,
    to_status   TEXT,
    note        TEXT
);
CREATE INDEX report_events_by_report ON report_events (report_id, id);
