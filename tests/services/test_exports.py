"""The CSV and XLSX writers of exports (``queue.exports``), without a database: cells, formula
injection, characters XML cannot hold, one page after another."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession

from app.reference.exports import ExportFormat
from app.services.queue.exports import Column, Export, csv_cell, stream

ROWS = [
    ('=HYPERLINK("http://x")', date(2026, 1, 2), 7, True),
    ("-5 plain", None, 0, False),
    ("Zoë\x07 O'Brien", date(2025, 12, 31), 22, None),
]
COLUMNS: list[Column[tuple[Any, ...]]] = [
    Column("Name", lambda r: r[0]),
    Column("Date", lambda r: r[1]),
    Column("Score", lambda r: r[2]),
    Column("Flag", lambda r: r[3]),
]


def _export() -> Export[tuple[Any, ...]]:
    """The first row as the first page, then one page a row (no database needed: ``next_page``
    is only called through ``unit_of_work``, which a fake sessionmaker satisfies)."""
    pages = {"2": ([ROWS[1]], "3"), "3": ([ROWS[2]], None)}

    async def next_page(session: AsyncSession, cursor: str) -> tuple[Sequence[Any], str | None]:
        return pages[cursor]

    return Export(
        columns=COLUMNS,
        first=[ROWS[0]],
        next_cursor="2",
        next_page=next_page,
        sessionmaker=_FakeSessions(),  # type: ignore[arg-type]
        coc_id=uuid.uuid4(),
    )


class _FakeSession:
    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def close(self) -> None: ...

    def __init__(self) -> None:
        self.info: dict[str, Any] = {}  # each later page's unit of work is scoped to the CoC


class _FakeSessions:
    def __call__(self) -> _FakeSession:
        return _FakeSession()


def test_csv_cells() -> None:
    assert csv_cell(None) == ""
    assert csv_cell(True) == "yes"
    assert csv_cell(date(2026, 3, 1)) == "2026-03-01"
    assert csv_cell(-3) == "-3"  # numbers are numbers
    for text in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx"):
        assert csv_cell(text) == "'" + text  # never run as a formula


async def test_csv_stream() -> None:
    data = b"".join([chunk async for chunk in stream(_export(), ExportFormat.CSV)])
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows == [
        ["Name", "Date", "Score", "Flag"],
        ['\'=HYPERLINK("http://x")', "2026-01-02", "7", "yes"],
        ["'-5 plain", "", "0", "no"],
        ["Zoë\x07 O'Brien", "2025-12-31", "22", ""],
    ]


async def test_xlsx_stream() -> None:
    data = b"".join([chunk async for chunk in stream(_export(), ExportFormat.XLSX)])
    book = load_workbook(io.BytesIO(data))
    sheet = book.active
    assert sheet is not None and sheet.title == "Export"
    assert sheet["A2"].value == '=HYPERLINK("http://x")' and sheet["A2"].data_type == "s"
    assert sheet["B2"].is_date and sheet["C2"].value == 7 and sheet["D2"].value == "yes"
    assert sheet["A4"].value == "Zoë O'Brien"  # the bell character XML cannot hold is dropped
    assert sheet.max_row == 4
