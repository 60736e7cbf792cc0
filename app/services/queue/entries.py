"""Reading the queue: the list (filters, sorts, keyset pages, rank and why) and one entry with
both chronic determinations (DOMAIN 7).

Visible to system and CAS admins and to users acting for the CAS organization
(``policy.can_see_queue``); for anyone else the queue does not exist (404). Every answer names
clients, so each is audited as one ``pii.read`` of the clients it shows. Before answering, the
CoC's entries whose facts went stale are recomputed (at most ``facts.READ_REFRESH_LIMIT``; the
housekeeping job does the rest), so a household just placed shows its real facts and rank.
"""

from __future__ import annotations

import uuid
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Uuid, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import NotFound, ValidationFailed
from app.models import Client, Membership, Organization
from app.models.queue import QueueEntry
from app.reference.queue import (
    INACTIVE_AFTER_DAYS,
    Direction,
    PriorityKey,
    document_status,
)
from app.services.ce import area_ties
from app.services.platform import audit
from app.services.platform.pagination import PageOf
from app.services.queue import facts
from app.services.queue.chronic import ChronicResult, chronic_statuses
from app.services.queue.listing import (
    QueueFilter,
    QueueOrder,
    days_on_queue,
    decode_queue_cursor_with_rank,
    encode_queue_cursor,
    entry_statement,
    list_driver_query,
)
from app.services.queue.policy import can_see_queue

LISTED_FIELDS = ["first_name", "last_name"]
_EPOCH = date(2000, 1, 1)


# A membership of the user in an organization of the CoC (built once: bound parameters).
_MEMBER_OF_COC = (
    select(Membership.id)
    .join(Organization, Organization.id == Membership.organization_id)
    .where(
        Membership.user_id == bindparam("user_id", type_=Uuid),
        Organization.coc_id == bindparam("coc_id", type_=Uuid),
    )
    .limit(1)
)


def check_visible(actor: Actor) -> None:
    """The queue is for admins and the CAS organization; 404 for everyone else."""
    if not can_see_queue(actor):
        raise NotFound("Not found.")


async def check_filter(
    session: AsyncSession, actor: Actor, f: QueueFilter, *, loc: str = "query"
) -> None:
    """What the types cannot say: ranges in order, an area of the CoC's list, a case manager
    of the CoC (422 otherwise, nothing read)."""

    def bad(field: str, msg: str) -> ValidationFailed:
        return ValidationFailed(
            msg, errors=[{"loc": [loc, field], "msg": msg, "type": "value_error"}]
        )

    if f.score_min is not None and f.score_max is not None and f.score_min > f.score_max:
        raise bad("score_min", "score_min is above score_max.")
    if (
        f.household_size_min is not None
        and f.household_size_max is not None
        and f.household_size_min > f.household_size_max
    ):
        raise bad("household_size_min", "household_size_min is above household_size_max.")
    if f.area is not None:
        areas = (await area_ties.options(session, actor.coc_id)).areas
        if f.area not in {code for code, _ in areas}:
            raise bad("area", f"'{f.area}' is not an area of the CoC's list.")
    if f.case_manager_id is not None:
        params = {"user_id": f.case_manager_id, "coc_id": actor.coc_id}
        member = (await session.execute(_MEMBER_OF_COC, params)).first()
        if member is None:
            raise bad("case_manager_id", "No user of the CoC has this id.")


async def list_entries(
    session: AsyncSession,
    actor: Actor,
    f: QueueFilter,
    order: QueueOrder,
    limit: int,
    cursor: str | None,
    *,
    loc: str = "query",
    primary: AsyncSession | None = None,
) -> PageOf[dict[str, Any]]:
    """One page of the CoC's open queue entries (see ``listing``).

    ``primary``: the rows are read on ``session`` (a read replica's, read-only), while the
    filter's check, the recomputation of stale entries and the audit of the read are done on
    ``primary`` (by default all of it on ``session``)."""
    primary = primary or session
    check_visible(actor)
    await check_filter(primary, actor, f, loc=loc)
    after, after_rank = decode_queue_cursor_with_rank(cursor, order) if cursor else (None, None)
    if await facts.has_stale(primary, actor.coc_id):
        await facts.refresh_stale(primary, actor.coc_id, limit=facts.READ_REFRESH_LIMIT)
    now = clock.now()
    today = clock.today(actor)
    # The statement as the driver runs it, on the session's connection (in its transaction):
    # it names the CoC for every table it reads, and plain rows are all the shaping needs.
    # Pending changes first, as an ORM read would (the stale entries just recomputed).
    await session.flush()
    conn = await session.connection()
    sql, args = list_driver_query(
        conn.dialect, actor.coc_id, f, order, after, limit, now, today, after_rank=after_rank
    )
    rows = (await conn.exec_driver_sql(sql, args)).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_queue_cursor(order, rows[-1])
    if primary is not session and rows:
        rows = await _still_open(primary, actor, rows)
    await audit.write_pii_reads(
        primary, actor, [r.head_client_id for r in rows], fields=LISTED_FIELDS
    )
    return PageOf(shape_page(rows, today, now), next_cursor)


