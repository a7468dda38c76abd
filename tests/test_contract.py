"""The chat port's contract: every dialog, to its end, on a minimal channel (adapter only).

The fake channel has no edits, no toasts, at most 5 buttons and 2,000 characters a message, plain
text only, ids of 20 digits (above 2^63), and presses that come back as typed text (as on Zalo):
the person answers by typing a number, a word, or the sealed payload of a button. If every dialog
finishes here, a second channel needs nothing but its adapter.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.chat.channel import Capabilities, numbered, shaped
from bot.chat.markup import utf16_length
from bot.chat.ref import ChatRef, Staff
from bot.chat.reply import Button, Reply
from bot.deadlines.service import Scope
from bot.dialogs.engine import Incoming
from bot.kernel.clock import ManualClock
from bot.kernel.config import Settings
from bot.kernel.outbox import OutboxSender, OutgoingMessage
from bot.kernel.services import Services
from content import Content
from storage.units import UnitRepository
from tests.conftest import TZ, UNITS

CHANNEL = "fake"
CAPABILITIES = Capabilities(max_buttons=5, max_text=2000, markup="plain", buttons_as_text=True)
START = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)
STAFF = Staff("staff:lan", "clerk", "Nguyễn Thị Lan")


@dataclass
class Shown:
    """One message as the person sees it: plain text and the buttons' labels and payloads."""

    text: str
    buttons: list[Button]

    @property
    def labels(self) -> list[str]:
        return [b.label for b in self.buttons]


@dataclass
class FakeChannel:
    """The channel adapter: answers of the router and the outbox, shaped to the capabilities."""

    services: Services
    name: str = CHANNEL
    capabilities: Capabilities = CAPABILITIES
    inbox: dict[str, list[Shown]] = field(default_factory=dict)
    sent: int = 0

    def show(self, chat_id: str, replies: list[Reply], notice: str | None = None) -> list[Shown]:
        chat = ChatRef(self.name, chat_id)
        seal = self.services.router.seal
        messages = [
            Shown(numbered(r) if not r.buttons else r.text, r.buttons)
            for r in shaped(
                replies,
                self.capabilities,
                notice=notice,
                more_label="Xem thêm:",
                seal=lambda data: seal.seal(chat, data),
            )
        ]
        for message in messages:  # the channel's own limits, checked on every message
            assert utf16_length(message.text) <= 2000 and message.text.strip()
            assert len(message.buttons) <= 5
            assert all(b.label and len(b.data) <= 100 for b in message.buttons)
        self.inbox.setdefault(chat_id, []).extend(messages)
        return messages

    async def deliver(self, chat_id: str, message: OutgoingMessage) -> str:
        """The outbox's transport for this channel."""
        buttons = [Button(b.label, b.data, b.row) for b in message.buttons]
        self.show(chat_id, [Reply(message.text or "(tệp)", buttons)])
        self.sent += 1
        return f"9{self.sent:019d}"  # message ids are opaque strings too


@dataclass
class Person:
    """Someone on the fake channel who can only type."""

    channel: FakeChannel
    chat_id: str

    @property
    def chat(self) -> ChatRef:
        return ChatRef(CHANNEL, self.chat_id)

    @property
    def last(self) -> Shown:
        return self.channel.inbox[self.chat_id][-1]

    async def say(self, text: str) -> list[Shown]:
        answer = await self.channel.services.router.handle(
            self.chat, Incoming(kind="text", text=text)
        )
        assert not answer.advanced or answer.replies  # no edits here: something is always said
        return self.channel.show(self.chat_id, answer.replies, answer.notice)

    async def choose(self, label_part: str) -> list[Shown]:
        """Type the number of the button whose label contains `label_part` (newest message)."""
        for message in reversed(self.channel.inbox[self.chat_id]):
            for number, button in enumerate(message.buttons, 1):
                if label_part.casefold() in button.label.casefold():
                    return await self.say(str(number) if number <= 9 else button.label)
        raise AssertionError(f"no button with {label_part!r}: {self.last}")

    async def press_typed(self, label_part: str) -> list[Shown]:
        """Send the button's sealed payload as text, as Zalo does for `oa.query.hide`."""
        for message in reversed(self.channel.inbox[self.chat_id]):
            for button in message.buttons:
                if label_part.casefold() in button.label.casefold():
                    return await self.say(button.data)
        raise AssertionError(f"no button with {label_part!r}")

    def saw(self, fragment: str) -> bool:
        return any(fragment in m.text for m in self.channel.inbox.get(self.chat_id, []))


