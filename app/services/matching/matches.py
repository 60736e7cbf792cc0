"""Matches (referrals, DOMAIN 9): sending one, the provider's and the CAS administrators'
moves, their effects, stall computation and responses, the EHV route, lists and the timeline.

Effects of a move:
* sent: the HUD 4.20 referral event on the CE enrollment (event from the project), the provider
  may see the household's clients, the entry's referral status is ``sent``.
* decline / park / reject / no show / cancel: the match ends, so the unit is free again and the
  entry is back on the queue (a parked entry once ``parked_until`` has come, read at read
  time), and the ``referred`` access the match gave the provider (and an assigned EHV
  case-manager agency) ends with the referral: off their caseloads. They still read the match.
* accepted (and the EHV navigator's voucher): the program intake starts (program enrollments of
  the household, linked to the match).
* enrolled: referral result 1 on the 4.20 event, the unit is checked in, the queue entry closes
  (``housed``) and the CE enrollment is flagged for exit with the program as destination.

Stalled / about to stall are derived from ``clock_started_at`` (the send, or the latest stall
response) and the response policy (the CoC's, or the project's own days) at read time.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.models import HouseholdMember, Membership, Organization, Project, User
from app.models.ce_records import CeEvent
from app.models.enrollments import CaseAssignment, Enrollment
from app.models.matching import (
    Match,
    MatchEvent,
    MatchingPolicy,
    MatchStallResponse,
    ProjectMatchingProfile,
    Unit,
)
from app.models.queue import QueueEntry
from app.permissions import Permission, permissions_for
from app.reference.matching import (
    ACTIVE_MATCH_STATUSES,
    DEFAULT_STALL_AFTER_DAYS,
    DEFAULT_WARN_DAYS_BEFORE,
    DISENGAGED_PARK_DAYS,
    MAX_PARK_DAYS,
    PARK_END_RULES,
    PROVIDER_RESULTS,
    REFERRAL_STATUS_OF,
    CancelReason,
    DeclineReason,
    MatchStatus,
    ParkEndRule,
    ParkReason,
    ProviderResult,
    RequirementKind,
    StallReason,
    StallState,
    UnitEventKind,
    UnitStatus,
    exit_destination,
    referral_event,
)
from app.reference.queue import CloseReason, IntakeStatus, ReferralStatus
from app.schemas.matching import MatchCreate, MatchRead
from app.schemas.pagination import PageParams
from app.services.ce.enrollments import check_operating_period, locked_project
from app.services.clients import access as client_access
from app.services.matching import eligibility, inventory, policy
from app.services.matching.machine import MATCH, needs_provider
from app.services.platform import audit, events
from app.services.platform.pagination import PageOf, paginate
from app.services.queue import facts
from app.services.queue.referral import is_parked

S = MatchStatus
AUDIENCE = ["provider_contacts", "ehv_case_manager", "case_managers", "cas_admins"]
__all__ = ["Match", "MatchEvent", "MatchStallResponse"]


# --- lookups ------------------------------------------------------------------------------------


async def get_visible_match(
    session: AsyncSession, actor: Actor, match_id: uuid.UUID, *, for_update: bool = False
) -> Match:
    stmt = select(Match).where(Match.id == match_id, policy.visible_matches_filter(actor))
    if for_update:
        stmt = stmt.with_for_update(of=Match)
    match = await session.scalar(stmt)
    if match is None:
        raise NotFound("No such match.")
    return match


async def household_clients(session: AsyncSession, entry: QueueEntry) -> list[uuid.UUID]:
    ids = list(
        (
            await session.scalars(
                select(HouseholdMember.client_id).where(
                    HouseholdMember.household_id == entry.household_id
                )
            )
        ).all()
    )
    return list(dict.fromkeys([entry.head_client_id, *ids]))


# --- stall -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StallPolicy:
    stall_after_days: int
    warn_days_before: int


async def stall_policies(
    session: AsyncSession, coc_id: uuid.UUID, project_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, StallPolicy]:
    coc = await session.get(MatchingPolicy, coc_id)
    days = coc.stall_after_days if coc is not None else DEFAULT_STALL_AFTER_DAYS
    warn = coc.warn_days_before if coc is not None else DEFAULT_WARN_DAYS_BEFORE
    overrides = dict(
        (
            await session.execute(
                select(
                    ProjectMatchingProfile.project_id, ProjectMatchingProfile.stall_after_days
                ).where(ProjectMatchingProfile.project_id.in_(list(project_ids)))
            )
        ).all()
    )
    out = {}
    for pid in project_ids:
        own = overrides.get(pid)
        total = own or days
        out[pid] = StallPolicy(total, min(warn, total - 1))
    return out


def stall_state(match: Match, p: StallPolicy, now: datetime) -> tuple[StallState, datetime | None]:
    if match.status != S.SENT:
        return StallState.NOT_WAITING, None
    due = match.clock_started_at + timedelta(days=p.stall_after_days)
    if now >= due:
        return StallState.STALLED, due
    if now >= due - timedelta(days=p.warn_days_before):
        return StallState.ABOUT_TO_STALL, due
    return StallState.ON_TIME, due


def _stall_days_sql() -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    own = (
        select(ProjectMatchingProfile.stall_after_days)
        .where(ProjectMatchingProfile.project_id == Match.project_id)
        .scalar_subquery()
    )
    coc_days = (
        select(MatchingPolicy.stall_after_days)
        .where(MatchingPolicy.coc_id == Match.coc_id)
        .scalar_subquery()
    )
    coc_warn = (
        select(MatchingPolicy.warn_days_before)
        .where(MatchingPolicy.coc_id == Match.coc_id)
        .scalar_subquery()
    )
    days = func.coalesce(own, coc_days, DEFAULT_STALL_AFTER_DAYS)
    warn = func.least(func.coalesce(coc_warn, DEFAULT_WARN_DAYS_BEFORE), days - 1)
    return days, warn


def stall_due_sql() -> ColumnElement[Any]:
    """When a waiting match stalls: its clock's start plus the response policy's days."""
    days, _ = _stall_days_sql()
    return Match.clock_started_at + func.make_interval(0, 0, 0, days)


def stalled_sql(now: datetime) -> ColumnElement[bool]:
    days, _ = _stall_days_sql()
    due = Match.clock_started_at + func.make_interval(0, 0, 0, days)
    return and_(Match.status == S.SENT.value, due <= now)


def about_to_stall_sql(now: datetime) -> ColumnElement[bool]:
    days, warn = _stall_days_sql()
    due = Match.clock_started_at + func.make_interval(0, 0, 0, days)
    return and_(
        Match.status == S.SENT.value,
        due > now,
        due - func.make_interval(0, 0, 0, warn) <= now,
    )


async def match_reads(
    session: AsyncSession, actor: Actor, matches: Sequence[Match]
) -> list[MatchRead]:
    if not matches:
        return []
    policies = await stall_policies(session, actor.coc_id, list({m.project_id for m in matches}))
    event_codes = dict(
        (
            await session.execute(
                select(CeEvent.id, CeEvent.event).where(
                    CeEvent.id.in_([m.referral_event_id for m in matches if m.referral_event_id])
                )
            )
        ).all()
    )
    now = clock.now()
    out = []
    for m in matches:
        state, due = stall_state(m, policies[m.project_id], now)
        data = {k: getattr(m, k) for k in MatchRead.model_fields if hasattr(m, k)}
        data.update(
            stall=state,
            stall_due_at=due,
            referral_event=event_codes.get(m.referral_event_id) if m.referral_event_id else None,
        )
        out.append(MatchRead.model_validate(data))
    audit.record_pii_reads(session, actor, [m.head_client_id for m in matches], fields=["match"])
    return out


# --- effects ------------------------------------------------------------------------------------


async def _set_referral_status(session: AsyncSession, match: Match) -> None:
    """The queue entry's referral status and, for a park, its end date (the queue reads the
    two: ``app.services.queue.referral``; a park ends by the calendar without a write)."""
    entry = await session.get(QueueEntry, match.queue_entry_id)
    assert entry is not None
    status = REFERRAL_STATUS_OF[S(match.status)]
    entry.referral_status = status.value
    entry.parked_until = match.parked_until if status == ReferralStatus.PARKED else None


def _emit(
    session: AsyncSession, actor: Actor, match: Match, change: str, previous: str | None
) -> None:
    events.emit(
        session,
        actor,
        f"match.{change}",
        entity_type="match",
        entity_id=match.id,
        client_id=match.head_client_id,
        data={
            "audience": list(AUDIENCE),
            "match_id": str(match.id),
            "project_id": str(match.project_id),
            "organization_id": str(match.organization_id),
            "unit_id": str(match.unit_id),
            "queue_entry_id": str(match.queue_entry_id),
            "status": match.status,
            "previous_status": previous,
        },
    )


async def _write_result(session: AsyncSession, match: Match, result: int, on: date) -> None:
    """The 4.20.D referral result and 4.20.E result date on the referral event (not before the
    event date)."""
    match.referral_result = result
    match.result_date = on
    if match.referral_event_id is None:
        return
    event = await session.get(CeEvent, match.referral_event_id)
    if event is None:
        return
    if on < event.event_date:
        raise ValidationFailed(
            f"The result date is before the referral event ({event.event_date}).",
            field="result_date",
        )
    event.referral_result = result
    event.result_date = on


# The ends of a match that end the ``referred`` access it gave: every end but success (the
# provider enrolled the household, and keeps it on its caseload).
ENDS_ACCESS = frozenset(set(S) - set(ACTIVE_MATCH_STATUSES) - {S.ENROLLED})


async def _revoke_referred_access(session: AsyncSession, match: Match) -> None:
    """The referral ended unsuccessfully: off the caseload of the provider and of the EHV
    case-manager agency, both given ``referred`` access to the household by the match. For each
    organization, the grant of a client ends unless another match of that organization still
    holds the client (active, or enrolled); the organization's own links to the client
    (``created``, ``enrolled``: other rows) stay. Under the clients' ``referred`` locks: a
    match of the organization being sent for one of them at the same moment is committed
    before the check below reads the matches (or is sent after the revocation, and grants
    again)."""
    entry = await session.get(QueueEntry, match.queue_entry_id)
    assert entry is not None
    clients = await household_clients(session, entry)
    await client_access.lock_referred(session, clients)
    await client_access.revoke_referred_unless_held(
        session,
        match.coc_id,
        clients,
        [o for o in (match.organization_id, match.ehv_case_manager_organization_id) if o],
        except_match_id=match.id,
    )


async def _move(
    session: AsyncSession,
    actor: Actor,
    match: Match,
    target: MatchStatus,
    *,
    change: str | None = None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> MatchStatus:
    current = S(match.status)
    MATCH.check(current, target, actor)
    if needs_provider(current, target) and not policy.can_respond(actor, match):
        raise Forbidden(
            "Only the provider this match was sent to (or its EHV case-manager agency) "
            "responds to it."
        )
    match.status = target.value
    now = clock.now()
    if match.responded_at is None and target != S.SENT:
        match.responded_at = now
    if target not in ACTIVE_MATCH_STATUSES:
        match.closed_at = now
    MATCH.record(
        session,
        actor,
        match.id,
        current,
        target,
        note=note,
        extra={"change": change or target.value, **(data or {})},
    )
    await _set_referral_status(session, match)
    if target in ENDS_ACCESS:
        # The notice below is delivered after the commit, to whoever may read the match: the
        # provider is still told (``notifications.kinds``: the match's rule stands for the
        # client's).
        await _revoke_referred_access(session, match)
    audit.record(
        session,
        actor,
        "match.transition",
        "match",
        match.id,
        {"status": {"old": current.value, "new": target.value}, **(data or {})},
    )
    _emit(session, actor, match, change or target.value, current.value)
    return current


# --- sending ------------------------------------------------------------------------------------


async def _body_unit(session: AsyncSession, actor: Actor, unit_id: uuid.UUID) -> Unit:
    unit = await session.scalar(
        select(Unit).where(Unit.id == unit_id, Unit.coc_id == actor.coc_id).with_for_update()
    )
    if unit is None:
        raise ValidationFailed("No such unit.", field="unit_id")
    return unit


async def _body_entry(session: AsyncSession, actor: Actor, entry_id: uuid.UUID) -> QueueEntry:
    # Locked (after the unit): an intake voided or a match sent for the entry at the same moment
    # is committed before the checks read it (``ce.void`` locks it before its check too).
    entry = await session.scalar(
        select(QueueEntry)
        .where(QueueEntry.id == entry_id, QueueEntry.coc_id == actor.coc_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if entry is None or not await client_access.can_see(session, actor, entry.head_client_id):
        raise ValidationFailed("No such queue entry.", field="queue_entry_id")
    return entry


async def _check_operating(session: AsyncSession, project: Project, today: date) -> None:
    """HUD 2.03: a project outside its operating period, or of a deactivated organization (no
    one there can respond), takes no referral (409). The organization row is read under
    ``FOR SHARE``: a deactivation at the same moment (``FOR NO KEY UPDATE``) waits for this
    match and refuses, or this waits for it and sees it."""
    active = await session.scalar(
        select(Organization.is_active)
        .where(Organization.id == project.organization_id)
        .with_for_update(read=True)
    )
    if not active:
        raise Conflict("The unit's project belongs to a deactivated organization.")
    end = project.operating_end_date
    if project.operating_start_date > today or (end is not None and end < today):
        raise Conflict(
            f"The unit's project is not operating today (operating from "
            f"{project.operating_start_date}" + (f" to {end}" if end else "") + ").",
            extra={
                "operating_start_date": project.operating_start_date.isoformat(),
                "operating_end_date": end.isoformat() if end else None,
            },
        )


async def create_match(session: AsyncSession, actor: Actor, body: MatchCreate) -> Match:
    today = clock.today(actor)
    MATCH.check(None, S.SENT, actor)
    unit = await _body_unit(session, actor, body.unit_id)
    entry = await _body_entry(session, actor, body.queue_entry_id)
    await _check_operating(session, await session.get_one(Project, unit.project_id), today)
    if entry.closed_at is not None:
        raise Conflict("The queue entry is closed (the household left the queue).")
    if entry.intake_status != IntakeStatus.APPROVED.value:
        raise Conflict(
            f"Only approved queue entries are referred; this one is {entry.intake_status}.",
            extra={"intake_status": entry.intake_status},
        )
    t = await eligibility.target(session, unit)
    if is_parked(entry.referral_status, entry.parked_until, today):
        until = f"until {entry.parked_until}" if entry.parked_until else "indefinitely"
        raise Conflict(f"The household is parked {until}; it returns to the queue on that date.")
    if entry.facts_stale:  # the queue's facts, current before the requirements read them
        await facts.refresh_entries(session, [entry.id])
        await session.refresh(entry)
    active = await session.scalar(
        select(Match.id).where(
            Match.queue_entry_id == entry.id, Match.status.in_(ACTIVE_MATCH_STATUSES)
        )
    )
    if active is not None:
        raise Conflict(
            "The queue entry is already in an active match.", extra={"match_id": str(active)}
        )
    if await eligibility.declined(session, t.project_id, entry.head_client_id):
        raise Conflict("This project declined the household before; it is not proposed again.")
    failed = await eligibility.entry_eligible(session, t, entry.id)
    if failed:
        if any(r.id is None and r.kind == RequirementKind.AREA_TIE for r in failed):
            raise ValidationFailed(
                "Area ties are required before an EHV match: record the client's area ties first.",
                field="queue_entry_id",
            )
        raise Conflict(
            "The household does not meet the project's requirements: "
            + ", ".join(f"{r.polarity} {r.kind}" for r in failed)
            + " (see GET /units/{id}/eligibility/{client_id}).",
            extra={"failed": [f"{r.polarity}:{r.kind}" for r in failed]},
        )
    unit_busy = await session.scalar(
        select(Match.id).where(
            Match.unit_id == unit.id,
            Match.status.in_(ACTIVE_MATCH_STATUSES),
            Match.over_referral.is_(False),
        )
    )
    free = unit.status == UnitStatus.AVAILABLE.value and unit_busy is None
    if not free and not body.over_referral:
        why = f"is {unit.status}" if unit_busy is None else "already has an active match"
        raise Conflict(
            f"The unit {why}; refer to it only as an explicit over-referral "
            "(over_referral: true) when a unit will open soon.",
            extra={"unit_status": unit.status},
        )
    if free and body.over_referral:
        raise ValidationFailed(
            "The unit is available: this is not an over-referral.", field="over_referral"
        )
    project = await session.get(Project, t.project_id)
    assert project is not None
    sources = await inventory.funding_sources(session, project)
    now = clock.now()
    code = referral_event(project.project_type, sources)
    event_id = None
    if code is not None:
        event = CeEvent(
            coc_id=entry.coc_id,
            enrollment_id=entry.head_enrollment_id,
            client_id=entry.head_client_id,
            event_date=today,
            event=code,
            created_by_user_id=actor.user_id,
            created_by_organization_id=actor.organization_id,
        )
        session.add(event)
        await session.flush()
        event_id = event.id
    match = Match(
        id=uuid.uuid4(),
        coc_id=actor.coc_id,
        unit_id=unit.id,
        project_id=project.id,
        organization_id=project.organization_id,
        queue_entry_id=entry.id,
        head_client_id=entry.head_client_id,
        ce_enrollment_id=entry.head_enrollment_id,
        is_ehv=inventory.is_ehv(sources),
        status=S.SENT.value,
        over_referral=body.over_referral,
        note=body.note,
        sent_at=now,
        sent_on=today,
        sent_by_user_id=actor.user_id,
        clock_started_at=now,
        referral_event_id=event_id,
    )
    session.add(match)
    savepoint = await session.begin_nested()
    try:
        await session.flush()
        await savepoint.commit()
    except IntegrityError:
        await savepoint.rollback()
        raise Conflict(
            "The unit or the queue entry got an active match at the same time; reload and "
            "choose again."
        ) from None
    await client_access.grant_referred(
        session, await household_clients(session, entry), project.organization_id
    )
    MATCH.record(
        session,
        actor,
        match.id,
        None,
        S.SENT,
        note=body.note,
        extra={"change": "sent", "over_referral": body.over_referral, "referral_event": code},
    )
    await _set_referral_status(session, match)
    audit.record(
        session,
        actor,
        "match.create",
        "match",
        match.id,
        {
            "unit_id": unit.id,
            "queue_entry_id": entry.id,
            "over_referral": body.over_referral,
            "referral_event": code,
        },
    )
    _emit(session, actor, match, "sent", None)
    await session.flush()
    return match


# --- provider and admin moves -----------------------------------------------------------------


async def _start_program_intake(
    session: AsyncSession, actor: Actor, match: Match, entry_date: date, field: str
) -> uuid.UUID:
    """The program enrollments of the household (head first), prefilled from the CE enrollment
    (3.917, disabling condition), the acting user as case manager; returns the head's."""
    ce = await session.get(Enrollment, match.ce_enrollment_id)
    assert ce is not None
    group = list(
        (
            await session.scalars(
                select(Enrollment)
                .where(
                    Enrollment.household_group_id == ce.household_group_id,
                    Enrollment.voided_at.is_(None),
                    Enrollment.exit_date.is_(None),
                )
                .order_by(Enrollment.relationship_to_hoh, Enrollment.id)
            )
        ).all()
    ) or [ce]
    if entry_date < match.sent_on:
        raise ValidationFailed("The entry date is before the match was sent.", field=field)
    project = await locked_project(session, match.project_id)
    check_operating_period(project, entry_date, field)
    head_id = uuid.uuid4()
    copied = (
        "living_situation",
        "rental_subsidy_type",
        "length_of_stay",
        "los_under_threshold",
        "previous_street_essh",
        "date_to_street_essh",
        "times_homeless_past_three_years",
        "months_homeless_past_three_years",
        "disabling_condition",
    )
    rows = []
    for member in group:
        is_head = member.id == ce.id
        row = Enrollment(
            id=head_id if is_head else uuid.uuid4(),
            coc_id=actor.coc_id,
            client_id=member.client_id,
            project_id=project.id,
            is_coordinated_entry=False,
            household_id=member.household_id,
            household_group_id=head_id,
            relationship_to_hoh=member.relationship_to_hoh,
            entry_date=entry_date,
            enrollment_coc=member.enrollment_coc,
            created_by_user_id=actor.user_id,
            created_by_organization_id=actor.organization_id,
            **{k: getattr(member, k) for k in copied},
        )
        session.add(row)
        rows.append(row)
    await session.flush()
    for row in rows:
        await client_access.grant(session, row.client_id, project.organization_id, "enrolled")
        session.add(
            CaseAssignment(
                coc_id=row.coc_id,
                enrollment_id=row.id,
                client_id=row.client_id,
                user_id=actor.user_id,
                organization_id=actor.organization_id,
                start_date=entry_date,
                status="active",
                assigned_by_user_id=actor.user_id,
            )
        )
        audit.record(
            session,
            actor,
            "enrollment.create",
            "enrollment",
            row.id,
            {"client_id": row.client_id, "project_id": project.id, "match_id": match.id},
        )
    await session.flush()
    return head_id


