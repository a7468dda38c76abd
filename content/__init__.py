"""Content: texts, guided dialogs and commands, loaded and cross-checked at start-up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from content.corpus import text_channels
from content.outreach_schema import OutreachItem, load_outreach
from content.schema import DialogSpec
from content.style import wording_problems, zalo_problems
from content.texts import ContentError, Texts

CONTENT_DIR = Path(__file__).parent

__all__ = [
    "CONTENT_DIR",
    "Category",
    "Command",
    "Content",
    "ContentError",
    "DialogSpec",
    "Texts",
    "load",
]


class Command(BaseModel):
    """A command published to Telegram's menu: ASCII name, Vietnamese description by key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    description: str  # text key
    roles: list[str] = Field(min_length=1)


class Category(BaseModel):
    """A kind of incident people can report; kept as data in content/data/categories.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{1,39}$")
    label: str = Field(min_length=2, max_length=60)
    urgent: bool = False


class _CategoryFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    categories: list[Category] = Field(min_length=1)


class _CommandFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    commands: list[Command]


@dataclass(frozen=True)
class Content:
    texts: Texts
    dialogs: dict[str, DialogSpec]
    commands: list[Command]
    categories: dict[str, Category]
    outreach: dict[date, OutreachItem]

    def commands_for(self, role: str) -> list[Command]:
        return [command for command in self.commands if role in command.roles]


def _read_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(f"{path.name}: {exc}") from exc


def _invalid(path: Path, error: ValidationError) -> ContentError:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in item['loc']) or '(file)'}: {item['msg']}"
        for item in error.errors()
    )
    return ContentError(f"{path.name}: {problems}")


def load(directory: Path = CONTENT_DIR, language: str = "vi") -> Content:
    """Load and validate all content; any problem raises ContentError naming the file and place."""
    texts = Texts.load(language, directory / "texts")
    dialogs: dict[str, DialogSpec] = {}
    for path in sorted((directory / "dialogs").glob("*.yaml")):
        try:
            spec = DialogSpec.model_validate(_read_yaml(path))
        except ValidationError as exc:
            raise _invalid(path, exc) from None
        missing = sorted(key for key in spec.text_keys() if not texts.has(key))
        if missing:
            raise ContentError(f"{path.name}: text keys not in {language}.yaml: {missing}")
        dialogs[spec.id] = spec
    commands_path = directory / "commands.yaml"
    try:
        commands = _CommandFile.model_validate(_read_yaml(commands_path)).commands
    except ValidationError as exc:
        raise _invalid(commands_path, exc) from None
    missing = sorted(c.description for c in commands if not texts.has(c.description))
    if missing:
        raise ContentError(f"commands.yaml: text keys not in {language}.yaml: {missing}")
    categories_path = directory / "data" / "categories.yaml"
    try:
        category_list = _CategoryFile.model_validate(_read_yaml(categories_path)).categories
    except ValidationError as exc:
        raise _invalid(categories_path, exc) from None
    categories = {category.code: category for category in category_list}
    if len(categories) != len(category_list):
        raise ContentError("categories.yaml: category codes must be unique")
    outreach = load_outreach(directory / "outreach")
    problems = [
        f"{key}: {problem}"
        for key in texts
        for problem in [
            *wording_problems(texts.template(key)),
            *(zalo_problems(texts.template(key)) if "zalo" in text_channels(texts, key) else []),
        ]
    ]
    if problems:
        raise ContentError(f"texts/{language}.yaml: {'; '.join(problems)}")
    return Content(
        texts=texts, dialogs=dialogs, commands=commands, categories=categories, outreach=outreach
    )
