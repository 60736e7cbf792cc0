"""Partner webhooks: subscriptions per organization and event type, signed deliveries in the
Standard Webhooks style, the delivery log, manual redelivery and automatic disabling.

**Signing** (https://www.standardwebhooks.com): each request carries ``webhook-id`` (the
delivery's message id, the same on every retry and redelivery: receivers use it to ignore
repeats), ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``: ``v1,`` + base64 of
HMAC-SHA256 over ``"{webhook-id}.{webhook-timestamp}.{body}"`` with the secret's bytes (the
secret is ``whsec_`` + base64, 24 to 64 bytes). During a secret rotation both the new and the
previous secret sign (``v1,<a> v1,<b>``) until the previous one expires.

**Addresses**: only ``http``/``https`` URLs whose host resolves exclusively to public
addresses are accepted -- never loopback, private, link-local (cloud metadata included),
shared, multicast or reserved ones -- unless ``CAS_WEBHOOK_ALLOWED_NETWORKS`` lists them. The
check runs when a subscription is saved and again before every delivery (the name is resolved
off the event loop), and the request goes to the address that was checked (TLS still verifies
the certificate for the host name), so a name that later resolves elsewhere cannot redirect a
delivery. Redirects are not followed.

**Failures**: a delivery is retried with backoff by its job; after ``CAS_WEBHOOK_MAX_ATTEMPTS``
it is ``failed`` (and its job dead-lettered). ``CAS_WEBHOOK_DISABLE_AFTER_FAILURES`` failed
attempts in a row (any delivery of the subscription) disable the subscription and notify the
organization's admins (``webhook_subscription.disabled``); an admin enables it again.

A partner only ever receives events about what the organization itself may see
(``recipients.organization_may_see``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from sqlalchemy import Select, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.config import Settings
from app.context import Actor
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.models import Organization
from app.models.notifications import (
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookSubscription,
)
from app.models.platform import NotificationEvent
from app.reference.notifications import NotificationKind, WebhookDeliveryStatus
from app.schemas.pagination import PageParams
from app.schemas.webhooks import (
    WebhookAttemptRead,
    WebhookDeliveryDetail,
    WebhookDeliveryRead,
    WebhookEventTypeRead,
    WebhookSecretRotate,
    WebhookSubscriptionCreate,
    WebhookSubscriptionCreated,
    WebhookSubscriptionRead,
    WebhookSubscriptionUpdate,
)
from app.services.notifications import policy
from app.services.notifications.kinds import KINDS, KindSpec, webhook_kinds
from app.services.notifications.recipients import organization_may_see
from app.services.platform import audit, events, jobs
from app.services.platform.crypto import is_sealed_with_newest, seal, unseal
from app.services.platform.pagination import PageOf, paginate
from app.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

DELIVER = "webhooks.deliver"
SECRET_PREFIX = "whsec_"
SECRET_MIN_BYTES = 24
SECRET_MAX_BYTES = 64
_SEAL_PURPOSE = "webhook-secret"
_RESOLVE_TIMEOUT = 5.0
Status = WebhookDeliveryStatus

# Cloud metadata services, refused by name even where a rule above would already refuse them.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "fd00:ec2::254")
)


# --- secrets ------------------------------------------------------------------------------------


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_bytes(secret: str, *, field: str = "secret") -> bytes:
    """The key of a ``whsec_`` secret; 422 naming ``field`` when it is malformed, too weak
    (fewer than 24 bytes) or oversize (more than 64)."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValidationFailed(
            f"A webhook secret is '{SECRET_PREFIX}' followed by base64 (24 to 64 bytes).",
            field=field,
        )
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("The webhook secret is not valid base64.", field=field) from None
    if len(key) < SECRET_MIN_BYTES:
        raise ValidationFailed(
            f"The webhook secret is too weak: at least {SECRET_MIN_BYTES} random bytes.",
            field=field,
        )
    if len(key) > SECRET_MAX_BYTES:
        raise ValidationFailed(
            f"The webhook secret is too long: at most {SECRET_MAX_BYTES} bytes.", field=field
        )
    return key


