from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query, Response, status

from app.context import Actor
from app.deps import CurrentActor, IfMatch, Session, require
from app.http.contract import ETAG, Visibility, documented
from app.http.etag import check_if_match, set_etag
from app.http.pagination import Pages
from app.permissions import Permission
from app.routers import api_router
from app.schemas.codes import ProjectType
from app.schemas.common import problems
from app.schemas.organizations import (
    AccessPointApproval,
    CocCreate,
    CocRead,
    CocUpdate,
    OrganizationCreate,
    OrganizationRead,
    OrganizationUpdate,
    OrgKind,
    ProjectCreate,
    ProjectRead,
    ProjectUpdate,
)
from app.schemas.pagination import Page
from app.services.identity import organizations as svc

cocs = api_router("/cocs", "organizations")
organizations = api_router("/organizations", "organizations")
projects = api_router("/projects", "organizations")

ManageCocs = Annotated[Actor, Depends(require(Permission.COCS_MANAGE))]
ManageOrgs = Annotated[Actor, Depends(require(Permission.ORGANIZATIONS_MANAGE))]
ApproveAccessPoints = Annotated[Actor, Depends(require(Permission.ACCESS_POINTS_APPROVE))]
WRITE_PROBLEMS = problems(403, 409)
PROJECT_MANAGERS = (
    "`projects:manage` (system admins, any organization) or `projects:manage_own` (CAS and "
    "agency admins, their own organization's projects)."
)


# --- CoCs ---------------------------------------------------------------------------------------


@cocs.post(
    "",
    name="cocs_create",
    summary="Create a Continuum of Care",
    status_code=status.HTTP_201_CREATED,
    response_model=CocRead,
    openapi_extra=documented(
        "A new CoC; you become a system admin of its HMIS lead organization.",
        sends=(ETAG,),
        idempotent=True,
    ),
    responses=problems(409),
)
async def create_coc(
    body: CocCreate, actor: ManageCocs, session: Session, response: Response
) -> svc.Coc:
    """Create a Continuum of Care with its HMIS lead organization (you become its admin)."""
    coc = await svc.create_coc(
        session,
        actor,
        code=body.code,
        name=body.name,
        hmis_lead_name=body.hmis_lead_name,
        time_zone=body.time_zone,
    )
    set_etag(response, coc.version)
    return coc


@cocs.get(
    "",
    name="cocs_list",
    summary="List your Continuums of Care",
    response_model=Page[CocRead],
    openapi_extra=documented("The CoCs in which you have a membership."),
)
async def list_cocs(actor: CurrentActor, session: Session, page: Pages) -> dict[str, object]:
    """Continuums of Care you have a membership in."""
    return (await svc.list_cocs(session, actor, page)).body()


@cocs.get(
    "/{coc_id}",
    name="cocs_get",
    summary="Read a Continuum of Care",
    response_model=CocRead,
    openapi_extra=documented(
        "A CoC in which you have a membership; others answer 404.", sends=(ETAG,)
    ),
)
async def get_coc(
    coc_id: uuid.UUID, actor: CurrentActor, session: Session, response: Response
) -> svc.Coc:
    """The CoC's code, name and time zone."""
    coc = await svc.get_coc(session, actor, coc_id)
    set_etag(response, coc.version)
    return coc


@cocs.patch(
    "/{coc_id}",
    name="cocs_update",
    summary="Update a Continuum of Care",
    response_model=CocRead,
    responses=WRITE_PROBLEMS,
    openapi_extra=documented(
        "A CoC in which you have a membership (others 404); changed by acting for one of its "
        "organizations (403 otherwise).",
        sends=(ETAG,),
    ),
)
async def update_coc(
    coc_id: uuid.UUID,
    body: CocUpdate,
    actor: ManageCocs,
    session: Session,
    if_match: IfMatch,
    response: Response,
) -> svc.Coc:
    """Rename the CoC or change its time zone (system admins acting for one of its
    organizations). The time zone decides the CoC's "today" from the next request on."""
    coc = await svc.get_coc(session, actor, coc_id)
    check_if_match(if_match, coc.version)
    coc = await svc.update_coc(session, actor, coc, body)
    set_etag(response, coc.version)
    return coc


# --- organizations ------------------------------------------------------------------------------


@organizations.post(
    "",
    name="organizations_create",
    summary="Create an organization",
    status_code=status.HTTP_201_CREATED,
    response_model=OrganizationRead,
    openapi_extra=documented(Visibility.COC, sends=(ETAG,), idempotent=True),
    responses=problems(409),
)
async def create_organization(
    body: OrganizationCreate, actor: ManageOrgs, session: Session, response: Response
) -> svc.Organization:
    """Create an organization in the acting CoC (system admins)."""
    org = await svc.create_organization(session, actor, body)
    set_etag(response, org.version)
    return org


