"""The Telegram channel: the one ordered list of handlers, and the published command menu."""

from __future__ import annotations

from telegram import BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.kernel.config import Settings
from bot.kernel.services import Services
from bot.office.review import BUTTON_PREFIX
from bot.people.service import OFFICE_ROLE
from handlers.telegram import (
    announcements,
    audit,
    commands,
    deadlines,
    dedupe,
    export,
    invitations,
    office,
    statistics,
)
from handlers.telegram import private as private_chat
from handlers.telegram.errors import on_error

PRIVATE_ROLES = ("unregistered", "teacher", "parent", "head")


def register(app: Application, settings: Settings) -> None:
    """Every handler, in the order Telegram updates are tried against them."""
    app.add_handler(TypeHandler(Update, dedupe.drop_repeats), group=-1)
    if settings.office_chat_id is not None:
        office_chat = filters.Chat(settings.office_chat_id)
        app.add_handler(CallbackQueryHandler(office.on_button, pattern=f"^{BUTTON_PREFIX}:"))
        app.add_handler(CallbackQueryHandler(announcements.on_button, pattern=r"^a:"))
        app.add_handler(CallbackQueryHandler(deadlines.on_office_button, pattern=r"^dl:"))
        app.add_handler(CallbackQueryHandler(deadlines.on_question_button, pattern=r"^dq:"))
        app.add_handler(CallbackQueryHandler(invitations.on_button, pattern=r"^iv:"))
        app.add_handler(CommandHandler("thongbao", announcements.start, filters=office_chat))
        app.add_handler(CommandHandler("hanchot", deadlines.deadlines_command, filters=office_chat))
        app.add_handler(CommandHandler("tiendo", deadlines.progress_command, filters=office_chat))
        app.add_handler(CommandHandler("moi", invitations.invite_command, filters=office_chat))
        app.add_handler(CommandHandler("nhatky", audit.audit_command, filters=office_chat))
        app.add_handler(CommandHandler("xuat", export.export_command, filters=office_chat))
        app.add_handler(
            CommandHandler("thongke", statistics.statistics_command, filters=office_chat)
        )
        app.add_handler(
            MessageHandler(
                office_chat & filters.REPLY & filters.UpdateType.MESSAGE, office.on_reply
            )
        )
    # private chats: everything goes to the core's router (bot/chat/router.py)
    private = filters.ChatType.PRIVATE
    app.add_handler(CallbackQueryHandler(private_chat.on_button))
    app.add_handler(
        MessageHandler(
            private & filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL,
            private_chat.on_message,
        )
    )
    # a group (the office's): help, and a pointer to the private chat for the rest
    app.add_handler(CommandHandler(["trogiup", "help"], commands.group_help))
    app.add_handler(MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, commands.in_group))
    app.add_error_handler(on_error)


async def publish_commands(app: Application, services: Services) -> None:
    """The menu of commands with Vietnamese descriptions, for private chats and the office group."""
    texts = services.content.texts
    private: dict[str, BotCommand] = {}
    for role in PRIVATE_ROLES:
        for command in services.content.commands_for(role):
            private.setdefault(
                command.command, BotCommand(command.command, texts.get(command.description))
            )
    await app.bot.set_my_commands(list(private.values()), scope=BotCommandScopeAllPrivateChats())
    office_chat = services.settings.office_chat_id
    if office_chat is not None:
        office = [
            BotCommand(c.command, texts.get(c.description))
            for c in services.content.commands_for(OFFICE_ROLE)
        ]
        await app.bot.set_my_commands(office, scope=BotCommandScopeChat(office_chat))
