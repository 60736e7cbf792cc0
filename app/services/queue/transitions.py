"""Moving a queue entry's intake status (DOMAIN 7), its history, and the Case Manager Review.

A move runs on the intake-status machine (``queue.intake_status.INTAKE_STATUS``): a status that
does not exist is a 422, a pair the table lacks a 409 naming what is ``allowed`` (the case
manager's pending -> pending_second_review with DOMAIN 7's reason), a permission the role lacks
a 403. Beyond the table: the case manager's move is for the client's assigned case managers
(``flow_policy``), a closed entry does not move (409), and the body must fit the move -- moving
to incomplete_documentation needs at least one structured incomplete reason (``other`` with a
text), the CAS review's fields (incomplete reasons, reason for change of score, instructions
for the case manager) are not the case manager's to write. Nothing is written when any of this
refuses the move.

Each move writes a ``queue_transitions`` row and an audit event (the machine's history), bumps
the entry's version (its ETag) and records a notification event
``queue.intake_status_changed`` in the same transaction: ``data`` holds the entry id, the
statuses and who should hear of it (``audience``: the client's case managers when the record is
found incomplete or approved, the CAS administrators when it comes back for a second review);
the notifications feature resolves the people.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Actor
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.models import User
from app.models.enrollments import CaseAssignment, Enrollment
from app.models.queue import QueueEntry, QueueScore, QueueSettings, QueueTransition
from app.permissions import Permission
from app.reference.queue import (
    INCOMPLETE_REASONS,
    REASONS_NEEDING_TEXT,
    CloseReason,
    IncompleteReason,
    IntakeStatus,
)
from app.schemas.pagination import PageParams
from app.schemas.queue_flow import QueueTransitionCreate
from app.services.platform import audit
from app.services.platform import events as notifications
from app.services.platform.pagination import PageOf, paginate
from app.services.queue.flow_policy import (
    assignment_decides,
    can_review_as_case_manager,
    can_see_entry,
)
from app.services.queue.intake_status import INTAKE_STATUS

INTAKE_STATUS_CHANGED = "queue.intake_status_changed"

# Who should hear of a move to each status (resolved to people by the notifications feature).
AUDIENCES: dict[IntakeStatus, list[str]] = {
    IntakeStatus.INCOMPLETE_DOCUMENTATION: ["case_managers"],
    IntakeStatus.PENDING_SECOND_REVIEW: ["cas_admins"],
    IntakeStatus.APPROVED: ["case_managers"],
}

# The fields of the CAS administrators' review (not the case manager's to write).
REVIEW_FIELDS = ("incomplete_reasons", "score_change_reason", "instructions_for_case_manager")


@dataclass(frozen=True)
class FlowEntry:
    """A queue entry as the caller may take part in its workflow; ``assigned``: the caller is
    an assigned case manager of the household (looked up only where it decides something:
    ``flow_policy.assignment_decides``; False for admins, whose rights never depend on it)."""

    entry: QueueEntry
    assigned: bool


async def is_assigned(session: AsyncSession, actor: Actor, entry: QueueEntry) -> bool:
    """An active case assignment of the actor on the household's Coordinated Entry stay (the
    enrollments sharing the head's HUD HouseholdID)."""
    stay = select(Enrollment.household_group_id).where(Enrollment.id == entry.head_enrollment_id)
    found = await session.scalar(
        select(CaseAssignment.id)
        .join(Enrollment, Enrollment.id == CaseAssignment.enrollment_id)
        .where(
            CaseAssignment.user_id == actor.user_id,
            CaseAssignment.status == "active",
            Enrollment.household_group_id == stay.scalar_subquery(),
            Enrollment.voided_at.is_(None),
        )
        .limit(1)
    )
    return found is not None


async def get_flow_entry(
    session: AsyncSession, actor: Actor, entry_id: uuid.UUID, *, for_update: bool = False
) -> FlowEntry:
    """The entry if the caller may see it in the workflow (``flow_policy.can_see_entry``);
    404 otherwise, as for an entry of another CoC or a voided intake's."""
    stmt = select(QueueEntry).where(
        QueueEntry.id == entry_id,
        QueueEntry.coc_id == actor.coc_id,
        QueueEntry.closed_reason.is_distinct_from(CloseReason.VOIDED.value),
    )
    if for_update:
        stmt = stmt.with_for_update()
    entry = await session.scalar(stmt)
    if entry is None:
        raise NotFound("No such queue entry.")
    assigned = assignment_decides(actor) and await is_assigned(session, actor, entry)
    if not can_see_entry(actor, assigned=assigned):
        raise NotFound("No such queue entry.")
    return FlowEntry(entry, assigned)


def allowed_moves(actor: Actor, flow: FlowEntry) -> list[IntakeStatus]:
    """Where the caller may move the entry now."""
    if flow.entry.closed_at is not None:
        return []
    current = IntakeStatus(flow.entry.intake_status)
    return [
        target
        for target in INTAKE_STATUS.allowed_from(current, actor)
        if not _case_manager_move(current, target)
        or can_review_as_case_manager(actor, assigned=flow.assigned)
    ]


