"""Tests for importing the list of units from CSV and XLSX files."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from pathlib import Path

import openpyxl
import pytest

from bot.units.importer import (
    ImportReport,
    RowProblem,
    format_report,
    import_units,
    parse_units_file,
)
from content.texts import Texts, placeholders
from storage.db import Database
from storage.units import Unit, UnitRepository

CONTENT = Path(__file__).resolve().parent.parent / "content"
SAMPLE = CONTENT / "data" / "sample_units.csv"
TEXTS_FILE = CONTENT / "texts" / "vi.yaml"

HEADER = "Mã đơn vị,Tên đơn vị,Loại hình,Địa bàn"
GOOD_ROWS = [
    "THPT-DX01,Trường THPT Đồng Xoài,THPT,Phường Đồng Xoài",
    'TH-BH01,"Trường Tiểu học Nguyễn Du, cơ sở 2",Tiểu học,Phường Tam Hiệp',
    "mn-bh01,Trường Mầm non Hoa Sen,Mầm non,Phường Hố Nai",
]


@pytest.fixture
def texts() -> Texts:
    return Texts.load()


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "antq.sqlite3")
    try:
        yield database
    finally:
        await database.close()


def write(path: Path, lines: list[str]) -> Path:
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8"))
    return path


def write_xlsx(path: Path, rows: list[list[object]]) -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


@pytest.mark.parametrize(("delimiter", "bom"), [(",", False), (",", True), (";", True)])
def test_good_csv(tmp_path: Path, delimiter: str, bom: bool) -> None:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows(
        [
            HEADER.split(","),
            ["THPT-DX01", "Trường THPT Đồng Xoài", "THPT", "Phường Đồng Xoài"],
            ["TH-BH01", "Trường Tiểu học Nguyễn Du, cơ sở 2", "Tiểu học", "Phường Tam Hiệp"],
            [" mn-bh01 ", "Trường Mầm non Hoa Sen", "Mầm non", "Phường Hố Nai "],
        ]
    )
    path = tmp_path / "units.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8"))

    result = parse_units_file(path)

    assert result.problems == []
    assert result.units == [
        Unit("THPT-DX01", "Trường THPT Đồng Xoài", "THPT", "Phường Đồng Xoài"),
        Unit("TH-BH01", "Trường Tiểu học Nguyễn Du, cơ sở 2", "Tiểu học", "Phường Tam Hiệp"),
        Unit("MN-BH01", "Trường Mầm non Hoa Sen", "Mầm non", "Phường Hố Nai"),
    ]


def test_headers_in_english_or_short_vietnamese_any_case_and_accents(tmp_path: Path) -> None:
    path = write(
        tmp_path / "units.csv",
        [
            "  KIND ; ten ; khu vuc ; MÃ ;Ghi chú",
            "Mầm non;  Trường Mầm non   Sơn Ca ;Xã Định Quán; a.1_b ;x",
        ],
    )

    result = parse_units_file(path)

    assert result.problems == []
    assert result.units == [Unit("A.1_B", "Trường Mầm non Sơn Ca", "Mầm non", "Xã Định Quán")]


def test_good_xlsx_with_numbers_title_row_and_empty_rows(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "units.xlsx",
        [
            ["DANH SÁCH ĐƠN VỊ TRỰC THUỘC SỞ"],
            [None],
            ["STT", "Mã", "Tên đơn vị", "Loại hình", "Huyện/Thành phố"],
            [1, 101, "Trường THPT Chu Văn An", "THPT", "Phường Tam Hiệp"],
            [2, None, None, None, None],
            [None, None, None, None, None],
            [3, 102.0, " Trường THCS Tân Phú ", "THCS", "Phường Đồng Xoài"],
        ],
    )

    result = parse_units_file(path)

    assert result.problems == []
    assert result.units == [
        Unit("101", "Trường THPT Chu Văn An", "THPT", "Phường Tam Hiệp"),
        Unit("102", "Trường THCS Tân Phú", "THCS", "Phường Đồng Xoài"),
    ]


def test_xlsx_problem_lines_are_spreadsheet_rows(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "units.xlsx",
        [
            ["code", "name", "kind", "area"],
            ["A1", "Trường A", "THPT", "Xã Lộc Ninh"],
            [None, None, None, None],
            ["A2", "B", "THPT", "Xã Lộc Ninh"],
        ],
    )

    assert parse_units_file(path).problems == [
        RowProblem(4, "name", "units_import.problem.too_short", "B", {"min": 2})
    ]


async def test_two_bad_rows_are_reported_and_nothing_is_imported(
    tmp_path: Path, db: Database, texts: Texts
) -> None:
    await UnitRepository(db).upsert_all([Unit("OLD", "Trường Cũ", "THPT", "Xã Lộc Ninh")])
    path = write(
        tmp_path / "units.csv",
        [
            HEADER,
            GOOD_ROWS[0],
            "",
            "THCS 01,Trường THCS Tân Phú,THCS,Phường Đồng Xoài",
            GOOD_ROWS[2],
            "TH-02,,Tiểu học,Xã Lộc Ninh",
        ],
    )

    report = await import_units(db, path)

    assert report == ImportReport(
        0,
        0,
        [
            RowProblem(4, "code", "units_import.problem.code_invalid", "THCS 01"),
            RowProblem(6, "name", "units_import.problem.required", ""),
        ],
    )
    assert await UnitRepository(db).count() == 1
    text = format_report(report, texts)
    assert text.splitlines()[0].startswith("Chưa nhập đơn vị nào vì tệp có 2 lỗi")
    assert text.splitlines()[1].startswith("Dòng 4, cột Mã đơn vị: mã “THCS 01”")
    assert text.splitlines()[2] == "Dòng 6, cột Tên đơn vị: ô này đang trống, xin điền vào."


def test_line_numbers_count_lines_inside_quoted_cells(tmp_path: Path) -> None:
    path = write(
        tmp_path / "units.csv",
        [HEADER, 'A1,"Trường A\r\ncơ sở 2",THPT,Xã Lộc Ninh', "A2,Trường B,,Xã Lộc Ninh"],
    )

    result = parse_units_file(path)

    assert result.problems == [RowProblem(4, "kind", "units_import.problem.required", "")]
    assert result.units[0].name == "Trường A cơ sở 2"


def test_lengths_are_checked(tmp_path: Path) -> None:
    long_code = "X" * 33
    path = write(
        tmp_path / "units.csv",
        [
            HEADER,
            f"{long_code},Trường A,THPT,Xã Lộc Ninh",
            f"A2,{'Đ' * 201},{'L' * 61},{'K' * 101}",
            f"{'Y' * 32},{'Đ' * 200},{'L' * 60},{'K' * 100}",
        ],
    )

    problems = parse_units_file(path).problems

    assert [(p.line, p.field, p.reason_key, dict(p.params)) for p in problems] == [
        (2, "code", "units_import.problem.too_long", {"length": 33, "max": 32}),
        (3, "name", "units_import.problem.too_long", {"length": 201, "max": 200}),
        (3, "kind", "units_import.problem.too_long", {"length": 61, "max": 60}),
        (3, "area", "units_import.problem.too_long", {"length": 101, "max": 100}),
    ]


def test_duplicate_code_names_the_first_line(tmp_path: Path, texts: Texts) -> None:
    path = write(
        tmp_path / "units.csv",
        [HEADER, *GOOD_ROWS, "thpt-dx01,Trường THPT Đồng Xoài 2,THPT,Phường Đồng Xoài"],
    )

    result = parse_units_file(path)

    assert result.problems == [
        RowProblem(5, "code", "units_import.problem.duplicate_code", "thpt-dx01", {"first_line": 2})
    ]
    text = format_report(ImportReport(0, 0, result.problems), texts)
    assert "Dòng 5, cột Mã đơn vị: mã “thpt-dx01” bị trùng với mã ở dòng 2" in text


def test_missing_column_is_reported_at_line_1(tmp_path: Path, texts: Texts) -> None:
    path = write(tmp_path / "units.csv", ["Mã đơn vị,Tên đơn vị,Loại hình", "A1,Trường A,THPT"])

    result = parse_units_file(path)

    assert result.units == []
    assert result.problems == [RowProblem(1, "area", "units_import.problem.missing_column", "")]
    assert (
        format_report(ImportReport(0, 0, result.problems), texts)
        .splitlines()[1]
        .startswith("Dòng 1, cột Địa bàn: thiếu cột này.")
    )


def test_duplicate_column_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "units.csv", [HEADER + ",Khu vực", GOOD_ROWS[0] + ",X"])

    assert parse_units_file(path).problems == [
        RowProblem(1, "area", "units_import.problem.duplicate_column", "Khu vực")
    ]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("units.xls", b"whatever", "unsupported_type"),
        ("units.txt", HEADER.encode(), "unsupported_type"),
        ("units.csv", b"", "empty"),
        ("units.csv", b"\xef\xbb\xbf\r\n ; ; \r\n", "empty"),
        ("units.csv", (HEADER + "\n").encode(), "no_units"),
        ("units.csv", "Mã,Tên,Kind,Area".encode("cp1252"), "not_utf8"),
        ("units.csv", HEADER.encode("utf-16"), "not_utf8"),
        ("units.xlsx", b"not a zip file", "unreadable"),
    ],
)
def test_bad_files_give_one_problem_at_line_0(
    tmp_path: Path, name: str, content: bytes, reason: str, texts: Texts
) -> None:
    path = tmp_path / name
    path.write_bytes(content)

    result = parse_units_file(path)

    assert result.units == []
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert (problem.line, problem.field, problem.reason_key) == (
        0,
        "",
        f"units_import.problem.{reason}",
    )
    assert (
        format_report(ImportReport(0, 0, result.problems), texts)
        .splitlines()[1]
        .startswith("Tệp: ")
    )


def test_missing_file_is_unreadable(tmp_path: Path) -> None:
    for name in ("nowhere.csv", "nowhere.xlsx"):
        problems = parse_units_file(tmp_path / name).problems
        assert [(p.line, p.reason_key) for p in problems] == [
            (0, "units_import.problem.unreadable")
        ]


async def test_reimport_updates_names(tmp_path: Path, db: Database, texts: Texts) -> None:
    first = write(tmp_path / "first.csv", [HEADER, *GOOD_ROWS])
    report = await import_units(db, first)
    assert (report.added, report.updated, report.problems) == (3, 0, [])

    second = write(
        tmp_path / "second.csv",
        [
            HEADER,
            "THPT-DX01,Trường THPT Đồng Xoài (mới),THPT,Phường Đồng Xoài",
            "THCS-TP01,Trường THCS Tân Phú,THCS,Phường Đồng Xoài",
        ],
    )
    report = await import_units(db, second)

    assert (report.added, report.updated, report.problems) == (1, 1, [])
    repo = UnitRepository(db)
    assert await repo.count() == 4
    unit = await repo.get("THPT-DX01")
    assert unit is not None
    assert unit.name == "Trường THPT Đồng Xoài (mới)"
    assert format_report(report, texts) == (
        "Đã nhập xong danh sách đơn vị: 2 đơn vị, trong đó 1 đơn vị mới và 1 đơn vị được cập nhật."
    )


async def test_sample_file_imports_cleanly_and_is_searchable(db: Database) -> None:
    result = parse_units_file(SAMPLE)
    assert result.problems == []
    assert 25 <= len(result.units) <= 40

    report = await import_units(db, SAMPLE)

    assert (report.added, report.updated, report.problems) == (len(result.units), 0, [])
    repo = UnitRepository(db)
    assert await repo.count() == len(result.units)
    found, total = await repo.search("nguyen du", 0, 10)
    assert total == 1
    assert [unit.name for unit in found] == ["Trường Tiểu học Nguyễn Du"]


def test_report_escapes_values_only_for_html(texts: Texts) -> None:
    report = ImportReport(0, 0, [RowProblem(3, "code", "units_import.problem.code_invalid", "<b>")])

    assert "“<b>”" in format_report(report, texts)
    assert "“&lt;b&gt;”" in format_report(report, texts, html=True)


def test_report_can_be_shortened(texts: Texts) -> None:
    problems = [RowProblem(n, "name", "units_import.problem.required", "") for n in range(2, 12)]

    text = format_report(ImportReport(0, 0, problems), texts, max_problems=3)

    assert len(text.splitlines()) == 5
    assert text.splitlines()[-1] == "… và 7 lỗi khác."


def test_every_problem_key_has_a_text_with_known_placeholders(texts: Texts) -> None:
    source = (Path(__file__).resolve().parent.parent / "bot" / "units" / "importer.py").read_text(
        encoding="utf-8"
    )
    params = {"value", "min", "max", "length", "first_line"}
    for key in sorted(texts):
        if key.startswith("units_import.problem."):
            assert f'"{key.rsplit(".", 1)[1]}"' in source, key
            assert placeholders(texts.template(key)) <= params, key
    for field in ("code", "name", "kind", "area"):
        assert texts.has(f"units_import.column.{field}")