@organizations.get(
    "",
    name="organizations_list",
    summary="List organizations",
    response_model=Page[OrganizationRead],
    openapi_extra=documented(Visibility.COC),
)
async def list_organizations(
    actor: CurrentActor,
    session: Session,
    page: Pages,
    kind: Annotated[OrgKind | None, Query()] = None,
    housing_provider: bool | None = None,
    access_point: bool | None = None,
) -> dict[str, object]:
    """Organizations of the acting CoC."""
    orgs = await svc.list_organizations(
        session,
        actor,
        page,
        kind=kind,
        housing_provider=housing_provider,
        access_point=access_point,
    )
    return orgs.body()


@organizations.get(
    "/{organization_id}",
    name="organizations_get",
    summary="Read an organization",
    response_model=OrganizationRead,
    openapi_extra=documented(Visibility.COC, sends=(ETAG,)),
)
async def get_organization(
    organization_id: uuid.UUID, actor: CurrentActor, session: Session, response: Response
) -> svc.Organization:
    """The organization and its flags (access point, housing provider, ...)."""
    org = await svc.get_organization(session, actor, organization_id)
    set_etag(response, org.version)
    return org


@organizations.patch(
    "/{organization_id}",
    name="organizations_update",
    summary="Update an organization",
    response_model=OrganizationRead,
    responses=WRITE_PROBLEMS,
    openapi_extra=documented(Visibility.COC, sends=(ETAG,)),
)
async def update_organization(
    organization_id: uuid.UUID,
    body: OrganizationUpdate,
    actor: ManageOrgs,
    session: Session,
    if_match: IfMatch,
    response: Response,
) -> svc.Organization:
    """Rename the organization, change its flags or deactivate it (system admins). A provider
    with matches in progress is not deactivated (409 listing them in `match_ids`)."""
    org = await svc.get_organization(session, actor, organization_id)
    check_if_match(if_match, org.version)
    org = await svc.update_organization(session, actor, org, body)
    set_etag(response, org.version)
    return org


@organizations.put(
    "/{organization_id}/access-point",
    name="organizations_set_access_point",
    summary="Approve an Access Point",
    response_model=OrganizationRead,
    responses=WRITE_PROBLEMS,
    openapi_extra=documented(Visibility.COC, sends=(ETAG,)),
)
async def set_access_point(
    organization_id: uuid.UUID,
    body: AccessPointApproval,
    actor: ApproveAccessPoints,
    session: Session,
    if_match: IfMatch,
    response: Response,
) -> svc.Organization:
    """Approve an organization as an Access Point (or withdraw it): only approved Access Points
    run `POST /cas/intakes`. CAS and system admins (seed 000: the Director of CAS approves
    them); a victim service provider cannot be one (422)."""
    org = await svc.get_organization(session, actor, organization_id)
    check_if_match(if_match, org.version)
    org = await svc.set_access_point(session, actor, org, body.access_point)
    set_etag(response, org.version)
    return org


# --- projects -----------------------------------------------------------------------------------


@projects.post(
    "",
    name="projects_create",
    summary="Create a project",
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectRead,
    openapi_extra=documented(
        Visibility.COC, sends=(ETAG,), permission=PROJECT_MANAGERS, idempotent=True
    ),
    responses=problems(403, 404, 409),  # 404: an organization you cannot see
)
async def create_project(
    body: ProjectCreate, actor: CurrentActor, session: Session, response: Response
) -> svc.Project:
    """System admins create projects for any organization; agency and CAS admins for their own."""
    project = await svc.create_project(session, actor, body)
    set_etag(response, project.version)
    return project


@projects.get(
    "",
    name="projects_list",
    summary="List projects",
    response_model=Page[ProjectRead],
    openapi_extra=documented(Visibility.COC),
)
async def list_projects(
    actor: CurrentActor,
    session: Session,
    page: Pages,
    organization_id: uuid.UUID | None = None,
    project_type: Annotated[ProjectType | None, Query()] = None,
) -> dict[str, object]:
    """Projects of the acting CoC, optionally of one organization or HUD project type."""
    found = await svc.list_projects(
        session, actor, page, organization_id=organization_id, project_type=project_type
    )
    return found.body()


@projects.get(
    "/{project_id}",
    name="projects_get",
    summary="Read a project",
    response_model=ProjectRead,
    openapi_extra=documented(Visibility.COC, sends=(ETAG,)),
)
async def get_project(
    project_id: uuid.UUID, actor: CurrentActor, session: Session, response: Response
) -> svc.Project:
    """The project: HUD project type, funder, operating dates, referrals through CAS."""
    project = await svc.get_project(session, actor, project_id)
    set_etag(response, project.version)
    return project


@projects.patch(
    "/{project_id}",
    name="projects_update",
    summary="Update a project",
    response_model=ProjectRead,
    responses=problems(403, 409),
    openapi_extra=documented(Visibility.COC, sends=(ETAG,), permission=PROJECT_MANAGERS),
)
async def update_project(
    project_id: uuid.UUID,
    body: ProjectUpdate,
    actor: CurrentActor,
    session: Session,
    if_match: IfMatch,
    response: Response,
) -> svc.Project:
    """Change the project's name, type, funder, dates or CAS referral rule."""
    project = await svc.get_project(session, actor, project_id)
    check_if_match(if_match, project.version)
    project = await svc.update_project(session, actor, project, body)
    set_etag(response, project.version)
    return project
