"""Weekly outreach before the Monday flag-raising session."""