@pytest.fixture
async def rig(tmp_path: Path, bundle: Content) -> AsyncIterator[FakeChannel]:
    settings = Settings(
        _env_file=None,
        database_path=tmp_path / "antq.db",
        data_key_file=tmp_path / "antq.key",
    )
    assert settings.bot_token is None and settings.office_chat_id is None  # no Telegram at all
    clock = ManualClock(TZ, START)
    services = await Services.open(settings, bundle, clock)
    await UnitRepository(services.db).upsert_all(UNITS)
    try:
        yield FakeChannel(services)
    finally:
        services.scheduler.shutdown()
        await services.close()


def person(channel: FakeChannel, number: int) -> Person:
    return Person(channel, f"{98765432109876543210 + number}")  # 20 digits, above 2^63


async def drain(channel: FakeChannel) -> None:
    services = channel.services
    sender = OutboxSender(
        services.db,
        services.outbox.repo,
        channel,
        services.clock,
        decode=services.decode_outgoing,
        global_rate=0,
        per_chat_rate=0,
        channel=CHANNEL,
    )
    await sender.drain_once()


async def onboard(someone: Person) -> None:
    shown = await someone.say("xin chào")  # someone new is greeted and asked to consent
    assert "Toàn dân bảo vệ an ninh Tổ quốc" in shown[0].text
    await someone.say("1")  # the consent's first button: "Tôi đồng ý"
    await someone.choose("Giáo viên")
    await someone.say("nguyen du")
    await someone.say("1")
    shown = await someone.say("có")
    assert any("Đã lưu thông tin" in m.text for m in shown), shown


async def test_onboarding_and_delete_my_data_by_typing_only(rig: FakeChannel):
    lan = person(rig, 1)
    await onboard(lan)
    stored = await rig.services.people.people.get(CHANNEL, lan.chat_id)
    assert stored is not None and stored.chat_id == lan.chat_id and stored.unit_code == "TH-ND01"
    await lan.say("xóa dữ liệu")
    shown = await lan.choose("Xóa dữ liệu của tôi")
    assert shown and await rig.services.people.people.get(CHANNEL, lan.chat_id) is None


async def submit_report(someone: Person, what: str) -> str:
    await someone.say("báo cáo")
    await someone.choose("Bạo lực học đường")
    await someone.say(what)
    await someone.choose("Tại đơn vị của tôi")
    await someone.say("bỏ qua")  # location
    await someone.say("hôm nay")
    await someone.say("bỏ qua")  # people involved
    await someone.say("bỏ qua")  # files
    await someone.choose("Không để lại")
    inbox = someone.channel.inbox[someone.chat_id]
    summary = next(m for m in reversed(inbox) if "Bạo lực học đường" in m.text)
    assert "Gửi" in summary.labels[0]
    shown = await someone.say("gửi")
    receipt = next(m.text for m in shown if "-" in m.text and "Mã" in m.text)
    code = next(word for word in receipt.split() if len(word) == 9 and word[4] == "-")
    return code.strip(".,:")


