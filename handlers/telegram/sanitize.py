"""Files of anonymous tips: fetched, cleaned of hidden metadata, and sent back as the clean copy."""

from __future__ import annotations

from telegram import Bot, InputFile

from bot.chat.ref import ChatRef
from bot.dialogs.engine import Attachment
from bot.kernel.media_privacy import MAX_BYTES, Refused, strip_metadata
from content.texts import Texts


class TelegramSanitizer:
    """Download a document, strip its metadata, and replace it by a clean copy the person sees."""

    def __init__(self, bot: Bot, texts: Texts) -> None:
        self.bot = bot
        self.texts = texts

    async def __call__(self, chat: ChatRef, attachment: Attachment) -> Attachment | str:
        if attachment.size is not None and attachment.size > MAX_BYTES:
            return "security.media.too_large"
        telegram_file = await self.bot.get_file(attachment.file_id)
        data = bytes(await telegram_file.download_as_bytearray())
        cleaned = strip_metadata(data, attachment.file_name, attachment.mime_type)
        if isinstance(cleaned, Refused):
            return cleaned.reason_key
        sent = await self.bot.send_document(
            chat.chat_id,
            InputFile(cleaned.data, filename=cleaned.file_name),
            caption=self.texts.get("tip.cleaned"),
        )
        assert sent.document is not None
        return Attachment(
            kind="document",
            file_id=sent.document.file_id,
            file_name=cleaned.file_name,
            mime_type=cleaned.mime_type,
            size=sent.document.file_size,
        )
