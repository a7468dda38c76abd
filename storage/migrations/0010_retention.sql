-- Retention: when the content of a closed report was erased (its counts stay)
ALTER TABLE reports ADD COLUMN erased_at TEXT;
