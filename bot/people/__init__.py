"""People: onboarding, profile, subscriptions, help and deletion of their data."""
