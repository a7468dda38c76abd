"""The channels: one package per channel, each an adapter of the core's chat port."""
