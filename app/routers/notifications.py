"""Your notification inbox: list, unread count, live stream, snooze, dismiss, acknowledge, dismiss
all, and which kinds also reach you by email."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from app import clock
from app.deps import CurrentActor, Session
from app.errors import TooManyRequests
from app.http.contract import Visibility, documented
from app.http.pagination import Pages
from app.reference.notifications import InboxFilter, NotificationKind
from app.routers import api_router
from app.schemas.common import FilterDateTime, problems
from app.schemas.notifications import (
    DismissedCount,
    NotificationDismissAll,
    NotificationPreferenceRead,
    NotificationPreferenceUpdate,
    NotificationRead,
    NotificationSnooze,
    UnreadCount,
)
from app.schemas.pagination import Page
from app.services.notifications import inbox as svc
from app.services.notifications import live
from app.services.platform.listen import Listener

router = api_router("/notifications", "notifications")

OWN = (
    "Only your own notifications received through the organization you act for (switch "
    "organization to see the others); anyone else's answers 404."
)


async def own_notification(
    notification_id: uuid.UUID, actor: CurrentActor, session: Session
) -> svc.Notification:
    return await svc.get_own(session, actor, notification_id)


Own = Annotated[svc.Notification, Depends(own_notification)]


@router.get(
    "",
    name="notifications_list",
    summary="List your notifications",
    response_model=Page[NotificationRead],
    openapi_extra=documented(OWN),
)
async def list_notifications(
    actor: CurrentActor,
    session: Session,
    page: Pages,
    status: Annotated[
        InboxFilter | None,
        Query(description="new, snoozed, dismissed or acknowledged (default: all)."),
    ] = None,
    kind: Annotated[NotificationKind | None, Query()] = None,
    since: Annotated[
        FilterDateTime | None,
        Query(description="Received at or after this time (a calendar view's first day)."),
    ] = None,
    until: Annotated[
        FilterDateTime | None,
        Query(description="Received before this time; UTC without an offset."),
    ] = None,
) -> dict[str, object]:
    """Your notifications, newest first. Each names what it is about by id and code only (the
    client's id, never a name); open the record acting for `organization_id`."""
    found = await svc.list_notifications(
        session, actor, page, status=status, kind=kind, since=since, until=until
    )
    return found.body()


@router.get(
    "/unread-count",
    name="notifications_unread_count",
    summary="Your unread count (the bell)",
    response_model=UnreadCount,
    openapi_extra=documented(OWN),
)
async def unread_count(actor: CurrentActor, session: Session) -> UnreadCount:
    """How many of your notifications are new: neither dismissed nor acknowledged, and not
    snoozed into the future."""
    return UnreadCount(unread=await svc.unread_count(session, actor))


async def _listener(request: Request) -> Listener:
    listener: Listener | None = getattr(request.app.state, "notification_listener", None)
    if listener is None:
        listener = Listener(request.app.state.engine, svc.CHANNEL)
        request.app.state.notification_listener = listener
    return listener


STREAM_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": 'Server-Sent Events: `unread_count` (`{"unread": n}`) first and after '
        "every change, `notification` (a `NotificationRead`, its id as the event id) for each "
        "new one, and a keep-alive comment every 15 seconds.",
        "content": {
            "text/event-stream": {
                "schema": {
                    "type": "object",
                    "description": "One event of the stream; `data` is JSON.",
                    "properties": {
                        "event": {"type": "string", "enum": ["unread_count", "notification"]},
                        "data": {"type": "string"},
                        "id": {"type": "string"},
                        "retry": {"type": "integer"},
                    },
                    "required": ["event", "data"],
                }
            }
        },
    }
}


