"""The demo community at scale: several hundred households, set-based.

The hand-made demo households (``app.services.demo``) go through the services one request at a
time: the intake, Document Check, the queue's review, matches and their outcomes, exits. Each of
them, with everything those requests wrote (the client and household rows, the enrollment and its
HUD records, the queue entry and its history, the documents, the matches and their timelines, the
units the matches hold, the audit trail, the notification events and their fan-out: inbox
notifications, emails and the jobs that made them), is one *template*. The community is the
templates written again, generation after generation, as whole sets of rows in one INSERT per
table: new ids throughout (foreign keys, ids inside JSON and text follow), other people (names,
dates of birth, a score a few points off), the household's dates moved back by the same number of
days (households with no match only: a match's stall and park clocks stay as the requests left
them), a unit label of its own for every unit a template's match holds, and a document file of
its own (a small PDF or PNG made here, stored encrypted like an upload) for every document. What
is written is what the same requests would have written for those people on those dates; the
queue's household facts are then recomputed like the daily refresh does.

The same every time: the random numbers come from a fixed seed, the templates in a fixed order.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import random
import re
import struct
import uuid
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache, partial
from typing import Any

from sqlalchemy import Date, Table, or_, select, update
from sqlalchemy.dialects.postgresql import JSON, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.config import Settings
from app.models import Base, Coc, Organization
from app.models.jobs import Job
from app.models.notifications import WebhookSubscription
from app.models.platform import NotificationEvent
from app.models.queue import QueueEntry
from app.services.clients.search import name_keys
from app.services.notifications import fanout, webhooks
from app.services.platform import audit, events
from app.services.queue import facts
from app.storage import FileStore
from app.unit_of_work import on_rollback

# Tables shared by every household (the CoC, its organizations, users, projects, settings and
# option lists, imports and exports, sessions): never part of a template.
SHARED_TABLES = frozenset(
    {
        "cocs",
        "users",
        "organizations",
        "memberships",
        "membership_history",
        "projects",
        "project_matching_profiles",
        "project_requirements",
        "area_tie_options",
        "document_type_options",
        "hmis_data_sources",
        "hmis_adopted_records",
        "hmis_exports",
        "hmis_imports",
        "hmis_import_issues",
        "hmis_tombstones",
        "idempotency_records",
        "auth_sessions",
        "refresh_tokens",
        "one_time_tokens",
        "notification_preferences",
        "matching_policies",
        "queue_settings",
        "cas_contacts",
        "webhook_subscriptions",
    }
)

_UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DATE_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}")
_SCORE_KEYS = frozenset({"score", "previous_score", "from_score", "to_score"})
# Column values a household written again keeps whatever the column (not ids, text, dates).
_KEPT_AS_IS = frozenset({bool, int, float, datetime})

_FIRST_NAMES = {
    0: [
        "Abigail",
        "Adriana",
        "Alicia",
        "Ana",
        "Angela",
        "Beatriz",
        "Brenda",
        "Camila",
        "Carmen",
        "Chloe",
        "Crystal",
        "Danielle",
        "Deborah",
        "Denise",
        "Diana",
        "Ebony",
        "Esperanza",
        "Gloria",
        "Imani",
        "Jasmine",
        "Jennifer",
        "Jessica",
        "Kayla",
        "Kimberly",
        "Latoya",
        "Leticia",
        "Lillian",
        "Lupe",
        "Makayla",
        "Marisol",
        "Megan",
        "Monique",
        "Nadia",
        "Naomi",
        "Paula",
        "Priya",
        "Rachel",
        "Renee",
        "Sandra",
        "Shanice",
        "Sharon",
        "Tamika",
        "Teresa",
        "Valeria",
        "Vanessa",
        "Wanda",
        "Ximena",
        "Yolanda",
        "Zoe",
    ],
    1: [
        "Aaron",
        "Abdul",
        "Alberto",
        "Andre",
        "Antonio",
        "Brandon",
        "Bryan",
        "Calvin",
        "Carlos",
        "Cedric",
        "Curtis",
        "Darius",
        "Darnell",
        "Dennis",
        "Derek",
        "Eduardo",
        "Emmanuel",
        "Ernesto",
        "Felix",
        "Gary",
        "Hector",
        "Isaac",
        "Jamal",
        "Javier",
        "Jerome",
        "Jorge",
        "Juan",
        "Kareem",
        "Larry",
        "Luis",
        "Malik",
        "Marcus",
        "Nathan",
        "Omar",
        "Pedro",
        "Quentin",
        "Ramon",
        "Raymond",
        "Reginald",
        "Samuel",
        "Terrence",
        "Tyrone",
        "Victor",
        "Wayne",
        "Xavier",
        "Yusuf",
        "Zachary",
    ],
}
_CHILD_NAMES = [
    "Aiden",
    "Amir",
    "Ava",
    "Bella",
    "Caleb",
    "Diego",
    "Elijah",
    "Emma",
    "Isabella",
    "Jayden",
    "Liam",
    "Luna",
    "Maya",
    "Mia",
    "Noah",
    "Olivia",
    "Santiago",
    "Sofia",
    "Zion",
    "Zuri",
]
_LAST_NAMES = [
    "Adams", "Aguilar", "Alexander", "Allen", "Alvarez", "Baker", "Banks", "Barnes", "Bell",
    "Brooks", "Bryant", "Butler", "Campbell", "Carter", "Castillo", "Chavez", "Coleman",
    "Collins", "Cook", "Cooper", "Cruz", "Diaz", "Edwards", "Ellis", "Evans", "Fisher", "Ford",
    "Foster", "Freeman", "Gomez", "Graham", "Gray", "Green", "Griffin", "Gutierrez", "Hall",
    "Hamilton", "Hayes", "Henderson", "Hill", "Holmes", "Howard", "Hughes", "Hunt", "James",
    "Jenkins", "Jimenez", "Jordan", "Kelly", "Kennedy", "Kim", "King", "Long", "Marshall",
    "Mendoza", "Mitchell", "Murphy", "Myers", "Nelson", "Owens", "Palmer", "Parker",
    "Patterson", "Perry", "Peterson", "Phillips", "Powell", "Ramos", "Reed", "Reynolds",
    "Richardson", "Roberts", "Rogers", "Ross", "Ruiz", "Russell", "Scott", "Simmons", "Stewart",
    "Sullivan", "Torres", "Tran", "Turner", "Vasquez", "Wallace", "Ward", "Warren",
    "Washington", "Watson", "Wells", "West", "Wood", "Wright", "Young",
]  # fmt: skip


@dataclass
class _Template:
    """One connected set of rows: a household and everything written about it."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    has_match: bool = False
    order: tuple[str, ...] = ()


