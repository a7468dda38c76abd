"""Every content file validates, every text key the code uses exists, and bad files are refused."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import content
from content import CONTENT_DIR, ContentError
from content.texts import Texts, placeholders

ROOT = Path(__file__).resolve().parent.parent
CODE_FOLDERS = ["bot", "handlers", "content", "sandbox"]
KEY_LITERAL = re.compile(r"""["']([a-z_]+(?:\.[a-z_]+)+)["']""")
FILE_SUFFIXES = {"yaml", "yml", "csv", "xlsx", "py", "md", "sql", "db", "json"}
DYNAMIC_KEYS = {  # keys built with f-strings in code, listed with every value they can take
    "help.{role}": ["unregistered", "teacher", "parent", "head", "office"],
    "roles.{role}": ["teacher", "parent", "head"],
}


def test_all_content_loads(bundle):
    assert {"onboarding", "delete_data"} <= set(bundle.dialogs)
    assert bundle.commands


def test_every_text_key_used_in_code_exists(bundle):
    sections = {key.split(".")[0] for key in bundle.texts}
    missing = []
    for folder in CODE_FOLDERS:
        for path in (ROOT / folder).rglob("*.py"):
            for key in KEY_LITERAL.findall(path.read_text(encoding="utf-8")):
                if key.rsplit(".", 1)[1] in FILE_SUFFIXES:
                    continue
                if key.split(".")[0] in sections and not bundle.texts.has(key):
                    missing.append(f"{path.relative_to(ROOT)}: {key}")
    for template, values in DYNAMIC_KEYS.items():
        missing += [
            template.format(role=v) for v in values if not bundle.texts.has(template.format(role=v))
        ]
    assert missing == []


def test_texts_are_vietnamese_with_diacritics(bundle):
    accented = re.compile(
        r"[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ]", re.I
    )
    long_texts = [k for k in bundle.texts if len(bundle.texts.template(k)) > 40]
    assert long_texts
    assert [k for k in long_texts if not accented.search(bundle.texts.template(k))] == []


def test_templates_format_with_their_own_placeholders(bundle):
    for key in bundle.texts:
        names = placeholders(bundle.texts.template(key))
        bundle.texts.get(key, **{name: "x" for name in names})


def copy_content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(CONTENT_DIR, target, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return target


def test_a_dialog_with_an_unknown_step_kind_is_a_clear_error(tmp_path):
    folder = copy_content(tmp_path)
    path = folder / "dialogs" / "onboarding.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("kind: confirm", "kind: dance"), encoding="utf-8"
    )
    with pytest.raises(ContentError, match="onboarding.yaml"):
        content.load(folder)


def test_a_dialog_naming_a_missing_text_is_a_clear_error(tmp_path):
    folder = copy_content(tmp_path)
    path = folder / "dialogs" / "delete_data.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("delete_data.confirm.prompt", "delete_data.nope"),
        encoding="utf-8",
    )
    with pytest.raises(ContentError, match="delete_data.nope"):
        content.load(folder)


def test_unquoted_yes_key_is_refused(tmp_path):
    (tmp_path / "vi.yaml").write_text("a:\n  yes: Có\n", encoding="utf-8")
    with pytest.raises(ContentError, match="keys must be text"):
        Texts.load("vi", tmp_path)


def test_parameters_are_escaped_but_templates_keep_their_markup():
    texts = Texts({"k": "<b>{name}</b>"})
    assert texts.get("k", name="<script>&") == "<b>&lt;script&gt;&amp;</b>"


def test_a_channel_variant_is_used_on_its_channel_and_the_plain_key_elsewhere():
    texts = Texts({"k": "Chung {name}", "k@zalo": "Zalo {name}", "k@telegram": "Telegram {name}"})
    assert texts.get("k", name="x") == "Chung x"
    assert texts.get("k", channel=None, name="x") == "Chung x"
    assert texts.get("k", channel="zalo", name="<x>") == "Zalo &lt;x&gt;"
    assert texts.raw("k", channel="telegram", name="<x>") == "Telegram <x>"
    assert texts.template("k", "web") == "Chung {name}"
    assert texts.variants("k") == {"telegram": "Telegram {name}", "zalo": "Zalo {name}"}


@pytest.mark.parametrize(
    ("templates", "problem"),
    [
        ({"k": "A {x}", "k@zalo": "B {y}"}, "placeholders"),
        ({"k@zalo": "B"}, "needs the plain key"),
        ({"k": "A", "k@sms": "B"}, "unknown channel"),
    ],
)
def test_a_bad_channel_variant_is_refused(templates, problem):
    with pytest.raises(ContentError, match=problem):
        Texts(templates)


def test_variants_in_a_yaml_file_are_sibling_keys(tmp_path):
    (tmp_path / "vi.yaml").write_text(
        "privacy:\n  notice: Chung\n  notice@zalo: Zalo\n", encoding="utf-8"
    )
    texts = Texts.load("vi", tmp_path)
    assert texts.get("privacy.notice", channel="zalo") == "Zalo"
    assert texts.get("privacy.notice", channel="web") == "Chung"