@router.get(
    "/stream",
    name="notifications_stream",
    summary="Live notifications (Server-Sent Events)",
    response_class=StreamingResponse,
    responses={**STREAM_RESPONSE, **problems(429)},
    openapi_extra=documented(OWN),
)
async def stream(
    request: Request,
    actor: CurrentActor,
    listener: Annotated[Listener, Depends(_listener)],
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            max_length=64,
            description="The id of the last `notification` event received: the ones after it "
            "are sent first (browsers send it when they reconnect).",
        ),
    ] = None,
) -> StreamingResponse:
    """Pushes your new notifications and your unread count as they happen, on whichever API
    instance or worker they are made (PostgreSQL LISTEN/NOTIFY). The stream ends when your
    access token expires (or after at most an hour): reconnect with a fresh token. Browsers'
    `EventSource` cannot send an `Authorization` header; use a fetch-based client (for
    example `@microsoft/fetch-event-source`)."""
    settings = request.app.state.settings
    limit = settings.sse_max_streams_per_user
    if listener.subscribers(str(actor.user_id)) >= limit:
        raise TooManyRequests(
            f"You have {limit} live streams open already; close one (or wait for it to end).",
            headers={"Retry-After": "30"},
        )
    ends_at = clock.now() + timedelta(seconds=settings.sse_max_seconds)
    expires = getattr(request.state, "token_expires_at", None)
    if expires is not None:
        ends_at = min(ends_at, expires)
    events = live.stream(
        request.app.state.sessionmaker,
        listener,
        actor,
        heartbeat_seconds=settings.sse_heartbeat_seconds,
        ends_at=ends_at,
        last_event_id=last_event_id,
        disconnected=request.is_disconnected,
        max_streams=limit,
    )
    return StreamingResponse(
        events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get(
    "/preferences",
    name="notifications_preferences",
    summary="Which kinds reach you by email",
    response_model=Page[NotificationPreferenceRead],
    openapi_extra=documented(Visibility.SELF),
)
async def preferences(actor: CurrentActor, session: Session) -> Page[NotificationPreferenceRead]:
    """Every kind of notification, who receives it, and whether it also reaches you by email.
    The inbox itself cannot be turned off (reassign the case manager instead)."""
    return Page[NotificationPreferenceRead](
        items=await svc.preferences(session, actor), next_cursor=None
    )


@router.put(
    "/preferences",
    name="notifications_preferences_set",
    summary="Email or not for one kind",
    response_model=Page[NotificationPreferenceRead],
    openapi_extra=documented(Visibility.SELF),
)
async def set_preference(
    body: NotificationPreferenceUpdate, actor: CurrentActor, session: Session
) -> Page[NotificationPreferenceRead]:
    """Turn emails of one kind on or off for you; the notifications still reach your inbox."""
    items = await svc.set_preference(session, actor, body.kind, body.email)
    return Page[NotificationPreferenceRead](items=items, next_cursor=None)


@router.post(
    "/dismiss-all",
    name="notifications_dismiss_all",
    summary="Dismiss all your notifications",
    response_model=DismissedCount,
    openapi_extra=documented(OWN),
)
async def dismiss_all(
    body: NotificationDismissAll, actor: CurrentActor, session: Session
) -> DismissedCount:
    """Dismiss every notification of yours not dismissed yet: `{}` for all of them, or those of
    one `kind`."""
    return DismissedCount(dismissed=await svc.dismiss_all(session, actor, body.kind))


@router.get(
    "/{notification_id}",
    name="notifications_get",
    summary="Read one of your notifications",
    response_model=NotificationRead,
    openapi_extra=documented(OWN),
)
async def get_notification(notification: Own) -> NotificationRead:
    """One of your notifications (reading it does not change its state)."""
    return svc.read(notification, clock.now())


@router.post(
    "/{notification_id}/snooze",
    name="notifications_snooze",
    summary="Snooze a notification",
    response_model=NotificationRead,
    responses=problems(409),
    openapi_extra=documented(OWN),
)
async def snooze(
    body: NotificationSnooze, notification: Own, actor: CurrentActor, session: Session
) -> NotificationRead:
    """Hide it from the new ones until `until` (in the future, at most 90 days ahead); then it
    is new again. A dismissed notification cannot be snoozed (409)."""
    await svc.snooze(session, actor, notification, body.until)
    return svc.read(notification, clock.now())


@router.post(
    "/{notification_id}/dismiss",
    name="notifications_dismiss",
    summary="Dismiss a notification",
    response_model=NotificationRead,
    openapi_extra=documented(OWN),
)
async def dismiss(notification: Own, actor: CurrentActor, session: Session) -> NotificationRead:
    """It leaves the new ones for good (a snooze ends). Dismissing again changes nothing."""
    await svc.dismiss(session, actor, notification)
    return svc.read(notification, clock.now())


@router.post(
    "/{notification_id}/acknowledge",
    name="notifications_acknowledge",
    summary="Acknowledge a notification",
    response_model=NotificationRead,
    openapi_extra=documented(OWN),
)
async def acknowledge(notification: Own, actor: CurrentActor, session: Session) -> NotificationRead:
    """Mark it acknowledged (seen and handled); it leaves the new ones. A state of its own,
    apart from dismissed."""
    await svc.acknowledge(session, actor, notification)
    return svc.read(notification, clock.now())