@dataclass
class Grown:
    clients: int = 0
    intakes: int = 0
    entries: list[uuid.UUID] = field(default_factory=list)


# --- files ---------------------------------------------------------------------------------------


def demo_pdf(title: str) -> bytes:
    """A valid one-page PDF that shows ``title`` (ASCII), with a correct cross-reference table."""
    text = title.encode("ascii", "replace").replace(b"\\", b"").replace(b"(", b"")
    text = text.replace(b")", b"")
    stream = b"BT /F1 18 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R"
        b"/Resources<</Font<</F1 5 0 R>>>>>>",
        b"<</Length " + str(len(stream)).encode() + b">>stream\n" + stream + b"\nendstream",
        b"<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj".encode() + body + b"endobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer<</Size {len(objects) + 1}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def demo_png(seed: int, size: int = 16) -> bytes:
    """A valid small grey-scale PNG, its pattern drawn from ``seed``."""
    rng = random.Random(seed)
    rows = b"".join(b"\x00" + rng.randbytes(size) for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# --- fan-out of the seed's own events ------------------------------------------------------------


async def fan_out_pending(session: AsyncSession, settings: Settings, coc: Coc) -> int:
    """Deliver the CoC's events not yet fanned out, in this unit of work (what the job runner
    would do after the commit), and mark their fan-out jobs done. How many notifications."""
    pending = (
        await session.scalars(
            select(NotificationEvent)
            .where(NotificationEvent.coc_id == coc.id, NotificationEvent.fanned_out_at.is_(None))
            .order_by(NotificationEvent.created_at, NotificationEvent.id)
        )
    ).all()
    made = 0
    for event in pending:
        made += await fanout.deliver_event(session, settings, event)
    await session.flush()
    now = clock.now()
    if pending:
        await session.execute(
            update(Job)
            .where(
                Job.kind == events.FAN_OUT,
                Job.status == "queued",
                Job.dedupe_key.in_([events.fan_out_key(e.id) for e in pending]),
            )
            .values(
                status="succeeded",
                attempts=1,
                started_at=now,
                finished_at=now,
                updated_at=now,
                locked_by="demo-seed",
            )
            .execution_options(synchronize_session=False)
        )
    return made


# --- templates -----------------------------------------------------------------------------------


def _tables() -> list[Table]:
    return [t for t in Base.metadata.sorted_tables if t.name not in SHARED_TABLES]


def _uuids_in(value: Any) -> Iterable[uuid.UUID]:
    if isinstance(value, uuid.UUID):
        yield value
    elif isinstance(value, str):
        for found in _UUID_TEXT.findall(value):
            yield uuid.UUID(found)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _uuids_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _uuids_in(item)


async def load_templates(session: AsyncSession, coc: Coc) -> list[_Template]:
    """The CoC's households with everything connected to them, one template each (rows that
    name two households join them into one template), in a fixed order."""
    await session.flush()
    tables = _tables()
    orgs = select(Organization.id).where(Organization.coc_id == coc.id)
    rows: dict[str, list[dict[str, Any]]] = {}
    owner: dict[uuid.UUID, uuid.UUID] = {}  # union-find over the rows' ids
    for table in tables:
        stmt = select(table)
        if "coc_id" in table.c:
            # Rows of no CoC (an email's delivery job) belong to the households they name.
            mine = table.c.coc_id == coc.id
            stmt = stmt.where(
                or_(mine, table.c.coc_id.is_(None)) if table.c.coc_id.nullable else mine
            )
        elif table.name == "client_access":
            stmt = stmt.where(table.c.organization_id.in_(orgs))
        rows[table.name] = [dict(r) for r in (await session.execute(stmt)).mappings().all()]
        for row in rows[table.name]:
            owner[row["id"]] = row["id"]

    def find(x: uuid.UUID) -> uuid.UUID:
        while owner[x] != x:
            owner[x] = owner[owner[x]]
            x = owner[x]
        return x

    for table in tables:
        for row in rows[table.name]:
            for value in _uuids_in([v for k, v in row.items() if k != "id"]):
                if value in owner:
                    a, b = find(row["id"]), find(value)
                    if a != b:
                        owner[a] = b
    groups: dict[uuid.UUID, _Template] = {}
    for table in tables:
        for row in rows[table.name]:
            template = groups.setdefault(find(row["id"]), _Template())
            template.rows.setdefault(table.name, []).append(row)
    templates = []
    for template in groups.values():
        people = template.rows.get("clients")
        if not people or any(c["merged_into_id"] for c in people):
            continue
        template.has_match = bool(template.rows.get("matches"))
        template.order = tuple(
            sorted(f"{c['last_name']},{c['first_name']},{c['dob']}" for c in people)
        )
        templates.append(template)
    templates.sort(key=lambda t: t.order)
    return templates


# --- one household written again -----------------------------------------------------------------


# A table's kinds of columns, looked up for every row written (so computed once per table).
@cache
def _date_columns(table: Table) -> frozenset[str]:
    return frozenset(c.name for c in table.columns if isinstance(c.type, Date))


@cache
def _json_columns(table: Table) -> frozenset[str]:
    return frozenset(c.name for c in table.columns if isinstance(c.type, JSON | JSONB))


@cache
def _skipped_columns(table: Table) -> frozenset[str]:
    return frozenset(c.name for c in table.columns if c.computed is not None)


class _Writer:
    """Writes one template again for one generation: ids, people, dates, scores, files."""

    def __init__(self, rng: random.Random, today: date, template: _Template, generation: int):
        self.rng = rng
        self.today = today
        self.template = template
        self.generation = generation
        self.ids: dict[uuid.UUID, uuid.UUID] = {}
        for table_rows in template.rows.values():
            for row in table_rows:
                self.ids[row["id"]] = uuid.UUID(int=rng.getrandbits(128), version=4)
        self.shift = 0 if template.has_match else rng.randrange(0, 240)
        self.score_delta = rng.randrange(-3, 4)

    def _id(self, value: uuid.UUID) -> uuid.UUID:
        return self.ids.get(value, value)

    def _text(self, value: str) -> str:
        if len(value) < 36 or "-" not in value:
            return value
        return _UUID_TEXT.sub(lambda m: str(self.ids.get(uuid.UUID(m[0]), m[0])), value)

    def _day(self, value: date | None) -> date | None:
        return value - timedelta(days=self.shift) if value is not None and self.shift else value

    def _json(self, value: Any, key: str | None = None) -> Any:
        if value is None or value.__class__ is bool:
            return value
        if isinstance(value, dict):
            return {k: self._json(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self._json(v) for v in value]
        if isinstance(value, str):
            if self.shift and len(value) == 10 and _DATE_TEXT.fullmatch(value):
                shifted = self._day(date.fromisoformat(value))
                return shifted.isoformat() if shifted else value
            return self._text(value)
        if isinstance(value, int) and not isinstance(value, bool) and key in _SCORE_KEYS:
            return self._score(value)
        return value

    def _score(self, value: int | None) -> int | None:
        """A score a few points off (within the VI-SPDAT's 0-17, or the template's own)."""
        return None if value is None else max(0, min(max(17, value), value + self.score_delta))

    def rows(self, table: Table) -> list[dict[str, Any]]:
        source = self.template.rows.get(table.name, [])
        if not source:
            return []
        dates = _date_columns(table)
        jsons = _json_columns(table)
        skipped = _skipped_columns(table)
        out = []
        for old in source:
            row: dict[str, Any] = {}
            for key, value in old.items():
                if key in skipped:
                    continue
                if value is None or value.__class__ in _KEPT_AS_IS:
                    row[key] = value
                    continue
                if isinstance(value, uuid.UUID):
                    value = self._id(value)
                elif key in jsons:
                    value = self._json(value)
                elif isinstance(value, str):
                    value = self._text(value)
                elif isinstance(value, list) and value and isinstance(value[0], uuid.UUID):
                    value = [self._id(v) for v in value]
                elif key in dates and key != "dob":
                    value = self._day(value)
                row[key] = value
            out.append(row)
        return out


def _adult_dob(rng: random.Random, old: date, today: date) -> date:
    shifted = old + timedelta(days=rng.randrange(-2200, 2200))
    return min(shifted, date(today.year - 19, today.month, 1))


def _child_dob(rng: random.Random, old: date, today: date, entry: date) -> date:
    shifted = old + timedelta(days=rng.randrange(-500, 500))
    return max(min(shifted, entry - timedelta(days=60)), date(today.year - 16, 1, 1))


def _people(writer: _Writer, clients: list[dict[str, Any]], entry: date) -> None:
    """Other people: one family name, first names by sex, dates of birth nearby."""
    rng = writer.rng
    family = rng.choice(_LAST_NAMES)
    for person in clients:
        old_dob = person["dob"]
        adult = old_dob is None or (entry - old_dob).days >= 18 * 366
        if adult:
            person["first_name"] = rng.choice(_FIRST_NAMES.get(person["sex"], _FIRST_NAMES[0]))
            if old_dob is not None:
                person["dob"] = _adult_dob(rng, old_dob, writer.today)
        else:
            person["first_name"] = rng.choice(_CHILD_NAMES)
            person["dob"] = _child_dob(rng, old_dob, writer.today, entry)
        person["last_name"] = family
        first, last = name_keys(person["first_name"]), name_keys(person["last_name"])
        person["first_name_norm"], person["first_name_key"], person["first_name_alt_key"] = first
        person["last_name_norm"], person["last_name_key"], person["last_name_alt_key"] = last


def _new_files(
    writer: _Writer, documents: list[dict[str, Any]], label: str
) -> list[tuple[dict[str, Any], bytes]]:
    """Each document its own small file: a PNG for IDs, else a PDF naming the document."""
    files = []
    for n, doc in enumerate(d for d in documents if d.get("storage_key")):
        if doc.get("file_type") == "photo_id" or doc.get("item") == "identity":
            data, content_type, name = demo_png(writer.rng.getrandbits(32)), "image/png", "id.png"
        else:
            kind = doc.get("document_type") or doc.get("file_type") or "document"
            data, content_type = demo_pdf(f"{label} - {kind} - {n + 1}"), "application/pdf"
            name = f"{kind}.pdf"
        doc["content_type"] = content_type
        doc["size_bytes"] = len(data)
        doc["sha256"] = hashlib.sha256(data).hexdigest()
        doc["original_filename"] = name
        files.append((doc, data))
    return files


async def _store_files(
    session: AsyncSession, store: FileStore, files: list[tuple[dict[str, Any], bytes]]
) -> None:
    """Store the files encrypted like uploads (a few at a time); each row gets its key, and
    the file goes again if the seed is not committed."""
    limit = asyncio.Semaphore(8)

    async def one(doc: dict[str, Any], data: bytes) -> None:
        async with limit:
            doc["storage_key"] = key = await store.save(_chunks(data))
            on_rollback(session, partial(store.discard, key))

    await asyncio.gather(*(one(doc, data) for doc, data in files))


async def _chunks(data: bytes) -> Any:
    yield data


# The tables whose rows name a stored file (their ``storage_key``); no foreign key points at them.
_FILE_TABLES = ("document_checks", "client_files")


def _copy_order(tables: list[Table]) -> list[Table]:
    """Foreign-key order, with the queue entries as late as it allows: the records their
    household facts are made of go in first, so the triggers that mark an entry's facts
    stale find none to mark (the facts are computed afresh once everything is in). The
    tables naming stored files go as late as that allows too (the files are stored while the
    other tables are written): Document Check items just before the queue entries (they are
    among those records), client files last."""
    after: set[str] = {QueueEntry.__tablename__}
    for table in tables:
        if any(fk.column.table.name in after for fk in table.foreign_keys):
            after.add(table.name)
    by_name = {t.name: t for t in tables}
    before = [t for t in tables if t.name not in after and t.name not in _FILE_TABLES]
    later = [t for t in tables if t.name in after]
    return [
        *before,
        *[by_name[n] for n in _FILE_TABLES[:1] if n in by_name],
        *later,
        *[by_name[n] for n in _FILE_TABLES[1:] if n in by_name],
    ]


async def _copy(
    session: AsyncSession,
    tables: list[Table],
    batches: dict[str, list[dict[str, Any]]],
    files_stored: asyncio.Future[None] | None = None,
) -> None:
    """Write the rows with COPY, table after table in foreign-key order (row triggers run as
    for INSERT); the rows naming stored files once ``files_stored`` is done (their storage
    keys are set then)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    try:
        for table in _copy_order(tables):
            new_rows = batches[table.name]
            if not new_rows:
                continue
            if table.name in _FILE_TABLES and files_stored is not None:
                await files_stored
            columns = list(new_rows[0])
            jsons = _json_columns(table) & set(columns)
            records = [
                tuple(
                    json.dumps(row[c]) if c in jsons and row[c] is not None else row[c]
                    for c in columns
                )
                for row in new_rows
            ]
            await driver.copy_records_to_table(table.name, records=records, columns=columns)
        if files_stored is not None:
            await files_stored
    finally:
        if files_stored is not None and not files_stored.done():
            # The copy failed: let the files be stored (and so discarded with the rollback);
            # the copy's error is the one raised.
            with contextlib.suppress(Exception):
                await files_stored


# --- the community -------------------------------------------------------------------------------


async def grow(
    session: AsyncSession,
    coc: Coc,
    store: FileStore | None,
    *,
    generations: int,
    seed: int = 2026,
) -> Grown:
    """Write every template ``generations`` times more (see the module's docstring)."""
    templates = await load_templates(session, coc)
    tables = _tables()
    today = clock.today(coc.time_zone)
    grown = Grown()
    batches: dict[str, list[dict[str, Any]]] = {t.name: [] for t in tables}
    files: list[tuple[dict[str, Any], bytes]] = []
    for generation in range(1, generations + 1):
        for index, template in enumerate(templates):
            rng = random.Random(f"{seed}/{generation}/{index}")
            writer = _Writer(rng, today, template, generation)
            written = {t.name: writer.rows(t) for t in tables}
            entries = written.get("enrollments") or []
            first_entry = min((e["entry_date"] for e in entries), default=today)
            _people(writer, written["clients"], first_entry)
            for unit in written.get("units", []):
                unit["label"] = unit["label"].replace("-", f"-{generation}", 1)
            for entry in written.get("queue_entries", []):
                entry["score"] = writer._score(entry["score"])
                entry["tie_breaker"] = rng.randrange(2**31 - 1)
            for score in written.get("queue_scores", []):
                for key in ("score", "previous_score"):
                    if key in score:
                        score[key] = writer._score(score[key])
            head = written["clients"][0]
            label = f"{head['first_name']} {head['last_name']}"
            for name in ("document_checks", "client_files"):
                files += _new_files(writer, written.get(name, []), label)
            for name, new_rows in written.items():
                batches[name] += new_rows
            grown.clients += len(written["clients"])
            grown.intakes += sum(1 for e in written.get("diversion_assessments", []))
            grown.entries += [e["id"] for e in written.get("queue_entries", [])]
    # The files are stored while the rows are written (the one waits on the disk, the other
    # on the database).
    stored = None if store is None else asyncio.ensure_future(_store_files(session, store, files))
    await _copy(session, tables, batches, stored)
    # The household facts of the whole queue, as its daily refresh leaves them.
    open_entries = await session.scalars(
        select(QueueEntry.id).where(QueueEntry.coc_id == coc.id, QueueEntry.closed_at.is_(None))
    )
    await facts.refresh_entries(session, list(open_entries))
    return grown


# --- partner webhooks ----------------------------------------------------------------------------

# (organization key, URL, event types, description)
_SUBSCRIPTIONS: Sequence[tuple[str, str, list[str], str]] = (
    (
        "housing_1",
        "https://hooks.hope-housing.example/cas",
        ["match.sent", "match.about_to_stall", "match.stalled"],
        "Hope Housing's referral inbox",
    ),
    (
        "access_point_1",
        "https://bridge-ap.example/api/cas-events",
        ["document.uploaded", "queue.intake_status_changed"],
        "Bridge Access Point case management system",
    ),
)


async def add_webhook_subscriptions(
    session: AsyncSession,
    settings: Settings,
    coc: Coc,
    org_ids: dict[str, uuid.UUID],
    admin_id: uuid.UUID,
    make_id: Any,
) -> int:
    """Partner organizations' webhook subscriptions (their URLs are examples: not resolved
    here, deliveries to them fail and are retried like any unreachable partner's)."""
    known = {k.value for k in webhooks.webhook_kinds()}
    made = 0
    for org_key, url, kinds, description in _SUBSCRIPTIONS:
        subscription_id = make_id(org_key)
        chosen = sorted(k for k in kinds if k in known)
        digest = hashlib.sha256(f"{coc.code}/webhook/{org_key}".encode()).digest()
        secret = webhooks.SECRET_PREFIX + base64.b64encode(digest).decode()
        session.add(
            WebhookSubscription(
                id=subscription_id,
                coc_id=coc.id,
                organization_id=org_ids[org_key],
                url=url,
                description=description,
                event_types=chosen,
                secret_sealed=webhooks._seal(settings, subscription_id, secret),
                consecutive_failures=0,
                created_by_user_id=admin_id,
            )
        )
        await session.flush()
        audit.record(
            session,
            None,
            "webhook_subscription.create",
            "webhook_subscription",
            subscription_id,
            {"organization_id": str(org_ids[org_key]), "url": url, "event_types": chosen},
            actor_user_id=admin_id,
            coc_id=coc.id,
        )
        made += 1
    return made


__all__ = [
    "Grown",
    "add_webhook_subscriptions",
    "demo_pdf",
    "demo_png",
    "fan_out_pending",
    "grow",
    "load_templates",
]
