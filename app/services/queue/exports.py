"""Exports of a filtered list (the queue, a caseload) as CSV or XLSX, streamed in constant memory.

An export walks the list page by page with the list's own keyset pagination. Each page is read
in a unit of work of its own that also records the read of every client on it (``pii.read``
with ``subject_ids``) and is committed **before** the page's bytes are produced: whatever leaves
the server was audited first, a dropped connection leaves no client shown without a trace, and
no transaction stays open while a slow client reads. Memory holds one page at a time (the XLSX
workbook is written by openpyxl's write-only mode to a temporary file, then streamed from it).

The first page is read in the request's own unit of work (``first``), so a bad filter or
cursor is still a problem response; the following pages are read as the body is sent. The pages
are not one snapshot: an entry that moves while the export runs may be missed or shown twice,
as when paging the list by hand.

Read replica (``CAS_DATABASE_REPLICA_URL``): the rows are read on the replica, in one
``REPEATABLE READ, READ ONLY`` transaction for the whole export (one snapshot: consistent
across its pages, possibly a few seconds behind the primary), held by the request until its
response has been sent. Everything else stays on the primary: who the caller is and what they
may see, the filter's check, the recomputation of stale queue entries, and each page's audit,
still committed on the primary before the page's bytes are produced (the first page's with the
request's unit of work, before the response starts).

CSV: UTF-8 with a byte-order mark (spreadsheet programs then read names with accents right),
CRLF line ends (RFC 4180); text that a spreadsheet would run as a formula (``=``, ``+``, ``-``,
``@`` first) is written with a leading apostrophe. XLSX: text cells are always text, never
formulas; dates are dates.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any, Generic, TypeVar

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.context import Actor
from app.models.scoping import scope_to_coc
from app.reference.exports import ExportFormat
from app.services.queue.entries import list_entries
from app.services.queue.listing import QueueFilter, QueueOrder
from app.unit_of_work import unit_of_work

T = TypeVar("T")

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Column(Generic[T]):
    """One column: its header and how a row gives its cell (text, number, date or None)."""

    header: str
    value: Callable[[T], object]


@dataclass
class Export(Generic[T]):
    """A list to export: its columns, and its pages -- the first read already, the rest read
    (and audited) one unit of work each by ``next_page(session, cursor)``."""

    columns: Sequence[Column[T]]
    first: Sequence[T]
    next_cursor: str | None
    next_page: Callable[[AsyncSession, str], Awaitable[tuple[Sequence[T], str | None]]]
    sessionmaker: async_sessionmaker[AsyncSession]
    # The caller's CoC: each later page's unit of work reads only its rows, as the request did.
    coc_id: uuid.UUID
    sheet_title: str = "Export"


async def pages(export: Export[T]) -> AsyncIterator[Sequence[T]]:
    """The export's pages: the first, then each following one read and audited in a unit of
    work committed before the page is handed on."""
    yield export.first
    cursor = export.next_cursor
    while cursor is not None:
        async with unit_of_work(export.sessionmaker) as session:
            scope_to_coc(session, export.coc_id)
            rows, cursor = await export.next_page(session, cursor)
        yield rows


def filename(stem: str, fmt: ExportFormat, today: date) -> str:
    return f"{stem}-{today.isoformat()}.{fmt.value}"


def content_disposition(stem: str, fmt: ExportFormat, today: date) -> str:
    return f'attachment; filename="{filename(stem, fmt, today)}"'


def stream(export: Export[T], fmt: ExportFormat) -> AsyncIterator[bytes]:
    return csv_stream(export) if fmt == ExportFormat.CSV else xlsx_stream(export)


# --- CSV ----------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def _csv_lines(rows: Sequence[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([[csv_cell(v) for v in row] for row in rows])
    return buffer.getvalue().encode("utf-8")


async def csv_stream(export: Export[T]) -> AsyncIterator[bytes]:
    yield b"\xef\xbb\xbf" + _csv_lines([[c.header for c in export.columns]])
    async for page in pages(export):
        if page:
            yield _csv_lines([[c.value(row) for c in export.columns] for row in page])


# --- XLSX ---------------------------------------------------------------------------------------

# Characters XML 1.0 cannot hold (openpyxl refuses them).
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: object) -> Any:
    if value is None or isinstance(value, bool | int | float | date):
        if isinstance(value, bool):
            value = "yes" if value else "no"
        return value
    cell = WriteOnlyCell(sheet, value=_ILLEGAL_XML.sub("", str(value)))
    cell.data_type = "s"  # text, even when it starts with "=" (never a formula)
    return cell


def _append_rows(sheet: WriteOnlyWorksheet, rows: Sequence[Sequence[object]]) -> None:
    for row in rows:
        sheet.append([_xlsx_cell(sheet, v) for v in row])


def _save(workbook: Workbook, out: IO[bytes]) -> None:
    workbook.save(out)
    out.seek(0)


async def xlsx_stream(export: Export[T]) -> AsyncIterator[bytes]:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=export.sheet_title)
    await asyncio.to_thread(_append_rows, sheet, [[c.header for c in export.columns]])
    async for page in pages(export):
        rows = [[c.value(row) for c in export.columns] for row in page]
        await asyncio.to_thread(_append_rows, sheet, rows)
    with tempfile.TemporaryFile() as out:
        await asyncio.to_thread(_save, workbook, out)
        while chunk := await asyncio.to_thread(out.read, CHUNK):
            yield chunk


# --- the queue ----------------------------------------------------------------------------------


def _joined(values: Any) -> str:
    return "; ".join(str(v) for v in values)


def _key(name: str) -> Callable[[dict[str, Any]], object]:
    def value(row: dict[str, Any]) -> object:
        for key in row["priority"]["keys"]:
            if key["key"] == name:
                return key["value"]
        return None

    return value


QUEUE_COLUMNS: list[Column[dict[str, Any]]] = [
    Column("Rank", lambda r: r["priority"]["rank"]),
    Column("Client ID", lambda r: str(r["client"]["id"])),
    Column("First name", lambda r: r["client"]["first_name"]),
    Column("Last name", lambda r: r["client"]["last_name"]),
    Column("CAS intake status", lambda r: r["intake_status"]),
    Column("Placed on", lambda r: r["placed_on"]),
    Column("Days on queue", lambda r: r["days_on_queue"]),
    Column("Score", lambda r: r["score"]),
    Column("Score tool", lambda r: r["score_tool"]),
    Column("Chronic (recorded)", lambda r: r["chronic"]["recorded"]),
    Column("Chronic (documented)", lambda r: r["chronic"]["documented"]),
    Column("Days homeless (3 years)", lambda r: r["days_homeless_3y"]),
    Column("Household type", lambda r: r["household"]["household_type"]),
    Column("Family count", lambda r: r["household"]["size"]),
    Column("Veteran", lambda r: r["household"]["veteran"]),
    Column("Family with children", lambda r: r["household"]["family_with_children"]),
    Column("Youth", lambda r: r["household"]["youth"]),
    Column("Referral status", lambda r: r["referral_status"]),
    Column("Document status", lambda r: r["document_status"]),
    Column("Documents on file", lambda r: _joined(r["documents_on_file"])),
    Column("Inactive", lambda r: r["inactive"]),
    Column("Case managers", lambda r: _joined(m["full_name"] for m in r["case_managers"])),
    Column("Tie-breaker", lambda r: r["priority"]["tie_breaker"]),
    Column("Queue entry ID", lambda r: str(r["id"])),
]


async def export_queue(
    session: AsyncSession,
    actor: Actor,
    f: QueueFilter,
    order: QueueOrder,
    *,
    page_size: int,
    sessionmaker: async_sessionmaker[AsyncSession],
    replica: AsyncSession | None = None,
    loc: str = "query",
) -> Export[dict[str, Any]]:
    """The queue (``entries.list_entries``: its visibility, filters, order, rank and audit) as
    an export: the first page read now, the others as the file is sent. ``replica``: the rows
    are read there (see the module: read replica), the audit is written on the primary."""
    if replica is not None:
        scope_to_coc(replica, actor.coc_id)

    async def next_page(s: AsyncSession, cursor: str) -> tuple[list[dict[str, Any]], str | None]:
        found = await list_entries(
            replica or s, actor, f, order, page_size, cursor, loc=loc, primary=s
        )
        return found.items, found.next_cursor

    first = await list_entries(
        replica or session, actor, f, order, page_size, None, loc=loc, primary=session
    )
    return Export(
        columns=QUEUE_COLUMNS,
        first=first.items,
        next_cursor=first.next_cursor,
        next_page=next_page,
        sessionmaker=sessionmaker,
        coc_id=actor.coc_id,
        sheet_title="CAS queue",
    )
