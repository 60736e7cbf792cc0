"""The CAS & Diversion Intake (DOMAIN 5 steps 1-9) as one all-or-nothing unit of work.

Everything is checked before the first row is written where it can be; whatever fails later
raises, and the request's unit of work rolls back, so a refused intake leaves no partial rows
(no new client, household, enrollment or record).

Steps: 1 client (existing or new) and family members -> 2 enrollment of the chosen members into
the CoC's CE project, case manager assigned -> 3 Disabling Condition + Prior Living Situation ->
4 translation assistance -> 5 barriers -> 6 CLS + diversion assessment -> 7 ready for outcome?
(no: *pending*) -> 8 diverted? (yes: CE event 2, services, case note, exit with CLS at exit:
*diverted*) -> 9 area ties, Housing Needs Assessment, CE assessment 4.19 with
PrioritizationStatus 1 and the household's queue entry (intake status pending): *placed*.
Income and benefits (4.02-4.04) and domestic violence (4.11) of the client are recorded at entry
(stage 1) when given.

Only an approved Access Point runs it (``policy.can_run_intake``, 403 otherwise). A new client
who may already be enrolled in Coordinated Entry by an agency the caller cannot see is refused
(409, see ``clients.duplicates``) before anything is written.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import ValidationFailed
from app.models import Client, Household, Membership, Organization, scoping
from app.models.enrollments import Enrollment, EnrollmentAssessment, Exit
from app.models.queue import QueueEntry
from app.reference.ce import Outcome
from app.reference.income import check_domestic_violence, check_income_benefits
from app.reference.living_situations import (
    check_current_living_situation,
    check_destination,
    check_not_future,
)
from app.schemas.clients import DuplicateCandidate
from app.schemas.enrollments import IntakeCreate
from app.services.ce import records as assessments
from app.services.ce.area_ties import add_area_ties
from app.services.ce.barriers import check_barriers
from app.services.ce.enrollments import (
    MemberPlan,
    already_enrolled,
    ce_project,
    check_case_manager,
    check_enrolling,
    check_new_clients,
    check_translation,
    enroll,
    open_ce_enrollment,
    plan_members,
    resolve_household,
    visible_family,
)
from app.services.ce.income import record_domestic_violence, record_income_benefits
from app.services.ce.outcome import OUTCOME, apply_outcome, check_outcome_fields, target_outcome
from app.services.ce.policy import AccessPointNotApproved, can_run_intake, can_set_hud_vash
from app.services.clients import access as client_access
from app.services.clients import core as clients
from app.services.clients import duplicates
from app.services.platform.crypto import FieldCipher


@dataclass
class IntakeResult:
    outcome: Outcome
    client: Client
    duplicates: list[DuplicateCandidate]
    enrollment: Enrollment
    enrollments: list[Enrollment]
    household: Household
    assessment: EnrollmentAssessment
    queue_entry: QueueEntry | None = None
    exits: list[Exit] = field(default_factory=list)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


async def _not_enrolled(session: AsyncSession, client_id: uuid.UUID, field_name: str) -> None:
    existing = await open_ce_enrollment(session, client_id)
    if existing is not None:
        raise already_enrolled(existing, field_name)


def _precheck(actor: Actor, body: IntakeCreate, entry: date, target: Outcome) -> None:
    """Input rules that need no database, checked before anything is written."""
    today = clock.today(actor)
    check_translation(body.translation)
    check_barriers(body.barriers, body.disabling_condition, entry_stage=True)
    cls = body.current_living_situation.model_dump()
    cls["information_date"] = cls["information_date"] or entry
    check_current_living_situation(cls, "current_living_situation", today)
    if cls["information_date"] < entry:
        raise ValidationFailed(
            "information_date is before the entry date.",
            field="current_living_situation.information_date",
        )
    check_outcome_fields(body, None, target)
    OUTCOME.check(None, target, actor)
    if body.income_benefits is not None:
        check_income_benefits(
            body.income_benefits.model_dump(exclude={"information_date"}), "income_benefits"
        )
    if body.domestic_violence is not None:
        check_domestic_violence(
            body.domestic_violence.model_dump(exclude={"information_date"}), "domestic_violence"
        )
    if target == Outcome.DIVERTED and body.diversion is not None:
        d = body.diversion
        check_destination(d.model_dump(), "diversion")
        exit_date = d.exit_date or entry
        check_not_future(exit_date, "diversion", "exit_date", today)
        if exit_date < entry:
            raise ValidationFailed(
                "The exit date is before the entry date.", field="diversion.exit_date"
            )
        exit_cls = d.exit_current_living_situation
        assert exit_cls is not None
        exit_values = exit_cls.model_dump()
        exit_values["information_date"] = exit_values["information_date"] or exit_date
        check_current_living_situation(
            exit_values, "diversion.exit_current_living_situation", today
        )
    hna = body.housing_needs
    vash_set = hna is not None and hna.hud_vash_eligible is not None
    if vash_set and not can_set_hud_vash(actor):
        raise ValidationFailed(
            "Only users acting for a veteran-services organization may set HUD-VASH eligibility.",
            field="housing_needs.hud_vash_eligible",
        )


async def check_access_point(session: AsyncSession, actor: Actor) -> None:
    """403 unless the acting organization may run the intake (``policy.can_run_intake``)."""
    member = await session.scalar(
        select(Membership.id)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(
            Membership.user_id == actor.user_id,
            Organization.coc_id == actor.coc_id,
            Organization.access_point,
            Organization.is_active,
        )
        .limit(1)
    )
    if not can_run_intake(actor, member is not None):
        raise AccessPointNotApproved(
            "The CAS & Diversion Intake is run at an Access Point approved by the Director of "
            "CAS: act for an approved Access Point organization (or for the CAS organization as "
            "a member of one)."
        )


async def create_intake(
    session: AsyncSession, actor: Actor, body: IntakeCreate, cipher: FieldCipher
) -> IntakeResult:
    await check_access_point(session, actor)
    today = clock.today(actor)
    entry = body.entry_date or today
    check_not_future(entry, "", "entry_date", today)
    if (body.client_id is None) == (body.client is None):
        raise ValidationFailed(
            "Give either client_id (an existing client) or client (a new one).", field="client_id"
        )
    # Every existing client named in the body must be visible (a hidden one answers like an
    # unknown id); then a second intake is refused first: the answer points at the open
    # enrollment.
    client_id = body.client_id
    if client_id is not None:
        client_id = (
            await client_access.get_visible_body_client(session, actor, client_id, "client_id")
        ).id
    family = await visible_family(session, actor, body.family_members)
    if client_id is not None:
        await _not_enrolled(session, client_id, "client_id")
    for i, m in enumerate(family):
        if m.client_id is not None and m.enroll:
            await _not_enrolled(session, m.client_id, f"family_members.{i}.client_id")

    main = MemberPlan(
        client_id=client_id,
        relationship=body.relationship_to_hoh,
        enroll=True,
        disabling_condition=body.disabling_condition,
        prior=body.prior_living_situation,
        field="",
        new_client=body.client,
    )
    plans = plan_members(main, body.household_id, family)
    check_new_clients(plans, today)
    target = target_outcome(None, body.ready_for_outcome, body.diverted)
    _precheck(actor, body, entry, target)
    project = await ce_project(session, actor)
    case_manager = body.case_manager_user_id or actor.user_id
    await check_case_manager(session, actor, case_manager, project, "case_manager_user_id")
    for p in plans:
        if p.new_client is not None and p.enroll:
            await duplicates.check_not_enrolled_elsewhere(
                session, actor, p.new_client, cipher, _join(p.field, "client")
            )

    # Step 1: clients (new ones are created now) and the household.
    found_duplicates: list[DuplicateCandidate] = []
    for p in plans:
        if p.new_client is not None:
            # Only the client's own possible duplicates are shown (and audited as read).
            created, found = await clients.create_client(
                session,
                actor,
                p.new_client,
                cipher,
                with_duplicates=p is main,
                field=f"{p.field}.client" if p.field else "client",
            )
            p.client_id = created.id
            if p is main:
                found_duplicates = found
    household = await resolve_household(session, actor, body.household_id, plans)
    enrolling = check_enrolling(plans)

    # Steps 2-4: enrollments (one per member), case manager, universal data, translation.
    rows = await enroll(
        session,
        actor,
        project=project,
        household=household,
        enrolling=enrolling,
        entry_date=entry,
        case_manager_user_id=case_manager,
        translation=body.translation,
    )
    by_client = {e.client_id: e for e in rows}
    enrollment = by_client[main.client_id]  # type: ignore[index]
    head = next(e for e in rows if e.id == e.household_group_id)
    assessment = await assessments.start_assessment(
        session,
        actor,
        head,
        stage=1,
        on=entry,
        ready=body.ready_for_outcome,
        before=None,
        after=target,
    )
    # Step 5: barriers of the client.
    await assessments.record_barriers(
        session, actor, enrollment, body.barriers, on=entry, stage=1, assessment_id=assessment.id
    )
    # Step 6: current living situation (every enrolled member) and the diversion assessment.
    for e in rows:
        await assessments.record_cls(
            session,
            actor,
            e,
            body.current_living_situation,
            default_date=entry,
            assessment_id=assessment.id,
            prefix="current_living_situation",
        )
    if body.diversion_assessment is not None:
        await assessments.record_diversion_assessment(
            session,
            actor,
            head,
            body.diversion_assessment,
            default_date=entry,
            assessment_id=assessment.id,
        )
    if body.income_benefits is not None:
        await record_income_benefits(
            session,
            actor,
            enrollment,
            body.income_benefits,
            stage=1,
            default_date=entry,
            assessment_id=assessment.id,
            prefix="income_benefits",
        )
    if body.domestic_violence is not None:
        await record_domestic_violence(
            session,
            actor,
            enrollment,
            body.domestic_violence,
            stage=1,
            default_date=entry,
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
    # Steps 7-9: the outcome.
    result = await apply_outcome(
        session, actor, rows, body, current=None, target=target, assessment=assessment
    )
    await session.flush()
    client = await session.get_one(Client, enrollment.client_id)
    await scoping.refresh(session, client)
    if body.client_id is not None:
        # The answer shows an existing client's record: a PII read, audited like GET /clients/{id}.
        clients.audit_read(session, actor, client.id)
    return IntakeResult(
        outcome=target,
        client=client,
        duplicates=found_duplicates,
        enrollment=enrollment,
        enrollments=rows,
        household=household,
        assessment=assessment,
        queue_entry=result.queue_entry,
        exits=result.exits or [],
    )
