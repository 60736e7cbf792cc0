"""Eligibility and candidates (DOMAIN 9): every requirement is a SQL predicate over the queue
entry's household facts (kept by the queue) and the head of household's records, so the
candidate search is one statement walking the queue in rank order.

A candidate for a unit is an open, ``approved`` queue entry that meets every requirement of the
unit's project (plus, for an EHV program, has an area tie), is not parked (the queue's own
``referral.still_parked``: a park whose ``parked_until`` is still to come, or blank), is in no
active match, and was never declined by this project. The explanation (``explain``) reads the
same predicates for one client and shows the data behind each.

The facts are the queue's (``app.services.queue.facts``): before reading, the CoC's stale
entries are recomputed as the queue's own reads do (``facts.refresh_for_read``, its probe asked
in the unit's own read; one entry for the explanation and a new match). A page of candidates is
ranked by the queue's own machinery (``listing.with_rank``: one index-only count of the entries
ahead, up to the page's last row) and each candidate carries the queue's ``priority`` (rank,
the scheme's keys and values, the tie-breaker): why it ranks where it does.

The statements are ``eligibility_sql``'s, built once per shape of the requirements with their
values bound at execution; a request reads the unit's project, sources and requirements in one
statement, and the explanation reads everything about the client's entry (each rule's data and
verdict, status, rank, active match, the project's earlier decline) in one more. Both answers
are plain dicts in their response model's shape, written once (``app.http.plain_json``).
"""

from __future__ import annotations

import uuid
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app import clock
from app.context import Actor
from app.errors import NotFound, ValidationFailed
from app.models import HouseholdMember
from app.models.matching import Match, Unit
from app.models.queue import QueueEntry
from app.reference.matching import MatchStatus, Polarity, RequirementKind
from app.reference.queue import IntakeStatus, PriorityKey
from app.services.clients import access as client_access
from app.services.matching import eligibility_sql as sql
from app.services.matching import inventory
from app.services.platform import audit
from app.services.platform.pagination import decode_cursor, encode_cursor
from app.services.queue import facts
from app.services.queue.entries import SchemeRules, scheme_rules
from app.services.queue.referral import is_parked

Q = QueueEntry


@dataclass(frozen=True)
class Rule:
    """A requirement as checked: its row (None for a built-in rule such as EHV's area tie)."""

    id: uuid.UUID | None
    kind: RequirementKind
    polarity: Polarity
    area: str | None = None
    min_value: Any = None
    max_value: Any = None

    @property
    def shape(self) -> sql.RuleShape:
        return sql.RuleShape(
            self.kind,
            self.polarity,
            has_area=self.area is not None,
            has_min=self.min_value is not None,
            has_max=self.max_value is not None,
        )


def rules_of(requirements: Sequence[Any], ehv: bool) -> list[Rule]:
    """The rules of a project's requirements (rows with ``id``, ``kind``, ``polarity``,
    ``area``, ``min_value``, ``max_value``), plus EHV's area tie."""
    rules = [
        Rule(
            r.id,
            RequirementKind(r.kind),
            Polarity(r.polarity),
            r.area,
            r.min_value,
            r.max_value,
        )
        for r in requirements
    ]
    if ehv:
        # Area ties are required before an EHV match (DOMAIN 5 and 9).
        rules.append(Rule(None, RequirementKind.AREA_TIE, Polarity.MUST))
    return rules


