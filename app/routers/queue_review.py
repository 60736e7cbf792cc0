"""The queue's review workflow: intake-status transitions and their history, the Case Manager
Review, assessment scores (DOMAIN 7)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Response

from app.context import Actor
from app.deps import IfMatchRequired, Session, require_for_clients
from app.http.contract import ETAG, documented
from app.http.etag import check_if_match, set_etag
from app.http.pagination import Pages
from app.permissions import Permission
from app.routers import api_router
from app.schemas.common import problems
from app.schemas.pagination import Page
from app.schemas.queue_flow import (
    CaseManagerReviewRead,
    QueueScoreRead,
    QueueScoreState,
    QueueScoreUpdate,
    QueueTransitionCreate,
    QueueTransitionRead,
    QueueTransitionResult,
)
from app.services.queue import scores
from app.services.queue import transitions as svc

router = api_router("/queue-entries", "queue-review")

Reader = Annotated[Actor, Depends(require_for_clients(Permission.QUEUE_READ))]
Scorer = Annotated[Actor, Depends(require_for_clients(Permission.QUEUE_REVIEW))]

FLOW_VISIBILITY = (
    "The queue entries of the CoC you act for: system and CAS admins and users acting for the "
    "CAS organization see every entry; a case manager with an active case assignment on the "
    "household's Coordinated Entry stay sees that entry, whichever organization they act for. "
    "Any other entry (another CoC's, a voided intake's) answers 404."
)
MOVE_PERMISSION = (
    "`queue:read` to reach the entry; the move itself: `queue:review` for the CAS review "
    "(system_admin, cas_admin: pending -> approved or incomplete_documentation, "
    "pending_second_review -> approved or incomplete_documentation, approved -> "
    "incomplete_documentation) or `queue:case_manager_review` for the Case Manager Review "
    "(incomplete_documentation -> pending_second_review: the client's assigned case managers, "
    "and system admins). A move the table lacks is 409 with `allowed`; a move your role or "
    "assignment does not allow is 403."
)


async def flow_entry(queue_entry_id: uuid.UUID, actor: Reader, session: Session) -> svc.FlowEntry:
    return await svc.get_flow_entry(session, actor, queue_entry_id)


async def flow_entry_for_update(
    queue_entry_id: uuid.UUID, actor: Reader, session: Session
) -> svc.FlowEntry:
    return await svc.get_flow_entry(session, actor, queue_entry_id, for_update=True)


FlowEntry = Annotated[svc.FlowEntry, Depends(flow_entry)]
LockedFlowEntry = Annotated[svc.FlowEntry, Depends(flow_entry_for_update)]


@router.post(
    "/{queue_entry_id}/transitions",
    name="queue_entries_transition",
    summary="Move a queue entry's intake status",
    response_model=QueueTransitionResult,
    responses=problems(409),
    openapi_extra=documented(FLOW_VISIBILITY, sends=(ETAG,), permission=MOVE_PERMISSION),
)
async def create_transition(
    flow: LockedFlowEntry,
    body: QueueTransitionCreate,
    actor: Reader,
    session: Session,
    if_match: IfMatchRequired,
    response: Response,
) -> dict[str, Any]:
    """Move the intake status along DOMAIN 7's table, with a note; moving to
    `incomplete_documentation` needs structured `incomplete_reasons` (codes of the Document
    Check items missing, e.g. `disability_verification` for RRH/PSH, `document_expired`, or
    `other` with a text). The CAS administrators may add the reason for a change of score and
    instructions for the case manager; the case manager (Case Manager Review) sends fixed
    documentation back with a note only. Every refusal says why: 409 `transition-not-allowed`
    with `current` and `allowed` (a case manager's pending -> pending_second_review is refused
    with the reason), 403 naming the permission or the missing case assignment, 409 for a
    closed entry, 422 for a body that does not fit the move. The move is recorded in the
    history, the audit trail and as a notification event (`queue.intake_status_changed`)."""
    check_if_match(if_match, flow.entry.version)
    transition = await svc.move(session, actor, flow, body)
    set_etag(response, flow.entry.version)
    return {
        "queue_entry_id": flow.entry.id,
        "intake_status": flow.entry.intake_status,
        "version": flow.entry.version,
        "allowed": svc.allowed_moves(actor, flow),
        "transition": await svc.transition_read(session, transition, actor),
    }


@router.get(
    "/{queue_entry_id}/transitions",
    name="queue_entries_transitions_list",
    summary="A queue entry's intake-status history",
    response_model=Page[QueueTransitionRead],
    openapi_extra=documented(FLOW_VISIBILITY),
)
async def list_transitions(
    flow: FlowEntry, actor: Reader, session: Session, page: Pages
) -> dict[str, object]:
    """Every move of the entry's intake status, oldest first: its placement on the queue
    (`from_status` null), then each move with who made it, when, the note, the incomplete
    reasons, the reason for change of score and the instructions for the case manager."""
    return (await svc.list_transitions(session, actor, flow, page)).body()


@router.get(
    "/{queue_entry_id}/review",
    name="queue_entries_review",
    summary="The Case Manager Review of a queue entry",
    response_model=CaseManagerReviewRead,
    openapi_extra=documented(FLOW_VISIBILITY, sends=(ETAG,)),
)
async def get_review(
    flow: FlowEntry, actor: Reader, session: Session, response: Response
) -> dict[str, Any]:
    """The CAS administrators' review, read-only (seed 001 "Case Manager Review"): what is
    missing (the incomplete reasons), their instructions for the case manager, the reasons for
    changes of score, their moves; and `allowed`, where you may move the intake status now (the
    assigned case manager: `pending_second_review` once the record is
    `incomplete_documentation`). The ETag is the entry's, for the move's `If-Match`."""
    set_etag(response, flow.entry.version)
    return await svc.case_manager_review(session, actor, flow)


@router.get(
    "/{queue_entry_id}/score",
    name="queue_entries_score_get",
    summary="A queue entry's assessment score",
    response_model=QueueScoreState,
    openapi_extra=documented(FLOW_VISIBILITY, sends=(ETAG,)),
)
async def get_score(
    flow: FlowEntry, actor: Reader, session: Session, response: Response
) -> dict[str, Any]:
    """The entry's score, the CoC's tool and range, and the latest score's record (with its
    reason). The ETag is the entry's, for the update's `If-Match`."""
    set_etag(response, flow.entry.version)
    return await scores.read_score(session, actor, flow)


@router.put(
    "/{queue_entry_id}/score",
    name="queue_entries_score_update",
    summary="Record a queue entry's assessment score",
    response_model=QueueScoreState,
    responses=problems(409),
    openapi_extra=documented(FLOW_VISIBILITY, sends=(ETAG,)),
)
async def put_score(
    flow: LockedFlowEntry,
    body: QueueScoreUpdate,
    actor: Scorer,
    session: Session,
    if_match: IfMatchRequired,
    response: Response,
) -> dict[str, Any]:
    """Record a new score with the reason for it (CAS and system admins). The score must lie in
    the CoC's range (`GET .../score`: `scale`), else 422; a closed entry is 409. The score is
    kept in the entry's history (`GET .../scores`), audited, and re-ranks the entry at once."""
    check_if_match(if_match, flow.entry.version)
    row = await scores.record_score(session, actor, flow.entry, body)
    set_etag(response, flow.entry.version)
    return await scores.score_state(session, flow.entry, row)


@router.get(
    "/{queue_entry_id}/scores",
    name="queue_entries_scores_list",
    summary="A queue entry's score history",
    response_model=Page[QueueScoreRead],
    openapi_extra=documented(FLOW_VISIBILITY),
)
async def list_scores(
    flow: FlowEntry, actor: Reader, session: Session, page: Pages
) -> dict[str, object]:
    """Every score of the entry, oldest first, with its reason, tool and who recorded it (a
    score carried over from the household's previous entry says so in its reason)."""
    return (await scores.list_scores(session, actor, flow, page)).body()
