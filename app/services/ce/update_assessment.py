"""The Update Assessment (update or annual) on an open CE enrollment: the household stay's
workflow pass with CLS, barriers, the diversion assessment, income and benefits (4.02-4.04),
domestic violence (4.11), area ties and the outcome. An annual assessment (stage 5) lies within
30 days of the anniversary of the head of household's entry date.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import Conflict
from app.models.enrollments import Enrollment, EnrollmentAssessment
from app.reference.ce import ANNUAL_STAGE, check_annual_window
from app.schemas.enrollments import AssessmentCreate
from app.services.ce.area_ties import add_area_ties
from app.services.ce.barriers import check_barriers
from app.services.ce.enrollments import check_record_date, head_of, household_group, require_open
from app.services.ce.income import (
    check_may_record_dv,
    record_domestic_violence,
    record_income_benefits,
)
from app.services.ce.outcome import (
    OUTCOME,
    OutcomeResult,
    apply_outcome,
    check_outcome_fields,
    current_outcome,
    target_outcome,
)
from app.services.ce.policy import EnrollmentNotWritable, writable_enrollments
from app.services.ce.records import (
    record_barriers,
    record_cls,
    record_diversion_assessment,
    start_assessment,
)


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
    if body.data_collection_stage == ANNUAL_STAGE:
        check_annual_window(head.entry_date, on, "assessment_date")
    current = current_outcome(head)
    target = target_outcome(current, body.ready_for_outcome, body.diverted)
    check_outcome_fields(body, current, target)
    OUTCOME.check(current, target, actor)
    check_barriers(body.barriers, enrollment.disabling_condition, disabling_field="barriers")
    if body.domestic_violence is not None:
        check_may_record_dv(actor, enrollment, "domestic_violence")
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
    if body.income_benefits is not None:
        await record_income_benefits(
            session,
            actor,
            enrollment,
            body.income_benefits,
            stage=body.data_collection_stage,
            default_date=on,
            assessment_id=assessment.id,
            prefix="income_benefits",
        )
    if body.domestic_violence is not None:
        # 4.11 is collected at project start and update: an annual pass records an update.
        await record_domestic_violence(
            session,
            actor,
            enrollment,
            body.domestic_violence,
            stage=2,
            default_date=on,
            assessment_id=assessment.id,
            prefix="domestic_violence",
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
