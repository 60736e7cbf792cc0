"""Housing inventory (units of a project and their events), a project's matching profile, the
CoC's response policy, and a vacancy's candidates and eligibility explanation (DOMAIN 8, 9)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Request, Response, status

from app.context import Actor
from app.deps import CurrentActor, IfMatchRequired, Session, require, require_for_clients
from app.http.contract import ETAG, Visibility, documented
from app.http.etag import check_if_match, set_etag
from app.http.pagination import Pages
from app.http.plain_json import PlainJson
from app.permissions import Permission
from app.reference.matching import UnitEventKind
from app.routers import api_router
from app.schemas.common import problems
from app.schemas.matching import (
    CandidateRead,
    CheckIn,
    EligibilityRead,
    MatchingPolicyRead,
    MatchingPolicyUpdate,
    MatchingProfileRead,
    MatchingProfileUpdate,
    RequirementRead,
    Reservation,
    TakeOffline,
    UnitCreate,
    UnitEventNote,
    UnitEventRead,
    UnitRead,
    UnitUpdate,
)
from app.schemas.pagination import Page
from app.services.matching import eligibility
from app.services.matching import inventory as svc

projects = api_router("/projects", "inventory")
units = api_router("/units", "inventory")
vacancies = api_router("/units", "candidates")
policies = api_router("/matching-policy", "candidates")

InventoryWriter = Annotated[Actor, Depends(require(Permission.INVENTORY_MANAGE))]
Configurer = Annotated[Actor, Depends(require(Permission.PROJECTS_MANAGE_OWN))]
Referrer = Annotated[Actor, Depends(require_for_clients(Permission.REFERRALS_MANAGE))]
PolicyManager = Annotated[Actor, Depends(require(Permission.REFERRALS_MANAGE))]

UNITS_VISIBILITY = (
    "Units of the CoC you act for, read by any role; the checked-in client's id only for the "
    "project's organization and admins. Changes: the project's organization and admins."
)


async def housing_project(
    project_id: uuid.UUID, actor: CurrentActor, session: Session
) -> svc.Project:
    return await svc.housing_project(session, actor, project_id)


HousingProject = Annotated[svc.Project, Depends(housing_project)]


async def unit_of_coc(unit_id: uuid.UUID, actor: CurrentActor, session: Session) -> svc.Unit:
    return await svc.get_unit(session, actor, unit_id)


CocUnit = Annotated[svc.Unit, Depends(unit_of_coc)]


async def writable_unit(unit_id: uuid.UUID, actor: InventoryWriter, session: Session) -> svc.Unit:
    unit = await svc.get_unit(session, actor, unit_id, for_update=True)
    await svc.writable_unit(session, actor, unit.id)
    return unit


WritableUnit = Annotated[svc.Unit, Depends(writable_unit)]


def _profile_read(p: svc.Profile) -> MatchingProfileRead:
    return MatchingProfileRead(
        project_id=p.project.id,
        project_type=p.project.project_type,
        funding_sources=p.funding_sources,
        referrals_through_cas=p.project.referrals_through_cas,
        ehv=p.ehv,
        referral_event=p.referral_event,
        stall_after_days=p.stall_after_days,
        effective_stall_after_days=p.effective_stall_after_days,
        requirements=[RequirementRead.model_validate(r) for r in p.requirements],
        active_over_referrals=p.active_over_referrals,
        version=p.version,
    )


async def _unit_answer(
    session: Session, actor: Actor, unit: svc.Unit, response: Response
) -> UnitRead:
    set_etag(response, unit.version)
    [read] = await svc.unit_reads(session, actor, [unit])
    return read


# --- projects -----------------------------------------------------------------------------------


@projects.get(
    "/{project_id}/units",
    name="units_list",
    summary="Units of a project",
    response_model=Page[UnitRead],
    openapi_extra=documented(UNITS_VISIBILITY),
)
async def list_units(
    project: HousingProject, actor: CurrentActor, session: Session, page: Pages
) -> dict[str, object]:
    """The project's units by label, each with its bedrooms, status (available, occupied,
    reserved, offline: moved only by unit events) and active match."""
    return (await svc.list_units(session, actor, project, page)).body()


@projects.post(
    "/{project_id}/units",
    name="units_create",
    summary="Add a unit",
    status_code=status.HTTP_201_CREATED,
    response_model=UnitRead,
    responses=problems(409),
    openapi_extra=documented(UNITS_VISIBILITY, sends=(ETAG,), idempotent=True),
)
async def create_unit(
    project: HousingProject,
    body: UnitCreate,
    actor: InventoryWriter,
    session: Session,
    response: Response,
) -> UnitRead:
    """A new unit of the project, available. Labels are unique within a project (409)."""
    unit = await svc.create_unit(session, actor, project, body)
    return await _unit_answer(session, actor, unit, response)


@projects.get(
    "/{project_id}/matching-profile",
    name="matching_profiles_get",
    summary="A project's matching profile",
    response_model=MatchingProfileRead,
    openapi_extra=documented(Visibility.COC, sends=(ETAG,)),
)
async def get_profile(
    project: HousingProject, actor: CurrentActor, session: Session, response: Response
) -> MatchingProfileRead:
    """Funding sources, whether referrals must come through CAS, the referral event a match
    records, the response policy (its own stall days or the CoC's), the eligibility
    requirements (must / must not) and the count of active over-referrals."""
    p = await svc.profile(session, actor, project)
    set_etag(response, p.version)
    return _profile_read(p)


@projects.put(
    "/{project_id}/matching-profile",
    name="matching_profiles_replace",
    summary="Replace a project's matching profile",
    response_model=MatchingProfileRead,
    openapi_extra=documented(
        "The project's organization (project managers) and admins.", sends=(ETAG,)
    ),
)
async def replace_profile(
    project: HousingProject,
    body: MatchingProfileUpdate,
    actor: Configurer,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> MatchingProfileRead:
    """Replace the whole profile (the requirements list included). A project never configured
    has ETag `"0"`."""
    p = await svc.replace_profile(
        session, actor, project, body, lambda v: check_if_match(if_match, v)
    )
    set_etag(response, p.version)
    return _profile_read(p)


# --- units --------------------------------------------------------------------------------------


@units.get(
    "/{unit_id}",
    name="units_get",
    summary="Read a unit",
    response_model=UnitRead,
    openapi_extra=documented(UNITS_VISIBILITY, sends=(ETAG,)),
)
async def get_unit(
    unit: CocUnit, actor: CurrentActor, session: Session, response: Response
) -> UnitRead:
    """One unit with its status and active match."""
    return await _unit_answer(session, actor, unit, response)


@units.patch(
    "/{unit_id}",
    name="units_update",
    summary="Change a unit's label or bedrooms",
    response_model=UnitRead,
    responses=problems(409),
    openapi_extra=documented(UNITS_VISIBILITY, sends=(ETAG,)),
)
async def update_unit(
    unit: WritableUnit,
    body: UnitUpdate,
    actor: InventoryWriter,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> UnitRead:
    """The status is not typed in: it follows the unit's events."""
    check_if_match(if_match, unit.version)
    await svc.update_unit(session, actor, unit, body)
    return await _unit_answer(session, actor, unit, response)


@units.get(
    "/{unit_id}/events",
    name="unit_events_list",
    summary="A unit's events",
    response_model=Page[UnitEventRead],
    openapi_extra=documented(UNITS_VISIBILITY),
)
async def list_unit_events(
    unit: CocUnit, actor: CurrentActor, session: Session, page: Pages
) -> dict[str, object]:
    """Every event of the unit, oldest first (append-only)."""
    return (await svc.list_unit_events(session, actor, unit, page)).body()


async def _event(
    session: Session,
    actor: Actor,
    unit: svc.Unit,
    response: Response,
    if_match: str,
    kind: UnitEventKind,
    **kw: object,
) -> UnitRead:
    check_if_match(if_match, unit.version)
    await svc.apply_event(session, actor, unit, kind, **kw)  # type: ignore[arg-type]
    return await _unit_answer(session, actor, unit, response)


_EVENT_DOC = documented(UNITS_VISIBILITY, sends=(ETAG,))


@units.post(
    "/{unit_id}/check-in",
    name="units_check_in",
    summary="Check a client in",
    response_model=UnitRead,
    responses=problems(409),
    openapi_extra=_EVENT_DOC,
)
async def check_in(
    unit: WritableUnit,
    body: CheckIn,
    actor: InventoryWriter,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> UnitRead:
    """An available or reserved unit becomes occupied by the client (409 otherwise)."""
    return await _event(
        session,
        actor,
        unit,
        response,
        if_match,
        UnitEventKind.CHECK_IN,
        client_id=body.client_id,
        note=body.note,
    )


@units.post(
    "/{unit_id}/check-out",
    name="units_check_out",
    summary="Check the occupant out",
    response_model=UnitRead,
    responses=problems(409),
    openapi_extra=_EVENT_DOC,
)
async def check_out(
    unit: WritableUnit,
    body: UnitEventNote,
    actor: InventoryWriter,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> UnitRead:
    """An occupied unit becomes available."""
    return await _event(
        session, actor, unit, response, if_match, UnitEventKind.CHECK_OUT, note=body.note
    )


@units.post(
    "/{unit_id}/reservation",
    name="units_reserve",
    summary="Reserve a unit",
    response_model=UnitRead,
    responses=problems(409),
    openapi_extra=_EVENT_DOC,
)
async def reserve(
    unit: WritableUnit,
    body: Reservation,
    actor: InventoryWriter,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> UnitRead:
    """Hold an available unit for a client not referred through CAS (seed 001)."""
    return await _event(
        session,
        actor,
        unit,
        response,
        if_match,
        UnitEventKind.RESERVE,
        client_id=body.client_id,
        note=body.note,
    )


@units.post(
    "/{unit_id}/release",
    name="units_release",
    summary="End a reservation",
    response_model=UnitRead,
    responses=problems(409),
    openapi_extra=_EVENT_DOC,
)
async def release(
    unit: WritableUnit,
    body: UnitEventNote,
    actor: InventoryWriter,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> UnitRead:
    """A reserved unit becomes available again."""
    return await _event(
        session, actor, unit, response, if_match, UnitEventKind.RELEASE, note=body.note
    )


@units.post(
    "/{unit_id}/offline",
    name="units_take_offline",
    summary="Take a unit offline",
    response_model=UnitRead,
    responses=problems(409),
    openapi_extra=_EVENT_DOC,
)
async def take_offline(
    unit: WritableUnit,
    body: TakeOffline,
    actor: InventoryWriter,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> UnitRead:
    """With a listed reason (`other` needs a note); not while the unit has an active match."""
    return await _event(
        session,
        actor,
        unit,
        response,
        if_match,
        UnitEventKind.TAKE_OFFLINE,
        reason=body.reason,
        note=body.note,
    )


@units.post(
    "/{unit_id}/online",
    name="units_bring_online",
    summary="Bring a unit back online",
    response_model=UnitRead,
    responses=problems(409),
    openapi_extra=_EVENT_DOC,
)
async def bring_online(
    unit: WritableUnit,
    body: UnitEventNote,
    actor: InventoryWriter,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> UnitRead:
    """An offline unit becomes available."""
    return await _event(
        session, actor, unit, response, if_match, UnitEventKind.BRING_ONLINE, note=body.note
    )


# --- candidates and eligibility -----------------------------------------------------------------

# Both answers are written as the service shapes them (checked against the model outside
# production): the hot reads of matching.
CANDIDATES_JSON = PlainJson(Page[CandidateRead])
ELIGIBILITY_JSON = PlainJson(EligibilityRead)


@vacancies.get(
    "/{unit_id}/candidates",
    name="units_candidates",
    summary="Ranked eligible candidates for a unit",
    response_model=Page[CandidateRead],
    openapi_extra=documented(Visibility.COC),
)
async def candidates(
    request: Request, unit_id: uuid.UUID, actor: Referrer, session: Session, page: Pages
) -> Response:
    """Approved queue entries that meet every requirement of the unit's project (and, for an
    EHV program, have area ties), are not parked, not in an active match and never declined by
    this project, in rank order, with their rank and prioritization values (CAS admins)."""
    # The unit (of the acting CoC, 404 otherwise) is read with its project and requirements.
    found = await eligibility.candidates(session, actor, unit_id, page.limit, page.cursor)
    return CANDIDATES_JSON.response(request, found.body())


@vacancies.get(
    "/{unit_id}/eligibility/{client_id}",
    name="units_eligibility",
    summary="Why a client is (not) eligible for a unit",
    response_model=EligibilityRead,
    openapi_extra=documented(Visibility.COC),
)
async def explain(
    request: Request,
    # client_id first: the contract lists the path parameters in this order.
    client_id: uuid.UUID,
    unit_id: uuid.UUID,
    actor: Referrer,
    session: Session,
) -> Response:
    """Each requirement, passed or not, with the data it read; whether the client's queue
    entry is approved, parked (until when), in an active match, declined by this project before,
    and its rank."""
    body = await eligibility.explain(session, actor, unit_id, client_id)
    return ELIGIBILITY_JSON.response(request, body)


# --- the CoC's response policy ------------------------------------------------------------------


@policies.get(
    "",
    name="matching_policy_get",
    summary="The CoC's referral response policy",
    response_model=MatchingPolicyRead,
    openapi_extra=documented(Visibility.ACTING_COC, sends=(ETAG,)),
)
async def get_policy(
    actor: CurrentActor, session: Session, response: Response
) -> MatchingPolicyRead:
    """Days a provider has to respond before a match is stalled (default 10), and how many days
    before that it is about to stall (default 2). A CoC never configured has ETag `"0"`."""
    p = await svc.coc_policy(session, actor.coc_id)
    set_etag(response, p.version)
    return MatchingPolicyRead(**vars(p))


@policies.put(
    "",
    name="matching_policy_replace",
    summary="Set the CoC's referral response policy",
    response_model=MatchingPolicyRead,
    openapi_extra=documented(Visibility.ACTING_COC, sends=(ETAG,)),
)
async def set_policy(
    body: MatchingPolicyUpdate,
    actor: PolicyManager,
    session: Session,
    response: Response,
    if_match: IfMatchRequired,
) -> MatchingPolicyRead:
    """CAS and system admins. A project may override the stall days (matching profile)."""
    p = await svc.set_coc_policy(session, actor, body, lambda v: check_if_match(if_match, v))
    set_etag(response, p.version)
    return MatchingPolicyRead(**vars(p))