def _seal(settings: Settings, subscription_id: uuid.UUID, secret: str) -> bytes:
    return seal(
        secret.encode(),
        key=settings.encryption_keys,
        purpose=_SEAL_PURPOSE,
        associated=subscription_id.bytes,
    )


def _unseal(settings: Settings, subscription_id: uuid.UUID, sealed: bytes) -> str:
    return unseal(
        sealed,
        key=settings.encryption_keys,
        purpose=_SEAL_PURPOSE,
        associated=subscription_id.bytes,
    ).decode()


def sign(secrets_: Sequence[str], msg_id: str, timestamp: int, body: str) -> str:
    """The ``webhook-signature`` header: one ``v1,<base64>`` per secret, space separated."""
    content = f"{msg_id}.{timestamp}.{body}".encode()
    signatures = []
    for secret in secrets_:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :])
        digest = hmac.new(key, content, hashlib.sha256).digest()
        signatures.append("v1," + base64.b64encode(digest).decode())
    return " ".join(signatures)


def message_id(delivery_id: uuid.UUID) -> str:
    return f"msg_{delivery_id.hex}"


# --- addresses ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (a vetted address) and what to call it."""

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]


class RefusedAddress(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _networks(settings: Settings) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(n, strict=False) for n in settings.webhook_allowed_networks]