async def accept(
    session: AsyncSession, actor: Actor, match: Match, entry_date: date | None, note: str | None
) -> Match:
    """Provider: accept and start the program intake. EHV: the CoC admin accepts the match and
    the household goes to navigation."""
    if match.is_ehv:
        await _move(session, actor, match, S.EHV_NAVIGATION, note=note)
        return match
    today = clock.today(actor)
    when = entry_date or today
    if when > today:
        raise ValidationFailed("The entry date is in the future.", field="entry_date")
    await _move(session, actor, match, S.ACCEPTED, note=note)
    match.program_enrollment_id = await _start_program_intake(
        session, actor, match, when, "entry_date"
    )
    return match


def _explained(reason: str, explanation: str | None, field: str = "explanation") -> None:
    if reason == "other" and not explanation:
        raise ValidationFailed(f"Reason 'other' needs an {field}.", field=field)


async def decline(
    session: AsyncSession,
    actor: Actor,
    match: Match,
    reason: DeclineReason,
    explanation: str | None,
) -> Match:
    _explained(reason, explanation)
    match.decline_reason = reason.value
    match.decline_explanation = explanation
    await _move(session, actor, match, S.DECLINED, note=explanation, data={"reason": reason.value})
    await _write_result(session, match, 3, clock.today(actor))
    return match


