"""Security primitives: encryption at rest, receipts and passphrases, limits, clean images."""

from __future__ import annotations

import io
import os
import pickle
import re
import struct
import zipfile
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageCms, ImageSequence, TiffImagePlugin
from PIL.PngImagePlugin import PngInfo
from pydantic import SecretStr

from bot.kernel import crypto, media_privacy
from bot.kernel.crypto import (
    BadKeyError,
    Cipher,
    DataKeyError,
    KeyFileError,
    KeySource,
    WrongKeyError,
    check_key,
    load_key,
)
from bot.kernel.media_privacy import MAX_BYTES, CleanFile, Refused, strip_metadata
from bot.reports import receipts
from bot.reports.receipts import (
    CODE_ALPHABET,
    AnonymousKeyer,
    AttemptLimiter,
    hash_passphrase,
    load_words,
    new_code,
    new_passphrase,
    normalize_code,
    passphrase_entropy_bits,
    verify_passphrase,
)
from content import ContentError
from content.texts import TEXTS_DIR, Texts
from storage.db import Database
from storage.meta import MetaRepository

ROOT = Path(__file__).resolve().parent.parent
POSIX_ONLY = pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
SECRET_NAME = "Nguyen Van A"
MAKER = "SecretPhoneMaker"


@pytest.fixture(scope="module")
def texts() -> Texts:
    """The security texts: their own file until the lead merges them into vi.yaml."""
    own = TEXTS_DIR / "vi_security.yaml"
    return Texts.load("vi_security") if own.exists() else Texts.load("vi")


def assert_worded(error: DataKeyError, texts: Texts) -> str:
    assert error.text_key.startswith("security.key.")
    return texts.get(error.text_key, **error.params)


# ------------------------------------------------------------------------------ encryption


def test_cipher_round_trips():
    cipher = Cipher([Cipher.generate_key()])
    token = cipher.encrypt("Bạo lực học đường ở cổng trường")
    assert "Bạo" not in token and token != cipher.encrypt("Bạo lực học đường ở cổng trường")
    assert cipher.decrypt(token) == "Bạo lực học đường ở cổng trường"
    body = {"category": "ma_tuy", "text": "Có người bán thuốc lá điện tử", "files": [1, 2]}
    assert cipher.decrypt_json(cipher.encrypt_json(body)) == body
    assert cipher.encrypt_optional(None) is None and cipher.decrypt_optional(None) is None
    assert cipher.decrypt_optional(cipher.encrypt_optional("x")) == "x"
    assert repr(cipher) == "Cipher(1 key)"


def test_wrong_key_or_damaged_token_raises_wrong_key_error(texts):
    mine, other = Cipher([Cipher.generate_key()]), Cipher([Cipher.generate_key()])
    token = mine.encrypt("bí mật")
    with pytest.raises(WrongKeyError) as caught:
        other.decrypt(token)
    assert "bí mật" not in str(caught.value)
    assert_worded(caught.value, texts)
    for damaged in (token[:-4] + "AAAA", "not a token", "đ"):
        with pytest.raises(WrongKeyError):
            mine.decrypt(damaged)


def test_rotation_encrypts_with_the_first_key_and_still_reads_the_old_one():
    old, new = Cipher.generate_key(), Cipher.generate_key()
    old_token = Cipher([old]).encrypt("trước")
    both = Cipher([new, old])
    assert both.decrypt(old_token) == "trước"
    assert Cipher([new]).decrypt(both.encrypt("sau")) == "sau"
    assert Cipher([new]).decrypt(both.rotate(old_token)) == "trước"


@POSIX_ONLY
def test_key_file_is_created_owner_only_and_reused(tmp_path):
    key_file = tmp_path / "new-folder" / "antq.key"
    first, source = load_key(None, key_file)
    assert source is KeySource.CREATED
    assert key_file.stat().st_mode & 0o777 == 0o600
    token = first.encrypt("giữ nguyên")
    second, source = load_key(None, key_file)
    assert source is KeySource.FILE
    assert second.decrypt(token) == "giữ nguyên"
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_blank_setting_falls_back_to_the_key_file(tmp_path):
    _, source = load_key(SecretStr("  "), tmp_path / "antq.key")
    assert source is KeySource.CREATED


