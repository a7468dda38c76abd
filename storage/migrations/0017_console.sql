-- the console (issue 12): an announcement's channel and list of units, a head's question kept
-- (encrypted) so that the office can answer it from the browser, and indexes of the dashboard
ALTER TABLE announcements ADD COLUMN channel TEXT;
ALTER TABLE announcements ADD COLUMN unit_codes TEXT;  -- comma-separated; NULL: by area
ALTER TABLE announcements ADD COLUMN markup INTEGER NOT NULL DEFAULT 0;  -- 1: text in the neutral markup
ALTER TABLE deadline_questions ADD COLUMN question TEXT;  -- Fernet-encrypted
CREATE INDEX deadline_questions_open ON deadline_questions (deadline_id) WHERE answered_at IS NULL;
CREATE INDEX audit_log_by_action ON audit_log (action, id);
-- the health page's queue: only rows not sent yet, with what says whether they wait for a person
CREATE INDEX outbox_queue ON outbox (kind, channel, state, not_before)
    WHERE state IN ('pending', 'sending');
-- the dashboard's open reports by status and urgency, and the unclaimed badge of every page
CREATE INDEX reports_by_status_category ON reports (status, category, assignee);
CREATE INDEX people_by_unit_channel ON people (unit_code, role, channel, active);
-- the statistics' outreach per unit: from each person to their rows of a period, index only
CREATE INDEX outbox_by_chat_ref ON outbox (channel, chat_id, ref, state) WHERE ref IS NOT NULL;