def park_end(reason: ParkReason, given: date | None, today: date) -> date | None:
    """Seed 001's end-date rules; 422 for a date in the past, beyond a year, or missing where
    the reason has a natural end."""
    rule = PARK_END_RULES[reason]
    if given is not None:
        if given < today:
            raise ValidationFailed("The park end date is in the past.", field="parked_until")
        if given > today + timedelta(days=MAX_PARK_DAYS):
            raise ValidationFailed(
                "The park end date is more than a year ahead (leave it blank for an "
                "indefinite reason).",
                field="parked_until",
            )
        if rule == ParkEndRule.INDEFINITE:
            raise ValidationFailed(
                f"Parking for {reason} is indefinite: leave parked_until blank.",
                field="parked_until",
            )
        return given
    if rule == ParkEndRule.NATURAL_DATE:
        raise ValidationFailed(
            f"Parking for {reason} needs its natural end date (parked_until).",
            field="parked_until",
        )
    if rule == ParkEndRule.THIRTY_DAYS:
        return today + timedelta(days=DISENGAGED_PARK_DAYS)
    return None


async def park(
    session: AsyncSession,
    actor: Actor,
    match: Match,
    reason: ParkReason,
    until: date | None,
    explanation: str | None,
) -> Match:
    _explained(reason, explanation)
    today = clock.today(actor)
    end = park_end(reason, until, today)
    match.park_reason = reason.value
    match.park_explanation = explanation
    match.parked_until = end
    await _move(
        session,
        actor,
        match,
        S.PARKED,
        note=explanation,
        data={"reason": reason.value, "parked_until": end.isoformat() if end else None},
    )
    await _write_result(session, match, 2, today)
    return match


