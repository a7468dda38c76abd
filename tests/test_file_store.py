"""The encrypted file store: round trip, permissions, limits, clean images, rotation, deletion."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from bot.kernel.crypto import Cipher
from bot.kernel.files import (
    CHUNK,
    MB,
    REPORT_TOO_LARGE,
    TOO_LARGE,
    DamagedFileError,
    FileStore,
    Refusal,
    StoredFile,
    is_store_id,
)
from storage.db import Database

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
MAKE = "PhoneMakerZ17"
MODEL = "SecretModel-X9"
ARTIST = "Tran Phung"


def jpeg_with_gps(size: tuple[int, int] = (40, 30)) -> bytes:
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = MAKE
    exif[ExifTags.Base.Model] = MODEL
    exif[ExifTags.Base.Artist] = ARTIST
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (10.0, 57.0, 30.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (106.0, 50.0, 15.0),
    }
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def assert_clean_image(data: bytes) -> Image.Image:
    for secret in (MAKE.encode(), MODEL.encode(), ARTIST.encode(), b"GPS"):
        assert secret not in data
    image = Image.open(io.BytesIO(data))
    exif = image.getexif()
    assert len(exif) == 0
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
    for key in ("exif", "xmp", "icc_profile", "comment"):
        assert key not in image.info
    return image


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "antq.db")
    yield database
    await database.close()


def make_store(db: Database, tmp_path: Path, cipher: Cipher | None = None, **limits: int):
    cipher = cipher or Cipher([Cipher.generate_key()])
    return FileStore(db, cipher, tmp_path / "files", lambda: NOW, **limits)


def blobs(store: FileStore) -> list[Path]:
    return [p for p in store.folder.rglob("*") if p.is_file()]


async def test_round_trip_is_encrypted_on_disk_and_owner_only(db: Database, tmp_path: Path):
    store = make_store(db, tmp_path)
    secret = b"Bien ban so 17/2026 - nguoi lam chung: Nguyen Van A. " * 5000  # several chunks
    stored = await store.put(
        secret, kind="document", file_name="bien-ban.txt", mime_type="text/plain"
    )
    assert isinstance(stored, StoredFile) and is_store_id(stored.id)
    assert stored.size == len(secret) and len(secret) > 3 * CHUNK
    assert await store.read(stored.id) == secret
    pieces = [piece async for piece in store.chunks(stored.id)]
    assert len(pieces) > 3 and max(len(p) for p in pieces) <= CHUNK
    (blob,) = blobs(store)
    assert stat.S_IMODE(blob.stat().st_mode) == 0o600
    raw = blob.read_bytes()
    assert b"Nguyen Van A" not in raw and b"bien-ban" not in raw
    info = await store.info(stored.id)
    assert info == StoredFile(stored.id, "document", "text/plain", "bien-ban.txt", len(secret))
    row = await db.fetch_one("SELECT name, sha256 FROM files WHERE id = ?", [stored.id])
    assert row is not None and "bien-ban" not in row[0]
    assert not list((store.folder / "tmp").iterdir())  # the temporary file was renamed


async def test_a_stream_is_stored_without_holding_it(db: Database, tmp_path: Path):
    store = make_store(db, tmp_path)

    async def stream() -> AsyncIterator[bytes]:
        for index in range(10):
            yield bytes([index]) * 50_000

    stored = await store.put(stream(), kind="video", mime_type="video/mp4")
    assert isinstance(stored, StoredFile) and stored.size == 500_000
    data = await store.read(stored.id)
    assert data[:50_000] == b"\x00" * 50_000 and data[-1:] == b"\x09"


async def test_size_limits_are_refused_with_a_reason(db: Database, tmp_path: Path, bundle):
    store = make_store(db, tmp_path, max_file_bytes=1 * MB, max_report_bytes=3 * MB)
    refused = await store.put(b"x" * (MB + 1), kind="document")
    assert refused == Refusal(TOO_LARGE, {"mb": 1})
    assert "1 MB" in bundle.texts.get(refused.reason_key, **refused.params)
    over_report = await store.put(b"x" * 600_000, kind="document", room=500_000)
    assert over_report == Refusal(REPORT_TOO_LARGE, {"mb": 3})
    assert "3 MB" in bundle.texts.get(over_report.reason_key, **over_report.params)
    big_image = await store.take(b"\xff\xd8\xff" + b"\x00" * MB, kind="photo")
    assert isinstance(big_image, Refusal) and big_image.reason_key == TOO_LARGE
    assert blobs(store) == []  # nothing is left behind
    assert tuple(await db.fetch_one("SELECT COUNT(*) FROM files")) == (0,)


@pytest.mark.parametrize("kind", ["photo", "document"])
async def test_images_come_out_of_the_store_without_metadata(
    db: Database, tmp_path: Path, kind: str
):
    store = make_store(db, tmp_path)
    source = jpeg_with_gps()
    before = Image.open(io.BytesIO(source)).getexif()
    assert before.get_ifd(ExifTags.IFD.GPSInfo) and before[ExifTags.Base.Make] == MAKE
    stored = await store.take(source, kind=kind, file_name="IMG_Nguyen.jpg", mime_type="image/jpeg")
    assert isinstance(stored, StoredFile)
    assert (stored.file_name, stored.mime_type) == ("anh-1.jpg", "image/jpeg")
    image = assert_clean_image(await store.read(stored.id))
    assert image.size == (30, 40)  # turned upright as the orientation said


async def test_a_photo_that_is_no_image_is_refused(db: Database, tmp_path: Path):
    store = make_store(db, tmp_path)
    refused = await store.take(b"%PDF-1.4 author=Tran Phung", kind="photo")
    assert isinstance(refused, Refusal)
    fake = await store.take(b"not a jpeg at all", kind="document", file_name="x.jpg")
    assert fake == Refusal("security.media.unreadable")
    assert blobs(store) == []


async def test_images_we_cannot_clean_are_never_stored_as_they_are(db: Database, tmp_path: Path):
    store = make_store(db, tmp_path)
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    for name, mime in (("IMG_0001.HEIC", "image/heic"), ("IMG_0001.bin", None), ("x", "image/x")):
        refused = await store.take(heic, kind="document", file_name=name, mime_type=mime)
        assert refused == Refusal("security.media.unreadable")
    assert blobs(store) == []


async def test_other_documents_are_stored_or_refused_for_tips(db: Database, tmp_path: Path):
    store = make_store(db, tmp_path)
    pdf = b"%PDF-1.4 hop dong"
    refused = await store.take(pdf, kind="document", file_name="a.pdf", images_only=True)
    assert refused == Refusal("security.media.not_accepted")
    stored = await store.take(pdf, kind="document", file_name="a.pdf", mime_type="application/pdf")
    assert isinstance(stored, StoredFile) and await store.read(stored.id) == pdf


async def test_key_rotation_still_decrypts(db: Database, tmp_path: Path):
    old, new = Cipher.generate_key(), Cipher.generate_key()
    stored = await make_store(db, tmp_path, Cipher([old])).put(b"evidence", kind="document")
    assert isinstance(stored, StoredFile)
    both = make_store(db, tmp_path, Cipher([new, old]))
    assert await both.read(stored.id) == b"evidence"
    assert await both.rewrap_keys() == 1
    assert await make_store(db, tmp_path, Cipher([new])).read(stored.id) == b"evidence"
    with pytest.raises(Exception):  # noqa: B017 - the old key alone no longer unwraps it
        await make_store(db, tmp_path, Cipher([old])).read(stored.id)


async def test_a_damaged_blob_is_detected(db: Database, tmp_path: Path):
    store = make_store(db, tmp_path)
    stored = await store.put(b"a" * 100_000, kind="document")
    assert isinstance(stored, StoredFile)
    blob = store.path(stored.id)
    data = bytearray(blob.read_bytes())
    blob.write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(DamagedFileError):
        await store.read(stored.id)
    data[-5] ^= 1
    blob.write_bytes(bytes(data))
    with pytest.raises(DamagedFileError):
        await store.read(stored.id)


async def test_delete_removes_the_blob_and_its_rows(db: Database, tmp_path: Path):
    store = make_store(db, tmp_path)
    stored = await store.put(b"to be erased", kind="document")
    assert isinstance(stored, StoredFile)
    await store.remember_channel_id(stored.id, "telegram", "AgACAgIAAxk-cached")
    assert await store.channel_id(stored.id, "telegram") == "AgACAgIAAxk-cached"
    assert await store.delete(stored.id) is True
    assert blobs(store) == [] and await store.info(stored.id) is None
    assert tuple(await db.fetch_one("SELECT COUNT(*) FROM file_channel_ids")) == (0,)
    assert await store.delete(stored.id) is False
    assert await store.delete("../../etc/passwd") is False


async def test_channel_ids_are_a_cache_that_may_expire(db: Database, tmp_path: Path):
    store = make_store(db, tmp_path)
    stored = await store.put(b"photo", kind="document")
    assert isinstance(stored, StoredFile)
    await store.remember_channel_id(stored.id, "zalo", "zalo-attachment-1")
    assert await store.channel_id(stored.id, "zalo", max_age=timedelta(days=7)) is not None
    later = FileStore(db, store.cipher, store.folder, lambda: NOW + timedelta(days=8))
    assert await later.channel_id(stored.id, "zalo", max_age=timedelta(days=7)) is None
    assert await later.channel_id(stored.id, "telegram") is None


def test_store_ids_are_unguessable_and_told_apart_from_telegram_ids():
    assert not is_store_id("AgACAgIAAxkBAAIBZ2bQ8f3k9x0AAbXyW1Ws5PqVbQACAt0xG")
    assert not is_store_id("../" + "a" * 29)
    assert is_store_id("0123456789abcdef0123456789abcdef")


def test_files_folder_defaults_beside_the_database(tmp_path: Path):
    from bot.kernel.config import Settings

    settings = Settings(_env_file=None, database_path=tmp_path / "data" / "antq.db")
    assert settings.files_folder == tmp_path / "data" / "files"
    assert settings.file_max_mb == 20 and settings.report_files_max_mb == 50
    custom = Settings(_env_file=None, files_dir=tmp_path / "elsewhere")
    assert custom.files_folder == tmp_path / "elsewhere"
    assert os.sep in str(custom.files_folder)


def test_pillow_never_logs_below_warning():
    import logging

    from bot.kernel.startup import quiet_libraries

    root = logging.getLogger()
    previous = root.level
    root.setLevel(logging.DEBUG)
    try:
        quiet_libraries()
        assert logging.getLogger("PIL").getEffectiveLevel() == logging.WARNING
        assert not logging.getLogger("PIL.TiffImagePlugin").isEnabledFor(logging.DEBUG)
    finally:
        root.setLevel(previous)
        quiet_libraries()


# ------------------------------------------------------------------ before the file store


def test_attachments_saved_before_the_store_still_load():
    from bot.dialogs.engine import Attachment, DialogState, stored_ref
    from bot.office.review import file_message

    old = {"kind": "photo", "file_id": "AgACAgIAAxkBAAIB-old", "size": 10}
    assert Attachment.model_validate(old).stored_id == "AgACAgIAAxkBAAIB-old"
    assert stored_ref(old) == "AgACAgIAAxkBAAIB-old"
    state = DialogState.model_validate({"dialog": "tip", "step": "evidence", "answers": {}})
    assert state.dialog == "tip"
    legacy = file_message("photo", "AgACAgIAAxkBAAIB-old", "Tệp 1/1")
    assert legacy.photo is not None and legacy.photo.file_id == "AgACAgIAAxkBAAIB-old"
    new = file_message("document", "0123456789abcdef0123456789abcdef", "Tệp 1/1")
    assert new.document is not None and new.document.stored_id == "0123456789abcdef0123456789abcdef"
    assert new.document.file_id is None
    again = type(new).from_payload(new.to_payload())
    assert again.document is not None and again.document.stored_id == new.document.stored_id


async def test_telegram_file_ids_kept_before_the_store_are_adopted(harness):
    from handlers.telegram.files import TelegramFiles
    from sandbox.telegram.media import new_media
    from tests.conftest import OFFICE_CHAT_ID

    services = harness.services
    _, photo_id = new_media(harness.sandbox.state, "photo", jpeg_with_gps())
    _, document_id = new_media(
        harness.sandbox.state, "document", b"%PDF-1.4 bien ban", "bien-ban.pdf", "application/pdf"
    )
    async with services.db.transaction() as tx:
        report_id = await services.reports.reports.insert(
            tx, code="OLD1-FILE", anonymous=True, channel=None, chat_id=None, category="co_bac",
            unit_code=None, body=services.cipher.encrypt_json({"what": "x"}),
            passphrase_hash="h", now=NOW,
        )  # fmt: skip
        for kind, ref in (("photo", photo_id), ("document", document_id), ("photo", "gone")):
            await tx.execute(
                "INSERT INTO report_files (report_id, kind, ref, added_by, added_at) "
                "VALUES (?, ?, ?, 'sender', '2026-11-01T00:00:00+00:00')",
                [report_id, kind, services.cipher.encrypt(ref)],
            )
    announcement_id = await services.announcements.repo.create(
        created_by="1", chat_id=str(OFFICE_CHAT_ID), text="Lịch trực", photo_ref=photo_id, now=NOW
    )
    files = TelegramFiles(harness.app.bot, services.files)
    assert await files.adopt_legacy_files(services.cipher) == 3  # "gone": Telegram has no such
    rows = await services.db.fetch_all("SELECT kind, ref FROM report_files ORDER BY id")
    refs = [services.cipher.decrypt(ref) for _, ref in rows]
    assert is_store_id(refs[0]) and is_store_id(refs[1]) and refs[2] == "gone"
    assert_clean_image(await services.files.read(refs[0]))
    assert await services.files.read(refs[1]) == b"%PDF-1.4 bien ban"
    announcement = await services.announcements.repo.get(announcement_id)
    assert announcement is not None and is_store_id(announcement.photo_ref)
    assert await files.adopt_legacy_files(services.cipher) == 0  # nothing twice


# ------------------------------------------------------------- a dialog receiving files


async def test_a_dialog_stores_uploads_within_its_limits(tmp_path: Path, bundle):
    from bot.chat.ref import ChatRef
    from bot.dialogs.engine import Incoming, Upload
    from bot.kernel.files import FetchError
    from tests.world import open_world

    fetched: list[str] = []
    payloads = {"jpeg": jpeg_with_gps(), "pdf": b"%PDF-1.4 author"}

    async def fetch(upload: Upload) -> AsyncIterator[bytes]:
        fetched.append(upload.channel_file_id)
        if upload.channel_file_id == "broken":
            raise FetchError("network")
        yield payloads[upload.channel_file_id]

    async for world in open_world(tmp_path, bundle):
        conversations = world.services.conversations
        chat = ChatRef("fake", "4000000000000000001")
        conversations.fetchers["fake"] = fetch
        await conversations.begin(chat, "tip")
        state = await conversations.current(chat)
        assert state is not None
        state = state.model_copy(update={"step": "evidence"})
        async with world.services.db.transaction() as tx:
            await conversations.states.put(
                tx, conversations._owner(chat), "tip",
                conversations.seal(state.model_dump_json()), world.clock.now(),
            )  # fmt: skip

        def upload(ref: str, kind: str = "photo", size: int | None = None) -> Incoming:
            file = Upload(kind=kind, channel_file_id=ref, size=size)
            return Incoming(kind="attachment", upload=file)

        answer = await conversations.handle(chat, upload("jpeg"))
        assert answer is not None and "Đã xóa thông tin ẩn" in answer.replies[0].text
        state = await conversations.current(chat)
        (first,) = state.answers["evidence"]
        assert_clean_image(await world.services.files.read(first["stored_id"]))

        too_big = await conversations.handle(chat, upload("jpeg", size=21 * MB))
        assert too_big is not None and "20 MB" in too_big.replies[0].text
        assert fetched == ["jpeg"]  # refused from what Telegram said, without downloading
        pdf = await conversations.handle(chat, upload("pdf", "document"))
        assert pdf is not None and "không nhận loại tệp này" in pdf.replies[0].text
        broken = await conversations.handle(chat, upload("broken"))
        assert broken is not None and "chưa tải được" in broken.replies[0].text
        world.services.files.max_report_bytes = first["size"] + 10
        full = await conversations.handle(chat, upload("jpeg"))
        assert full is not None and "không được quá" in full.replies[0].text
        state = await conversations.current(chat)
        assert len(state.answers["evidence"]) == 1
        files = await world.services.db.fetch_one("SELECT COUNT(*) FROM files")
        assert tuple(files) == (1,)  # nothing refused was kept


async def test_a_follow_up_counts_the_files_its_report_already_has(tmp_path: Path, bundle):
    from bot.reports.receipts import new_code
    from storage.reports import ReportFile
    from tests.world import open_world

    async for world in open_world(tmp_path, bundle):
        services = world.services
        assert services.conversations.stored_before == services.reports.stored_bytes
        stored = await services.files.put(b"x" * 30_000, kind="document")
        assert isinstance(stored, StoredFile)
        async with services.db.transaction() as tx:
            report_id = await services.reports.reports.insert(
                tx, code=new_code(), anonymous=True, channel=None, chat_id=None,
                category="co_bac", unit_code=None, body=services.cipher.encrypt_json({}),
                passphrase_hash="h", now=NOW,
            )  # fmt: skip
            refs = [stored.id, "AgACAgIAAxkBAAIB-legacy"]
            await services.reports.reports.add_files(
                tx,
                report_id,
                [ReportFile("document", services.cipher.encrypt(ref)) for ref in refs],
                added_by="sender",
                now=NOW,
            )
        context = {"report_id": str(report_id)}
        assert await services.reports.stored_bytes(context) == 30_000
        assert await services.reports.stored_bytes({}) == 0


async def test_take_reads_a_stream_in_pieces_for_images_and_documents(db: Database, tmp_path: Path):
    store = make_store(db, tmp_path)

    async def pieces(data: bytes, size: int) -> AsyncIterator[bytes]:
        for start in range(0, len(data), size):
            yield data[start : start + size]

    document = bytes(range(256)) * 1000  # 256 KB, not an image
    stored = await store.take(pieces(document, 5), kind="document", file_name="log.bin")
    assert isinstance(stored, StoredFile) and not stored.cleaned
    assert await store.read(stored.id) == document
    photo = await store.take(pieces(jpeg_with_gps((300, 200)), 7), kind="photo")
    assert isinstance(photo, StoredFile) and photo.cleaned
    assert_clean_image(await store.read(photo.id))


async def test_half_written_files_of_a_crash_are_removed_later(db: Database, tmp_path: Path):
    store = make_store(db, tmp_path)
    temp = store.folder / "tmp"
    temp.mkdir(parents=True)
    old, fresh = temp / "a.part", temp / "b.part"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(old, (1_000_000, 1_000_000))
    assert await store.remove_stale_temp() == 1
    assert not old.exists() and fresh.exists()  # one being written now is left alone
