"""Who may change a client the caller can see (DOMAIN 3) -- the one place these rules live.

Seeing a client is not enough to change it: an active CoC-wide release of information (ROI)
shows the client to every agency of the CoC, which may read it (and enroll it, which links the
agency), but editing needs

* an admin (``system_admin`` / ``cas_admin``), or
* an organization linked to the client in ``client_access`` (it created, enrolled or was
  referred the client).

The consent fields (the ROI dates) decide who sees the client at all, so they belong to the
organization that created the client, the CAS organization (when it may edit the client) and
admins.

Visibility itself is ``app.services.clients.access``; a client the caller cannot see is a 404
before these rules are asked. Their refusals are 403: the caller already sees the client.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Actor
from app.errors import Forbidden
from app.models import Client, ClientAccess

CONSENT_FIELDS = ("roi_start_date", "roi_end_date")


def changed_consent(client: Client, changes: Mapping[str, Any]) -> list[str]:
    """The consent fields ``changes`` would give a new value."""
    return [f for f in CONSENT_FIELDS if f in changes and changes[f] != getattr(client, f)]


def can_edit_client(actor: Actor, links: Collection[str]) -> bool:
    """``links``: why the actor's organization is linked to the client (``client_access``
    reasons: created, enrolled, referred); empty when it sees the client through the ROI only."""
    return actor.is_admin or bool(links)


def can_edit_consent(actor: Actor, links: Collection[str]) -> bool:
    """The ROI dates: the creating organization, the CAS organization, admins."""
    if actor.is_admin or "created" in links:
        return True
    return actor.organization.is_cas and can_edit_client(actor, links)


async def organization_links(
    session: AsyncSession, client_id: uuid.UUID, organization_id: uuid.UUID
) -> frozenset[str]:
    rows = await session.scalars(
        select(ClientAccess.reason).where(
            ClientAccess.client_id == client_id, ClientAccess.organization_id == organization_id
        )
    )
    return frozenset(rows)


async def check_may_edit(
    session: AsyncSession, actor: Actor, client: Client, changes: Mapping[str, Any]
) -> None:
    """403 unless ``actor`` may make ``changes`` (the fields sent) to the visible ``client``.

    Consent fields count only when their value changes, so a client that sends the record back
    as it read it is not refused for the ROI dates it did not touch."""
    if not changes:
        return
    links = await organization_links(session, client.id, actor.organization_id)
    if not can_edit_client(actor, links):
        raise Forbidden(
            "Your organization sees this client through the CoC-wide release of information "
            "only: it may read the record (and enroll the client) but not change it. Changes "
            "are made by an organization that created, enrolled or was referred the client, "
            "or by an admin."
        )
    consent = changed_consent(client, changes)
    if consent and not can_edit_consent(actor, links):
        message = (
            f"{' and '.join(consent)}: the client's consent (release of information) is changed "
            "only by the organization that created the client, the CAS organization and admins."
        )
        raise Forbidden(
            message,
            errors=[{"loc": ["body", f], "msg": message, "type": "forbidden"} for f in consent],
        )
