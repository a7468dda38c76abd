"""House style and channel rules, checked when the content is loaded (and by the tests).

House style of a week's staff version: a bold headline, the greeting, the four headings in order
(each after a blank line), a closing line that is not a list item; the parents' version opens
with a bold headline. Everywhere: "Ban Giám hiệu", "114 (Cứu hỏa, cứu nạn, cứu hộ)".
Channels: a text that can reach Zalo names neither Telegram nor a Telegram-only gesture, and is at
most 2,000 UTF-16 code units (a long staff version: each paragraph, as the adapter splits there).
"""

from __future__ import annotations

import re

from content.outreach_schema import check_telegram_html

GREETING = "Kính thưa quý thầy cô, các em học sinh thân mến!"
HEADINGS = ("Những điểm chính", "Tình huống", "Cần làm gì", "Khi cần giúp đỡ")
LABEL_114 = "114 (Cứu hỏa, cứu nạn, cứu hộ)"
ZALO_LIMIT = 2000  # UTF-16 code units per message
WRONG_WORDING = {  # a wording the series does not use, and the one it does
    "Ban giám hiệu": "Ban Giám hiệu",
    "thân mến các em học sinh": "các em học sinh thân mến",
    "Gọi ai": "Khi cần giúp đỡ",
}
WRONG_114 = re.compile(r"114(?:</b>)?\s*(?:–\s*|\(\s*)?(?:[Cc]ứu nạn|PCCC|[Cc]ứu hộ)")
TELEGRAM_ONLY = re.compile(r"telegram|bấm 📎|@botfather", re.IGNORECASE)


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def wording_problems(text: str) -> list[str]:
    problems = [
        f"write “{good}”, not “{bad}”" for bad, good in WRONG_WORDING.items() if bad in text
    ]
    if WRONG_114.search(text):
        problems.append(f"label 114 as “{LABEL_114}”")
    return problems


def staff_problems(text: str) -> list[str]:
    lines = text.split("\n")
    problems = wording_problems(text)
    if not re.fullmatch(r"<b>[^<]{3,80}</b>", lines[0]):
        problems.append("the staff version opens with a bold headline line")
    if len(lines) < 2 or lines[1] != GREETING:
        problems.append(f"the second line is the greeting “{GREETING}”")
    position = 0
    for heading in HEADINGS:
        try:
            index = lines.index(f"<b>{heading}</b>", position)
        except ValueError:
            problems.append(f"missing or out of order: the heading <b>{heading}</b>")
            continue
        if lines[index - 1] != "":
            problems.append(f"a blank line goes before <b>{heading}</b>")
        position = index + 1
    closing = text.rstrip().split("\n\n")[-1]
    if re.match(r"\s*(•|\d+\.|<b>)", closing):
        problems.append("end with a closing line, not a list or a heading")
    return problems


def parent_problems(text: str) -> list[str]:
    first = text.split("\n", 1)[0]
    problems = wording_problems(text)
    if not re.fullmatch(r"<b>[^<]{3,90}</b>", first) or "Gửi quý phụ huynh" in first:
        problems.append("the parents' version opens with an informative bold headline")
    if "\n\n" in text:
        problems.append("the parents' version has no blank lines (phone-sized)")
    return problems


def zalo_problems(text: str, long: bool = False) -> list[str]:
    """A text that can reach Zalo: no Telegram, no Telegram-only gesture, within the limit."""
    plain = check_telegram_html(text)[0]
    problems = []
    if TELEGRAM_ONLY.search(plain):
        problems.append("names Telegram or a Telegram-only gesture: write a @telegram variant")
    parts = check_telegram_html(text)[0].split("\n\n") if long else [plain]
    for part in parts:
        if utf16_length(part) > ZALO_LIMIT:
            what = "a paragraph" if long else "the text"
            problems.append(f"{what} is {utf16_length(part)} UTF-16 units, Zalo takes {ZALO_LIMIT}")
    return problems
