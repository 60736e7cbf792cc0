"""Partner webhook subscriptions: per organization and event type, signed Standard Webhooks
deliveries, the delivery log and manual redelivery."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Request, Response, status

from app.context import Actor
from app.deps import IfMatch, Session, SettingsDep, require
from app.http.contract import ETAG, LOCATION, documented
from app.http.etag import check_if_match, set_etag
from app.http.pagination import Pages
from app.permissions import Permission
from app.reference.notifications import WebhookDeliveryStatus
from app.routers import api_router
from app.schemas.common import problems
from app.schemas.pagination import Page
from app.schemas.webhooks import (
    WebhookDeliveryDetail,
    WebhookDeliveryRead,
    WebhookEventTypeRead,
    WebhookSecretRead,
    WebhookSecretRotate,
    WebhookSubscriptionCreate,
    WebhookSubscriptionCreated,
    WebhookSubscriptionRead,
    WebhookSubscriptionUpdate,
)
from app.services.notifications import webhooks as svc

router = api_router("/webhook-subscriptions", "webhooks")

Manager = Annotated[Actor, Depends(require(Permission.WEBHOOKS_MANAGE))]

SUBSCRIPTIONS = (
    "System admins: every subscription of the CoC. CAS and agency admins: their acting "
    "organization's. Any other subscription answers 404."
)


async def visible_subscription(
    subscription_id: uuid.UUID, actor: Manager, session: Session
) -> svc.WebhookSubscription:
    return await svc.get_subscription(session, actor, subscription_id, for_update=True)


Subscription = Annotated[svc.WebhookSubscription, Depends(visible_subscription)]


@router.post(
    "",
    name="webhook_subscriptions_create",
    summary="Subscribe a receiver to events",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookSubscriptionCreated,
    openapi_extra=documented(SUBSCRIPTIONS, sends=(ETAG, LOCATION), idempotent=True),
)
async def create_subscription(
    body: WebhookSubscriptionCreate,
    actor: Manager,
    session: Session,
    settings: SettingsDep,
    request: Request,
    response: Response,
) -> WebhookSubscriptionCreated:
    """Deliveries of the given event types to `url`, signed with the secret (Standard
    Webhooks: `webhook-id`, `webhook-timestamp`, `webhook-signature`). Only events about what
    the organization itself may see are sent. The URL must be http(s) and resolve to public
    addresses only; the secret (generated unless given) is answered here once."""
    created = await svc.create_subscription(session, actor, settings, body)
    response.headers["Location"] = f"{request.url.path}/{created.subscription.id}"
    set_etag(response, created.subscription.version)
    return svc.created_read(created)


@router.get(
    "",
    name="webhook_subscriptions_list",
    summary="List webhook subscriptions",
    response_model=Page[WebhookSubscriptionRead],
    openapi_extra=documented(SUBSCRIPTIONS),
)
async def list_subscriptions(
    actor: Manager,
    session: Session,
    page: Pages,
    organization_id: Annotated[uuid.UUID | None, Query()] = None,
) -> dict[str, object]:
    """Subscriptions, oldest first (secrets are never listed)."""
    found = await svc.list_subscriptions(session, actor, page, organization_id=organization_id)
    return found.map(svc.subscription_read).body()


@router.get(
    "/event-types",
    name="webhook_event_types",
    summary="Event types partners may subscribe to",
    response_model=Page[WebhookEventTypeRead],
    openapi_extra=documented("The same for everyone who manages webhooks."),
)
async def event_types(actor: Manager) -> Page[WebhookEventTypeRead]:
    """Every event type a subscription may name; any other is refused (422)."""
    return Page[WebhookEventTypeRead](items=svc.event_types(), next_cursor=None)


@router.get(
    "/{subscription_id}",
    name="webhook_subscriptions_get",
    summary="Read a webhook subscription",
    response_model=WebhookSubscriptionRead,
    openapi_extra=documented(SUBSCRIPTIONS, sends=(ETAG,)),
)
async def get_subscription(
    subscription: Subscription, response: Response
) -> WebhookSubscriptionRead:
    """One subscription, whether it is enabled (or why it was disabled) and its failures in a
    row."""
    set_etag(response, subscription.version)
    return svc.subscription_read(subscription)


@router.patch(
    "/{subscription_id}",
    name="webhook_subscriptions_update",
    summary="Change a webhook subscription",
    response_model=WebhookSubscriptionRead,
    openapi_extra=documented(SUBSCRIPTIONS, sends=(ETAG,)),
)
async def update_subscription(
    body: WebhookSubscriptionUpdate,
    subscription: Subscription,
    actor: Manager,
    session: Session,
    settings: SettingsDep,
    if_match: IfMatch,
    response: Response,
) -> WebhookSubscriptionRead:
    """Change the URL (checked again), event types or description; `enabled: true` turns a
    disabled subscription back on, `false` off."""
    check_if_match(if_match, subscription.version)
    updated = await svc.update_subscription(session, actor, settings, subscription, body)
    set_etag(response, updated.version)
    return svc.subscription_read(updated)


@router.delete(
    "/{subscription_id}",
    name="webhook_subscriptions_delete",
    summary="Delete a webhook subscription",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    openapi_extra=documented(SUBSCRIPTIONS),
)
async def delete_subscription(
    subscription: Subscription, actor: Manager, session: Session, if_match: IfMatch
) -> Response:
    """Stop all deliveries and remove the subscription with its delivery log."""
    check_if_match(if_match, subscription.version)
    await svc.delete_subscription(session, actor, subscription)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{subscription_id}/rotate-secret",
    name="webhook_subscriptions_rotate_secret",
    summary="Rotate a subscription's signing secret",
    response_model=WebhookSecretRead,
    openapi_extra=documented(SUBSCRIPTIONS),
)
async def rotate_secret(
    body: WebhookSecretRotate,
    subscription: Subscription,
    actor: Manager,
    session: Session,
    settings: SettingsDep,
) -> WebhookSecretRead:
    """A new secret (generated unless given), answered here once. The current one keeps
    signing beside it for `previous_valid_hours`: deliveries carry both signatures, so the
    receiver can switch at its pace."""
    rotated = await svc.rotate_secret(session, actor, settings, subscription, body)
    return WebhookSecretRead(
        secret=rotated.secret, previous_secret_expires_at=rotated.previous_secret_expires_at
    )


@router.get(
    "/{subscription_id}/deliveries",
    name="webhook_deliveries_list",
    summary="The delivery log of a subscription",
    response_model=Page[WebhookDeliveryRead],
    openapi_extra=documented(SUBSCRIPTIONS),
)
async def list_deliveries(
    subscription: Subscription,
    session: Session,
    page: Pages,
    status: Annotated[WebhookDeliveryStatus | None, Query()] = None,
) -> dict[str, object]:
    """Deliveries newest first, with their state, tries and last answer."""
    found = await svc.list_deliveries(session, subscription, page, status=status)
    return found.map(svc.delivery_read).body()


@router.get(
    "/{subscription_id}/deliveries/{delivery_id}",
    name="webhook_deliveries_get",
    summary="Read a delivery and its tries",
    response_model=WebhookDeliveryDetail,
    openapi_extra=documented(SUBSCRIPTIONS),
)
async def get_delivery(
    delivery_id: uuid.UUID, subscription: Subscription, session: Session
) -> WebhookDeliveryDetail:
    """The body sent and every try: when, the answer's status code or the error, how long."""
    delivery = await svc.get_delivery(session, subscription, delivery_id)
    return await svc.delivery_detail(session, delivery)


@router.post(
    "/{subscription_id}/deliveries/{delivery_id}/redeliver",
    name="webhook_deliveries_redeliver",
    summary="Send a delivery again",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=WebhookDeliveryRead,
    responses=problems(409),
    openapi_extra=documented(SUBSCRIPTIONS),
)
async def redeliver(
    delivery_id: uuid.UUID,
    subscription: Subscription,
    actor: Manager,
    session: Session,
    settings: SettingsDep,
) -> WebhookDeliveryRead:
    """Queue the delivery again: the same body and `webhook-id` (receivers recognize a
    repeat), signed anew, with the usual retries. 409 while it is still being tried or when the
    subscription is disabled."""
    delivery = await svc.get_delivery(session, subscription, delivery_id)
    return svc.delivery_read(await svc.redeliver(session, actor, settings, subscription, delivery))
