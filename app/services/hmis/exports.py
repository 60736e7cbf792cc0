"""HUD HMIS CSV FY2026 exports (DOMAIN 11): a zip of every FY2026 file for a period and a
project set, written by a job, kept encrypted until it expires, downloaded streamed.

What goes in (a reporting-period export, ``ExportPeriodType`` 3, full refresh):

* the chosen projects, their organizations, ProjectCoC (the CoC's code and the project's
  Geocode), HMIS and CE participation; the enrollments in those projects open at some point of
  the period (voided ones never), their clients, exits, income and benefits, 4.11 domestic
  violence answers (only those the requester may read), disabilities, current living
  situations, CE assessments (4.19), every CE event (4.20: CAS's own and referral events as
  they are recorded), and the users who recorded them. Records dated after the period's end
  are left out.
* CAS's diversion assessment, housing needs assessment and the services that led to a
  diversion, which HUD has no file for, are AssessmentQuestions of the CE assessment (4.19)
  of the same workflow pass (groups ``CAS Diversion Assessment``, ``CAS Housing Needs
  Assessment``, ``CAS Diversion Services``); the importer reads them back.
* Files CAS has nothing for are written with their header only (Funder: CAS keeps no grant
  ids; Inventory, Affiliation, EmploymentEducation, Services, AssessmentResults,
  YouthEducationStatus).

Format: headers exactly HUD's, in order; UTF-8; dates ``yyyy-mm-dd``; date-times
``yyyy-mm-dd hh:mm:ss`` in the CoC's time; ids the 32 hex digits of CAS's ids; one ExportID
(the export's); strings without HUD's impermissible characters (``[ ] < > { }``) or line
breaks. With ``hashed``, names and SSNs are hashed as HUD's SHA-256 (RHY) hashing does
(``HashStatus`` 4).

Rows are streamed from one snapshot (a repeatable-read transaction) through server-side
cursors into the zip: memory stays flat whatever the export's size.
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import hashlib
import io
import os
import uuid
import zipfile
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import ColumnElement, any_, exists, func, select
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.errors import Conflict, DomainError, Forbidden, NotFound, ValidationFailed
from app.models.hmis import HmisExport
from app.models.organizations import Coc, Organization, Project
from app.reference import PROJECT_TYPE_CE
from app.reference.hmis_csv import (
    EXPORT_CSV_VERSION,
    FILES,
    IMPERMISSIBLE_SQL_CLASS,
    INCOME_BENEFITS_COLUMNS,
    hash_name,
    hash_ssn,
    spec,
    sql_literal,
)
from app.reference.hmis_jobs import UNFINISHED_EXPORTS, ExportStatus
from app.schemas.pagination import PageParams
from app.services.clients.ssn import decrypt_ssn
from app.services.hmis.load import (
    DIVERSION_GROUP,
    DIVERSION_QUESTIONS,
    HOUSING_NEEDS_GROUP,
    HOUSING_NEEDS_QUESTIONS,
    SERVICES_GROUP,
)
from app.services.hmis.policy import (
    domestic_violence_organization,
    exports_all_projects,
    may_export_project,
    sees_export,
)
from app.services.hmis.runtime import HmisRuntime, JobProgress, lock_key, raw_connection
from app.services.identity.auth import membership_actor
from app.services.platform import audit
from app.services.platform.crypto import FieldCipher
from app.services.platform.pagination import PageOf, paginate
from app.storage import FileStore, ObjectMissing
from app.unit_of_work import unit_of_work

SOFTWARE_NAME = "CAS API"
SOFTWARE_VERSION = "1.0"
SYSTEM_USER_ID = "cas-system"  # records CAS wrote by itself (imports, housekeeping)
BATCH = 2000
# Unfinished (queued or running) exports an organization may have at once.
MAX_UNFINISHED_EXPORTS = 3
TERMINAL = (ExportStatus.SUCCEEDED, ExportStatus.FAILED, ExportStatus.EXPIRED)
HEADER_ONLY = (
    "Funder",
    "Inventory",
    "Affiliation",
    "EmploymentEducation",
    "Services",
    "AssessmentResults",
    "YouthEducationStatus",
)


def _lit(value: object) -> str:
    return sql_literal(str(value))


# --- the API side -------------------------------------------------------------------------------


async def exportable_projects(
    session: AsyncSession, actor: Actor, project_ids: Sequence[uuid.UUID] | None
) -> list[Project]:
    """The projects to export: those named (each one the caller may export; another one is
    the same 422 as an unknown id), or every project the caller may export."""
    stmt = select(Project).join(Project.organization).where(Organization.coc_id == actor.coc_id)
    if not exports_all_projects(actor):
        stmt = stmt.where(Project.organization_id == actor.organization_id)
    if project_ids is None:
        return list((await session.scalars(stmt.order_by(Project.name, Project.id))).all())
    wanted = list(dict.fromkeys(project_ids))
    found = {p.id: p for p in (await session.scalars(stmt.where(Project.id.in_(wanted)))).all()}
    for i, project_id in enumerate(wanted):
        project = found.get(project_id)
        if project is None or not may_export_project(actor, project.organization_id):
            raise ValidationFailed(
                "No such project (or not one you may export).", field=f"project_ids.{i}"
            )
    return [found[p] for p in wanted]


async def create_export(
    session: AsyncSession,
    actor: Actor,
    *,
    start_date: date,
    end_date: date,
    project_ids: Sequence[uuid.UUID] | None,
    hashed: bool,
) -> HmisExport:
    if end_date < start_date:
        raise ValidationFailed("end_date is before start_date.", field="end_date")
    projects = await exportable_projects(session, actor, project_ids)
    if not projects:
        raise ValidationFailed("There is no project to export.", field="project_ids")
    missing = [p for p in projects if p.geocode is None]
    if missing:
        raise ValidationFailed(
            "HUD 2.03.2: every exported project needs its Geocode (ProjectCoC.csv); set it with "
            "PATCH /api/v1/projects/{project_id} for: "
            + ", ".join(str(p.id) for p in missing[:20]),
            field="project_ids",
        )
    # An organization's exports run a few at a time (each reads every record of its period).
    await session.execute(
        select(func.pg_advisory_xact_lock(lock_key(f"hmis-export-create:{actor.organization_id}")))
    )
    unfinished = await session.scalar(
        select(func.count())
        .select_from(HmisExport)
        .where(
            HmisExport.organization_id == actor.organization_id,
            HmisExport.status.in_(UNFINISHED_EXPORTS),
        )
    )
    if (unfinished or 0) >= MAX_UNFINISHED_EXPORTS:
        raise Conflict(
            f"Your organization has {MAX_UNFINISHED_EXPORTS} exports not finished yet; start "
            "another when one of them is done."
        )
    job = HmisExport(
        id=uuid.uuid4(),
        coc_id=actor.coc_id,
        organization_id=actor.organization_id,
        requested_by_user_id=actor.user_id,
        status=ExportStatus.QUEUED,
        start_date=start_date,
        end_date=end_date,
        project_ids=[p.id for p in projects],
        hashed=hashed,
        progress={"phase": "queued", "files": {}},
    )
    session.add(job)
    await session.flush()
    audit.record(
        session,
        actor,
        "hmis_export.create",
        "hmis_export",
        job.id,
        {
            "start_date": start_date,
            "end_date": end_date,
            "projects": len(projects),
            "hashed": hashed,
        },
    )
    return job


def _of_other_organizations(actor: Actor) -> ColumnElement[bool]:
    """The export holds a project of another organization than the actor's: an admin's export
    (requested acting for the actor's organization, with an admin's reach), not theirs."""
    return exists().where(
        Project.id == any_(HmisExport.project_ids),
        Project.organization_id != actor.organization_id,
    )


async def get_export(session: AsyncSession, actor: Actor, export_id: uuid.UUID) -> HmisExport:
    job = await session.get(HmisExport, export_id, populate_existing=True)
    if job is None or not sees_export(actor, job.coc_id, job.organization_id):
        raise NotFound("No such export.")
    if not exports_all_projects(actor) and await session.scalar(
        select(_of_other_organizations(actor)).where(HmisExport.id == job.id)
    ):
        raise NotFound("No such export.")
    return job


async def list_exports(session: AsyncSession, actor: Actor, page: PageParams) -> PageOf[HmisExport]:
    stmt = select(HmisExport).where(HmisExport.coc_id == actor.coc_id)
    if not exports_all_projects(actor):
        stmt = stmt.where(
            HmisExport.organization_id == actor.organization_id, ~_of_other_organizations(actor)
        )
    return await paginate(
        session, stmt, page, [HmisExport.created_at, HmisExport.id], descending=True
    )


@dataclass
class ExportDownload:
    chunks: AsyncIterator[bytes]
    size_bytes: int
    file_name: str


async def download(
    session: AsyncSession, actor: Actor, store: FileStore, job: HmisExport
) -> ExportDownload:
    """The zip, decrypted and streamed; every download is audited (with the export it is:
    the export's own audit event names the clients it holds)."""
    if job.status != ExportStatus.SUCCEEDED or job.storage_key is None:
        raise Conflict(f"The export is {job.status}: only a succeeded export can be downloaded.")
    audit.record(
        session,
        actor,
        "hmis_export.download",
        "hmis_export",
        job.id,
        {"size_bytes": job.size_bytes},
    )
    await session.flush()
    assert job.size_bytes is not None
    return ExportDownload(
        chunks=store.open(job.storage_key),
        size_bytes=job.size_bytes,
        file_name=f"hmis-csv-{job.start_date}-{job.end_date}-{job.id.hex[:8]}.zip",
    )


async def unfinished_exports(session: AsyncSession) -> list[uuid.UUID]:
    rows = await session.scalars(
        select(HmisExport.id)
        .where(HmisExport.status.in_([s.value for s in UNFINISHED_EXPORTS]))
        .order_by(HmisExport.created_at)
    )
    return list(rows)


async def expire_exports(session: AsyncSession, store: FileStore, now: Any) -> int:
    """Delete the zips of exports past their time (housekeeping)."""
    jobs = (
        await session.scalars(
            select(HmisExport).where(
                HmisExport.status == ExportStatus.SUCCEEDED, HmisExport.expires_at <= now
            )
        )
    ).all()
    for job in jobs:
        if job.storage_key is not None:
            await store.discard(job.storage_key)
        job.storage_key = None
        job.status = ExportStatus.EXPIRED
    return len(jobs)


# --- the files ----------------------------------------------------------------------------------


@dataclass
class Scope:
    """The export's SQL context: its temporary tables, the CoC's time zone, the ExportID."""

    conn: asyncpg.Connection
    export_id: str
    tz: str
    suffix: str

    def t(self, name: str) -> str:
        return f"hmis_x_{name}_{self.suffix}"


def hid(expr: str) -> str:
    """A CAS id as a HUD id: its 32 hex digits."""
    return f"replace(({expr})::text, '-', '')"


def d(expr: str) -> str:
    return f"to_char({expr}, 'YYYY-MM-DD')"


def ts(scope: Scope, expr: str) -> str:
    return f"to_char(({expr}) AT TIME ZONE {_lit(scope.tz)}, 'YYYY-MM-DD HH24:MI:SS')"


def i(expr: str) -> str:
    return f"({expr})::text"


def b(expr: str) -> str:
    return f"(CASE WHEN {expr} THEN '1' ELSE '0' END)"


def m(expr: str) -> str:
    return f"(({expr})::numeric(12, 2))::text"


def s(expr: str, length: int) -> str:
    """A string as HUD permits it: impermissible characters and line breaks removed, at most
    ``length`` characters, empty = null."""
    cleaned = (
        f"regexp_replace(regexp_replace({expr}, {_lit(IMPERMISSIBLE_SQL_CLASS)}, '', 'g'), "
        f"'[\\r\\n\\t]+', ' ', 'g')"
    )
    return f"nullif(left(btrim({cleaned}), {length}), '')"


def user(expr: str) -> str:
    return f"coalesce({hid(expr)}, {_lit(SYSTEM_USER_ID)})"


def select_file(file: str, scope: Scope, values: dict[str, str], source: str) -> str:
    """Every HUD column of ``file`` in order: ``values`` (text expressions), null for the rest;
    ExportID filled in."""
    file_spec = spec(file)
    unknown = set(values) - set(file_spec.header)
    if unknown:
        raise ValueError(f"{file} has no columns {sorted(unknown)}")
    values = {**values, "ExportID": _lit(scope.export_id)}
    cols = ", ".join(
        f"{values.get(c.name, 'NULL::text')} AS {_q(c.name)}" for c in file_spec.columns
    )
    return f"SELECT {cols} FROM {source}"


def _q(name: str) -> str:
    return '"' + name + '"'


def _stamps(scope: Scope, alias: str, *, by_user: bool = True) -> dict[str, str]:
    values = {
        "DateCreated": ts(scope, f"{alias}.created_at"),
        "DateUpdated": ts(scope, f"{alias}.updated_at"),
    }
    values["UserID"] = user(f"{alias}.created_by_user_id") if by_user else _lit(SYSTEM_USER_ID)
    return values


def _records(scope: Scope, alias: str) -> dict[str, str]:
    """Columns every enrollment record has: its enrollment, its client, its stamps."""
    return {
        "EnrollmentID": hid("e.id"),
        "PersonalID": hid("e.client_id"),
        **_stamps(scope, alias),
    }


def _enrollment_join(scope: Scope, table: str, alias: str) -> str:
    return (
        f"{table} {alias} JOIN {scope.t('enrollments')} xe ON xe.id = {alias}.enrollment_id "
        f"JOIN enrollments e ON e.id = {alias}.enrollment_id"
    )


def queries(scope: Scope, job: HmisExport, dv_org: uuid.UUID | None) -> dict[str, str]:
    """The SELECT of every file but Export and Client (written in Python)."""
    end = _lit(job.end_date)
    income = INCOME_BENEFITS_COLUMNS
    income_values: dict[str, str] = {}
    for hud, column in income.items():
        if hud.endswith("Identify"):
            income_values[hud] = s(f"r.{column}", 50)
        elif hud.endswith("Amount") or hud == "TotalMonthlyIncome":
            income_values[hud] = m(f"r.{column}")
        else:
            income_values[hud] = i(f"r.{column}")
    dv_filter = "" if dv_org is None else f" WHERE e.created_by_organization_id = {_lit(dv_org)}"
    projects = scope.t("projects")
    out = {
        "Organization": select_file(
            "Organization",
            scope,
            {
                "OrganizationID": hid("o.id"),
                "OrganizationName": s("o.name", 200),
                "VictimServiceProvider": b("o.victim_service_provider"),
                **_stamps(scope, "o", by_user=False),
            },
            f"organizations o WHERE o.id IN (SELECT organization_id FROM {projects}) ORDER BY o.id",
        ),
        "User": select_file(
            "User",
            scope,
            {
                "UserID": "u.user_id",
                "UserFirstName": "u.first_name",
                "UserLastName": "u.last_name",
                "UserEmail": "u.email",
                "DateCreated": ts(scope, "u.created_at"),
                "DateUpdated": ts(scope, "u.updated_at"),
            },
            f"{scope.t('users')} u ORDER BY u.user_id",
        ),
        "Project": select_file(
            "Project",
            scope,
            {
                "ProjectID": hid("p.id"),
                "OrganizationID": hid("p.organization_id"),
                "ProjectName": s("p.name", 200),
                "OperatingStartDate": d("p.operating_start_date"),
                "OperatingEndDate": d("p.operating_end_date"),
                "ContinuumProject": "'1'",
                "ProjectType": i("p.project_type"),
                **_stamps(scope, "p", by_user=False),
            },
            f"projects p WHERE p.id IN (SELECT id FROM {projects}) ORDER BY p.id",
        ),
        "ProjectCoC": select_file(
            "ProjectCoC",
            scope,
            {
                "ProjectCoCID": hid("p.id"),
                "ProjectID": hid("p.id"),
                "CoCCode": "c.code",
                "Geocode": "p.geocode",
                **_stamps(scope, "p", by_user=False),
            },
            f"projects p JOIN organizations o ON o.id = p.organization_id JOIN cocs c ON "
            f"c.id = o.coc_id WHERE p.id IN (SELECT id FROM {projects}) ORDER BY p.id",
        ),
        "HMISParticipation": select_file(
            "HMISParticipation",
            scope,
            {
                "HMISParticipationID": hid("p.id"),
                "ProjectID": hid("p.id"),
                # A victim service provider takes part through a comparable database (2).
                "HMISParticipationType": "(CASE WHEN o.victim_service_provider THEN '2' "
                "ELSE '1' END)",
                "HMISParticipationStatusStartDate": d("p.operating_start_date"),
                "HMISParticipationStatusEndDate": d("p.operating_end_date"),
                **_stamps(scope, "p", by_user=False),
            },
            f"projects p JOIN organizations o ON o.id = p.organization_id "
            f"WHERE p.id IN (SELECT id FROM {projects}) ORDER BY p.id",
        ),
        "CEParticipation": select_file(
            "CEParticipation",
            scope,
            {
                "CEParticipationID": hid("p.id"),
                "ProjectID": hid("p.id"),
                "AccessPoint": b(f"(p.project_type = {PROJECT_TYPE_CE} OR o.access_point)"),
                # An access point runs the CAS & Diversion Intake: the crisis needs
                # (diversion) and housing needs assessments, and diversion services.
                "PreventionAssessment": f"(CASE WHEN p.project_type = {PROJECT_TYPE_CE} OR "
                "o.access_point THEN '0' END)",
                "CrisisAssessment": f"(CASE WHEN p.project_type = {PROJECT_TYPE_CE} OR "
                "o.access_point THEN '1' END)",
                "HousingAssessment": f"(CASE WHEN p.project_type = {PROJECT_TYPE_CE} OR "
                "o.access_point THEN '1' END)",
                "DirectServices": f"(CASE WHEN p.project_type = {PROJECT_TYPE_CE} OR "
                "o.access_point THEN '1' END)",
                "ReceivesReferrals": b("p.referrals_through_cas"),
                "CEParticipationStatusStartDate": d("p.operating_start_date"),
                "CEParticipationStatusEndDate": d("p.operating_end_date"),
                **_stamps(scope, "p", by_user=False),
            },
            f"projects p JOIN organizations o ON o.id = p.organization_id "
            f"WHERE p.id IN (SELECT id FROM {projects}) ORDER BY p.id",
        ),
        "Enrollment": select_file(
            "Enrollment",
            scope,
            {
                "EnrollmentID": hid("e.id"),
                "PersonalID": hid("e.client_id"),
                "ProjectID": hid("e.project_id"),
                "EntryDate": d("e.entry_date"),
                "HouseholdID": hid("e.household_group_id"),
                "RelationshipToHoH": i("e.relationship_to_hoh"),
                "EnrollmentCoC": "e.enrollment_coc",
                "LivingSituation": i("e.living_situation"),
                "RentalSubsidyType": i("e.rental_subsidy_type"),
                "LengthOfStay": i("e.length_of_stay"),
                "LOSUnderThreshold": i("e.los_under_threshold"),
                "PreviousStreetESSH": i("e.previous_street_essh"),
                "DateToStreetESSH": d("e.date_to_street_essh"),
                "TimesHomelessPastThreeYears": i("e.times_homeless_past_three_years"),
                "MonthsHomelessPastThreeYears": i("e.months_homeless_past_three_years"),
                "DisablingCondition": i("e.disabling_condition"),
                "MoveInDate": d(f"CASE WHEN e.move_in_date <= {end} THEN e.move_in_date END"),
                "TranslationNeeded": i("e.translation_needed"),
                "PreferredLanguage": i("e.preferred_language"),
                "PreferredLanguageDifferent": s("e.preferred_language_different", 100),
                **_stamps(scope, "e"),
            },
            f"{scope.t('enrollments')} xe JOIN enrollments e ON e.id = xe.id ORDER BY e.id",
        ),
        "Exit": select_file(
            "Exit",
            scope,
            {
                "ExitID": hid("r.id"),
                "ExitDate": d("r.exit_date"),
                "Destination": i("r.destination"),
                "DestinationSubsidyType": i("r.destination_subsidy_type"),
                "OtherDestination": s("r.other_destination", 50),
                **_records(scope, "r"),
            },
            _enrollment_join(scope, "exits", "r") + f" WHERE r.exit_date <= {end} ORDER BY r.id",
        ),
        "IncomeBenefits": select_file(
            "IncomeBenefits",
            scope,
            {
                "IncomeBenefitsID": hid("r.id"),
                "InformationDate": d("r.information_date"),
                **income_values,
                "DataCollectionStage": i("r.data_collection_stage"),
                **_records(scope, "r"),
            },
            _enrollment_join(scope, "income_benefits", "r")
            + f" WHERE r.information_date <= {end} ORDER BY r.id",
        ),
        "HealthAndDV": select_file(
            "HealthAndDV",
            scope,
            {
                "HealthAndDVID": hid("r.id"),
                "InformationDate": d("r.information_date"),
                "DomesticViolenceSurvivor": i("r.domestic_violence_survivor"),
                "WhenOccurred": i("r.when_occurred"),
                "CurrentlyFleeing": i("r.currently_fleeing"),
                "DataCollectionStage": i("r.data_collection_stage"),
                **_records(scope, "r"),
            },
            _enrollment_join(scope, "health_and_dv", "r")
            + (dv_filter + " AND " if dv_filter else " WHERE ")
            + f"r.information_date <= {end} ORDER BY r.id",
        ),
        "Disabilities": select_file(
            "Disabilities",
            scope,
            {
                "DisabilitiesID": hid("r.id"),
                "InformationDate": d("r.information_date"),
                "DisabilityType": i("r.disability_type"),
                "DisabilityResponse": i("r.disability_response"),
                "IndefiniteAndImpairs": i("r.indefinite_and_impairs"),
                "DataCollectionStage": i("r.data_collection_stage"),
                **_records(scope, "r"),
            },
            _enrollment_join(scope, "disabilities", "r")
            + f" WHERE r.information_date <= {end} ORDER BY r.id",
        ),
        "CurrentLivingSituation": select_file(
            "CurrentLivingSituation",
            scope,
            {
                "CurrentLivingSitID": hid("r.id"),
                "InformationDate": d("r.information_date"),
                "CurrentLivingSituation": i("r.current_living_situation"),
                "CLSSubsidyType": i("r.cls_subsidy_type"),
                # HUD: VerifiedBy only in a Coordinated Entry project.
                "VerifiedBy": f"(CASE WHEN e.is_coordinated_entry THEN "
                f"{s('r.verified_by', 200)} END)",
                "LeaveSituation14Days": i("r.leave_situation_14_days"),
                "SubsequentResidence": i("r.subsequent_residence"),
                "ResourcesToObtain": i("r.resources_to_obtain"),
                "LeaseOwn60Day": i("r.lease_own_60_day"),
                "MovedTwoOrMore": i("r.moved_two_or_more"),
                "LocationDetails": s("r.location_details", 250),
                **_records(scope, "r"),
            },
            _enrollment_join(scope, "current_living_situations", "r")
            + f" WHERE r.information_date <= {end} ORDER BY r.id",
        ),
        "Assessment": select_file(
            "Assessment",
            scope,
            {
                "AssessmentID": hid("r.id"),
                "AssessmentDate": d("r.assessment_date"),
                "AssessmentLocation": f"coalesce({s('r.assessment_location', 250)}, "
                "'Not recorded')",
                "AssessmentType": i("r.assessment_type"),
                "AssessmentLevel": i("r.assessment_level"),
                "PrioritizationStatus": i("r.prioritization_status"),
                **_records(scope, "r"),
            },
            _enrollment_join(scope, "ce_assessments", "r")
            + f" WHERE r.assessment_date <= {end} ORDER BY r.id",
        ),
        "AssessmentQuestions": select_file(
            "AssessmentQuestions",
            scope,
            {
                "AssessmentQuestionID": "x.question_id",
                "AssessmentID": hid("x.ce_assessment_id"),
                "EnrollmentID": hid("x.enrollment_id"),
                "PersonalID": hid("x.client_id"),
                "AssessmentQuestionGroup": "x.grp",
                "AssessmentQuestionOrder": i("x.ord"),
                "AssessmentQuestion": "x.question",
                "AssessmentAnswer": s("x.answer", 500),
                "DateCreated": ts(scope, "x.created_at"),
                "DateUpdated": ts(scope, "x.updated_at"),
                "UserID": user("x.created_by_user_id"),
            },
            f"{scope.t('questions')} x ORDER BY x.question_id",
        ),
        "Event": select_file(
            "Event",
            scope,
            {
                "EventID": hid("r.id"),
                "EventDate": d("r.event_date"),
                "Event": i("r.event"),
                "ProbSolDivRRResult": i("r.prob_sol_div_rr_result"),
                "ReferralCaseManageAfter": i("r.referral_case_manage_after"),
                "LocationCrisisOrPHHousing": s("r.location_crisis_or_ph_housing", 250),
                "ReferralResult": i("r.referral_result"),
                "ResultDate": d("r.result_date"),
                **_records(scope, "r"),
            },
            _enrollment_join(scope, "ce_events", "r")
            + f" WHERE r.event_date <= {end} ORDER BY r.id",
        ),
    }
    return out


async def _prepare(scope: Scope, job: HmisExport) -> None:
    """The export's temporary tables: its projects, enrollments, clients, users, and CAS's
    assessment answers as AssessmentQuestions."""
    conn, start, end = scope.conn, _lit(job.start_date), _lit(job.end_date)
    await conn.execute(
        f"CREATE TEMP TABLE {scope.t('projects')} ON COMMIT DROP AS SELECT p.id, "
        f"p.organization_id FROM projects p WHERE p.id = ANY($1::uuid[])",
        job.project_ids,
    )
    await conn.execute(
        f"CREATE TEMP TABLE {scope.t('enrollments')} ON COMMIT DROP AS SELECT e.id, "
        f"e.client_id FROM enrollments e JOIN clients c ON c.id = e.client_id WHERE "
        f"e.project_id IN (SELECT id FROM {scope.t('projects')}) AND e.voided_at IS NULL AND "
        f"c.merged_into_id IS NULL AND e.entry_date <= {end} AND (e.exit_date IS NULL OR "
        f"e.exit_date >= {start})"
    )
    await conn.execute(f"ALTER TABLE {scope.t('enrollments')} ADD PRIMARY KEY (id)")
    await conn.execute(
        f"CREATE TEMP TABLE {scope.t('clients')} ON COMMIT DROP AS SELECT DISTINCT client_id "
        f"AS id FROM {scope.t('enrollments')}"
    )
    # CAS's diversion and housing needs answers, and diversion services, under the CE
    # assessment (4.19) of the same workflow pass (else the same enrollment's on that date, else
    # the latest before it, else the first after it).
    parts = []
    link = (
        "(SELECT a.id FROM ce_assessments a WHERE a.enrollment_id = r.enrollment_id AND "
        f"a.assessment_date <= {end} ORDER BY (a.assessment_id IS NOT DISTINCT FROM "
        "r.assessment_id AND r.assessment_id IS NOT NULL) DESC, (a.assessment_date = {on}) DESC, "
        "(a.assessment_date <= {on}) DESC, abs(a.assessment_date - {on}), a.created_at, a.id "
        "LIMIT 1)"
    )
    for table, group, questions in (
        ("diversion_assessments", DIVERSION_GROUP, DIVERSION_QUESTIONS),
        ("housing_needs_assessments", HOUSING_NEEDS_GROUP, HOUSING_NEEDS_QUESTIONS),
    ):
        for order, question in enumerate(questions, start=1):
            parts.append(
                f"SELECT md5(r.id::text || {_lit(':' + question)}) AS question_id, "
                f"{link.format(on='r.assessment_date')} AS ce_assessment_id, r.enrollment_id, "
                f"e.client_id, {_lit(group)} AS grp, {order} AS ord, {_lit(question)} AS "
                f"question, (r.{question})::text AS answer, r.created_at, r.updated_at, "
                f"r.created_by_user_id FROM {table} r JOIN {scope.t('enrollments')} xe ON "
                f"xe.id = r.enrollment_id JOIN enrollments e ON e.id = r.enrollment_id "
                f"WHERE r.assessment_date <= {end}"
            )
    parts.append(
        f"SELECT {hid('r.id')} AS question_id, {link.format(on='r.date_provided')} AS "
        f"ce_assessment_id, r.enrollment_id, e.client_id, {_lit(SERVICES_GROUP)} AS grp, "
        f"(row_number() OVER (PARTITION BY r.enrollment_id ORDER BY r.date_provided, "
        f"r.service_type, r.id))::int "
        f"AS ord, r.service_type AS question, to_char(r.date_provided, 'YYYY-MM-DD') AS answer, "
        f"r.created_at, r.updated_at, r.created_by_user_id FROM services r JOIN "
        f"{scope.t('enrollments')} xe ON xe.id = r.enrollment_id JOIN enrollments e ON "
        f"e.id = r.enrollment_id WHERE r.date_provided <= {end}"
    )
    await conn.execute(
        f"CREATE TEMP TABLE {scope.t('questions')} ON COMMIT DROP AS SELECT * FROM ("
        + " UNION ALL ".join(parts)
        + ") q WHERE ce_assessment_id IS NOT NULL"
    )
    users = " UNION ".join(
        f"SELECT r.created_by_user_id AS id FROM {table} r JOIN {scope.t('enrollments')} xe ON "
        f"xe.id = r.enrollment_id"
        for table in (
            "exits",
            "income_benefits",
            "health_and_dv",
            "disabilities",
            "current_living_situations",
            "ce_assessments",
            "ce_events",
        )
    )
    first_name = s("split_part(u.full_name, ' ', 1)", 50)
    last_name = s("substr(u.full_name, length(split_part(u.full_name, ' ', 1)) + 2)", 50)
    await conn.execute(
        f"CREATE TEMP TABLE {scope.t('users')} ON COMMIT DROP AS "
        f"SELECT {hid('u.id')} AS user_id, {first_name} AS first_name, {last_name} AS "
        f"last_name, {s('u.email', 320)} AS email, u.created_at, u.updated_at FROM users u "
        f"WHERE u.id IN (SELECT created_by_user_id FROM enrollments WHERE id IN (SELECT id FROM "
        f"{scope.t('enrollments')}) UNION SELECT created_by_user_id FROM clients WHERE id IN "
        f"(SELECT id FROM {scope.t('clients')}) UNION SELECT created_by_user_id FROM "
        f"{scope.t('questions')} UNION {users}) "
        f"UNION ALL SELECT {_lit(SYSTEM_USER_ID)}, 'CAS', 'System', NULL, $1::timestamptz, "
        f"$1::timestamptz",
        clock.now(),
    )


def _format_client(row: asyncpg.Record, *, cipher: FieldCipher, hashed: bool) -> list[str | None]:
    """A Client.csv row: the SSN decrypted (or hashed with the names, HashStatus 4)."""
    first, middle, last = row["first_name"], row["middle_name"], row["last_name"]
    ssn = decrypt_ssn(row["ssn_encrypted"], cipher)
    if hashed:
        first = hash_name(first) if first else None
        middle = hash_name(middle) if middle else None
        last = hash_name(last) if last else None
        ssn = hash_ssn(ssn) if ssn else None
    values: dict[str, str | None] = {
        "PersonalID": row["id"].hex,
        "FirstName": first,
        "MiddleName": middle,
        "LastName": last,
        "NameSuffix": row["name_suffix"],
        "NameDataQuality": str(row["name_data_quality"]),
        "SSN": ssn,
        "SSNDataQuality": str(row["ssn_data_quality"]),
        "DOB": row["dob"].isoformat() if row["dob"] else None,
        "DOBDataQuality": str(row["dob_data_quality"]),
        "Sex": None if row["sex"] is None else str(row["sex"]),
        "AmIndAKNative": "1" if row["am_ind_ak_native"] else "0",
        "Asian": "1" if row["asian"] else "0",
        "BlackAfAmerican": "1" if row["black_af_american"] else "0",
        "HispanicLatinao": "1" if row["hispanic_latinao"] else "0",
        "MidEastNAfrican": "1" if row["mid_east_n_african"] else "0",
        "NativeHIPacific": "1" if row["native_hi_pacific"] else "0",
        "White": "1" if row["white"] else "0",
        "RaceNone": None if row["race_none"] is None else str(row["race_none"]),
        "AdditionalRaceEthnicity": row["additional_race_ethnicity"],
        "VeteranStatus": str(row["veteran_status"]),
        "DateCreated": row["date_created"],
        "DateUpdated": row["date_updated"],
        "UserID": row["user_id"],
        "ExportID": row["export_id"],
    }
    return [values.get(c) for c in spec("Client").header]


def _client_query(scope: Scope) -> str:
    cleaned = {
        name: f"nullif(left(btrim(regexp_replace(regexp_replace(c.{name}, "
        f"{_lit(IMPERMISSIBLE_SQL_CLASS)}, '', 'g'), '[\\r\\n\\t]+', ' ', 'g')), {length}), '') "
        f"AS {name}"
        for name, length in (
            ("first_name", 50),
            ("middle_name", 50),
            ("last_name", 50),
            ("name_suffix", 50),
            ("additional_race_ethnicity", 100),
        )
    }
    return (
        f"SELECT c.id, {', '.join(cleaned.values())}, c.name_data_quality, c.ssn_encrypted, "
        f"c.ssn_data_quality, c.dob, c.dob_data_quality, c.sex, c.am_ind_ak_native, c.asian, "
        f"c.black_af_american, c.hispanic_latinao, c.mid_east_n_african, c.native_hi_pacific, "
        f"c.white, c.race_none, c.veteran_status, "
        f"{ts(scope, 'c.created_at')} AS date_created, "
        f"{ts(scope, 'c.updated_at')} AS date_updated, "
        f"{user('c.created_by_user_id')} AS user_id, {_lit(scope.export_id)} AS export_id "
        f"FROM clients c WHERE c.id IN (SELECT id FROM {scope.t('clients')}) ORDER BY c.id"
    )


class _ZipWriter:
    """Writes one CSV entry at a time into the zip (on worker threads)."""

    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)
        self._entry: Any = None
        self._text: io.TextIOWrapper | None = None
        self._csv: Any = None

    def start(self, file: str) -> None:
        self._entry = self.zip.open(f"{file}.csv", "w", force_zip64=True)
        self._text = io.TextIOWrapper(self._entry, encoding="utf-8", newline="")
        self._csv = csv.writer(self._text, lineterminator="\r\n")
        self._csv.writerow(spec(file).header)

    def rows(self, rows: Sequence[Sequence[str | None]]) -> None:
        self._csv.writerows(rows)

    def end(self) -> None:
        assert self._text is not None
        self._text.flush()
        self._text.detach()
        self._entry.close()
        self._text = self._entry = self._csv = None

    def close(self) -> None:
        if self._entry is not None:  # a file was left half-written by an error
            with contextlib.suppress(Exception):
                self._entry.close()
            self._text = self._entry = self._csv = None
        self.zip.close()