async def cancel(
    session: AsyncSession,
    actor: Actor,
    match: Match,
    reason: CancelReason,
    explanation: str | None,
) -> Match:
    _explained(reason, explanation)
    match.cancel_reason = reason.value
    match.cancel_explanation = explanation
    await _move(session, actor, match, S.CANCELED, note=explanation, data={"reason": reason.value})
    return match


async def outcome(
    session: AsyncSession,
    actor: Actor,
    match: Match,
    result: ProviderResult,
    result_date: date | None,
    note: str | None,
) -> Match:
    today = clock.today(actor)
    on = result_date or today
    if on > today:
        raise ValidationFailed("The result date is in the future.", field="result_date")
    if on < match.sent_on:
        raise ValidationFailed("The result date is before the match was sent.", field="result_date")
    code, target = PROVIDER_RESULTS[result]
    await _move(
        session,
        actor,
        match,
        target,
        note=note,
        data={"provider_result": result.value, "referral_result": code},
    )
    match.provider_result = result.value
    await _write_result(session, match, code, on)
    if target == S.ENROLLED:
        await _housed(session, actor, match)
    return match


async def _housed(session: AsyncSession, actor: Actor, match: Match) -> None:
    """Success: check the household in, close the queue entry, flag the CE exit."""
    now = clock.now()
    unit = await session.get(Unit, match.unit_id, with_for_update=True)
    assert unit is not None
    if unit.status in (UnitStatus.AVAILABLE.value, UnitStatus.RESERVED.value):
        await inventory.apply_event(
            session, actor, unit, UnitEventKind.CHECK_IN, note="Housed through a match"
        )
        unit.occupant_client_id = match.head_client_id
    entry = await session.get(QueueEntry, match.queue_entry_id)
    assert entry is not None
    if entry.closed_at is None:
        entry.closed_at = now
        entry.closed_reason = CloseReason.HOUSED.value
    project = await session.get(Project, match.project_id)
    assert project is not None
    dest = exit_destination(project.project_type, await inventory.funding_sources(session, project))
    match.ce_exit_flagged_at = now
    match.ce_exit_destination = dest.destination
    match.ce_exit_subsidy_type = dest.subsidy_type
    await session.flush()


