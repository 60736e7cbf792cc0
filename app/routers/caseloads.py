"""Caseload views (DOMAIN 7): My CAS active cases and my organization's, as lists and as CSV /
XLSX exports."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import clock
from app.context import Actor
from app.deps import ExportRateLimited, Session, require_for_clients
from app.http.contract import CONTENT_DISPOSITION, documented
from app.http.pagination import Pages
from app.permissions import Permission
from app.reference.caseloads import Caseload, CaseloadSortOrder
from app.reference.exports import MEDIA_TYPES, ExportFormat
from app.reference.queue import (
    ChronicFilter,
    DocumentStatus,
    HouseholdType,
    IntakeStatus,
    ReferralStatus,
)
from app.routers import api_router
from app.routers.queue import to_filter
from app.schemas.codes import PrioritizationStatus
from app.schemas.pagination import Page, PageParams
from app.schemas.queue import SCORE_LIMIT, QueueFilterFields
from app.schemas.queue_flow import CaseloadRow, CaseloadSearch
from app.services.queue import caseloads as svc
from app.services.queue import exports

router = api_router("/caseloads", "caseloads")
exports_router = api_router("/caseloads", "exports")

Reader = Annotated[Actor, Depends(require_for_clients(Permission.QUEUE_READ))]

MINE_VISIBILITY = (
    "Your own cases: Coordinated Entry enrollments with an active case assignment to you, of "
    "clients you may see (see clients); Document Check items only where you may see Document "
    "Check (the CAS organization and admins)."
)
ORGANIZATION_VISIBILITY = (
    "The cases of the organization you act for: Coordinated Entry enrollments with an active "
    "case assignment to one of its current members, of clients you may see (see clients); "
    "Document Check items only where you may see Document Check."
)


async def caseload_filters(
    status: Annotated[
        list[IntakeStatus], Query(description="Intake statuses to keep (repeatable).")
    ] = [],  # noqa: B006 - FastAPI copies query defaults
    client_id: Annotated[uuid.UUID | None, Query(description="One client's case.")] = None,
    chronic: Annotated[ChronicFilter | None, Query()] = None,
    household_type: Annotated[list[HouseholdType], Query(description="Repeatable.")] = [],  # noqa: B006
    household_size_min: Annotated[int | None, Query(ge=1, le=100)] = None,
    household_size_max: Annotated[int | None, Query(ge=1, le=100)] = None,
    referral_status: Annotated[
        list[ReferralStatus],
        Query(
            description="The case's referral status column (the household's entry's as of "
            "today; `enrolled` once housed through a match; `none` off the queue). Repeatable."
        ),
    ] = [],  # noqa: B006
    case_manager_id: Annotated[
        uuid.UUID | None, Query(description="Cases assigned to this user (a case manager).")
    ] = None,
    veteran: Annotated[bool | None, Query()] = None,
    score_min: Annotated[int | None, Query(ge=0, le=SCORE_LIMIT)] = None,
    score_max: Annotated[int | None, Query(ge=0, le=SCORE_LIMIT)] = None,
    inactive: Annotated[
        bool | None,
        Query(description="true: the client had no contact for 90 days; false: a recent one."),
    ] = None,
    area: Annotated[
        str | None,
        Query(max_length=50, description="An area tie of the head (a code of the CoC's list)."),
    ] = None,
    document_status: Annotated[DocumentStatus | None, Query()] = None,
    on_queue: Annotated[
        bool | None,
        Query(description="true: the household has an open queue entry; false: it has none."),
    ] = None,
    prioritization_status: Annotated[
        PrioritizationStatus | None,
        Query(description="4.19.7 of the latest CE assessment (1 placed, 2 not placed)."),
    ] = None,
) -> svc.CaseloadFilters:
    # Repeated values are one value (the body's lists are bounded by the number of codes).
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
    return svc.CaseloadFilters(
        queue=to_filter(fields),
        on_queue=on_queue,
        prioritization_status=prioritization_status,
    )


Filters = Annotated[svc.CaseloadFilters, Depends(caseload_filters)]
Sort = Annotated[
    CaseloadSortOrder,
    Query(
        description="Order: `enroll_date`, `days_enrolled`, `client_id`, "
        "`prioritization_status`, `last_assessment_date`, `last_service_date`, "
        "`last_cls_date`, and the queue's `rank`, `score`, `intake_status`, `household_type`, "
        "`household_size` (of the household's entry; cases not on the queue first, except by "
        "rank), `referral_status` (the column); ties by the case's enrollment id. A leading "
        "`-` lists exactly the reverse."
    ),
]
Format = Annotated[ExportFormat, Query(description="csv or xlsx.")]
DEFAULT_SORT = CaseloadSortOrder.ENROLL_DATE_DESC

EXPORT_PAGE = 500


def export_response(
    description: str,
) -> dict[int | str, dict[str, Any]]:
    binary = {"type": "string", "format": "binary"}
    return {
        200: {
            "description": description,
            "content": {
                "application/octet-stream": {"schema": binary},
                MEDIA_TYPES[ExportFormat.CSV]: {"schema": binary},
                MEDIA_TYPES[ExportFormat.XLSX]: {"schema": binary},
            },
        }
    }


EXPORT_RESPONSES = export_response(
    "The file: `text/csv` for `format=csv`, the XLSX media type for `format=xlsx`; "
    "`Content-Disposition: attachment` names it."
)


async def _list(
    session: Session,
    actor: Actor,
    caseload: Caseload,
    filters: svc.CaseloadFilters,
    page: Any,
    sort: CaseloadSortOrder,
) -> dict[str, object]:
    order = svc.CaseloadOrder.parse(sort)
    return (await svc.list_caseload(session, actor, caseload, filters, page, order)).body()


@router.get(
    "/mine",
    name="caseloads_mine",
    summary="My CAS active cases",
    response_model=Page[CaseloadRow],
    openapi_extra=documented(MINE_VISIBILITY),
)
async def list_mine(
    actor: Reader,
    session: Session,
    page: Pages,
    filters: Filters,
    sort: Sort = DEFAULT_SORT,
) -> dict[str, object]:
    """Your CAS active cases (seed 001 "My CAS Active Cases"): the Coordinated Entry enrollments
    assigned to you.

    Each case with the columns of the seeds' My CAS Active Cases: client id and name, enroll
    date, days enrolled in CAS, exit date, prioritization status (4.19.7 of the latest CE
    assessment), the household's intake status on the queue, the dates of the last assessment
    and of the most recent service, the most recent current living situation and its date, the
    referral status, the documents on file, and the assigned case managers. Filters (combined
    with AND): the queue's, read from the household's open queue entry (status, chronic,
    household type and size, referral status, veteran, score range, area tie, document
    status: a case not on the queue matches none of them); the case's own client, case manager
    and inactivity; whether the household is on the queue; the prioritization status. Sorted
    by `sort` (a leading `-` reverses it); keyset pagination (a cursor continues only the sort
    it was made for: another is a 422). The read of every client listed is audited."""
    return await _list(session, actor, Caseload.MINE, filters, page, sort)


@router.get(
    "/organization",
    name="caseloads_organization",
    summary="My organization's CAS active cases",
    response_model=Page[CaseloadRow],
    openapi_extra=documented(ORGANIZATION_VISIBILITY),
)
async def list_organization(
    actor: Reader,
    session: Session,
    page: Pages,
    filters: Filters,
    sort: Sort = DEFAULT_SORT,
) -> dict[str, object]:
    """The CAS active cases of your organization (seed 001 "My Org CAS Active Cases"): those
    assigned to its members, for program managers and team leaders; `case_manager_id` narrows
    them to one member's.

    Each case with the columns of the seeds' My CAS Active Cases: client id and name, enroll
    date, days enrolled in CAS, exit date, prioritization status (4.19.7 of the latest CE
    assessment), the household's intake status on the queue, the dates of the last assessment
    and of the most recent service, the most recent current living situation and its date, the
    referral status, the documents on file, and the assigned case managers. Filters (combined
    with AND): the queue's, read from the household's open queue entry (status, chronic,
    household type and size, referral status, veteran, score range, area tie, document
    status: a case not on the queue matches none of them); the case's own client, case manager
    and inactivity; whether the household is on the queue; the prioritization status. Sorted
    by `sort` (a leading `-` reverses it); keyset pagination (a cursor continues only the sort
    it was made for: another is a 422). The read of every client listed is audited."""
    return await _list(session, actor, Caseload.ORGANIZATION, filters, page, sort)


async def _search(
    session: Session, actor: Actor, caseload: Caseload, body: CaseloadSearch
) -> dict[str, object]:
    filters = svc.CaseloadFilters(
        queue=to_filter(body, name=body.name),
        on_queue=body.on_queue,
        prioritization_status=body.prioritization_status,
    )
    page = PageParams(limit=body.limit, cursor=body.cursor)
    order = svc.CaseloadOrder.parse(body.sort)
    found = await svc.list_caseload(session, actor, caseload, filters, page, order, loc="body")
    return found.body()


@router.post(
    "/mine/search",
    name="caseloads_mine_search",
    summary="Search my CAS active cases",
    response_model=Page[CaseloadRow],
    openapi_extra=documented(MINE_VISIBILITY),
)
async def search_mine(actor: Reader, session: Session, body: CaseloadSearch) -> dict[str, object]:
    """Your CAS active cases (`GET /api/v1/caseloads/mine`) found by the client's name.

    The filters, `sort`, `limit` and `cursor` of the list, and the client's name, in a body
    (names never travel in URLs). Nothing is created; every client listed is audited as
    read."""
    return await _search(session, actor, Caseload.MINE, body)


@router.post(
    "/organization/search",
    name="caseloads_organization_search",
    summary="Search my organization's CAS active cases",
    response_model=Page[CaseloadRow],
    openapi_extra=documented(ORGANIZATION_VISIBILITY),
)
async def search_organization(
    actor: Reader, session: Session, body: CaseloadSearch
) -> dict[str, object]:
    """Your organization's CAS active cases (`GET /api/v1/caseloads/organization`) found by the
    client's name.

    The filters, `sort`, `limit` and `cursor` of the list, and the client's name, in a body
    (names never travel in URLs). Nothing is created; every client listed is audited as
    read."""
    return await _search(session, actor, Caseload.ORGANIZATION, body)


async def _sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    """Where an export reads its later pages (one unit of work each, as the body is sent)."""
    maker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return maker


Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(_sessionmaker)]


async def _replica(request: Request) -> AsyncIterator[AsyncSession | None]:
    """Where an export reads its rows when a read replica is configured
    (``CAS_DATABASE_REPLICA_URL``): one session, one repeatable-read read-only transaction for
    the whole file, closed once the response has been sent (or has failed). None: the export
    reads on the primary, as everything else does."""
    maker: async_sessionmaker[AsyncSession] | None = request.app.state.replica_sessionmaker
    if maker is None:
        yield None
        return
    async with maker() as session:
        yield session


Replica = Annotated[AsyncSession | None, Depends(_replica)]


async def _export(
    sessions: async_sessionmaker[AsyncSession],
    session: Session,
    replica: AsyncSession | None,
    actor: Actor,
    caseload: Caseload,
    filters: svc.CaseloadFilters,
    sort: CaseloadSortOrder,
    fmt: ExportFormat,
) -> StreamingResponse:
    export = await svc.export_caseload(
        session,
        actor,
        caseload,
        filters,
        svc.CaseloadOrder.parse(sort),
        page_size=EXPORT_PAGE,
        sessionmaker=sessions,
        replica=replica,
    )
    stem = f"cas-caseload-{caseload}"
    return StreamingResponse(
        exports.stream(export, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": exports.content_disposition(stem, fmt, clock.today(actor))},
    )


@exports_router.get(
    "/mine/export",
    name="caseloads_mine_export",
    summary="Export my CAS active cases",
    response_class=StreamingResponse,
    responses=EXPORT_RESPONSES,
    dependencies=[ExportRateLimited],
    openapi_extra=documented(MINE_VISIBILITY, sends=(CONTENT_DISPOSITION,)),
)
async def export_mine(
    sessions: Sessions,
    actor: Reader,
    session: Session,
    replica: Replica,
    filters: Filters,
    format: Format,
    sort: Sort = DEFAULT_SORT,
) -> StreamingResponse:
    """Your CAS active cases as CSV or XLSX, with the columns, filters and sort of
    `GET /api/v1/caseloads/mine`.

    Streamed as an `attachment`: `format=csv` (UTF-8 with a byte-order mark) or `format=xlsx`
    (one worksheet). Every client in the file is recorded as read in the audit trail, page by
    page, before its rows are sent."""
    return await _export(sessions, session, replica, actor, Caseload.MINE, filters, sort, format)


@exports_router.get(
    "/organization/export",
    name="caseloads_organization_export",
    summary="Export my organization's CAS active cases",
    response_class=StreamingResponse,
    responses=EXPORT_RESPONSES,
    dependencies=[ExportRateLimited],
    openapi_extra=documented(ORGANIZATION_VISIBILITY, sends=(CONTENT_DISPOSITION,)),
)
async def export_organization(
    sessions: Sessions,
    actor: Reader,
    session: Session,
    replica: Replica,
    filters: Filters,
    format: Format,
    sort: Sort = DEFAULT_SORT,
) -> StreamingResponse:
    """Your organization's CAS active cases as CSV or XLSX, with the columns, filters and sort
    of `GET /api/v1/caseloads/organization`.

    Streamed as an `attachment`: `format=csv` (UTF-8 with a byte-order mark) or `format=xlsx`
    (one worksheet). Every client in the file is recorded as read in the audit trail, page by
    page, before its rows are sent."""
    return await _export(
        sessions, session, replica, actor, Caseload.ORGANIZATION, filters, sort, format
    )