@POSIX_ONLY
@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644, 0o660])
def test_key_file_readable_by_others_is_refused(tmp_path, texts, mode):
    key_file = tmp_path / "antq.key"
    load_key(None, key_file)
    key_file.chmod(mode)
    with pytest.raises(KeyFileError) as caught:
        load_key(None, key_file)
    assert caught.value.text_key == "security.key.file_permissions"
    assert "chmod 600" in assert_worded(caught.value, texts)


def test_configured_key_wins_over_the_key_file(tmp_path):
    key = Cipher.generate_key()
    cipher, source = load_key(SecretStr(key), tmp_path / "antq.key")
    assert source is KeySource.CONFIGURED
    assert not (tmp_path / "antq.key").exists()
    assert Cipher([key]).decrypt(cipher.encrypt("a")) == "a"


@pytest.mark.parametrize(
    ("configured", "position"),
    [("not-a-fernet-key", 1), (",", 1), ("{good},short", 2), ("{good}\nx", 2), ("{good} x", 1)],
)
def test_malformed_configured_key_is_refused_without_showing_it(
    tmp_path, texts, configured, position
):
    text = configured.format(good=Cipher.generate_key())
    with pytest.raises(BadKeyError) as caught:
        load_key(SecretStr(text), tmp_path / "antq.key")
    assert caught.value.params["position"] == position
    assert "short" not in str(caught.value) and "not-a-fernet" not in str(caught.value)
    assert "ANTQ_DATA_KEY" in assert_worded(caught.value, texts)


@POSIX_ONLY
def test_malformed_key_file_is_refused(tmp_path, texts):
    key_file = tmp_path / "antq.key"
    key_file.write_text("this is not a key\n")
    key_file.chmod(0o600)
    with pytest.raises(BadKeyError) as caught:
        load_key(None, key_file)
    assert caught.value.text_key == "security.key.bad_file"
    assert str(key_file) in assert_worded(caught.value, texts)


async def test_check_key_accepts_the_same_key_and_refuses_another(tmp_path, texts):
    path = tmp_path / "antq.db"
    key = Cipher.generate_key()
    db = await Database.open(path)
    try:
        assert await MetaRepository(db).get(crypto.KEY_CHECK_NAME) is None
        await check_key(db, Cipher([key]))
        stored = await MetaRepository(db).get(crypto.KEY_CHECK_NAME)
        assert stored is not None and crypto.KEY_CHECK_TEXT not in stored
        await check_key(db, Cipher([key]))
    finally:
        await db.close()
    db = await Database.open(path)  # a restart
    try:
        await check_key(db, Cipher([key]))
        await check_key(db, Cipher([Cipher.generate_key(), key]))  # rotation keeps the old key
        with pytest.raises(WrongKeyError) as caught:
            await check_key(db, Cipher([Cipher.generate_key()]))
        assert "does not match this database" in str(caught.value)
        assert caught.value.text_key == "security.key.wrong"
        assert str(path) in assert_worded(caught.value, texts)
    finally:
        await db.close()


async def test_meta_repository_get_and_set(tmp_path):
    db = await Database.open(tmp_path / "antq.db")
    try:
        meta = MetaRepository(db)
        assert await meta.get("a") is None
        await meta.set("a", "1")
        await meta.set("a", "2")
        assert await meta.get("a") == "2"
        assert await meta.set_if_absent("a", "3") == "2"
        assert await meta.set_if_absent("b", "4") == "4"
    finally:
        await db.close()


# ------------------------------------------------------------------------------- receipts


