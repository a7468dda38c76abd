"""Local fake Zalo OA server (loopback) with simulated people, for tests and benchmarks."""

from sandbox.zalo.client import (
    NoMessageError,
    OaButton,
    OaMessage,
    ZaloSandboxClient,
    ZaloSandboxError,
    ZaloSimUser,
)
from sandbox.zalo.config import ZaloSandboxConfig
from sandbox.zalo.models import SimClock
from sandbox.zalo.server import ZaloSandboxServer
from sandbox.zalo.webhook import sign

__all__ = [
    "NoMessageError",
    "OaButton",
    "OaMessage",
    "SimClock",
    "ZaloSandboxClient",
    "ZaloSandboxConfig",
    "ZaloSandboxError",
    "ZaloSandboxServer",
    "ZaloSimUser",
    "sign",
]
