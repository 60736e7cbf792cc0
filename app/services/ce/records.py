"""CE records (CLS, barriers, diversion and housing needs assessments, 4.19 / 4.20, services,
case notes) and the workflow pass (``start_assessment``) they are collected in.

The outcome of a pass is ``outcome``; the Update Assessment ``update_assessment``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, Literal, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import ValidationFailed
from app.models.ce_records import (
    CaseNote,
    CeAssessment,
    CeEvent,
    CeRecord,
    CurrentLivingSituation,
    Disability,
    DiversionAssessment,
    HousingNeedsAssessment,
    Service,
)
from app.models.enrollments import Enrollment, EnrollmentAssessment
from app.models.queue import QueueEntry
from app.reference.ce import (
    CE_EVENTS,
    EVENT_WITH_CASE_MANAGE_AFTER,
    EVENT_WITH_DIVERSION_RESULT,
    EVENTS_WITH_REFERRAL_RESULT,
)
from app.reference.living_situations import check_current_living_situation, check_not_future
from app.schemas.enrollments import (
    BarrierIn,
    CaseNoteCreate,
    CeAssessmentCreate,
    CeEventCreate,
    CurrentLivingSituationIn,
    DiversionAssessmentIn,
    HousingNeedsIn,
    ServiceCreate,
)
from app.schemas.pagination import PageParams
from app.services.ce.enrollments import (
    household_group,
)
from app.services.ce.policy import can_set_hud_vash
from app.services.clients import contacts
from app.services.platform import audit
from app.services.platform.pagination import PageOf, paginate


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _stamp(actor: Actor) -> dict[str, Any]:
    return {
        "created_by_user_id": actor.user_id,
        "created_by_organization_id": actor.organization_id,
    }


# --- the workflow pass -------------------------------------------------------------------------


async def start_assessment(
    session: AsyncSession,
    actor: Actor,
    head: Enrollment,
    *,
    stage: int,
    on: date,
    ready: bool | None,
    before: str | None,
    after: str | None,
) -> EnrollmentAssessment:
    row = EnrollmentAssessment(
        coc_id=head.coc_id,
        enrollment_id=head.id,
        data_collection_stage=stage,
        assessment_date=on,
        ready_for_outcome=ready,
        outcome_before=before,
        outcome=after,
        **_stamp(actor),
    )
    session.add(row)
    await session.flush()
    audit.record(
        session,
        actor,
        "assessment.create",
        "enrollment_assessment",
        row.id,
        {"enrollment_id": head.id, "stage": stage, "assessment_date": on, "outcome": after},
    )
    return row


RecordT = TypeVar("RecordT", bound=Any)


async def _save(
    session: AsyncSession,
    actor: Actor,
    row: RecordT,
    entity: str,
    changes: dict[str, Any],
    *,
    contact: tuple[uuid.UUID, date] | None = None,
) -> RecordT:
    """Insert a CE record, count it as a contact when it is one, and audit its creation."""
    session.add(row)
    await session.flush()
    if contact is not None:
        await contacts.record_contact(session, contact[0], clock.local_noon(contact[1], actor))
    audit.record(session, actor, f"{entity}.create", entity, row.id, changes)
    return row


# --- records -----------------------------------------------------------------------------------


async def record_cls(
    session: AsyncSession,
    actor: Actor,
    enrollment: Enrollment,
    data: CurrentLivingSituationIn,
    *,
    default_date: date,
    assessment_id: uuid.UUID | None,
    prefix: str,
) -> CurrentLivingSituation:
    values = data.model_dump()
    values["information_date"] = values["information_date"] or default_date
    check_current_living_situation(
        values, prefix, clock.today(actor), coordinated_entry=enrollment.is_coordinated_entry
    )
    if values["information_date"] < enrollment.entry_date:
        raise ValidationFailed(
            "information_date is before the entry date.",
            field=_join(prefix, "information_date"),
        )
    row = CurrentLivingSituation(
        coc_id=enrollment.coc_id,
        enrollment_id=enrollment.id,
        client_id=enrollment.client_id,
        assessment_id=assessment_id,
        **values,
        **_stamp(actor),
    )
    return await _save(
        session,
        actor,
        row,
        "current_living_situation",
        {
            "enrollment_id": enrollment.id,
            "information_date": row.information_date,
            "current_living_situation": row.current_living_situation,
        },
        contact=(enrollment.client_id, row.information_date),
    )


async def record_barriers(
    session: AsyncSession,
    actor: Actor,
    enrollment: Enrollment,
    barriers: Sequence[BarrierIn],
    *,
    on: date,
    stage: int,
    assessment_id: uuid.UUID | None,
) -> list[Disability]:
    rows = [
        Disability(
            coc_id=enrollment.coc_id,
            enrollment_id=enrollment.id,
            client_id=enrollment.client_id,
            assessment_id=assessment_id,
            information_date=on,
            data_collection_stage=stage,
            **b.model_dump(),
            **_stamp(actor),
        )
        for b in barriers
    ]
    session.add_all(rows)
    await session.flush()
    if rows:
        audit.record(
            session,
            actor,
            "disabilities.create",
            "enrollment",
            enrollment.id,
            {"disability_types": [r.disability_type for r in rows], "stage": stage},
        )
    return rows


async def record_diversion_assessment(
    session: AsyncSession,
    actor: Actor,
    head: Enrollment,
    data: DiversionAssessmentIn,
    *,
    default_date: date,
    assessment_id: uuid.UUID | None,
    prefix: str = "diversion_assessment",
) -> DiversionAssessment:
    on = data.assessment_date or default_date
    today = clock.today(actor)
    check_not_future(on, prefix, "assessment_date", today)
    for name in ("housing_crisis_onset", "last_stable_housing_date"):
        check_not_future(getattr(data, name), prefix, name, today)
    row = DiversionAssessment(
        coc_id=head.coc_id,
        enrollment_id=head.id,
        client_id=head.client_id,
        assessment_id=assessment_id,
        assessment_date=on,
        housing_crisis_onset=data.housing_crisis_onset,
        last_stable_housing_date=data.last_stable_housing_date,
        assistance_needed=data.assistance_needed,
        **_stamp(actor),
    )
    return await _save(
        session,
        actor,
        row,
        "diversion_assessment",
        {"enrollment_id": head.id, "assessment_date": on},
        contact=(head.client_id, on),
    )


async def record_housing_needs(
    session: AsyncSession,
    actor: Actor,
    head: Enrollment,
    data: HousingNeedsIn,
    *,
    default_date: date,
    assessment_id: uuid.UUID | None,
    prefix: str = "housing_needs",
) -> HousingNeedsAssessment:
    """HUD-VASH eligibility is set only by users acting for a veteran-services organization;
    others keep the last recorded value."""
    vash = data.hud_vash_eligible
    if not can_set_hud_vash(actor):
        if vash is not None:
            raise ValidationFailed(
                "Only users acting for a veteran-services organization may set HUD-VASH "
                "eligibility.",
                field=_join(prefix, "hud_vash_eligible"),
            )
        group_ids = [e.id for e in await household_group(session, head)]
        vash = await session.scalar(
            select(HousingNeedsAssessment.hud_vash_eligible)
            .where(HousingNeedsAssessment.enrollment_id.in_(group_ids))
            .order_by(
                HousingNeedsAssessment.assessment_date.desc(),
                HousingNeedsAssessment.created_at.desc(),
            )
            .limit(1)
        )
    on = data.assessment_date or default_date
    check_not_future(on, prefix, "assessment_date", clock.today(actor))
    row = HousingNeedsAssessment(
        coc_id=head.coc_id,
        enrollment_id=head.id,
        client_id=head.client_id,
        assessment_id=assessment_id,
        assessment_date=on,
        sex_offender_registry=data.sex_offender_registry,
        meth_manufacturing_conviction=data.meth_manufacturing_conviction,
        behavioral_health_interest=data.behavioral_health_interest,
        hud_vash_eligible=vash,
        violence_trauma_or_unsafe=data.violence_trauma_or_unsafe,
        **_stamp(actor),
    )
    return await _save(
        session,
        actor,
        row,
        "housing_needs_assessment",
        {"enrollment_id": head.id, "assessment_date": on, "hud_vash_eligible": vash},
        contact=(head.client_id, on),
    )


async def record_ce_assessment(
    session: AsyncSession,
    actor: Actor,
    enrollment: Enrollment,
    data: CeAssessmentCreate,
    *,
    assessment_id: uuid.UUID | None,
) -> CeAssessment:
    row = CeAssessment(
        coc_id=enrollment.coc_id,
        enrollment_id=enrollment.id,
        client_id=enrollment.client_id,
        assessment_id=assessment_id,
        **data.model_dump(),
        **_stamp(actor),
    )
    return await _save(
        session,
        actor,
        row,
        "ce_assessment",
        {
            "enrollment_id": enrollment.id,
            "assessment_date": row.assessment_date,
            "prioritization_status": row.prioritization_status,
        },
        contact=(enrollment.client_id, row.assessment_date),
    )


async def check_prioritization_status(
    session: AsyncSession, enrollment: Enrollment, status: int, field: str
) -> None:
    """A 4.19 recorded on its own agrees with the queue: PrioritizationStatus 1 (placed) only
    while the household stay has an open queue entry, 2 (not placed) only while it has none.
    (The workflow records its own 4.19 with the outcome it reaches.)"""
    queued = await session.scalar(
        select(QueueEntry.id).where(
            QueueEntry.head_enrollment_id == enrollment.household_group_id,
            QueueEntry.closed_at.is_(None),
        )
    )
    if status == 1 and queued is None:
        raise ValidationFailed(
            "HUD 4.19.7: PrioritizationStatus 1 (placed on the prioritization list) needs the "
            "household on the queue; place it with an update assessment (ready_for_outcome: "
            "true, diverted: false).",
            field=field,
        )
    if status == 2 and queued is not None:
        raise ValidationFailed(
            "HUD 4.19.7: the household is on the prioritization list, so PrioritizationStatus "
            "cannot be 2 (not placed); a household leaves the list by its exit.",
            field=field,
        )


def check_ce_event(data: CeEventCreate, today: date, prefix: str = "") -> None:
    if data.event not in CE_EVENTS:
        raise ValidationFailed(f"{data.event} is not a 4.20.2 event.", field=_join(prefix, "event"))
    rules = (
        ("prob_sol_div_rr_result", EVENT_WITH_DIVERSION_RESULT),
        ("referral_case_manage_after", EVENT_WITH_CASE_MANAGE_AFTER),
        ("referral_result", EVENTS_WITH_REFERRAL_RESULT),
        ("location_crisis_or_ph_housing", EVENTS_WITH_REFERRAL_RESULT),
    )
    for name, events in rules:
        if getattr(data, name) is not None and data.event not in events:
            raise ValidationFailed(
                f"{name} does not belong to event {data.event}.", field=_join(prefix, name)
            )
    if data.event in EVENT_WITH_DIVERSION_RESULT and data.prob_sol_div_rr_result is None:
        raise ValidationFailed(
            "prob_sol_div_rr_result is required for event 2.",
            field=_join(prefix, "prob_sol_div_rr_result"),
        )
    if data.event in EVENT_WITH_CASE_MANAGE_AFTER and data.referral_case_manage_after is None:
        raise ValidationFailed(
            "referral_case_manage_after is required for event 5.",
            field=_join(prefix, "referral_case_manage_after"),
        )
    if data.result_date is not None and data.referral_result is None:
        raise ValidationFailed(
            "result_date needs a referral_result.", field=_join(prefix, "result_date")
        )
    if data.referral_result is not None and data.result_date is None:
        raise ValidationFailed(
            "result_date (4.20.E) is required with a referral_result.",
            field=_join(prefix, "result_date"),
        )
    check_not_future(data.event_date, prefix, "event_date", today)
    check_not_future(data.result_date, prefix, "result_date", today)
    if data.result_date is not None and data.result_date < data.event_date:
        raise ValidationFailed(
            "result_date is before the event date.", field=_join(prefix, "result_date")
        )


async def record_ce_event(
    session: AsyncSession,
    actor: Actor,
    enrollment: Enrollment,
    data: CeEventCreate,
    *,
    assessment_id: uuid.UUID | None,
) -> CeEvent:
    check_ce_event(data, clock.today(actor))
    row = CeEvent(
        coc_id=enrollment.coc_id,
        enrollment_id=enrollment.id,
        client_id=enrollment.client_id,
        assessment_id=assessment_id,
        **data.model_dump(),
        **_stamp(actor),
    )
    return await _save(
        session,
        actor,
        row,
        "ce_event",
        {"enrollment_id": enrollment.id, "event": row.event, "event_date": row.event_date},
    )


async def record_service(
    session: AsyncSession,
    actor: Actor,
    enrollment: Enrollment,
    data: ServiceCreate,
    *,
    assessment_id: uuid.UUID | None,
) -> Service:
    row = Service(
        coc_id=enrollment.coc_id,
        enrollment_id=enrollment.id,
        client_id=enrollment.client_id,
        assessment_id=assessment_id,
        date_provided=data.date_provided,
        service_type=data.service_type,
        **_stamp(actor),
    )
    return await _save(
        session,
        actor,
        row,
        "service",
        {
            "enrollment_id": enrollment.id,
            "service_type": row.service_type,
            "date_provided": row.date_provided,
        },
        contact=(enrollment.client_id, data.date_provided),
    )


async def record_case_note(
    session: AsyncSession,
    actor: Actor,
    enrollment: Enrollment,
    data: CaseNoteCreate,
    *,
    assessment_id: uuid.UUID | None,
) -> CaseNote:
    if data.service_id is not None:
        owner = await session.scalar(
            select(Service.enrollment_id).where(Service.id == data.service_id)
        )
        if owner != enrollment.id:
            raise ValidationFailed("No such service on this enrollment.", field="service_id")
    row = CaseNote(
        coc_id=enrollment.coc_id,
        enrollment_id=enrollment.id,
        client_id=enrollment.client_id,
        assessment_id=assessment_id,
        note_date=data.note_date,
        note=data.note,
        service_id=data.service_id,
        **_stamp(actor),
    )
    return await _save(
        session,
        actor,
        row,
        "case_note",
        # The note's text stays out of the append-only audit trail (it may hold clinical
        # details); its length shows that it was written.
        {"enrollment_id": enrollment.id, "note_date": row.note_date, "note_length": len(row.note)},
    )


# --- outcomes ----------------------------------------------------------------------------------


# --- the update assessment ---------------------------------------------------------------------


# --- lists -------------------------------------------------------------------------------------

RecordKind = Literal[
    "current_living_situations",
    "services",
    "case_notes",
    "ce_events",
    "ce_assessments",
    "disabilities",
    "diversion_assessments",
    "housing_needs_assessments",
]
_RECORDS: dict[RecordKind, type[CeRecord]] = {
    "current_living_situations": CurrentLivingSituation,
    "services": Service,
    "case_notes": CaseNote,
    "ce_events": CeEvent,
    "ce_assessments": CeAssessment,
    "disabilities": Disability,
    "diversion_assessments": DiversionAssessment,
    "housing_needs_assessments": HousingNeedsAssessment,
}


async def list_records(
    session: AsyncSession, actor: Actor, kind: RecordKind, enrollment: Enrollment, page: PageParams
) -> PageOf[CeRecord]:
    """One kind of CE record attached to the enrollment, oldest first. The page is a read of
    the client's data (case notes, disabilities, locations, ...): audited, one event naming the
    client."""
    model = _RECORDS[kind]
    stmt = select(model).where(
        model.coc_id == enrollment.coc_id, model.enrollment_id == enrollment.id
    )
    found = await paginate(session, stmt, page, [model.created_at, model.id])
    audit.record_pii_read(session, actor, "client", enrollment.client_id, fields=[kind])
    return found