async def voucher_issued(
    session: AsyncSession, actor: Actor, match: Match, issued_on: date, note: str | None
) -> Match:
    """EHV: the navigator enrolls the client and records the voucher's issue date."""
    today = clock.today(actor)
    if issued_on > today or issued_on < match.sent_on:
        raise ValidationFailed(
            "The voucher issue date is between the match date and today.", field="issued_on"
        )
    await _move(
        session,
        actor,
        match,
        S.EHV_VOUCHER_ISSUED,
        note=note,
        data={"voucher_issued_on": issued_on.isoformat()},
    )
    match.voucher_issued_on = issued_on
    match.program_enrollment_id = await _start_program_intake(
        session, actor, match, issued_on, "issued_on"
    )
    return match


async def rfta_submitted(
    session: AsyncSession, actor: Actor, match: Match, submitted_on: date, note: str | None
) -> Match:
    """EHV: the RFTA went to the PHA; the navigator accepts the match."""
    today = clock.today(actor)
    issued = match.voucher_issued_on or match.sent_on
    if submitted_on > today or submitted_on < issued:
        raise ValidationFailed(
            "The RFTA date is between the voucher issue date and today.", field="submitted_on"
        )
    await _move(
        session,
        actor,
        match,
        S.EHV_RFTA_SUBMITTED,
        note=note,
        data={"rfta_submitted_on": submitted_on.isoformat()},
    )
    match.rfta_submitted_on = submitted_on
    return match