@dataclass(frozen=True)
class Target:
    """A unit of the CoC, its project and the rules a candidate meets (plain values: a request
    reads them once, in one statement)."""

    unit_id: uuid.UUID
    coc_id: uuid.UUID
    bedrooms: int
    project_id: uuid.UUID
    rules: list[Rule]
    # Whether the CoC has open entries with stale facts (read only where asked: candidates).
    facts_stale: bool = False

    @property
    def shape(self) -> sql.Shape:
        return tuple(r.shape for r in self.rules)

    def rule_params(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, r in enumerate(self.rules):
            out.update(sql.rule_params(i, r.kind, r.area, r.min_value, r.max_value, self.bedrooms))
        return out


async def target(session: AsyncSession, unit: Unit) -> Target:
    """The unit's project and the rules a candidate meets."""
    found = await unit_target(session, unit.coc_id, unit.id)
    assert found is not None
    return found


async def unit_target(
    session: AsyncSession, coc_id: uuid.UUID, unit_id: uuid.UUID, *, with_stale: bool = False
) -> Target | None:
    """The unit of the CoC (None: no such unit there), its project and the rules a candidate
    meets, in one read (``with_stale``: and whether the CoC has entries with stale facts)."""
    params = {"unit_id": unit_id, "coc_id": coc_id}
    stmt = sql.TARGET_WITH_STALE if with_stale else sql.TARGET
    return _target_of((await session.execute(stmt, params)).all(), with_stale=with_stale)


def _target_of(rows: Sequence[Any], *, with_stale: bool) -> Target | None:
    """The ``Target`` of the rows of ``eligibility_sql``'s target statements (None: none)."""
    if not rows:
        return None
    first = rows[0]
    # The project's funding sources, as ``inventory.funding_sources`` reads them.
    sources = set(first.funding_sources or [])
    if first.funding_source is not None:
        sources.add(first.funding_source)
    requirements = [r for r in rows if r.id is not None]
    return Target(
        first.unit_id,
        first.coc_id,
        first.bedrooms,
        first.project_id,
        rules_of(requirements, inventory.is_ehv(sources)),
        facts_stale=bool(first.facts_stale) if with_stale else False,
    )


async def _driver_rows(
    conn: AsyncConnection, stmt: Select[Any], values: dict[str, Any]
) -> Sequence[Any]:
    """The rows of one of ``eligibility_sql``'s statements, run as the driver runs it on the
    session's connection (``_connection``)."""
    driver = sql.driver_sql(conn.dialect, stmt, values)
    return (await conn.exec_driver_sql(driver.sql, driver.args(values))).all()


async def _connection(session: AsyncSession) -> AsyncConnection:
    """The session's connection (in its transaction), any pending change written first (as an
    ORM read would)."""
    if session.new or session.dirty or session.deleted:
        await session.flush()
    return await session.connection()


def candidates_query(
    t: Target, today: date, limit: int, after: tuple[list[int], uuid.UUID] | None = None
) -> tuple[Select[Any], dict[str, Any]]:
    """One page of candidates in rank order, after the cursor's ``(priority_key, id)``: the
    statement (shared by every target of the same shape) and its parameters; ``limit + 1``
    rows (the last only says there is more), each with its ``rank`` counted by the queue."""
    params = sql.page_params(t.coc_id, t.project_id, today, limit, after)
    params.update(t.rule_params())
    return sql.candidate_page(t.shape, after is not None), params


def candidates_stmt(
    t: Target, today: date, limit: int, after: tuple[list[int], uuid.UUID] | None = None
) -> Select[Any]:
    """``candidates_query``'s statement with its values bound in it: the same SQL (what the
    benchmark compiles for its raw baseline)."""
    stmt, params = candidates_query(t, today, limit, after)
    return stmt.params(params)


def _decode(cursor: str) -> tuple[list[int], uuid.UUID]:
    key, last = decode_cursor(cursor, 2)
    try:
        if not isinstance(key, list) or not all(
            isinstance(k, int) and not isinstance(k, bool) and -(2**31) <= k < 2**31 for k in key
        ):
            raise ValueError
        return key, uuid.UUID(str(last))
    except ValueError:
        raise ValidationFailed(
            "The cursor is not valid for this list.",
            errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "value_error"}],
        ) from None


@dataclass(frozen=True)
class CandidatePage:
    # ``CandidateRead`` as plain dicts, keys in the model's order: the page is written as built
    # (``app.http.plain_json``), checked against the model outside production.
    items: list[dict[str, Any]]
    next_cursor: str | None
    client_ids: list[uuid.UUID]

    def body(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor}


