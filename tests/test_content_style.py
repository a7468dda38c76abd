"""One house style, and texts that fit every channel: both are checked when content loads; these
tests show that a departure is refused, and check what the loader cannot (forms of address)."""

from __future__ import annotations

import re
from datetime import date

import pytest

import content
from content import ContentError
from content.corpus import all_pieces
from content.outreach_schema import OutreachItem
from content.style import (
    GREETING,
    ZALO_LIMIT,
    parent_problems,
    staff_problems,
    utf16_length,
    wording_problems,
    zalo_problems,
)
from tests.test_content import copy_content


def test_every_text_that_reaches_zalo_fits_and_names_no_telegram(bundle):
    problems = [
        f"{piece.where}: {problem}"
        for piece in all_pieces(bundle)
        if "zalo" in piece.channels
        for problem in zalo_problems(piece.text, long=piece.long)
    ]
    assert problems == []


def test_the_whole_series_has_one_house_style(bundle):
    problems = []
    for week, item in bundle.outreach.items():
        if not item.holiday:
            problems += [f"{week} teacher: {p}" for p in staff_problems(item.teacher)]
            problems += [f"{week} parent: {p}" for p in parent_problems(item.parent)]
    problems += [
        f"{k}: {p}" for k in bundle.texts for p in wording_problems(bundle.texts.template(k))
    ]
    assert problems == []


def test_the_emergency_numbers_carry_the_full_114_label(bundle):
    for key in ("emergency", "help.unregistered", "help.teacher", "help.parent", "help.head"):
        assert "(Cứu hỏa, cứu nạn, cứu hộ)" in bundle.texts.template(key)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Báo Ban giám hiệu.", "Ban Giám hiệu"),
        ("Gọi 114 (Cứu nạn, cứu hộ).", "114"),
        ("Gọi <b>114</b> (Cứu nạn cứu hộ).", "114"),
        ("• 114 – Cứu nạn cứu hộ khi có cháy.", "114"),
        ("Kính thưa quý thầy cô, thân mến các em học sinh!", "các em học sinh thân mến"),
    ],
)
def test_wording_outside_the_house_style_is_caught(text, problem):
    assert any(problem in found for found in wording_problems(text))


def test_a_week_without_headline_greeting_or_closing_is_refused(bundle):
    item = bundle.outreach[date(2026, 9, 7)]
    broken = item.teacher.replace(GREETING + "\n", "").rsplit("\n\n", 1)[0]
    problems = staff_problems(broken)
    assert any("greeting" in p for p in problems) and any("closing" in p for p in problems)
    with pytest.raises(ValueError, match="greeting"):
        OutreachItem(**{**item.model_dump(), "teacher": item.teacher.replace(GREETING, "Chào!")})
    assert parent_problems("<b>Gửi quý phụ huynh</b>\nNội dung")


def test_zalo_limits_are_counted_in_utf16_code_units():
    assert utf16_length("Tết 👨‍👩‍👧") == 4 + 8
    long_paragraphs = "\n\n".join(["ạ" * 1500] * 3)
    assert zalo_problems(long_paragraphs, long=True) == []
    assert zalo_problems(long_paragraphs)  # a short text may not exceed 2,000 in all
    assert zalo_problems("ạ" * (ZALO_LIMIT + 1), long=True)
    assert zalo_problems("Bấm 📎 rồi chọn Vị trí")
    assert zalo_problems("Mở Telegram") and not zalo_problems("Mở trợ lý")


def test_a_text_naming_telegram_without_a_variant_is_refused_at_load(tmp_path):
    folder = copy_content(tmp_path)
    path = folder / "texts" / "vi.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Trợ lý chưa hiểu lệnh này.", "Telegram chưa hiểu.", 1), "utf-8")
    with pytest.raises(ContentError, match="chat.unknown_command: names Telegram"):
        content.load(folder)


def test_role_known_texts_use_the_right_form_of_address(bundle):
    staff = ["help.teacher", "help.head", "invite.consent.prompt", "invite.done"]
    staff += [k for k in bundle.texts if k.startswith("deadline.") and "prompt" not in k]
    for key in staff:
        assert not re.search(r"\b[Bb]ạn\b", bundle.texts.template(key)), key
    assert "quý phụ huynh" in bundle.texts.template("help.parent")
    assert not re.search(r"\b[Bb]ạn\b", bundle.texts.template("help.parent"))
    assert "bạn" in bundle.texts.template("tip.intro")  # anonymous flows say "bạn"