def _case_manager_move(current: IntakeStatus, target: IntakeStatus) -> bool:
    rule = INTAKE_STATUS.transitions[(current, target)]
    return rule.permission == Permission.QUEUE_CASE_MANAGER_REVIEW


def _check_body(body: QueueTransitionCreate, target: IntakeStatus, case_manager: bool) -> None:
    if case_manager:
        given = [f for f in REVIEW_FIELDS if getattr(body, f)]
        if given:
            raise ValidationFailed(
                f"{given[0]} is part of the CAS administrators' review; the case manager's move "
                "to pending_second_review takes a note only.",
                field=given[0],
            )
    reasons = body.incomplete_reasons
    if target == IntakeStatus.INCOMPLETE_DOCUMENTATION:
        if not reasons:
            raise ValidationFailed(
                "Say what is missing: a record marked incomplete_documentation needs at least "
                "one incomplete reason (e.g. disability_verification for RRH/PSH).",
                field="incomplete_reasons",
            )
        seen: set[IncompleteReason] = set()
        for i, reason in enumerate(reasons):
            if reason.code in REASONS_NEEDING_TEXT and not reason.text:
                raise ValidationFailed(
                    f"The incomplete reason {reason.code} needs a text saying what is missing.",
                    field=f"incomplete_reasons.{i}.text",
                )
            if reason.code in seen and reason.code not in REASONS_NEEDING_TEXT:
                raise ValidationFailed(
                    f"The incomplete reason {reason.code} is given twice.",
                    field=f"incomplete_reasons.{i}.code",
                )
            seen.add(reason.code)
    elif reasons:
        raise ValidationFailed(
            "incomplete_reasons are given only with a move to incomplete_documentation.",
            field="incomplete_reasons",
        )


async def move(
    session: AsyncSession, actor: Actor, flow: FlowEntry, body: QueueTransitionCreate
) -> QueueTransition:
    """Move the entry's intake status (the caller checked ``If-Match``); returns the
    transition row."""
    entry = flow.entry
    current = IntakeStatus(entry.intake_status)
    if entry.closed_at is not None:
        raise Conflict(
            f"The queue entry is closed ({entry.closed_reason}): its intake status no longer "
            "moves.",
            extra={"current": str(current), "allowed": []},
        )
    target = INTAKE_STATUS.check(current, body.to_status, actor)
    case_manager = _case_manager_move(current, target)
    if case_manager and not can_review_as_case_manager(actor, assigned=flow.assigned):
        raise Forbidden(
            "Only the client's assigned case managers send an incomplete record back for a "
            "second review (Case Manager Review); you have no active case assignment on this "
            "household."
        )
    _check_body(body, target, case_manager)
    transition_id = uuid.uuid4()
    INTAKE_STATUS.record(
        session,
        actor,
        entry.id,
        current,
        target,
        note=body.note,
        extra={
            "id": transition_id,
            "coc_id": entry.coc_id,
            "incomplete_reasons": [
                {"code": str(r.code), "text": r.text} for r in body.incomplete_reasons
            ],
            "score_change_reason": body.score_change_reason,
            "instructions_for_case_manager": body.instructions_for_case_manager,
        },
    )
    # The session holds flushed rows weakly: keep the history's row so it is not read back.
    transition = next(
        o for o in session.new if isinstance(o, QueueTransition) and o.id == transition_id
    )
    entry.intake_status = target
    notifications.emit(
        session,
        actor,
        INTAKE_STATUS_CHANGED,
        entity_type="queue_entry",
        entity_id=entry.id,
        client_id=entry.head_client_id,
        data={
            "queue_entry_id": str(entry.id),
            "transition_id": str(transition_id),
            "from": str(current),
            "to": str(target),
            "household_id": str(entry.household_id),
            "audience": AUDIENCES.get(target, []),
        },
    )
    # One flush for the move, its history and its event (the row's time, read back by it).
    await session.flush()
    return transition


# --- reading ------------------------------------------------------------------------------------


def incomplete_reason_read(stored: dict[str, Any]) -> dict[str, Any]:
    code = IncompleteReason(stored["code"])
    label, item = INCOMPLETE_REASONS[code]
    return {
        "code": code,
        "label": label,
        "text": stored.get("text"),
        "document_check_item": None if item is None else {"category": item[0], "item": item[1]},
    }


