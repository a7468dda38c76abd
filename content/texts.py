"""Every sentence a person reads, looked up by key from content/texts/<language>.yaml."""

from __future__ import annotations

import html
import string
import unicodedata
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

TEXTS_DIR = Path(__file__).parent / "texts"
CHANNELS = ("telegram", "zalo", "web")
VARIANT = "@"  # `notice@zalo` is the Zalo variant of `notice`; the plain key always exists


class ContentError(Exception):
    """A content file is missing, malformed or refers to something that does not exist."""


def _flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in tree.items():
        if not isinstance(key, str):
            raise ContentError(f"{prefix}{key}: keys must be text (quote yes/no/on/off/numbers)")
        full = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{full}."))
        elif isinstance(value, str):
            flat[full] = value.rstrip("\n") if value.endswith("\n") else value
        else:
            raise ContentError(f"{full}: expected text, found {type(value).__name__}")
    return flat


def placeholders(template: str) -> set[str]:
    """The {names} a template expects."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class Texts:
    """Telegram-HTML templates by dotted key; parameters are escaped before they are inserted."""

    def __init__(self, templates: Mapping[str, str]) -> None:
        self._templates = dict(templates)
        check_variants(self._templates)

    @classmethod
    def load(cls, language: str = "vi", directory: Path = TEXTS_DIR) -> Texts:
        """`vi.yaml`, then each `vi.<part>.yaml` beside it; a key defined twice is an error."""
        templates: dict[str, str] = {}
        paths = [directory / f"{language}.yaml", *sorted(directory.glob(f"{language}.*.yaml"))]
        for path in paths:
            try:
                tree = yaml.safe_load(path.read_text(encoding="utf-8"))
            except (OSError, yaml.YAMLError) as exc:
                raise ContentError(f"{path}: {exc}") from exc
            if not isinstance(tree, Mapping):
                raise ContentError(f"{path}: expected a mapping of keys to texts")
            for key, text in _flatten(tree).items():
                if key in templates:
                    raise ContentError(f"{path}: the key {key} is already defined")
                templates[key] = text
        return cls(templates)

    def has(self, key: str) -> bool:
        return key in self._templates

    def __iter__(self) -> Iterator[str]:
        return iter(self._templates)

    def __len__(self) -> int:
        return len(self._templates)

    def with_extra(self, extra: Mapping[str, str]) -> Texts:
        """These texts plus some more (tests and add-ons)."""
        return Texts({**self._templates, **extra})

    def template(self, key: str, channel: str | None = None) -> str:
        """The template for key; on a channel, its `key@channel` variant when there is one."""
        if channel is not None:
            variant = self._templates.get(f"{key}{VARIANT}{channel}")
            if variant is not None:
                return variant
        try:
            return self._templates[key]
        except KeyError:
            raise ContentError(f"text key not found: {key}") from None

    def get(self, key: str, **params: object) -> str:
        """The text for key, each parameter HTML-escaped (a person's words are never markup).

        A `channel` parameter picks the `key@channel` variant where there is one."""
        channel = _channel(params)
        safe = {name: html.escape(str(value), quote=False) for name, value in params.items()}
        return self.template(key, channel).format_map(safe)

    def raw(self, key: str, **params: object) -> str:
        """The text for key with parameters as they are: for button labels, which are plain."""
        channel = _channel(params)
        return self.template(key, channel).format_map({k: str(v) for k, v in params.items()})

    def variants(self, key: str) -> dict[str, str]:
        """The channels that have their own variant of key, and that variant's template."""
        return {
            channel: self._templates[f"{key}{VARIANT}{channel}"]
            for channel in CHANNELS
            if f"{key}{VARIANT}{channel}" in self._templates
        }


def split_variant(key: str) -> tuple[str, str | None]:
    """('privacy.notice', 'zalo') for 'privacy.notice@zalo'; (key, None) for a plain key."""
    base, sep, channel = key.partition(VARIANT)
    return (base, channel) if sep else (key, None)


def check_variants(templates: Mapping[str, str]) -> None:
    """Each `key@channel` names a known channel, has a plain key, and the same placeholders."""
    problems = []
    for key, text in templates.items():
        base, channel = split_variant(key)
        if channel is None:
            continue
        if channel not in CHANNELS:
            problems.append(f"{key}: unknown channel {channel!r}; known: {', '.join(CHANNELS)}")
        elif base not in templates:
            problems.append(f"{key}: a channel variant needs the plain key {base}")
        elif placeholders(text) != placeholders(templates[base]):
            problems.append(
                f"{key}: placeholders {sorted(placeholders(text))} differ from "
                f"{base}'s {sorted(placeholders(templates[base]))}"
            )
    if problems:
        raise ContentError("; ".join(problems))


def _channel(params: dict[str, object]) -> str | None:
    """Take the channel out of a text's parameters (a dialog's context carries it)."""
    channel = params.pop("channel", None)
    return channel if isinstance(channel, str) else None


def fold(text: str) -> str:
    """Lower case without diacritics, so that 'nguyen du' finds 'Nguyễn Du'."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn").casefold().strip()
