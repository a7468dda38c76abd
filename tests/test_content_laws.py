"""No text cites a law or decree that has stopped applying (content/data/superseded_laws.yaml).

A bot text is read any day the bot runs, so it is checked against today; an outreach week is read
in its own week, so it is checked against that Monday. Each instrument has a week's grace after the
day it stopped applying. Next year: add the replaced instruments to the data file.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import yaml

from content import CONTENT_DIR
from content.corpus import Piece, all_pieces
from content.outreach_schema import check_telegram_html

GRACE = timedelta(days=7)
SUPERSEDED = yaml.safe_load(
    (CONTENT_DIR / "data" / "superseded_laws.yaml").read_text(encoding="utf-8")
)["superseded"]


def stale_citations(pieces: list[Piece], today: date) -> list[str]:
    found = []
    for piece in pieces:
        plain = check_telegram_html(piece.text)[0]
        read_on = piece.read_on or today
        for law in SUPERSEDED:
            if read_on < law["until"] + GRACE:
                continue
            for pattern in law["patterns"]:
                if re.search(pattern, plain, re.IGNORECASE):
                    found.append(f"{piece.where}: cites {law['name']} (use {law['replaced_by']})")
                    break
    return found


def test_the_superseded_list_is_well_formed():
    assert SUPERSEDED
    for law in SUPERSEDED:
        assert {"name", "until", "replaced_by", "patterns"} <= set(law)
        assert isinstance(law["until"], date)
        for pattern in law["patterns"]:
            re.compile(pattern)


def test_no_text_cites_a_superseded_law(bundle):
    assert stale_citations(all_pieces(bundle), date.today()) == []


@pytest.mark.parametrize(
    ("text", "read_on", "stale"),
    [
        ("theo Nghị định 13/2023/NĐ-CP", date(2026, 1, 5), False),  # within the week's grace
        ("theo Nghị định 13/2023/NĐ-CP", date(2026, 1, 8), True),
        ("Luật An ninh mạng 2018 nghiêm cấm", date(2026, 9, 7), True),
        ("Luật An ninh mạng năm 2018 nghiêm cấm", date(2026, 6, 1), False),
        ("Luật An ninh mạng năm 2025 nghiêm cấm", date(2026, 9, 7), False),
        ("Luật Phòng, chống ma túy 2021", date(2027, 2, 22), True),
        ("Luật Bảo vệ bí mật nhà nước 2018", date(2026, 12, 7), True),
    ],
)
def test_a_citation_is_stale_a_week_after_its_law_stopped_applying(text, read_on, stale):
    piece = Piece("example", text, frozenset({"zalo"}), read_on)
    assert bool(stale_citations([piece], date(2030, 1, 1))) is stale


def test_the_privacy_notices_cite_the_personal_data_law_of_2025(bundle):
    for key in ("onboarding.consent.prompt", "invite.consent.prompt"):
        for channel in (None, "telegram", "zalo", "web"):
            assert "Luật Bảo vệ dữ liệu cá nhân năm 2025" in bundle.texts.template(key, channel)
