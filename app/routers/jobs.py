"""Background jobs and their dead letter (system admins)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends, Query

from app.context import Actor
from app.deps import Session, require
from app.http.contract import documented
from app.http.pagination import Pages
from app.permissions import Permission
from app.reference.notifications import JobStatus
from app.routers import api_router
from app.schemas.common import problems
from app.schemas.jobs import JobRead
from app.schemas.pagination import Page
from app.services.platform import jobs as svc

router = api_router("/jobs", "jobs")

Admin = Annotated[Actor, Depends(require(Permission.JOBS_MANAGE))]

JOBS = (
    "The jobs of the CoC you act for and the deployment's own (email delivery, housekeeping: "
    "`coc_id` null); payloads hold ids only. Another CoC's jobs answer 404."
)


async def visible_job(job_id: uuid.UUID, actor: Admin, session: Session) -> svc.Job:
    return await svc.get_job(session, actor, job_id)


VisibleJob = Annotated[svc.Job, Depends(visible_job)]


@router.get(
    "",
    name="jobs_list",
    summary="List background jobs",
    response_model=Page[JobRead],
    openapi_extra=documented(JOBS),
)
async def list_jobs(
    actor: Admin,
    session: Session,
    page: Pages,
    status: Annotated[
        JobStatus | None, Query(description="`dead`: the dead letter (failed every try).")
    ] = None,
    kind: Annotated[str | None, Query(max_length=60, examples=["webhooks.deliver"])] = None,
) -> dict[str, object]:
    """Jobs newest first: email and webhook deliveries, notification fan-outs, scans and
    housekeeping, with their tries, last error and the worker that ran them."""
    return (await svc.list_jobs(session, actor, page, status=status, kind=kind)).body()


@router.get(
    "/{job_id}",
    name="jobs_get",
    summary="Read a background job",
    response_model=JobRead,
    openapi_extra=documented(JOBS),
)
async def get_job(job: VisibleJob) -> svc.Job:
    """One job."""
    return job


@router.post(
    "/{job_id}/retry",
    name="jobs_retry",
    summary="Retry a dead job",
    response_model=JobRead,
    responses=problems(409),
    openapi_extra=documented(JOBS),
)
async def retry_job(job: VisibleJob, actor: Admin, session: Session) -> svc.Job:
    """Queue a dead job again with a fresh count of tries (409 for any other status). Jobs are
    idempotent: a retry never sends what was already sent."""
    return await svc.retry(session, actor, job)
