-- The office's "✍️ Nhập nội dung trả lời" prompts, by the id of the message the bot posted: only a
-- reply to one of these reaches a report's sender (review F2), never a reply to another message.
CREATE TABLE report_reply_prompts (
    channel     TEXT NOT NULL,
    chat_id     TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    report_id   INTEGER NOT NULL REFERENCES reports (id),
    created_at  TEXT NOT NULL,
    PRIMARY KEY (channel, chat_id, message_id)
);
