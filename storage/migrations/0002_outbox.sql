-- the outbox: every proactive message, written in the transaction that causes it
CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL DEFAULT 'telegram',
    chat_id     INTEGER NOT NULL,
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
    message_id  INTEGER,
    last_error  TEXT,
    dedupe_key  TEXT UNIQUE
);
-- next due: pending rows in sending order (a NULL not_before means as soon as possible)
CREATE INDEX outbox_due ON outbox (channel, priority DESC, id) WHERE state = 'pending';
-- when the earliest scheduled row falls due
CREATE INDEX outbox_scheduled ON outbox (channel, not_before)
    WHERE state = 'pending' AND not_before IS NOT NULL;
-- rows in flight, recovered at start-up
CREATE INDEX outbox_in_flight ON outbox (channel) WHERE state = 'sending';
-- counting and cancelling by kind or by the thing a message is about
CREATE INDEX outbox_by_kind ON outbox (kind, state);
CREATE INDEX outbox_by_ref ON outbox (ref, state) WHERE ref IS NOT NULL;
