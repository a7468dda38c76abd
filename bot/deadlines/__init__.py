"""Deadlines for units: the office's card, reminders to heads, progress, import."""