def test_codes_have_the_format_and_alphabet_and_do_not_repeat():
    assert not set("ILOU") & set(CODE_ALPHABET) and len(set(CODE_ALPHABET)) == 32
    pattern = re.compile(rf"^[{CODE_ALPHABET}]{{4}}-[{CODE_ALPHABET}]{{4}}$")
    codes = [new_code() for _ in range(10_000)]
    assert all(pattern.match(code) for code in codes)
    assert len(set(codes)) == len(codes)
    assert set("".join(codes).replace("-", "")) == set(CODE_ALPHABET)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("K7QX-92MD", "K7QX-92MD"),
        ("k7qx-92md", "K7QX-92MD"),
        ("  k7qx 92md ", "K7QX-92MD"),
        ("K7QX92MD", "K7QX-92MD"),
        ("k7qx.92md", "K7QX-92MD"),
        ("K7QX – 92MD", "K7QX-92MD"),
        ("O0o0-IiLl", "0000-1111"),
        ("uuvv-1234", "VVVV-1234"),
        ("K7QX-92M", None),
        ("K7QX-92MDX", None),
        ("K7QX-92M!", None),
        ("K7QX-92MĐ", None),
        ("", None),
        ("K" * 500, None),
    ],
)
def test_typed_codes_are_normalised(typed, expected):
    assert normalize_code(typed) == expected


def test_a_new_code_survives_normalisation_of_how_people_type_it():
    code = new_code()
    assert normalize_code(code.lower().replace("-", " ")) == code


def test_passphrase_word_list_has_no_duplicates_and_enough_words():
    path = ROOT / "content" / "data" / "passphrase_words.txt"
    words = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(words) == len(set(words))
    assert all(re.fullmatch(r"[a-z]{1,8}", word) for word in words)
    assert len(words) >= 2 ** (40 / receipts.PASSPHRASE_WORDS)
    assert load_words(path) == tuple(words)
    assert passphrase_entropy_bits() >= 40


def test_a_bad_word_list_is_refused(tmp_path):
    for content, problem in [
        ("hoa\nsen\nhoa\n", "twice"),
        ("hoà\n", "a-z"),
        ("hoa\nsen\n", "bits"),
    ]:
        path = tmp_path / "words.txt"
        path.write_text(content, encoding="utf-8")
        with pytest.raises(ContentError, match=problem):
            load_words(path)


def test_passphrases_are_words_from_the_list():
    words = set(load_words())
    phrases = [new_passphrase() for _ in range(200)]
    assert len(set(phrases)) == len(phrases)
    for phrase in phrases:
        parts = phrase.split("-")
        assert len(parts) == receipts.PASSPHRASE_WORDS and set(parts) <= words


def test_passphrase_hash_verifies_typed_variants_and_refuses_a_wrong_one():
    phrase = "hoa-sen-trang-que-vui"
    stored = hash_passphrase(phrase)
    assert stored.startswith("scrypt$") and "hoa" not in stored
    assert stored != hash_passphrase(phrase)  # a new salt each time
    for typed in [
        phrase,
        "HOA-SEN-TRANG-QUE-VUI",
        "hoa sen trang que vui",
        "  Hoa  Sen Trang-Que Vui ",
        "hoasentrangquevui",
        "hoà sen trắng quê vui",
    ]:
        assert verify_passphrase(typed, stored), typed
    for wrong in ["hoa-sen-trang-que-vun", "hoa-sen-trang-que", "", "---"]:
        assert not verify_passphrase(wrong, stored), wrong


def test_a_malformed_passphrase_hash_is_an_error():
    with pytest.raises(ValueError):
        verify_passphrase("hoa", "plain-text")
    with pytest.raises(ValueError):
        verify_passphrase("hoa", "scrypt$1048577$8$1$AAAA$AAAA")
    with pytest.raises(ValueError):
        hash_passphrase(" - ")


# -------------------------------------------------------------------------------- limiter


class Moment:
    def __init__(self) -> None:
        self.value = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.value

    def advance(self, **kwargs: float) -> None:
        self.value += timedelta(**kwargs)