async def assign_ehv_case_manager(
    session: AsyncSession,
    actor: Actor,
    match: Match,
    organization_id: uuid.UUID,
    user_id: uuid.UUID,
    note: str | None,
) -> Match:
    """EHV: the CoC admin assigns the case-manager agency contact, who takes over."""
    org = await session.scalar(
        select(Organization).where(
            Organization.id == organization_id,
            Organization.coc_id == actor.coc_id,
            Organization.is_active,
        )
    )
    if org is None or org.victim_service_provider:
        raise ValidationFailed("No such organization.", field="organization_id")
    # An active account: the contact takes the match over (a deactivated one cannot sign in).
    role = await session.scalar(
        select(Membership.role)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.user_id == user_id,
            Membership.organization_id == organization_id,
            User.is_active,
        )
    )
    if role is None:
        raise ValidationFailed(
            "The contact is not an active member of that agency.", field="user_id"
        )
    # The contact takes over and records the outcome (``/outcome``: referrals:respond).
    if Permission.REFERRALS_RESPOND not in permissions_for(role):
        raise ValidationFailed(
            f"The contact's role at that agency ({role}) cannot record the match's outcome "
            f"(needs {Permission.REFERRALS_RESPOND.value}).",
            field="user_id",
        )
    await _move(
        session,
        actor,
        match,
        S.EHV_CASE_MANAGEMENT,
        note=note,
        change="ehv_case_manager_assigned",
        data={"organization_id": str(organization_id), "user_id": str(user_id)},
    )
    match.ehv_case_manager_organization_id = organization_id
    match.ehv_case_manager_user_id = user_id
    entry = await session.get(QueueEntry, match.queue_entry_id)
    assert entry is not None
    await client_access.grant_referred(
        session, await household_clients(session, entry), organization_id
    )
    return match


