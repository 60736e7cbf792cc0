"""CE records (CLS, barriers, diversion and housing needs assessments, 4.19 / 4.20, services,
case notes), the outcome state machine and the Update Assessment.

``OUTCOME_TRANSITIONS`` is the one table of allowed outcome changes; the intake starts from
``None``. Placing a household creates its queue entry (intake status ``pending``); diverting it
exits the household (see ``exits``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import Conflict, ValidationFailed
from app.models.ce_records import (
    CaseNote,
    CeAssessment,
    CeEvent,
    CurrentLivingSituation,
    Disability,
    DiversionAssessment,
    HousingNeedsAssessment,
    Service,
)
from app.models.enrollments import Enrollment, EnrollmentAssessment, Exit
from app.models.queue import QueueEntry
from app.reference.ce import (
    CE_EVENTS,
    DIVERSION_OTHER,
    EVENT_WITH_CASE_MANAGE_AFTER,
    EVENT_WITH_DIVERSION_RESULT,
    EVENTS_WITH_REFERRAL_RESULT,
)
from app.reference.living_situations import check_current_living_situation, check_not_future
from app.schemas.enrollments import (
    AssessmentCreate,
    BarrierIn,
    CaseNoteCreate,
    CeAssessmentCreate,
    CeAssessmentOptions,
    CeEventCreate,
    CurrentLivingSituationIn,
    DiversionAssessmentIn,
    HousingNeedsIn,
    ServiceCreate,
    ServiceIn,
)
from app.services.ce.area_ties import add_area_ties
from app.services.ce.enrollments import (
    check_record_date,
    head_of,
    household_group,
    require_open,
)
from app.services.ce.policy import EnrollmentNotWritable, writable_enrollments
from app.services.clients import contacts
from app.services.platform import audit

OUTCOME_TRANSITIONS: dict[str | None, frozenset[str]] = {
    None: frozenset({"pending", "diverted", "placed"}),  # the intake
    "pending": frozenset({"pending", "diverted", "placed"}),
    "placed": frozenset({"placed"}),  # leaving the queue is an exit
    "diverted": frozenset(),  # a diverted household is exited
}

# Barriers that count toward the disabling condition only when indefinite and impairing.
NEEDS_INDEFINITE = frozenset({5, 7, 9, 10})


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


ALL_BARRIERS = frozenset({5, 6, 7, 8, 9, 10})


def _present(disability_type: int, response: int) -> bool:
    return response in ((1, 2, 3) if disability_type == 10 else (1,))


def barrier_verdict(answers: Sequence[tuple[int, int, int | None]]) -> tuple[bool, bool]:
    """``(type, response, indefinite_and_impairs)`` answers -> (some condition is disabling,
    every condition is answered and none can be disabling).

    Developmental disability and HIV/AIDS are disabling when present; the others only when
    also indefinite and impairing (DOMAIN 5 step 5, HUD 3.08)."""
    disabling = False
    ruled_out: set[int] = set()
    for kind, response, indefinite in answers:
        present = _present(kind, response)
        if present and (kind not in NEEDS_INDEFINITE or indefinite == 1):
            disabling = True
        if response == 0 or (present and kind in NEEDS_INDEFINITE and indefinite == 0):
            ruled_out.add(kind)
    return disabling, ruled_out == ALL_BARRIERS


def check_disabling_consistency(
    answers: Sequence[tuple[int, int, int | None]],
    disabling_condition: int | None,
    field: str,
    *,
    entry_stage: bool,
) -> None:
    """Disabling Condition agrees with the barriers: not No when a barrier is disabling, and
    (at entry, where it is derived from them) not Yes when all six are answered and none is."""
    disabling, none = barrier_verdict(answers)
    if disabling and disabling_condition == 0:
        raise ValidationFailed(
            "A disabling barrier is recorded, so disabling_condition cannot be 0 (No); "
            "correct the enrollment's disabling condition first.",
            field=field,
        )
    if entry_stage and none and disabling_condition == 1:
        raise ValidationFailed(
            "Every barrier is answered and none is disabling (present and, where it applies, "
            "indefinite and impairing), so disabling_condition cannot be 1 (Yes).",
            field=field,
        )


def check_barriers(
    barriers: Sequence[BarrierIn],
    disabling_condition: int | None,
    prefix: str = "barriers",
    disabling_field: str = "disabling_condition",
    *,
    entry_stage: bool = False,
) -> None:
    seen: set[int] = set()
    for i, b in enumerate(barriers):
        field = f"{prefix}.{i}"
        if b.disability_type in seen:
            raise ValidationFailed(
                "Each condition may be answered once.", field=f"{field}.disability_type"
            )
        seen.add(b.disability_type)
        positive = _present(b.disability_type, b.disability_response)
        if b.disability_type != 10 and b.disability_response in (2, 3):
            raise ValidationFailed(
                "Responses 2 and 3 are only for substance use (type 10).",
                field=f"{field}.disability_response",
            )
        if b.disability_type in NEEDS_INDEFINITE and positive:
            if b.indefinite_and_impairs is None:
                raise ValidationFailed(
                    "indefinite_and_impairs is required for this condition.",
                    field=f"{field}.indefinite_and_impairs",
                )
        elif b.indefinite_and_impairs is not None:
            raise ValidationFailed(
                "indefinite_and_impairs is asked only for a present physical, chronic health, "
                "mental health or substance use condition.",
                field=f"{field}.indefinite_and_impairs",
            )
    check_disabling_consistency(
        [(b.disability_type, b.disability_response, b.indefinite_and_impairs) for b in barriers],
        disabling_condition,
        disabling_field,
        entry_stage=entry_stage,
    )


async def check_disabling_against_entry_barriers(
    session: AsyncSession, enrollment: Enrollment, disabling_condition: int
) -> None:
    """Editing the entry's Disabling Condition: it must agree with the entry barriers."""
    rows = (
        await session.scalars(
            select(Disability).where(
                Disability.enrollment_id == enrollment.id, Disability.data_collection_stage == 1
            )
        )
    ).all()
    check_disabling_consistency(
        [(d.disability_type, d.disability_response, d.indefinite_and_impairs) for d in rows],
        disabling_condition,
        "disabling_condition",
        entry_stage=True,
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
    if not actor.organization.veteran_services:
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


@dataclass
class OutcomeResult:
    outcome: str
    queue_entry: QueueEntry | None = None
    exits: list[Exit] | None = None


def target_outcome(current: str | None, ready: bool, diverted: bool | None) -> str:
    if not ready:
        return current or "pending"
    if diverted is None:
        raise ValidationFailed(
            "diverted is required when ready_for_outcome is true.", field="diverted"
        )
    return "diverted" if diverted else "placed"


def check_transition(current: str | None, target: str) -> None:
    if target not in OUTCOME_TRANSITIONS[current]:
        raise Conflict(
            f"The outcome cannot change from {current} to {target}"
            + (" (exit the enrollment instead)." if current == "placed" else "."),
            errors=[
                {
                    "loc": ["body", "diverted"],
                    "msg": "outcome transition not allowed",
                    "type": "transition",
                }
            ],
        )


def check_outcome_fields(body: Any, current: str | None, target: str) -> None:
    """Which blocks of the body belong to which outcome (before anything is written)."""
    if not body.ready_for_outcome and body.diverted is not None:
        raise ValidationFailed(
            "diverted is answered only when ready_for_outcome is true.", field="diverted"
        )
    if target != "diverted" and body.diversion is not None:
        raise ValidationFailed(
            "diversion is recorded only when the household is diverted.", field="diversion"
        )
    if target != "placed" and body.housing_needs is not None:
        raise ValidationFailed(
            "The Housing Needs Assessment is recorded when the household is placed on the "
            "prioritization list.",
            field="housing_needs",
        )
    if target != "placed" and body.ce_assessment is not None:
        raise ValidationFailed(
            "ce_assessment is recorded when the household is placed.", field="ce_assessment"
        )
    if target == "diverted":
        d = body.diversion
        if d is None:
            raise ValidationFailed(
                "A diverted household needs the diversion exit (destination, services, CLS at "
                "exit).",
                field="diversion",
            )
        if d.destination // 100 == 1 or d.destination == 24:
            # ProbSolDivRRResult 1 means housed in a safe alternative: not homeless, not deceased.
            raise ValidationFailed(
                f"A successful diversion cannot exit to destination {d.destination}; record the "
                "safe alternative the household moved to (or answer diverted: false).",
                field="diversion.destination",
            )
        if not d.services:
            raise ValidationFailed(
                "At least one service that led to the diversion is required.",
                field="diversion.services",
            )
        if any(s.service_type == DIVERSION_OTHER for s in d.services) and not d.case_note:
            raise ValidationFailed(
                "'Successful Diversion Other' requires a case note describing the service.",
                field="diversion.case_note",
            )
        if d.exit_current_living_situation is None:
            raise ValidationFailed(
                "The current living situation at exit is required.",
                field="diversion.exit_current_living_situation",
            )
    if target == "placed" and current != "placed" and body.housing_needs is None:
        raise ValidationFailed(
            "Placing the household on the prioritization list needs the Housing Needs Assessment.",
            field="housing_needs",
        )


async def apply_outcome(
    session: AsyncSession,
    actor: Actor,
    group: list[Enrollment],
    body: Any,
    *,
    current: str | None,
    target: str,
    assessment: EnrollmentAssessment,
) -> OutcomeResult:
    """Record the outcome's records on the household stay (``group``, head first)."""
    head = head_of(group)
    on = assessment.assessment_date
    open_members = [e for e in group if e.exit_date is None]
    for e in open_members:
        if current is not None and e.outcome != target:
            audit.record(
                session,
                actor,
                "enrollment.update",
                "enrollment",
                e.id,
                {"outcome": {"old": e.outcome, "new": target}, "assessment_id": assessment.id},
            )
        e.outcome = target
    if target == "diverted":
        return OutcomeResult(
            "diverted", exits=await _divert(session, actor, head, open_members, body, assessment)
        )
    result = OutcomeResult(target)
    if target == "placed":
        if body.housing_needs is not None:
            await record_housing_needs(
                session,
                actor,
                head,
                body.housing_needs,
                default_date=on,
                assessment_id=assessment.id,
            )
        if current != "placed" or body.ce_assessment is not None:
            # Placing records the CE assessment (4.19, PrioritizationStatus 1); a household
            # already placed gets one when the update is a re-assessment (ce_assessment given).
            options = body.ce_assessment or CeAssessmentOptions()
            await record_ce_assessment(
                session,
                actor,
                head,
                CeAssessmentCreate(
                    assessment_date=on,
                    assessment_location=options.assessment_location or actor.organization.name,
                    assessment_type=options.assessment_type,
                    assessment_level=options.assessment_level,
                    prioritization_status=1,
                ),
                assessment_id=assessment.id,
            )
        if current != "placed":
            result.queue_entry = await place_on_queue(session, actor, head, on)
    await session.flush()
    return result


async def _divert(
    session: AsyncSession,
    actor: Actor,
    head: Enrollment,
    members: list[Enrollment],
    body: Any,
    assessment: EnrollmentAssessment,
) -> list[Exit]:
    from app.services.ce.exits import exit_enrollments

    d = body.diversion
    on = assessment.assessment_date
    exit_date = d.exit_date or on
    if exit_date < on:
        raise ValidationFailed(
            "The exit date is before the assessment date.", field="diversion.exit_date"
        )
    await record_ce_event(
        session,
        actor,
        head,
        CeEventCreate(event_date=on, event=2, prob_sol_div_rr_result=1),
        assessment_id=assessment.id,
    )
    services: list[Service] = []
    for i, s in enumerate(d.services):
        service_in: ServiceIn = s
        provided = service_in.date_provided or exit_date
        check_record_date(
            head, provided, f"diversion.services.{i}.date_provided", clock.today(actor)
        )
        if provided > exit_date:
            raise ValidationFailed(
                "The service is dated after the exit.",
                field=f"diversion.services.{i}.date_provided",
            )
        services.append(
            await record_service(
                session,
                actor,
                head,
                ServiceCreate(service_type=service_in.service_type, date_provided=provided),
                assessment_id=assessment.id,
            )
        )
    if d.case_note:
        other = next((s for s in services if s.service_type == DIVERSION_OTHER), None)
        await record_case_note(
            session,
            actor,
            head,
            CaseNoteCreate(
                note_date=exit_date, note=d.case_note, service_id=other.id if other else None
            ),
            assessment_id=assessment.id,
        )
    return await exit_enrollments(
        session,
        actor,
        members,
        exit_date=exit_date,
        destination=d.destination,
        destination_subsidy_type=d.destination_subsidy_type,
        other_destination=d.other_destination,
        exit_reason="successfully_diverted",
        cls=d.exit_current_living_situation,
        prefix="diversion",
        cls_field="exit_current_living_situation",
    )


async def place_on_queue(
    session: AsyncSession, actor: Actor, head: Enrollment, on: date
) -> QueueEntry:
    existing = await session.scalar(
        select(QueueEntry.id).where(
            QueueEntry.household_id == head.household_id, QueueEntry.closed_at.is_(None)
        )
    )
    if existing is not None:
        raise Conflict(
            "This household is already on the prioritization list.",
            extra={"queue_entry_id": str(existing)},
        )
    entry = QueueEntry(
        coc_id=head.coc_id,
        household_id=head.household_id,
        head_client_id=head.client_id,
        head_enrollment_id=head.id,
        intake_status="pending",
        placed_on=on,
        placed_by_user_id=actor.user_id,
    )
    session.add(entry)
    await session.flush()
    audit.record(
        session,
        actor,
        "queue_entry.create",
        "queue_entry",
        entry.id,
        {"household_id": head.household_id, "head_enrollment_id": head.id, "placed_on": on},
    )
    return entry


# --- the update assessment ---------------------------------------------------------------------


@dataclass
class UpdateResult:
    assessment: EnrollmentAssessment
    enrollment: Enrollment
    outcome: OutcomeResult


async def create_update_assessment(
    session: AsyncSession, actor: Actor, enrollment: Enrollment, body: AssessmentCreate
) -> UpdateResult:
    """Update / annual assessment on an open CE enrollment: CLS (required), barriers, the
    diversion assessment, area ties, and the outcome (pending -> placed or diverted). Members of
    the household the caller may not see or write get no CLS, keep their outcome and are not
    exited by a diversion."""
    require_open(enrollment)
    if not enrollment.is_coordinated_entry:
        raise Conflict("Update assessments are recorded on Coordinated Entry enrollments.")
    on = body.assessment_date
    check_record_date(enrollment, on, "assessment_date", clock.today(actor))
    # The pass is recorded on the household stay (the head's enrollment) and reaches the members
    # the caller may write; the others are left as they are.
    group = await writable_enrollments(session, actor, await household_group(session, enrollment))
    if not any(e.id == e.household_group_id for e in group):
        raise EnrollmentNotWritable(
            "Update assessments are recorded on the household's stay, the head of household's "
            "enrollment, which you may not change."
        )
    head = head_of(group)
    current = head.outcome
    target = target_outcome(current, body.ready_for_outcome, body.diverted)
    check_outcome_fields(body, current, target)
    check_transition(current, target)
    check_barriers(body.barriers, enrollment.disabling_condition, disabling_field="barriers")
    assessment = await start_assessment(
        session,
        actor,
        head,
        stage=body.data_collection_stage,
        on=on,
        ready=body.ready_for_outcome,
        before=current,
        after=target,
    )
    for e in group:
        if e.exit_date is None:
            await record_cls(
                session,
                actor,
                e,
                body.current_living_situation,
                default_date=on,
                assessment_id=assessment.id,
                prefix="current_living_situation",
            )
    await record_barriers(
        session,
        actor,
        enrollment,
        body.barriers,
        on=on,
        stage=body.data_collection_stage,
        assessment_id=assessment.id,
    )
    if body.diversion_assessment is not None:
        await record_diversion_assessment(
            session,
            actor,
            head,
            body.diversion_assessment,
            default_date=on,
            assessment_id=assessment.id,
        )
    await add_area_ties(
        session,
        actor,
        enrollment.client_id,
        body.area_ties,
        enrollment_id=enrollment.id,
        assessment_id=assessment.id,
    )
    outcome = await apply_outcome(
        session, actor, group, body, current=current, target=target, assessment=assessment
    )
    await session.flush()
    return UpdateResult(assessment=assessment, enrollment=enrollment, outcome=outcome)