async def _still_open(primary: AsyncSession, actor: Actor, rows: Sequence[Any]) -> list[Any]:
    """The rows of a page read on a read replica (a snapshot possibly behind the primary) whose
    entry the primary still has open with the same head of household: an entry closed since
    (an intake voided, a household housed or exited) or re-pointed by a merge is left out of
    the page and of its audit. The page's cursor stays the replica's (paging goes on)."""
    current = set(
        (
            await primary.execute(
                select(QueueEntry.id, QueueEntry.head_client_id).where(
                    QueueEntry.coc_id == actor.coc_id,
                    QueueEntry.id.in_([r.id for r in rows]),
                    QueueEntry.closed_at.is_(None),
                )
            )
        ).tuples()
    )
    return [r for r in rows if (r.id, r.head_client_id) in current]


async def get_entry(session: AsyncSession, actor: Actor, entry_id: uuid.UUID) -> dict[str, Any]:
    """One entry of the CoC (open or closed) with its rank, why, and both chronic
    determinations of the head and each adult; 404 when not visible."""
    check_visible(actor)
    stale = await session.scalar(
        select(QueueEntry.facts_stale).where(
            QueueEntry.id == entry_id,
            QueueEntry.coc_id == actor.coc_id,
        )
    )
    if stale is None:
        raise NotFound("No such queue entry.")
    if stale:
        await facts.refresh_entries(session, [entry_id])
    now = clock.now()
    today = clock.today(actor)
    row = (await session.execute(entry_statement(actor.coc_id, entry_id, today))).one()
    body = shape(row, today, now)
    body["closed_at"] = row.closed_at
    body["closed_reason"] = row.closed_reason
    members = await facts.household_of(session, row.head_enrollment_id)
    counted = facts.counted_members(members, today)
    statuses = await chronic_statuses(session, [m.client_id for m in counted], today)
    names = {
        cid: (first, last)
        for cid, first, last in (
            await session.execute(
                select(Client.id, Client.first_name, Client.last_name).where(
                    Client.id.in_([m.client_id for m in counted])
                )
            )
        ).tuples()
    }
    body["chronic_members"] = [
        {
            "client_id": m.client_id,
            "first_name": names.get(m.client_id, (None, None))[0],
            "last_name": names.get(m.client_id, (None, None))[1],
            "head": m.head,
            "recorded": _determination(statuses[m.client_id].recorded),
            "documented": _determination(statuses[m.client_id].documented),
        }
        for m in counted
        if m.client_id in statuses
    ]
    shown = [row.head_client_id, *(m.client_id for m in counted)]
    audit.record_pii_reads(session, actor, shown, fields=LISTED_FIELDS)
    return body


def _determination(r: ChronicResult) -> dict[str, Any]:
    return {
        "chronic": r.chronic,
        "months": r.months,
        "episodes": r.episodes,
        "days": r.days,
        "missing": list(r.missing),
    }


# --- shaping --------------------------------------------------------------------------------


def key_value(key: PriorityKey, row: Any, today: date) -> int | bool | None:
    """The entry's value of one scheme key, as shown."""
    match key:
        case PriorityKey.CHRONIC:
            return bool(row.chronic_recorded or row.chronic_documented)
        case PriorityKey.SCORE:
            return int(row.score) if row.score is not None else None
        case PriorityKey.DAYS_HOMELESS_3Y:
            return int(row.days_homeless_3y)
        case PriorityKey.DAYS_ON_QUEUE:
            return days_on_queue(row.placed_on, today)
        case PriorityKey.VETERAN:
            return bool(row.veteran)
        case PriorityKey.FAMILY_WITH_CHILDREN:
            return bool(row.family_with_children)
        case PriorityKey.YOUTH:
            return bool(row.youth)