def address_refused(
    address: str, allowed: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]
) -> str | None:
    """Why ``address`` may not receive webhooks, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    if any(ip in network for network in allowed):
        return None
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved or not ip.is_global:
        return "not a public address"
    return None


def parse_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable webhook URL, else ``RefusedAddress``."""
    if len(url) > 2000 or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise RefusedAddress("The URL is not valid.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise RefusedAddress("The URL is not valid.") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise RefusedAddress("Only http and https URLs can receive webhooks.")
    if parts.username is not None or parts.password is not None:
        raise RefusedAddress("The URL must not carry credentials; sign with the secret instead.")
    if parts.fragment:
        raise RefusedAddress("The URL must not have a fragment.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise RefusedAddress("The URL has no host.")
    return scheme, host, port or (443 if scheme == "https" else 80)


async def resolve(host: str, port: int) -> list[str]:
    """The addresses of ``host`` (resolved on the event loop's resolver threads, never blocking
    it); ``RefusedAddress`` when it does not resolve."""
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=_RESOLVE_TIMEOUT
        )
    except (OSError, TimeoutError, UnicodeError):
        raise RefusedAddress("The URL's host name does not resolve.") from None
    # IPv4 first (a receiver reached over IPv6 only is still tried when it has no IPv4).
    addresses = sorted({str(info[4][0]) for info in infos}, key=lambda a: (":" in a, a))
    if not addresses:
        raise RefusedAddress("The URL's host name does not resolve.")
    return addresses


async def check_url(url: str, settings: Settings) -> Target:
    """The URL's checked target: every address its host resolves to must be acceptable."""
    scheme, host, port = parse_url(url)
    addresses = await resolve(host, port)
    allowed = _networks(settings)
    for address in addresses:
        reason = address_refused(address, allowed)
        if reason is not None:
            raise RefusedAddress(
                f"The URL's host resolves to {reason}, which cannot receive webhooks."
            )
    return Target(url=url, scheme=scheme, host=host, port=port, addresses=tuple(addresses))


async def _checked_url(url: str, settings: Settings) -> str:
    try:
        await check_url(url, settings)
    except RefusedAddress as exc:
        raise ValidationFailed(exc.message, field="url") from None
    return url


# --- subscriptions ------------------------------------------------------------------------------


def _check_event_types(event_types: Sequence[NotificationKind]) -> list[str]:
    allowed = set(webhook_kinds())
    refused = [t for t in event_types if t not in allowed]
    if refused:
        raise ValidationFailed(
            f"Partners cannot subscribe to {refused[0].value}.", field="event_types"
        )
    return sorted({t.value for t in event_types})


def visible_subscriptions_stmt(actor: Actor) -> Select[WebhookSubscription]:
    stmt = select(WebhookSubscription).where(WebhookSubscription.coc_id == actor.coc_id)
    if not policy.manages_all_webhooks(actor):
        stmt = stmt.where(WebhookSubscription.organization_id == actor.organization_id)
    return stmt


async def get_subscription(
    session: AsyncSession, actor: Actor, subscription_id: uuid.UUID, *, for_update: bool = False
) -> WebhookSubscription:
    stmt = visible_subscriptions_stmt(actor).where(WebhookSubscription.id == subscription_id)
    if for_update:
        stmt = stmt.with_for_update()
    found = await session.scalar(stmt)
    if found is None:
        raise NotFound("No such webhook subscription.")
    return found


async def list_subscriptions(
    session: AsyncSession,
    actor: Actor,
    page: PageParams,
    *,
    organization_id: uuid.UUID | None = None,
) -> PageOf[WebhookSubscription]:
    stmt = visible_subscriptions_stmt(actor)
    if organization_id is not None:
        stmt = stmt.where(WebhookSubscription.organization_id == organization_id)
    return await paginate(
        session, stmt, page, [WebhookSubscription.created_at, WebhookSubscription.id]
    )


async def _organization_for(
    session: AsyncSession, actor: Actor, organization_id: uuid.UUID | None
) -> uuid.UUID:
    """The organization a new subscription belongs to (the acting one by default): one of the
    CoC's that the caller manages webhooks for."""
    if organization_id is None or organization_id == actor.organization_id:
        return actor.organization_id
    org = await session.scalar(
        select(Organization.id).where(
            Organization.id == organization_id, Organization.coc_id == actor.coc_id
        )
    )
    if org is None:
        raise ValidationFailed("No such organization.", field="organization_id")
    if not policy.can_manage_webhooks_of(actor, org):
        raise Forbidden("You manage the webhook subscriptions of your own organization only.")
    return org


@dataclass(frozen=True)
class CreatedSubscription:
    subscription: WebhookSubscription
    secret: str


async def create_subscription(
    session: AsyncSession, actor: Actor, settings: Settings, body: WebhookSubscriptionCreate
) -> CreatedSubscription:
    organization_id = await _organization_for(session, actor, body.organization_id)
    event_types = _check_event_types(body.event_types)
    secret = body.secret or generate_secret()
    secret_bytes(secret)
    url = await _checked_url(body.url, settings)
    subscription_id = uuid.uuid4()
    subscription = WebhookSubscription(
        id=subscription_id,
        coc_id=actor.coc_id,
        organization_id=organization_id,
        url=url,
        description=body.description,
        event_types=event_types,
        secret_sealed=_seal(settings, subscription_id, secret),
        consecutive_failures=0,
        created_by_user_id=actor.user_id,
    )
    session.add(subscription)
    await session.flush()
    audit.record(
        session,
        actor,
        "webhook_subscription.create",
        "webhook_subscription",
        subscription.id,
        {"organization_id": str(organization_id), "url": url, "event_types": event_types},
    )
    return CreatedSubscription(subscription, secret)


async def update_subscription(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    subscription: WebhookSubscription,
    body: WebhookSubscriptionUpdate,
) -> WebhookSubscription:
    fields = body.model_fields_set
    changes: dict[str, Any] = {}
    if "url" in fields and body.url is not None and body.url != subscription.url:
        subscription.url = await _checked_url(body.url, settings)
        changes["url"] = subscription.url
    if "event_types" in fields and body.event_types is not None:
        event_types = _check_event_types(body.event_types)
        if event_types != sorted(subscription.event_types):
            subscription.event_types = event_types
            changes["event_types"] = event_types
    if "description" in fields and body.description != subscription.description:
        subscription.description = body.description
        changes["description"] = body.description
    if "enabled" in fields and body.enabled is not None:
        enabled = subscription.disabled_at is None
        if body.enabled and not enabled:
            # Enabled again: its URL is checked again, its failure count starts over.
            await _checked_url(subscription.url, settings)
            subscription.disabled_at = None
            subscription.disabled_reason = None
            subscription.consecutive_failures = 0
            changes["enabled"] = True
        elif not body.enabled and enabled:
            subscription.disabled_at = clock.now()
            subscription.disabled_reason = "by_user"
            changes["enabled"] = False
    if changes:
        await session.flush()
        audit.record(
            session,
            actor,
            "webhook_subscription.update",
            "webhook_subscription",
            subscription.id,
            changes,
        )
    return subscription


async def delete_subscription(
    session: AsyncSession, actor: Actor, subscription: WebhookSubscription
) -> None:
    await session.delete(subscription)
    await session.flush()
    audit.record(
        session, actor, "webhook_subscription.delete", "webhook_subscription", subscription.id
    )


@dataclass(frozen=True)
class RotatedSecret:
    secret: str
    previous_secret_expires_at: datetime | None


async def rotate_secret(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    subscription: WebhookSubscription,
    body: WebhookSecretRotate,
) -> RotatedSecret:
    """A new secret; the current one keeps signing beside it for ``previous_valid_hours``
    (0: it stops at once)."""
    secret = body.secret or generate_secret()
    secret_bytes(secret)
    previous = subscription.secret_sealed
    subscription.secret_sealed = _seal(settings, subscription.id, secret)
    if body.previous_valid_hours > 0:
        subscription.previous_secret_sealed = previous
        subscription.previous_secret_expires_at = clock.now() + timedelta(
            hours=body.previous_valid_hours
        )
    else:
        subscription.previous_secret_sealed = None
        subscription.previous_secret_expires_at = None
    await session.flush()
    audit.record(
        session,
        actor,
        "webhook_subscription.rotate_secret",
        "webhook_subscription",
        subscription.id,
        {"previous_valid_hours": body.previous_valid_hours},
    )
    return RotatedSecret(secret, subscription.previous_secret_expires_at)


def signing_secrets(
    settings: Settings, subscription: WebhookSubscription, now: datetime
) -> list[str]:
    current = [_unseal(settings, subscription.id, subscription.secret_sealed)]
    if (
        subscription.previous_secret_sealed is not None
        and subscription.previous_secret_expires_at is not None
        and subscription.previous_secret_expires_at > now
    ):
        current.append(_unseal(settings, subscription.id, subscription.previous_secret_sealed))
    return current


# --- fan-out: deliveries of an event ------------------------------------------------------------


def payload_of(event: NotificationEvent) -> str:
    """The body partners receive: the event's type, time and ids and codes (never PII)."""
    data = {k: v for k, v in event.data.items() if k != "audience"}
    body = {
        "type": event.event_type,
        "timestamp": event.created_at.isoformat().replace("+00:00", "Z"),
        "data": {
            "event_id": str(event.id),
            "entity_type": event.entity_type,
            "entity_id": str(event.entity_id) if event.entity_id else None,
            "client_id": str(event.client_id) if event.client_id else None,
            **data,
        },
    }
    return json.dumps(body, separators=(",", ":"), sort_keys=True, default=str)


async def queue_deliveries(
    session: AsyncSession, settings: Settings, event: NotificationEvent, spec: KindSpec
) -> int:
    """A delivery (and its job) for every enabled subscription to the event's type whose
    organization may see it; none twice (unique per subscription and event)."""
    if not spec.webhook:
        return 0
    subscriptions = (
        await session.scalars(
            select(WebhookSubscription).where(
                WebhookSubscription.coc_id == event.coc_id,
                WebhookSubscription.disabled_at.is_(None),
                WebhookSubscription.event_types.contains([event.event_type]),
            )
        )
    ).all()
    queued = 0
    body = payload_of(event)
    for subscription in subscriptions:
        if not await organization_may_see(session, subscription.organization_id, event, spec):
            continue
        delivery_id = await session.scalar(
            insert(WebhookDelivery)
            .values(
                id=uuid.uuid4(),
                coc_id=event.coc_id,
                subscription_id=subscription.id,
                event_id=event.id,
                event_type=event.event_type,
                body=body,
                status=Status.PENDING.value,
                attempts=0,
            )
            .on_conflict_do_nothing(index_elements=["subscription_id", "event_id"])
            .returning(WebhookDelivery.id)
        )
        if delivery_id is None:
            continue
        _queue_job(session, settings, delivery_id, event.coc_id)
        queued += 1
    return queued


def _queue_job(
    session: AsyncSession,
    settings: Settings,
    delivery_id: uuid.UUID,
    coc_id: uuid.UUID,
    requested_by: uuid.UUID | None = None,
) -> None:
    payload: dict[str, Any] = {"delivery_id": str(delivery_id)}
    if requested_by is not None:
        payload["requested_by"] = str(requested_by)
    jobs.add(
        session,
        DELIVER,
        payload,
        coc_id=coc_id,
        dedupe_key=f"webhook:{delivery_id}:{uuid.uuid4().hex[:12]}",
        max_attempts=settings.webhook_max_attempts,
    )


# --- delivering ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Attempt:
    succeeded: bool
    status_code: int | None
    error: str | None
    duration_ms: int


async def _post(target: Target, headers: dict[str, str], body: str, wait: float) -> _Attempt:
    """POST ``body`` to the checked address of ``target`` (TLS verified for the host name);
    the answer's body is never read."""
    address = target.addresses[0]
    host_in_url = f"[{address}]" if ":" in address else address
    parts = urlsplit(target.url)
    netloc = f"{host_in_url}:{target.port}"
    url = urlunsplit((target.scheme, netloc, parts.path or "/", parts.query, ""))
    default_port = target.port == (443 if target.scheme == "https" else 80)
    host_header = target.host if default_port else f"{target.host}:{target.port}"
    if ":" in target.host and not target.host.startswith("["):
        host_header = f"[{target.host}]" if default_port else f"[{target.host}]:{target.port}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    started = time.monotonic()
    try:
        async with (
            httpx.AsyncClient(
                timeout=wait, follow_redirects=False, trust_env=False, verify=_tls()
            ) as client,
            client.stream(
                "POST",
                url,
                content=body.encode(),
                headers={**headers, "Host": host_header},
                extensions=extensions,
            ) as response,
        ):
            status = response.status_code
    except httpx.TimeoutException:
        return _Attempt(False, None, "timeout", _ms(started))
    except httpx.HTTPError as exc:
        return _Attempt(False, None, f"connection failed ({type(exc).__name__})", _ms(started))
    ok = 200 <= status < 300
    return _Attempt(ok, status, None if ok else f"HTTP {status}", _ms(started))


@functools.cache
def _tls() -> ssl.SSLContext:
    """One verifying TLS context for every delivery (making one loads the CA bundle)."""
    return ssl.create_default_context()


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


@dataclass(frozen=True)
class _Prepared:
    url: str
    headers: dict[str, str]
    body: str


async def deliver(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    delivery_id: uuid.UUID,
    *,
    last_attempt: bool,
    requested_by: uuid.UUID | None = None,
) -> None:
    """One try of a delivery (the ``webhooks.deliver`` job). Read and commit, then call the
    receiver holding no lock, then record the result; a failure raises (the job retries it)."""
    now = clock.now()
    async with unit_of_work(sessionmaker) as session:
        delivery = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
        if delivery is None or delivery.status != Status.PENDING.value:
            return
        subscription = await session.get(WebhookSubscription, delivery.subscription_id)
        if subscription is None or subscription.disabled_at is not None:
            delivery.status = Status.SKIPPED.value
            delivery.last_error = "subscription disabled"
            return
        timestamp = int(now.timestamp())
        msg_id = message_id(delivery.id)
        prepared = _Prepared(
            url=subscription.url,
            body=delivery.body,
            headers={
                "Content-Type": "application/json",
                "User-Agent": "CAS-Webhooks/1.0",
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(
                    signing_secrets(settings, subscription, now), msg_id, timestamp, delivery.body
                ),
            },
        )
        delivery.attempts += 1
        delivery.last_attempt_at = now
    # Committed: nothing is locked while the receiver is called.
    try:
        target = await check_url(prepared.url, settings)
    except RefusedAddress as exc:
        attempt = _Attempt(False, None, exc.message[:200], 0)
    else:
        attempt = await _post(
            target, prepared.headers, prepared.body, settings.webhook_timeout_seconds
        )
    disabled = await _record(
        sessionmaker, settings, delivery_id, attempt, last_attempt, requested_by
    )
    if not attempt.succeeded and not disabled:
        # Retried with backoff; the last failure dead-letters the job (the delivery is failed).
        raise jobs.JobFailed(f"webhook delivery failed: {attempt.error}")


async def _record(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    delivery_id: uuid.UUID,
    attempt: _Attempt,
    last_attempt: bool,
    requested_by: uuid.UUID | None,
) -> bool:
    """Log the attempt and its consequences; whether the subscription was disabled by it."""
    disabled = False
    async with unit_of_work(sessionmaker) as session:
        delivery = await session.get_one(WebhookDelivery, delivery_id, with_for_update=True)
        session.add(
            WebhookDeliveryAttempt(
                delivery_id=delivery_id,
                coc_id=delivery.coc_id,
                succeeded=attempt.succeeded,
                status_code=attempt.status_code,
                error=attempt.error,
                duration_ms=attempt.duration_ms,
                requested_by_user_id=requested_by,
            )
        )
        delivery.last_status_code = attempt.status_code
        delivery.last_error = attempt.error
        subscription = await session.get(
            WebhookSubscription, delivery.subscription_id, with_for_update=True
        )
        if attempt.succeeded:
            delivery.status = Status.SUCCEEDED.value
            delivery.delivered_at = clock.now()
            if subscription is not None:
                subscription.consecutive_failures = 0
            return False
        if subscription is not None:
            subscription.consecutive_failures += 1
            if (
                subscription.disabled_at is None
                and subscription.consecutive_failures >= settings.webhook_disable_after_failures
            ):
                await _disable(session, subscription)
                disabled = True
        if last_attempt or disabled:
            delivery.status = Status.FAILED.value
    return disabled


async def _disable(session: AsyncSession, subscription: WebhookSubscription) -> None:
    """Turn the subscription off after repeated failures and tell the organization's admins."""
    now = clock.now()
    subscription.disabled_at = now
    subscription.disabled_reason = "failures"
    await session.flush()
    await events.emit_once(
        session,
        subscription.coc_id,
        NotificationKind.WEBHOOK_SUBSCRIPTION_DISABLED.value,
        dedupe_key=f"webhook-disabled:{subscription.id}:{now.isoformat()}",
        entity_type="webhook_subscription",
        entity_id=subscription.id,
        data={
            "organization_id": str(subscription.organization_id),
            "subscription_id": str(subscription.id),
            "failures": subscription.consecutive_failures,
        },
    )
    log.warning(
        "webhook subscription disabled after repeated failures",
        extra={"subscription_id": str(subscription.id)},
    )


# --- the delivery log ---------------------------------------------------------------------------


async def list_deliveries(
    session: AsyncSession,
    subscription: WebhookSubscription,
    page: PageParams,
    *,
    status: WebhookDeliveryStatus | None = None,
) -> PageOf[WebhookDelivery]:
    stmt = select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
    if status is not None:
        stmt = stmt.where(WebhookDelivery.status == status.value)
    return await paginate(
        session, stmt, page, [WebhookDelivery.created_at, WebhookDelivery.id], descending=True
    )


async def get_delivery(
    session: AsyncSession, subscription: WebhookSubscription, delivery_id: uuid.UUID
) -> WebhookDelivery:
    found = await session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id,
            WebhookDelivery.subscription_id == subscription.id,
        )
    )
    if found is None:
        raise NotFound("No such delivery.")
    return found


