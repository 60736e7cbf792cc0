"""Each user's inbox (DOMAIN 10): list with filters (new, snoozed, dismissed, acknowledged; kind;
a date range for a calendar view), the unread count (the bell), snooze until a time, dismiss,
dismiss all, acknowledge; and the per-kind email choice.

Dismissed, acknowledged and snoozed are separate states (the seeds' "Dismiss marks it
acknowledged" and "Snooze brings it back later" can both be built on them). A notification is
*new* while neither dismissed nor acknowledged and not snoozed into the future. Only your own
notifications exist for you (anyone else's is a 404), and only those received through the
organization you act for now (DOMAIN 2: every request acts for one organization): a notice that
reached you through another membership shows once you switch to it -- so what came through a
victim service provider never shows while you act for another organization, and client notices
received elsewhere never show while you act for a VSP. There is no wholesale opt-out: reassign
the case manager instead; email can be turned off per kind.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import Conflict, NotFound, ValidationFailed
from app.models import Membership
from app.models.notifications import Notification, NotificationPreference
from app.models.scoping import ALL_COCS
from app.reference.notifications import InboxFilter, NotificationKind
from app.schemas.notifications import NotificationPreferenceRead, NotificationRead
from app.schemas.pagination import PageParams
from app.services.notifications import templates
from app.services.notifications.kinds import KINDS, spec_for
from app.services.platform.listen import notify
from app.services.platform.pagination import PageOf, paginate

# The channel of inbox changes; the payload is the user id.
CHANNEL = "cas_notifications"
SNOOZE_MAX = timedelta(days=90)


def is_new(now: datetime | BindParameter[Any]) -> ColumnElement[bool]:
    return and_(
        Notification.dismissed_at.is_(None),
        Notification.acknowledged_at.is_(None),
        or_(Notification.snoozed_until.is_(None), Notification.snoozed_until <= now),
    )


def _filter(status: InboxFilter, now: datetime) -> ColumnElement[bool]:
    if status == InboxFilter.NEW:
        return is_new(now)
    if status == InboxFilter.SNOOZED:
        return and_(Notification.dismissed_at.is_(None), Notification.snoozed_until > now)
    if status == InboxFilter.DISMISSED:
        return Notification.dismissed_at.is_not(None)
    return Notification.acknowledged_at.is_not(None)


def own_stmt(
    user_id: uuid.UUID | BindParameter[Any], organization_id: uuid.UUID | BindParameter[Any]
) -> Select[Notification]:
    """The user's notifications received through ``organization_id`` (the one they act for),
    while they still belong to it. Read without the request's CoC filter: the live stream's
    sessions have none, and the organization fixes the CoC."""
    return (
        select(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.organization_id == organization_id,
            exists().where(
                Membership.user_id == user_id, Membership.organization_id == organization_id
            ),
        )
        .execution_options(**ALL_COCS)
    )


def mine(actor: Actor) -> Select[Notification]:
    """The caller's notifications: their own, received through the organization they act
    for."""
    return own_stmt(actor.user_id, actor.organization_id)


def read(n: Notification, now: datetime) -> NotificationRead:
    spec = spec_for(n.kind)
    new = (
        n.dismissed_at is None
        and n.acknowledged_at is None
        and (n.snoozed_until is None or n.snoozed_until <= now)
    )
    return NotificationRead(
        id=n.id,
        kind=NotificationKind(n.kind),
        title=spec.title if spec else n.kind,
        message=templates.detail(n.kind, n.data),
        organization_id=n.organization_id,
        entity_type=n.entity_type,
        entity_id=n.entity_id,
        client_id=n.client_id,
        data=n.data,
        occurred_at=n.occurred_at,
        created_at=n.created_at,
        new=new,
        snoozed_until=n.snoozed_until,
        dismissed_at=n.dismissed_at,
        acknowledged_at=n.acknowledged_at,
    )


async def list_notifications(
    session: AsyncSession,
    actor: Actor,
    page: PageParams,
    *,
    status: InboxFilter | None = None,
    kind: NotificationKind | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> PageOf[NotificationRead]:
    """Your notifications, newest first."""
    now = clock.now()
    stmt = mine(actor)
    if status is not None:
        stmt = stmt.where(_filter(status, now))
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind.value)
    if since is not None:
        stmt = stmt.where(Notification.created_at >= since)
    if until is not None:
        stmt = stmt.where(Notification.created_at < until)
    found = await paginate(
        session, stmt, page, [Notification.created_at, Notification.id], descending=True
    )
    return found.map(lambda n: read(n, now))


# The bell is asked for on every page: its statement is built once, the user and the time are
# parameters.
_UNREAD_STMT = (
    own_stmt(bindparam("user_id"), bindparam("organization_id"))
    .where(is_new(bindparam("now")))
    .with_only_columns(func.count())
)


async def unread_count(session: AsyncSession, actor: Actor) -> int:
    values = {
        "user_id": actor.user_id,
        "organization_id": actor.organization_id,
        "now": clock.now(),
    }
    return int(await session.scalar(_UNREAD_STMT, values) or 0)


async def newer_than(
    session: AsyncSession, actor: Actor, after: datetime, *, limit: int = 50
) -> list[Notification]:
    """The caller's notifications that reached the inbox after ``after``, oldest first (the
    live stream's catch-up)."""
    stmt = (
        mine(actor)
        .where(Notification.created_at > after)
        .order_by(Notification.created_at, Notification.id)
        .limit(limit)
    )
    return list((await session.scalars(stmt)).all())


