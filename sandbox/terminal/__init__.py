"""`antq sandbox`: a local fake Telegram, the bot, and a chat in this terminal.

`app` wires them up and stops them cleanly; `chat` is the terminal chat (personas, numbered
messages, buttons, toasts, files, messages printed as they arrive); `inputs` makes any typed
bytes safe; `clock` is the sandbox's clock that `:gio` moves forward.
"""

from sandbox.terminal.app import remove_database, run_terminal, sandbox_settings
from sandbox.terminal.chat import OFFICE_CHAT_ID, PERSONAS, Persona, TerminalChat

__all__ = [
    "OFFICE_CHAT_ID",
    "PERSONAS",
    "Persona",
    "TerminalChat",
    "remove_database",
    "run_terminal",
    "sandbox_settings",
]
