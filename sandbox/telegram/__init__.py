"""Local fake Telegram Bot API server (loopback) with simulated people, for tests and benchmarks."""

from sandbox.telegram.client import (
    BotMessage,
    Button,
    NoReplyError,
    SandboxClient,
    SandboxError,
    SimUser,
)
from sandbox.telegram.limits import LimitsConfig
from sandbox.telegram.server import SandboxServer

__all__ = [
    "BotMessage",
    "Button",
    "LimitsConfig",
    "NoReplyError",
    "SandboxClient",
    "SandboxError",
    "SandboxServer",
    "SimUser",
]