async def attempts_of(
    session: AsyncSession, delivery: WebhookDelivery
) -> list[WebhookDeliveryAttempt]:
    return list(
        (
            await session.scalars(
                select(WebhookDeliveryAttempt)
                .where(WebhookDeliveryAttempt.delivery_id == delivery.id)
                .order_by(WebhookDeliveryAttempt.attempted_at, WebhookDeliveryAttempt.id)
            )
        ).all()
    )


async def redeliver(
    session: AsyncSession,
    actor: Actor,
    settings: Settings,
    subscription: WebhookSubscription,
    delivery: WebhookDelivery,
) -> WebhookDelivery:
    """Send a delivery again (the same ``webhook-id`` and body, signed now)."""
    if subscription.disabled_at is not None:
        raise Conflict("The subscription is disabled; enable it before redelivering.")
    if delivery.status == Status.PENDING.value:
        raise Conflict("This delivery is still being tried.")
    delivery.status = Status.PENDING.value
    _queue_job(session, settings, delivery.id, delivery.coc_id, requested_by=actor.user_id)
    await session.flush()
    audit.record(session, actor, "webhook_delivery.redeliver", "webhook_delivery", delivery.id)
    return delivery


# --- answers ------------------------------------------------------------------------------------


def subscription_read(subscription: WebhookSubscription) -> WebhookSubscriptionRead:
    return WebhookSubscriptionRead(
        id=subscription.id,
        organization_id=subscription.organization_id,
        url=subscription.url,
        description=subscription.description,
        event_types=[NotificationKind(t) for t in subscription.event_types],
        enabled=subscription.disabled_at is None,
        disabled_at=subscription.disabled_at,
        disabled_reason=subscription.disabled_reason,
        consecutive_failures=subscription.consecutive_failures,
        previous_secret_expires_at=subscription.previous_secret_expires_at,
        created_at=subscription.created_at,
        updated_at=subscription.updated_at,
        version=subscription.version,
    )


