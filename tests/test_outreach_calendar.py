"""The school year's calendar (content/outreach/<year>/year.yaml) and every date a text names.

Weekdays are computed, not trusted: a text that says "Thứ Sáu tuần này, ngày 16/4/2027" must be
read in the week of 16/4/2027, and 16/4/2027 must be a Friday. Public holidays that fall on a
weekend need their compensatory day off (Bộ luật Lao động 2019, Điều 111-112), and a holiday
Monday has no flag-raising session. Next year: write year.yaml and add the lunar dates below.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest

from content import CONTENT_DIR
from content.corpus import Piece, all_pieces
from content.outreach_schema import SchoolYear, check_telegram_html, load_outreach, load_years
from content.texts import ContentError

OUTREACH = CONTENT_DIR / "outreach"
WEEKDAYS = {"thứ hai": 0, "thứ ba": 1, "thứ tư": 2, "thứ năm": 3, "thứ sáu": 4, "thứ bảy": 5}
WEEKDAYS["chủ nhật"] = 6
WEEKDAY = r"(thứ hai|thứ ba|thứ tư|thứ năm|thứ sáu|thứ bảy|chủ nhật)"
DAY = r"(\d{1,2})/(\d{1,2})(?:/(\d{4}))?"
NAMED = [  # (pattern, group of the weekday, group of the relative week, first group of the date)
    re.compile(WEEKDAY + r"(?: (tuần này|tuần trước|tuần sau|tuần tới))?,? (?:ngày )?" + DAY, re.I),
    re.compile(DAY + r" (?:là|rơi vào|\(|, ) ?" + WEEKDAY, re.I),
]
RELATIVE = {"tuần này": 0, "tuần trước": -7, "tuần sau": 7, "tuần tới": 7}
# Solar public holidays (Bộ luật Lao động 2019, Điều 112) and the lunar ones by year, computed
# with Hồ Ngọc Đức's algorithm (UTC+7) and checked against the lunardate package by the editor.
SOLAR = {(1, 1): "Tết Dương lịch", (4, 30): "30/4", (5, 1): "1/5", (9, 2): "Quốc khánh"}
LUNAR = {
    "2026-2027": {"tet": date(2027, 2, 6), "gio_to": date(2027, 4, 16)},
}


def years() -> dict[str, SchoolYear]:
    return load_years(OUTREACH)


def in_year(name: str, day: int, month: int, year: str | None) -> date:
    first, second = (int(part) for part in name.split("-"))
    return date(int(year) if year else (first if month >= 8 else second), month, day)


def named_dates(piece: Piece, year_name: str) -> list[tuple[date, int, str | None]]:
    """(date, weekday named, relative week) for each 'thứ Sáu 16/4' or '1/5/2027 là thứ Bảy'."""
    plain = check_telegram_html(piece.text)[0]
    found = []
    for match in NAMED[0].finditer(plain):
        weekday, relative, d, m, y = match.groups()
        found.append((in_year(year_name, int(d), int(m), y), WEEKDAYS[weekday.lower()], relative))
    for match in NAMED[1].finditer(plain):
        d, m, y, weekday = match.groups()
        found.append((in_year(year_name, int(d), int(m), y), WEEKDAYS[weekday.lower()], None))
    return found


def date_problems(pieces: list[Piece], year_name: str) -> list[str]:
    problems = []
    for piece in pieces:
        plain = check_telegram_html(piece.text)[0]
        for d, m, y in re.findall(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b", plain):
            try:
                date(int(y), int(m), int(d))
            except ValueError:
                problems.append(f"{piece.where}: {d}/{m}/{y} is not a date")
        try:
            named = named_dates(piece, year_name)
        except ValueError as exc:
            problems.append(f"{piece.where}: {exc}")
            continue
        for day, weekday, relative in named:
            if day.weekday() != weekday:
                problems.append(f"{piece.where}: {day:%d/%m/%Y} is not a {weekday=} (0 is Monday)")
            if relative and piece.read_on:
                week = piece.read_on + timedelta(days=RELATIVE[relative.lower()])
                if not week <= day < week + timedelta(days=7):
                    problems.append(f"{piece.where}: {day:%d/%m/%Y} is not in '{relative}'")
    return problems


def test_every_year_has_its_calendar_and_lunar_dates():
    assert years(), "content/outreach/<year>/year.yaml is missing"
    for name in years():
        assert name in LUNAR, f"add Tết and Giỗ Tổ of {name} to LUNAR"


def test_every_date_a_text_names_has_the_right_weekday_and_week(bundle):
    (year_name,) = years()
    assert date_problems(all_pieces(bundle), year_name) == []


@pytest.mark.parametrize(
    ("text", "read_on", "ok"),
    [
        ("Thứ Sáu tuần này, ngày 16/4/2027, là ngày Giỗ Tổ", date(2027, 4, 12), True),
        ("Thứ Sáu tuần trước, ngày 16/4/2027, là ngày Giỗ Tổ", date(2027, 4, 12), False),
        ("Thứ Sáu tuần trước, ngày 16/4/2027, là ngày Giỗ Tổ", date(2027, 4, 19), True),
        ("Thứ Năm tuần này, ngày 16/4/2027", date(2027, 4, 12), False),
        ("1/5/2027 là thứ Bảy", None, True),
        ("3/5/2027 là thứ Bảy", None, False),
        ("Hôm nay, thứ Hai ngày 9/11/2026", date(2026, 11, 9), True),
        ("kỳ nghỉ từ thứ Sáu 16/4", date(2027, 4, 12), True),
        ("ngày 31/4/2027", None, False),
    ],
)
def test_the_date_check_catches_wrong_weekdays(text, read_on, ok):
    piece = Piece("example", text, frozenset({"zalo"}), read_on)
    assert (date_problems([piece], "2026-2027") == []) is ok


def test_holidays_are_right_and_weekend_holidays_have_their_compensatory_day():
    for name, year in years().items():
        lunar = LUNAR[name]
        tet = year.holiday_on(lunar["tet"])
        assert tet is not None and "Tết" in tet.name, "the Tết break must cover mùng 1 Tết"
        gio_to = year.holiday_on(lunar["gio_to"])
        assert gio_to is not None and "Giỗ Tổ" in gio_to.name
        singles = [h for h in year.holidays if h.day is not None and h.compensates is None]
        for holiday in singles:
            if (holiday.day.month, holiday.day.day) in SOLAR:
                continue
            assert holiday.day in (lunar["gio_to"],), f"{holiday.name}: not a public holiday"
        for holiday in singles:
            if holiday.day.weekday() < 5:
                continue
            day = holiday.day + timedelta(days=1)
            while day.weekday() >= 5 or (year.holiday_on(day) and year.holiday_on(day) in singles):
                day += timedelta(days=1)
            off = year.holiday_on(day)
            assert off is not None and off.compensates == holiday.day, (
                f"{holiday.name} ({holiday.day}) falls on a weekend: add the compensatory day {day}"
            )


def test_every_school_monday_has_a_text_and_holiday_mondays_have_none():
    items = load_outreach(OUTREACH)
    for year in years().values():
        for week in year.mondays():
            assert week in items, f"no text for the week of {week}"
            assert items[week].holiday is (year.holiday_on(week) is not None), week
        assert year.session_weeks()[-1] == year.last_week
        later = [w for w in items if w > year.last_week and w < year.last_week + timedelta(days=90)]
        assert all(items[w].holiday for w in later), "a week after the last one has no session"
    assert items[date(2027, 5, 3)].holiday  # 1/5/2027 is a Saturday: Monday 3/5 is off
    assert not items[date(2027, 4, 12)].holiday  # Giỗ Tổ is read in its own week


def test_a_province_moves_a_holiday_in_the_year_file_only(tmp_path):
    folder = tmp_path / "2026-2027"
    folder.mkdir()
    (folder / "year.yaml").write_text(
        "name: '2026-2027'\nfirst_week: 2026-09-07\nlast_week: 2026-09-21\n"
        "after_last_week: 'Nghỉ hè'\n"
        "holidays:\n  - {date: 2026-09-14, name: 'Nghỉ theo kế hoạch của tỉnh'}\n",
        encoding="utf-8",
    )
    source = OUTREACH / "2026-2027"
    for week in ("2026-09-07", "2026-09-14", "2026-09-21", "2026-09-28"):
        (folder / f"{week}.yaml").write_text(
            (source / f"{week}.yaml").read_text(encoding="utf-8"), encoding="utf-8"
        )
    items = load_outreach(tmp_path)
    assert [w.day for w, i in sorted(items.items()) if i.holiday] == [14, 28]
    assert items[date(2026, 9, 14)].title == "Nghỉ theo kế hoạch của tỉnh"
    (folder / "year.yaml").write_text("name: '2026-2027'\nfirst_week: 2026-09-08\n", "utf-8")
    with pytest.raises(ContentError, match="year.yaml"):
        load_outreach(tmp_path)
