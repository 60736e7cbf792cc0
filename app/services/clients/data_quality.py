"""Data-quality flags (``app.reference.data_quality``) and the admins' DQ report.

HUD accepts these values (and so does the API); they are flagged as ``data_quality_issues``
rows when a client or an enrollment is recorded or changed, and resolved when the value is
corrected. The report lists the open issues of the acting CoC for system and CAS admins: ids
and kinds only, never the values (PII). Issues of voided enrollments are left out.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.models import Client
from app.models.data_quality import DataQualityIssue
from app.models.enrollments import Enrollment
from app.reference.data_quality import (
    CLIENT_KINDS,
    ENROLLMENT_KINDS,
    client_issues,
    enrollment_issues,
)
from app.schemas.pagination import PageParams
from app.services.platform.pagination import PageOf, paginate


async def _sync(
    session: AsyncSession,
    *,
    coc_id: uuid.UUID,
    client_id: uuid.UUID,
    enrollment_id: uuid.UUID | None,
    organization_id: uuid.UUID,
    kinds: Sequence[str],
    found: set[str],
) -> None:
    """Open the issues of ``found`` that are not open yet; resolve the open ones of ``kinds``
    that are no longer found."""
    stmt = select(DataQualityIssue).where(
        DataQualityIssue.client_id == client_id,
        DataQualityIssue.kind.in_(kinds),
        DataQualityIssue.resolved_at.is_(None),
    )
    stmt = stmt.where(
        DataQualityIssue.enrollment_id == enrollment_id
        if enrollment_id is not None
        else DataQualityIssue.enrollment_id.is_(None)
    )
    open_ = {i.kind: i for i in (await session.scalars(stmt)).all()}
    for kind, issue in open_.items():
        if kind not in found:
            issue.resolved_at = clock.now()
    for kind in sorted(found - set(open_)):
        session.add(
            DataQualityIssue(
                coc_id=coc_id,
                client_id=client_id,
                enrollment_id=enrollment_id,
                organization_id=organization_id,
                kind=kind,
                detected_at=clock.now(),
            )
        )


async def refresh_client(session: AsyncSession, client: Client, ssn: str | None) -> None:
    """Flag (or clear) the client's own issues and those of its enrollments' entry dates
    (``ssn``: the plain SSN as stored; the DOB is read from the client)."""
    await _sync(
        session,
        coc_id=client.coc_id,
        client_id=client.id,
        enrollment_id=None,
        organization_id=client.created_by_organization_id,
        kinds=CLIENT_KINDS,
        found=client_issues(ssn, client.dob),
    )
    enrollments = (
        await session.scalars(select(Enrollment).where(Enrollment.client_id == client.id))
    ).all()
    for e in enrollments:
        await _refresh_enrollment(session, e, client.dob)
    await session.flush()


async def refresh_enrollments(session: AsyncSession, enrollments: Sequence[Enrollment]) -> None:
    """Flag (or clear) the DOB issues of these enrollments at their entry dates."""
    if not enrollments:
        return
    dobs: dict[uuid.UUID, date | None] = dict(
        (
            await session.execute(
                select(Client.id, Client.dob).where(
                    Client.id.in_({e.client_id for e in enrollments})
                )
            )
        ).all()
    )
    for e in enrollments:
        await _refresh_enrollment(session, e, dobs.get(e.client_id))
    await session.flush()


async def _refresh_enrollment(session: AsyncSession, e: Enrollment, dob: date | None) -> None:
    await _sync(
        session,
        coc_id=e.coc_id,
        client_id=e.client_id,
        enrollment_id=e.id,
        organization_id=e.created_by_organization_id,
        kinds=ENROLLMENT_KINDS,
        found=enrollment_issues(dob, e.entry_date),
    )


async def list_issues(
    session: AsyncSession,
    actor: Actor,
    page: PageParams,
    *,
    organization_id: uuid.UUID | None,
    kind: str | None,
) -> PageOf[DataQualityIssue]:
    """The acting CoC's open issues, newest first (keyset pages on detected_at, id)."""
    stmt = select(DataQualityIssue).where(
        DataQualityIssue.coc_id == actor.coc_id,
        DataQualityIssue.resolved_at.is_(None),
        or_(
            DataQualityIssue.enrollment_id.is_(None),
            DataQualityIssue.enrollment_id.not_in(
                select(Enrollment.id).where(Enrollment.voided_at.is_not(None))
            ),
        ),
    )
    if organization_id is not None:
        stmt = stmt.where(DataQualityIssue.organization_id == organization_id)
    if kind is not None:
        stmt = stmt.where(DataQualityIssue.kind == kind)
    return await paginate(
        session,
        stmt,
        page,
        [DataQualityIssue.detected_at, DataQualityIssue.id],
        descending=True,
    )
