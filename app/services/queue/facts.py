"""The household facts of queue entries: what the prioritization scheme orders by and the list
filters on (DOMAIN 7).

For each entry: the household on it (the Coordinated Entry enrollments of the head's stay,
open or the head's, not voided) gives the size, HUD household type, veteran, family with
children, youth-headed and the latest contact (``app.reference.queue.household_facts``); the
head and every adult give chronic homelessness from recorded data and documented (either
member counts), the nights homeless in the last three years (the most any of them has, by
either count) and the Document Check items on file (current ones).

When they are computed:

* database triggers (migration 0014) mark an entry ``facts_stale`` whenever a row they are
  read from changes (enrollments, exits, current living situations, disabilities, Document
  Check, the clients' veteran status, birth date and last contact); a new entry starts stale;
* ``refresh_stale`` recomputes stale entries: the queue's reads (and matching's candidate
  search) run it first for their CoC (``refresh_for_read``, bounded by
  ``READ_REFRESH_LIMIT``), and the housekeeping job for all of them;
* ``refresh_all`` recomputes every open entry (nights homeless and chronic status change with
  the date): ``cas queue-refresh`` and the daily job (``app.jobs.refresh_queue``).

Entries are locked ``FOR UPDATE SKIP LOCKED`` while recomputed: an entry another transaction is
writing is skipped (it stays stale and is picked up next time), and a writer touching an entry
being recomputed waits, then marks it stale again. The rules (chronic status over four years
of nights per person) run on a worker thread for a batch; the loading is a handful of queries
per chunk of ``CHUNK`` entries; the writes one executemany. The priority key follows by itself
(its trigger). Facts are maintained data: writing them bumps no version (an entry's ETag
changes only with what people edit).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import Table, Uuid, bindparam, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.models import Client, Coc
from app.models.documents import DocumentCheck
from app.models.enrollments import Enrollment
from app.models.queue import QueueEntry
from app.models.scoping import ALL_COCS
from app.reference.queue import HouseholdFacts, Member, household_facts
from app.services.queue.chronic import (
    INLINE_CLIENTS,
    ChronicStatus,
    compute_statuses,
    load_chronic_inputs,
)
from app.unit_of_work import unit_of_work

CHUNK = 500
# How many stale entries a read of the queue recomputes before answering.
READ_REFRESH_LIMIT = 50


@dataclass(frozen=True)
class EntryFacts:
    """Everything the refresh writes on one entry."""

    entry_id: uuid.UUID
    household: HouseholdFacts
    chronic_recorded: bool
    chronic_documented: bool
    days_homeless_3y: int
    documents_on_file: tuple[str, ...]


async def refresh_stale(
    session: AsyncSession, coc_id: uuid.UUID | None = None, *, limit: int | None = None
) -> int:
    """Recompute stale open entries (of one CoC, or all), at most ``limit``; how many."""
    done = 0
    while limit is None or done < limit:
        size = CHUNK if limit is None else min(CHUNK, limit - done)
        stmt = select(QueueEntry.id).where(QueueEntry.facts_stale, QueueEntry.closed_at.is_(None))
        if coc_id is not None:
            stmt = stmt.where(QueueEntry.coc_id == coc_id)
        ids = list(
            await session.scalars(stmt.limit(size).with_for_update(skip_locked=True, of=QueueEntry))
        )
        if not ids:
            break
        done += await _refresh_locked(session, ids)
        if len(ids) < size:
            break
    return done


# Built once, with a bound parameter: every read of the queue (and of matching's candidates)
# asks it first. It names the CoC itself, so it needs no ORM scope (``ALL_COCS``).
_ANY_STALE = (
    select(QueueEntry.id)
    .where(
        QueueEntry.coc_id == bindparam("coc_id", type_=Uuid),
        QueueEntry.facts_stale,
        QueueEntry.closed_at.is_(None),
    )
    .limit(1)
    .execution_options(**ALL_COCS)
)


async def has_stale(session: AsyncSession, coc_id: uuid.UUID) -> bool:
    """Whether the CoC has open entries whose facts are stale (one index probe)."""
    # A core read on the session's connection (the statement names the CoC): no ORM
    # execution for one probe. Pending changes first, as an ORM read would.
    await session.flush()
    conn = await session.connection()
    found = (await conn.execute(_ANY_STALE, {"coc_id": coc_id})).first()
    return found is not None


async def refresh_for_read(session: AsyncSession, coc_id: uuid.UUID) -> None:
    """What a read of the CoC's queue does first (the queue's list, matching's candidates):
    recompute its stale entries, at most ``READ_REFRESH_LIMIT`` (the housekeeping job does the
    rest); one index probe when none is stale."""
    if await has_stale(session, coc_id):
        await refresh_stale(session, coc_id, limit=READ_REFRESH_LIMIT)


async def refresh_entries(session: AsyncSession, entry_ids: Sequence[uuid.UUID]) -> int:
    """Recompute these entries (open ones that nobody else is writing); how many."""
    done = 0
    for start in range(0, len(entry_ids), CHUNK):
        chunk = list(entry_ids[start : start + CHUNK])
        locked = list(
            await session.scalars(
                select(QueueEntry.id)
                .where(QueueEntry.id.in_(chunk), QueueEntry.closed_at.is_(None))
                .with_for_update(skip_locked=True, of=QueueEntry)
            )
        )
        if locked:
            done += await _refresh_locked(session, locked)
    return done


async def refresh_all(sessionmaker: async_sessionmaker[AsyncSession]) -> int:
    """Recompute every open entry of every CoC, a chunk per unit of work (so nothing is held
    locked for long); how many."""
    done = 0
    after: uuid.UUID | None = None
    while True:
        async with unit_of_work(sessionmaker) as session:
            stmt = select(QueueEntry.id).where(QueueEntry.closed_at.is_(None))
            if after is not None:
                stmt = stmt.where(QueueEntry.id > after)
            ids = list(await session.scalars(stmt.order_by(QueueEntry.id).limit(CHUNK)))
            if not ids:
                return done
            after = ids[-1]
            done += await refresh_entries(session, ids)


async def _refresh_locked(session: AsyncSession, entry_ids: list[uuid.UUID]) -> int:
    """Compute and write the facts of entries this transaction holds locked."""
    entries = (
        await session.execute(
            select(
                QueueEntry.id,
                QueueEntry.coc_id,
                QueueEntry.head_enrollment_id,
                Coc.time_zone,
            )
            .join(Coc, Coc.id == QueueEntry.coc_id)
            .where(QueueEntry.id.in_(entry_ids))
        )
    ).all()
    coc_ids = sorted({e.coc_id for e in entries})
    members = await _members(session, [e.head_enrollment_id for e in entries])
    now = clock.now()
    facts: list[EntryFacts] = []
    for coc_id in coc_ids:
        mine = [e for e in entries if e.coc_id == coc_id]
        today = clock.today(mine[0].time_zone)
        households = {
            e.id: household_facts(members.get(e.head_enrollment_id, []), today) for e in mine
        }
        counted = {c for h in households.values() for c in h.counted}
        inputs = await load_chronic_inputs(session, counted)
        if len(counted) > INLINE_CLIENTS:
            statuses = await asyncio.to_thread(compute_statuses, inputs, today)
        else:  # a household or two (a read's refresh): not worth a thread hop
            statuses = compute_statuses(inputs, today)
        documents = await _documents_on_file(session, counted, today)
        facts.extend(_entry_facts(e.id, households[e.id], statuses, documents) for e in mine)
    if facts:
        await _write(session, facts, now)
    return len(facts)


async def _members(
    session: AsyncSession, head_enrollment_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Member]]:
    """The household of each head enrollment: its stay's CE enrollments that are open (or the
    head's own), not voided; head first."""
    rows = await session.execute(
        select(
            Enrollment.household_group_id,
            Enrollment.client_id,
            (Enrollment.id == Enrollment.household_group_id).label("head"),
            Enrollment.relationship_to_hoh,
            Client.dob,
            Client.veteran_status,
            Client.last_contact_at,
        )
        .join(Client, Client.id == Enrollment.client_id)
        .where(
            Enrollment.household_group_id.in_(head_enrollment_ids),
            Enrollment.is_coordinated_entry,
            Enrollment.voided_at.is_(None),
            or_(Enrollment.exit_date.is_(None), Enrollment.id == Enrollment.household_group_id),
        )
        .order_by(Enrollment.household_group_id, (Enrollment.id != Enrollment.household_group_id))
    )
    out: dict[uuid.UUID, list[Member]] = {}
    for r in rows:
        out.setdefault(r.household_group_id, []).append(
            Member(
                client_id=r.client_id,
                head=r.head,
                relationship_to_hoh=r.relationship_to_hoh,
                dob=r.dob,
                veteran_status=r.veteran_status,
                last_contact_at=r.last_contact_at,
            )
        )
    return out


