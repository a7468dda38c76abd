"""Guided dialogs: the pure engine and the conversation runner around it."""
