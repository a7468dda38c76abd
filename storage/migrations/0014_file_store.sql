-- the bot's own encrypted file store: one row per stored file, and each channel's cached id
CREATE TABLE files (
    id          TEXT PRIMARY KEY,          -- random, unguessable; also the blob's file name
    kind        TEXT NOT NULL CHECK (kind IN ('photo', 'video', 'document')),
    mime        TEXT,
    name        TEXT,                      -- encrypted with the data key
    size        INTEGER NOT NULL,          -- bytes of the clean content
    sha256      TEXT NOT NULL,             -- of the clean content, encrypted (a bare hash confirms a guess)
    file_key    TEXT NOT NULL,             -- the blob's own AES-256-GCM key, wrapped by the data key
    created_at  TEXT NOT NULL
);

CREATE TABLE file_channel_ids (
    file_id         TEXT NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    channel         TEXT NOT NULL,
    channel_file_id TEXT NOT NULL,         -- e.g. Telegram's file_id, Zalo's attachment_id
    cached_at       TEXT NOT NULL,
    PRIMARY KEY (file_id, channel)
);

-- holds a store id; rows written before the store hold a Telegram file_id until adopted
ALTER TABLE announcements RENAME COLUMN photo_file_id TO photo_ref;