async def test_a_report_gets_its_status_update_and_the_reply_on_its_own_channel(
    rig: FakeChannel,
):
    lan = person(rig, 2)
    await onboard(lan)
    code = await submit_report(lan, "Một nhóm học sinh đánh nhau ở cổng trường sau giờ học.")
    report = await rig.services.desk.reports.by_code(code)
    assert report is not None and (report.channel, report.chat_id) == (CHANNEL, lan.chat_id)
    await rig.services.desk.act(report.id, "received", STAFF)
    await rig.services.desk.reply(code, STAFF, "Cảm ơn thầy/cô, Văn phòng Sở đã tiếp nhận.")
    rows = await rig.services.db.fetch_all(
        "SELECT channel, chat_id FROM outbox WHERE kind = 'reporter_update'"
    )
    assert {tuple(row) for row in rows} == {(CHANNEL, lan.chat_id)}
    await drain(rig)
    assert lan.saw(code) and lan.saw("Văn phòng Sở đã tiếp nhận")
    # the look-up with a follow-up, typed
    await lan.say("tra cứu")
    shown = await lan.say(code)
    assert any("Văn phòng Sở đã tiếp nhận" in m.text for m in shown)
    await lan.choose("Bổ sung thông tin")
    shown = await lan.say("Các em học lớp 8A, sự việc lặp lại nhiều lần.")
    assert any("Đã" in m.text for m in shown), shown


async def test_a_tip_and_its_look_up_with_the_passphrase(rig: FakeChannel):
    someone = person(rig, 3)
    shown = await someone.say("tố giác")
    assert any("113" in m.text for m in shown)  # the emergency numbers first
    await someone.choose("Ma túy")
    await someone.say("Có người bán thuốc lá điện tử cho học sinh gần cổng trường.")
    await someone.choose("Nơi khác")
    await someone.say("Quán nước đầu hẻm")
    for _ in range(4):  # location, date, people, files: all skipped by typing
        await someone.say("bỏ qua")
    shown = await someone.say("gửi")
    text = "\n".join(m.text for m in shown)
    code = next(w.strip(".,:") for w in text.split() if len(w.strip(".,:")) == 9 and "-" in w)
    passphrase_line = next(line for line in text.splitlines() if "Mật khẩu" in line)
    passphrase = passphrase_line.split(":", 1)[1].strip()
    await someone.choose("Tôi đã lưu")
    report = await rig.services.desk.reports.by_code(code)
    assert report is not None and report.anonymous and report.chat_id is None
    await someone.say("tra cứu")
    await someone.say(code)
    shown = await someone.say(passphrase)
    assert any("Tình trạng" in m.text for m in shown), shown


async def test_a_head_joins_by_typed_code_and_answers_a_reminder(rig: FakeChannel):
    services = rig.services
    (unit,) = [u for u in UNITS if u.code == "THPT-DX01"]
    (issued,) = await services.invitations.issue([unit], "test")
    head = person(rig, 4)
    await head.say(f"mã mời {issued.code}")
    await head.choose("Tôi xác nhận")
    await head.say("có")
    stored = await services.people.people.get(CHANNEL, head.chat_id)
    assert stored is not None and stored.role == "head" and stored.unit_code == unit.code
    deadline = await services.deadlines.create_draft("test")
    due = datetime(2026, 12, 10, 17, 0, tzinfo=TZ)
    await services.deadlines.update(
        deadline,
        title="Đăng ký thi đua",
        due_at=due.astimezone(UTC),
        scope=Scope("list", None, (unit.code,)),
    )
    assert await services.deadlines.open(deadline) is None
    services.clock.set(datetime(2026, 12, 3, 8, 5, tzinfo=TZ))
    assert await services.reminders.tick() == 1
    await drain(rig)
    reminder = head.last
    assert "Đăng ký thi đua" in reminder.text and len(reminder.buttons) == 2
    shown = await head.press_typed("Cần hỗ trợ")
    assert shown
    await head.say("Mẫu đăng ký năm nay có thay đổi gì không?")
    shown = await head.press_typed("Đã hoàn thành")
    assert shown and shown[0].text  # the recorded notice is a message here, not a toast
    await head.say("bỏ qua")
    await head.say("xong")
    done = await services.db.fetch_one(
        "SELECT done_at FROM deadline_units WHERE deadline_id = ?", [deadline]
    )
    assert done is not None and done[0] is not None
    services.clock.set(datetime(2026, 12, 9, 8, 5, tzinfo=TZ))
    assert await services.reminders.tick() == 0  # the unit is done: nobody of it is reminded


