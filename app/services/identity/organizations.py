"""Continuums of Care, organizations and projects. Reads are scoped to the actor's CoC."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.clock import DEFAULT_TIME_ZONE
from app.context import Actor
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.models import Coc, Membership, Organization, Project
from app.models.enrollments import Enrollment
from app.models.matching import Match, Unit
from app.models.scoping import ALL_COCS
from app.permissions import Role
from app.reference import PROJECT_TYPE_CE
from app.reference.matching import ACTIVE_MATCH_STATUSES, RESIDENTIAL_PROJECT_TYPES
from app.schemas.organizations import (
    CocUpdate,
    OrganizationCreate,
    OrganizationUpdate,
    ProjectCreate,
    ProjectUpdate,
)
from app.schemas.pagination import PageParams
from app.services.identity.policy import (
    can_change_coc,
    can_manage_ce_projects,
    can_manage_projects_of,
)
from app.services.platform import audit
from app.services.platform.pagination import PageOf, paginate


def _fields(obj: Any, names: list[str]) -> dict[str, Any]:
    return {n: getattr(obj, n) for n in names}


def apply_changes(obj: Any, changes: dict[str, Any]) -> dict[str, Any]:
    """Set attributes; return ``{field: {old, new}}`` for the audit trail."""
    before = _fields(obj, list(changes))
    for k, v in changes.items():
        setattr(obj, k, v)
    return audit.diff(before, changes)


# --- CoCs ---------------------------------------------------------------------------------------


def visible_cocs_stmt(actor: Actor) -> Select[Coc]:
    member_cocs = (
        select(Organization.coc_id)
        .join(Membership, Membership.organization_id == Organization.id)
        .where(Membership.user_id == actor.user_id)
    )
    # The user's memberships in every CoC (not only the one they act in now).
    return select(Coc).where(Coc.id.in_(member_cocs)).execution_options(**ALL_COCS)


async def list_cocs(session: AsyncSession, actor: Actor, page: PageParams) -> PageOf[Coc]:
    """The CoCs the actor has a membership in, by code."""
    return await paginate(session, visible_cocs_stmt(actor), page, [Coc.code, Coc.id])


async def get_coc(session: AsyncSession, actor: Actor, coc_id: uuid.UUID) -> Coc:
    coc = await session.scalar(visible_cocs_stmt(actor).where(Coc.id == coc_id))
    if coc is None:
        raise NotFound("No such Continuum of Care.")
    return coc


async def create_coc(
    session: AsyncSession,
    actor: Actor,
    *,
    code: str,
    name: str,
    hmis_lead_name: str,
    time_zone: str = DEFAULT_TIME_ZONE,
) -> Coc:
    """A new CoC comes with its HMIS lead organization; the creator administers it."""
    if await session.scalar(select(Coc.id).where(Coc.code == code)):
        raise Conflict(
            f"A Continuum of Care with code {code} already exists.",
            errors=[{"loc": ["body", "code"], "msg": "already exists", "type": "unique"}],
        )
    coc = Coc(code=code, name=name, time_zone=time_zone)
    session.add(coc)
    await session.flush()
    lead = Organization(coc_id=coc.id, name=hmis_lead_name, kind="hmis_lead")
    session.add(lead)
    await session.flush()
    session.add(
        Membership(
            coc_id=coc.id,
            user_id=actor.user_id,
            organization_id=lead.id,
            role=Role.SYSTEM_ADMIN.value,
        )
    )
    audit.record(
        session,
        actor,
        "coc.create",
        "coc",
        coc.id,
        {"code": code, "name": name, "time_zone": time_zone},
        coc_id=coc.id,
    )
    await session.flush()
    return coc


async def update_coc(session: AsyncSession, actor: Actor, coc: Coc, data: CocUpdate) -> Coc:
    """Change the fields ``data`` sets."""
    changes = data.model_dump(exclude_unset=True)
    if not can_change_coc(actor, coc.id):
        raise Forbidden("Act for an organization of this CoC to change it.")
    diff = apply_changes(coc, changes)
    audit.record(session, actor, "coc.update", "coc", coc.id, diff, coc_id=coc.id)
    await session.flush()
    return coc


# --- organizations ------------------------------------------------------------------------------


def visible_organizations_stmt(
    actor: Actor,
    *,
    kind: str | None = None,
    housing_provider: bool | None = None,
    access_point: bool | None = None,
) -> Select[Organization]:
    stmt = select(Organization).where(Organization.coc_id == actor.coc_id)
    if kind is not None:
        stmt = stmt.where(Organization.kind == kind)
    if housing_provider is not None:
        stmt = stmt.where(Organization.housing_provider == housing_provider)
    if access_point is not None:
        stmt = stmt.where(Organization.access_point == access_point)
    return stmt


async def list_organizations(
    session: AsyncSession,
    actor: Actor,
    page: PageParams,
    *,
    kind: str | None = None,
    housing_provider: bool | None = None,
    access_point: bool | None = None,
) -> PageOf[Organization]:
    """The acting CoC's organizations, by name."""
    stmt = visible_organizations_stmt(
        actor, kind=kind, housing_provider=housing_provider, access_point=access_point
    )
    return await paginate(session, stmt, page, [Organization.name, Organization.id])