def sort_value(key: PriorityKey, direction: Direction, row: Any) -> int:
    """The integer the key compares by (what the priority-key trigger computes)."""
    raw: int | None
    match key:
        case PriorityKey.CHRONIC:
            raw = int(bool(row.chronic_recorded or row.chronic_documented))
        case PriorityKey.SCORE:
            raw = row.score
        case PriorityKey.DAYS_HOMELESS_3Y:
            raw = row.days_homeless_3y
        case PriorityKey.DAYS_ON_QUEUE:
            raw = (_EPOCH - row.placed_on).days
        case _:
            raw = int(bool(getattr(row, key.value)))
    if raw is None:
        return 2**31 - 1
    return -raw if direction == Direction.DESC else raw


# Each key's shown value and sort value, as functions of the row: the same as ``key_value`` and
# ``sort_value`` (the reference, kept for reading), without matching the key and building its
# enums again for every row of a page.
_VALUE: dict[PriorityKey, Callable[[Any, date], int | bool | None]] = {
    PriorityKey.CHRONIC: lambda r, _: bool(r.chronic_recorded or r.chronic_documented),
    PriorityKey.SCORE: lambda r, _: int(r.score) if r.score is not None else None,
    PriorityKey.DAYS_HOMELESS_3Y: lambda r, _: int(r.days_homeless_3y),
    PriorityKey.DAYS_ON_QUEUE: lambda r, today: days_on_queue(r.placed_on, today),
    PriorityKey.VETERAN: lambda r, _: bool(r.veteran),
    PriorityKey.FAMILY_WITH_CHILDREN: lambda r, _: bool(r.family_with_children),
    PriorityKey.YOUTH: lambda r, _: bool(r.youth),
}
_RAW: dict[PriorityKey, Callable[[Any], int | None]] = {
    PriorityKey.CHRONIC: lambda r: int(bool(r.chronic_recorded or r.chronic_documented)),
    PriorityKey.SCORE: lambda r: r.score,
    PriorityKey.DAYS_HOMELESS_3Y: lambda r: r.days_homeless_3y,
    PriorityKey.DAYS_ON_QUEUE: lambda r: (_EPOCH - r.placed_on).days,
    PriorityKey.VETERAN: lambda r: int(bool(r.veteran)),
    PriorityKey.FAMILY_WITH_CHILDREN: lambda r: int(bool(r.family_with_children)),
    PriorityKey.YOUTH: lambda r: int(bool(r.youth)),
}
_NO_VALUE = 2**31 - 1


@dataclass(frozen=True)
class _Rule:
    key: PriorityKey
    direction: Direction
    value: Callable[[Any, date], int | bool | None]
    raw: Callable[[Any], int | None]
    negate: bool
    # The key and direction as written in a body (plain strings: no enum to convert per row).
    name: str
    order: str

    def sort_value(self, row: Any) -> int:
        raw = self.raw(row)
        if raw is None:
            return _NO_VALUE
        return -raw if self.negate else raw


@lru_cache(maxsize=256)
def _rules(scheme: tuple[tuple[str, str], ...]) -> tuple[_Rule, ...]:
    """A scheme's keys, parsed once (the CoC's scheme is the same on every row of a page)."""
    rules = []
    for k, d in scheme:
        key, direction = PriorityKey(k), Direction(d)
        rules.append(
            _Rule(
                key,
                direction,
                _VALUE[key],
                _RAW[key],
                direction == Direction.DESC,
                key.value,
                direction.value,
            )
        )
    return tuple(rules)


def _scheme_rules(scheme: Any) -> tuple[_Rule, ...]:
    return _rules(tuple((item["key"], item["direction"]) for item in scheme))


@lru_cache(maxsize=32)
def _text_rules(scheme: str) -> tuple[_Rule, ...]:
    # The list's rows carry the scheme as JSON text (``listing``): parsed once per scheme.
    return _scheme_rules(orjson.loads(scheme))


def priority(row: Any, today: date) -> dict[str, Any]:
    """Rank and the value of each key of the scheme: why the entry ranks where it does."""
    return _priority(row, today, _scheme_rules(row.scheme))


