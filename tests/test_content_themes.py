"""The themes of a border province's school year, the report categories they point to, and no
province hard-coded in texts (the local material lives in the school year's file)."""

from __future__ import annotations

import csv
from datetime import date, timedelta

from content import CONTENT_DIR
from content.corpus import outreach_pieces, text_pieces
from content.outreach_schema import check_telegram_html, load_years

# Days a week's text should name, by the Monday of their week (or the week before for a weekend).
DAYS = {
    "Trung thu": date(2026, 9, 25),
    "Ngày Biên phòng toàn dân": date(2027, 3, 3),
    "Đội Thiếu niên Tiền phong": date(2027, 5, 15),
    "Giỗ Tổ Hùng Vương": date(2027, 4, 16),
    "Ngày Nhà giáo Việt Nam": date(2026, 11, 20),
}
CATEGORIES = {  # what the outreach tells people to report, and the category it goes to
    "chay_no": "pháo nổ",
    "bat_nat_mang": "trên mạng",
    "lo_lot_tai_lieu": "đề thi",
    "duoi_nuoc_diem_nguy_hiem": "ao hồ",
    "mua_ban_nguoi": "mua bán người",
}


def plain(text: str) -> str:
    return check_telegram_html(text)[0]


def test_each_day_is_named_in_its_own_week(bundle):
    for name, day in DAYS.items():
        monday = day - timedelta(days=day.weekday())
        weeks = [monday, monday + timedelta(days=7)] if day.weekday() >= 5 else [monday]
        texts = [plain(bundle.outreach[w].teacher or "") for w in weeks if w in bundle.outreach]
        assert any(name in text for text in texts), f"{name} ({day}) is not in its week"


def test_a_border_province_talks_about_trafficking_and_the_border(bundle):
    topics = {item.topic for item in bundle.outreach.values()}
    assert "border_trafficking" in topics
    text = " ".join(plain(i.teacher or "") for i in bundle.outreach.values())
    assert "mua bán người" in text and "biên giới" in text


def test_the_categories_the_outreach_points_to_exist(bundle):
    for code, word in CATEGORIES.items():
        assert word in bundle.categories[code].label, code


def test_no_province_or_local_area_is_hard_coded_in_texts(bundle):
    (year,) = load_years(CONTENT_DIR / "outreach").values()
    with (CONTENT_DIR / "data" / "sample_units.csv").open(encoding="utf-8") as handle:
        areas = {row["Địa bàn"].split(" ", 1)[1] for row in csv.DictReader(handle)}
    names = {year.province, "Đồng Nai", "Bình Phước", "Biên Hòa", *areas} - {None}
    found = []
    for piece in [*text_pieces(bundle.texts), *outreach_pieces(bundle)]:
        if piece.where.endswith(("local_note", "source")):
            continue
        found += [f"{piece.where}: {n}" for n in sorted(names) if n in plain(piece.text)]
    assert found == []
