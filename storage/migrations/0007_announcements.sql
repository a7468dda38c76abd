-- announcements from the office: text, audience, and the progress of their sending
CREATE TABLE announcements (
    id                  INTEGER PRIMARY KEY,
    created_by          INTEGER NOT NULL,
    created_at          TEXT NOT NULL,
    text                TEXT NOT NULL,
    photo_file_id       TEXT,
    audience            TEXT,
    area                TEXT,
    state               TEXT NOT NULL DEFAULT 'draft'
                        CHECK (state IN ('draft', 'sending', 'done', 'cancelled')),
    recipients          INTEGER,
    chat_id             INTEGER NOT NULL,
    progress_message_id INTEGER,
    confirmed_at        TEXT,
    finished_at         TEXT
);
CREATE INDEX announcements_by_state ON announcements (state);
