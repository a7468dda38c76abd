"""The layout keeps its promises: one adapter per channel, a core that knows none of them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOWED = {ROOT / "bot" / "app.py"}
CHANNEL_NEUTRAL = ["bot", "content", "storage", "handlers/zalo", "handlers/web"]
WIRING = {ROOT / "bot" / "app.py", ROOT / "bot" / "__main__.py"}  # the only ones naming channels
CAPABILITIES = [
    "chat", "dialogs", "kernel", "people", "reports", "outreach", "announcements",
    "deadlines", "invitations", "units", "office",
]  # fmt: skip


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


def test_only_the_wiring_knows_which_channels_exist():
    offenders = []
    for path in (ROOT / "bot").rglob("*.py"):
        if path in WIRING:
            continue
        channels = {m for m in imported_modules(path) if m.split(".")[0] == "handlers"}
        if channels:
            offenders.append(f"{path.relative_to(ROOT)}: {sorted(channels)}")
    assert offenders == []


def test_the_core_is_grouped_by_capability_and_each_channel_has_its_package():
    packages = sorted(p.name for p in (ROOT / "bot").iterdir() if (p / "__init__.py").exists())
    assert packages == sorted(CAPABILITIES)
    loose = sorted(p.name for p in (ROOT / "bot").glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "app.py"]
    for channel in ("telegram", "zalo", "web"):
        assert (ROOT / "handlers" / channel / "__init__.py").exists(), channel
    assert (ROOT / "sandbox" / "telegram" / "__init__.py").exists()
    assert (ROOT / "sandbox" / "zalo" / "__init__.py").exists()


def test_adapters_do_not_reach_into_each_other():
    for channel in ("telegram", "zalo", "web"):
        others = {"handlers." + c for c in ("telegram", "zalo", "web") if c != channel}
        for path in (ROOT / "handlers" / channel).rglob("*.py"):
            reached = {
                m for m in imported_modules(path) if m.rsplit(".", m.count(".") - 1)[0] in others
            }
            assert not reached, f"{path.relative_to(ROOT)} imports {sorted(reached)}"


def test_sql_stays_in_storage():
    statement = re.compile(
        r"\b(SELECT|INSERT INTO|UPDATE|DELETE FROM)\b[^\n]{0,60}\b(FROM|SET|VALUES|WHERE)\b"
    )
    offenders = []
    for folder in ("bot", "handlers"):
        for path in (ROOT / folder).rglob("*.py"):
            if statement.search(path.read_text(encoding="utf-8")):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []
