"""The chat port: addresses, replies in a neutral markup, buttons and their data, channels."""
