"""Housing inventory (DOMAIN 8): units of a project and the events that move their status,
each project's matching profile (funding sources, referrals through CAS, its own response
policy, eligibility requirements), and the CoC's response policy.

A unit's status is never typed in: check-in / check-out, a reservation (for a client not
referred through CAS) and its release, taking it offline (with a reason) and back online are
events; each writes one ``unit_events`` row and moves ``units.status``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import Conflict, Forbidden, NotFound, ValidationFailed
from app.models import Project
from app.models.matching import (
    Match,
    MatchingPolicy,
    ProjectMatchingProfile,
    ProjectRequirement,
    Unit,
    UnitEvent,
)
from app.reference import PROJECT_TYPE_CE
from app.reference.matching import (
    ACTIVE_MATCH_STATUSES,
    DEFAULT_STALL_AFTER_DAYS,
    DEFAULT_WARN_DAYS_BEFORE,
    EHV_FUNDING_SOURCE,
    REQUIREMENT_PARAMS,
    RESIDENTIAL_PROJECT_TYPES,
    UNIT_EVENTS,
    OfflineReason,
    RequirementKind,
    UnitEventKind,
    UnitStatus,
    referral_event,
)
from app.schemas.matching import (
    MatchingPolicyUpdate,
    MatchingProfileUpdate,
    RequirementIn,
    UnitCreate,
    UnitEventRead,
    UnitRead,
    UnitUpdate,
)
from app.schemas.pagination import PageParams
from app.services.ce import area_ties
from app.services.ce.enrollments import locked_project
from app.services.clients import access as client_access
from app.services.identity import organizations
from app.services.matching import policy
from app.services.platform import audit
from app.services.platform.pagination import PageOf, paginate

__all__ = ["Project", "Unit", "UnitEvent"]


# --- projects -----------------------------------------------------------------------------------


async def housing_project(session: AsyncSession, actor: Actor, project_id: uuid.UUID) -> Project:
    """A project of the acting CoC (404 otherwise) that can hold units: not the CE project."""
    project = await organizations.get_project(session, actor, project_id)
    if project.project_type == PROJECT_TYPE_CE:
        raise NotFound("No such housing project (the Coordinated Entry project has no units).")
    return project


def check_residential(project: Project) -> None:
    """Units (beds, vacancies) belong to residential projects only: a 422 naming the project
    (``project_type`` in the problem) otherwise."""
    if project.project_type in RESIDENTIAL_PROJECT_TYPES:
        return
    kinds = ", ".join(f"{code} {name}" for code, name in RESIDENTIAL_PROJECT_TYPES.items())
    msg = (
        f"The project's type (HUD 2.02.6 project type {project.project_type}) has no beds or "
        f"units; units belong to residential projects: {kinds}."
    )
    raise ValidationFailed(
        msg,
        errors=[{"loc": ["path", "project_id"], "msg": msg, "type": "value_error"}],
        extra={"project_type": project.project_type},
    )


def _check_inventory_writer(actor: Actor, project: Project) -> None:
    if not policy.can_manage_project_inventory(actor, project.organization_id):
        raise Forbidden("Only the project's organization and admins manage its units.")


async def funding_sources(session: AsyncSession, project: Project) -> set[int]:
    """The project's funding sources: its 2.06 source and those of its matching profile."""
    extra = await session.scalar(
        select(ProjectMatchingProfile.funding_sources).where(
            ProjectMatchingProfile.project_id == project.id
        )
    )
    out = set(extra or [])
    if project.funding_source is not None:
        out.add(project.funding_source)
    return out


def is_ehv(sources: set[int]) -> bool:
    return EHV_FUNDING_SOURCE in sources


# --- CoC policy ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyValues:
    stall_after_days: int
    warn_days_before: int
    version: int


async def coc_policy(session: AsyncSession, coc_id: uuid.UUID) -> PolicyValues:
    row = await session.get(MatchingPolicy, coc_id)
    if row is None:
        return PolicyValues(DEFAULT_STALL_AFTER_DAYS, DEFAULT_WARN_DAYS_BEFORE, 0)
    return PolicyValues(row.stall_after_days, row.warn_days_before, row.version)


