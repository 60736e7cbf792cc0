"""Exits from an enrollment (HUD 3.11 / 3.12) and what an exit ends.

Exiting the head of household's enrollment exits every open member of the stay that the caller
may see and write (``enrollment_policy``); members it may not see or write stay open, for their
own organization to exit. Exiting a member exits only that member. An exit ends the active case
assignments and, when the head leaves, closes the household's open queue entry.

A Coordinated Entry stay whose match is still active (sent, accepted, on the EHV route) is not
exited: the referral could still be accepted and succeed on a closed stay. As for voiding an
intake (``void``), the exit is a 409 naming ``match_id``; the provider records the outcome
(success flags the exit with the program as destination) or the CAS admin cancels the match.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import Conflict, ValidationFailed
from app.models.enrollments import Enrollment, EnrollmentAssessment, Exit
from app.models.matching import Match
from app.models.queue import QueueEntry
from app.reference.living_situations import check_destination, check_not_future
from app.reference.matching import ACTIVE_MATCH_STATUSES
from app.schemas.enrollments import CurrentLivingSituationIn, ExitCreate, IncomeBenefitsIn
from app.security import utcnow
from app.services.ce.assignments import end_assignments
from app.services.ce.enrollments import (
    head_of,
    household_group,
    require_open,
)
from app.services.ce.income import record_income_benefits
from app.services.ce.policy import writable_enrollments
from app.services.ce.records import record_cls, start_assessment
from app.services.platform import audit


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


async def exit_enrollments(
    session: AsyncSession,
    actor: Actor,
    enrollments: Sequence[Enrollment],
    *,
    exit_date: date,
    destination: int,
    destination_subsidy_type: int | None,
    other_destination: str | None,
    exit_reason: str,
    cls: CurrentLivingSituationIn | None,
    prefix: str = "",
    cls_field: str = "current_living_situation",
    assessment: EnrollmentAssessment | None = None,
    income: IncomeBenefitsIn | None = None,
) -> list[Exit]:
    """Exit each (open) enrollment on ``exit_date``; record the CLS at exit when given, and the
    first enrollment's 4.02-4.04 at exit (stage 3) when ``income`` is given."""
    check_not_future(exit_date, prefix, "exit_date", clock.today(actor))
    check_destination(
        {
            "destination": destination,
            "destination_subsidy_type": destination_subsidy_type,
            "other_destination": other_destination,
        },
        prefix,
    )
    for e in enrollments:
        require_open(e)
        if exit_date < e.entry_date:
            raise ValidationFailed(
                f"The exit date is before the entry date {e.entry_date}.",
                field=_join(prefix, "exit_date"),
            )
    if cls is not None and cls.information_date is not None and cls.information_date > exit_date:
        raise ValidationFailed(
            "The living situation at exit is dated after the exit date.",
            field=_join(_join(prefix, cls_field), "information_date"),
        )
    if not enrollments:
        return []
    await check_no_active_match(session, enrollments)
    head = enrollments[0]
    if assessment is None:
        assessment = await start_assessment(
            session,
            actor,
            head,
            stage=3,
            on=exit_date,
            ready=None,
            before=head.outcome,
            after=head.outcome,
        )
    exits: list[Exit] = []
    for e in enrollments:
        if cls is not None:
            await record_cls(
                session,
                actor,
                e,
                cls,
                default_date=exit_date,
                assessment_id=assessment.id,
                prefix=_join(prefix, cls_field),
            )
        row = Exit(
            coc_id=e.coc_id,
            enrollment_id=e.id,
            client_id=e.client_id,
            exit_date=exit_date,
            destination=destination,
            destination_subsidy_type=destination_subsidy_type,
            other_destination=other_destination,
            exit_reason=exit_reason,
            assessment_id=assessment.id,
            created_by_user_id=actor.user_id,
            created_by_organization_id=actor.organization_id,
        )
        session.add(row)
        e.exit_date = exit_date
        exits.append(row)
    await session.flush()
    if income is not None:
        await record_income_benefits(
            session,
            actor,
            enrollments[0],
            income,
            stage=3,
            default_date=exit_date,
            assessment_id=assessment.id,
            prefix=_join(prefix, "income_benefits"),
        )
    ids = [e.id for e in enrollments]
    ended = await end_assignments(session, actor, ids, exit_date)
    closed = await close_queue_entries(
        session, actor, [e for e in enrollments if e.id == e.household_group_id]
    )
    for e, x in zip(enrollments, exits, strict=True):
        audit.record(
            session,
            actor,
            "enrollment.exit",
            "enrollment",
            e.id,
            {
                "exit_id": x.id,
                "exit_date": exit_date,
                "destination": destination,
                "exit_reason": exit_reason,
                "case_assignments_ended": ended,
                "queue_entries_closed": closed,
            },
        )
    await session.flush()
    return exits