async def stall_response(
    session: AsyncSession,
    actor: Actor,
    match: Match,
    engaging: bool,
    reason: StallReason,
    last_seen: date | None,
    note: str | None,
) -> MatchStallResponse:
    if not policy.can_respond(actor, match):
        raise Forbidden("Only the provider this match was sent to responds to its stall.")
    policies = await stall_policies(session, match.coc_id, [match.project_id])
    state, _ = stall_state(match, policies[match.project_id], clock.now())
    if state not in (StallState.STALLED, StallState.ABOUT_TO_STALL):
        raise Conflict(
            f"The match is {state}: a stall response is for a match that is stalled or about "
            "to stall.",
            extra={"stall": state.value},
        )
    if reason == StallReason.OTHER and not note:
        raise ValidationFailed("Reason 'other' needs a note.", field="note")
    today = clock.today(actor)
    seen = last_seen or match.sent_on
    if seen > today:
        raise ValidationFailed(
            "The client was last seen in the future?", field="client_last_seen_on"
        )
    response = MatchStallResponse(
        coc_id=match.coc_id,
        match_id=match.id,
        engaging=engaging,
        reason=reason.value,
        client_last_seen_on=seen,
        note=note,
        responded_by_user_id=actor.user_id,
        acting_organization_id=actor.organization_id,
    )
    session.add(response)
    match.clock_started_at = clock.now()
    MATCH.record(
        session,
        actor,
        match.id,
        S(match.status),
        S(match.status),
        note=note,
        extra={
            "change": "stall_response",
            "engaging": engaging,
            "reason": reason.value,
            "client_last_seen_on": seen.isoformat(),
            "stall": state.value,
        },
    )
    audit.record(
        session,
        actor,
        "match.stall_response",
        "match",
        match.id,
        {"engaging": engaging, "reason": reason.value},
    )
    _emit(session, actor, match, "stall_response", match.status)
    await session.flush()
    return response


