"""A housing provider's CAS contact: per organization, with a per-project override."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Response, status

from app.context import Actor
from app.deps import Session, require
from app.http.contract import documented
from app.permissions import Permission
from app.routers import api_router
from app.schemas.notifications import CasContactRead, CasContactSet
from app.services.identity import organizations as orgs
from app.services.notifications import contacts as svc

organization_contacts = api_router("/organizations", "cas-contacts")
project_contacts = api_router("/projects", "cas-contacts")

Configurer = Annotated[Actor, Depends(require(Permission.NOTIFICATIONS_CONFIGURE))]

CONTACTS = (
    "Organizations and projects of the CoC you act for (another CoC's answer 404). Setting "
    "or clearing: system and CAS admins for any organization, agency admins for their own "
    "(403 otherwise)."
)


async def organization(
    organization_id: uuid.UUID, actor: Configurer, session: Session
) -> orgs.Organization:
    return await orgs.get_organization(session, actor, organization_id)


async def project(project_id: uuid.UUID, actor: Configurer, session: Session) -> orgs.Project:
    return await orgs.get_project(session, actor, project_id)


Org = Annotated[orgs.Organization, Depends(organization)]
Proj = Annotated[orgs.Project, Depends(project)]


@organization_contacts.get(
    "/{organization_id}/cas-contact",
    name="organizations_cas_contact_get",
    summary="An organization's CAS contact",
    response_model=CasContactRead,
    openapi_extra=documented(CONTACTS),
)
async def get_organization_contact(org: Org, session: Session) -> CasContactRead:
    """Who receives the organization's referral notifications (`user_id` null: nobody yet)."""
    return await svc.read_contact(session, org)


@organization_contacts.put(
    "/{organization_id}/cas-contact",
    name="organizations_cas_contact_set",
    summary="Set an organization's CAS contact",
    response_model=CasContactRead,
    openapi_extra=documented(CONTACTS),
)
async def set_organization_contact(
    body: CasContactSet, org: Org, actor: Configurer, session: Session
) -> CasContactRead:
    """Name the one user (an active member of the organization) who receives its referral
    notifications, by email and in the inbox."""
    return await svc.set_contact(session, actor, org, None, body.user_id)


@organization_contacts.delete(
    "/{organization_id}/cas-contact",
    name="organizations_cas_contact_clear",
    summary="Clear an organization's CAS contact",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    openapi_extra=documented(CONTACTS),
)
async def clear_organization_contact(org: Org, actor: Configurer, session: Session) -> Response:
    """Nobody is the organization's CAS contact any more."""
    await svc.clear_contact(session, actor, org, None)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@project_contacts.get(
    "/{project_id}/cas-contact",
    name="projects_cas_contact_get",
    summary="A project's CAS contact",
    response_model=CasContactRead,
    openapi_extra=documented(CONTACTS),
)
async def get_project_contact(proj: Proj, session: Session) -> CasContactRead:
    """The project's own CAS contact (`user_id`) and who receives its referral notifications
    (`effective_user_id`: its own, else its organization's)."""
    return await svc.read_contact(session, proj.organization, proj)


@project_contacts.put(
    "/{project_id}/cas-contact",
    name="projects_cas_contact_set",
    summary="Set a project's CAS contact",
    response_model=CasContactRead,
    openapi_extra=documented(CONTACTS),
)
async def set_project_contact(
    body: CasContactSet, proj: Proj, actor: Configurer, session: Session
) -> CasContactRead:
    """Referrals to this project notify this user instead of the organization's contact (an
    active member of the project's organization)."""
    return await svc.set_contact(session, actor, proj.organization, proj, body.user_id)


@project_contacts.delete(
    "/{project_id}/cas-contact",
    name="projects_cas_contact_clear",
    summary="Clear a project's CAS contact",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    openapi_extra=documented(CONTACTS),
)
async def clear_project_contact(proj: Proj, actor: Configurer, session: Session) -> Response:
    """The project's referrals notify the organization's contact again."""
    await svc.clear_contact(session, actor, proj.organization, proj)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
