"""Voiding an intake recorded in error (DOMAIN 5; seed 001 records "Data Not Collected" and
requests deletion): a CAS or system admin voids a Coordinated Entry enrollment with a reason.

The whole household stay is voided (the intake enrolled it as one): its enrollments disappear
from every list, lookup and export (``voided_at`` is set; they filter on it), its open queue
entry is closed with reason ``voided``, and the client may be enrolled again. Nothing is
deleted: the void and its reason stay in the audit trail. The void can be undone within 30 days
(the CoC's days), unless the client has been enrolled in Coordinated Entry again since.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import Conflict
from app.models.enrollments import Enrollment
from app.models.queue import QueueEntry
from app.services.ce.enrollments import already_enrolled, head_of, household_group
from app.services.ce.enrollments import open_ce_enrollment as find_open_ce_enrollment
from app.services.ce.exits import VOID_ADVICE, check_no_active_match, close_queue_entries
from app.services.platform import audit

UNDO_DAYS = 30


async def void_enrollment(
    session: AsyncSession, actor: Actor, enrollment: Enrollment, reason: str
) -> list[Enrollment]:
    """Void the enrollment's household stay; returns the voided enrollments (head first)."""
    if enrollment.voided_at is not None:
        raise Conflict(f"The enrollment was already voided on {enrollment.voided_at:%Y-%m-%d}.")
    if not enrollment.is_coordinated_entry:
        raise Conflict(
            "Only a Coordinated Entry enrollment (an intake) is voided; exit other enrollments."
        )
    group = [e for e in await household_group(session, enrollment) if e.voided_at is None]
    await check_no_active_match(session, group, VOID_ADVICE)
    now = clock.now()
    for e in group:
        e.voided_at = now
        e.voided_by_user_id = actor.user_id
        e.void_reason = reason
    await session.flush()
    head = head_of(group) if any(e.id == e.household_group_id for e in group) else None
    closed = await close_queue_entries(session, actor, [head] if head else [], reason="voided")
    for e in group:
        audit.record(
            session,
            actor,
            "enrollment.void",
            "enrollment",
            e.id,
            {"reason": reason, "client_id": e.client_id, "queue_entries_closed": closed},
        )
    await session.flush()
    return group


async def unvoid_enrollment(
    session: AsyncSession, actor: Actor, enrollment: Enrollment
) -> list[Enrollment]:
    """Undo a void within ``UNDO_DAYS`` days: the stay (and its queue entry) come back."""
    if enrollment.voided_at is None:
        raise Conflict("The enrollment is not voided.")
    voided_on = enrollment.voided_at.astimezone(clock.zone(actor)).date()
    last_day = voided_on + timedelta(days=UNDO_DAYS)
    if clock.today(actor) > last_day:
        raise Conflict(
            f"A void can be undone within {UNDO_DAYS} days: this one was made on {voided_on} "
            f"(the last day was {last_day})."
        )
    group = [
        e for e in await household_group(session, enrollment) if e.voided_at == enrollment.voided_at
    ]
    for e in group:
        if e.is_coordinated_entry and e.exit_date is None:
            existing = await find_open_ce_enrollment(session, e.client_id)
            if existing is not None:
                raise already_enrolled(existing, "enrollment_id")
    for e in group:
        e.voided_at = None
        e.voided_by_user_id = None
        e.void_reason = None
        audit.record(session, actor, "enrollment.unvoid", "enrollment", e.id, {})
    await session.flush()
    head = next((e for e in group if e.id == e.household_group_id), None)
    if head is not None:
        await _reopen_queue_entry(session, actor, head)
    return group


async def _reopen_queue_entry(session: AsyncSession, actor: Actor, head: Enrollment) -> None:
    entry = await session.scalar(
        select(QueueEntry)
        .where(QueueEntry.head_enrollment_id == head.id, QueueEntry.closed_reason == "voided")
        .order_by(QueueEntry.closed_at.desc())
        .limit(1)
    )
    if entry is None:
        return
    other = await session.scalar(
        select(QueueEntry.id).where(
            QueueEntry.household_id == entry.household_id, QueueEntry.closed_at.is_(None)
        )
    )
    if other is not None:
        raise Conflict(
            "The household is on the prioritization list again; the void cannot be undone.",
            extra={"queue_entry_id": str(other)},
        )
    entry.closed_at = None
    entry.closed_reason = None
    await session.flush()
    audit.record(
        session,
        actor,
        "queue_entry.reopen",
        "queue_entry",
        entry.id,
        {"reason": "void undone", "head_enrollment_id": head.id},
    )
