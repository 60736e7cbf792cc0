from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import Depends, Query, Response, status

from app.context import Actor
from app.deps import CurrentActor, IfMatch, Session, require
from app.http.etag import check_if_match, set_etag
from app.http.pagination import Pages
from app.http.uow import idempotent
from app.permissions import Permission
from app.routers import api_router
from app.schemas.common import problems
from app.schemas.organizations import (
    AccessPointApproval,
    CocCreate,
    CocRead,
    CocUpdate,
    OrganizationCreate,
    OrganizationRead,
    OrganizationUpdate,
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
WRITE_PROBLEMS = problems(409, 412)


# --- CoCs ---------------------------------------------------------------------------------------


@cocs.post(
    "",
    name="cocs_create",
    status_code=status.HTTP_201_CREATED,
    response_model=CocRead,
    openapi_extra=idempotent(),
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


@cocs.get("", name="cocs_list", response_model=Page[CocRead])
async def list_cocs(actor: CurrentActor, session: Session, page: Pages) -> dict[str, object]:
    """Continuums of Care you have a membership in."""
    return (await svc.list_cocs(session, actor, page)).body()


@cocs.get("/{coc_id}", name="cocs_get", response_model=CocRead)
async def get_coc(
    coc_id: uuid.UUID, actor: CurrentActor, session: Session, response: Response
) -> svc.Coc:
    coc = await svc.get_coc(session, actor, coc_id)
    set_etag(response, coc.version)
    return coc


@cocs.patch("/{coc_id}", name="cocs_update", response_model=CocRead, responses=WRITE_PROBLEMS)
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
    status_code=status.HTTP_201_CREATED,
    response_model=OrganizationRead,
    openapi_extra=idempotent(),
    responses=problems(409),
)
async def create_organization(
    body: OrganizationCreate, actor: ManageOrgs, session: Session, response: Response
) -> svc.Organization:
    """Create an organization in the acting CoC (system admins)."""
    org = await svc.create_organization(session, actor, body)
    set_etag(response, org.version)
    return org


@organizations.get("", name="organizations_list", response_model=Page[OrganizationRead])
async def list_organizations(
    actor: CurrentActor,
    session: Session,
    page: Pages,
    kind: Annotated[Literal["hmis_lead", "agency", "cas"] | None, Query()] = None,
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


@organizations.get("/{organization_id}", name="organizations_get", response_model=OrganizationRead)
async def get_organization(
    organization_id: uuid.UUID, actor: CurrentActor, session: Session, response: Response
) -> svc.Organization:
    org = await svc.get_organization(session, actor, organization_id)
    set_etag(response, org.version)
    return org


@organizations.patch(
    "/{organization_id}",
    name="organizations_update",
    response_model=OrganizationRead,
    responses=WRITE_PROBLEMS,
)
async def update_organization(
    organization_id: uuid.UUID,
    body: OrganizationUpdate,
    actor: ManageOrgs,
    session: Session,
    if_match: IfMatch,
    response: Response,
) -> svc.Organization:
    org = await svc.get_organization(session, actor, organization_id)
    check_if_match(if_match, org.version)
    org = await svc.update_organization(session, actor, org, body)
    set_etag(response, org.version)
    return org


@organizations.put(
    "/{organization_id}/access-point",
    name="organizations_set_access_point",
    response_model=OrganizationRead,
    responses=WRITE_PROBLEMS,
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
    status_code=status.HTTP_201_CREATED,
    response_model=ProjectRead,
    openapi_extra=idempotent(),
    responses=problems(409),
)
async def create_project(
    body: ProjectCreate, actor: CurrentActor, session: Session, response: Response
) -> svc.Project:
    """System admins create projects for any organization; agency and CAS admins for their own."""
    project = await svc.create_project(session, actor, body)
    set_etag(response, project.version)
    return project


@projects.get("", name="projects_list", response_model=Page[ProjectRead])
async def list_projects(
    actor: CurrentActor,
    session: Session,
    page: Pages,
    organization_id: uuid.UUID | None = None,
    project_type: Annotated[int | None, Query(ge=0, le=99)] = None,
) -> dict[str, object]:
    found = await svc.list_projects(
        session, actor, page, organization_id=organization_id, project_type=project_type
    )
    return found.body()


@projects.get("/{project_id}", name="projects_get", response_model=ProjectRead)
async def get_project(
    project_id: uuid.UUID, actor: CurrentActor, session: Session, response: Response
) -> svc.Project:
    project = await svc.get_project(session, actor, project_id)
    set_etag(response, project.version)
    return project


@projects.patch(
    "/{project_id}", name="projects_update", response_model=ProjectRead, responses=WRITE_PROBLEMS
)
async def update_project(
    project_id: uuid.UUID,
    body: ProjectUpdate,
    actor: CurrentActor,
    session: Session,
    if_match: IfMatch,
    response: Response,
) -> svc.Project:
    project = await svc.get_project(session, actor, project_id)
    check_if_match(if_match, project.version)
    project = await svc.update_project(session, actor, project, body)
    set_etag(response, project.version)
    return project
