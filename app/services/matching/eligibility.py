"""Eligibility and candidates (DOMAIN 9): every requirement is a SQL predicate over the queue
entry's household facts (kept by the queue) and the head of household's records, so the
candidate search is one statement walking the queue in rank order.

A candidate for a unit is an open, ``approved`` queue entry that meets every requirement of the
unit's project (plus, for an EHV program, has an area tie), is not parked (the queue's own
``referral.still_parked``: a park whose ``parked_until`` is still to come, or blank), is in no
active match, and was never declined by this project. The explanation (``explain``) reads the
same predicates for one client and shows the data behind each.

The facts are the queue's (``app.services.queue.facts``): before reading, the CoC's stale
entries are recomputed as the queue's own reads do (``facts.refresh_for_read``; one entry for
the explanation and a new match). A page of candidates is ranked by the queue's own machinery
(``listing.with_rank``: one index-only count of the entries ahead, up to the page's last row)
and each candidate carries the queue's ``priority`` (rank, the scheme's keys and values, the
tie-breaker): why it ranks where it does.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    any_,
    cast,
    exists,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import ValidationFailed
from app.models import HouseholdMember, Project
from app.models.area_ties import AreaTie
from app.models.ce_records import HousingNeedsAssessment, IncomeBenefits
from app.models.matching import Match, ProjectRequirement, Unit
from app.models.queue import QueueEntry, QueueSettings
from app.reference.matching import (
    ACTIVE_MATCH_STATUSES,
    PEOPLE_PER_BEDROOM,
    MatchStatus,
    Polarity,
    RequirementKind,
)
from app.reference.queue import IntakeStatus
from app.schemas.matching import CandidateRead, EligibilityRead, RequirementCheck
from app.services.clients import access as client_access
from app.services.matching import inventory
from app.services.platform import audit
from app.services.platform.pagination import decode_cursor, encode_cursor
from app.services.queue import facts
from app.services.queue.entries import priority
from app.services.queue.listing import ahead_of, with_rank
from app.services.queue.referral import is_parked, still_parked

Q = QueueEntry


def _latest_hna(column: Any) -> Any:
    return (
        select(column)
        .where(HousingNeedsAssessment.enrollment_id == Q.head_enrollment_id)
        .order_by(
            HousingNeedsAssessment.assessment_date.desc(), HousingNeedsAssessment.created_at.desc()
        )
        .limit(1)
        .scalar_subquery()
    )


def _latest_income() -> Any:
    return (
        select(IncomeBenefits.total_monthly_income)
        .where(
            IncomeBenefits.enrollment_id == Q.head_enrollment_id,
            IncomeBenefits.total_monthly_income.is_not(None),
        )
        .order_by(IncomeBenefits.information_date.desc(), IncomeBenefits.created_at.desc())
        .limit(1)
        .scalar_subquery()
    )


def _area_tie(area: str | None) -> ColumnElement[bool]:
    stmt = select(AreaTie.id).where(AreaTie.client_id == Q.head_client_id)
    if area is not None:
        stmt = stmt.where(AreaTie.area == area)
    return exists(stmt)


@dataclass(frozen=True)
class Rule:
    """A requirement as checked: its row (None for a built-in rule such as EHV's area tie)."""

    id: uuid.UUID | None
    kind: RequirementKind
    polarity: Polarity
    area: str | None = None
    min_value: Any = None
    max_value: Any = None


def rules_of(requirements: Sequence[ProjectRequirement], ehv: bool) -> list[Rule]:
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


def fact(rule: Rule, bedrooms: int) -> tuple[Any, Any]:
    """(the data the rule reads, the predicate that it holds) over ``QueueEntry``; the
    predicate may be NULL when the data is missing (the caller treats NULL as not true)."""
    kind = rule.kind
    if kind == RequirementKind.CHRONIC:
        v: Any = or_(Q.chronic_recorded, Q.chronic_documented)
        return v, v
    if kind == RequirementKind.VETERAN:
        return Q.veteran, Q.veteran
    if kind == RequirementKind.FAMILY_WITH_CHILDREN:
        return Q.family_with_children, Q.family_with_children
    if kind == RequirementKind.YOUTH:
        return Q.youth, Q.youth
    if kind == RequirementKind.VERIFIED_DISABILITY:
        v = literal("disability") == any_(Q.documents_on_file)
        return v, v
    if kind == RequirementKind.VASH_ELIGIBLE:
        v = _latest_hna(HousingNeedsAssessment.hud_vash_eligible)
        return v, v == 1
    if kind == RequirementKind.SEX_OFFENDER_REGISTRY:
        v = _latest_hna(HousingNeedsAssessment.sex_offender_registry)
        return v, v == 1
    if kind == RequirementKind.METH_CONVICTION:
        v = _latest_hna(HousingNeedsAssessment.meth_manufacturing_conviction)
        return v, v == 1
    if kind == RequirementKind.AREA_TIE:
        v = _area_tie(rule.area)
        return v, v
    if kind == RequirementKind.HOUSEHOLD_SIZE:
        conds = []
        if rule.min_value is not None:
            conds.append(Q.household_size >= rule.min_value)
        if rule.max_value is not None:
            conds.append(Q.household_size <= rule.max_value)
        return Q.household_size, and_(true(), *conds)
    if kind == RequirementKind.FITS_BEDROOMS:
        return Q.household_size, Q.household_size <= PEOPLE_PER_BEDROOM * max(bedrooms, 1)
    if kind == RequirementKind.INCOME_CEILING:
        v = _latest_income()
        return v, v <= rule.max_value
    raise AssertionError(kind)  # pragma: no cover - every kind is handled above


def passes(rule: Rule, bedrooms: int) -> ColumnElement[bool]:
    """True exactly when the requirement is met (missing data: a ``must`` fails, a
    ``must_not`` passes)."""
    _, predicate = fact(rule, bedrooms)
    held = func.coalesce(predicate, False)
    return held if rule.polarity == Polarity.MUST else not_(held)


def not_in_active_match() -> ColumnElement[bool]:
    return ~exists(
        select(Match.id).where(
            Match.queue_entry_id == Q.id, Match.status.in_(ACTIVE_MATCH_STATUSES)
        )
    )


def not_declined_by(project_id: uuid.UUID) -> ColumnElement[bool]:
    return ~exists(
        select(Match.id).where(
            Match.project_id == project_id,
            Match.head_client_id == Q.head_client_id,
            Match.status == MatchStatus.DECLINED.value,
        )
    )


@dataclass(frozen=True)
class Target:
    unit: Unit
    project: Project
    rules: list[Rule]


async def target(session: AsyncSession, unit: Unit) -> Target:
    project = await inventory.unit_project(session, unit)
    sources = await inventory.funding_sources(session, project)
    requirements = await inventory.requirements_of(session, project.id)
    return Target(unit, project, rules_of(requirements, inventory.is_ehv(sources)))


# The columns of a candidate (what ``CandidateRead`` and the queue's ``priority`` read).
def _candidate_columns() -> list[Any]:
    return [
        Q.id,
        Q.priority_key,
        Q.head_client_id,
        Q.household_id,
        Q.score,
        Q.chronic_recorded,
        Q.chronic_documented,
        Q.days_homeless_3y,
        Q.placed_on,
        Q.veteran,
        Q.family_with_children,
        Q.youth,
        Q.household_size,
        Q.tie_breaker,
        QueueSettings.scheme.label("scheme"),
    ]


def eligible_where(t: Target, today: date) -> list[ColumnElement[bool]]:
    """Candidates of the target: open approved entries of its CoC meeting every requirement,
    not parked, in no active match, never declined by the project."""
    return [
        Q.coc_id == t.unit.coc_id,
        Q.closed_at.is_(None),
        Q.intake_status == IntakeStatus.APPROVED.value,
        *[passes(rule, t.unit.bedrooms) for rule in t.rules],
        ~still_parked(today),
        not_in_active_match(),
        not_declined_by(t.project.id),
    ]


def candidates_stmt(
    t: Target, today: date, limit: int, after: tuple[list[int], uuid.UUID] | None = None
) -> Select[Any]:
    """One page of candidates in rank order, after the cursor's ``(priority_key, id)``:
    ``limit + 1`` rows (the last only says there is more), each with its ``rank`` counted by
    the queue (``listing.with_rank``). The statement the service runs, and the benchmark."""
    where = eligible_where(t, today)
    if after is not None:
        key, last = after
        where.append(tuple_(Q.priority_key, Q.id) > tuple_(cast(key, Q.priority_key.type), last))
    page = (
        select(*_candidate_columns())
        .join(QueueSettings, QueueSettings.coc_id == Q.coc_id)
        .where(*where)
        .order_by(Q.priority_key, Q.id)
        .limit(limit + 1)
        .subquery("page")
    )
    ranked = with_rank(page, t.unit.coc_id)
    c = ranked.selected_columns
    return ranked.order_by(c.priority_key, c.id)


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
    items: list[CandidateRead]
    next_cursor: str | None
    client_ids: list[uuid.UUID]


async def candidates(
    session: AsyncSession, actor: Actor, unit: Unit, limit: int, cursor: str | None
) -> CandidatePage:
    after = _decode(cursor) if cursor else None
    t = await target(session, unit)
    await facts.refresh_for_read(session, unit.coc_id)
    today = clock.today(actor)
    rows = (await session.execute(candidates_stmt(t, today, limit, after))).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor([list(rows[-1].priority_key), str(rows[-1].id)])
    items = [
        CandidateRead(
            queue_entry_id=r.id,
            head_client_id=r.head_client_id,
            household_id=r.household_id,
            rank=r.rank,
            priority_key=list(r.priority_key),
            priority=priority(r, today),
            score=r.score,
            chronic=r.chronic_recorded or r.chronic_documented,
            days_homeless_3y=r.days_homeless_3y,
            placed_on=r.placed_on,
            veteran=r.veteran,
            family_with_children=r.family_with_children,
            youth=r.youth,
            household_size=r.household_size,
        )
        for r in rows
    ]
    audit.record_pii_reads(session, actor, [i.head_client_id for i in items], fields=["candidate"])
    return CandidatePage(items, next_cursor, [i.head_client_id for i in items])


# --- one client: why (not) eligible -------------------------------------------------------------


async def open_entry_of(session: AsyncSession, client_id: uuid.UUID) -> QueueEntry | None:
    """The client's open queue entry: as head of household, else as a household member."""
    entry = await session.scalar(
        select(Q).where(Q.head_client_id == client_id, Q.closed_at.is_(None)).limit(1)
    )
    if entry is not None:
        return entry
    return await session.scalar(
        select(Q)
        .join(HouseholdMember, HouseholdMember.household_id == Q.household_id)
        .where(HouseholdMember.client_id == client_id, Q.closed_at.is_(None))
        .limit(1)
    )


def _show(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


async def explain(
    session: AsyncSession, actor: Actor, unit: Unit, client_id: uuid.UUID
) -> EligibilityRead:
    client = await client_access.get_visible_client(session, actor, client_id)
    client_id = client.id
    audit.record_pii_read(session, actor, "client", client_id, fields=["eligibility"])
    t = await target(session, unit)
    today = clock.today(actor)
    entry = await open_entry_of(session, client_id)
    if entry is not None and entry.facts_stale:
        await facts.refresh_entries(session, [entry.id])
        await session.refresh(entry)
    checks: list[RequirementCheck] = []
    if entry is None:
        for rule in t.rules:
            checks.append(_check(rule, None, passed=rule.polarity == Polarity.MUST_NOT))
        return EligibilityRead(
            unit_id=unit.id,
            project_id=t.project.id,
            client_id=client_id,
            queue_entry_id=None,
            eligible=False,
            requirements=checks,
            on_queue=False,
            approved=False,
            parked=False,
            parked_until=None,
            in_active_match=False,
            active_match_id=None,
            declined_for_project=await declined(session, t.project.id, client_id),
            rank=None,
        )
    columns: list[Any] = []
    for i, rule in enumerate(t.rules):
        value, _ = fact(rule, unit.bedrooms)
        columns.append(cast(value, String).label(f"value_{i}"))
        columns.append(passes(rule, unit.bedrooms).label(f"passed_{i}"))
    row: Any = ()
    if columns:
        row = (await session.execute(select(*columns).where(Q.id == entry.id))).one()
    for i, rule in enumerate(t.rules):
        raw = row[2 * i]
        checks.append(_check(rule, raw, passed=bool(row[2 * i + 1])))
    rank = await entry_rank(session, entry)
    parked = is_parked(entry.referral_status, entry.parked_until, today)
    active = await session.scalar(
        select(Match.id).where(
            Match.queue_entry_id == entry.id, Match.status.in_(ACTIVE_MATCH_STATUSES)
        )
    )
    was_declined = await declined(session, t.project.id, entry.head_client_id)
    approved = entry.intake_status == IntakeStatus.APPROVED.value
    eligible = (
        approved
        and all(c.passed for c in checks)
        and not parked
        and active is None
        and not was_declined
    )
    return EligibilityRead(
        unit_id=unit.id,
        project_id=t.project.id,
        client_id=client_id,
        queue_entry_id=entry.id,
        eligible=eligible,
        requirements=checks,
        on_queue=True,
        approved=approved,
        parked=parked,
        parked_until=entry.parked_until if parked else None,
        in_active_match=active is not None,
        active_match_id=active,
        declined_for_project=was_declined,
        rank=rank,
    )


async def entry_rank(session: AsyncSession, entry: QueueEntry) -> int | None:
    """The open entry's rank on the queue (the queue's count of the entries ahead)."""
    if entry.closed_at is not None:
        return None
    ahead: int = await session.scalar(ahead_of(entry.coc_id, entry.priority_key, entry.id)) or 0
    return ahead + 1


def _check(rule: Rule, raw: Any, *, passed: bool) -> RequirementCheck:
    return RequirementCheck(
        requirement_id=rule.id,
        kind=rule.kind,
        polarity=rule.polarity,
        passed=passed,
        value=_show(raw),
        area=rule.area,
        min_value=rule.min_value,
        max_value=rule.max_value,
    )


async def declined(session: AsyncSession, project_id: uuid.UUID, client_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Match.id)
        .where(
            Match.project_id == project_id,
            Match.head_client_id == client_id,
            Match.status == MatchStatus.DECLINED.value,
        )
        .limit(1)
    )
    return found is not None


async def entry_eligible(session: AsyncSession, t: Target, entry_id: uuid.UUID) -> list[Rule]:
    """The rules ``entry_id`` fails (empty: eligible)."""
    columns = [passes(rule, t.unit.bedrooms).label(f"p{i}") for i, rule in enumerate(t.rules)]
    if not columns:
        return []
    row = (await session.execute(select(*columns).where(Q.id == entry_id))).one()
    return [rule for rule, ok in zip(t.rules, row, strict=True) if not ok]
