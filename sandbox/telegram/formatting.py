"""Telegram text formatting: HTML, MarkdownV2 and Markdown to plain text plus entities."""

from __future__ import annotations

import re
from typing import Any

Entity = dict[str, Any]


class EntityParseError(ValueError):
    """Raised for malformed markup; the API answers `can't parse entities: <message>`."""


def u16len(text: str) -> int:
    """Length in UTF-16 code units, the unit of entity offsets."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode())


_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?")


def command_entities(text: str) -> list[Entity]:
    """A bot_command entity when the text starts with a command (`/cmd` or `/cmd@bot`)."""
    match = _COMMAND_RE.match(text)
    if not match:
        return []
    return [{"type": "bot_command", "offset": 0, "length": u16len(match.group(0))}]


def parse(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Parse `text` with a Bot API parse_mode (None: no parsing)."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise EntityParseError(f'Unsupported parse_mode "{parse_mode}"')


# --- HTML ---------------------------------------------------------------------------------

_HTML_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "code": "code",
    "pre": "pre",
    "a": "text_link",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_TAG_NAME_RE = re.compile(r"[a-zA-Z][a-zA-Z0-9-]*")
_ATTR_RE = re.compile(
    r"""([a-zA-Z][a-zA-Z0-9_-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+)))?"""
)
_SPECIAL_RE = re.compile(r"[<&]")


def _decode_entity(name: str) -> str | None:
    if name[0] != "#":
        return _NAMED.get(name)
    code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code)


def _unescape_attr(value: str) -> str:
    def repl(m: re.Match[str]) -> str:
        return _decode_entity(m.group(1)) or m.group(0)

    return _ENTITY_RE.sub(repl, value)


class _HtmlParser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.out: list[str] = []
        self.pos = 0
        self.stack: list[tuple[str, int, dict[str, str]]] = []
        self.entities: list[Entity] = []

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.pos += u16len(chunk)

    def run(self) -> tuple[str, list[Entity]]:
        src, i, n = self.src, 0, len(self.src)
        while i < n:
            c = src[i]
            if c == "&":
                m = _ENTITY_RE.match(src, i)
                decoded = _decode_entity(m.group(1)) if m else None
                if m and decoded is not None:
                    self.emit(decoded)
                    i = m.end()
                else:
                    self.emit("&")
                    i += 1
            elif c == "<":
                i = self.end_tag(i) if src.startswith("</", i) else self.start_tag(i)
            else:
                m = _SPECIAL_RE.search(src, i)
                j = m.start() if m else n
                self.emit(src[i:j])
                i = j
        if self.stack:
            tag = self.stack[-1][0]
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{tag}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def start_tag(self, i: int) -> int:
        src = self.src
        m = _TAG_NAME_RE.match(src, i + 1)
        name = m.group(0).lower() if m else ""
        if name not in _HTML_TAGS:
            where = _byte_offset(src, i)
            raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {where}')
        j = m.end() if m else i + 1
        attrs: dict[str, str] = {}
        while True:
            while j < len(src) and src[j].isspace():
                j += 1
            if j >= len(src):
                raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(src, i)}")
            if src[j] == ">":
                j += 1
                break
            am = _ATTR_RE.match(src, j)
            if not am:
                where = _byte_offset(src, j)
                raise EntityParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                    f"at byte offset {where}"
                )
            value = am.group(2) if am.group(2) is not None else am.group(3)
            if value is None:
                value = am.group(4) or ""
            attrs[am.group(1).lower()] = _unescape_attr(value)
            j = am.end()
        if name == "span" and attrs.get("class") != "tg-spoiler":
            where = _byte_offset(src, i)
            raise EntityParseError(
                f'Tag "span" must have class "tg-spoiler" at byte offset {where}'
            )
        self.stack.append((name, self.pos, attrs))
        return j

    def end_tag(self, i: int) -> int:
        src = self.src
        end = src.find(">", i)
        if end < 0:
            raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(src, i)}")
        name = src[i + 2 : end].strip().lower()
        if not self.stack:
            raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(src, i)}")
        tag, start, attrs = self.stack.pop()
        if name != tag:
            where = _byte_offset(src, i)
            raise EntityParseError(
                f'Unmatched end tag at byte offset {where}, expected "</{tag}>", found "</{name}>"'
            )
        self.close(tag, start, attrs)
        return end + 1

    def close(self, tag: str, start: int, attrs: dict[str, str]) -> None:
        length = self.pos - start
        kind = _HTML_TAGS[tag]
        if tag == "code" and self.stack and self.stack[-1][0] == "pre":
            cls = attrs.get("class", "")
            if cls.startswith("language-"):
                self.stack[-1][2]["language"] = cls[len("language-") :]
                return
        if length == 0:
            return
        entity: Entity = {"type": kind, "offset": start, "length": length}
        if tag == "a":
            href = attrs.get("href")
            if not href:
                return
            entity["url"] = href
        elif tag == "pre" and attrs.get("language"):
            entity["language"] = attrs["language"]
        elif tag == "blockquote" and "expandable" in attrs:
            entity["type"] = "expandable_blockquote"
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attrs.get("emoji-id", "")
        self.entities.append(entity)


def parse_html(src: str) -> tuple[str, list[Entity]]:
    """Parse Telegram HTML; the plain text has tags stripped and entities unescaped."""
    if "<" not in src and "&" not in src:
        return src, []
    return _HtmlParser(src).run()


# --- MarkdownV2 -----------------------------------------------------------------------------

_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_MARKERS = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}


def _find_closing(src: str, start: int, token: str) -> int:
    """Index of the next unescaped `token` at or after `start`, or -1."""
    i = start
    while i < len(src):
        if src[i] == "\\":
            i += 2
            continue
        if src.startswith(token, i):
            return i
        i += 1
    return -1


def _unescape_md(text: str) -> str:
    return re.sub(r"\\([\x01-\x7e])", r"\1", text)


class _MarkdownV2Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.out: list[str] = []
        self.pos = 0
        self.stack: list[tuple[str, int, int]] = []
        self.entities: list[Entity] = []
        self.quote_start: int | None = None

    def emit(self, chunk: str) -> None:
        self.out.append(chunk)
        self.pos += u16len(chunk)

    def run(self) -> tuple[str, list[Entity]]:
        src, i, n = self.src, 0, len(self.src)
        while i < n:
            c = src[i]
            if c == "\\" and i + 1 < n and "\x00" < src[i + 1] < "\x7f":
                self.emit(src[i + 1])
                i += 2
            elif c == "`":
                i = self.code(i)
            elif c in "*_~|":
                i = self.marker(i)
            elif c == "[":
                self.stack.append(("[", self.pos, i))
                i += 1
            elif c == "]":
                i = self.link(i)
            elif c == ">" and (i == 0 or src[i - 1] == "\n"):
                if self.quote_start is None:
                    self.quote_start = self.pos
                i += 1
            elif c in _MDV2_RESERVED:
                raise EntityParseError(
                    f"Character '{c}' is reserved and must be escaped with the preceding '\\'"
                )
            else:
                if c == "\n" and self.quote_start is not None and not src.startswith(">", i + 1):
                    self.close_quote()
                self.emit(c)
                i += 1
        if self.stack:
            _, _, where = self.stack[-1]
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(src, where)}"
            )
        if self.quote_start is not None:
            self.close_quote()
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def add(self, kind: str, start: int, **extra: Any) -> None:
        if self.pos > start:
            self.entities.append(
                {"type": kind, "offset": start, "length": self.pos - start, **extra}
            )

    def close_quote(self) -> None:
        assert self.quote_start is not None
        self.add("blockquote", self.quote_start)
        self.quote_start = None

    def code(self, i: int) -> int:
        src = self.src
        token = "```" if src.startswith("```", i) else "`"
        end = _find_closing(src, i + len(token), token)
        if end < 0:
            raise EntityParseError(
                f"Can't find end of the entity starting at byte offset {_byte_offset(src, i)}"
            )
        body = src[i + len(token) : end]
        extra: dict[str, Any] = {}
        if token == "```":
            first, sep, rest = body.partition("\n")
            if sep and first and not any(ch.isspace() for ch in first):
                extra["language"] = first
                body = rest
            elif sep and not first:
                body = rest
        start = self.pos
        self.emit(_unescape_md(body))
        self.add("pre" if token == "```" else "code", start, **extra)
        return end + len(token)

    def marker(self, i: int) -> int:
        src = self.src
        c = src[i]
        token = c
        if c in "_|" and src.startswith(c * 2, i):
            token = c * 2
        if token == "|":
            raise EntityParseError(
                "Character '|' is reserved and must be escaped with the preceding '\\'"
            )
        if self.stack and self.stack[-1][0] == token:
            _, start, _ = self.stack.pop()
            self.add(_MDV2_MARKERS[token], start)
        elif any(entry[0] == token for entry in self.stack):
            where = _byte_offset(src, i)
            raise EntityParseError(f"Can't find end of the entity at byte offset {where}")
        else:
            self.stack.append((token, self.pos, i))
        return i + len(token)

    def link(self, i: int) -> int:
        src = self.src
        if not self.stack or self.stack[-1][0] != "[":
            raise EntityParseError(
                "Character ']' is reserved and must be escaped with the preceding '\\'"
            )
        _, start, _ = self.stack.pop()
        if not src.startswith("(", i + 1):
            return i + 1
        end = _find_closing(src, i + 2, ")")
        if end < 0:
            where = _byte_offset(src, i + 1)
            raise EntityParseError(f"Can't find end of a URL at byte offset {where}")
        url = _unescape_md(src[i + 2 : end])
        if url.startswith("tg://emoji?id="):
            self.add("custom_emoji", start, custom_emoji_id=url.split("=", 1)[1])
        else:
            self.add("text_link", start, url=url)
        return end + 1


def parse_markdown_v2(src: str) -> tuple[str, list[Entity]]:
    """Parse MarkdownV2, including the reserved-character errors Telegram raises."""
    return _MarkdownV2Parser(src).run()


# --- legacy Markdown ------------------------------------------------------------------------

_MD_KINDS = {"*": "bold", "_": "italic", "`": "code", "```": "pre"}


def parse_markdown(src: str) -> tuple[str, list[Entity]]:
    """Parse legacy Markdown: *bold*, _italic_, `code`, ```pre```, [text](url); no nesting."""
    out: list[str] = []
    entities: list[Entity] = []
    pos, i, n = 0, 0, len(src)
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and src[i + 1] in "_*`[\\":
            out.append(src[i + 1])
            pos += 1
            i += 2
            continue
        if c in "*_`":
            token = "```" if src.startswith("```", i) else c
            end = src.find(token, i + len(token))
            if end < 0:
                where = _byte_offset(src, i)
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {where}"
                )
            body = src[i + len(token) : end]
            if token == "```" and body.startswith("\n"):
                body = body[1:]
            if body:
                length = u16len(body)
                entities.append({"type": _MD_KINDS[token], "offset": pos, "length": length})
                out.append(body)
                pos += length
            i = end + len(token)
            continue
        if c == "[":
            close = src.find("](", i)
            end = src.find(")", close) if close >= 0 else -1
            if close >= 0 and end >= 0:
                label = src[i + 1 : close]
                length = u16len(label)
                if length:
                    entities.append(
                        {
                            "type": "text_link",
                            "offset": pos,
                            "length": length,
                            "url": src[close + 2 : end],
                        }
                    )
                out.append(label)
                pos += length
                i = end + 1
                continue
        out.append(c)
        pos += u16len(c)
        i += 1
    return "".join(out), entities
