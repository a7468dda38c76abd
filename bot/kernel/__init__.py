"""The kernel every capability stands on: settings, clock, crypto, outbox, start-up."""
