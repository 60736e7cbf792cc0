"""Who receives an event: the audiences of its kind (``kinds.KINDS``), resolved to users, each
kept only if they may see what the event is about.

A recipient is a user receiving through one of their memberships (``organization_id``): the
visibility rules are judged as that user acting for that organization, exactly as a request of
theirs would be (``clients.access``, ``documents.policy``, the kind's own rule). Partner
organizations (webhooks) are judged as the organization itself: its links to clients and the
CoC-wide releases of information, never an admin's view of the whole CoC.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import ActingOrganization, Actor
from app.models import Coc, Membership, Organization, Project, User
from app.models.enrollments import CaseAssignment, Enrollment
from app.models.matching import Match
from app.models.notifications import CasContact
from app.models.platform import NotificationEvent
from app.permissions import Role, permissions_for
from app.reference.notifications import Audience
from app.services.clients import access
from app.services.documents.policy import can_use_document_check
from app.services.notifications.kinds import KindSpec

# Records of Document Check: only the CAS organization and admins may know they exist.
DOCUMENT_CHECK = "document_check"
# Stands in for the user of an organization-level check (webhooks): matches no case assignment.
NOBODY = uuid.UUID(int=0)
ORGANIZATION_ADMIN_ROLES = (Role.AGENCY_ADMIN, Role.SYSTEM_ADMIN, Role.CAS_ADMIN)


@dataclass(frozen=True)
class Recipient:
    user_id: uuid.UUID
    organization_id: uuid.UUID
    email: str


@dataclass(frozen=True)
class _Candidate:
    user_id: uuid.UUID
    organization_id: uuid.UUID
    role: str


def _acting(org: Organization, time_zone: str) -> ActingOrganization:
    return ActingOrganization(
        id=org.id,
        coc_id=org.coc_id,
        name=org.name,
        kind=org.kind,
        victim_service_provider=org.victim_service_provider,
        access_point=org.access_point,
        housing_provider=org.housing_provider,
        veteran_services=org.veteran_services,
        time_zone=time_zone,
    )


def actor_for(user: User, org: Organization, role: str, time_zone: str) -> Actor:
    """The user acting for ``org`` in ``role``, as a request of theirs would be."""
    member_role = Role(role)
    return Actor(
        user_id=user.id,
        email=user.email,
        full_name=user.full_name,
        organization=_acting(org, time_zone),
        role=member_role,
        permissions=permissions_for(member_role),
        session_id=NOBODY,
    )


def organization_actor(org: Organization, time_zone: str) -> Actor:
    """The organization itself (a partner's webhook): what any of its staff may see through its
    links and releases of information, without an admin's or a case manager's own view."""
    return Actor(
        user_id=NOBODY,
        email="",
        full_name=org.name,
        organization=_acting(org, time_zone),
        role=Role.CASE_MANAGER,
        permissions=permissions_for(Role.CASE_MANAGER),
        session_id=NOBODY,
    )


async def may_see(
    session: AsyncSession, actor: Actor, event: NotificationEvent, spec: KindSpec
) -> bool:
    """Whether ``actor`` may know about ``event``: the client it names, Document Check, and the
    kind's own rule (alone when it covers the client: a change of a match)."""
    about_client = event.client_id is not None
    document_check = event.entity_type == DOCUMENT_CHECK or spec.reveals_document_check
    if actor.organization.victim_service_provider and (about_client or document_check):
        return False
    if document_check and not can_use_document_check(actor):
        return False
    if spec.visible is not None and spec.visible_covers_client:
        return await spec.visible(session, actor, event)
    if event.client_id is not None and not await access.can_see(session, actor, event.client_id):
        return False
    return not (spec.visible is not None and not await spec.visible(session, actor, event))


def _data_uuid(event: NotificationEvent, key: str) -> uuid.UUID | None:
    value = event.data.get(key)
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _members(coc_id: uuid.UUID) -> Select[uuid.UUID, uuid.UUID, str]:
    return (
        select(Membership.user_id, Membership.organization_id, Membership.role)
        .join(Organization, Organization.id == Membership.organization_id)
        .join(User, User.id == Membership.user_id)
        .where(Organization.coc_id == coc_id, Organization.is_active, User.is_active)
        .order_by(Membership.created_at, Membership.id)
    )


async def _candidates(
    session: AsyncSession, event: NotificationEvent, audience: Audience
) -> list[_Candidate]:
    coc = event.coc_id
    if audience == Audience.CAS_ADMINS:
        stmt = _members(coc).where(Membership.role == Role.CAS_ADMIN.value)
    elif audience == Audience.CAS_ORGANIZATION_MEMBERS:
        stmt = _members(coc).where(Organization.kind == "cas")
    elif audience == Audience.CASE_MANAGERS:
        if event.client_id is None:
            return []
        assigned = (
            select(CaseAssignment.user_id, CaseAssignment.organization_id)
            .join(Enrollment, Enrollment.id == CaseAssignment.enrollment_id)
            .where(
                CaseAssignment.client_id == event.client_id,
                CaseAssignment.status == "active",
                Enrollment.voided_at.is_(None),
            )
            .order_by(CaseAssignment.start_date, CaseAssignment.id)
        )
        found: list[_Candidate] = []
        for user_id, assigned_org in (await session.execute(assigned)).all():
            memberships = list(
                (await session.execute(_members(coc).where(Membership.user_id == user_id))).all()
            )
            # Received through the organization the case was assigned in when still a member
            # there, else through the first of their memberships that may see what the event
            # is about (their own cases are theirs in any; Document Check is not).
            memberships.sort(key=lambda m: m.organization_id != assigned_org)
            found.extend(_Candidate(m[0], m[1], m[2]) for m in memberships)
        return found
    elif audience == Audience.PROVIDER_CONTACTS:
        return await _provider_contacts(session, event)
    elif audience == Audience.EHV_CASE_MANAGER:
        return await _ehv_case_manager(session, event)
    elif audience == Audience.ORGANIZATION_ADMINS:
        org_id = _data_uuid(event, "organization_id")
        if org_id is None:
            return []
        stmt = _members(coc).where(
            Membership.organization_id == org_id,
            Membership.role.in_([r.value for r in ORGANIZATION_ADMIN_ROLES]),
        )
    else:  # pragma: no cover - every audience is handled above
        return []
    return [_Candidate(row[0], row[1], row[2]) for row in (await session.execute(stmt)).all()]


async def _provider_contacts(session: AsyncSession, event: NotificationEvent) -> list[_Candidate]:
    """The CAS contact of the event's project (``data.project_id``) if it has its own, else of
    the provider organization (``data.organization_id``, or the project's)."""
    project_id = _data_uuid(event, "project_id")
    org_id = _data_uuid(event, "organization_id")
    contact: CasContact | None = None
    if project_id is not None:
        contact = await session.scalar(
            select(CasContact).where(CasContact.project_id == project_id)
        )
        if org_id is None:
            org_id = await session.scalar(
                select(Project.organization_id).where(Project.id == project_id)
            )
    if contact is None and org_id is not None:
        contact = await session.scalar(
            select(CasContact).where(
                CasContact.organization_id == org_id, CasContact.project_id.is_(None)
            )
        )
    if contact is None:
        return []
    rows = (
        await session.execute(
            _members(event.coc_id).where(
                Membership.user_id == contact.user_id,
                Membership.organization_id == contact.organization_id,
            )
        )
    ).all()
    return [_Candidate(row[0], row[1], row[2]) for row in rows]


async def _ehv_case_manager(session: AsyncSession, event: NotificationEvent) -> list[_Candidate]:
    """The EHV case-manager agency contact assigned to the match the event is about (read from
    the match when the event is delivered: the contact takes over for what follows)."""
    if event.entity_type != "match" or event.entity_id is None:
        return []
    assigned = (
        await session.execute(
            select(Match.ehv_case_manager_user_id, Match.ehv_case_manager_organization_id).where(
                Match.id == event.entity_id, Match.coc_id == event.coc_id
            )
        )
    ).first()
    if assigned is None or assigned[0] is None or assigned[1] is None:
        return []
    rows = (
        await session.execute(
            _members(event.coc_id).where(
                Membership.user_id == assigned[0], Membership.organization_id == assigned[1]
            )
        )
    ).all()
    return [_Candidate(row[0], row[1], row[2]) for row in rows]


def audiences_of(event: NotificationEvent, spec: KindSpec) -> tuple[Audience, ...]:
    """The kind's audiences, narrowed by the event when it names some (``data.audience``: the
    queue names who acts next after a status move); never wider than the kind's."""
    named = event.data.get("audience")
    if not isinstance(named, list):
        return spec.audiences
    return tuple(a for a in spec.audiences if a.value in named)


async def recipients(
    session: AsyncSession, event: NotificationEvent, spec: KindSpec
) -> list[Recipient]:
    """Every user who is to receive ``event`` (each once), in audience order; not the person
    whose action caused it."""
    time_zone = await session.scalar(select(Coc.time_zone).where(Coc.id == event.coc_id))
    chosen: dict[uuid.UUID, Recipient] = {}
    refused: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for audience in audiences_of(event, spec):
        for candidate in await _candidates(session, event, audience):
            key = (candidate.user_id, candidate.organization_id)
            if candidate.user_id in chosen or key in refused:
                continue
            if candidate.user_id == event.actor_user_id:
                continue
            user = await session.get_one(User, candidate.user_id)
            org = await session.get_one(Organization, candidate.organization_id)
            actor = actor_for(user, org, candidate.role, time_zone or "UTC")
            if await may_see(session, actor, event, spec):
                chosen[candidate.user_id] = Recipient(user.id, org.id, user.email)
            else:
                refused.add(key)
    return list(chosen.values())


async def organization_may_see(
    session: AsyncSession, organization_id: uuid.UUID, event: NotificationEvent, spec: KindSpec
) -> bool:
    """Whether a partner organization may be sent ``event`` (webhooks). Events about an
    organization rather than a client (``data.organization_id``) go to that organization only."""
    org = await session.get(Organization, organization_id)
    if org is None or not org.is_active or org.coc_id != event.coc_id:
        return False
    about_org = _data_uuid(event, "organization_id")
    if event.client_id is None and about_org is not None and about_org != organization_id:
        return False
    time_zone = await session.scalar(select(Coc.time_zone).where(Coc.id == event.coc_id))
    return await may_see(session, organization_actor(org, time_zone or "UTC"), event, spec)


def emails_of(recipients_: Sequence[Recipient]) -> list[str]:
    return [r.email for r in recipients_]
