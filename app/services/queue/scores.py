"""The community's assessment score of a queue entry (DOMAIN 7): VI-SPDAT in the seeds; the tool
and its range are the CoC's ``queue_settings``.

A CAS administrator records a score with a reason (both required; a score outside the CoC's
range is a 422; nothing is written either way). Each score is a ``queue_scores`` row (the
history, append-only) and an audit event (``queue_entry.score``, old and new score; the reason's
words stay out of the trail like every free text); the entry keeps the latest (``score``,
``score_recorded_at``), which the database turns into the entry's priority key at once.

A re-encounter does not re-assess (seed 002: "do not complete a new VI-SPDAT"): the CE intake
that places a household again starts its new entry from the last score of the household or its
head (``ce.outcome.place_on_queue``), recorded as a carried-over score.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import Conflict, ValidationFailed
from app.models.queue import QueueEntry, QueueScore
from app.schemas.pagination import PageParams
from app.schemas.queue_flow import QueueScoreUpdate
from app.services.platform import audit
from app.services.platform.pagination import PageOf, paginate
from app.services.queue.transitions import FlowEntry, audit_entry_read, scale_read, score_scale


async def record_score(
    session: AsyncSession, actor: Actor, entry: QueueEntry, body: QueueScoreUpdate
) -> QueueScore:
    """Record a new score (the caller checked the permission and ``If-Match``)."""
    if entry.closed_at is not None:
        raise Conflict(
            f"The queue entry is closed ({entry.closed_reason}): its score no longer changes."
        )
    settings = await score_scale(session, entry.coc_id)
    if not settings.score_min <= body.score <= settings.score_max:
        raise ValidationFailed(
            f"A {settings.score_tool} score is between {settings.score_min} and "
            f"{settings.score_max} in this CoC.",
            field="score",
        )
    row = QueueScore(
        coc_id=entry.coc_id,
        queue_entry_id=entry.id,
        score=body.score,
        previous_score=entry.score,
        tool=settings.score_tool,
        reason=body.reason,
        recorded_by_user_id=actor.user_id,
        acting_organization_id=actor.organization_id,
    )
    session.add(row)
    previous = entry.score
    entry.score = body.score
    entry.score_recorded_at = clock.now()
    await session.flush()
    audit.record(
        session,
        actor,
        "queue_entry.score",
        "queue_entry",
        entry.id,
        {
            "score": {"old": previous, "new": body.score},
            "tool": settings.score_tool,
            "queue_score_id": row.id,
            "reason": "[given]",
        },
    )
    return row


async def latest_score(session: AsyncSession, entry: QueueEntry) -> QueueScore | None:
    return await session.scalar(
        select(QueueScore)
        .where(QueueScore.queue_entry_id == entry.id)
        .order_by(QueueScore.recorded_at.desc(), QueueScore.id.desc())
        .limit(1)
    )


async def score_state(
    session: AsyncSession, entry: QueueEntry, latest: QueueScore | None = None
) -> dict[str, Any]:
    settings = await score_scale(session, entry.coc_id)
    return {
        "queue_entry_id": entry.id,
        "score": entry.score,
        "score_recorded_at": entry.score_recorded_at,
        "scale": scale_read(settings),
        "version": entry.version,
        "latest": latest if latest is not None else await latest_score(session, entry),
    }


async def read_score(session: AsyncSession, actor: Actor, flow: FlowEntry) -> dict[str, Any]:
    audit_entry_read(session, actor, flow.entry, "queue_score")
    return await score_state(session, flow.entry)


async def list_scores(
    session: AsyncSession, actor: Actor, flow: FlowEntry, page: PageParams
) -> PageOf[QueueScore]:
    """The entry's scores, oldest first."""
    found = await paginate(
        session,
        select(QueueScore).where(
            QueueScore.coc_id == flow.entry.coc_id, QueueScore.queue_entry_id == flow.entry.id
        ),
        page,
        [QueueScore.recorded_at, QueueScore.id],
    )
    audit_entry_read(session, actor, flow.entry, "queue_scores")
    return found
