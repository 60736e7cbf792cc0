"""The CAS queue (housing prioritization list): the list in rank order (or any sort) with every
filter, a search by name, one entry with both chronic determinations, and the CoC's queue
settings (score tool, prioritization scheme)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from app.context import Actor
from app.deps import IfMatchRequired, Session, require_for_clients
from app.errors import NotFound
from app.http.contract import ETAG, documented
from app.http.etag import check_if_match, set_etag
from app.http.plain_json import PlainJson
from app.permissions import Permission
from app.reference.queue import (
    ChronicFilter,
    DocumentStatus,
    HouseholdType,
    IntakeStatus,
    QueueSortOrder,
    ReferralStatus,
)
from app.routers import api_router
from app.schemas.common import problems
from app.schemas.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page
from app.schemas.queue import (
    SCORE_LIMIT,
    QueueEntryDetailRead,
    QueueEntryListItem,
    QueueFilterFields,
    QueueSearch,
    QueueSettingsRead,
    QueueSettingsUpdate,
)
from app.services.queue import entries as svc
from app.services.queue import settings as settings_svc
from app.services.queue.listing import QueueFilter, QueueOrder
from app.services.queue.policy import can_see_queue

router = api_router("/queue-entries", "queue")
settings_router = api_router("/queue-settings", "queue")

QUEUE_VISIBILITY = (
    "The queue is for system and CAS admins and for users acting for the CAS organization, "
    "the CoC they act for; everyone else gets 404."
)
Reader = Annotated[Actor, Depends(require_for_clients(Permission.QUEUE_READ))]
Manager = Annotated[Actor, Depends(require_for_clients(Permission.QUEUE_MANAGE))]


async def queue_reader(actor: Reader) -> Actor:
    """The queue exists only for admins and the CAS organization (404 for everyone else)."""
    if not can_see_queue(actor):
        raise NotFound("Not found.")
    return actor


async def queue_manager(actor: Manager) -> Actor:
    if not can_see_queue(actor):
        raise NotFound("Not found.")
    return actor


QueueReader = Annotated[Actor, Depends(queue_reader)]
QueueManager = Annotated[Actor, Depends(queue_manager)]


async def queue_filter(
    status: Annotated[
        list[IntakeStatus], Query(description="Intake statuses to keep (repeatable).")
    ] = [],  # noqa: B006 - FastAPI copies query defaults
    client_id: Annotated[
        uuid.UUID | None, Query(description="A client of the household (head or member).")
    ] = None,
    chronic: Annotated[ChronicFilter | None, Query()] = None,
    household_type: Annotated[list[HouseholdType], Query(description="Repeatable.")] = [],  # noqa: B006
    household_size_min: Annotated[int | None, Query(ge=1, le=100)] = None,
    household_size_max: Annotated[int | None, Query(ge=1, le=100)] = None,
    referral_status: Annotated[
        list[ReferralStatus],
        Query(
            description="Where the household's referral stands, as of the CoC's date (a park "
            "that reached its `parked_until` is `none`: the household is back). Repeatable."
        ),
    ] = [],  # noqa: B006
    case_manager_id: Annotated[
        uuid.UUID | None,
        Query(description="An active case manager of the head's Coordinated Entry enrollment."),
    ] = None,
    veteran: Annotated[bool | None, Query()] = None,
    score_min: Annotated[int | None, Query(ge=0, le=SCORE_LIMIT)] = None,
    score_max: Annotated[int | None, Query(ge=0, le=SCORE_LIMIT)] = None,
    inactive: Annotated[
        bool | None,
        Query(description="No contact, assessment, service or document upload for 90 days."),
    ] = None,
    area: Annotated[
        str | None,
        Query(max_length=50, description="An area tie of the head (a code of the CoC's list)."),
    ] = None,
    document_status: Annotated[DocumentStatus | None, Query()] = None,
) -> QueueFilter:
    try:
        fields = QueueFilterFields(
            status=list(dict.fromkeys(status)),
            client_id=client_id,
            chronic=chronic,
            household_type=list(dict.fromkeys(household_type)),
            household_size_min=household_size_min,
            household_size_max=household_size_max,
            referral_status=list(dict.fromkeys(referral_status)),
            case_manager_id=case_manager_id,
            veteran=veteran,
            score_min=score_min,
            score_max=score_max,
            inactive=inactive,
            area=area,
            document_status=document_status,
        )
    except ValidationError as exc:  # the query's values, checked again as the body's would be
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    return to_filter(fields)


def to_filter(fields: QueueFilterFields, name: str | None = None) -> QueueFilter:
    return QueueFilter(
        statuses=tuple(dict.fromkeys(fields.status)),
        client_id=fields.client_id,
        name=name,
        chronic=fields.chronic,
        household_types=tuple(dict.fromkeys(fields.household_type)),
        household_size_min=fields.household_size_min,
        household_size_max=fields.household_size_max,
        referral_statuses=tuple(dict.fromkeys(fields.referral_status)),
        case_manager_id=fields.case_manager_id,
        veteran=fields.veteran,
        score_min=fields.score_min,
        score_max=fields.score_max,
        inactive=fields.inactive,
        area=fields.area,
        document_status=fields.document_status,
    )


Filter = Annotated[QueueFilter, Depends(queue_filter)]

# A page is written as the service shapes it (checked against the model outside production).
PAGE_JSON = PlainJson(Page[QueueEntryListItem])


@router.get(
    "",
    name="queue_list",
    summary="List the queue",
    response_model=Page[QueueEntryListItem],
    openapi_extra=documented(QUEUE_VISIBILITY),
    # Outside the CAS organization and the admins, the queue does not exist.
    responses=problems(404),
)
async def list_queue(
    request: Request,
    actor: QueueReader,
    session: Session,
    f: Filter,
    sort: Annotated[
        QueueSortOrder,
        Query(
            description="Order: `rank` (priority order), `client_id`, `score`, `intake_status`, "
            "`household_type`, `household_size`, `referral_status`; ties in rank order. A "
            "leading `-` lists exactly the reverse."
        ),
    ] = QueueSortOrder.RANK,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (max 200).")] = (
        DEFAULT_LIMIT
    ),
    cursor: Annotated[
        str | None,
        Query(max_length=500, description="Opaque cursor from `next_cursor` (same `sort`)."),
    ] = None,
) -> Response:
    """The CoC's open queue entries (one per household placed on the prioritization list),
    each with its `rank` among all open entries and the value of every key of the CoC's
    scheme (`priority.keys`): why it ranks where it does. Filter by intake status, client,
    chronic status (either determination), household type and size, referral status,
    assigned case manager, veteran, score range, inactivity, area tie and document status;
    search by name with `POST /queue-entries/search`. Keyset pages in every order: a cursor
    only continues the order it was made for (else 422). Audited as a read of the clients
    shown."""
    page = await svc.list_entries(session, actor, f, QueueOrder.parse(sort), limit, cursor)
    return PAGE_JSON.response(request, page.body())


@router.post(
    "/search",
    name="queue_search",
    summary="Search the queue",
    response_model=Page[QueueEntryListItem],
    openapi_extra=documented(QUEUE_VISIBILITY),
    # Outside the CAS organization and the admins, the queue does not exist.
    responses=problems(404),
)
async def search_queue(
    request: Request, actor: QueueReader, session: Session, body: QueueSearch
) -> Response:
    """The list's filters, plus the head of household's name, in a body (names never travel
    in URLs); `sort`, `limit` and `cursor` as in the list. Nothing is created."""
    page = await svc.list_entries(
        session,
        actor,
        to_filter(body, name=body.name),
        QueueOrder.parse(body.sort),
        body.limit,
        body.cursor,
        loc="body",
    )
    return PAGE_JSON.response(request, page.body())


@router.get(
    "/{queue_entry_id}",
    name="queue_get",
    summary="Read a queue entry",
    response_model=QueueEntryDetailRead,
    openapi_extra=documented(QUEUE_VISIBILITY, sends=(ETAG,)),
)
async def get_queue_entry(
    queue_entry_id: uuid.UUID, actor: QueueReader, session: Session, response: Response
) -> dict[str, Any]:
    """One entry (open or closed) with its rank and why, the household's facts, and both
    chronic determinations (recorded data and documented) of the head and each adult, with
    months and episodes counted and what is missing. Audited as a read of the clients
    shown."""
    body = await svc.get_entry(session, actor, queue_entry_id)
    set_etag(response, body["version"])
    return body


@settings_router.get(
    "",
    name="queue_settings_get",
    summary="Read the queue settings",
    response_model=QueueSettingsRead,
    openapi_extra=documented(QUEUE_VISIBILITY, sends=(ETAG,)),
    # Outside the CAS organization and the admins, the queue does not exist.
    responses=problems(404),
)
async def get_queue_settings(
    actor: QueueReader, session: Session, response: Response
) -> QueueSettingsRead:
    """The CoC's assessment tool and score range, and its prioritization scheme: the keys the
    queue is ranked by, in order (the stable random tie-breaker always last)."""
    found = await settings_svc.get_settings(session, actor)
    set_etag(response, found.version)
    return QueueSettingsRead.model_validate(found, from_attributes=True)


@settings_router.put(
    "",
    name="queue_settings_update",
    summary="Change the queue settings",
    response_model=QueueSettingsRead,
    openapi_extra=documented(QUEUE_VISIBILITY, sends=(ETAG,)),
)
async def update_queue_settings(
    body: QueueSettingsUpdate,
    actor: QueueManager,
    session: Session,
    if_match: IfMatchRequired,
    response: Response,
) -> QueueSettingsRead:
    """Replace the settings. A new scheme re-ranks every open entry in the same transaction:
    lists go on showing the old order until it commits, then the new one (no downtime, never
    half re-ranked)."""
    found = await settings_svc.get_settings(session, actor)
    check_if_match(if_match, found.version)
    updated = await settings_svc.update_settings(session, actor, found, body)
    set_etag(response, updated.version)
    return QueueSettingsRead.model_validate(updated, from_attributes=True)
