"""Zalo's error answers: HTTP 200 with {"error": code, "message": ...}."""

from __future__ import annotations

from sandbox.zalo.models import JSON

MESSAGES = {
    -32: "Exceeded the rate limit",
    -100: "Attachment has expired",
    -118: "Refresh token is invalid or expired",
    -14014: "Invalid refresh token",
    -14002: "Invalid app secret",
    -201: "Parameters are invalid",
    -210: "Parameter exceeds the maximum length",
    -211: "Out of quota",
    -213: "User has not followed the OA",
    -216: "Access token is invalid",
    -217: "User has blocked the OA",
    -230: "User has not interacted with the OA in the last 7 days",
    -234: "This kind of message is not allowed at night",
    -240: "The v2 message API is no longer supported; use v3",
}


class ZaloError(Exception):
    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = code
        self.message = message or MESSAGES.get(code, "Error")
        super().__init__(f"{code} {self.message}")

    def payload(self) -> JSON:
        return {"error": self.code, "message": self.message}