async def household_of(session: AsyncSession, head_enrollment_id: uuid.UUID) -> list[Member]:
    """The household on the entry of this head enrollment (head first)."""
    return (await _members(session, [head_enrollment_id])).get(head_enrollment_id, [])


def counted_members(members: list[Member], today: date) -> list[Member]:
    """The head and every adult: whose chronic status and documents count."""
    counted = set(household_facts(members, today).counted)
    return [m for m in members if m.client_id in counted]


async def _documents_on_file(
    session: AsyncSession, client_ids: set[uuid.UUID], today: date
) -> dict[uuid.UUID, set[str]]:
    """The Document Check items each client has a current (not deleted, not expired) document
    for."""
    if not client_ids:
        return {}
    rows = await session.execute(
        select(DocumentCheck.client_id, DocumentCheck.item)
        .where(
            DocumentCheck.client_id.in_(client_ids),
            DocumentCheck.deleted_at.is_(None),
            or_(DocumentCheck.expiration_date.is_(None), DocumentCheck.expiration_date >= today),
        )
        .distinct()
    )
    out: dict[uuid.UUID, set[str]] = {}
    for client_id, item in rows:
        out.setdefault(client_id, set()).add(item)
    return out


def _entry_facts(
    entry_id: uuid.UUID,
    household: HouseholdFacts,
    statuses: dict[uuid.UUID, ChronicStatus],
    documents: dict[uuid.UUID, set[str]],
) -> EntryFacts:
    counted = [statuses[c] for c in household.counted if c in statuses]
    on_file: set[str] = set()
    for c in household.counted:
        on_file |= documents.get(c, set())
    return EntryFacts(
        entry_id=entry_id,
        household=household,
        chronic_recorded=any(s.recorded.chronic for s in counted),
        chronic_documented=any(s.documented.chronic for s in counted),
        days_homeless_3y=max((max(s.recorded.days, s.documented.days) for s in counted), default=0),
        documents_on_file=tuple(sorted(on_file)),
    )


