"""Bot API methods that send, edit, copy, forward or delete messages, and callback answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from sandbox.telegram.errors import bad_request, forbidden
from sandbox.telegram.formatting import EntityParseError, parse
from sandbox.telegram.limits import LimitsConfig
from sandbox.telegram.media import media_from_input
from sandbox.telegram.models import JSON, ChatRecord, StoredMessage
from sandbox.telegram.params import Params
from sandbox.telegram.state import SandboxState

NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
MARKUP_KINDS = ("inline_keyboard", "keyboard", "remove_keyboard", "force_reply")


class Api(Protocol):
    state: SandboxState

    @property
    def limits(self) -> LimitsConfig: ...


Handler = Callable[[Api, Params], Awaitable[Any]]


def target_chat(api: Api, p: Params, name: str = "chat_id") -> ChatRecord:
    chat = api.state.chats.get(p.chat_id(name))
    if chat is None:
        raise bad_request("chat not found")
    if chat.type == "private":
        user = api.state.users.get(chat.id)
        if user is not None and user.blocked:
            raise forbidden("bot was blocked by the user")
    return chat


def parse_text(
    p: Params, field: str, limit: int, *, caption: bool = False
) -> tuple[str | None, list[JSON] | None, str | None, str | None]:
    """Return (plain, entities, raw, parse_mode) for `text` or `caption`."""
    raw = p.get_str(field)
    mode = p.get_str("parse_mode") or None
    if raw is None or (caption and raw == ""):
        if caption:
            return None, None, None, None
        raise bad_request("message text is empty")
    try:
        plain, entities = parse(raw, mode)
    except EntityParseError as exc:
        raise bad_request(f"can't parse entities: {exc}") from None
    if not mode:
        explicit = p.get_json("caption_entities" if caption else "entities")
        if explicit:
            if not isinstance(explicit, list) or not all(isinstance(e, dict) for e in explicit):
                raise bad_request("can't parse entities: entities must be an array of objects")
            entities = explicit
    if not plain.strip():
        if caption:
            return None, None, None, None
        raise bad_request("message text is empty")
    if len(plain) > limit:
        raise bad_request("message caption is too long" if caption else "message is too long")
    return plain, entities or None, raw, mode


def parse_markup(p: Params) -> JSON | None:
    markup = p.get_json("reply_markup")
    if markup is None:
        return None
    if not isinstance(markup, dict) or not any(k in markup for k in MARKUP_KINDS):
        raise bad_request("can't parse reply keyboard markup JSON object")
    rows = markup.get("inline_keyboard")
    if rows is None:
        return markup
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad_request(
            "can't parse inline keyboard button: InlineKeyboardMarkup must be an array"
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise bad_request("can't parse inline keyboard button: Text buttons are unallowed")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
            if len(button) < 2:
                raise bad_request(
                    "can't parse inline keyboard button: InlineKeyboardButton must have "
                    "exactly one optional field"
                )
    return markup


def reply_target(p: Params, chat: ChatRecord) -> int | None:
    params = p.get_json("reply_parameters")
    if isinstance(params, dict):
        message_id = params.get("message_id")
        allow = bool(params.get("allow_sending_without_reply"))
    else:
        message_id = p.get_int("reply_to_message_id")
        allow = p.get_bool("allow_sending_without_reply")
    if message_id is None:
        return None
    target = chat.messages.get(int(message_id))
    if target is None or target.deleted:
        if allow:
            return None
        raise bad_request("message to be replied not found")
    return target.message_id


def commit_send(api: Api, chat: ChatRecord, msg: StoredMessage) -> JSON:
    state = api.state
    state.record_send(chat, msg)
    state.add_event(chat, "send", message=msg.to_view())
    return state.message_api(msg)


async def send_message(api: Api, p: Params) -> JSON:
    chat = target_chat(api, p)
    text, entities, raw, mode = parse_text(p, "text", api.limits.max_text_length)
    markup = parse_markup(p)
    reply_to = reply_target(p, chat)
    msg = api.state.new_message(
        chat,
        from_bot=True,
        from_user_id=p.bot_id,
        kind="text",
        text=text,
        entities=entities,
        raw=raw,
        parse_mode=mode,
        reply_markup=markup,
        reply_to=reply_to,
    )
    return commit_send(api, chat, msg)


def media_sender(kind: str) -> Handler:
    """sendPhoto, sendDocument, ...: an upload, a file_id or a URL, plus caption."""

    async def send_media(api: Api, p: Params) -> JSON:
        chat = target_chat(api, p)
        value = p.file(kind)
        if value is None:
            raise bad_request(f"there is no {kind} in the request")
        caption = entities = raw = mode = None
        if kind != "sticker":
            limit = api.limits.max_caption_length
            caption, entities, raw, mode = parse_text(p, "caption", limit, caption=True)
        markup = parse_markup(p)
        reply_to = reply_target(p, chat)
        media, file_id = media_from_input(api.state, kind, value)
        msg = api.state.new_message(
            chat,
            from_bot=True,
            from_user_id=p.bot_id,
            kind=kind,
            caption=caption,
            caption_entities=entities,
            raw=raw,
            parse_mode=mode,
            media=media,
            file_id=file_id,
            reply_markup=markup,
            reply_to=reply_to,
        )
        return commit_send(api, chat, msg)

    return send_media


async def send_location(api: Api, p: Params) -> JSON:
    chat = target_chat(api, p)
    lat, lon = p.get_float("latitude"), p.get_float("longitude")
    if lat is None or lon is None:
        raise bad_request("latitude and longitude are required")
    markup, reply_to = parse_markup(p), reply_target(p, chat)
    msg = api.state.new_message(
        chat,
        from_bot=True,
        from_user_id=p.bot_id,
        kind="location",
        media={"location": {"latitude": lat, "longitude": lon}},
        reply_markup=markup,
        reply_to=reply_to,
    )
    return commit_send(api, chat, msg)


async def send_contact(api: Api, p: Params) -> JSON:
    chat = target_chat(api, p)
    phone, first = p.get_str("phone_number"), p.get_str("first_name")
    if not phone or not first:
        raise bad_request("phone_number and first_name are required")
    contact: JSON = {"phone_number": phone, "first_name": first}
    if p.get_str("last_name"):
        contact["last_name"] = p.get_str("last_name")
    markup, reply_to = parse_markup(p), reply_target(p, chat)
    msg = api.state.new_message(
        chat,
        from_bot=True,
        from_user_id=p.bot_id,
        kind="contact",
        media={"contact": contact},
        reply_markup=markup,
        reply_to=reply_to,
    )
    return commit_send(api, chat, msg)


def _editable(api: Api, p: Params) -> tuple[ChatRecord, StoredMessage]:
    if p.has("inline_message_id"):
        raise bad_request("inline messages are not supported by the sandbox")
    chat = target_chat(api, p)
    msg = chat.messages.get(p.require_int("message_id"))
    if msg is None or msg.deleted:
        raise bad_request("message to edit not found")
    if not msg.from_bot:
        raise bad_request("message can't be edited")
    return chat, msg


def _commit_edit(api: Api, chat: ChatRecord, msg: StoredMessage) -> JSON:
    msg.edited += 1
    msg.edit_date = api.state.now()
    api.state.add_event(chat, "edit", message=msg.to_view())
    return api.state.message_api(msg)


async def edit_message_text(api: Api, p: Params) -> JSON:
    chat, msg = _editable(api, p)
    if msg.text is None:
        raise bad_request("there is no text in the message to edit")
    text, entities, raw, mode = parse_text(p, "text", api.limits.max_text_length)
    markup = parse_markup(p)
    if text == msg.text and entities == msg.entities and markup == msg.reply_markup:
        raise bad_request(NOT_MODIFIED)
    msg.text, msg.entities, msg.raw, msg.parse_mode = text, entities, raw, mode
    msg.reply_markup = markup
    return _commit_edit(api, chat, msg)


async def edit_message_caption(api: Api, p: Params) -> JSON:
    chat, msg = _editable(api, p)
    if msg.text is not None or msg.kind in ("location", "contact", "sticker"):
        raise bad_request("there is no caption in the message to edit")
    limit = api.limits.max_caption_length
    caption, entities, raw, mode = parse_text(p, "caption", limit, caption=True)
    markup = parse_markup(p)
    if caption == msg.caption and entities == msg.caption_entities and markup == msg.reply_markup:
        raise bad_request(NOT_MODIFIED)
    msg.caption, msg.caption_entities, msg.raw, msg.parse_mode = caption, entities, raw, mode
    msg.reply_markup = markup
    return _commit_edit(api, chat, msg)


async def edit_message_reply_markup(api: Api, p: Params) -> JSON:
    chat, msg = _editable(api, p)
    markup = parse_markup(p)
    if markup == msg.reply_markup:
        raise bad_request(NOT_MODIFIED)
    msg.reply_markup = markup
    return _commit_edit(api, chat, msg)


def _delete(api: Api, chat: ChatRecord, message_id: int) -> bool:
    msg = chat.messages.get(message_id)
    if msg is None or msg.deleted:
        return False
    msg.deleted = True
    api.state.add_event(chat, "delete", message=msg.to_view())
    return True


async def delete_message(api: Api, p: Params) -> bool:
    chat = api.state.chats.get(p.chat_id())
    if chat is None:
        raise bad_request("chat not found")
    if not _delete(api, chat, p.require_int("message_id")):
        raise bad_request("message to delete not found")
    return True


async def delete_messages(api: Api, p: Params) -> bool:
    chat = api.state.chats.get(p.chat_id())
    if chat is None:
        raise bad_request("chat not found")
    ids = p.get_json("message_ids")
    if not isinstance(ids, list) or not ids:
        raise bad_request("message_ids is empty")
    for message_id in ids:
        _delete(api, chat, int(message_id))
    return True


def _source(api: Api, p: Params, action: str) -> StoredMessage:
    chat = api.state.chats.get(p.chat_id("from_chat_id"))
    if chat is None:
        raise bad_request("chat not found")
    src = chat.messages.get(p.require_int("message_id"))
    if src is None or src.deleted:
        raise bad_request(f"message to {action} not found")
    return src


def _clone(api: Api, p: Params, chat: ChatRecord, src: StoredMessage, **extra: Any) -> JSON:
    fields: dict[str, Any] = {
        "kind": src.kind,
        "text": src.text,
        "entities": src.entities,
        "caption": src.caption,
        "caption_entities": src.caption_entities,
        "raw": src.raw,
        "parse_mode": src.parse_mode,
        "media": dict(src.media),
        "file_id": src.file_id,
    }
    fields.update(extra)
    msg = api.state.new_message(chat, from_bot=True, from_user_id=p.bot_id, **fields)
    return commit_send(api, chat, msg)


async def copy_message(api: Api, p: Params) -> JSON:
    chat = target_chat(api, p)
    src = _source(api, p, "copy")
    extra: dict[str, Any] = {"reply_markup": parse_markup(p), "reply_to": reply_target(p, chat)}
    if p.has("caption") and src.text is None:
        limit = api.limits.max_caption_length
        caption, entities, raw, mode = parse_text(p, "caption", limit, caption=True)
        extra.update(caption=caption, caption_entities=entities, raw=raw, parse_mode=mode)
    result = _clone(api, p, chat, src, **extra)
    return {"message_id": result["message_id"]}


async def forward_message(api: Api, p: Params) -> JSON:
    chat = target_chat(api, p)
    src = _source(api, p, "forward")
    state = api.state
    if src.from_bot:
        sender = state.bot_user(src.from_user_id)
    else:
        user = state.users.get(src.from_user_id)
        sender = user.to_api() if user else {"id": src.from_user_id, "is_bot": False}
    origin = {"type": "user", "date": src.date, "sender_user": sender}
    return _clone(api, p, chat, src, forward_origin=origin)


async def answer_callback_query(api: Api, p: Params) -> bool:
    state = api.state
    record = state.callbacks.get(p.get_str("callback_query_id") or "")
    if record is None or record.answered:
        raise bad_request("query is too old and response timeout expired or query ID is invalid")
    text = p.get_str("text")
    if text is not None and len(text) > 200:
        raise bad_request("MESSAGE_TOO_LONG")
    record.answered, record.text = True, text
    record.show_alert, record.url = p.get_bool("show_alert"), p.get_str("url")
    record.pulse.fire()
    chat = state.chats.get(record.chat_id)
    if chat is not None:
        state.add_event(chat, "answer_callback", callback=record.to_view())
    return True