async def get_organization(
    session: AsyncSession, actor: Actor, organization_id: uuid.UUID
) -> Organization:
    org = await session.scalar(
        visible_organizations_stmt(actor).where(Organization.id == organization_id)
    )
    if org is None:
        raise NotFound("No such organization.")
    return org


def _check_org_kind(kind: str, victim_service_provider: bool, access_point: bool = False) -> None:
    if kind == "cas" and victim_service_provider:
        raise ValidationFailed(
            "The shared CAS organization cannot be a victim service provider.",
            field="victim_service_provider",
        )
    if access_point and victim_service_provider:
        raise ValidationFailed(
            "A victim service provider cannot be an Access Point: it may not hold identifiable "
            "client data in HMIS.",
            field="access_point",
        )


async def create_organization(
    session: AsyncSession, actor: Actor, body: OrganizationCreate
) -> Organization:
    data = body.model_dump()
    _check_org_kind(body.kind, body.victim_service_provider, body.access_point)
    if body.kind == "cas" and await session.scalar(
        select(Organization.id).where(
            Organization.coc_id == actor.coc_id, Organization.kind == "cas"
        )
    ):
        raise Conflict(
            "This CoC already has its shared CAS organization.",
            errors=[{"loc": ["body", "kind"], "msg": "already exists", "type": "unique"}],
        )
    org = Organization(coc_id=actor.coc_id, **data)
    session.add(org)
    await session.flush()
    audit.record(session, actor, "organization.create", "organization", org.id, data)
    return org


async def _check_no_active_matches(session: AsyncSession, org: Organization) -> None:
    """A provider with matches in progress (sent, accepted, EHV) is not deactivated: nobody
    there could respond to them. 409 naming ``is_active`` and the matches (``match_ids``); the
    CAS admin cancels them (or they end) first. The organization row is locked first
    (``FOR NO KEY UPDATE``, against the ``FOR SHARE`` a new match takes on it), so a match sent
    at the same moment is either seen here or refused as sent to a deactivated organization."""
    await session.execute(
        select(Organization.id).where(Organization.id == org.id).with_for_update(key_share=True)
    )
    active = [
        str(i)
        for i in await session.scalars(
            select(Match.id)
            .join(Project, Project.id == Match.project_id)
            .where(Project.organization_id == org.id, Match.status.in_(ACTIVE_MATCH_STATUSES))
            .order_by(Match.created_at, Match.id)
        )
    ]
    if active:
        msg = (
            f"The organization has {len(active)} active match(es) (sent, accepted or EHV): the "
            "CAS admin cancels them, or they end, before it is deactivated."
        )
        raise Conflict(
            msg,
            errors=[{"loc": ["body", "is_active"], "msg": msg, "type": "active_matches"}],
            extra={"match_ids": active},
        )


async def update_organization(
    session: AsyncSession, actor: Actor, org: Organization, data: OrganizationUpdate
) -> Organization:
    changes = data.model_dump(exclude_unset=True)
    _check_org_kind(
        org.kind,
        changes.get("victim_service_provider", org.victim_service_provider),
        changes.get("access_point", org.access_point),
    )
    if changes.get("is_active") is False and org.is_active:
        await _check_no_active_matches(session, org)
    diff = apply_changes(org, changes)
    await session.flush()
    audit.record(session, actor, "organization.update", "organization", org.id, diff)
    return org


async def set_access_point(
    session: AsyncSession, actor: Actor, org: Organization, approved: bool
) -> Organization:
    """Approve an organization as an Access Point, or withdraw the approval (seed 000: the
    Director of CAS approves Access Points): CAS and system admins of its CoC."""
    _check_org_kind(org.kind, org.victim_service_provider, approved)
    diff = apply_changes(org, {"access_point": approved})
    await session.flush()
    audit.record(session, actor, "organization.access_point", "organization", org.id, diff)
    return org


# --- projects -----------------------------------------------------------------------------------


def visible_projects_stmt(
    actor: Actor,
    *,
    organization_id: uuid.UUID | None = None,
    project_type: int | None = None,
) -> Select[Project]:
    stmt = select(Project).join(Project.organization).where(Organization.coc_id == actor.coc_id)
    if organization_id is not None:
        stmt = stmt.where(Project.organization_id == organization_id)
    if project_type is not None:
        stmt = stmt.where(Project.project_type == project_type)
    return stmt


async def list_projects(
    session: AsyncSession,
    actor: Actor,
    page: PageParams,
    *,
    organization_id: uuid.UUID | None = None,
    project_type: int | None = None,
) -> PageOf[Project]:
    """The acting CoC's projects, by name."""
    stmt = visible_projects_stmt(actor, organization_id=organization_id, project_type=project_type)
    return await paginate(session, stmt, page, [Project.name, Project.id])


