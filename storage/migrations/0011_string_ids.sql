-- pragma: foreign_keys=off
-- Ids that come from a channel (chat, message, staff) become TEXT: Zalo's ids exceed 2^63, and an
-- INTEGER column would turn them into REAL and collide. Each table is rebuilt (SQLite's documented
-- procedure, with foreign keys off so that dropping the old table cascades nothing) and its data
-- kept; the outbox's channel loses its default, so a row without a channel is refused.

CREATE TABLE people_new (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL,
    chat_id     TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('teacher', 'parent', 'head')),
    unit_code   TEXT REFERENCES units (code) ON UPDATE CASCADE ON DELETE SET NULL,
    consent_at  TEXT NOT NULL,
    subscribed  INTEGER NOT NULL DEFAULT 0,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (channel, chat_id)
);
INSERT INTO people_new
    SELECT id, channel, CAST(chat_id AS TEXT), role, unit_code, consent_at, subscribed, active,
           created_at, updated_at
    FROM people;
DROP TABLE people;
ALTER TABLE people_new RENAME TO people;
CREATE INDEX people_by_unit ON people (unit_code);
CREATE INDEX people_by_audience ON people (subscribed, active, role);
CREATE INDEX people_heads_by_unit ON people (unit_code, role, active);

CREATE TABLE outbox_new (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL,
    chat_id     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    ref         TEXT,
    priority    INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL DEFAULT 'pending'
                CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'blocked', 'cancelled')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  TEXT,
    created_at  TEXT NOT NULL,
    sent_at     TEXT,
    message_id  TEXT,
    last_error  TEXT,
    dedupe_key  TEXT UNIQUE
);
INSERT INTO outbox_new
    SELECT id, channel, CAST(chat_id AS TEXT), kind, payload, ref, priority, state, attempts,
           not_before, created_at, sent_at, CAST(message_id AS TEXT), last_error, dedupe_key
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (channel, priority DESC, id) WHERE state = 'pending';
CREATE INDEX outbox_scheduled ON outbox (channel, not_before)
    WHERE state = 'pending' AND not_before IS NOT NULL;
CREATE INDEX outbox_in_flight ON outbox (channel) WHERE state = 'sending';
CREATE INDEX outbox_by_kind ON outbox (kind, state);
CREATE INDEX outbox_by_ref ON outbox (ref, state) WHERE ref IS NOT NULL;

CREATE TABLE reports_new (
    id                  INTEGER PRIMARY KEY,
    code                TEXT NOT NULL UNIQUE,
    anonymous           INTEGER NOT NULL CHECK (anonymous IN (0, 1)),
    channel             TEXT,
    chat_id             TEXT,
    category            TEXT NOT NULL,
    unit_code           TEXT REFERENCES units (code) ON UPDATE CASCADE ON DELETE SET NULL,
    status              TEXT NOT NULL DEFAULT 'new',
    body                TEXT NOT NULL,
    passphrase_hash     TEXT,
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    first_action_at     TEXT,
    last_announced_at   TEXT NOT NULL,
    office_message_id   TEXT,
    erased_at           TEXT,
    CHECK (anonymous = 0 OR (chat_id IS NULL AND channel IS NULL)),
    CHECK (anonymous = 1 OR passphrase_hash IS NULL)
);
INSERT INTO reports_new
    SELECT id, code, anonymous, channel, CAST(chat_id AS TEXT), category, unit_code, status, body,
           passphrase_hash, created_at, updated_at, first_action_at, last_announced_at,
           CAST(office_message_id AS TEXT), erased_at
    FROM reports;
DROP TABLE reports;
ALTER TABLE reports_new RENAME TO reports;
CREATE INDEX reports_by_status ON reports (status, last_announced_at);
CREATE INDEX reports_by_sender ON reports (channel, chat_id);
CREATE INDEX reports_by_unit ON reports (unit_code);

CREATE TABLE announcements_new (
    id                  INTEGER PRIMARY KEY,
    created_by          TEXT NOT NULL,
    created_at          TEXT NOT NULL,
    text                TEXT NOT NULL,
    photo_file_id       TEXT,
    audience            TEXT,
    area                TEXT,
    state               TEXT NOT NULL DEFAULT 'draft'
                        CHECK (state IN ('draft', 'sending', 'done', 'cancelled')),
    recipients          INTEGER,
    chat_id             TEXT NOT NULL,
    progress_message_id TEXT,
    confirmed_at        TEXT,
    finished_at         TEXT
);
INSERT INTO announcements_new
    SELECT id, CAST(created_by AS TEXT), created_at, text, photo_file_id, audience, area, state,
           recipients, CAST(chat_id AS TEXT), CAST(progress_message_id AS TEXT), confirmed_at,
           finished_at
    FROM announcements;
DROP TABLE announcements;
ALTER TABLE announcements_new RENAME TO announcements;
CREATE INDEX announcements_by_state ON announcements (state);

CREATE TABLE deadlines_new (
    id                INTEGER PRIMARY KEY,
    key               TEXT UNIQUE,
    title             TEXT NOT NULL DEFAULT '',
    description       TEXT NOT NULL DEFAULT '',
    due_at            TEXT,
    reminders         TEXT NOT NULL,
    scope             TEXT CHECK (scope IN ('all', 'kind', 'area', 'list')),
    scope_value       TEXT,
    state             TEXT NOT NULL DEFAULT 'draft'
                      CHECK (state IN ('draft', 'open', 'closed', 'cancelled')),
    version           INTEGER NOT NULL DEFAULT 1,
    created_by        TEXT NOT NULL,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    awaiting          TEXT,
    prompt_message_id TEXT
);
INSERT INTO deadlines_new
    SELECT id, key, title, description, due_at, reminders, scope, scope_value, state, version,
           created_by, created_at, updated_at, awaiting, CAST(prompt_message_id AS TEXT)
    FROM deadlines;
DROP TABLE deadlines;
ALTER TABLE deadlines_new RENAME TO deadlines;
CREATE INDEX deadlines_by_state ON deadlines (state);
CREATE INDEX deadlines_by_prompt ON deadlines (prompt_message_id)
    WHERE prompt_message_id IS NOT NULL;

CREATE TABLE deadline_questions_new (
    id                INTEGER PRIMARY KEY,
    deadline_id       INTEGER NOT NULL REFERENCES deadlines (id) ON DELETE CASCADE,
    unit_code         TEXT REFERENCES units (code) ON UPDATE CASCADE ON DELETE SET NULL,
    channel           TEXT,
    chat_id           TEXT,
    asked_at          TEXT NOT NULL,
    answered_at       TEXT,
    prompt_message_id TEXT
);
INSERT INTO deadline_questions_new
    SELECT id, deadline_id, unit_code, channel, CAST(chat_id AS TEXT), asked_at, answered_at,
           CAST(prompt_message_id AS TEXT)
    FROM deadline_questions;
DROP TABLE deadline_questions;
ALTER TABLE deadline_questions_new RENAME TO deadline_questions;
CREATE INDEX deadline_questions_by_prompt ON deadline_questions (prompt_message_id)
    WHERE prompt_message_id IS NOT NULL;
CREATE INDEX deadline_questions_by_chat ON deadline_questions (channel, chat_id);
