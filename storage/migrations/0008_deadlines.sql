-- unit heads' invitations, deadlines for units, their completion, reminder rounds and questions
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    code_hash   TEXT NOT NULL UNIQUE,
    unit_code   TEXT NOT NULL REFERENCES units (code) ON UPDATE CASCADE ON DELETE CASCADE,
    created_by  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    revoked_at  TEXT,
    used_at     TEXT,
    used_by     INTEGER REFERENCES people (id) ON DELETE SET NULL
);
CREATE INDEX invitations_by_unit ON invitations (unit_code);

CREATE TABLE deadlines (
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
    prompt_message_id INTEGER
);
CREATE INDEX deadlines_by_state ON deadlines (state);
CREATE INDEX deadlines_by_prompt ON deadlines (prompt_message_id) WHERE prompt_message_id IS NOT NULL;

CREATE TABLE deadline_units (
    deadline_id INTEGER NOT NULL REFERENCES deadlines (id) ON DELETE CASCADE,
    unit_code   TEXT NOT NULL REFERENCES units (code) ON UPDATE CASCADE ON DELETE CASCADE,
    done_at     TEXT,
    done_by     INTEGER REFERENCES people (id) ON DELETE SET NULL,
    note        TEXT,
    files       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (deadline_id, unit_code)
);
CREATE INDEX deadline_units_by_unit ON deadline_units (unit_code);

-- one row per deadline and local day whose reminders were planned (the tick plans each once)
CREATE TABLE deadline_rounds (
    deadline_id INTEGER NOT NULL REFERENCES deadlines (id) ON DELETE CASCADE,
    day         TEXT NOT NULL,
    planned_at  TEXT NOT NULL,
    recipients  INTEGER NOT NULL,
    PRIMARY KEY (deadline_id, day)
);

-- "Cần hỗ trợ": who asked, so that the office's answer reaches them; no text is kept
CREATE TABLE deadline_questions (
    id                INTEGER PRIMARY KEY,
    deadline_id       INTEGER NOT NULL REFERENCES deadlines (id) ON DELETE CASCADE,
    unit_code         TEXT REFERENCES units (code) ON UPDATE CASCADE ON DELETE SET NULL,
    channel           TEXT,
    chat_id           INTEGER,
    asked_at          TEXT NOT NULL,
    answered_at       TEXT,
    prompt_message_id INTEGER
);
CREATE INDEX deadline_questions_by_prompt ON deadline_questions (prompt_message_id)
    WHERE prompt_message_id IS NOT NULL;
CREATE INDEX deadline_questions_by_chat ON deadline_questions (channel, chat_id);
CREATE INDEX people_heads_by_unit ON people (unit_code, role, active);
