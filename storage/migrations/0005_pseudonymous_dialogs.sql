-- open dialogs keyed by a pseudonym of the chat, so no chat id of an anonymous sender is stored
DROP TABLE dialog_states;
CREATE TABLE dialog_states (
    owner       TEXT PRIMARY KEY,
    dialog      TEXT NOT NULL,
    state_json  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
