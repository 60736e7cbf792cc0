"""The queue as a CSV or XLSX file: any filtered list of ``GET /queue-entries`` (or of its
search by name), streamed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.deps import ExportRateLimited, Session
from app.http.contract import CONTENT_DISPOSITION, documented
from app.reference.exports import MEDIA_TYPES, ExportFormat
from app.reference.queue import QueueSortOrder
from app.routers import api_router
from app.routers.caseloads import EXPORT_RESPONSES, Format, Replica, Sessions
from app.routers.queue import QUEUE_VISIBILITY, Filter, QueueReader, to_filter
from app.schemas.common import problems
from app.schemas.queue_flow import QueueExportSearch
from app.services.queue import exports
from app.services.queue.listing import QueueFilter, QueueOrder

router = api_router("/queue-exports", "exports")

EXPORT_PAGE = 500
STEM = "cas-queue"


async def _export(
    actor: Actor,
    session: Session,
    sessions: Sessions,
    replica: AsyncSession | None,
    f: QueueFilter,
    sort: QueueSortOrder,
    fmt: ExportFormat,
    loc: str,
) -> StreamingResponse:
    export = await exports.export_queue(
        session,
        actor,
        f,
        QueueOrder.parse(sort),
        page_size=EXPORT_PAGE,
        sessionmaker=sessions,
        replica=replica,
        loc=loc,
    )
    return StreamingResponse(
        exports.stream(export, fmt),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": exports.content_disposition(STEM, fmt, clock.today(actor))},
    )


@router.get(
    "",
    name="queue_export",
    summary="Export the queue",
    response_class=StreamingResponse,
    responses=EXPORT_RESPONSES | problems(404),
    dependencies=[ExportRateLimited],
    openapi_extra=documented(QUEUE_VISIBILITY, sends=(CONTENT_DISPOSITION,)),
)
async def export_queue(
    actor: QueueReader,
    session: Session,
    sessions: Sessions,
    replica: Replica,
    f: Filter,
    format: Format,
    sort: Annotated[
        QueueSortOrder, Query(description="As the list's `sort` (default: rank order).")
    ] = QueueSortOrder.RANK,
) -> StreamingResponse:
    """The queue as a file, with the filters and sort of `GET /api/v1/queue-entries` (every
    page of it): rank, client, intake status, placement, score, chronic status, household,
    referral and document status, inactivity, case managers. Streamed as an `attachment`:
    `format=csv` (UTF-8 with a byte-order mark) or `format=xlsx` (one worksheet), so a case
    manager can filter it by assigned case manager or status in a spreadsheet (the seeds' queue
    export). Every client in the file is recorded as read in the audit trail, page by page,
    before its rows are sent."""
    return await _export(actor, session, sessions, replica, f, sort, format, "query")


@router.post(
    "",
    name="queue_export_search",
    summary="Export a search of the queue",
    response_class=StreamingResponse,
    responses=EXPORT_RESPONSES | problems(404),
    dependencies=[ExportRateLimited],
    openapi_extra=documented(QUEUE_VISIBILITY, sends=(CONTENT_DISPOSITION,)),
)
async def export_queue_search(
    actor: QueueReader,
    session: Session,
    sessions: Sessions,
    replica: Replica,
    body: QueueExportSearch,
) -> StreamingResponse:
    """The queue found by `POST /api/v1/queue-entries/search` (its filters and the head of
    household's name, in a body so names never travel in URLs) as a CSV or XLSX file (`format`
    in the body), streamed like `GET /api/v1/queue-exports`. Nothing is created; every client
    in the file is audited as read."""
    return await _export(
        actor,
        session,
        sessions,
        replica,
        to_filter(body, name=body.name),
        body.sort,
        body.format,
        "body",
    )
