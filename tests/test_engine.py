"""The dialog engine alone: every step kind, navigation, bad input, and JSON round trips."""

from __future__ import annotations

from datetime import date

import pytest

import content
from bot.dialogs.engine import (
    Attachment,
    DialogEngine,
    DialogState,
    Incoming,
    OptionPage,
    StepResult,
    normalize_phone,
)
from content.schema import DialogSpec

TODAY = date(2026, 11, 26)

SPEC = {
    "id": "demo",
    "steps": [
        {
            "id": "kind",
            "kind": "choice",
            "prompt": "t.kind",
            "label": "t.kind_label",
            "options": [
                {"value": "a", "label": "t.a"},
                {"value": "b", "label": "t.b"},
            ],
        },
        {"id": "only_b", "kind": "text", "prompt": "t.only_b", "when": {"kind": ["b"]}},
        {
            "id": "what",
            "kind": "text",
            "prompt": "t.what",
            "label": "t.what_label",
            "min_length": 10,
            "max_length": 50,
        },
        {
            "id": "when",
            "kind": "date",
            "prompt": "t.when",
            "label": "t.when_label",
            "quick": ["today", "yesterday"],
            "max_days_past": 365,
        },
        {
            "id": "unit",
            "kind": "choice",
            "prompt": "t.unit",
            "source": "units",
            "searchable": True,
            "page_size": 2,
        },
        {
            "id": "phone",
            "kind": "phone",
            "prompt": "t.phone",
            "optional": True,
            "label": "t.phone_label",
        },
        {
            "id": "files",
            "kind": "attachments",
            "prompt": "t.files",
            "optional": True,
            "max_files": 2,
        },
        {"id": "where", "kind": "location", "prompt": "t.where", "optional": True},
        {
            "id": "send",
            "kind": "confirm",
            "prompt": "t.send",
            "accept": "t.yes",
            "decline": "t.no",
            "summary": True,
        },
    ],
}

UNITS = [
    (f"U{i}", name)
    for i, name in enumerate(["Trường A", "Trường Nguyễn Du", "Trường C", "Trường D", "Trường E"])
]


async def units_source(query: str | None, offset: int, limit: int) -> OptionPage:
    from content.texts import fold

    found = [u for u in UNITS if not query or fold(query) in fold(u[1])]
    return OptionPage(found[offset : offset + limit], len(found))


@pytest.fixture
def engine() -> DialogEngine:
    base = content.load().texts
    extra = {
        f"t.{key}": f"<{key}>"
        for key in (
            "kind",
            "kind_label",
            "a",
            "b",
            "only_b",
            "what",
            "what_label",
            "when",
            "when_label",
            "unit",
            "phone",
            "phone_label",
            "files",
            "where",
            "send",
            "yes",
            "no",
        )
    }
    texts = base.with_extra(extra)
    spec = DialogSpec.model_validate(SPEC)
    return DialogEngine({"demo": spec}, texts, lambda: TODAY, sources={"units": units_source})


def press(result: StepResult, label: str) -> Incoming:
    for button in result.replies[-1].buttons:
        if button.label == label:
            return Incoming(kind="button", data=button.data)
    raise AssertionError(f"no button {label!r} in {result.replies[-1].buttons}")


def text(value: str) -> Incoming:
    return Incoming(kind="text", text=value)


async def walk_to_date(engine: DialogEngine) -> StepResult:
    r = await engine.start("demo")
    r = await engine.step(r.state, press(r, "<a>"))
    return await engine.step(r.state, text("Chuyện xảy ra ở cổng trường"))


async def test_choice_button_skips_steps_whose_condition_fails(engine):
    r = await engine.start("demo")
    assert r.state.step == "kind"
    r = await engine.step(r.state, press(r, "<a>"))
    assert r.state.step == "what"
    assert r.state.answers["kind"] == "a"


async def test_choice_by_number_and_by_label_text_and_condition_met(engine):
    r = await engine.start("demo")
    r2 = await engine.step(r.state.model_copy(deep=True), text("2"))
    assert r2.state.step == "only_b"
    r3 = await engine.step(r.state.model_copy(deep=True), text("<B>"))
    assert r3.state.step == "only_b"


async def test_text_where_choice_expected_keeps_the_step(engine):
    r = await engine.start("demo")
    r = await engine.step(r.state, text("linh tinh"))
    assert r.state.step == "kind"
    assert "chọn một nút" in r.replies[0].text
    r = await engine.step(r.state, Incoming(kind="unsupported"))
    assert r.state.step == "kind"


async def test_stale_and_forged_buttons_are_refused(engine):
    first = await engine.start("demo")
    old = press(first, "<a>")
    moved = await engine.step(first.state.model_copy(deep=True), old)
    again = await engine.step(moved.state, old)
    assert again.state.step == "what"
    assert "câu hỏi trước" in again.replies[0].text
    forged = await engine.step(
        moved.state, Incoming(kind="button", data=f"d:{moved.state.seq}:o99")
    )
    assert forged.state.step == "what" and "không hợp lệ" in forged.replies[0].text
    garbage = await engine.step(moved.state, Incoming(kind="button", data="x" * 64))
    assert garbage.state.step == "what"


