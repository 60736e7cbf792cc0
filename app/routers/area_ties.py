"""Area ties of a client, and the CoC's configurable lists of areas and "how" options."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, status

from app.context import Actor
from app.deps import CurrentActor, Session, require
from app.http.contract import Visibility, documented
from app.http.pagination import Pages
from app.permissions import Permission
from app.routers import api_router
from app.routers.enrollments import ReadActor, VisibleClient, WriteActor
from app.schemas.common import problems
from app.schemas.enrollments import (
    AreaTieOptionRead,
    AreaTieOptionsRead,
    AreaTieOptionsUpdate,
    AreaTieRead,
    AreaTiesCreate,
)
from app.schemas.pagination import Page
from app.services.ce import area_ties as svc

clients = api_router("/clients", "area-ties")
options = api_router("/area-tie-options", "area-ties")

ManageLists = Annotated[Actor, Depends(require(Permission.QUEUE_MANAGE))]


async def tieable_client(client_id: uuid.UUID, actor: WriteActor, session: Session) -> svc.Client:
    """Visible (else 404), and the caller may add to the client's record (else 403)."""
    return await svc.client_for_area_ties(session, actor, client_id)


TieableClient = Annotated[svc.Client, Depends(tieable_client)]


def _options_read(opts: svc.TieOptions) -> AreaTieOptionsRead:
    return AreaTieOptionsRead(
        areas=[AreaTieOptionRead(code=c, label=label) for c, label in opts.areas],
        how=[AreaTieOptionRead(code=c, label=label) for c, label in opts.how],
        configured=opts.configured,
    )


@clients.get(
    "/{client_id}/area-ties",
    name="area_ties_list",
    summary="Area ties of a client",
    response_model=Page[AreaTieRead],
    openapi_extra=documented(Visibility.CLIENT),
)
async def list_area_ties(
    client: VisibleClient, actor: ReadActor, session: Session, page: Pages
) -> dict[str, object]:
    """A client's area ties (date, area, how)."""
    return (await svc.list_client_area_ties(session, actor, client.id, page)).body()


@clients.post(
    "/{client_id}/area-ties",
    name="area_ties_create",
    summary="Record area ties",
    status_code=status.HTTP_201_CREATED,
    response_model=Page[AreaTieRead],
    responses=problems(409),
    openapi_extra=documented(Visibility.CLIENT_WRITE, idempotent=True),
)
async def create_area_ties(
    client: TieableClient, body: AreaTiesCreate, actor: WriteActor, session: Session
) -> dict[str, object]:
    """Record area ties outside the intake (as many as needed; area and how from the CoC's
    lists, see `GET /area-tie-options`). Like changing the client: the organizations linked to
    the client (created, enrolled, referred) and admins; an ROI alone is not enough (403). The
    recorded ties come back in the list shape."""
    ties = await svc.add_area_ties(session, actor, client.id, body.area_ties)
    return {"items": ties, "next_cursor": None}


@options.get(
    "",
    name="area_tie_options_get",
    summary="The CoC's area tie lists",
    response_model=AreaTieOptionsRead,
    openapi_extra=documented(Visibility.ACTING_COC),
)
async def get_options(actor: CurrentActor, session: Session) -> AreaTieOptionsRead:
    """The acting CoC's lists of areas and of how a client is tied (defaults until set)."""
    return _options_read(await svc.options(session, actor.coc_id))


@options.put(
    "",
    name="area_tie_options_replace",
    summary="Replace the CoC's area tie lists",
    response_model=AreaTieOptionsRead,
    responses=problems(409),
    openapi_extra=documented(Visibility.ACTING_COC),
)
async def replace_options(
    body: AreaTieOptionsUpdate, actor: ManageLists, session: Session
) -> AreaTieOptionsRead:
    """Replace the CoC's lists (CAS and system admins). Existing ties keep their codes."""
    return _options_read(await svc.replace_options(session, actor, body))
