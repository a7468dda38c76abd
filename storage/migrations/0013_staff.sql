-- staff accounts of the web console, their sessions, web files and passphrases of web reports, inbox indexes
CREATE TABLE staff (
    id              INTEGER PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('admin', 'clerk', 'viewer')),
    password_hash   TEXT NOT NULL,
    must_change     INTEGER NOT NULL DEFAULT 0 CHECK (must_change IN (0, 1)),
    totp_secret     TEXT,
    totp_last_step  INTEGER,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- only a SHA-256 of the session token is kept; stage: password (must change it), totp, enrol, full
CREATE TABLE staff_sessions (
    id              INTEGER PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    staff_id        INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    stage           TEXT NOT NULL CHECK (stage IN ('password', 'totp', 'enrol', 'full')),
    pending_totp    TEXT,
    created_at      TEXT NOT NULL,
    last_seen_at    TEXT NOT NULL
);
CREATE INDEX staff_sessions_by_staff ON staff_sessions (staff_id);

-- images sent through the web form, re-encoded without metadata, encrypted; to be moved into the
-- file store (bot/kernel/files.py) once it exists: report_files.ref holds "web:<id>" encrypted
CREATE TABLE web_file_blobs (
    id          INTEGER PRIMARY KEY,
    report_id   INTEGER NOT NULL REFERENCES reports (id) ON DELETE CASCADE,
    mime_type   TEXT NOT NULL,
    file_name   TEXT NOT NULL,
    size        INTEGER NOT NULL,
    data        TEXT NOT NULL,
    added_at    TEXT NOT NULL
);
CREATE INDEX web_file_blobs_by_report ON web_file_blobs (report_id);

-- the passphrase of a report made under a name on the web (tips keep theirs in reports)
CREATE TABLE web_report_access (
    report_id        INTEGER PRIMARY KEY REFERENCES reports (id) ON DELETE CASCADE,
    passphrase_hash  TEXT NOT NULL
);

-- who took a report in the console ("Tôi xử lý")
ALTER TABLE reports ADD COLUMN assignee TEXT;

-- the inbox: newest first under each filter
CREATE INDEX reports_inbox_status ON reports (status, id);
CREATE INDEX reports_inbox_category ON reports (category, id);
CREATE INDEX reports_inbox_unit ON reports (unit_code, id);
CREATE INDEX reports_inbox_created ON reports (created_at);

-- the channel a report came in through (web, telegram, zalo): also for tips, whose `channel`
-- must stay NULL; it says nothing about who sent it
ALTER TABLE reports ADD COLUMN source TEXT;
UPDATE reports SET source = COALESCE(channel, 'telegram');
CREATE INDEX reports_inbox_source ON reports (source, id);