def _rows(
    batch: list[asyncpg.Record], transform: Callable[[asyncpg.Record], Any] | None
) -> list[Any]:
    return [transform(r) if transform else list(r.values()) for r in batch]


async def _stream(
    scope: Scope,
    file: str,
    sql: str,
    out: _ZipWriter,
    transform: Callable[[asyncpg.Record], Any] | None,
) -> int:
    # A cursor of its own per file: asyncpg caches statements by their text, so a FETCH from
    # a reused name would be read with the previous file's columns.
    name = f"hmis_x_{file.lower()}_{scope.suffix}"
    await scope.conn.execute(f"DECLARE {name} NO SCROLL CURSOR FOR {sql}")
    count = 0
    try:
        while batch := await scope.conn.fetch(f"FETCH FORWARD {BATCH} FROM {name}", timeout=3600):
            rows = await asyncio.to_thread(_rows, batch, transform)
            await asyncio.to_thread(out.rows, rows)
            count += len(rows)
    finally:
        await scope.conn.execute(f"CLOSE {name}")
    return count


def _export_row(
    job: HmisExport, actor: Actor, coc: Coc, lead_name: str | None, tz: str
) -> list[str | None]:
    first, _, last = actor.full_name.partition(" ")
    started = job.started_at or clock.now()
    values: dict[str, str | None] = {
        "ExportID": job.id.hex,
        "SourceType": "4",  # a coordinated access system: not the HMIS itself
        "SourceID": coc.code,
        "SourceName": (lead_name or coc.name)[:50],
        "SourceContactFirst": first[:50] or None,
        "SourceContactLast": last[:50] or None,
        "SourceContactEmail": actor.email[:320],
        "ExportDate": started.astimezone(clock.zone(tz)).strftime("%Y-%m-%d %H:%M:%S"),
        "ExportStartDate": job.start_date.isoformat(),
        "ExportEndDate": job.end_date.isoformat(),
        "SoftwareName": SOFTWARE_NAME,
        "SoftwareVersion": SOFTWARE_VERSION,
        "CSVVersion": EXPORT_CSV_VERSION,
        "ExportPeriodType": "3",
        "ExportDirective": "2",
        "HashStatus": "4" if job.hashed else "1",
        "ImplementationID": f"CAS API {coc.id.hex}",
    }
    return [values.get(c) for c in spec("Export").header]


