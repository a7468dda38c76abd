-- weekly outreach: the pushes planned per week and audience, and units' confirmations
CREATE TABLE outreach_pushes (
    week_start  TEXT NOT NULL,
    audience    TEXT NOT NULL,
    planned_at  TEXT NOT NULL,
    recipients  INTEGER NOT NULL,
    PRIMARY KEY (week_start, audience)
);

CREATE TABLE unit_confirmations (
    unit_code    TEXT NOT NULL REFERENCES units (code) ON UPDATE CASCADE ON DELETE CASCADE,
    week_start   TEXT NOT NULL,
    person_id    INTEGER REFERENCES people (id) ON DELETE SET NULL,
    confirmed_at TEXT NOT NULL,
    PRIMARY KEY (unit_code, week_start)
);

CREATE INDEX people_by_audience ON people (subscribed, active, role);
