"""Households: members, head of household, RelationshipToHoH; a client's households.

Every non-GET route under ``/{household_id}`` takes ``WritableHousehold``: the household must be
visible (404) and the caller must hold the household write right (403
``household-not-writable``, ``clients.policy.can_write_household``) before anything else."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Response, status

from app.deps import Cipher, IfMatchRequired, Session
from app.http.contract import ETAG, LOCATION, Visibility, documented
from app.http.etag import check_if_match, set_etag
from app.http.pagination import Pages
from app.routers import api_router
from app.routers.clients import ClientReader, ClientWriter
from app.schemas.clients import (
    HouseholdCreate,
    HouseholdMemberIn,
    HouseholdMemberUpdate,
    HouseholdRead,
)
from app.schemas.common import problems
from app.schemas.pagination import Page
from app.services.clients import households as svc

router = api_router("/households", "households")
client_households = api_router("/clients", "households")

PREFIX = "/api/v1/households"


async def writable_household(
    household_id: uuid.UUID, actor: ClientWriter, session: Session
) -> svc.Household:
    """Seen (else 404), then changed only by those ``can_write_household`` names (else 403)."""
    return await svc.get_writable_household(session, actor, household_id)


# Every non-GET route under /households/{household_id} takes this one.
WritableHousehold = Annotated[svc.Household, Depends(writable_household)]


@router.post(
    "",
    name="households_create",
    summary="Create a household",
    status_code=status.HTTP_201_CREATED,
    response_model=HouseholdRead,
    openapi_extra=documented(
        "Existing members must be clients you may see (otherwise the same 422 as an unknown id).",
        sends=(ETAG, LOCATION),
        idempotent=True,
    ),
)
async def create_household(
    body: HouseholdCreate, actor: ClientWriter, session: Session, cipher: Cipher, response: Response
) -> HouseholdRead:
    """A household of existing clients (`client_id`) and/or new ones (`client`), exactly one of
    them the head (relationship_to_hoh 1)."""
    members = await svc.resolve_members(session, actor, body.members, cipher, in_list=True)
    household = await svc.create_household(session, actor, members)
    set_etag(response, household.version)
    response.headers["Location"] = f"{PREFIX}/{household.id}"
    return await svc.household_read(session, actor, household)


@router.get(
    "/{household_id}",
    name="households_get",
    summary="Read a household",
    response_model=HouseholdRead,
    openapi_extra=documented(Visibility.HOUSEHOLD, sends=(ETAG,)),
)
async def get_household(
    household_id: uuid.UUID, actor: ClientReader, session: Session, response: Response
) -> HouseholdRead:
    """The household's members you may see, with their relationship to the head."""
    household = await svc.get_visible_household(session, actor, household_id)
    set_etag(response, household.version)
    return await svc.household_read(session, actor, household)


@router.post(
    "/{household_id}/members",
    name="households_members_add",
    summary="Add a household member",
    status_code=status.HTTP_201_CREATED,
    response_model=HouseholdRead,
    openapi_extra=documented(Visibility.HOUSEHOLD, sends=(ETAG,), idempotent=True),
    responses=problems(409),
)
async def add_member(
    household: WritableHousehold,
    body: HouseholdMemberIn,
    actor: ClientWriter,
    session: Session,
    cipher: Cipher,
    if_match: IfMatchRequired,
    response: Response,
) -> HouseholdRead:
    """Add an existing client (`client_id`) or a new one (`client`) to the household."""
    check_if_match(if_match, household.version)
    [(client_id, relationship)] = await svc.resolve_members(
        session, actor, [body], cipher, in_list=False
    )
    household = await svc.add_member(session, actor, household, client_id, relationship)
    set_etag(response, household.version)
    return await svc.household_read(session, actor, household)


@router.patch(
    "/{household_id}/members/{client_id}",
    name="households_members_update",
    summary="Change a member's relationship (or make them the head)",
    response_model=HouseholdRead,
    responses=problems(409),
    openapi_extra=documented(Visibility.HOUSEHOLD, sends=(ETAG,)),
)
async def update_member(
    household: WritableHousehold,
    client_id: uuid.UUID,
    body: HouseholdMemberUpdate,
    actor: ClientWriter,
    session: Session,
    if_match: IfMatchRequired,
    response: Response,
) -> HouseholdRead:
    """Change a member's relationship to the head. To make a member the head, send
    `relationship_to_hoh: 1` and what the current head becomes
    (`previous_head_relationship_to_hoh`)."""
    check_if_match(if_match, household.version)
    household = await svc.change_relationship(
        session,
        actor,
        household,
        client_id,
        body.relationship_to_hoh,
        body.previous_head_relationship_to_hoh,
    )
    set_etag(response, household.version)
    return await svc.household_read(session, actor, household)


@router.delete(
    "/{household_id}/members/{client_id}",
    name="households_members_remove",
    summary="Remove a household member",
    response_model=HouseholdRead,
    responses=problems(409),
    openapi_extra=documented(Visibility.HOUSEHOLD, sends=(ETAG,)),
)
async def remove_member(
    household: WritableHousehold,
    client_id: uuid.UUID,
    actor: ClientWriter,
    session: Session,
    if_match: IfMatchRequired,
    response: Response,
) -> HouseholdRead:
    """Remove a member (not the head: make another member the head first)."""
    check_if_match(if_match, household.version)
    household = await svc.remove_member(session, actor, household, client_id)
    set_etag(response, household.version)
    return await svc.household_read(session, actor, household)


@client_households.get(
    "/{client_id}/households",
    name="clients_households_list",
    summary="Households of a client",
    response_model=Page[HouseholdRead],
    openapi_extra=documented(Visibility.CLIENT),
)
async def list_client_households(
    client_id: uuid.UUID, actor: ClientReader, session: Session, page: Pages
) -> dict[str, object]:
    """The households the client belongs to (a merged id answers for the survivor)."""
    return (await svc.list_client_households(session, actor, client_id, page)).body()
