"""The office's side: review of reports, statistics, exports, audit log, retention."""
