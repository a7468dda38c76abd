-- the names of the people who act for the office on a chat channel (a Telegram clerk's display
-- name), so that cards and the audit log say who acted instead of an id
CREATE TABLE actor_names (
    actor       TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
