"""`antq deadlines import`: the school year's template, YAML and CSV files, all or nothing."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.deadlines.importer import format_outcome, import_deadlines, read_scope
from bot.deadlines.service import Scope
from content import CONTENT_DIR, Content
from tests.conftest import TZ
from tests.world import World, open_world

TEMPLATE = CONTENT_DIR / "data" / "deadlines_2026_2027.yaml"
SCHOOL_YEAR_START = datetime(2026, 9, 1, 9, 0, tzinfo=TZ)


@pytest.fixture
async def world(tmp_path: Path, bundle: Content) -> AsyncIterator[World]:
    async for opened in open_world(tmp_path, bundle, SCHOOL_YEAR_START):
        yield opened


async def run_import(world: World, path: Path):
    return await import_deadlines(world.services.deadlines, path, world.bundle.texts)


async def test_the_school_year_template_imports_the_four_standard_deadlines(world: World):
    outcome = await run_import(world, TEMPLATE)
    assert outcome.ok, outcome.problems
    assert (outcome.added, outcome.updated, outcome.unchanged) == (4, 0, 0)
    deadlines = await world.services.deadlines.repo.in_states("open")
    titles = [d.title for d in deadlines]
    assert [t.split(" ")[0] for t in titles] == ["Đăng", "Báo", "Báo", "Đề"]
    assert "sơ kết học kỳ I" in titles[1] and "tổng kết năm học" in titles[2]
    assert deadlines[0].due_at == datetime(2026, 10, 16, 17, 0, tzinfo=TZ)
    assert deadlines[3].reminders == "14 08:00, 7 08:00, 3 08:00, 1 08:00, 0 07:00"
    assert all(d.scope == "all" for d in deadlines)
    assert (await world.services.deadlines.repo.unit_count(deadlines[0].id))[0] == 7
    again = await run_import(world, TEMPLATE)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)
    text = format_outcome(again, world.bundle.texts)
    assert "4 không thay đổi" in text


async def test_a_changed_date_in_the_file_updates_the_deadline_and_its_plan(
    world: World, tmp_path: Path
):
    await world.head(1, "THPT-DX01")
    await run_import(world, TEMPLATE)
    assert await world.at(datetime(2026, 10, 9, 8, 0, tzinfo=TZ)) == 1  # 7 days before 16/10
    async with world.services.db.transaction() as tx:  # delivered
        await tx.execute("UPDATE outbox SET state = 'sent'")
    changed = tmp_path / "nam_hoc.yaml"
    changed.write_text(
        TEMPLATE.read_text(encoding="utf-8").replace("16/10/2026 17:00", "09/10/2026 17:00"),
        encoding="utf-8",
    )
    outcome = await run_import(world, changed)
    assert (outcome.added, outcome.updated, outcome.unchanged) == (0, 1, 3)
    (notice,) = await world.rows("deadline_changed")
    assert "09/10/2026 17:00" in notice[2]
    assert await world.services.reminders.tick() == 0  # reminded today already: not twice
    assert await world.at(datetime(2026, 10, 10, 8, 0, tzinfo=TZ)) == 2  # overdue, and a digest


async def test_problems_are_listed_and_nothing_is_imported(world: World, tmp_path: Path):
    path = tmp_path / "han.csv"
    path.write_text(
        "Mã;Tên hạn chót;Mô tả;Hạn chót;Đơn vị;Lịch nhắc\n"
        "a1;Nộp kế hoạch;;15/10/2026 17:00;all;\n"
        "a1;Nộp báo cáo;;31/02/2027;loại hình: THPT;\n"
        "a2;;;15/12/2026;địa bàn: Xã Lộc Ninh;5 08:00, 5\n"
        "a3;Ok;;15/12/2026;THPT-DX01, NOPE;\n"
        "a4;Xa;;hôm nay;sao hỏa;\n",
        encoding="utf-8",
    )
    outcome = await run_import(world, path)
    assert not outcome.ok
    text = format_outcome(outcome, world.bundle.texts)
    assert "Chưa nhập hạn chót nào vì tệp có 7 lỗi" in text
    for expected in (
        "Dòng 3: mã “a1” bị trùng với Dòng 2",
        "Dòng 3: Ngày giờ “31/02/2027” không có trên lịch",
        "Dòng 4: thiếu tên hạn chót",
        "Dòng 4: Có hai mốc nhắc cùng 5 ngày",
        "Dòng 5: không có đơn vị với mã: NOPE",
        "Dòng 6: Chưa hiểu hạn chót “hôm nay”",
        "Dòng 6: không có đơn vị với mã: sao, hỏa",
    ):
        assert expected in text
    assert await world.services.deadlines.repo.in_states("draft", "open") == []
    past = tmp_path / "qua_han.yaml"
    past.write_text(
        "deadlines:\n"
        "  - {title: Việc cũ, due: '01/08/2026 17:00', units: all}\n"
        "  - {title: Việc mới, due: '01/12/2026 17:00', units: {kind: Không có}}\n"
        "  - {title: Việc lạ, due: '01/12/2026', units: all, owner: ai}\n",
        encoding="utf-8",
    )
    text = format_outcome(await run_import(world, past), world.bundle.texts)
    assert "Mục 3 (“Việc lạ”): có mục không dùng được: owner" in text
    fixed = past.read_text(encoding="utf-8").replace(", owner: ai", "")
    past.write_text(fixed, encoding="utf-8")
    text = format_outcome(await run_import(world, past), world.bundle.texts)
    assert "Mục 1 (“Việc cũ”): Hạn chót “01/08/2026 17:00” đã qua" in text
    assert "Mục 2 (“Việc mới”): Không có đơn vị nào thuộc phạm vi đã chọn" in text
    assert await world.services.deadlines.repo.in_states("draft", "open") == []
    for name, content in (("x.txt", "a"), ("y.yaml", "deadlines: [\n"), ("z.yaml", "a: 1\n")):
        (tmp_path / name).write_text(content, encoding="utf-8")
        assert not (await run_import(world, tmp_path / name)).ok


def test_scopes_are_read_in_every_form():
    assert read_scope("all") == Scope("all")
    assert read_scope("Tất cả") == Scope("all")
    assert read_scope({"all": True}) == Scope("all")
    assert read_scope("loại hình: THPT") == Scope("kind", "THPT")
    assert read_scope({"area": "Xã  Lộc Ninh"}) == Scope("area", "Xã Lộc Ninh")
    assert read_scope("Địa bàn: Phường Trấn Biên") == Scope("area", "Phường Trấn Biên")
    assert read_scope(["TH-ND01", "MN-HS01"]) == Scope("list", None, ("TH-ND01", "MN-HS01"))
    assert read_scope("mã: TH-ND01; MN-HS01") == Scope("list", None, ("TH-ND01", "MN-HS01"))
    assert read_scope("TH-ND01 MN-HS01") == Scope("list", None, ("TH-ND01", "MN-HS01"))
    assert read_scope("màu: xanh") is None and read_scope("") is None and read_scope(3) is None


async def test_the_command_line_imports_and_says_what_is_wrong(world: World, tmp_path: Path):
    await world.services.close()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANTQ_")}
    env = {
        **clean,
        "ANTQ_DATABASE_PATH": str(world.path),
        "ANTQ_DATA_KEY_FILE": str(world.path.with_suffix(".key")),
    }
    bad = tmp_path / "bad.yaml"
    bad.write_text("deadlines:\n  - {title: X, due: '01/01/2099', units: NOPE}\n", "utf-8")
    future = tmp_path / "ok.yaml"
    future.write_text("deadlines:\n  - {title: Báo cáo, due: '01/01/2099', units: all}\n", "utf-8")

    def run(path: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", "deadlines", "import", str(path)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    failed = await asyncio.to_thread(run, bad)
    assert failed.returncode == 1 and "không có đơn vị với mã: NOPE" in failed.stdout
    done = await asyncio.to_thread(run, future)
    assert done.returncode == 0 and "1 hạn chót mới" in done.stdout, done.stderr
    await world.restart()
    (deadline,) = await world.services.deadlines.repo.in_states("open")
    assert deadline.due_at == datetime(2099, 1, 1, 10, 0, tzinfo=UTC)


def test_every_dynamic_text_key_of_deadlines_exists(bundle: Content):
    texts = bundle.texts
    keys = [f"deadline.scope.{s}" for s in ("all", "kind", "area", "list", "none")]
    keys += [f"deadline.state.{s}" for s in ("draft", "open", "closed", "cancelled")]
    keys += [f"deadline.prompt.{s}" for s in ("title", "description", "due", "reminders")]
    keys += ["deadline.prompt.units", "deadline.desk.choose_kind", "deadline.desk.choose_area"]
    keys += [f"invite.file.{c}" for c in ("code", "name", "kind", "area", "link", "expires")]
    keys += [f"deadline.excel.status.{s}" for s in ("on_time", "late", "overdue", "not_yet")]
    keys += [f"deadlines_import.column.{c}" for c in ("title", "due", "units")]
    assert [key for key in keys if not texts.has(key)] == []