async def get_own(session: AsyncSession, actor: Actor, notification_id: uuid.UUID) -> Notification:
    found = await session.scalar(
        mine(actor).where(Notification.id == notification_id).with_for_update(of=Notification)
    )
    if found is None:
        raise NotFound("No such notification.")
    return found


async def _changed(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Tell the user's open streams (any instance) that the bell changed."""
    await session.flush()
    await notify(session, CHANNEL, str(user_id))


async def snooze(
    session: AsyncSession, actor: Actor, n: Notification, until: datetime
) -> Notification:
    now = clock.now()
    if until <= now:
        raise ValidationFailed("A snooze ends in the future.", field="until")
    if until > now + SNOOZE_MAX:
        raise ValidationFailed("A snooze lasts at most 90 days.", field="until")
    if n.dismissed_at is not None:
        raise Conflict("This notification was dismissed; a dismissed notification stays away.")
    n.snoozed_until = until
    await _changed(session, actor.user_id)
    return n


async def dismiss(session: AsyncSession, actor: Actor, n: Notification) -> Notification:
    if n.dismissed_at is None:
        n.dismissed_at = clock.now()
        n.snoozed_until = None
        await _changed(session, actor.user_id)
    return n


async def acknowledge(session: AsyncSession, actor: Actor, n: Notification) -> Notification:
    if n.acknowledged_at is None:
        n.acknowledged_at = clock.now()
        await _changed(session, actor.user_id)
    return n


async def dismiss_all(session: AsyncSession, actor: Actor, kind: NotificationKind | None) -> int:
    """Dismiss every notification of yours not dismissed yet (of ``kind``); how many."""
    now = clock.now()
    open_ = mine(actor).where(Notification.dismissed_at.is_(None))
    if kind is not None:
        open_ = open_.where(Notification.kind == kind.value)
    result = await session.execute(
        update(Notification)
        .where(Notification.id.in_(open_.with_only_columns(Notification.id)))
        .values(dismissed_at=now, snoozed_until=None)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        await _changed(session, actor.user_id)
    return count


# --- email choices ------------------------------------------------------------------------------


async def email_choices(
    session: AsyncSession, user_ids: Sequence[uuid.UUID], kind: str
) -> dict[uuid.UUID, bool]:
    """The email choice each user made for ``kind`` (users who made none are left out)."""
    if not user_ids:
        return {}
    rows = (
        await session.execute(
            select(NotificationPreference.user_id, NotificationPreference.email).where(
                NotificationPreference.user_id.in_(user_ids), NotificationPreference.kind == kind
            )
        )
    ).all()
    return {user_id: email for user_id, email in rows}


async def preferences(session: AsyncSession, actor: Actor) -> list[NotificationPreferenceRead]:
    chosen = dict(
        (
            await session.execute(
                select(NotificationPreference.kind, NotificationPreference.email).where(
                    NotificationPreference.user_id == actor.user_id
                )
            )
        ).all()
    )
    return [
        NotificationPreferenceRead(
            kind=kind,
            title=spec.title,
            email=chosen.get(kind.value, spec.email),
            default_email=spec.email,
            audiences=[a.value for a in spec.audiences],
        )
        for kind, spec in KINDS.items()
    ]


async def set_preference(
    session: AsyncSession, actor: Actor, kind: NotificationKind, email: bool
) -> list[NotificationPreferenceRead]:
    await session.execute(
        insert(NotificationPreference)
        .values(user_id=actor.user_id, kind=kind.value, email=email)
        .on_conflict_do_update(
            index_elements=["user_id", "kind"], set_={"email": email, "updated_at": clock.now()}
        )
    )
    return await preferences(session, actor)
