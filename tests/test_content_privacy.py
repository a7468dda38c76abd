"""The privacy notice and the tip texts promise exactly what the bot does, on every channel."""

from __future__ import annotations

import re

import pytest

from bot.kernel.config import Settings
from bot.office.retention import retention_words as retention_words_of
from content.texts import CHANNELS

CHANNEL_OPTIONS = [None, *CHANNELS]


def retention_words() -> str:
    """The texts name the retention setting by a parameter, filled in from the setting."""
    return "{retention}"


def test_the_retention_words_follow_the_setting(bundle):
    default = Settings.model_fields["retention_days"].default
    assert retention_words_of(default, bundle.texts) == "12 tháng"
    assert retention_words_of(730, bundle.texts) == "24 tháng"
    assert retention_words_of(90, bundle.texts) == "90 ngày"


@pytest.mark.parametrize("channel", CHANNEL_OPTIONS)
def test_the_privacy_notice_says_what_who_how_long_and_how_to_delete(bundle, channel):
    text = bundle.texts.template("onboarding.consent.prompt", channel)
    for promise in (
        "trợ lý lưu",
        "cán bộ được phân quyền",  # who sees
        "cơ quan Công an có thẩm quyền",  # forwarding ("Chuyển Công an")
        "Chuyển Công an",
        retention_words(),  # how long: the retention setting
        "/xoadulieu",
        "Luật Bảo vệ dữ liệu cá nhân năm 2025",
    ):
        assert promise in text, (channel, promise)
    assert "không chia sẻ cho bên khác, trừ khi" in text.lower()


def test_each_channel_names_what_it_stores(bundle):
    texts = bundle.texts
    assert "Telegram" in texts.template("onboarding.consent.prompt", "telegram")
    assert "Zalo" in texts.template("onboarding.consent.prompt", "zalo")
    assert "Telegram" not in texts.template("onboarding.consent.prompt", "zalo")


@pytest.mark.parametrize("channel", CHANNEL_OPTIONS)
def test_the_tip_intro_is_honest_about_identification(bundle, channel):
    text = bundle.texts.template("tip.intro", channel)
    assert "đoán ra bạn" in text  # what a person writes can identify them
    assert "cơ quan Công an" in text
    assert "tố giác với cơ quan có thẩm quyền" in text  # where legal protection applies
    assert "không biết ai gửi" not in text  # the old over-promise
    assert retention_words() in text
    if channel != "web":
        assert "biểu mẫu tố giác trên trang web" in text  # the anonymous path
        assert re.search(r"(Telegram|Zalo|ứng dụng nhắn tin)[^.]*biết", text)
    if channel == "zalo":
        assert "Zalo biết" in text and "không ẩn danh hoàn toàn" in text
    if channel == "telegram":
        assert "Telegram biết" in text


def test_the_report_intro_says_reports_may_go_to_the_police(bundle):
    text = bundle.texts.template("report.intro")
    assert "chuyển cơ quan Công an" in text and retention_words() in text


def test_a_reporter_never_sees_spam_or_a_blunt_dismissal(bundle):
    for status in ("spam", "dismissed"):
        label = bundle.texts.template(f"status.{status}")
        assert not re.search(r"rác|spam|Không đủ cơ sở", label, re.IGNORECASE), label
        assert label.startswith("Đã đóng")
    assert bundle.texts.template("status.spam") != bundle.texts.template("status.dismissed")
