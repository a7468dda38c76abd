"""The outbox's Telegram transport: OutgoingMessage -> Bot API call, Telegram errors -> outcomes."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from telegram import Bot, InlineKeyboardMarkup, InputFile, Message
from telegram.constants import MessageLimit, ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.chat.reply import Button
from bot.kernel.config import Settings
from bot.kernel.files import DamagedFileError, FileStore
from bot.kernel.outbox import (
    Blocked,
    FileRef,
    OutgoingButton,
    OutgoingMessage,
    PermanentFailure,
    RetryLater,
    TemporaryFailure,
)
from handlers.telegram.aiohttp_request import AiohttpRequest
from handlers.telegram.files import TelegramFiles
from handlers.telegram.render import fit, keyboard_of

# A 400 that means the recipient is gone for good, like a 403.
_GONE = ("chat not found", "user is deactivated", "bot was blocked", "peer_id_invalid")
# a cached file id Telegram no longer accepts (e.g. after a new bot token): upload again
_STALE_FILE_ID = ("wrong file identifier", "file reference", "wrong remote file")


def make_outbox_bot(settings: Settings, *, connection_pool_size: int = 32) -> Bot:
    """A second `telegram.Bot` (same token and server) for the outbox sender alone.

    The Application's bot goes through PTB's AIORateLimiter, which paces every call and retries
    429s on its own. The outbox sender already paces its traffic with its own token buckets and
    turns a 429 into a rescheduled row plus a bot-wide pause; behind the rate limiter the two
    would each pace (halving throughput) and both retry (a 429 retried twice, and invisible to
    the sender's bookkeeping). Its own connection pool, sized for the sender's concurrency, also
    means a broadcast never starves the interactive bot of connections. The pool is aiohttp's,
    not httpx's: see `AiohttpRequest`.
    """
    if settings.bot_token is None:
        raise ValueError("the outbox needs a bot token")
    return Bot(
        settings.bot_token.get_secret_value(),
        base_url=f"{settings.api_base_url}/bot",
        base_file_url=f"{settings.api_base_url}/file/bot",
        request=AiohttpRequest(connection_pool_size),
    )


def _markup(buttons: list[OutgoingButton]) -> InlineKeyboardMarkup | None:
    return keyboard_of([Button(b.label, b.data, b.row, b.url) for b in buttons])


async def _local_file(ref: FileRef) -> str | InputFile:
    if ref.file_id is not None:
        return ref.file_id  # a Telegram file id from before the file store
    path = Path(ref.path or "")
    content = await asyncio.to_thread(path.read_bytes)
    return InputFile(content, filename=ref.file_name or path.name)


def _seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that retry_after will become a timedelta
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class TelegramTransport:
    """Delivers outbox messages with a plain `telegram.Bot` (see `make_outbox_bot`).

    A stored file is uploaded from the store the first time; Telegram's file id for it is
    cached and used from then on (`handlers/telegram/files.py`).
    """

    def __init__(self, bot: Bot, store: FileStore | None = None) -> None:
        self.bot = bot
        self.files = TelegramFiles(bot, store) if store is not None else None

    async def start(self) -> None:
        await self.bot.initialize()

    async def stop(self) -> None:
        await self.bot.shutdown()

    async def deliver(self, chat_id: str, message: OutgoingMessage) -> str:
        try:
            return await self._call(chat_id, message)
        except RetryAfter as exc:
            raise RetryLater(_seconds(exc), "RetryAfter") from None
        except Forbidden:
            raise Blocked("Forbidden") from None
        except BadRequest as exc:
            reason = exc.message.lower()
            if any(gone in reason for gone in _GONE):
                raise Blocked("BadRequest") from None
            raise PermanentFailure("BadRequest") from None
        except ChatMigrated:
            raise PermanentFailure("ChatMigrated") from None
        except NetworkError as exc:  # TimedOut included; BadRequest is caught above
            raise TemporaryFailure(type(exc).__name__) from None
        except TelegramError as exc:
            raise TemporaryFailure(type(exc).__name__) from None
        except (OSError, DamagedFileError) as exc:  # a file to upload is missing or damaged
            raise PermanentFailure(type(exc).__name__) from None

    async def _call(self, chat_id: str, message: OutgoingMessage) -> str:
        markup = _markup(message.buttons)
        caption = message.caption if message.caption is not None else (message.text or None)
        senders = (
            (message.photo, self.bot.send_photo),
            (message.video, self.bot.send_video),
            (message.document, self.bot.send_document),
        )
        file, send_file = next(((f, s) for f, s in senders if f is not None), (None, None))
        if file is not None and send_file is not None:

            async def send_with(media: str | InputFile) -> Message:
                return await send_file(
                    chat_id,
                    media,
                    caption=fit(caption, MessageLimit.CAPTION_LENGTH) if caption else None,
                    parse_mode=ParseMode.HTML,
                    reply_markup=markup,
                    disable_notification=message.disable_notification,
                )

            if file.stored_id is not None:
                sent = await self._send_stored(file.stored_id, send_with)
            else:
                sent = await send_with(await _local_file(file))
        else:
            sent = await self.bot.send_message(
                chat_id,
                fit(message.text or ""),  # a last guard: cut rather than lose a message (F4)
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
                disable_notification=message.disable_notification,
            )
        return str(sent.message_id)

    async def _send_stored(
        self, stored_id: str, send_with: Callable[[str | InputFile], Awaitable[Message]]
    ) -> Message:
        """By Telegram's cached id when there is one, else uploaded from the store and cached."""
        if self.files is None:
            raise DamagedFileError("no file store to send from")
        async with self.files.upload_lock(stored_id):
            cached = await self.files.cached(stored_id)
            if cached is not None:
                try:
                    return await send_with(cached)
                except BadRequest as exc:
                    if not any(words in exc.message.lower() for words in _STALE_FILE_ID):
                        raise
                    await self.files.forget_cached(stored_id)  # upload it again below
            sent = await send_with(await self.files.input_file(stored_id))
            await self.files.remember(stored_id, sent)
            return sent