EXIT_ADVICE = (
    "the provider records its outcome (POST /api/v1/matches/{match_id}/outcome) or the CAS "
    "admin cancels it (POST /api/v1/matches/{match_id}/cancel) before the Coordinated Entry exit."
)
# An intake recorded in error is not a referral's outcome (that would start a program stay).
VOID_ADVICE = (
    "the CAS admin cancels it first (POST /api/v1/matches/{match_id}/cancel), then the intake is "
    "voided."
)


async def check_no_active_match(
    session: AsyncSession,
    enrollments: Sequence[Enrollment],
    advice: str = EXIT_ADVICE,
) -> None:
    """409 naming the match when a Coordinated Entry stay being exited (or voided; ``advice``
    says what to do first) has an active match: it could still be accepted and succeed on a
    stay that ended (a program enrollment from it, the HUD referral result, the provider's
    access). The stay's queue entry is locked first (a match being sent writes it): such a
    match is committed before the check reads the matches, or its send finds the entry
    closed."""
    ce_ids = [e.id for e in enrollments if e.is_coordinated_entry]
    if not ce_ids:
        return
    await session.execute(
        select(QueueEntry.id)
        .where(QueueEntry.head_enrollment_id.in_(ce_ids))
        .with_for_update(key_share=True)
    )
    active = (
        await session.execute(
            select(Match.id, Match.status)
            .where(Match.ce_enrollment_id.in_(ce_ids), Match.status.in_(ACTIVE_MATCH_STATUSES))
            .order_by(Match.created_at, Match.id)
            .limit(1)
        )
    ).first()
    if active is not None:
        raise Conflict(
            f"The household has an active match ({active.status}): {advice}",
            extra={"match_id": str(active.id), "match_status": active.status},
        )


async def close_queue_entries(
    session: AsyncSession, actor: Actor, heads: Sequence[Enrollment], reason: str = "exited"
) -> int:
    if not heads:
        return 0
    rows = (
        await session.scalars(
            select(QueueEntry).where(
                QueueEntry.head_enrollment_id.in_([h.id for h in heads]),
                QueueEntry.closed_at.is_(None),
            )
        )
    ).all()
    for q in rows:
        q.closed_at = utcnow()
        q.closed_reason = reason
        audit.record(
            session,
            actor,
            "queue_entry.close",
            "queue_entry",
            q.id,
            {"closed_reason": reason, "head_enrollment_id": q.head_enrollment_id},
        )
    return len(rows)


async def exit_enrollment(
    session: AsyncSession, actor: Actor, enrollment: Enrollment, data: ExitCreate
) -> list[Exit]:
    """``POST /enrollments/{id}/exit``: the head takes along the open members the caller may
    write (the caller may write the head: the router checked)."""
    require_open(enrollment)
    targets = [enrollment]
    if enrollment.id == enrollment.household_group_id:
        group = await household_group(session, enrollment)
        head = head_of(group)
        members = [e for e in group if e.id != head.id and e.exit_date is None]
        targets = [head] + await writable_enrollments(session, actor, members)
    return await exit_enrollments(
        session,
        actor,
        targets,
        exit_date=data.exit_date,
        destination=data.destination,
        destination_subsidy_type=data.destination_subsidy_type,
        other_destination=data.other_destination,
        exit_reason=data.exit_reason,
        cls=data.current_living_situation,
        income=data.income_benefits,
    )
