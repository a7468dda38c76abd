-- the statistics of a period read every report of it: one index that holds what they count, so
-- a school year of 100,000 reports is counted from the index without reading the rows
CREATE INDEX reports_period_cover
    ON reports (created_at, status, category, anonymous, unit_code, first_action_at);