async def _names(session: AsyncSession, user_ids: set[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    ids = [u for u in user_ids if u is not None]
    if not ids:
        return {}
    return dict(
        (await session.execute(select(User.id, User.full_name).where(User.id.in_(ids))))
        .tuples()
        .all()
    )


def _transition_read(t: QueueTransition, names: dict[uuid.UUID, str]) -> dict[str, Any]:
    return {
        "id": t.id,
        "queue_entry_id": t.queue_entry_id,
        "from_status": t.from_status,
        "to_status": t.to_status,
        "actor_user_id": t.actor_user_id,
        "actor_name": names.get(t.actor_user_id) if t.actor_user_id else None,
        "acting_organization_id": t.acting_organization_id,
        "note": t.note,
        "incomplete_reasons": [incomplete_reason_read(r) for r in t.incomplete_reasons],
        "score_change_reason": t.score_change_reason,
        "instructions_for_case_manager": t.instructions_for_case_manager,
        "created_at": t.created_at,
    }


async def transition_read(
    session: AsyncSession, t: QueueTransition, actor: Actor | None = None
) -> dict[str, Any]:
    """``actor``: the request's caller, whose name is known already (the mover of a move just
    made)."""
    if actor is not None and t.actor_user_id == actor.user_id:
        return _transition_read(t, {actor.user_id: actor.full_name})
    return _transition_read(t, await _names(session, {t.actor_user_id}))


def audit_entry_read(session: AsyncSession, actor: Actor, entry: QueueEntry, what: str) -> None:
    """The review's texts are about the client (what is missing from their record): the read
    is recorded as a read of the head of household."""
    audit.record_pii_read(session, actor, "client", entry.head_client_id, fields=[what])


async def list_transitions(
    session: AsyncSession, actor: Actor, flow: FlowEntry, page: PageParams
) -> PageOf[dict[str, Any]]:
    """The entry's full history, oldest first (its placement, then every move)."""
    found = await paginate(
        session,
        select(QueueTransition).where(
            QueueTransition.coc_id == flow.entry.coc_id,
            QueueTransition.queue_entry_id == flow.entry.id,
        ),
        page,
        [QueueTransition.created_at, QueueTransition.id],
    )
    names = await _names(session, {t.actor_user_id for t in found.items})
    audit_entry_read(session, actor, flow.entry, "queue_transitions")
    return found.map(lambda t: _transition_read(t, names))


async def score_scale(session: AsyncSession, coc_id: uuid.UUID) -> QueueSettings:
    settings = await session.get(QueueSettings, coc_id)
    if settings is None:  # every CoC has a row (migration 0014 and its trigger)
        raise NotFound("The CoC has no queue settings.")
    return settings


def scale_read(settings: QueueSettings) -> dict[str, Any]:
    return {"tool": settings.score_tool, "min": settings.score_min, "max": settings.score_max}


async def case_manager_review(
    session: AsyncSession, actor: Actor, flow: FlowEntry
) -> dict[str, Any]:
    """The CAS administrators' review of the entry, read-only: what is missing, their
    instructions, the reasons for changes of score, their moves; and what the caller may do."""
    entry = flow.entry
    moves = list(
        (
            await session.scalars(
                select(QueueTransition)
                .where(QueueTransition.queue_entry_id == entry.id)
                .order_by(QueueTransition.created_at.desc(), QueueTransition.id.desc())
            )
        ).all()
    )
    scores = list(
        (
            await session.scalars(
                select(QueueScore)
                .where(QueueScore.queue_entry_id == entry.id)
                .order_by(QueueScore.recorded_at.desc(), QueueScore.id.desc())
            )
        ).all()
    )
    names = await _names(session, {t.actor_user_id for t in moves})
    reviews = [
        t
        for t in moves
        if t.from_status is not None
        and not _case_manager_move(IntakeStatus(t.from_status), IntakeStatus(t.to_status))
    ]
    incomplete = next(
        (t for t in moves if t.to_status == IntakeStatus.INCOMPLETE_DOCUMENTATION), None
    )
    instructions = next(
        (t.instructions_for_case_manager for t in reviews if t.instructions_for_case_manager),
        None,
    )
    changes: list[dict[str, Any]] = [
        {
            "score": s.score,
            "previous_score": s.previous_score,
            "reason": s.reason,
            "recorded_at": s.recorded_at,
            "source": "score",
        }
        for s in scores
    ] + [
        {
            "score": None,
            "previous_score": None,
            "reason": t.score_change_reason,
            "recorded_at": t.created_at,
            "source": "transition",
        }
        for t in reviews
        if t.score_change_reason
    ]
    changes.sort(key=lambda c: c["recorded_at"], reverse=True)
    audit_entry_read(session, actor, entry, "queue_review")
    return {
        "queue_entry_id": entry.id,
        "head_client_id": entry.head_client_id,
        "household_id": entry.household_id,
        "intake_status": entry.intake_status,
        "version": entry.version,
        "score": entry.score,
        "scale": scale_read(await score_scale(session, entry.coc_id)),
        "incomplete_reasons": []
        if incomplete is None
        else [incomplete_reason_read(r) for r in incomplete.incomplete_reasons],
        "instructions_for_case_manager": instructions,
        "score_changes": changes,
        "reviews": [_transition_read(t, names) for t in reviews],
        "allowed": allowed_moves(actor, flow),
    }