def test_limiter_blocks_after_the_limit_and_frees_as_the_window_slides():
    now = Moment()
    limiter = AttemptLimiter(3, timedelta(minutes=10), now)
    assert limiter.allowed("chat") and limiter.retry_after("chat") == timedelta(0)
    limiter.record_failure("chat")
    now.advance(minutes=4)
    limiter.record_failure("chat")
    limiter.record_failure("chat")
    assert not limiter.allowed("chat")
    assert limiter.allowed("other")
    assert limiter.retry_after("chat") == timedelta(minutes=6)
    now.advance(minutes=6)  # the first failure leaves the window
    assert limiter.allowed("chat")
    limiter.record_failure("chat")
    assert not limiter.allowed("chat")
    assert limiter.retry_after("chat") == timedelta(minutes=4)
    limiter.reset("chat")
    assert limiter.allowed("chat")


def test_limiter_memory_is_bounded():
    now = Moment()
    limiter = AttemptLimiter(2, timedelta(minutes=5), now, max_keys=100)
    for chat in range(1000):
        limiter.record_failure(chat)
    assert len(limiter) == 100
    assert limiter.allowed(0) and limiter.allowed(999)
    limiter.record_failure(999)
    assert not limiter.allowed(999)
    now.advance(minutes=6)
    limiter.record_failure("late")
    assert len(limiter) == 1  # expired keys are dropped


def test_anonymous_keyer_is_stable_per_process_and_identifies_no_one():
    keyer, other = AnonymousKeyer(), AnonymousKeyer()
    assert keyer.key(123456789) == keyer.key(123456789)
    assert keyer.key(123456789) != keyer.key(123456780)
    assert keyer.key(123456789) != other.key(123456789)
    assert "123456789" not in keyer.key(123456789)
    assert re.fullmatch(r"[0-9a-f]{64}", keyer.key(-1001))
    assert repr(keyer) == "AnonymousKeyer()" and not hasattr(keyer, "__dict__")
    with pytest.raises(TypeError):
        pickle.dumps(keyer)


# ------------------------------------------------------------------------- image metadata


def tagged_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = MAKER
    exif[ExifTags.Base.Model] = "Model X9"
    exif[ExifTags.Base.Artist] = SECRET_NAME
    if orientation:
        exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (10.0, 57.0, 30.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (106.0, 50.0, 15.0),
    }
    return exif