async def candidates(
    session: AsyncSession, actor: Actor, unit_id: uuid.UUID, limit: int, cursor: str | None
) -> CandidatePage:
    # A unit elsewhere: 404 first (as ``referable_target``). The target's read also asks
    # ``facts.has_stale``.
    conn = await _connection(session)
    values = {"unit_id": unit_id, "coc_id": actor.coc_id}
    t = _target_of(await _driver_rows(conn, sql.TARGET_WITH_STALE, values), with_stale=True)
    if t is None:
        raise NotFound("No such unit.")
    after = _decode(cursor) if cursor else None
    if t.facts_stale:  # as ``facts.refresh_for_read``
        await facts.refresh_stale(session, t.coc_id, limit=facts.READ_REFRESH_LIMIT)
        conn = await _connection(session)
    today = clock.today(actor)
    stmt, params = candidates_query(t, today, limit, after)
    rows = await _driver_rows(conn, stmt, params)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([list(rows[-1].priority_key), str(rows[-1].id)])
    items, shown = _shape_candidates(rows, today)
    # One event for the page, written at once (the ORM's flush of it costs more than this).
    await audit.write_pii_reads(session, actor, shown, fields=["candidate"], connection=conn)
    return CandidatePage(items, next_cursor, shown)


@lru_cache(maxsize=32)
def _record_type(fields: tuple[str, ...]) -> type[tuple[Any, ...]]:
    record: type[tuple[Any, ...]] = namedtuple("CandidateRow", fields)  # type: ignore[misc]
    return record


# --- a candidate's ``priority``, per scheme -------------------------------------------------------
#
# ``entries.priority_by`` gives each key's shown value and sort value through three calls per
# key and row; a page of candidates reads them through one function per key of its scheme,
# made once per scheme, writing the key's whole entry. The same values as ``priority_by``
# (tests/test_matching_priority.py holds them to it, every key in both directions).

KeyEntry = Callable[[Any, date], dict[str, Any]]
_NO_VALUE = 2**31 - 1  # the sort value of a missing value (``entries.sort_value``)
_EPOCH = date(2000, 1, 1)  # days on the queue sort by the placement date (``entries``)


def _key_entry(key: PriorityKey, name: str, order: str, negate: bool) -> KeyEntry:
    """``{"key", "direction", "value", "sort_value"}`` of one key of a scheme for a row."""
    if key == PriorityKey.SCORE:

        def score(r: Any, _: date) -> dict[str, Any]:
            v = r.score
            if v is None:
                return {"key": name, "direction": order, "value": None, "sort_value": _NO_VALUE}
            return {
                "key": name,
                "direction": order,
                "value": int(v),
                "sort_value": -v if negate else v,
            }

        return score
    if key == PriorityKey.DAYS_HOMELESS_3Y:

        def days_homeless(r: Any, _: date) -> dict[str, Any]:
            v = r.days_homeless_3y
            value = int(v)  # never missing (a missing one fails as ``priority_by`` would)
            return {
                "key": name,
                "direction": order,
                "value": value,
                "sort_value": -v if negate else v,
            }

        return days_homeless
    if key == PriorityKey.DAYS_ON_QUEUE:

        def days_on_queue(r: Any, today: date) -> dict[str, Any]:
            placed = r.placed_on
            raw = (_EPOCH - placed).days
            return {
                "key": name,
                "direction": order,
                "value": max((today - placed).days, 0),
                "sort_value": -raw if negate else raw,
            }

        return days_on_queue
    if key == PriorityKey.CHRONIC:

        def chronic(r: Any, _: date) -> dict[str, Any]:
            held = bool(r.chronic_recorded or r.chronic_documented)
            return {
                "key": name,
                "direction": order,
                "value": held,
                "sort_value": -held if negate else int(held),
            }

        return chronic
    attribute = key.value  # veteran, family_with_children, youth: a flag of the row

    def flag(r: Any, _: date) -> dict[str, Any]:
        held = bool(getattr(r, attribute))
        return {
            "key": name,
            "direction": order,
            "value": held,
            "sort_value": -held if negate else int(held),
        }

    return flag