async def test_text_bounds(engine):
    r = await engine.start("demo")
    r = await engine.step(r.state, press(r, "<a>"))
    r = await engine.step(r.state, text("x" * 10_000))
    assert r.state.step == "what" and "10000 ký tự" in r.replies[0].text
    r = await engine.step(r.state, text("ngắn"))
    assert r.state.step == "what" and "ít nhất 10" in r.replies[0].text
    r = await engine.step(
        r.state, Incoming(kind="attachment", attachment=Attachment(kind="photo", stored_id="f"))
    )
    assert r.state.step == "what"
    assert r.state.answers == {"kind": "a"}


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("31/02/2026", "không có trên lịch"),
        ("27/11/2026", "chưa đến"),
        ("hôm kia", "Chưa đúng dạng"),
        ("01/01/2020", "đã quá lâu"),
    ],
)
async def test_bad_dates(engine, typed, problem):
    r = await walk_to_date(engine)
    r = await engine.step(r.state, text(typed))
    assert r.state.step == "when"
    assert problem in r.replies[0].text


async def test_dates_typed_and_quick(engine):
    r = await walk_to_date(engine)
    typed = await engine.step(r.state.model_copy(deep=True), text("5/9/2026"))
    assert typed.state.answers["when"] == "2026-09-05"
    quick = await engine.step(r.state.model_copy(deep=True), press(r, "Hôm qua"))
    assert quick.state.answers["when"] == "2026-11-25"
    sticker = await engine.step(r.state.model_copy(deep=True), Incoming(kind="unsupported"))
    assert sticker.state.step == "when"


async def test_source_search_paging_and_back(engine):
    r = await walk_to_date(engine)
    r = await engine.step(r.state, press(r, "Hôm nay"))
    assert r.state.step == "unit"
    labels = [b.label for b in r.replies[0].buttons]
    assert "Trường A" in labels and "Trang sau »" in labels
    r = await engine.step(r.state, press(r, "Trang sau »"))
    assert [b.label for b in r.replies[0].buttons][0] == "Trường C"
    r = await engine.step(r.state, text("zzz"))
    assert "Không tìm thấy" in r.replies[0].text
    r = await engine.step(r.state, text("nguyen du"))
    assert [b.label for b in r.replies[0].buttons][:1] == ["Trường Nguyễn Du"]
    r = await engine.step(r.state, press(r, "Trường Nguyễn Du"))
    assert r.state.answers["unit"] == "U1" and r.state.step == "phone"
    r = await engine.step(r.state, press(r, "« Quay lại"))
    assert r.state.step == "unit"


async def test_phone_files_location_summary_edit_and_finish(engine):
    r = await walk_to_date(engine)
    r = await engine.step(r.state, press(r, "Hôm nay"))
    r = await engine.step(r.state, press(r, "Trường A"))
    r = await engine.step(r.state, text("12345"))
    assert r.state.step == "phone" and "chưa đúng" in r.replies[0].text
    r = await engine.step(r.state, text("+84 912 345 678"))
    assert r.state.answers["phone"] == "0912345678"
    photo = Attachment(kind="photo", stored_id="p1")
    r = await engine.step(r.state, Incoming(kind="attachment", attachment=photo))
    assert r.state.step == "files"
    r = await engine.step(r.state, Incoming(kind="attachment", attachment=photo))
    assert r.state.step == "where"
    r = await engine.step(r.state, Incoming(kind="location", latitude=11.5, longitude=106.9))
    assert r.state.step == "send"
    summary = r.replies[0].text
    assert "Chuyện xảy ra ở cổng trường" in summary and "26/11/2026" in summary
    r = await engine.step(r.state, press(r, "✏️ Sửa"))  # one button, then the fields
    assert r.state.step == "send" and "<yes>" not in [b.label for b in r.replies[0].buttons]
    r = await engine.step(r.state, press(r, "<what_label>"))
    assert r.state.step == "what"
    r = await engine.step(r.state, text("Đã sửa: chuyện ở cổng sau"))
    assert r.state.step == "send"
    done = await engine.step(r.state, press(r, "<yes>"))
    assert done.outcome == "finished" and done.state is None
    assert done.answers["what"] == "Đã sửa: chuyện ở cổng sau"
    assert done.answers["files"] == [photo.model_dump(), photo.model_dump()]
    assert "only_b" not in done.answers


async def test_decline_cancels(engine):
    r = await engine.start("demo")
    state = r.state.model_copy(update={"step": "send"})
    r = await engine.step(state, press(await engine.step(state, text("?")), "<no>"))
    assert r.outcome == "cancelled" and r.state is None


async def test_state_round_trips_through_json(engine):
    r = await walk_to_date(engine)
    restored = DialogState.model_validate_json(r.state.model_dump_json())
    assert restored == r.state
    r2 = await engine.step(restored, text("26/11/2026"))
    assert r2.state.step == "unit"


def test_normalize_phone():
    assert normalize_phone("0912.345.678") == "0912345678"
    assert normalize_phone("(+84) 912-345-678") == "0912345678"
    assert normalize_phone("84912345678") == "0912345678"
    assert normalize_phone("12345") is None
    assert normalize_phone("09123456789012") is None


def test_spec_rejects_conditions_on_later_steps():
    bad = {
        "id": "x",
        "steps": [
            {"id": "a", "kind": "text", "prompt": "k", "when": {"b": ["1"]}},
            {"id": "b", "kind": "text", "prompt": "k"},
        ],
    }
    with pytest.raises(ValueError, match="not an earlier step"):
        DialogSpec.model_validate(bad)