async def get_project(session: AsyncSession, actor: Actor, project_id: uuid.UUID) -> Project:
    project = await session.scalar(visible_projects_stmt(actor).where(Project.id == project_id))
    if project is None:
        raise NotFound("No such project.")
    return project


def _check_may_manage_projects_of(actor: Actor, organization_id: uuid.UUID) -> None:
    if can_manage_projects_of(actor, organization_id):
        return
    raise Forbidden("You may only manage the projects of your own organization.")


def _check_ce_project(
    actor: Actor, org: Organization, current_type: int | None, new_type: int | None
) -> None:
    """Coordinated Entry projects: owned by the CAS organization (422), created or changed by
    system and CAS admins only (403)."""
    if PROJECT_TYPE_CE not in (current_type, new_type):
        return
    if new_type == PROJECT_TYPE_CE and org.kind != "cas":
        raise ValidationFailed(
            "Coordinated Entry projects (ProjectType 14) belong to the CoC's CAS organization.",
            field="project_type",
        )
    if not can_manage_ce_projects(actor):
        raise Forbidden(
            "Coordinated Entry projects (ProjectType 14) are created and changed by system and "
            "CAS admins only."
        )


def _check_project_dates(data: dict[str, Any]) -> None:
    start, end = data.get("operating_start_date"), data.get("operating_end_date")
    if start and end and end < start:
        raise ValidationFailed(
            "The operating end date is before the start date.", field="operating_end_date"
        )


async def create_project(session: AsyncSession, actor: Actor, body: ProjectCreate) -> Project:
    data = body.model_dump()
    org = await get_organization(session, actor, body.organization_id)
    _check_may_manage_projects_of(actor, org.id)
    _check_ce_project(actor, org, None, body.project_type)
    _check_project_dates(data)
    project = Project(**data)
    session.add(project)
    await session.flush()
    audit.record(session, actor, "project.create", "project", project.id, data)
    return project


async def _check_period_holds_entries(
    session: AsyncSession, project: Project, period: dict[str, Any]
) -> None:
    """HUD 2.03: the operating period holds every (not voided) entry of the project: a start
    after the first entry, or an end before the last, is a 422 naming the date."""
    first, last = (
        await session.execute(
            select(func.min(Enrollment.entry_date), func.max(Enrollment.entry_date)).where(
                Enrollment.project_id == project.id, Enrollment.voided_at.is_(None)
            )
        )
    ).one()
    start, end = period["operating_start_date"], period["operating_end_date"]
    if first is not None and first < start:
        raise ValidationFailed(
            f"The project has an enrollment entered on {first}, before this operating start date.",
            field="operating_start_date",
        )
    if end is not None and last is not None and last > end:
        raise ValidationFailed(
            f"The project has an enrollment entered on {last}, after this operating end date.",
            field="operating_end_date",
        )


async def update_project(
    session: AsyncSession, actor: Actor, project: Project, data: ProjectUpdate
) -> Project:
    changes = data.model_dump(exclude_unset=True)
    if changes.get("project_type", 0) is None:
        changes.pop("project_type")  # the project type is required: null leaves it as it is
    _check_may_manage_projects_of(actor, project.organization_id)
    _check_ce_project(
        actor,
        await get_organization(session, actor, project.organization_id),
        project.project_type,
        changes.get("project_type", project.project_type),
    )
    new_type = changes.get("project_type", project.project_type)
    period = {
        "operating_start_date": changes.get("operating_start_date", project.operating_start_date),
        "operating_end_date": changes.get("operating_end_date", project.operating_end_date),
    }
    _check_project_dates(period)
    retyped = new_type != project.project_type and new_type not in RESIDENTIAL_PROJECT_TYPES
    if retyped or changes.keys() & period.keys():
        # FOR NO KEY UPDATE conflicts with the FOR SHARE an enrollment (before checking its
        # entry date) and a new unit (before checking the project type) take: a shrink and a
        # new (or moved) entry, or a type without units and a new unit, cannot both pass their
        # checks. (The version check at flush still catches a concurrent change of the project.)
        await session.execute(
            select(Project.id).where(Project.id == project.id).with_for_update(key_share=True)
        )
    if retyped:
        unit = await session.scalar(select(Unit.id).where(Unit.project_id == project.id).limit(1))
        if unit is not None:
            raise ValidationFailed(
                f"The project has units: HUD 2.02.6 project type {new_type} has no beds or "
                "units (units belong to ES, TH, SH and PH projects).",
                field="project_type",
            )
    if changes.keys() & period.keys():
        await _check_period_holds_entries(session, project, period)
    diff = apply_changes(project, changes)
    await session.flush()
    audit.record(session, actor, "project.update", "project", project.id, diff)
    return project


async def ce_project_for(session: AsyncSession, coc_id: uuid.UUID) -> Project | None:
    """The CoC's Coordinated Entry project (ProjectType 14) of its shared CAS organization."""
    return await session.scalar(
        select(Project)
        .join(Project.organization)
        .where(
            Organization.coc_id == coc_id,
            Organization.kind == "cas",
            Project.project_type == PROJECT_TYPE_CE,
        )
        .order_by(Project.created_at)
        .limit(1)
    )
