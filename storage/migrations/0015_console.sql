-- the console (issue 12): an announcement's channel and list of units, a head's question kept
-- (encrypted) so that the office can answer it from the browser, and indexes of the dashboard
ALTER TABLE announcements ADD COLUMN channel TEXT;
ALTER TABLE announcements ADD COLUMN unit_codes TEXT;  -- comma-separated; NULL: by area
ALTER TABLE announcements ADD COLUMN markup INTEGER NOT NULL DEFAULT 0;  -- 1: text in the neutral markup
ALTER TABLE deadline_questions ADD COLUMN question TEXT;  -- Fernet-encrypted
CREATE INDEX deadline_questions_open ON deadline_questions (deadline_id) WHERE answered_at IS NULL;
CREATE INDEX audit_log_by_actor ON audit_log (actor, id);
CREATE INDEX audit_log_by_action ON audit_log (action, id);
CREATE INDEX outbox_by_channel_state ON outbox (channel, kind, state);
CREATE INDEX people_by_unit_channel ON people (unit_code, role, channel, active);
