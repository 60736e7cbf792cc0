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

Households (``can_write_household``): a household is visible to whoever sees one of its members,
but changing it (adding, removing a member, changing a relationship) needs

* an admin of the household's CoC, or
* the organization that created the household, or
* an organization that may write an open enrollment made with this household for one of its
  current members: the enrollment's project organization, the organization that created the
  enrollment, an organization with an active case assignment on it, and the CAS organization
  for an open Coordinated Entry enrollment (the enrollment write rule of ``ce.policy``, read here
  from the rows because ``ce`` sits above ``clients``).

A change never touches a member the caller may not see (making someone head demotes the current
head: refused when the head is hidden). Both refusals are the same 403
``household-not-writable``, which says nothing about the hidden member.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Actor
from app.errors import Forbidden
from app.models import Client, ClientAccess, Household, HouseholdMember, Project
from app.models.enrollments import CaseAssignment, Enrollment

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


async def check_may_change(session: AsyncSession, actor: Actor, client: Client) -> frozenset[str]:
    """403 unless ``actor`` may change the visible ``client`` or add to its record (e.g. area
    ties); returns the organization's links to the client."""
    links = await organization_links(session, client.id, actor.organization_id)
    if not can_edit_client(actor, links):
        raise Forbidden(
            "Your organization sees this client through the CoC-wide release of information "
            "only: it may read the record (and enroll the client) but not change it. Changes "
            "are made by an organization that created, enrolled or was referred the client, "
            "or by an admin."
        )
    return links


async def check_may_edit(
    session: AsyncSession, actor: Actor, client: Client, changes: Mapping[str, Any]
) -> None:
    """403 unless ``actor`` may make ``changes`` (the fields sent) to the visible ``client``.

    Consent fields count only when their value changes, so a client that sends the record back
    as it read it is not refused for the ROI dates it did not touch."""
    if not changes:
        return
    links = await check_may_change(session, actor, client)
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


# --- households ------------------------------------------------------------------------------


class HouseholdNotWritable(Forbidden):
    slug, title = "household-not-writable", "Not allowed to change this household"


HOUSEHOLD_NOT_WRITABLE = (
    "You may see this household but not make this change. Households are changed by the "
    "organization that created them, organizations that write an open enrollment of their "
    "members, and admins; a change that would affect a member you may not see is theirs to make."
)


@dataclass(frozen=True)
class HouseholdFacts:
    """What the household write rule looks at."""

    coc_id: uuid.UUID
    created_by_organization_id: uuid.UUID
    # Organizations that write an open enrollment of a current member made with this household
    # (project organization, creating organization, active case assignments).
    enrollment_writers: frozenset[uuid.UUID]
    # A current member has an open Coordinated Entry enrollment with this household (the CAS
    # organization writes it).
    open_coordinated_entry: bool


def can_write_household(actor: Actor, facts: HouseholdFacts) -> bool:
    """The household write rule itself (no database): see the module docstring."""
    if actor.organization.victim_service_provider or actor.coc_id != facts.coc_id:
        return False
    if actor.is_admin:
        return True
    org = actor.organization_id
    return (
        org == facts.created_by_organization_id
        or org in facts.enrollment_writers
        or (facts.open_coordinated_entry and actor.organization.is_cas)
    )


async def household_facts(session: AsyncSession, household: Household) -> HouseholdFacts:
    """``HouseholdFacts`` of ``household`` (two queries)."""
    members = select(HouseholdMember.client_id).where(HouseholdMember.household_id == household.id)
    open_rows = (
        await session.execute(
            select(
                Enrollment.id,
                Enrollment.is_coordinated_entry,
                Enrollment.created_by_organization_id,
                Project.organization_id,
            )
            .join(Project, Project.id == Enrollment.project_id)
            .where(
                Enrollment.household_id == household.id,
                Enrollment.exit_date.is_(None),
                Enrollment.client_id.in_(members),
            )
        )
    ).all()
    writers = {row.created_by_organization_id for row in open_rows}
    writers |= {row.organization_id for row in open_rows}
    if open_rows:
        writers |= set(
            (
                await session.scalars(
                    select(CaseAssignment.organization_id).where(
                        CaseAssignment.enrollment_id.in_([row.id for row in open_rows]),
                        CaseAssignment.status == "active",
                    )
                )
            ).all()
        )
    return HouseholdFacts(
        coc_id=household.coc_id,
        created_by_organization_id=household.created_by_organization_id,
        enrollment_writers=frozenset(writers),
        open_coordinated_entry=any(row.is_coordinated_entry for row in open_rows),
    )


async def check_may_write_household(
    session: AsyncSession, actor: Actor, household: Household
) -> None:
    """403 ``household-not-writable`` unless ``actor`` may change the (visible) household."""
    if not can_write_household(actor, await household_facts(session, household)):
        raise HouseholdNotWritable(HOUSEHOLD_NOT_WRITABLE)