_t = cast(Table, QueueEntry.__table__)
_WRITE = (
    update(_t)
    .where(_t.c.id == bindparam("entry_id"))
    .values(
        chronic_recorded=bindparam("chronic_recorded"),
        chronic_documented=bindparam("chronic_documented"),
        days_homeless_3y=bindparam("days_homeless_3y"),
        veteran=bindparam("veteran"),
        family_with_children=bindparam("family_with_children"),
        youth=bindparam("youth"),
        household_size=bindparam("household_size"),
        household_type=bindparam("household_type"),
        documents_on_file=bindparam("documents_on_file"),
        last_activity_at=bindparam("last_activity_at"),
        facts_as_of=bindparam("facts_as_of"),
        facts_stale=False,
    )
)


async def _write(session: AsyncSession, facts: list[EntryFacts], now: datetime) -> None:
    await session.execute(
        _WRITE,
        [
            {
                "entry_id": f.entry_id,
                "chronic_recorded": f.chronic_recorded,
                "chronic_documented": f.chronic_documented,
                "days_homeless_3y": f.days_homeless_3y,
                "veteran": f.household.veteran,
                "family_with_children": f.household.family_with_children,
                "youth": f.household.youth,
                "household_size": f.household.size,
                "household_type": str(f.household.household_type),
                "documents_on_file": list(f.documents_on_file),
                "last_activity_at": f.household.last_activity_at,
                "facts_as_of": now,
            }
            for f in facts
        ],
    )
    # ORM copies of these entries (if any) are out of date now.
    written = {f.entry_id for f in facts}
    for obj in list(session.identity_map.values()):
        if isinstance(obj, QueueEntry) and obj.id in written:
            session.expire(obj)


__all__ = [
    "CHUNK",
    "READ_REFRESH_LIMIT",
    "EntryFacts",
    "counted_members",
    "has_stale",
    "household_of",
    "refresh_all",
    "refresh_entries",
    "refresh_stale",
]
