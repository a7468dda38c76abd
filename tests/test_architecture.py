"""Telegram stays at the edge: only handlers/ and bot/app.py may import telegram."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {ROOT / "bot" / "app.py"}
CHANNEL_NEUTRAL = ["bot", "content", "storage"]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_engine_storage_and_content_never_import_telegram():
    offenders = []
    for folder in CHANNEL_NEUTRAL:
        for path in (ROOT / folder).rglob("*.py"):
            if path in ALLOWED:
                continue
            telegram = {m for m in imported_modules(path) if m.split(".")[0] == "telegram"}
            if telegram:
                offenders.append(f"{path.relative_to(ROOT)}: {sorted(telegram)}")
    assert offenders == []


def test_storage_does_not_reach_up_into_bot_or_handlers():
    for path in (ROOT / "storage").rglob("*.py"):
        upward = {m for m in imported_modules(path) if m.split(".")[0] in ("bot", "handlers")}
        assert not upward, f"{path.relative_to(ROOT)} imports {sorted(upward)}"


def test_the_scan_would_notice_a_telegram_import(tmp_path):
    sample = tmp_path / "leak.py"
    sample.write_text("from telegram import Bot\nimport telegram.ext\n", encoding="utf-8")
    assert imported_modules(sample) == {"telegram", "telegram.ext"}
