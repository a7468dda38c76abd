"""Telegram updates turned into the engine's channel-neutral Incoming (files: still on Telegram)."""

from __future__ import annotations

from telegram import Document, Message, Update, Video

from bot.dialogs.engine import Incoming, Upload
from content.schema import FileKind


def from_message(message: Message) -> Incoming:
    if message.text is not None:
        return Incoming(kind="text", text=message.text)
    if message.photo:
        largest = message.photo[-1]
        return Incoming(
            kind="attachment",
            upload=Upload(kind="photo", channel_file_id=largest.file_id, size=largest.file_size),
        )
    kinds: tuple[tuple[FileKind, Video | Document | None], ...] = (
        ("video", message.video),
        ("document", message.document),
    )
    for kind, media in kinds:
        if media:
            return Incoming(
                kind="attachment",
                upload=Upload(
                    kind=kind,
                    channel_file_id=media.file_id,
                    file_name=media.file_name,
                    mime_type=media.mime_type,
                    size=media.file_size,
                ),
            )
    if message.location:
        return Incoming(
            kind="location",
            latitude=message.location.latitude,
            longitude=message.location.longitude,
        )
    if message.contact and message.from_user and message.contact.user_id == message.from_user.id:
        return Incoming(kind="contact", phone=message.contact.phone_number)
    return Incoming(kind="unsupported")


def from_update(update: Update) -> Incoming | None:
    if update.callback_query is not None:
        return Incoming(kind="button", data=update.callback_query.data or "")
    if update.effective_message is not None:
        return from_message(update.effective_message)
    return None
