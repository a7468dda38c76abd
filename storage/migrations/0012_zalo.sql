-- Zalo: the rotating token pair (encrypted), webhook events stored before they are answered, last interactions by channel
CREATE TABLE zalo_tokens (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    access_token      TEXT NOT NULL,  -- Fernet-encrypted
    refresh_token     TEXT NOT NULL,  -- Fernet-encrypted
    access_expires_at TEXT,           -- UTC ISO; NULL when unknown (a token given by the operator)
    grant_hash        TEXT NOT NULL,  -- keyed hash of ANTQ_ZALO_REFRESH_TOKEN that began this chain
    updated_at        TEXT NOT NULL
);

CREATE TABLE zalo_webhook_events (
    id           INTEGER PRIMARY KEY,
    dedupe_key   TEXT NOT NULL UNIQUE,  -- keyed hash of msg_id, or of event + timestamp + subject
    received_at  TEXT NOT NULL,
    payload      TEXT NOT NULL,         -- Fernet-encrypted raw body; emptied once processed
    processed_at TEXT
);
CREATE INDEX zalo_webhook_events_pending ON zalo_webhook_events (id) WHERE processed_at IS NULL;

CREATE TABLE channel_interactions (
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    last_at TEXT NOT NULL,
    PRIMARY KEY (channel, chat_id)
);
