"""Case manager assignments on an enrollment: assign, end, end on exit, a client's list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import Conflict, NotFound, ValidationFailed
from app.models import Project
from app.models.enrollments import CaseAssignment, Enrollment
from app.schemas.enrollments import CaseAssignmentCreate
from app.schemas.pagination import PageParams
from app.services.ce.enrollments import check_case_manager, require_open
from app.services.platform import audit
from app.services.platform.pagination import PageOf, paginate


async def assign_case_manager(
    session: AsyncSession, actor: Actor, enrollment: Enrollment, data: CaseAssignmentCreate
) -> CaseAssignment:
    require_open(enrollment)
    project = await session.get_one(Project, enrollment.project_id)
    await check_case_manager(session, actor, data.user_id, project, "user_id")
    start = data.start_date or clock.today(actor)
    if start < enrollment.entry_date:
        raise ValidationFailed("start_date is before the entry date.", field="start_date")
    if data.end_date is not None and data.end_date < start:
        raise ValidationFailed("end_date is before start_date.", field="end_date")
    already = await session.scalar(
        select(CaseAssignment.id).where(
            CaseAssignment.enrollment_id == enrollment.id,
            CaseAssignment.user_id == data.user_id,
            CaseAssignment.status == "active",
        )
    )
    if already is not None:
        raise Conflict(
            "This user is already an active case manager of the enrollment.",
            errors=[{"loc": ["body", "user_id"], "msg": "already assigned", "type": "duplicate"}],
        )
    assignment = CaseAssignment(
        coc_id=enrollment.coc_id,
        enrollment_id=enrollment.id,
        client_id=enrollment.client_id,
        user_id=data.user_id,
        organization_id=actor.organization_id,
        start_date=start,
        end_date=data.end_date,
        status="active",
        assigned_by_user_id=actor.user_id,
    )
    session.add(assignment)
    await session.flush()
    audit.record(
        session,
        actor,
        "case_assignment.create",
        "case_assignment",
        assignment.id,
        {"enrollment_id": enrollment.id, "user_id": data.user_id, "start_date": start},
    )
    return assignment


async def get_assignment(
    session: AsyncSession, enrollment: Enrollment, assignment_id: uuid.UUID
) -> CaseAssignment:
    assignment = await session.scalar(
        select(CaseAssignment).where(
            CaseAssignment.id == assignment_id, CaseAssignment.enrollment_id == enrollment.id
        )
    )
    if assignment is None:
        raise NotFound("No such case assignment.")
    return assignment


async def end_assignment(
    session: AsyncSession, actor: Actor, assignment: CaseAssignment, end_date: date | None
) -> CaseAssignment:
    if assignment.status != "active":
        raise Conflict("The case assignment has already ended.")
    end = end_date or clock.today(actor)
    if end < assignment.start_date:
        raise ValidationFailed("end_date is before the assignment's start_date.", field="end_date")
    assignment.end_date = end
    assignment.status = "inactive"
    await session.flush()
    audit.record(
        session, actor, "case_assignment.end", "case_assignment", assignment.id, {"end_date": end}
    )
    return assignment


async def end_assignments(
    session: AsyncSession, actor: Actor, enrollment_ids: Sequence[uuid.UUID], end: date
) -> int:
    rows = (
        await session.scalars(
            select(CaseAssignment).where(
                CaseAssignment.enrollment_id.in_(enrollment_ids), CaseAssignment.status == "active"
            )
        )
    ).all()
    for a in rows:
        a.status = "inactive"
        a.end_date = max(end, a.start_date)
        audit.record(
            session,
            actor,
            "case_assignment.end",
            "case_assignment",
            a.id,
            {"end_date": a.end_date, "reason": "exit"},
        )
    return len(rows)


async def list_case_assignments(
    session: AsyncSession, actor: Actor, enrollment: Enrollment, page: PageParams
) -> PageOf[CaseAssignment]:
    """The enrollment's case assignments, oldest first (audited as a read of the client)."""
    stmt = select(CaseAssignment).where(
        CaseAssignment.coc_id == enrollment.coc_id, CaseAssignment.enrollment_id == enrollment.id
    )
    found = await paginate(session, stmt, page, [CaseAssignment.created_at, CaseAssignment.id])
    audit.record_pii_read(
        session, actor, "client", enrollment.client_id, fields=["case_assignments"]
    )
    return found


async def list_client_case_assignments(
    session: AsyncSession,
    actor: Actor,
    client_id: uuid.UUID,
    status: str | None,
    page: PageParams,
) -> PageOf[CaseAssignment]:
    """A (visible) client's active and inactive case managers across enrollments (audited as a
    read of the client)."""
    stmt = select(CaseAssignment).where(CaseAssignment.client_id == client_id)
    if status is not None:
        stmt = stmt.where(CaseAssignment.status == status)
    found = await paginate(session, stmt, page, [CaseAssignment.created_at, CaseAssignment.id])
    audit.record_pii_read(session, actor, "client", client_id, fields=["case_assignments"])
    return found