# --- lists --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MatchFilters:
    project_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    status: list[MatchStatus] | None = None
    stalled: bool | None = None
    about_to_stall: bool | None = None
    client_id: uuid.UUID | None = None
    unit_id: uuid.UUID | None = None


def list_stmt(actor: Actor, f: MatchFilters, now: datetime) -> Select[Any]:
    stmt: Select[Any] = select(Match).where(policy.visible_matches_filter(actor))
    if f.project_id is not None:
        stmt = stmt.where(Match.project_id == f.project_id)
    if f.organization_id is not None:
        stmt = stmt.where(Match.organization_id == f.organization_id)
    if f.status:
        stmt = stmt.where(Match.status.in_([s.value for s in f.status]))
    if f.client_id is not None:
        stmt = stmt.where(Match.head_client_id == f.client_id)
    if f.unit_id is not None:
        stmt = stmt.where(Match.unit_id == f.unit_id)
    if f.stalled is not None:
        cond = stalled_sql(now)
        stmt = stmt.where(cond if f.stalled else ~cond)
    if f.about_to_stall is not None:
        cond = about_to_stall_sql(now)
        stmt = stmt.where(cond if f.about_to_stall else ~cond)
    return stmt


async def list_matches(
    session: AsyncSession, actor: Actor, f: MatchFilters, page: PageParams
) -> PageOf[MatchRead]:
    result = await paginate(
        session, list_stmt(actor, f, clock.now()), page, [Match.sent_at, Match.id], descending=True
    )
    return PageOf(await match_reads(session, actor, result.items), result.next_cursor)


async def timeline(
    session: AsyncSession, actor: Actor, match: Match, page: PageParams
) -> PageOf[MatchEvent]:
    stmt = select(MatchEvent).where(MatchEvent.match_id == match.id)
    return await paginate(session, stmt, page, [MatchEvent.created_at, MatchEvent.id])


async def stall_responses(
    session: AsyncSession, actor: Actor, match: Match, page: PageParams
) -> PageOf[MatchStallResponse]:
    stmt = select(MatchStallResponse).where(MatchStallResponse.match_id == match.id)
    return await paginate(
        session, stmt, page, [MatchStallResponse.created_at, MatchStallResponse.id]
    )