# ``priority`` for the rows of a page (one scheme): the scheme's rules read once
# (``scheme_rules``), then ``priority_by`` for each row.
SchemeRules = tuple[_Rule, ...]


def scheme_rules(scheme: Any) -> SchemeRules:
    """The keys of a scheme (the ``queue_settings.scheme`` list), parsed once per scheme."""
    return _scheme_rules(scheme)


def priority_by(row: Any, today: date, rules: SchemeRules) -> dict[str, Any]:
    """``priority`` of a row of the scheme whose ``rules`` are given."""
    return _priority(row, today, rules)


def _priority(row: Any, today: date, rules: tuple[_Rule, ...]) -> dict[str, Any]:
    return {
        "rank": row.rank,
        "keys": [
            {
                "key": rule.name,
                "direction": rule.order,
                "value": rule.value(row, today),
                "sort_value": rule.sort_value(row),
            }
            for rule in rules
        ],
        "tie_breaker": row.tie_breaker,
    }


def shape(row: Any, today: date, now: datetime) -> dict[str, Any]:
    """A row of ``listing.list_statement`` / ``entry_statement`` as ``QueueEntryListItem``."""
    return _shape(row, today, now - timedelta(days=INACTIVE_AFTER_DAYS), _scheme_rules(row.scheme))


def shape_page(rows: Sequence[Any], today: date, now: datetime) -> list[dict[str, Any]]:
    """``shape`` of every row of a page (rows of one statement): the scheme parsed once per
    scheme, and each row read as a plain named tuple (a SQLAlchemy ``Row``'s attribute costs
    about a microsecond, forty of them per entry)."""
    if not rows:
        return []
    inactive_since = now - timedelta(days=INACTIVE_AFTER_DAYS)
    make = _record_type(tuple(rows[0]._fields))._make  # type: ignore[attr-defined]
    out = []
    last_scheme: Any = None
    rules: tuple[_Rule, ...] = ()
    for row in rows:
        record = make(row)
        if record.scheme != last_scheme:  # one CoC, one scheme: parsed for the first row only
            last_scheme = record.scheme
            rules = (
                _text_rules(last_scheme)
                if isinstance(last_scheme, str)
                else _scheme_rules(last_scheme)
            )
        out.append(_shape(record, today, inactive_since, rules))
    return out


@lru_cache(maxsize=32)
def _record_type(fields: tuple[str, ...]) -> type[tuple[Any, ...]]:
    record: type[tuple[Any, ...]] = namedtuple("QueueRow", fields)  # type: ignore[misc]
    return record


def _shape(
    row: Any, today: date, inactive_since: datetime, rules: tuple[_Rule, ...]
) -> dict[str, Any]:
    # The keys in QueueEntryListItem's order: the list's body is written as built
    # (app.http.plain_json), not through the model.
    last_activity_at = row.last_activity_at
    on_file = row.documents_on_file
    return {
        "id": row.id,
        "version": row.version,
        "household_id": row.household_id,
        "head_enrollment_id": row.head_enrollment_id,
        "client": {
            "id": row.head_client_id,
            "first_name": row.first_name,
            "last_name": row.last_name,
        },
        "intake_status": row.intake_status,
        "placed_on": row.placed_on,
        "days_on_queue": days_on_queue(row.placed_on, today),
        "score": row.score,
        "score_tool": row.score_tool,
        "score_recorded_at": row.score_recorded_at,
        "chronic": {"recorded": row.chronic_recorded, "documented": row.chronic_documented},
        "days_homeless_3y": row.days_homeless_3y,
        "household": {
            "size": row.household_size,
            "household_type": row.household_type,
            "veteran": row.veteran,
            "family_with_children": row.family_with_children,
            "youth": row.youth,
        },
        "referral_status": row.referral_status,
        "parked_until": row.parked_until if row.referral_status == "parked" else None,
        "documents_on_file": list(on_file),
        "document_status": document_status(on_file),
        "last_activity_at": last_activity_at,
        "inactive": last_activity_at is None or last_activity_at < inactive_since,
        "case_managers": row.case_managers,
        "priority": _priority(row, today, rules),
        "facts_as_of": row.facts_as_of,
    }


__all__ = [
    "check_filter",
    "check_visible",
    "get_entry",
    "list_entries",
    "priority",
    "priority_by",
    "scheme_rules",
    "shape",
    "shape_page",
]