async def set_coc_policy(
    session: AsyncSession,
    actor: Actor,
    data: MatchingPolicyUpdate,
    version_check: Callable[[int], None],
) -> PolicyValues:
    if data.warn_days_before >= data.stall_after_days:
        raise ValidationFailed(
            "The warning comes before the stall: warn_days_before must be smaller than "
            "stall_after_days.",
            field="warn_days_before",
        )
    row = await session.get(MatchingPolicy, actor.coc_id, with_for_update=True)
    current = row.version if row is not None else 0
    version_check(current)
    if row is None:
        row = MatchingPolicy(coc_id=actor.coc_id)
        session.add(row)
    row.stall_after_days = data.stall_after_days
    row.warn_days_before = data.warn_days_before
    row.updated_by_user_id = actor.user_id
    await session.flush()
    audit.record(session, actor, "matching_policy.update", "coc", actor.coc_id, data.model_dump())
    return PolicyValues(row.stall_after_days, row.warn_days_before, row.version)


# --- matching profiles --------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    project: Project
    funding_sources: list[int]
    stall_after_days: int | None
    effective_stall_after_days: int
    requirements: list[ProjectRequirement]
    active_over_referrals: int
    version: int

    @property
    def ehv(self) -> bool:
        return is_ehv(set(self.funding_sources))

    @property
    def referral_event(self) -> int | None:
        return referral_event(self.project.project_type, set(self.funding_sources))


async def requirements_of(session: AsyncSession, project_id: uuid.UUID) -> list[ProjectRequirement]:
    return list(
        (
            await session.scalars(
                select(ProjectRequirement)
                .where(ProjectRequirement.project_id == project_id)
                .order_by(ProjectRequirement.position, ProjectRequirement.id)
            )
        ).all()
    )


async def profile(session: AsyncSession, actor: Actor, project: Project) -> Profile:
    row = await session.get(ProjectMatchingProfile, project.id)
    coc = await coc_policy(session, project.organization.coc_id)
    over = await session.scalar(
        select(func.count())
        .select_from(Match)
        .where(
            Match.project_id == project.id,
            Match.over_referral,
            Match.status.in_(ACTIVE_MATCH_STATUSES),
        )
    )
    stall = row.stall_after_days if row is not None else None
    return Profile(
        project=project,
        funding_sources=sorted(await funding_sources(session, project)),
        stall_after_days=stall,
        effective_stall_after_days=stall or coc.stall_after_days,
        requirements=await requirements_of(session, project.id),
        active_over_referrals=int(over or 0),
        version=row.version if row is not None else 0,
    )


async def check_requirements(
    session: AsyncSession, actor: Actor, items: Sequence[RequirementIn]
) -> None:
    areas = {code for code, _ in (await area_ties.options(session, actor.coc_id)).areas}
    for i, req in enumerate(items):
        field = f"requirements.{i}"
        needs = REQUIREMENT_PARAMS.get(req.kind, frozenset())
        given = {n for n in ("area", "min_value", "max_value") if getattr(req, n) is not None}
        extra = given - needs
        if extra:
            raise ValidationFailed(
                f"A {req.kind} requirement takes no {', '.join(sorted(extra))}.",
                field=f"{field}.{sorted(extra)[0]}",
            )
        if req.kind == RequirementKind.AREA_TIE and req.area not in areas:
            raise ValidationFailed(
                "An area_tie requirement names an area of the CoC's list "
                "(GET /api/v1/area-tie-options).",
                field=f"{field}.area",
            )
        if req.kind == RequirementKind.INCOME_CEILING and req.max_value is None:
            raise ValidationFailed(
                "An income_ceiling requirement needs max_value (monthly dollars).",
                field=f"{field}.max_value",
            )
        if req.kind == RequirementKind.HOUSEHOLD_SIZE:
            if req.min_value is None and req.max_value is None:
                raise ValidationFailed(
                    "A household_size requirement needs min_value, max_value or both.",
                    field=f"{field}.min_value",
                )
            if (
                req.min_value is not None
                and req.max_value is not None
                and req.min_value > req.max_value
            ):
                raise ValidationFailed(
                    "min_value is larger than max_value.", field=f"{field}.min_value"
                )


async def replace_profile(
    session: AsyncSession,
    actor: Actor,
    project: Project,
    data: MatchingProfileUpdate,
    version_check: Callable[[int], None],
) -> Profile:
    if not policy.can_configure_project(actor, project.organization_id):
        raise Forbidden("Only the project's organization and admins configure its matching.")
    await check_requirements(session, actor, data.requirements)
    if len(set(data.funding_sources)) != len(data.funding_sources):
        raise ValidationFailed("Each funding source may be listed once.", field="funding_sources")
    row = await session.get(ProjectMatchingProfile, project.id, with_for_update=True)
    version_check(row.version if row is not None else 0)
    if row is None:
        row = ProjectMatchingProfile(project_id=project.id, coc_id=actor.coc_id)
        session.add(row)
    row.funding_sources = list(data.funding_sources)
    row.stall_after_days = data.stall_after_days
    row.updated_by_user_id = actor.user_id
    row.updated_at = clock.now()
    project.referrals_through_cas = data.referrals_through_cas
    await session.execute(
        delete(ProjectRequirement).where(ProjectRequirement.project_id == project.id)
    )
    for position, req in enumerate(data.requirements):
        session.add(
            ProjectRequirement(
                coc_id=actor.coc_id,
                project_id=project.id,
                position=position,
                kind=req.kind.value,
                polarity=req.polarity.value,
                area=req.area,
                min_value=req.min_value,
                max_value=req.max_value,
            )
        )
    await session.flush()
    audit.record(
        session,
        actor,
        "project.matching_profile",
        "project",
        project.id,
        {
            "funding_sources": list(data.funding_sources),
            "referrals_through_cas": data.referrals_through_cas,
            "stall_after_days": data.stall_after_days,
            "requirements": [r.model_dump(mode="json") for r in data.requirements],
        },
    )
    return await profile(session, actor, project)


