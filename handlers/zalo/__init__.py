"""The Zalo OA channel: OA API client, tokens, webhook in, rendering within Zalo's limits."""
