"""The intake-status state machine of a queue entry (DOMAIN 7), on the shared helper
(``app.services.platform.statemachine``).

Entries are created ``pending`` by the CE intake / update assessment that places the household
(``ce.outcome``) and closed when the household exits Coordinated Entry (``ce.exits``). CAS
administrators review (``queue:review``); the case manager sends an incomplete record back for a
second review (Case Manager Review, ``queue:case_manager_review``). Nothing else moves an intake
status. Keyed by permission: a system admin, who holds every permission, may make every move.

Each move is a row of ``queue_transitions`` (who, when, from, to, the note, and for the CAS
review the incomplete reasons, the reason for a change of score and the instructions for the
case manager), written by ``TransitionHistory`` -- the machine's history -- together with an
audit event (``queue_entry.intake_status``; the note's text is redacted there like every free
text). The service making the move is ``app.services.queue.transitions``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Actor
from app.models.queue import QueueTransition
from app.permissions import Permission
from app.reference.queue import IntakeStatus
from app.services.platform import audit
from app.services.platform.statemachine import Machine, Rule

PENDING = IntakeStatus.PENDING
INCOMPLETE = IntakeStatus.INCOMPLETE_DOCUMENTATION
SECOND_REVIEW = IntakeStatus.PENDING_SECOND_REVIEW
APPROVED = IntakeStatus.APPROVED

REVIEW = Rule[IntakeStatus](Permission.QUEUE_REVIEW)
CASE_MANAGER_REVIEW = Rule[IntakeStatus](Permission.QUEUE_CASE_MANAGER_REVIEW)

PENDING_TO_SECOND_REVIEW = (
    "A pending record has not been reviewed by a CAS administrator yet, so there is nothing to "
    "send back for a second review: case managers must not move pending to "
    "pending_second_review. A CAS administrator first approves the record or marks it "
    "incomplete_documentation; after fixing what is missing, the case manager marks it "
    "pending_second_review."
)


class TransitionHistory:
    """Writes each move to ``queue_transitions`` (and the audit trail). ``extra`` may carry the
    row's ``id`` (so the caller can read the row back), ``coc_id`` (default: the actor's),
    ``incomplete_reasons`` (``[{"code", "text"}]``), ``score_change_reason`` and
    ``instructions_for_case_manager``."""

    def append(
        self,
        session: AsyncSession,
        actor: Actor,
        subject_id: uuid.UUID,
        field: str,
        current: str | None,
        target: str,
        *,
        note: str | None,
        extra: Mapping[str, object],
    ) -> None:
        reasons: Any = extra.get("incomplete_reasons") or []
        row = QueueTransition(
            id=extra.get("id") or uuid.uuid4(),
            coc_id=extra.get("coc_id") or actor.coc_id,
            queue_entry_id=subject_id,
            from_status=None if current is None else str(current),
            to_status=str(target),
            actor_user_id=actor.user_id,
            acting_organization_id=actor.organization_id,
            note=note,
            incomplete_reasons=list(reasons),
            score_change_reason=extra.get("score_change_reason"),
            instructions_for_case_manager=extra.get("instructions_for_case_manager"),
        )
        session.add(row)
        audit.record(
            session,
            actor,
            "queue_entry.intake_status",
            "queue_entry",
            subject_id,
            {
                field: {"old": row.from_status, "new": row.to_status},
                "transition_id": row.id,
                "incomplete_reasons": [r["code"] for r in reasons],
                # Free texts are named, their words kept out of the trail (like a note).
                **({"note": note} if note is not None else {}),
                **{
                    k: "[given]"
                    for k in ("score_change_reason", "instructions_for_case_manager")
                    if extra.get(k) is not None
                },
            },
        )


INTAKE_STATUS = Machine(
    "intake status",
    IntakeStatus,
    {
        (PENDING, INCOMPLETE): REVIEW,
        (PENDING, APPROVED): REVIEW,
        (INCOMPLETE, SECOND_REVIEW): CASE_MANAGER_REVIEW,
        (SECOND_REVIEW, APPROVED): REVIEW,
        (SECOND_REVIEW, INCOMPLETE): REVIEW,
        (APPROVED, INCOMPLETE): REVIEW,
    },
    attribute="intake_status",
    field="to_status",
    history=TransitionHistory(),
    explanations={(PENDING, SECOND_REVIEW): PENDING_TO_SECOND_REVIEW},
)