@lru_cache(maxsize=32)
def _key_entries(scheme: str) -> tuple[KeyEntry, ...]:
    """The functions of a scheme's keys, in its order; the page's scheme comes as text
    (``eligibility_sql``): made once per scheme."""
    return key_entries(scheme_rules(orjson.loads(scheme)))


def key_entries(rules: SchemeRules) -> tuple[KeyEntry, ...]:
    return tuple(_key_entry(r.key, r.name, r.order, r.negate) for r in rules)


def priority_of(row: Any, today: date, keys: tuple[KeyEntry, ...]) -> dict[str, Any]:
    """``entries.priority_by`` of a row, its scheme's keys made by ``key_entries``."""
    return {
        "rank": row.rank,
        "keys": [k(row, today) for k in keys],
        "tie_breaker": row.tie_breaker,
    }


def _shape_candidates(
    rows: Sequence[Any], today: date
) -> tuple[list[dict[str, Any]], list[uuid.UUID]]:
    """``CandidateRead`` of each row of a page (rows of one CoC, so of one scheme), and the
    heads of household shown. Each row is read as a plain named tuple (a SQLAlchemy ``Row``'s
    attribute costs about a microsecond)."""
    if not rows:
        return [], []
    make = _record_type(tuple(rows[0]._fields))._make  # type: ignore[attr-defined]
    keys = _key_entries(rows[0].scheme)
    items = []
    shown = []
    for row in rows:
        r = make(row)
        shown.append(r.head_client_id)
        items.append(
            {
                "queue_entry_id": r.id,
                "head_client_id": r.head_client_id,
                "household_id": r.household_id,
                "rank": r.rank,
                "priority_key": r.priority_key,
                "priority": priority_of(r, today, keys),
                "score": r.score,
                "chronic": r.chronic_recorded or r.chronic_documented,
                "days_homeless_3y": r.days_homeless_3y,
                "placed_on": r.placed_on,
                "veteran": r.veteran,
                "family_with_children": r.family_with_children,
                "youth": r.youth,
                "household_size": r.household_size,
            }
        )
    return items, shown


# --- one client: why (not) eligible -------------------------------------------------------------


async def _member_entry(session: AsyncSession, client_id: uuid.UUID) -> uuid.UUID | None:
    """The open queue entry of a household the client is a member of (not its head)."""
    return await session.scalar(
        select(Q.id)
        .join(HouseholdMember, HouseholdMember.household_id == Q.household_id)
        .where(HouseholdMember.client_id == client_id, Q.closed_at.is_(None))
        .limit(1)
    )


async def _entry_row(
    session: AsyncSession,
    conn: AsyncConnection,
    t: Target,
    client_id: uuid.UUID,
    read_event: dict[str, Any],
) -> Any | None:
    """The client's open queue entry (as head of household, else as a household member) as
    ``eligibility_sql.entry_row`` reads it, its facts current; None when there is none. The
    first read writes the PII read event (``read_event``: its values) as well."""
    params = {
        "coc_id": t.coc_id,
        "project_id": t.project_id,
        "client_id": client_id,
        **t.rule_params(),
    }
    found = await _driver_rows(conn, sql.entry_row_recorded(t.shape), {**params, **read_event})
    row = found[0] if found else None
    if row is None:
        member_of = await _member_entry(session, client_id)
        if member_of is None:
            return None
        params["entry_id"] = member_of
        row = (await session.execute(sql.entry_row(t.shape, False), params)).one()
    if row.facts_stale:
        # The queue's facts, current before the requirements read them.
        await facts.refresh_entries(session, [row.id])
        params["entry_id"] = row.id
        row = (await session.execute(sql.entry_row(t.shape, False), params)).one()
    return row


