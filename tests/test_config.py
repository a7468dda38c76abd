"""Configuration: names, defaults, and one clear line per bad field with exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from bot.kernel.config import Mode, Settings, describe_errors


def run_antq(*args: str, env: dict[str, str], cwd) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANTQ_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**clean, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_defaults_and_parsing(monkeypatch):
    monkeypatch.setenv("ANTQ_BOT_TOKEN", "123456:abcdefGHIJ")
    monkeypatch.setenv("ANTQ_OFFICE_ADMINS", "11, 22,33")
    monkeypatch.setenv("ANTQ_OFFICE_CHAT_ID", "-100123")
    settings = Settings(_env_file=None)
    assert settings.office_admins == {11, 22, 33}
    assert settings.office_chat_id == -100123
    assert settings.mode is Mode.POLLING
    assert settings.timezone == "Asia/Ho_Chi_Minh"
    assert settings.api_base_url == "https://api.telegram.org"
    assert str(settings.database_path) == "data/antq.db"
    assert "abcdefGHIJ" not in repr(settings)


def test_env_file_is_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        "ANTQ_BOT_TOKEN=42:secretTOKEN\nANTQ_ORG_NAME=Sở GD&ĐT Đồng Nai\n", encoding="utf-8"
    )
    settings = Settings()
    assert settings.org_name == "Sở GD&ĐT Đồng Nai"
    assert settings.bot_token.get_secret_value() == "42:secretTOKEN"


def test_each_bad_field_gets_one_vietnamese_line(bundle, monkeypatch):
    for name, value in {
        "ANTQ_BOT_TOKEN": "nope",
        "ANTQ_MODE": "carrier-pigeon",
        "ANTQ_TIMEZONE": "Mars/Olympus",
        "ANTQ_OFFICE_ADMINS": "12,abc",
        "ANTQ_WEBHOOK_LISTEN": "8443",
        "ANTQ_OFFICE_CHAT_ID": "group",
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    lines = describe_errors(caught.value, bundle.texts)
    assert len(lines) == 6
    joined = "\n".join(lines)
    for expected in (
        "ANTQ_BOT_TOKEN: không đúng dạng",
        "ANTQ_MODE:",
        "ANTQ_TIMEZONE: múi giờ",
        "ANTQ_OFFICE_ADMINS:",
        "ANTQ_WEBHOOK_LISTEN:",
        "ANTQ_OFFICE_CHAT_ID: phải là một số nguyên",
    ):
        assert expected in joined


def test_webhook_mode_needs_a_url(monkeypatch):
    monkeypatch.setenv("ANTQ_MODE", "webhook")
    with pytest.raises(ValidationError, match="webhook_needs_url"):
        Settings(_env_file=None)


def test_run_with_zalo_but_without_its_secrets_exits_2_one_line_each(tmp_path):
    result = run_antq("run", env={"ANTQ_ZALO_APP_ID": "3107040312345678901"}, cwd=tmp_path)
    assert result.returncode == 2
    for name in ("ANTQ_ZALO_APP_SECRET", "ANTQ_ZALO_OA_SECRET_KEY", "ANTQ_ZALO_REFRESH_TOKEN"):
        assert f"{name}: thiếu giá trị" in result.stderr
    assert "ANTQ_BOT_TOKEN" not in result.stderr
    assert "Traceback" not in result.stderr


def test_zalo_values_are_checked_one_line_each(bundle, monkeypatch):
    for name, value in {
        "ANTQ_ZALO_APP_ID": "abc",
        "ANTQ_ZALO_SIGNATURE_SECRET": "both",
        "ANTQ_ZALO_PAID_KINDS": "Reporter Update",
        "ANTQ_ZALO_TEMPLATES": "deadline_digest",
        "ANTQ_HTTP_LISTEN": "8080",
        "ANTQ_PUBLIC_URL": "example.org",
        "ANTQ_ZALO_API_BASE_URL": "openapi.zalo.me",
        "ANTQ_ZALO_ARTICLES": "tuan1=abc",
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings(_env_file=None)
    lines = describe_errors(caught.value, bundle.texts)
    assert len(lines) == 8
    assert all("giá trị không hợp lệ" not in line for line in lines)


def test_zalo_settings_parse(monkeypatch):
    monkeypatch.setenv("ANTQ_ZALO_APP_ID", "3107040312345678901")
    monkeypatch.setenv("ANTQ_ZALO_TEMPLATES", "deadline_digest=12345, reporter_update=678")
    monkeypatch.setenv("ANTQ_ZALO_PAID_KINDS", "reporter_update")
    monkeypatch.setenv("ANTQ_ZALO_APP_SECRET", "s3cret-app")
    settings = Settings(_env_file=None)
    assert settings.zalo_enabled and not settings.telegram_enabled
    assert settings.zalo_templates == {"deadline_digest": "12345", "reporter_update": "678"}
    assert settings.zalo_paid_kinds == {"reporter_update"}
    assert settings.http_listen == "127.0.0.1:8080"
    assert "s3cret-app" not in repr(settings)


def test_run_with_bad_values_exits_2_listing_each(tmp_path):
    result = run_antq("run", env={"ANTQ_BOT_TOKEN": "x", "ANTQ_MODE": "fax"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "ANTQ_BOT_TOKEN:" in result.stderr and "ANTQ_MODE:" in result.stderr
    assert "Traceback" not in result.stderr


def test_units_import_from_the_command_line(tmp_path):
    good = tmp_path / "units.csv"
    good.write_text(
        "Mã đơn vị,Tên đơn vị,Loại hình,Địa bàn\nA1,Trường A,THPT,Xã A\n", encoding="utf-8"
    )
    env = {"ANTQ_DATABASE_PATH": str(tmp_path / "antq.db")}
    result = run_antq("units", "import", str(good), env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 đơn vị mới" in result.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("Mã đơn vị,Tên đơn vị,Loại hình,Địa bàn\nB1,,THPT,Xã A\n", encoding="utf-8")
    result = run_antq("units", "import", str(bad), env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "Dòng 2, cột Tên đơn vị" in result.stdout


def test_a_wrong_data_key_stops_the_bot_before_it_writes(tmp_path):
    from cryptography.fernet import Fernet

    base = {
        "ANTQ_BOT_TOKEN": "123456:abcdefGHIJ",
        "ANTQ_API_BASE_URL": "http://127.0.0.1:9",  # never reached: the key is checked first
        "ANTQ_DATABASE_PATH": str(tmp_path / "antq.db"),
    }
    first = run_antq("units", "import", "/nonexistent.csv", env=base, cwd=tmp_path)
    assert "Traceback" not in first.stderr
    created = run_antq(
        "run", env={**base, "ANTQ_DATA_KEY_FILE": str(tmp_path / "k" / "antq.key")}, cwd=tmp_path
    )
    assert "Đã tạo khóa mã hóa" in created.stderr
    assert created.returncode == 1 and "Không kết nối được máy chủ Bot API" in created.stderr
    assert "Traceback" not in created.stderr
    wrong = run_antq(
        "run", env={**base, "ANTQ_DATA_KEY": Fernet.generate_key().decode()}, cwd=tmp_path
    )
    assert wrong.returncode == 2
    assert "không khớp với cơ sở dữ liệu" in wrong.stderr and "Traceback" not in wrong.stderr
    malformed = run_antq("run", env={**base, "ANTQ_DATA_KEY": "short"}, cwd=tmp_path)
    assert malformed.returncode == 2 and "ANTQ_DATA_KEY không hợp lệ" in malformed.stderr


def test_a_damaged_database_file_is_one_clear_line_and_exit_2(tmp_path):
    damaged = tmp_path / "antq.db"
    damaged.write_bytes(b"this is not a database" * 200)
    env = {"ANTQ_DATABASE_PATH": str(damaged)}
    result = run_antq("units", "import", "units.csv", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "Không mở được cơ sở dữ liệu" in result.stderr and "Traceback" not in result.stderr


def test_run_with_neither_channel_still_serves_the_web(tmp_path):
    """No ANTQ_BOT_TOKEN, no ANTQ_ZALO_APP_ID: `antq run` serves the web pages until SIGTERM."""
    import signal
    import socket
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ANTQ_")}
    env = {**clean, "ANTQ_HTTP_LISTEN": f"127.0.0.1:{port}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        for _ in range(150):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/togiac", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("antq run did not serve the web pages")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0
    assert b"Traceback" not in stderr
