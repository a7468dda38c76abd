"""The weekly outreach library: every school week covered or marked a holiday, every text valid."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from content import CONTENT_DIR
from content.outreach_schema import OutreachItem, check_telegram_html, load_outreach
from content.texts import ContentError

YEAR = CONTENT_DIR / "outreach" / "2026-2027"
FIRST_WEEK = date(2026, 9, 7)
LAST_WEEK = date(2027, 5, 31)
TET_WEEKS = {date(2027, 2, 1), date(2027, 2, 8)}  # Tết Nguyên đán Đinh Mùi: 6 February 2027


def school_weeks() -> list[date]:
    weeks, week = [], FIRST_WEEK
    while week <= LAST_WEEK:
        weeks.append(week)
        week += timedelta(days=7)
    return weeks


def test_every_school_week_is_covered_or_a_holiday():
    items = load_outreach(CONTENT_DIR / "outreach")
    missing = [w.isoformat() for w in school_weeks() if w not in items]
    assert missing == []
    holidays = {w for w, item in items.items() if item.holiday}
    assert holidays >= TET_WEEKS  # from year.yaml: Tết, 3/5/2027 (compensatory), after 24/5
    assert holidays == TET_WEEKS | {date(2027, 5, 3), date(2027, 5, 31)}
    assert len(school_weeks()) == 39


def test_the_plan_s_themes_are_all_covered_in_season():
    items = load_outreach(CONTENT_DIR / "outreach")
    topics = {item.topic for item in items.values()}
    assert {
        "traffic_safety",
        "online_fraud",
        "cyberbullying",
        "school_violence",
        "drugs",
        "gambling_loans",
        "state_secrets",
        "fire_safety",
        "firecrackers",
        "traditions",
        "drowning",
    } <= topics
    assert items[FIRST_WEEK].topic == "traffic_safety"
    before_tet = [
        item.topic for week, item in items.items() if date(2027, 1, 4) <= week < date(2027, 2, 1)
    ]
    assert "firecrackers" in before_tet
    before_summer = [item.topic for week, item in items.items() if week >= date(2027, 5, 1)]
    assert "drowning" in before_summer


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("<b>Đậm</b> và <i>nghiêng</i>", True),
        ('<a href="https://example.vn">liên kết</a>', True),
        ("<b>chưa đóng", False),
        ("<div>không hợp lệ</div>", False),
        ("Tom & Jerry", False),
        ("Tom &amp; Jerry", True),
    ],
)
def test_telegram_html_check(text, ok):
    assert (check_telegram_html(text)[1] == []) is ok


def test_a_bad_item_is_refused_with_its_reason(tmp_path: Path):
    folder = tmp_path / "2026-2027"
    folder.mkdir()
    (folder / "2026-09-08.yaml").write_text(
        "week_start: 2026-09-08\ntopic: drugs\ntitle: Sai ngày\nholiday: true\n", encoding="utf-8"
    )
    with pytest.raises(ContentError, match="not a Monday"):
        load_outreach(tmp_path)
    with pytest.raises(ValueError, match="words"):  # the model refuses a short teacher text
        OutreachItem(
            week_start=date(2026, 9, 7),
            topic="drugs",
            title="Quá ngắn",
            teacher="Ngắn.",
            parent="Ngắn.",
            sources=["x"],
        )