async def write_export(
    session: AsyncSession,
    actor: Actor,
    job: HmisExport,
    path: Path,
    cipher: FieldCipher,
    progress: JobProgress | None = None,
) -> dict[str, int]:
    """Write the export's zip to ``path`` from one snapshot (call it first thing in a fresh
    session: its transaction becomes repeatable-read); the rows per file."""
    # A session joined to an outer transaction (tests) keeps that one's isolation.
    with contextlib.suppress(InvalidRequestError):
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
    conn = await raw_connection(session)
    await conn.execute("SET LOCAL statement_timeout = 0")
    coc = await session.get(Coc, job.coc_id)
    assert coc is not None
    lead = await session.scalar(
        select(Organization.name).where(
            Organization.coc_id == coc.id, Organization.kind == "hmis_lead"
        )
    )
    scope = Scope(conn=conn, export_id=job.id.hex, tz=coc.time_zone, suffix=job.id.hex[:8])
    await _prepare(scope, job)
    sql = queries(scope, job, domestic_violence_organization(actor))
    counts: dict[str, int] = {}
    out = await asyncio.to_thread(_ZipWriter, path)
    try:
        for file in FILES:
            await asyncio.to_thread(out.start, file)
            if file == "Export":
                await asyncio.to_thread(
                    out.rows, [_export_row(job, actor, coc, lead, coc.time_zone)]
                )
                counts[file] = 1
            elif file == "Client":
                counts[file] = await _stream(
                    scope,
                    file,
                    _client_query(scope),
                    out,
                    lambda r: _format_client(r, cipher=cipher, hashed=job.hashed),
                )
            elif file in HEADER_ONLY:
                counts[file] = 0
            else:
                counts[file] = await _stream(scope, file, sql[file], out, None)
            await asyncio.to_thread(out.end)
            if progress is not None:
                await progress.update(file, rows=counts[file])
    finally:
        await asyncio.to_thread(out.close)
    clients = [
        r["id"] for r in await conn.fetch(f"SELECT id FROM {scope.t('clients')} ORDER BY id")
    ]
    for start in range(0, len(clients), 10_000):
        audit.record_pii_reads(
            session,
            actor,
            clients[start : start + 10_000],
            fields=["hmis_csv_export"],
            action="hmis_export.pii",
        )
    for table in ("questions", "users", "clients", "enrollments", "projects"):
        await conn.execute(f"DROP TABLE IF EXISTS {scope.t(table)}")
    return counts


