"""A CoC's queue settings: the assessment tool and its score range, and the prioritization
scheme (DOMAIN 7).

Changing the scheme re-ranks the queue in the same transaction, without downtime: the CoC's
open entries are locked (writers of an entry finish first; readers go on reading the old
order), the settings row is updated, and one ``UPDATE`` has the priority-key trigger compute
every open entry's key from the new scheme. Readers see the old order until the commit, then
the new one; nothing is ever listed half re-ranked. The entries are locked before the settings
row because a writer of an entry computes its key under a shared lock on the settings row: in
this order neither waits for the other in a circle.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Actor
from app.errors import Forbidden, ValidationFailed
from app.models.queue import QueueEntry, QueueSettings
from app.schemas.queue import QueueSettingsUpdate
from app.services.platform import audit
from app.services.queue.entries import check_visible
from app.services.queue.policy import can_manage_queue_settings


async def get_settings(session: AsyncSession, actor: Actor) -> QueueSettings:
    """The acting CoC's settings (queue readers: admins and the CAS organization; 404 for
    others)."""
    check_visible(actor)
    found = await session.get(QueueSettings, actor.coc_id)
    if found is None:  # every CoC has a row (trigger); a CoC made with triggers off gets one
        found = QueueSettings(coc_id=actor.coc_id)
        session.add(found)
        await session.flush()
        await session.refresh(found)
    return found


async def update_settings(
    session: AsyncSession, actor: Actor, settings: QueueSettings, body: QueueSettingsUpdate
) -> QueueSettings:
    """Replace the settings (If-Match checked by the caller); a new scheme re-ranks the CoC's
    open entries."""
    if not can_manage_queue_settings(actor):
        raise Forbidden("Changing the queue settings needs queue:manage (CAS or system admin).")
    if body.score_min >= body.score_max:
        raise ValidationFailed("score_min must be below score_max.", field="score_min")
    scheme = [{"key": str(k.key), "direction": str(k.direction)} for k in body.scheme]
    before = _values(settings)
    rescheme = scheme != settings.scheme
    if rescheme:
        locked = (
            select(QueueEntry.id)
            .where(QueueEntry.coc_id == actor.coc_id, QueueEntry.closed_at.is_(None))
            .order_by(QueueEntry.id)
            .with_for_update()
            .subquery()
        )
        await session.execute(select(literal_column("count(*)")).select_from(locked))
    settings.score_tool = body.score_tool
    settings.score_min = body.score_min
    settings.score_max = body.score_max
    settings.scheme = scheme
    settings.updated_by_user_id = actor.user_id
    await session.flush()
    rekeyed = 0
    if rescheme:
        result = await session.execute(
            update(QueueEntry)
            .where(QueueEntry.coc_id == actor.coc_id, QueueEntry.closed_at.is_(None))
            .values(priority_key=literal_column("'{}'::integer[]"))
            .execution_options(synchronize_session=False)
        )
        rekeyed = int(getattr(result, "rowcount", 0) or 0)
    changes = audit.diff(before, _values(settings))
    if rescheme:
        changes["entries_reranked"] = rekeyed
    audit.record(session, actor, "queue_settings.update", "queue_settings", actor.coc_id, changes)
    await session.flush()
    await session.refresh(settings)
    return settings


def _values(s: QueueSettings) -> dict[str, Any]:
    return {
        "score_tool": s.score_tool,
        "score_min": s.score_min,
        "score_max": s.score_max,
        "scheme": s.scheme,
    }
