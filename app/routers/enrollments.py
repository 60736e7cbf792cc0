"""Enrollments and their Coordinated Entry records: thin HTTP over ``app.services``.

An enrollment is visible exactly when its client is: another organization's caller gets 404.
Writing it or its records (every non-GET route under ``/{enrollment_id}``) also needs the write
right of ``app.services.ce.policy`` (403 ``enrollment-not-writable`` for a caller who
sees it without that right). Victim service providers are refused (403) before any lookup.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import Depends, Query, Response, status

from app import clock
from app.context import Actor
from app.deps import Cipher, IfMatch, IfMatchRequired, Session, require_for_clients
from app.http.contract import ETAG, Visibility, documented
from app.http.etag import check_if_match, set_etag
from app.http.pagination import Pages
from app.permissions import Permission
from app.reference.ce import ANNUAL_STAGE
from app.routers import api_router
from app.schemas.common import problems
from app.schemas.enrollments import (
    AssessmentCreate,
    AssessmentRead,
    AssessmentResult,
    CaseAssignmentCreate,
    CaseAssignmentEnd,
    CaseAssignmentRead,
    CaseAssignmentStatus,
    CaseNoteCreate,
    CaseNoteRead,
    CeAssessmentCreate,
    CeAssessmentRead,
    CeEventCreate,
    CeEventRead,
    CurrentLivingSituationIn,
    CurrentLivingSituationRead,
    DisabilitiesCreate,
    DisabilityRead,
    DiversionAssessmentIn,
    DiversionAssessmentRead,
    DomesticViolenceCreate,
    DomesticViolenceRead,
    EnrollmentCreate,
    EnrollmentRead,
    EnrollmentUpdate,
    EnrollmentVoid,
    ExitCreate,
    HousingNeedsIn,
    HousingNeedsRead,
    IncomeBenefitsCreate,
    IncomeBenefitsRead,
    LatestValues,
    ServiceCreate,
    ServiceRead,
)
from app.schemas.pagination import Page
from app.services.ce import assignments, exits, income, records, update_assessment, void
from app.services.ce import enrollments as svc
from app.services.ce import policy as enrollment_policy
from app.services.ce.barriers import check_barriers
from app.services.clients import access as client_access

router = api_router("/enrollments", "enrollments")
client_router = api_router("/clients", "enrollments")
assessments_router = api_router("/enrollments", "assessments")
records_router = api_router("/enrollments", "ce-records")
assignments_router = api_router("/enrollments", "case-assignments")
client_assignments_router = api_router("/clients", "case-assignments")
income_router = api_router("/enrollments", "income-and-dv")


ReadActor = Annotated[Actor, Depends(require_for_clients(Permission.ENROLLMENTS_READ))]
# Coordinated Entry records are written by case managers / agency staff, not housing providers.
WriteActor = Annotated[
    Actor, Depends(require_for_clients(Permission.ENROLLMENTS_WRITE, Permission.CLIENTS_WRITE))
]


async def visible_enrollment(
    enrollment_id: uuid.UUID, actor: ReadActor, session: Session
) -> svc.Enrollment:
    return await svc.get_visible_enrollment(session, actor, enrollment_id)


async def writable_enrollment(
    enrollment_id: uuid.UUID, actor: WriteActor, session: Session
) -> svc.Enrollment:
    """Seen (else 404), then written only by those ``can_write_enrollment`` names (else 403)."""
    enrollment = await svc.get_visible_enrollment(session, actor, enrollment_id)
    await enrollment_policy.require_writable(session, actor, enrollment)
    return enrollment


async def writable_enrollment_or_voided(
    enrollment_id: uuid.UUID, actor: WriteActor, session: Session
) -> svc.Enrollment:
    """``writable_enrollment`` that also finds a voided enrollment (the void and its undo)."""
    enrollment = await svc.get_visible_enrollment(session, actor, enrollment_id, voided=True)
    await enrollment_policy.require_writable(session, actor, enrollment)
    return enrollment


async def dv_writable_enrollment(
    enrollment: Annotated[svc.Enrollment, Depends(writable_enrollment)], actor: WriteActor
) -> svc.Enrollment:
    """``writable_enrollment`` whose 4.11 answers the caller may see (else 404): checked
    before an idempotent replay like every rule about the caller."""
    income.check_may_see_dv(actor, enrollment)
    return enrollment


async def visible_client(client_id: uuid.UUID, actor: ReadActor, session: Session) -> svc.Client:
    return await client_access.get_visible_client(session, actor, client_id)


VisibleEnrollment = Annotated[svc.Enrollment, Depends(visible_enrollment)]
# Every non-GET route under /enrollments/{enrollment_id} takes this one.
WritableEnrollment = Annotated[svc.Enrollment, Depends(writable_enrollment)]
VisibleClient = Annotated[svc.Client, Depends(visible_client)]
# Voiding: CAS and system admins (after the enrollment write rule, like every write here).
Voider = Annotated[Actor, Depends(require_for_clients(Permission.ENROLLMENTS_VOID))]


async def _read(
    session: Session,
    actor: Actor,
    enrollment: svc.Enrollment,
    response: Response,
    *,
    audit_read: bool = False,
) -> EnrollmentRead:
    read = await svc.enrollment_read(session, actor, enrollment, audit_read=audit_read)
    set_etag(response, read.version)
    return read


# --- enrollments -------------------------------------------------------------------------------


@router.post(
    "",
    name="enrollments_create",
    summary="Enroll a client",
    response_model=EnrollmentRead,
    responses=problems(409),
    status_code=201,
    openapi_extra=documented(
        "The client and the household members must be clients you may see (otherwise the same "
        "422 as an unknown id).",
        sends=(ETAG,),
        idempotent=True,
    ),
)
async def create_enrollment(
    body: EnrollmentCreate, actor: WriteActor, session: Session, cipher: Cipher, response: Response
) -> EnrollmentRead:
    """Enroll a client (and chosen household members) into a project -- by default the CoC's
    Coordinated Entry project. For the whole CAS workflow use `POST /cas/intakes`."""
    enrollment = await svc.create_enrollment(session, actor, body, cipher)
    return await _read(session, actor, enrollment, response)


@router.get(
    "/{enrollment_id}",
    name="enrollments_get",
    summary="Read an enrollment",
    response_model=EnrollmentRead,
    openapi_extra=documented(Visibility.ENROLLMENT, sends=(ETAG,)),
)
async def get_enrollment(
    enrollment: VisibleEnrollment, actor: ReadActor, session: Session, response: Response
) -> EnrollmentRead:
    """The enrollment with its exit, case assignments, queue entry (shown when you may see the
    head of household) and inactivity flag."""
    return await _read(session, actor, enrollment, response, audit_read=True)


@router.patch(
    "/{enrollment_id}",
    name="enrollments_update",
    summary="Edit the entry of an enrollment",
    response_model=EnrollmentRead,
    responses=problems(409),
    openapi_extra=documented(Visibility.ENROLLMENT_WRITE, sends=(ETAG,)),
)
async def update_enrollment(
    enrollment: WritableEnrollment,
    body: EnrollmentUpdate,
    actor: WriteActor,
    session: Session,
    if_match: IfMatchRequired,
    response: Response,
) -> EnrollmentRead:
    """Edit the entry. A new entry date moves the entry-stage records with it (one
    transaction)."""
    check_if_match(if_match, enrollment.version)
    enrollment = await svc.update_enrollment(session, actor, enrollment, body)
    return await _read(session, actor, enrollment, response)


@router.get(
    "/{enrollment_id}/household",
    name="enrollments_household",
    summary="The enrollments of the household stay",
    response_model=Page[EnrollmentRead],
    openapi_extra=documented(Visibility.ENROLLMENT),
)
async def household_enrollments(
    enrollment: VisibleEnrollment, actor: ReadActor, session: Session
) -> Page[EnrollmentRead]:
    """The enrollments of the same household stay (HUD HouseholdID), head first -- those of
    members you may see: the others are left out entirely. All in one page (`next_cursor`
    null)."""
    group = await svc.visible_household_group(session, actor, enrollment)
    reads = await svc.enrollment_reads(session, actor, group, audit_read=True)
    return Page[EnrollmentRead](items=reads, next_cursor=None)


@router.get(
    "/{enrollment_id}/latest-values",
    name="enrollments_latest_values",
    summary="The latest answers, to prefill an update assessment",
    response_model=LatestValues,
    openapi_extra=documented(Visibility.ENROLLMENT),
)
async def latest_values(
    enrollment: VisibleEnrollment, actor: ReadActor, session: Session
) -> LatestValues:
    """The latest recorded answers, to prefill an update assessment."""
    return LatestValues.model_validate(await svc.latest_values(session, actor, enrollment))


@router.post(
    "/{enrollment_id}/exit",
    name="enrollments_exit",
    summary="Exit an enrollment",
    response_model=EnrollmentRead,
    responses=problems(409),
    status_code=status.HTTP_201_CREATED,
    openapi_extra=documented(Visibility.ENROLLMENT_WRITE, sends=(ETAG,), idempotent=True),
)
async def exit_enrollment(
    enrollment: WritableEnrollment,
    body: ExitCreate,
    actor: WriteActor,
    session: Session,
    if_match: IfMatchRequired,
    response: Response,
) -> EnrollmentRead:
    """Exit (the head takes the household's open members along): ends case assignments and
    closes the household's queue entry."""
    check_if_match(if_match, enrollment.version)
    await exits.exit_enrollment(session, actor, enrollment, body)
    return await _read(session, actor, enrollment, response)


# --- update assessments ------------------------------------------------------------------------


@assessments_router.post(
    "/{enrollment_id}/assessments",
    name="assessments_create",
    summary="Record an update or annual assessment",
    response_model=AssessmentResult,
    responses=problems(409),
    status_code=status.HTTP_201_CREATED,
    openapi_extra=documented(Visibility.ENROLLMENT_WRITE, sends=(ETAG,), idempotent=True),
)
async def create_assessment(
    enrollment: WritableEnrollment,
    body: AssessmentCreate,
    actor: WriteActor,
    session: Session,
    if_match: IfMatchRequired,
    response: Response,
) -> AssessmentResult:
    """Update / annual assessment: CLS (required), ready for outcome / diverted (pending ->
    placed or diverted), area ties, housing needs. Refused on an exited enrollment (409)."""
    check_if_match(if_match, enrollment.version)
    result = await update_assessment.create_update_assessment(session, actor, enrollment, body)
    read = await _read(session, actor, enrollment, response)
    return AssessmentResult(
        assessment=AssessmentRead.model_validate(result.assessment),
        enrollment=read,
        queue_entry=result.outcome.queue_entry or read.queue_entry,
        exit=read.exit,
    )


@assessments_router.get(
    "/{enrollment_id}/assessments",
    name="assessments_list",
    summary="Workflow assessments of the household stay",
    response_model=Page[AssessmentRead],
    openapi_extra=documented(Visibility.ENROLLMENT),
)
async def list_assessments(
    enrollment: VisibleEnrollment, actor: ReadActor, session: Session, page: Pages
) -> dict[str, object]:
    """The household stay's workflow passes (intake, updates, exit)."""
    return (await svc.list_assessments(session, actor, enrollment, page)).body()


@assessments_router.get(
    "/{enrollment_id}/assessments/{assessment_id}",
    name="assessments_get",
    summary="Read a workflow assessment",
    response_model=AssessmentRead,
    openapi_extra=documented(Visibility.ENROLLMENT),
)
async def get_assessment(
    enrollment: VisibleEnrollment, assessment_id: uuid.UUID, actor: ReadActor, session: Session
) -> svc.EnrollmentAssessment:
    """One workflow pass (intake, update, annual or exit) of the household stay."""
    return await svc.get_assessment(session, actor, enrollment, assessment_id)


# --- case manager assignments ------------------------------------------------------------------


@assignments_router.post(
    "/{enrollment_id}/case-assignments",
    name="case_assignments_create",
    summary="Assign a case manager",
    response_model=CaseAssignmentRead,
    responses=problems(409),
    status_code=status.HTTP_201_CREATED,
    openapi_extra=documented(Visibility.ENROLLMENT_WRITE, sends=(ETAG,), idempotent=True),
)
async def create_case_assignment(
    enrollment: WritableEnrollment,
    body: CaseAssignmentCreate,
    actor: WriteActor,
    session: Session,
    response: Response,
) -> assignments.CaseAssignment:
    """Assign (another) case manager; end the previous one to reassign."""
    assignment = await assignments.assign_case_manager(session, actor, enrollment, body)
    set_etag(response, assignment.version)
    return assignment


@assignments_router.get(
    "/{enrollment_id}/case-assignments",
    name="case_assignments_list",
    summary="Case managers of an enrollment",
    response_model=Page[CaseAssignmentRead],
    openapi_extra=documented(Visibility.ENROLLMENT),
)
async def list_case_assignments(
    enrollment: VisibleEnrollment, actor: ReadActor, session: Session, page: Pages
) -> dict[str, object]:
    """The enrollment's case assignments, active and ended."""
    return (await assignments.list_case_assignments(session, actor, enrollment, page)).body()


@assignments_router.post(
    "/{enrollment_id}/case-assignments/{assignment_id}/end",
    name="case_assignments_end",
    summary="End a case assignment",
    response_model=CaseAssignmentRead,
    responses=problems(409),
    openapi_extra=documented(Visibility.ENROLLMENT_WRITE, sends=(ETAG,)),
)
async def end_case_assignment(
    enrollment: WritableEnrollment,
    assignment_id: uuid.UUID,
    body: CaseAssignmentEnd,
    actor: WriteActor,
    session: Session,
    if_match: IfMatch,
    response: Response,
) -> assignments.CaseAssignment:
    """End the assignment (today by default); the case manager no longer works the case."""
    assignment = await assignments.get_assignment(session, enrollment, assignment_id)
    check_if_match(if_match, assignment.version)
    assignment = await assignments.end_assignment(session, actor, assignment, body.end_date)
    set_etag(response, assignment.version)
    return assignment


@client_assignments_router.get(
    "/{client_id}/case-assignments",
    name="client_case_assignments_list",
    summary="Case managers of a client",
    response_model=Page[CaseAssignmentRead],
    openapi_extra=documented(Visibility.CLIENT),
)
async def list_client_case_assignments(
    client: VisibleClient,
    actor: ReadActor,
    session: Session,
    page: Pages,
    status: Annotated[CaseAssignmentStatus | None, Query()] = None,
) -> dict[str, object]:
    """A client's active and inactive case managers across enrollments."""
    found = await assignments.list_client_case_assignments(session, actor, client.id, status, page)
    return found.body()


@client_router.get(
    "/{client_id}/enrollments",
    name="client_enrollments_list",
    summary="Enrollments of a client",
    response_model=Page[EnrollmentRead],
    openapi_extra=documented(Visibility.CLIENT),
)
async def list_client_enrollments(
    client: VisibleClient, actor: ReadActor, session: Session, page: Pages
) -> dict[str, object]:
    """The client's enrollments, newest first."""
    return (await svc.list_client_enrollments(session, actor, client.id, page)).body()


# --- individual CE records ---------------------------------------------------------------------


@records_router.post(
    "/{enrollment_id}/current-living-situations",
    name="current_living_situations_create",
    summary="Record a current living situation",
    response_model=CurrentLivingSituationRead,
    responses=problems(409),
    status_code=status.HTTP_201_CREATED,
    openapi_extra=documented(Visibility.ENROLLMENT_WRITE, idempotent=True),
)
async def create_cls(
    enrollment: WritableEnrollment,
    body: CurrentLivingSituationIn,
    actor: WriteActor,
    session: Session,
) -> records.CurrentLivingSituation:
    """Record a contact (4.12), with `verified_by` when another project reported it."""
    svc.require_open(enrollment)
    return await records.record_cls(
        session,
        actor,
        enrollment,
        body,
        default_date=clock.today(actor),
        assessment_id=None,
        prefix="",
    )


@records_router.get(
    "/{enrollment_id}/current-living-situations",
    name="current_living_situations_list",
    summary="Current living situations of an enrollment",
    response_model=Page[CurrentLivingSituationRead],
    openapi_extra=documented(Visibility.ENROLLMENT),
)
async def list_cls(
    enrollment: VisibleEnrollment, actor: ReadActor, session: Session, page: Pages
) -> Any:
    """The enrollment's current living situations (4.12), newest first."""
    return (
        await records.list_records(session, actor, "current_living_situations", enrollment, page)
    ).body()


@records_router.post(
    "/{enrollment_id}/services",
    name="services_create",
    summary="Record a service",
    response_model=ServiceRead,
    responses=problems(409),
    status_code=status.HTTP_201_CREATED,
    openapi_extra=documented(Visibility.ENROLLMENT_WRITE, idempotent=True),
)
async def create_service(
    enrollment: WritableEnrollment, body: ServiceCreate, actor: WriteActor, session: Session
) -> records.Service:
    """A service provided on an open enrollment (the diversion services list), dated within
    the stay."""
    svc.require_open(enrollment)
    svc.check_record_date(enrollment, body.date_provided, "date_provided", clock.today(actor))
    return await records.record_service(session, actor, enrollment, body, assessment_id=None)


@records_router.get(
    "/{enrollment_id}/services",
    name="services_list",
    summary="Services of an enrollment",
    response_model=Page[ServiceRead],
    openapi_extra=documented(Visibility.ENROLLMENT),
)
async def list_services(
    enrollment: VisibleEnrollment, actor: ReadActor, session: Session, page: Pages
) -> dict[str, object]:
    """The enrollment's services, newest first."""
    found = await records.list_records(session, actor, "services", enrollment, page)
    return found.body()


@records_router.post(
    "/{enrollment_id}/case-notes",
    name="case_notes_create",
    summary="Write a case note",
    response_model=CaseNoteRead,
    responses=problems(409),
    status_code=status.HTTP_201_CREATED,
    openapi_extra=documented(Visibility.ENROLLMENT_WRITE, idempotent=True),
)
async def create_case_note(
    enrollment: WritableEnrollment, body: CaseNoteCreate, actor: WriteActor, session: Session
) -> records.CaseNote:
    """A case note on the enrollment, dated within the stay (its text stays out of the
    audit trail)."""
    svc.check_record_date(enrollment, body.note_date, "note_date", clock.today(actor))
    return await records.record_case_note(session, actor, enrollment, body, assessment_id=None)


@records_router.get(
    "/{enrollment_id}/case-notes",
    name="case_notes_list",
    summary="Case notes of an enrollment",
    response_model=Page[CaseNoteRead],
    openapi_extra=documented(Visibility.ENROLLMENT),
)
async def list_case_notes(
    enrollment: VisibleEnrollment, actor: ReadActor, session: Session, page: Pages
) -> dict[str, object]:
    """The enrollment's case notes, newest first."""
    found = await records.list_records(session, actor, "case_notes", enrollment, page)
    return found.body()


@records_router.post(
    "/{enrollment_id}/ce-events",
    name="ce_events_create",
    summary="Record a CE event (4.20)",
    response_model=CeEventRead,
    responses=problems(409),
    status_code=status.HTTP_201_CREATED,
    openapi_extra=documented(Visibility.ENROLLMENT_WRITE, idempotent=True),
)
async def create_ce_event(
    enrollment: WritableEnrollment, body: CeEventCreate, actor: WriteActor, session: Session
) -> records.CeEvent:
    """4.20 event; result fields must belong to the event type."""
    svc.check_record_date(enrollment, body.event_date, "event_date", clock.today(actor))
    return await records.record_ce_event(session, actor, enrollment, body, assessment_id=None)


@records_router.get(
    "/{enrollment_id}/ce-events",
    name="ce_events_list",
    summary="CE events of an enrollment",
    response_model=Page[CeEventRead],
    openapi_extra=documented(Visibility.ENROLLMENT),
)
async def list_ce_events(
    enrollment: VisibleEnrollment, actor: ReadActor, session: Session, page: Pages
) -> dict[str, object]:
    """The enrollment's CE events (4.20), newest first."""
    found = await records.list_records(session, actor, "ce_events", enrollment, page)
    return found.body()


@assessments_router.post(
    "/{enrollment_id}/ce-assessments",
    name="ce_assessments_create",
    summary="Record a CE assessment (4.19)",
    response_model=CeAssessmentRead,
    responses=problems(409),
    status_code=status.HTTP_201_CREATED,
    openapi_extra=documented(Visibility.ENROLLMENT_WRITE, idempotent=True),
)
async def create_ce_assessment(
    enrollment: WritableEnrollment, body: CeAssessmentCreate, actor: WriteActor, session: Session
) -> records.CeAssessment:
    """4.19 Coordinated Entry Assessment on an open enrollment (location, type, level,
    prioritization status), dated within the stay."""
    svc.require_open(enrollment)
    svc.check_record_date(enrollment, body.assessment_date, "assessment_date", clock.today(actor))
    await records.check_prioritization_status(
        session, enrollment, body.prioritization_status, "prioritization_status"
    )
    return await records.record_ce_assessment(session, actor, enrollment, body, assessment_id=None)


@assessments_router.get(
    "/{enrollment_id}/ce-assessments",
    name="ce_assessments_list",
    summary="CE assessments of an enrollment",
    response_model=Page[CeAssessmentRead],
    openapi_extra=documented(Visibility.ENROLLMENT),
)
async def list_ce_assessments(
    enrollment: VisibleEnrollment, actor: ReadActor, session: Session, page: Pages
) -> dict[str, object]:
    """The enrollment's CE assessments (4.19), newest first."""
    found = await records.list_records(session, actor, "ce_assessments", enrollment, page)
    return found.body()


@records_router.post(
    "/{enrollment_id}/disabilities",
    name="disabilities_create",
    summary="Record disabilities (barriers)",
    response_model=Page[DisabilityRead],
    responses=problems(409),
    status_code=status.HTTP_201_CREATED,
    openapi_extra=documented(Visibility.ENROLLMENT_WRITE, idempotent=True),
)
async def create_disabilities(
    enrollment: WritableEnrollment, body: DisabilitiesCreate, actor: WriteActor, session: Session
) -> dict[str, object]:
    """Barriers: a response for each condition (HUD Disabilities); the recorded rows come back
    in the list shape (one page)."""
    svc.require_open(enrollment)
    svc.check_record_date(enrollment, body.information_date, "information_date", clock.today(actor))
    if body.data_collection_stage == ANNUAL_STAGE:
        await income.check_stage_date(
            session,
            actor,
            enrollment,
            ANNUAL_STAGE,
            body.information_date,
            "information_date",
            element="5.03",
        )
    check_barriers(
        body.barriers,
        enrollment.disabling_condition,
        disabling_field="barriers",
        entry_stage=body.data_collection_stage == 1,
    )
    recorded = await records.record_barriers(
        session,
        actor,
        enrollment,
        body.barriers,
        on=body.information_date,
        stage=body.data_collection_stage,
        assessment_id=None,
    )
    return {"items": recorded, "next_cursor": None}


@records_router.get(
    "/{enrollment_id}/disabilities",
    name="disabilities_list",
    summary="Disabilities of an enrollment",
    response_model=Page[DisabilityRead],
    openapi_extra=documented(Visibility.ENROLLMENT),
)
async def list_disabilities(
    enrollment: VisibleEnrollment, actor: ReadActor, session: Session, page: Pages
) -> dict[str, object]:
    """The enrollment's disability records (barriers), newest first."""
    found = await records.list_records(session, actor, "disabilities", enrollment, page)
    return found.body()


@assessments_router.post(
    "/{enrollment_id}/diversion-assessments",
    name="diversion_assessments_create",
    summary="Record a diversion assessment",
    response_model=DiversionAssessmentRead,
    responses=problems(409),
    status_code=status.HTTP_201_CREATED,
    openapi_extra=documented(Visibility.ENROLLMENT_WRITE, idempotent=True),
)
async def create_diversion_assessment(
    enrollment: WritableEnrollment,
    body: DiversionAssessmentIn,
    actor: WriteActor,
    session: Session,
) -> records.DiversionAssessment:
    """The Diversion / Problem Solving assessment on an open enrollment (dated the entry
    date unless given)."""
    svc.require_open(enrollment)
    if body.assessment_date is not None:
        svc.check_record_date(
            enrollment, body.assessment_date, "assessment_date", clock.today(actor)
        )
    return await records.record_diversion_assessment(
        session,
        actor,
        enrollment,
        body,
        default_date=clock.today(actor),
        assessment_id=None,
        prefix="",
    )


@assessments_router.get(
    "/{enrollment_id}/diversion-assessments",
    name="diversion_assessments_list",
    summary="Diversion assessments of an enrollment",
    response_model=Page[DiversionAssessmentRead],
    openapi_extra=documented(Visibility.ENROLLMENT),
)
async def list_diversion_assessments(
    enrollment: VisibleEnrollment, actor: ReadActor, session: Session, page: Pages
) -> dict[str, object]:
    """The enrollment's diversion assessments, newest first."""
    found = await records.list_records(session, actor, "diversion_assessments", enrollment, page)
    return found.body()


@assessments_router.post(
    "/{enrollment_id}/housing-needs-assessments",
    name="housing_needs_assessments_create",
    summary="Record a housing needs assessment",
    response_model=HousingNeedsRead,
    responses=problems(409),
    status_code=status.HTTP_201_CREATED,
    openapi_extra=documented(Visibility.ENROLLMENT_WRITE, idempotent=True),
)
async def create_housing_needs(
    enrollment: WritableEnrollment, body: HousingNeedsIn, actor: WriteActor, session: Session
) -> records.HousingNeedsAssessment:
    """HUD-VASH eligibility only by users acting for a veteran-services organization."""
    svc.require_open(enrollment)
    if body.assessment_date is not None:
        svc.check_record_date(
            enrollment, body.assessment_date, "assessment_date", clock.today(actor)
        )
    return await records.record_housing_needs(
        session,
        actor,
        enrollment,
        body,
        default_date=clock.today(actor),
        assessment_id=None,
        prefix="",
    )


@assessments_router.get(
    "/{enrollment_id}/housing-needs-assessments",
    name="housing_needs_assessments_list",
    summary="Housing needs assessments of an enrollment",
    response_model=Page[HousingNeedsRead],
    openapi_extra=documented(Visibility.ENROLLMENT),
)
async def list_housing_needs(
    enrollment: VisibleEnrollment, actor: ReadActor, session: Session, page: Pages
) -> Any:
    """The enrollment's housing needs assessments, newest first."""
    return (
        await records.list_records(session, actor, "housing_needs_assessments", enrollment, page)
    ).body()


# --- income and benefits (4.02-4.04), domestic violence (4.11) --------------------------------


@income_router.post(
    "/{enrollment_id}/income-benefits",
    name="income_benefits_create",
    summary="Record income, benefits and health insurance",
    response_model=IncomeBenefitsRead,
    responses=problems(409),
    status_code=status.HTTP_201_CREATED,
    openapi_extra=documented(Visibility.ENROLLMENT_WRITE, idempotent=True),
)
async def create_income_benefits(
    enrollment: WritableEnrollment, body: IncomeBenefitsCreate, actor: WriteActor, session: Session
) -> income.IncomeBenefits:
    """4.02 Income and Sources, 4.03 Non-Cash Benefits, 4.04 Health Insurance at a stage
    (1 entry, 2 update, 5 annual, 3 exit): the totals and the "from any source" answers must
    agree with the sources (422 naming the field and the HUD element); one entry and one exit
    record per enrollment (409). A new record, never an edit: no `If-Match`."""
    return await income.record_income_benefits(
        session,
        actor,
        enrollment,
        body,
        stage=body.data_collection_stage,
        default_date=clock.today(actor),
        assessment_id=None,
        prefix="",
    )


@income_router.get(
    "/{enrollment_id}/income-benefits",
    name="income_benefits_list",
    summary="Income and benefits records of an enrollment",
    response_model=Page[IncomeBenefitsRead],
    openapi_extra=documented(Visibility.ENROLLMENT),
)
async def list_income_benefits(
    enrollment: VisibleEnrollment, actor: ReadActor, session: Session, page: Pages
) -> dict[str, object]:
    """The enrollment's 4.02-4.04 records (every stage), newest first; the read is audited."""
    return (await income.list_income_benefits(session, actor, enrollment, page)).body()


@income_router.post(
    "/{enrollment_id}/domestic-violence",
    name="domestic_violence_create",
    summary="Record domestic violence (4.11)",
    response_model=DomesticViolenceRead,
    responses=problems(409),
    status_code=status.HTTP_201_CREATED,
    openapi_extra=documented(Visibility.DOMESTIC_VIOLENCE_WRITE, idempotent=True),
)
async def create_domestic_violence(
    enrollment: Annotated[svc.Enrollment, Depends(dv_writable_enrollment)],
    body: DomesticViolenceCreate,
    actor: WriteActor,
    session: Session,
) -> income.HealthAndDv:
    """4.11 Domestic Violence (project start or update): when it occurred and whether the
    client is currently fleeing are answered exactly when the client is a survivor (422
    otherwise); one project-start record per enrollment (409). A new record, never an edit: no
    `If-Match`."""
    return await income.record_domestic_violence(
        session,
        actor,
        enrollment,
        body,
        stage=body.data_collection_stage,
        default_date=clock.today(actor),
        assessment_id=None,
        prefix="",
    )


@income_router.get(
    "/{enrollment_id}/domestic-violence",
    name="domestic_violence_list",
    summary="Domestic violence records of an enrollment",
    response_model=Page[DomesticViolenceRead],
    openapi_extra=documented(Visibility.DOMESTIC_VIOLENCE),
)
async def list_domestic_violence(
    enrollment: VisibleEnrollment, actor: ReadActor, session: Session, page: Pages
) -> dict[str, object]:
    """The enrollment's 4.11 records, newest first; the read is audited."""
    return (await income.list_domestic_violence(session, actor, enrollment, page)).body()


# --- voiding an intake recorded in error -------------------------------------------------------


@router.post(
    "/{enrollment_id}/void",
    name="enrollments_void",
    summary="Void an enrollment recorded in error",
    response_model=EnrollmentRead,
    responses=problems(409),
    openapi_extra=documented(Visibility.ENROLLMENT_WRITE, sends=(ETAG,)),
)
async def void_enrollment(
    enrollment: Annotated[svc.Enrollment, Depends(writable_enrollment_or_voided)],
    body: EnrollmentVoid,
    actor: Voider,
    session: Session,
    if_match: IfMatchRequired,
    response: Response,
) -> EnrollmentRead:
    """Void a Coordinated Entry enrollment recorded in error (CAS and system admins), with its
    household stay: it disappears from lists, lookups, the queue (its entry is closed with
    reason `voided`) and exports; the void stays in the audit trail. Undo within 30 days. 409
    when it is already voided, is not a Coordinated Entry enrollment, or the household has an
    active match (`match_id`: cancel it first)."""
    check_if_match(if_match, enrollment.version)
    await void.void_enrollment(session, actor, enrollment, body.reason)
    return await _read(session, actor, enrollment, response)


@router.post(
    "/{enrollment_id}/unvoid",
    name="enrollments_unvoid",
    summary="Undo the void of an enrollment",
    response_model=EnrollmentRead,
    responses=problems(409),
    openapi_extra=documented(
        Visibility.ENROLLMENT_WRITE + " A voided enrollment is found here (and by its void).",
        sends=(ETAG,),
    ),
)
async def unvoid_enrollment(
    enrollment: Annotated[svc.Enrollment, Depends(writable_enrollment_or_voided)],
    actor: Voider,
    session: Session,
    if_match: IfMatchRequired,
    response: Response,
) -> EnrollmentRead:
    """Undo a void within 30 days (the CoC's days) of it: the stay and its queue entry come
    back (409 when it is not voided, when the client was enrolled again since, or after 30
    days)."""
    check_if_match(if_match, enrollment.version)
    await void.unvoid_enrollment(session, actor, enrollment)
    return await _read(session, actor, enrollment, response)
