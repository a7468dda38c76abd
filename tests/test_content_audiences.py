"""Every audience gets what fits it: parents pick a school (not an office), primary schools get
their note, no text invites pupils (under 16) to use the bot, parents know when their text comes."""

from __future__ import annotations

import re

from bot.people.service import PeopleService
from content.outreach_schema import check_telegram_html, is_primary, staff_body
from storage.db import Database
from storage.units import Unit, UnitRepository
from tests.conftest import TZ  # noqa: F401  (same time zone as the other tests)

BOT = re.compile(r"/baocao|/togiac|/tracuu", re.I)
ADULT = re.compile(
    r"người lớn|thầy cô|cha mẹ|bố mẹ|phụ huynh|giáo viên|nhân viên|cán bộ|\bcô\b", re.I
)
PUPIL = re.compile(r"\b(các em|em)\b", re.I)


def pupil_invitations(text: str) -> list[str]:
    """Sentences read to pupils that point to the bot without routing them through an adult."""
    found = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n", check_telegram_html(text)[0]):
        if not BOT.search(sentence):
            continue
        addressed_to_pupils = PUPIL.search(sentence) and "người lớn" not in sentence
        if addressed_to_pupils or not ADULT.search(sentence):
            found.append(sentence.strip())
    return found


def test_no_text_read_to_pupils_invites_them_to_use_the_bot(bundle):
    found = {
        week.isoformat(): pupil_invitations(item.teacher)
        for week, item in bundle.outreach.items()
        if item.teacher and pupil_invitations(item.teacher)
    }
    assert found == {}


def test_the_invitation_check_catches_the_old_wording():
    assert pupil_invitations("Các em và phụ huynh cũng có thể gửi tin báo bằng lệnh /baocao.")
    assert pupil_invitations("• Gửi tin báo qua trợ lý ANTQ bằng lệnh /baocao.")
    assert not pupil_invitations(
        "Các em hãy kể với thầy cô, cha mẹ; người lớn có thể gửi tin báo bằng /baocao."
    )


def test_no_bot_text_offers_pupils_a_role(bundle):
    for key in bundle.texts:
        if key.startswith(("roles.", "onboarding.role")):
            assert "học sinh" not in bundle.texts.template(key).replace("Phụ huynh học sinh", "")


def test_parents_are_told_their_version_comes_on_monday_evening(bundle):
    text = bundle.texts.template("onboarding.subscribe.prompt")
    assert "phụ huynh" in text and "tối thứ Hai" in text
    assert "tối thứ Hai" in bundle.texts.template("outreach.subscribed_parents")
    assert "thứ Hai" not in bundle.texts.template("outreach.subscribed_staff").replace(
        "chào cờ thứ Hai", ""
    )  # /dangky tells each reader their own schedule


def test_the_parent_is_asked_for_the_child_s_school(bundle):
    onboarding = bundle.dialogs["onboarding"]
    school = onboarding.step("school")
    assert school.source == "schools" and school.when == {"role": ["parent"]}
    assert bundle.texts.template(school.prompt).startswith("Con bạn học ở trường nào?")
    assert onboarding.step("unit").when == {"role": ["teacher"]}


async def test_the_schools_source_leaves_out_the_department_s_offices(tmp_path):
    db = await Database.open(tmp_path / "antq.db")
    try:
        units = UnitRepository(db)
        await units.upsert_all(
            [
                Unit("SO-TCCB", "Phòng Tổ chức cán bộ", "Cơ quan Sở", "Phường Trấn Biên"),
                Unit("TH-BH01", "Trường Tiểu học Nguyễn Du", "Tiểu học", "Phường Tam Hiệp"),
                Unit("THPT-BH02", "Trường THPT Ngô Quyền", "THPT", "Phường Biên Hòa"),
            ]
        )
        people = PeopleService.__new__(PeopleService)
        people.units = units
        page = await people.school_options(None, 0, 10)
        assert sorted(code for code, _ in page.options) == ["TH-BH01", "THPT-BH02"]
        assert page.total == 2
        assert (await people.unit_options(None, 0, 10)).total == 3
        assert (await people.school_options("phong", 0, 10)).total == 0
    finally:
        await db.close()


def test_primary_note_goes_to_primary_kinds_only(bundle):
    item = next(i for i in bundle.outreach.values() if i.primary_note)
    for kind in ("Tiểu học", "Mầm non", "tieu hoc"):
        assert is_primary(kind)
        assert item.primary_note in staff_body(item, bundle.texts, kind)
    assert item.primary_note not in staff_body(item, bundle.texts, "THPT")
    assert item.primary_note in staff_body(item, bundle.texts, None)  # a push: labelled note


def test_a_reporter_can_say_the_date_is_unknown_or_ongoing(bundle):
    for dialog in ("report", "tip"):
        step = bundle.dialogs[dialog].step("when")
        assert step.optional, dialog  # "Bỏ qua": the office sees "—"
        assert "vẫn đang diễn ra" in bundle.texts.template(step.prompt)
