-- people, units and open dialog state
CREATE TABLE units (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    area        TEXT NOT NULL,
    name_folded TEXT NOT NULL
);
CREATE INDEX units_by_folded_name ON units (name_folded);

CREATE TABLE people (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL,
    chat_id     INTEGER NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('teacher', 'parent', 'head')),
    unit_code   TEXT REFERENCES units (code) ON UPDATE CASCADE ON DELETE SET NULL,
    consent_at  TEXT NOT NULL,
    subscribed  INTEGER NOT NULL DEFAULT 0,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (channel, chat_id)
);
CREATE INDEX people_by_unit ON people (unit_code);

CREATE TABLE dialog_states (
    channel     TEXT NOT NULL,
    chat_id     INTEGER NOT NULL,
    dialog      TEXT NOT NULL,
    state_json  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    PRIMARY KEY (channel, chat_id)
);
