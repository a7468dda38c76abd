"""Announcements by the office to a role and an area."""