# --- units --------------------------------------------------------------------------------------


async def unit_reads(
    session: AsyncSession, actor: Actor, units: Sequence[Unit], project: Project | None = None
) -> list[UnitRead]:
    """Units as read: the active match of each; the occupant for the project's organization
    and admins only."""
    active = await active_match_ids(session, [u.id for u in units])
    out = []
    for unit in units:
        proj = project if project is not None else await unit_project(session, unit)
        read = UnitRead.model_validate(
            {
                **{k: getattr(unit, k) for k in UnitRead.model_fields if hasattr(unit, k)},
                "active_match_id": active.get(unit.id),
            }
        )
        if not shows_occupant(actor, proj):
            read.occupant_client_id = None
        out.append(read)
    return out


async def list_units(
    session: AsyncSession, actor: Actor, project: Project, page: PageParams
) -> PageOf[UnitRead]:
    stmt = select(Unit).where(Unit.project_id == project.id, Unit.coc_id == actor.coc_id)
    result = await paginate(session, stmt, page, [Unit.label, Unit.id])
    return PageOf(await unit_reads(session, actor, result.items, project), result.next_cursor)


async def get_unit(
    session: AsyncSession, actor: Actor, unit_id: uuid.UUID, *, for_update: bool = False
) -> Unit:
    """A unit of the acting CoC (404 otherwise)."""
    stmt = select(Unit).where(Unit.id == unit_id, Unit.coc_id == actor.coc_id)
    if for_update:
        stmt = stmt.with_for_update()
    unit = await session.scalar(stmt)
    if unit is None:
        raise NotFound("No such unit.")
    return unit


async def unit_project(session: AsyncSession, unit: Unit) -> Project:
    project = await session.get(Project, unit.project_id)
    assert project is not None
    return project


async def writable_unit(session: AsyncSession, actor: Actor, unit_id: uuid.UUID) -> Unit:
    unit = await get_unit(session, actor, unit_id)
    _check_inventory_writer(actor, await unit_project(session, unit))
    return unit


async def active_match_ids(
    session: AsyncSession, unit_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, uuid.UUID]:
    """unit id -> its active (not over-referred) match id."""
    if not unit_ids:
        return {}
    rows = await session.execute(
        select(Match.unit_id, Match.id).where(
            Match.unit_id.in_(unit_ids),
            Match.status.in_(ACTIVE_MATCH_STATUSES),
            Match.over_referral.is_(False),
        )
    )
    return {u: m for u, m in rows.all()}


def shows_occupant(actor: Actor, project: Project) -> bool:
    return policy.can_manage_project_inventory(actor, project.organization_id)


def _event(
    session: AsyncSession,
    actor: Actor,
    unit: Unit,
    kind: UnitEventKind,
    from_status: str | None,
    *,
    client_id: uuid.UUID | None = None,
    reason: str | None = None,
    note: str | None = None,
    match_id: uuid.UUID | None = None,
) -> UnitEvent:
    event = UnitEvent(
        coc_id=unit.coc_id,
        unit_id=unit.id,
        kind=kind.value,
        from_status=from_status,
        to_status=unit.status,
        client_id=client_id,
        match_id=match_id,
        reason=reason,
        note=note,
        actor_user_id=actor.user_id,
        acting_organization_id=actor.organization_id,
    )
    session.add(event)
    return event