XMP = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>{SECRET_NAME}</dc:creator></x:xmpmeta>'
ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def two_colours(size: tuple[int, int] = (40, 20), mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: orientation shows in where the colours end up."""
    image = Image.new(mode, size, "red")
    image.paste("blue", (size[0] // 2, 0, size[0], size[1]))
    return image


def gradient(size: tuple[int, int] = (64, 48)) -> Image.Image:
    width, height = size
    pixels = bytes(
        channel
        for y in range(height)
        for x in range(width)
        for channel in (x * 4 % 256, y * 5 % 256, (x + y) % 256, 200)
    )
    return Image.frombytes("RGBA", size, pixels)


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    output = io.BytesIO()
    image.save(output, fmt, **options)
    return output.getvalue()


def assert_no_metadata(clean: CleanFile) -> Image.Image:
    for secret in (SECRET_NAME.encode(), MAKER.encode(), b"Model X9", b"xmpmeta"):
        assert secret not in clean.data
    result = Image.open(io.BytesIO(clean.data))
    exif = result.getexif()
    assert len(exif) == 0
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert ExifTags.Base.Artist not in exif
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "Author"):
        assert key not in result.info, key
    return result


def test_jpeg_loses_exif_gps_xmp_icc_and_comment_and_is_turned_upright():
    source = encode(
        two_colours(),
        "JPEG",
        exif=tagged_exif(orientation=6),
        xmp=XMP.encode(),
        icc_profile=ICC,
        comment=SECRET_NAME,
        quality=95,
    )
    before = Image.open(io.BytesIO(source))
    assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test image does carry them
    assert before.getexif()[ExifTags.Base.Artist] == SECRET_NAME
    assert {"xmp", "icc_profile", "comment"} <= set(before.info)

    clean = strip_metadata(source, "IMG_20261126_Nguyen_Van_A.jpg", "image/jpeg")

    assert isinstance(clean, CleanFile)
    assert (clean.file_name, clean.mime_type) == ("anh-1.jpg", "image/jpeg")
    result = assert_no_metadata(clean)
    assert result.format == "JPEG" and result.size == (20, 40)  # rotated as orientation 6 says
    red, blue = result.convert("RGB").getpixel((10, 8)), result.convert("RGB").getpixel((10, 32))
    assert red[0] > 200 and red[2] < 60 and blue[2] > 200 and blue[0] < 60


def test_png_loses_text_chunks_and_exif_and_keeps_every_pixel():
    info = PngInfo()
    info.add_text("Author", SECRET_NAME)
    info.add_text("Comment", f"{MAKER} at 10.95N", zip=True)
    info.add_itxt("Description", f"Ảnh của {SECRET_NAME}", lang="vi")
    original = gradient()
    source = encode(original, "PNG", pnginfo=info, exif=tagged_exif(), icc_profile=ICC)
    before = Image.open(io.BytesIO(source))
    assert before.text and before.getexif().get_ifd(ExifTags.IFD.GPSInfo)

    clean = strip_metadata(source, "screenshot.png", "image/png", number=3)

    assert isinstance(clean, CleanFile) and clean.file_name == "anh-3.png"
    result = assert_no_metadata(clean)
    assert result.text == {}
    for chunk in (b"tEXt", b"zTXt", b"iTXt", b"eXIf", b"iCCP"):
        assert chunk not in clean.data
    assert (result.format, result.size, result.mode) == ("PNG", original.size, original.mode)
    assert result.tobytes() == original.tobytes()


def test_webp_loses_exif_xmp_and_icc():
    source = encode(two_colours(), "WEBP", exif=tagged_exif(), xmp=XMP.encode(), icc_profile=ICC)
    assert Image.open(io.BytesIO(source)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    clean = strip_metadata(source, None, None)
    assert isinstance(clean, CleanFile) and clean.mime_type == "image/webp"
    result = assert_no_metadata(clean)
    assert result.size == (40, 20)
    for chunk in (b"EXIF", b"XMP ", b"ICCP"):
        assert chunk not in clean.data


def test_animated_gif_keeps_its_frames_and_loses_its_comment():
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "green", "blue")]
    source = encode(
        frames[0],
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=120,
        loop=0,
        comment=SECRET_NAME,
    )
    assert Image.open(io.BytesIO(source)).info["comment"] == SECRET_NAME.encode()
    clean = strip_metadata(source, "x.gif", "image/gif")
    assert isinstance(clean, CleanFile)
    result = assert_no_metadata(clean)
    colours = [frame.convert("RGB").getpixel((8, 8)) for frame in ImageSequence.Iterator(result)]
    assert colours == [(255, 0, 0), (0, 128, 0), (0, 0, 255)]
    assert result.info.get("duration") == 120


@pytest.mark.parametrize("fmt", ["TIFF", "BMP"])
def test_tiff_and_bmp_become_plain_png_with_the_same_pixels(fmt):
    original = two_colours()
    options: dict[str, object] = {}
    if fmt == "TIFF":
        tags = TiffImagePlugin.ImageFileDirectory_v2()
        tags[ExifTags.Base.Artist] = SECRET_NAME
        tags[ExifTags.Base.Make] = MAKER
        options = {"tiffinfo": tags}
    source = encode(original, fmt, **options)
    if fmt == "TIFF":
        assert Image.open(io.BytesIO(source)).tag_v2[ExifTags.Base.Artist] == SECRET_NAME
    clean = strip_metadata(source, f"scan.{fmt.lower()}", None)
    assert isinstance(clean, CleanFile) and clean.file_name == "anh-1.png"
    result = assert_no_metadata(clean)
    assert result.format == "PNG" and result.convert("RGB").tobytes() == original.tobytes()


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares a size without carrying the pixels (a decompression bomb's start)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", 0)
        + b"IEND"
        + struct.pack(">I", zlib.crc32(b"IEND"))
    )


def office_document() -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w") as archive:
        archive.writestr("docProps/core.xml", f"<dc:creator>{SECRET_NAME}</dc:creator>")
    return output.getvalue()


def multipage_tiff() -> bytes:
    pages = [Image.new("L", (8, 8), shade) for shade in (0, 255)]
    return encode(pages[0], "TIFF", save_all=True, append_images=pages[1:])


@pytest.mark.parametrize(
    ("data", "file_name", "mime_type", "reason"),
    [
        (
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
            "bao-cao.pdf",
            "application/pdf",
            media_privacy.REFUSED_KIND,
        ),
        (
            office_document(),
            "to-giac.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            media_privacy.REFUSED_KIND,
        ),
        (
            b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
            "IMG_0001.HEIC",
            "image/heic",
            media_privacy.REFUSED_KIND,
        ),
        (
            b"\x00\x00\x00\x20ftypisom" + b"\x00" * 64,
            "video.mp4",
            "video/mp4",
            media_privacy.REFUSED_KIND,
        ),
        (b"ID3\x03\x00" + b"\x00" * 64, "ghi-am.mp3", "audio/mpeg", media_privacy.REFUSED_KIND),
        (multipage_tiff(), "scan.tif", "image/tiff", media_privacy.REFUSED_KIND),
        (b"definitely not a picture", "photo.jpg", None, media_privacy.REFUSED_UNREADABLE),
        (b"garbage", None, "image/png", media_privacy.REFUSED_UNREADABLE),
        (
            encode(two_colours(), "JPEG")[:300],
            "cut.jpg",
            "image/jpeg",
            media_privacy.REFUSED_UNREADABLE,
        ),
        (
            b"\xff\xd8\xff" + b"\x00" * MAX_BYTES,
            "big.jpg",
            "image/jpeg",
            media_privacy.REFUSED_SIZE,
        ),
        (png_header(10_000, 10_000), "wide.png", "image/png", media_privacy.REFUSED_SIZE),
        (png_header(20_000, 20_000), "bomb.png", "image/png", media_privacy.REFUSED_SIZE),
    ],
    ids=[
        "pdf",
        "docx",
        "heic",
        "mp4",
        "mp3",
        "tiff-pages",
        "fake-jpg",
        "fake-png",
        "truncated",
        "over-20mb",
        "too-many-pixels",
        "bomb",
    ],
)
def test_other_files_are_refused_with_a_worded_reason(texts, data, file_name, mime_type, reason):
    result = strip_metadata(data, file_name, mime_type)
    assert result == Refused(reason)
    assert texts.has(result.reason_key)
    assert texts.get(result.reason_key)


def test_a_pdf_is_refused_because_it_may_carry_hidden_personal_information(texts):
    result = strip_metadata(b"%PDF-1.4\n", "to-giac.pdf", "application/pdf")
    assert result == Refused("security.media.not_accepted")
    wording = texts.get(result.reason_key)
    assert "PDF" in wording and "ảnh" in wording


def test_every_security_text_key_in_the_code_exists(texts):
    literal = re.compile(r"""["'](security\.[a-z_]+\.[a-z_]+)["']""")
    used = set()
    for module in (crypto, media_privacy, receipts):
        used |= set(literal.findall(Path(module.__file__).read_text(encoding="utf-8")))
    assert {"security.media.not_accepted", "security.key.wrong"} <= used
    assert sorted(key for key in used if not texts.has(key)) == []


def test_pseudonym_is_stable_per_key_and_reveals_nothing() -> None:
    first, second = Cipher([Cipher.generate_key()]), Cipher([Cipher.generate_key()])
    name = "telegram:7700771234"
    assert first.pseudonym(name) == first.pseudonym(name)
    assert first.pseudonym(name) != first.pseudonym("telegram:7700771235")
    assert first.pseudonym(name) != second.pseudonym(name)
    assert "7700771234" not in first.pseudonym(name)
