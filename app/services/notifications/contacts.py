"""A housing provider's CAS contact (seed 001: "CAS Contact for each housing provider -- one
user determined by each agency"), who receives its referral notifications by email and in the
inbox: set per organization, and per project where a project's referrals go to someone else.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Actor
from app.errors import Forbidden, ValidationFailed
from app.models import Membership, Organization, Project, User
from app.models.notifications import CasContact
from app.schemas.notifications import CasContactRead
from app.services.notifications import policy
from app.services.platform import audit


async def _own(
    session: AsyncSession, organization_id: uuid.UUID, project_id: uuid.UUID | None
) -> CasContact | None:
    stmt = select(CasContact).where(CasContact.organization_id == organization_id)
    stmt = stmt.where(
        CasContact.project_id == project_id if project_id else CasContact.project_id.is_(None)
    )
    return await session.scalar(stmt)


async def read_contact(
    session: AsyncSession, organization: Organization, project: Project | None = None
) -> CasContactRead:
    here = await _own(session, organization.id, project.id if project else None)
    effective = here
    if effective is None and project is not None:
        effective = await _own(session, organization.id, None)
    return CasContactRead(
        organization_id=organization.id,
        project_id=project.id if project else None,
        user_id=here.user_id if here else None,
        effective_user_id=effective.user_id if effective else None,
    )


def _check_may_set(actor: Actor, organization: Organization) -> None:
    if not policy.can_set_cas_contact(actor, organization.id):
        raise Forbidden(
            "You set the CAS contact of your own organization only (system and CAS admins: any "
            "organization of the CoC)."
        )


async def set_contact(
    session: AsyncSession,
    actor: Actor,
    organization: Organization,
    project: Project | None,
    user_id: uuid.UUID,
) -> CasContactRead:
    _check_may_set(actor, organization)
    member = await session.scalar(
        select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.user_id == user_id,
            Membership.organization_id == organization.id,
            User.is_active,
        )
    )
    if member is None:
        raise ValidationFailed(
            "No such user among the organization's active members.", field="user_id"
        )
    project_id = project.id if project else None
    contact = await _own(session, organization.id, project_id)
    if contact is None:
        contact = CasContact(
            coc_id=organization.coc_id,
            organization_id=organization.id,
            project_id=project_id,
            user_id=user_id,
            set_by_user_id=actor.user_id,
        )
        session.add(contact)
    else:
        contact.user_id = user_id
        contact.set_by_user_id = actor.user_id
    await session.flush()
    audit.record(
        session,
        actor,
        "cas_contact.set",
        "organization" if project is None else "project",
        project_id or organization.id,
        {"user_id": str(user_id)},
    )
    return await read_contact(session, organization, project)


async def clear_contact(
    session: AsyncSession, actor: Actor, organization: Organization, project: Project | None
) -> None:
    _check_may_set(actor, organization)
    contact = await _own(session, organization.id, project.id if project else None)
    if contact is None:
        return
    await session.delete(contact)
    await session.flush()
    audit.record(
        session,
        actor,
        "cas_contact.clear",
        "organization" if project is None else "project",
        project.id if project else organization.id,
    )
