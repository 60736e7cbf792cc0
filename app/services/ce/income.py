"""4.02-4.04 income, benefits and health insurance (``IncomeBenefits``) and 4.11 domestic
violence (``HealthAndDv``) records: in the intake (entry, stage 1), the update assessment
(update 2 / annual 5), the exit (3) and as records of their own.

Dates follow the stage (HUD 5.03): an entry record is dated the entry date (the seeds' "Income
Assessment Date" is the project start date), an exit record the exit date, an annual one lies
within 30 days of the anniversary of the head of household's entry, an update inside the stay.
One entry and one exit record per enrollment (unique indexes back it).

Domestic violence answers are read and written only by whom ``policy.can_see_domestic_violence``
names; for everyone else the records do not exist (404) and latest values leave them out.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import Conflict, NotFound, ValidationFailed
from app.models.ce_records import HealthAndDv, IncomeBenefits
from app.models.enrollments import Enrollment
from app.reference.ce import ANNUAL_STAGE, check_annual_window
from app.reference.income import check_domestic_violence, check_income_benefits
from app.schemas.enrollments import DomesticViolenceIn, IncomeBenefitsIn
from app.schemas.pagination import PageParams
from app.services.ce.enrollments import check_record_date
from app.services.ce.policy import can_see_domestic_violence
from app.services.platform import audit
from app.services.platform.pagination import PageOf, paginate

_STAGE_NAMES = {1: "entry", 2: "update", 3: "exit", 5: "annual assessment"}


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


async def head_entry_date(session: AsyncSession, enrollment: Enrollment) -> date:
    if enrollment.id == enrollment.household_group_id:
        return enrollment.entry_date
    head = await session.scalar(
        select(Enrollment.entry_date).where(Enrollment.id == enrollment.household_group_id)
    )
    return head or enrollment.entry_date


async def check_stage_date(
    session: AsyncSession,
    actor: Actor,
    enrollment: Enrollment,
    stage: int,
    on: date,
    field: str,
    *,
    element: str,
) -> None:
    """HUD 5.03: the record's date agrees with its data collection stage."""
    if stage == 1 and on != enrollment.entry_date:
        raise ValidationFailed(
            f"HUD {element} / 5.03: an entry record (stage 1) is dated the entry date "
            f"{enrollment.entry_date}.",
            field=field,
        )
    if stage == 3 and (enrollment.exit_date is None or on != enrollment.exit_date):
        raise ValidationFailed(
            f"HUD {element} / 5.03: an exit record (stage 3) is dated the exit date"
            + (f" {enrollment.exit_date}." if enrollment.exit_date else "; exit first."),
            field=field,
        )
    check_record_date(enrollment, on, field, clock.today(actor))
    if stage == ANNUAL_STAGE:
        check_annual_window(await head_entry_date(session, enrollment), on, field)


async def _once_per_stage(
    session: AsyncSession, model: Any, enrollment: Enrollment, stage: int, element: str
) -> None:
    if stage not in (1, 3) or (model is HealthAndDv and stage != 1):
        return
    existing = await session.scalar(
        select(model.id).where(
            model.enrollment_id == enrollment.id, model.data_collection_stage == stage
        )
    )
    if existing is not None:
        raise Conflict(
            f"HUD {element}: this enrollment already has its {_STAGE_NAMES[stage]} record.",
            extra={"record_id": str(existing)},
        )


def _stamp(actor: Actor) -> dict[str, Any]:
    return {
        "created_by_user_id": actor.user_id,
        "created_by_organization_id": actor.organization_id,
    }


