-- staff notices (issue 11, item 9): a staff account linked to a chat (a Zalo follower of the OA)
-- by a one-time code typed there; only a SHA-256 of the code is kept, for 30 minutes
CREATE TABLE staff_chats (
    staff_id    INTEGER NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    channel     TEXT NOT NULL,
    chat_id     TEXT NOT NULL,
    linked_at   TEXT NOT NULL,
    PRIMARY KEY (staff_id, channel)
);
CREATE UNIQUE INDEX staff_chats_by_chat ON staff_chats (channel, chat_id);

CREATE TABLE staff_link_codes (
    staff_id    INTEGER PRIMARY KEY REFERENCES staff (id) ON DELETE CASCADE,
    code_hash   TEXT NOT NULL UNIQUE,
    expires_at  TEXT NOT NULL
);