async def test_forged_and_replayed_payloads_typed_as_text_are_refused(rig: FakeChannel):
    lan, other = person(rig, 5), person(rig, 6)
    await lan.say("xin chào")
    consent = lan.last
    payload = consent.buttons[0].data
    shown = await other.say(payload)  # another person's button
    assert "hiệu lực" in shown[0].text
    forged = payload[:-1] + ("0" if payload[-1] != "0" else "1")
    shown = await lan.say(forged)
    assert "hiệu lực" in shown[0].text
    await lan.say(payload)  # the real press: consent given, the dialog moves on
    state = await rig.services.conversations.current(lan.chat)
    assert state is not None and state.step == "role"
    shown = await lan.say(payload)  # the same payload again: a button of an earlier question
    assert "câu hỏi trước" in shown[0].text
    state = await rig.services.conversations.current(lan.chat)
    assert state is not None and state.step == "role"


async def test_the_scheduler_runs_with_no_telegram_configured(rig: FakeChannel):
    scheduler = rig.services.scheduler
    scheduler.start()
    assert scheduler.running
    assert set(scheduler.jobs) == {"outreach", "reminders", "reannounce", "retention"}
    before = datetime.now(UTC) - timedelta(seconds=1)
    await scheduler.run_all()
    assert all(scheduler.last_run[job] >= before for job in scheduler.jobs)


async def test_the_privacy_notice_names_the_retention_setting(tmp_path: Path, bundle: Content):
    settings = Settings(
        _env_file=None,
        database_path=tmp_path / "antq.db",
        data_key_file=tmp_path / "antq.key",
        retention_days=730,
    )
    services = await Services.open(settings, bundle, ManualClock(TZ, START))
    try:
        channel = FakeChannel(services)
        shown = await person(channel, 7).say("xin chào")
        assert any("24 tháng" in m.text for m in shown)
        shown = await person(channel, 8).say("tố giác")
        assert any("sau 24 tháng" in m.text for m in shown)
    finally:
        await services.close()


async def test_images_sent_as_photo_and_as_document_are_stored_without_metadata(
    rig: FakeChannel,
):
    """The channel hands over bytes; the core re-encodes every image before it is stored."""
    from bot.dialogs.engine import Upload
    from tests.test_file_store import assert_clean_image, jpeg_with_gps

    picture = jpeg_with_gps()
    conversations = rig.services.conversations

    async def fetch(upload: Upload) -> AsyncIterator[bytes]:
        yield picture

    conversations.fetchers[CHANNEL] = fetch
    lan = person(rig, 9)
    await onboard(lan)
    await lan.say("báo cáo")
    await lan.choose("Bạo lực học đường")
    await lan.say("Học sinh bị bắt nạt trong nhà vệ sinh, có ảnh chụp màn hình tin nhắn.")
    await lan.choose("Tại đơn vị của tôi")
    for _ in range(3):  # location, date, people
        await lan.say("bỏ qua")
    for kind, name in (("photo", None), ("document", "anh_goc.jpg")):
        answer = await rig.services.router.handle(
            lan.chat,
            Incoming(
                kind="attachment",
                upload=Upload(kind=kind, channel_file_id=f"f-{kind}", file_name=name),
            ),
        )
        rig.show(lan.chat_id, answer.replies, answer.notice)
    state = await conversations.current(lan.chat)
    assert state is not None
    stored = state.answers["evidence"]
    assert [f["kind"] for f in stored] == ["photo", "document"]
    assert rig.services.files is not None
    for item in stored:
        data = await rig.services.files.read(item["stored_id"])
        assert picture != data and b"GPS" not in data
        assert_clean_image(data)


def test_only_the_words_ma_moi_make_a_typed_invitation(rig: FakeChannel):
    """A tip's passphrase such as "mai-voi-cay-gao-len" begins like "mã" but is no invitation."""
    router = rig.services.router
    code = "Zk3-_q8LmN0pQrStUv"

    def typed(text: str) -> str | None:
        return router._invitation_code(Incoming(kind="text", text=text))

    assert typed(f"mã mời {code}") == code
    assert typed(f"Mã mời: {code}") == code
    assert typed(f"mời {code}") == code
    for answer in ("mai-voi-cay-gao-len-thuyen", "MAI-VOI-CAY-GAO-LEN", f"ma{code}", f"moi{code}"):
        assert typed(answer) is None, answer