def _digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            size += len(chunk)
            digest.update(chunk)
    return size, digest.hexdigest()


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as fh:
        while chunk := await asyncio.to_thread(fh.read, 1 << 20):
            yield chunk


async def run_export(runtime: HmisRuntime, export_id: uuid.UUID) -> str:
    """Write the export's zip and store it; returns the final status. Safe to call again for
    an unfinished export (it starts over)."""
    async with unit_of_work(runtime.sessionmaker) as session:
        job = await session.get(HmisExport, export_id)
        if job is None or job.status in TERMINAL:
            return job.status if job is not None else "missing"
        job.status = ExportStatus.RUNNING
        job.started_at = clock.now()
    progress = JobProgress(runtime, HmisExport, export_id)
    progress.state["phase"] = "writing"
    progress.close_phase()
    runtime.work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = runtime.work_dir / f"export-{export_id.hex}.zip"
    status, error, key = ExportStatus.FAILED, None, None
    size = digest = None
    try:
        async with unit_of_work(runtime.sessionmaker) as session:
            assert job.requested_by_user_id is not None
            actor = await membership_actor(session, job.requested_by_user_id, job.organization_id)
            projects = (
                await session.scalars(select(Project).where(Project.id.in_(job.project_ids)))
            ).all()
            if any(not may_export_project(actor, p.organization_id) for p in projects):
                raise Forbidden("The user may no longer export these projects.")
            if any(p.geocode is None for p in projects):
                raise ValidationFailed("An exported project has no Geocode any more (HUD 2.03.2).")
        await progress.flush(force=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        async with unit_of_work(runtime.sessionmaker) as session:
            await write_export(session, actor, job, path, runtime.cipher, progress)
            audit.record(session, actor, "hmis_export.run", "hmis_export", job.id, {})
        size, digest = await asyncio.to_thread(_digest, path)
        key = await runtime.store.save(_file_chunks(path))
        status = ExportStatus.SUCCEEDED
    except DomainError as exc:
        error = exc.detail[:500]
    except (asyncpg.PostgresError, OSError, ObjectMissing) as exc:
        error = f"The export stopped on an error ({type(exc).__name__})."
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    async with unit_of_work(runtime.sessionmaker) as session:
        job = await session.get(HmisExport, export_id, populate_existing=True)
        assert job is not None
        job.status = status
        job.error = error
        job.finished_at = clock.now()
        progress.close_phase()
        progress.state["phase"] = "done"
        job.progress = dict(progress.state)
        if status == ExportStatus.SUCCEEDED:
            job.storage_key = key
            job.size_bytes = size
            job.sha256 = digest
            job.expires_at = job.finished_at + runtime.export_retention
    return status