async def create_unit(
    session: AsyncSession, actor: Actor, project: Project, data: UnitCreate
) -> Unit:
    _check_inventory_writer(actor, project)
    # Read afresh under FOR SHARE: a change of the project's type (FOR NO KEY UPDATE) to one
    # without units waits for this unit and refuses, or this waits for it and sees the type.
    project = await locked_project(session, project.id)
    check_residential(project)
    unit = Unit(
        id=uuid.uuid4(),
        coc_id=actor.coc_id,
        project_id=project.id,
        label=data.label,
        bedrooms=data.bedrooms,
        status=UnitStatus.AVAILABLE.value,
        status_changed_at=clock.now(),
    )
    session.add(unit)
    savepoint = await session.begin_nested()
    try:
        await session.flush()
        await savepoint.commit()
    except IntegrityError:
        await savepoint.rollback()
        raise Conflict(
            f"The project already has a unit labelled {data.label!r}.",
            errors=[{"loc": ["body", "label"], "msg": "already used", "type": "conflict"}],
        ) from None
    _event(session, actor, unit, UnitEventKind.CREATED, None)
    audit.record(
        session,
        actor,
        "unit.create",
        "unit",
        unit.id,
        {"project_id": project.id, "label": data.label, "bedrooms": data.bedrooms},
    )
    await session.flush()
    return unit


async def update_unit(session: AsyncSession, actor: Actor, unit: Unit, data: UnitUpdate) -> Unit:
    changes = data.model_dump(exclude_unset=True)  # null is refused by UnitUpdate.NOT_NULL
    before = {k: getattr(unit, k) for k in changes}
    for k, v in changes.items():
        setattr(unit, k, v)
    savepoint = await session.begin_nested()
    try:
        await session.flush()
        await savepoint.commit()
    except IntegrityError:
        await savepoint.rollback()
        raise Conflict(
            "The project already has a unit with that label.",
            errors=[{"loc": ["body", "label"], "msg": "already used", "type": "conflict"}],
        ) from None
    audit.record(
        session,
        actor,
        "unit.update",
        "unit",
        unit.id,
        {k: {"old": before[k], "new": v} for k, v in changes.items()},
    )
    return unit


async def apply_event(
    session: AsyncSession,
    actor: Actor,
    unit: Unit,
    kind: UnitEventKind,
    *,
    client_id: uuid.UUID | None = None,
    reason: OfflineReason | None = None,
    note: str | None = None,
) -> Unit:
    """Move the unit's status by an event (409 when the event does not fit its status)."""
    allowed_from, target = UNIT_EVENTS[kind]
    current = UnitStatus(unit.status)
    if current not in allowed_from:
        raise Conflict(
            f"A unit that is {current} cannot take the event {kind} (it needs a unit that is "
            f"{' or '.join(sorted(allowed_from))}).",
            extra={"current": current.value},
        )
    if client_id is not None:
        client = await client_access.get_visible_body_client(session, actor, client_id, "client_id")
        client_id = client.id
    if kind == UnitEventKind.TAKE_OFFLINE:
        assert reason is not None
        if reason == OfflineReason.OTHER and not note:
            raise ValidationFailed("Taking a unit offline for 'other' needs a note.", field="note")
        if await _has_active_match(session, unit.id):
            raise Conflict(
                "The unit has an active match: resolve or cancel it before taking the unit offline."
            )
    unit.status = target.value
    unit.offline_reason = reason.value if kind == UnitEventKind.TAKE_OFFLINE and reason else None
    if kind == UnitEventKind.CHECK_IN:
        unit.occupant_client_id = client_id
    elif target != UnitStatus.OCCUPIED:
        unit.occupant_client_id = None
    unit.status_changed_at = clock.now()
    await session.flush()
    _event(
        session,
        actor,
        unit,
        kind,
        current.value,
        client_id=client_id,
        reason=reason.value if reason else None,
        note=note,
    )
    audit.record(
        session,
        actor,
        f"unit.{kind.value}",
        "unit",
        unit.id,
        {"status": {"old": current.value, "new": target.value}, "client_id": client_id},
    )
    await session.flush()
    return unit


async def _has_active_match(session: AsyncSession, unit_id: uuid.UUID) -> bool:
    found = await session.scalar(
        select(Match.id)
        .where(Match.unit_id == unit_id, Match.status.in_(ACTIVE_MATCH_STATUSES))
        .limit(1)
    )
    return found is not None


async def list_unit_events(
    session: AsyncSession, actor: Actor, unit: Unit, page: PageParams
) -> PageOf[UnitEventRead]:
    stmt = select(UnitEvent).where(UnitEvent.unit_id == unit.id)
    result = await paginate(session, stmt, page, [UnitEvent.created_at, UnitEvent.id])
    hide = not shows_occupant(actor, await unit_project(session, unit))

    def shape(e: UnitEvent) -> UnitEventRead:
        read = UnitEventRead.model_validate(e)
        if hide:
            # The household's id, and the notes written about it (free text).
            read.client_id = None
            read.note = None
        return read

    return result.map(shape)
