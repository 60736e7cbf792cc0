"""The CE outcome of an intake or update assessment: pending, placed (on the prioritization
list: CE assessment 4.19 and the household's queue entry, intake status ``pending``) or
diverted (CE event, services, case note and the exit of the household, see ``exits``).

HUD's CE records follow the outcome: a household placed after an unsuccessful diversion
attempt gets the 4.20 event 2 (Problem Solving/Diversion) with result 0, as a diverted one gets
result 1; every intake, and every pass that changes the outcome or names ``ce_assessment``,
records a 4.19 assessment whose PrioritizationStatus says whether the household is on the list
(1) or not (2: assessed and not placed -- pending or diverted).

``OUTCOME`` is the one table of allowed outcome changes (on the shared state-machine helper);
the intake starts from ``None``. Whoever writes the enrollment (``enrollments:write``) moves its
outcome; each change of an enrollment that had one is written to the audit trail
(``enrollment.update``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import Conflict, ValidationFailed
from app.models.ce_records import Service
from app.models.enrollments import Enrollment, EnrollmentAssessment, Exit
from app.models.queue import QueueEntry, QueueScore, QueueTransition
from app.permissions import Permission
from app.reference.ce import DIVERSION_OTHER, Outcome
from app.reference.living_situations import check_destination, check_diversion_exit
from app.reference.queue import CloseReason, IntakeStatus
from app.schemas.enrollments import (
    CaseNoteCreate,
    CeAssessmentCreate,
    CeAssessmentOptions,
    CeEventCreate,
    OutcomeFields,
    ServiceCreate,
    ServiceIn,
)
from app.services.ce.enrollments import check_record_date, head_of
from app.services.ce.exits import exit_enrollments
from app.services.ce.records import (
    record_case_note,
    record_ce_assessment,
    record_ce_event,
    record_housing_needs,
    record_service,
)
from app.services.clients import access as client_access
from app.services.platform import audit
from app.services.platform.statemachine import AuditHistory, Machine, Rule

_WRITE = Rule[Outcome](Permission.ENROLLMENTS_WRITE)
_EXIT_INSTEAD = (
    "The outcome cannot change from placed to {target}: a placed household leaves the "
    "prioritization list by its exit (exit the enrollment instead)."
)

OUTCOME = Machine(
    "outcome",
    Outcome,
    {
        # The intake.
        (None, Outcome.PENDING): _WRITE,
        (None, Outcome.DIVERTED): _WRITE,
        (None, Outcome.PLACED): _WRITE,
        # An update assessment.
        (Outcome.PENDING, Outcome.PENDING): _WRITE,
        (Outcome.PENDING, Outcome.DIVERTED): _WRITE,
        (Outcome.PENDING, Outcome.PLACED): _WRITE,
        (Outcome.PLACED, Outcome.PLACED): _WRITE,  # a re-assessment; leaving the queue is an exit
        # A diverted household is exited: nothing moves on.
    },
    attribute="outcome",
    field="diverted",
    history=AuditHistory("enrollment", "enrollment.update"),
    explanations={
        (Outcome.PLACED, target): _EXIT_INSTEAD.format(target=target)
        for target in (Outcome.PENDING, Outcome.DIVERTED)
    },
)


@dataclass
class OutcomeResult:
    outcome: Outcome
    queue_entry: QueueEntry | None = None
    exits: list[Exit] | None = None


def current_outcome(enrollment: Enrollment) -> Outcome:
    return Outcome(enrollment.outcome)


def target_outcome(current: Outcome | None, ready: bool, diverted: bool | None) -> Outcome:
    if not ready:
        return current or Outcome.PENDING
    if diverted is None:
        raise ValidationFailed(
            "diverted is required when ready_for_outcome is true.", field="diverted"
        )
    return Outcome.DIVERTED if diverted else Outcome.PLACED


def check_outcome_fields(body: OutcomeFields, current: Outcome | None, target: Outcome) -> None:
    """Which blocks of the body belong to which outcome (before anything is written)."""
    if not body.ready_for_outcome and body.diverted is not None:
        raise ValidationFailed(
            "diverted is answered only when ready_for_outcome is true.", field="diverted"
        )
    if target != Outcome.DIVERTED and body.diversion is not None:
        raise ValidationFailed(
            "diversion is recorded only when the household is diverted.", field="diversion"
        )
    if target != Outcome.PLACED and body.housing_needs is not None:
        raise ValidationFailed(
            "The Housing Needs Assessment is recorded when the household is placed on the "
            "prioritization list.",
            field="housing_needs",
        )
    if target == Outcome.DIVERTED:
        d = body.diversion
        if d is None:
            raise ValidationFailed(
                "A diverted household needs the diversion exit (destination, services, CLS at "
                "exit).",
                field="diversion",
            )
        # ProbSolDivRRResult 1 means housed in a safe alternative, with the CLS at exit
        # corresponding to the destination.
        exit_cls = d.exit_current_living_situation
        check_destination(d.model_dump(), "diversion")
        check_diversion_exit(
            d.destination,
            d.destination_subsidy_type,
            exit_cls.model_dump() if exit_cls is not None else None,
            "diversion",
            "exit_current_living_situation",
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
    if target == Outcome.PLACED and current != Outcome.PLACED and body.housing_needs is None:
        raise ValidationFailed(
            "Placing the household on the prioritization list needs the Housing Needs Assessment.",
            field="housing_needs",
        )


async def apply_outcome(
    session: AsyncSession,
    actor: Actor,
    group: list[Enrollment],
    body: OutcomeFields,
    *,
    current: Outcome | None,
    target: Outcome,
    assessment: EnrollmentAssessment,
) -> OutcomeResult:
    """Record the outcome's records on the household stay (``group``, head first); the move
    from ``current`` to ``target`` was checked (``OUTCOME.check``) before anything was
    written."""
    head = head_of(group)
    on = assessment.assessment_date
    open_members = [e for e in group if e.exit_date is None]
    for e in open_members:
        if current is not None and e.outcome != target:
            OUTCOME.record(
                session,
                actor,
                e.id,
                current_outcome(e),
                target,
                extra={"assessment_id": assessment.id},
            )
        e.outcome = target
    if target != Outcome.PLACED and (
        current is None or current != target or body.ce_assessment is not None
    ):
        # Assessed and not placed (4.19.7 PrioritizationStatus 2); a crisis needs assessment
        # (level 1) unless the pass says otherwise.
        options = body.ce_assessment
        await record_ce_assessment(
            session,
            actor,
            head,
            CeAssessmentCreate(
                assessment_date=on,
                assessment_location=(options.assessment_location if options else None)
                or actor.organization.name,
                assessment_type=options.assessment_type if options else 3,
                assessment_level=options.assessment_level if options else 1,
                prioritization_status=2,
            ),
            assessment_id=assessment.id,
        )
    if target == Outcome.DIVERTED:
        return OutcomeResult(
            target, exits=await _divert(session, actor, head, open_members, body, assessment)
        )
    result = OutcomeResult(target)
    if target == Outcome.PLACED:
        if current != Outcome.PLACED:
            # The diversion attempt was answered No: 4.20 event 2 with result 0 (HUD 4.20.A).
            await record_ce_event(
                session,
                actor,
                head,
                CeEventCreate(event_date=on, event=2, prob_sol_div_rr_result=0),
                assessment_id=assessment.id,
            )
        if body.housing_needs is not None:
            await record_housing_needs(
                session,
                actor,
                head,
                body.housing_needs,
                default_date=on,
                assessment_id=assessment.id,
            )
        if current != Outcome.PLACED or body.ce_assessment is not None:
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
        if current != Outcome.PLACED:
            result.queue_entry = await place_on_queue(session, actor, head, on)
    await session.flush()
    return result


async def _divert(
    session: AsyncSession,
    actor: Actor,
    head: Enrollment,
    members: list[Enrollment],
    body: OutcomeFields,
    assessment: EnrollmentAssessment,
) -> list[Exit]:
    d = body.diversion
    assert d is not None  # check_outcome_fields
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
        income=d.income_benefits,
    )


async def place_on_queue(
    session: AsyncSession, actor: Actor, head: Enrollment, on: date
) -> QueueEntry:
    existing = await session.scalar(
        select(QueueEntry).where(
            QueueEntry.household_id == head.household_id, QueueEntry.closed_at.is_(None)
        )
    )
    if existing is not None:
        if not await client_access.can_see(session, actor, existing.head_client_id):
            # The entry names a head of household the caller may not see: no ids.
            raise Conflict(
                "This household is already on the prioritization list; contact the CAS team."
            )
        raise Conflict(
            "This household is already on the prioritization list.",
            extra={"queue_entry_id": str(existing.id)},
        )
    entry = QueueEntry(
        coc_id=head.coc_id,
        household_id=head.household_id,
        head_client_id=head.client_id,
        head_enrollment_id=head.id,
        intake_status=IntakeStatus.PENDING,
        placed_on=on,
        placed_by_user_id=actor.user_id,
    )
    last = await _last_score(session, head)
    if last is not None:
        entry.score = last.score
        entry.score_recorded_at = last.recorded_at
    session.add(entry)
    await session.flush()
    # The history starts with the placement (no status before it).
    session.add(
        QueueTransition(
            coc_id=entry.coc_id,
            queue_entry_id=entry.id,
            from_status=None,
            to_status=IntakeStatus.PENDING.value,
            actor_user_id=actor.user_id,
            acting_organization_id=actor.organization_id,
            note=None,
            incomplete_reasons=[],
        )
    )
    if last is not None:
        session.add(
            QueueScore(
                coc_id=entry.coc_id,
                queue_entry_id=entry.id,
                score=last.score,
                previous_score=None,
                tool=last.tool,
                reason=CARRIED_SCORE_REASON,
                recorded_by_user_id=actor.user_id,
                acting_organization_id=actor.organization_id,
            )
        )
    await session.flush()
    audit.record(
        session,
        actor,
        "queue_entry.create",
        "queue_entry",
        entry.id,
        {
            "household_id": head.household_id,
            "head_enrollment_id": head.id,
            "placed_on": on,
            **({"score_carried_from": last.queue_entry_id} if last is not None else {}),
        },
    )
    return entry


CARRIED_SCORE_REASON = (
    "Carried over from the household's previous queue entry: a re-encounter does not complete "
    "a new assessment (seed 002)."
)


async def _last_score(session: AsyncSession, head: Enrollment) -> QueueScore | None:
    """The latest score of an earlier queue entry of the household or of its head of household
    (not of a voided intake's): a re-encounter starts from it (seed 002, "do not complete a new
    VI-SPDAT")."""
    return await session.scalar(
        select(QueueScore)
        .join(QueueEntry, QueueEntry.id == QueueScore.queue_entry_id)
        .where(
            or_(
                QueueEntry.household_id == head.household_id,
                QueueEntry.head_client_id == head.client_id,
            ),
            QueueEntry.closed_reason.is_distinct_from(CloseReason.VOIDED.value),
        )
        .order_by(QueueScore.recorded_at.desc(), QueueScore.id.desc())
        .limit(1)
    )
