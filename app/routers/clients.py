"""Clients: create, read, update, find, full SSN, history, merge and unmerge.

A merged client's id keeps working: reads and updates answer for the survivor (200) with the
headers ``X-Merged-Into: <survivor id>`` and ``Content-Location: /api/v1/clients/<survivor id>``.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Request, Response, status

from app import clock
from app.context import Actor
from app.deps import Cipher, IfMatchRequired, Session, require_for_clients
from app.http.contract import (
    CONTENT_LOCATION,
    ETAG,
    LOCATION,
    MERGED_INTO,
    Visibility,
    documented,
)
from app.http.etag import check_if_match, set_etag
from app.http.pagination import Pages
from app.http.plain_json import PlainJson
from app.permissions import Permission
from app.routers import api_router
from app.schemas.clients import (
    ClientCreate,
    ClientCreated,
    ClientHistoryEntry,
    ClientMergeRead,
    ClientMergeRequest,
    ClientRead,
    ClientSearch,
    ClientSearchHit,
    ClientSsnRead,
    ClientUnmergeRequest,
    ClientUpdate,
)
from app.schemas.common import problems
from app.schemas.pagination import Page
from app.services.clients import core as svc
from app.services.clients import merge

router = api_router("/clients", "clients")

PREFIX = "/api/v1/clients"


ClientReader = Annotated[Actor, Depends(require_for_clients(Permission.CLIENTS_READ))]
ClientWriter = Annotated[Actor, Depends(require_for_clients(Permission.CLIENTS_WRITE))]
SsnReader = Annotated[Actor, Depends(require_for_clients(Permission.CLIENTS_SSN_READ))]
Merger = Annotated[Actor, Depends(require_for_clients(Permission.CLIENTS_MERGE))]
# A read or update by a merged client's id answers for the survivor with these.
MERGED_HEADERS = (ETAG, MERGED_INTO, CONTENT_LOCATION)
# Search hits are written as the service shapes them (checked against the model outside
# production).
SEARCH_JSON = PlainJson(Page[ClientSearchHit])


def _answer_for(
    response: Response, requested: uuid.UUID, client_id: uuid.UUID, version: int
) -> None:
    set_etag(response, version)
    if client_id != requested:
        response.headers["X-Merged-Into"] = str(client_id)
        response.headers["Content-Location"] = f"{PREFIX}/{client_id}"


@router.post(
    "",
    name="clients_create",
    summary="Create a client",
    status_code=status.HTTP_201_CREATED,
    response_model=ClientCreated,
    openapi_extra=documented(
        "Creating needs no visibility; `possible_duplicates` lists only clients you may see.",
        sends=(ETAG, LOCATION),
        idempotent=True,
    ),
)
async def create_client(
    body: ClientCreate, actor: ClientWriter, session: Session, cipher: Cipher, response: Response
) -> ClientCreated:
    """Create a client. Never blocked by a possible duplicate: likely duplicates you may see are
    listed in ``possible_duplicates`` with a score and the reasons."""
    client, duplicates = await svc.create_client(session, actor, body, cipher)
    set_etag(response, client.version)
    response.headers["Location"] = f"{PREFIX}/{client.id}"
    read = svc.client_read(client, clock.today(actor), cipher)
    return ClientCreated(**read.model_dump(), possible_duplicates=duplicates)


@router.get(
    "",
    name="clients_list",
    summary="List clients",
    response_model=Page[ClientRead],
    openapi_extra=documented(Visibility.CLIENT),
)
async def list_clients(
    actor: ClientReader, session: Session, cipher: Cipher, page: Pages
) -> dict[str, object]:
    """Clients you may see, newest first (merged records left out). Use search to find someone:
    names never go into URLs."""
    return (await svc.list_clients(session, actor, page, cipher)).body()


@router.post(
    "/search",
    name="clients_search",
    summary="Find a client",
    response_model=Page[ClientSearchHit],
    openapi_extra=documented(Visibility.CLIENT),
)
async def search_clients(
    request: Request, body: ClientSearch, actor: ClientReader, session: Session, cipher: Cipher
) -> Response:
    """Find client by name (typo-tolerant), date of birth, client id and/or SSN last 4.
    Ranked best first; only clients you may see. One page of at most `limit` hits (the list
    shape; `next_cursor` is always null: refine the search instead)."""
    hits = await svc.find_clients(session, actor, body, cipher)
    return SEARCH_JSON.response(request, {"items": hits, "next_cursor": None})


@router.get(
    "/{client_id}",
    name="clients_get",
    summary="Read a client",
    response_model=ClientRead,
    openapi_extra=documented(Visibility.CLIENT, sends=MERGED_HEADERS),
)
async def get_client(
    client_id: uuid.UUID, actor: ClientReader, session: Session, cipher: Cipher, response: Response
) -> ClientRead:
    """The client (SSN masked). A merged id answers with the survivor (see ``X-Merged-Into``)."""
    client = await svc.get_client(session, actor, client_id)
    _answer_for(response, client_id, client.id, client.version)
    return svc.client_read(client, clock.today(actor), cipher)


@router.patch(
    "/{client_id}",
    name="clients_update",
    summary="Update a client",
    response_model=ClientRead,
    responses=problems(409),
    openapi_extra=documented(Visibility.CLIENT_WRITE, sends=MERGED_HEADERS),
)
async def update_client(
    client_id: uuid.UUID,
    body: ClientUpdate,
    actor: ClientWriter,
    session: Session,
    cipher: Cipher,
    if_match: IfMatchRequired,
    response: Response,
) -> ClientRead:
    """Change fields (send ``If-Match``); data quality is re-derived for changed values.

    Needs an admin or an organization that created, enrolled or was referred the client (seeing
    it through the release of information only is a 403). ``roi_start_date``/``roi_end_date`` are
    changed only by the creating organization, the CAS organization and admins (403 naming the
    field); ROI dates lie between 2000-01-01 and five years from today (422)."""
    client = await svc.get_client(session, actor, client_id)
    check_if_match(if_match, client.version)
    client = await svc.update_client(session, actor, client, body, cipher)
    _answer_for(response, client_id, client.id, client.version)
    return svc.client_read(client, clock.today(actor), cipher)


@router.get(
    "/{client_id}/ssn",
    name="clients_ssn_read",
    summary="Read a client's full SSN",
    response_model=ClientSsnRead,
    openapi_extra=documented(Visibility.CLIENT, sends=MERGED_HEADERS),
)
async def read_ssn(
    client_id: uuid.UUID, actor: SsnReader, session: Session, cipher: Cipher, response: Response
) -> ClientSsnRead:
    """The full SSN. Every call is recorded in the audit trail (``client.ssn_read``)."""
    client = await svc.read_full_ssn(session, actor, client_id)
    _answer_for(response, client_id, client.id, client.version)
    return ClientSsnRead(
        client_id=client.id,
        ssn=svc.formatted_ssn(client, cipher),
        ssn_data_quality=client.ssn_data_quality,
    )


@router.get(
    "/{client_id}/history",
    name="clients_history",
    summary="A client's change history",
    response_model=Page[ClientHistoryEntry],
    openapi_extra=documented(Visibility.CLIENT),
)
async def client_history(
    client_id: uuid.UUID, actor: ClientReader, session: Session, page: Pages
) -> dict[str, object]:
    """Who changed what and when (newest first), including records merged into this one.
    PII values are redacted; reads are not listed."""
    return (await svc.client_history(session, actor, client_id, page)).body()


@router.post(
    "/{client_id}/merge",
    name="clients_merge",
    summary="Merge a duplicate client into this one",
    response_model=ClientMergeRead,
    responses=problems(409),
    openapi_extra=documented(Visibility.CLIENT),
)
async def merge_clients(
    client_id: uuid.UUID, body: ClientMergeRequest, actor: Merger, session: Session
) -> dict[str, Any]:
    """Merge ``duplicate_client_id`` into this client (system admins). Everything attached to the
    duplicate (households, enrollments, documents, access, ...) moves here in one transaction;
    the duplicate's id then resolves to this client. Undo with ``/unmerge``."""
    record = await merge.merge_clients(session, actor, client_id, body.duplicate_client_id)
    return merge.merge_summary(record)


@router.post(
    "/{client_id}/unmerge",
    name="clients_unmerge",
    summary="Undo a merge",
    response_model=ClientMergeRead,
    responses=problems(409),
    openapi_extra=documented(Visibility.CLIENT),
)
async def unmerge_clients(
    client_id: uuid.UUID, body: ClientUnmergeRequest, actor: Merger, session: Session
) -> dict[str, Any]:
    """Undo the merge of ``duplicate_client_id`` into this client: the rows that moved go back
    and the duplicate is a separate record again."""
    record = await merge.unmerge_clients(session, actor, client_id, body.duplicate_client_id)
    return merge.merge_summary(record)


@router.get(
    "/{client_id}/merges",
    name="clients_merges_list",
    summary="Merges of a client",
    response_model=Page[ClientMergeRead],
    openapi_extra=documented(Visibility.CLIENT),
)
async def list_merges(
    client_id: uuid.UUID, actor: Merger, session: Session, page: Pages
) -> dict[str, object]:
    """Merges this client took part in, as survivor or duplicate (newest first)."""
    return (await merge.list_merges(session, actor, client_id, page)).body()
