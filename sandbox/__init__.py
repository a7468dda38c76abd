"""Local fake Telegram Bot API server (loopback) with simulated people, for tests and benchmarks."""

from sandbox.client import BotMessage, Button, NoReplyError, SandboxClient, SandboxError, SimUser
from sandbox.limits import LimitsConfig
from sandbox.server import SandboxServer

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