def created_read(created: CreatedSubscription) -> WebhookSubscriptionCreated:
    return WebhookSubscriptionCreated(
        **subscription_read(created.subscription).model_dump(), secret=created.secret
    )


def delivery_read(delivery: WebhookDelivery) -> WebhookDeliveryRead:
    return WebhookDeliveryRead(
        id=delivery.id,
        subscription_id=delivery.subscription_id,
        webhook_id=message_id(delivery.id),
        event_id=delivery.event_id,
        event_type=NotificationKind(delivery.event_type),
        status=WebhookDeliveryStatus(delivery.status),
        attempts=delivery.attempts,
        created_at=delivery.created_at,
        last_attempt_at=delivery.last_attempt_at,
        delivered_at=delivery.delivered_at,
        last_status_code=delivery.last_status_code,
        last_error=delivery.last_error,
    )


async def delivery_detail(
    session: AsyncSession, delivery: WebhookDelivery
) -> WebhookDeliveryDetail:
    return WebhookDeliveryDetail(
        **delivery_read(delivery).model_dump(),
        payload=json.loads(delivery.body),
        attempt_log=[
            WebhookAttemptRead.model_validate(a) for a in await attempts_of(session, delivery)
        ],
    )


def event_types() -> list[WebhookEventTypeRead]:
    from_kinds = [(kind, KINDS[kind]) for kind in webhook_kinds()]
    return [WebhookEventTypeRead(event_type=kind, title=spec.title) for kind, spec in from_kinds]


def reseal_secrets(settings: Settings, subscription: WebhookSubscription) -> bool:
    """Seal the subscription's secrets again under the newest key (key rotation); False when
    they already were."""
    changed = False
    for attribute in ("secret_sealed", "previous_secret_sealed"):
        sealed = getattr(subscription, attribute)
        if sealed is None or is_sealed_with_newest(sealed, key=settings.encryption_keys):
            continue
        setattr(
            subscription,
            attribute,
            _seal(settings, subscription.id, _unseal(settings, subscription.id, sealed)),
        )
        changed = True
    return changed


async def purge_deliveries(session: AsyncSession, now: datetime, *, retention_days: int) -> int:
    """Remove finished deliveries (succeeded, failed, skipped) whose last try (or creation) is
    more than ``retention_days`` old, their tries with them (maintenance); pending ones stay."""
    last = func.coalesce(
        WebhookDelivery.delivered_at, WebhookDelivery.last_attempt_at, WebhookDelivery.created_at
    )
    result = await session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.status != WebhookDeliveryStatus.PENDING.value,
            last < now - timedelta(days=retention_days),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
