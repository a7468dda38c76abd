"""Units (schools and the Department's offices): import from the clerk's file."""