async def record_income_benefits(
    session: AsyncSession,
    actor: Actor,
    enrollment: Enrollment,
    data: IncomeBenefitsIn,
    *,
    stage: int,
    default_date: date,
    assessment_id: Any,
    prefix: str,
) -> IncomeBenefits:
    values = data.model_dump()
    values.pop("data_collection_stage", None)
    on = values.pop("information_date") or default_date
    values = check_income_benefits(values, prefix)
    await check_stage_date(
        session, actor, enrollment, stage, on, _join(prefix, "information_date"), element="4.02"
    )
    await _once_per_stage(session, IncomeBenefits, enrollment, stage, "4.02")
    row = IncomeBenefits(
        coc_id=enrollment.coc_id,
        enrollment_id=enrollment.id,
        client_id=enrollment.client_id,
        assessment_id=assessment_id,
        information_date=on,
        data_collection_stage=stage,
        **values,
        **_stamp(actor),
    )
    session.add(row)
    await session.flush()
    audit.record(
        session,
        actor,
        "income_benefits.create",
        "income_benefits",
        row.id,
        {
            "enrollment_id": enrollment.id,
            "stage": stage,
            "information_date": on,
            "income_from_any_source": row.income_from_any_source,
            "benefits_from_any_source": row.benefits_from_any_source,
            "insurance_from_any_source": row.insurance_from_any_source,
        },
    )
    return row


def check_may_see_dv(actor: Actor, enrollment: Enrollment) -> None:
    """404 (the records do not exist for the caller) unless the DV policy names it."""
    if not can_see_domestic_violence(actor, enrollment.created_by_organization_id):
        raise NotFound("No such records.")


def check_may_record_dv(actor: Actor, enrollment: Enrollment, field: str) -> None:
    """Inside a workflow pass: a 422 on the ``domestic_violence`` block (nothing written)."""
    if not can_see_domestic_violence(actor, enrollment.created_by_organization_id):
        raise ValidationFailed(
            "HUD 4.11: domestic violence answers are recorded by the organization that enrolled "
            "the client, the CAS organization or an admin.",
            field=field,
        )


async def record_domestic_violence(
    session: AsyncSession,
    actor: Actor,
    enrollment: Enrollment,
    data: DomesticViolenceIn,
    *,
    stage: int,
    default_date: date,
    assessment_id: Any,
    prefix: str,
) -> HealthAndDv:
    values = data.model_dump()
    values.pop("data_collection_stage", None)
    on = values.pop("information_date") or default_date
    values = check_domestic_violence(values, prefix)
    await check_stage_date(
        session, actor, enrollment, stage, on, _join(prefix, "information_date"), element="4.11"
    )
    await _once_per_stage(session, HealthAndDv, enrollment, stage, "4.11")
    row = HealthAndDv(
        coc_id=enrollment.coc_id,
        enrollment_id=enrollment.id,
        client_id=enrollment.client_id,
        assessment_id=assessment_id,
        information_date=on,
        data_collection_stage=stage,
        **values,
        **_stamp(actor),
    )
    session.add(row)
    await session.flush()
    # The answers stay out of the append-only audit trail.
    audit.record(
        session,
        actor,
        "domestic_violence.create",
        "health_and_dv",
        row.id,
        {"enrollment_id": enrollment.id, "stage": stage, "information_date": on},
    )
    return row


async def list_income_benefits(
    session: AsyncSession, actor: Actor, enrollment: Enrollment, page: PageParams
) -> PageOf[IncomeBenefits]:
    """The enrollment's 4.02-4.04 records; the page is a read of the client's data (audited, one
    event naming the client)."""
    stmt = select(IncomeBenefits).where(
        IncomeBenefits.coc_id == enrollment.coc_id, IncomeBenefits.enrollment_id == enrollment.id
    )
    found = await paginate(session, stmt, page, [IncomeBenefits.created_at, IncomeBenefits.id])
    audit.record_pii_read(
        session, actor, "client", enrollment.client_id, fields=["income_benefits"]
    )
    return found


async def list_domestic_violence(
    session: AsyncSession, actor: Actor, enrollment: Enrollment, page: PageParams
) -> PageOf[HealthAndDv]:
    """The enrollment's 4.11 records (404 unless the DV policy names the caller); the read is
    audited as a read of the client's DV answers."""
    check_may_see_dv(actor, enrollment)
    stmt = select(HealthAndDv).where(
        HealthAndDv.coc_id == enrollment.coc_id, HealthAndDv.enrollment_id == enrollment.id
    )
    found = await paginate(session, stmt, page, [HealthAndDv.created_at, HealthAndDv.id])
    if found.items:
        audit.record_pii_read(
            session, actor, "client", enrollment.client_id, fields=["domestic_violence"]
        )
    return found