def _show(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def explain(
    session: AsyncSession, actor: Actor, unit_id: uuid.UUID, client_id: uuid.UUID
) -> dict[str, Any]:
    """``EligibilityRead`` as a plain dict, keys in the model's order (written as built,
    ``app.http.plain_json``)."""
    # The unit (404 first, as ``referable_target``) and the client as
    # ``client_access.visible_client_id`` reads it (404 next), in one read.
    visibility = client_access.visibility_shape(actor)
    values = {
        "unit_id": unit_id,
        "coc_id": actor.coc_id,
        "client_id": client_id,
        **client_access.visibility_values(actor),
    }
    conn = await _connection(session)
    rows = await _driver_rows(conn, sql.target_with_client(visibility), values)
    t = _target_of(rows, with_stale=False)
    if t is None:
        raise NotFound("No such unit.")
    seen = rows[0]
    if seen.client_found is None:
        raise NotFound("No such client.")
    if seen.client_merged_into_id is not None:  # the survivor's, as the client's reads follow
        client_id = await client_access.visible_client_id(session, actor, client_id)
        conn = await _connection(session)
    elif not seen.client_visible:
        raise NotFound("No such client.")
    # ``record_pii_read``'s event, written by the entry's first read (the same row).
    read_event = audit.read_event_values(
        sql.READ, actor, "client", client_id, fields=["eligibility"]
    )
    today = clock.today(actor)
    row = await _entry_row(session, conn, t, client_id, read_event)
    if row is None:
        return {
            "unit_id": t.unit_id,
            "project_id": t.project_id,
            "client_id": client_id,
            "queue_entry_id": None,
            "eligible": False,
            "requirements": [
                _check(rule, None, passed=rule.polarity == Polarity.MUST_NOT) for rule in t.rules
            ],
            "on_queue": False,
            "approved": False,
            "parked": False,
            "parked_until": None,
            "in_active_match": False,
            "active_match_id": None,
            "declined_for_project": await declined(session, t.project_id, client_id),
            "rank": None,
        }
    checks = [
        _check(rule, row[2 * i], passed=bool(row[2 * i + 1])) for i, rule in enumerate(t.rules)
    ]
    parked = is_parked(row.referral_status, row.parked_until, today)
    active = row.active_match_id
    was_declined = bool(row.declined)
    approved = row.intake_status == IntakeStatus.APPROVED.value
    eligible = (
        approved
        and all(c["passed"] for c in checks)
        and not parked
        and active is None
        and not was_declined
    )
    return {
        "unit_id": t.unit_id,
        "project_id": t.project_id,
        "client_id": client_id,
        "queue_entry_id": row.id,
        "eligible": eligible,
        "requirements": checks,
        "on_queue": True,
        "approved": approved,
        "parked": parked,
        "parked_until": row.parked_until if parked else None,
        "in_active_match": active is not None,
        "active_match_id": active,
        "declined_for_project": was_declined,
        "rank": row.rank,
    }


def _decimal(value: Decimal | None) -> float | None:
    # As the model writes a bound (``JsonDecimal``): a JSON number.
    return None if value is None else float(value)


def _check(rule: Rule, raw: Any, *, passed: bool) -> dict[str, Any]:
    """``RequirementCheck`` as a plain dict (keys in the model's order)."""
    return {
        "requirement_id": rule.id,
        "kind": rule.kind,
        "polarity": rule.polarity,
        "passed": passed,
        "value": _show(raw),
        "area": rule.area,
        "min_value": _decimal(rule.min_value),
        "max_value": _decimal(rule.max_value),
    }


async def declined(session: AsyncSession, project_id: uuid.UUID, client_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Match.id)
        .where(
            Match.project_id == project_id,
            Match.head_client_id == client_id,
            Match.status == sql.code(MatchStatus.DECLINED.value),
        )
        .limit(1)
    )
    return found is not None


async def entry_eligible(session: AsyncSession, t: Target, entry_id: uuid.UUID) -> list[Rule]:
    """The rules ``entry_id`` fails (empty: eligible)."""
    if not t.rules:
        return []
    params = {"entry_id": entry_id, **t.rule_params()}
    row = (await session.execute(sql.entry_passes(t.shape), params)).one()
    return [rule for rule, ok in zip(t.rules, row, strict=True) if not ok]
