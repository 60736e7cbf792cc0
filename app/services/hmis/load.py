"""Loading validated, staged FY2026 files into the CAS model, set-based.

Every imported row gets the id ``keys.source_uuid(data source, file, source id)``; one
``INSERT ... ON CONFLICT (id) DO UPDATE ... WHERE <table>.updated_at < EXCLUDED.updated_at``
per table then inserts what is new and updates what the source changed since: a row's
``updated_at`` is its source DateUpdated (CoC time), so the newer DateUpdated wins and an equal
one changes nothing -- loading the same zip again writes nothing. DateDeleted: an enrollment is
voided (gone from lists, queue and exports, kept for the audit trail); a record hung off an
enrollment is removed and remembered in ``hmis_tombstones`` with its DateUpdated, so an older
copy cannot bring it back; clients, projects and organizations are never deleted by a load
(organizations are made inactive).

Before a row is written it is checked against the CAS table's own rules (its check
constraints, evaluated on the candidate rows): a row that does not fit is left out and reported
(``row_not_loaded``, naming the rule); values HUD allows but CAS keeps differently are replaced
(``value_defaulted``: a missing required answer becomes 99, "data not collected") or left out
(``value_dropped``), and reported. Rows whose parent was not loaded are reported too.

Imported rows have no CAS user as their creator (``created_by_user_id`` is empty: the source's
UserID is not a CAS account; the audit trail names who loaded them).

Ownership: imported organizations and projects belong to the importing CoC (a source
organization with only Coordinated Entry projects is the CoC's shared CAS organization, and a
Coordinated Entry project the CoC's own, when they exist); enrollments and their records belong
to the project's organization (``created_by_organization_id``), which is granted access to the
client (``client_access`` "enrolled"); clients are created by the importing organization. The
existing visibility rules apply from there.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

import asyncpg
from sqlalchemy import CheckConstraint, Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncSession

from app import clock
from app.context import Actor
from app.models.base import Base
from app.models.ce_records import (
    CeAssessment,
    CeEvent,
    CurrentLivingSituation,
    Disability,
    DiversionAssessment,
    HealthAndDv,
    HousingNeedsAssessment,
    IncomeBenefits,
    Service,
)
from app.models.clients import Client
from app.models.enrollments import Enrollment, Exit
from app.reference import FUNDING_SOURCE_CODES, PROJECT_TYPE_CE, YES_NO_REASONS
from app.reference.ce import DIVERSION_SERVICES, IMPORTED_EXIT_REASON
from app.reference.hmis_csv import COC_CODE, FILES, INCOME_BENEFITS_COLUMNS, spec, sql_literal
from app.reference.living_situations import (
    DESTINATIONS,
    LEAVE_SITUATION_ASKED,
    PRIOR_LIVING_SITUATIONS,
)
from app.services.clients.search import name_keys
from app.services.clients.ssn import set_ssn
from app.services.hmis.keys import source_uuid, sql_source_uuid
from app.services.hmis.report import SAMPLE_ROWS, Report
from app.services.hmis.validate import STATEMENT_TIMEOUT, Progress, Staged, cleaned, q
from app.services.platform import audit
from app.services.platform.crypto import FieldCipher

# The AssessmentQuestions groups CAS writes (and reads back): its diversion and housing needs
# assessments' answers and the services that led to a diversion.
DIVERSION_GROUP = "CAS Diversion Assessment"
HOUSING_NEEDS_GROUP = "CAS Housing Needs Assessment"
SERVICES_GROUP = "CAS Diversion Services"
DIVERSION_QUESTIONS = ("housing_crisis_onset", "last_stable_housing_date", "assistance_needed")
HOUSING_NEEDS_QUESTIONS = (
    "sex_offender_registry",
    "meth_manufacturing_conviction",
    "behavioral_health_interest",
    "hud_vash_eligible",
    "violence_trauma_or_unsafe",
)
VOID_REASON = "Deleted in the source HMIS (DateDeleted) and loaded from its CSV export."
# What the CSV files that have no CAS counterpart hold, for the report.
NOT_IN_MODEL = {
    "User": "HMIS users are not CAS accounts",
    "Funder": "only a project's current funding source (2.06.1) is kept",
    "ProjectCoC": "only the project's Geocode is kept",
    "Inventory": "housing inventory is not kept yet",
    "Affiliation": "project affiliations are not kept",
    "HMISParticipation": "HMIS participation is not kept",
    "CEParticipation": "only ReceivesReferrals is kept (referrals through CAS)",
    "EmploymentEducation": "employment and education (R4-R6) are not kept",
    "YouthEducationStatus": "youth education status (C3) is not kept",
    "Services": "HUD services (bed nights, RHY, SSVF, ...) are not kept",
    "AssessmentResults": "assessment scores are not kept yet",
}


def _lit(value: object) -> str:
    return sql_literal(str(value))


def _in(values: Iterable[int]) -> str:
    return "(" + ", ".join(str(v) for v in sorted(values)) + ")"


def _sql_type(column: Any) -> str:
    return str(column.type.compile(dialect=postgresql.dialect()))


@dataclass
class LoadScope:
    """Everything a load needs: the raw connection (inside the session's transaction), the
    session (audit rows), who loads it, where to, and what was staged."""

    conn: asyncpg.Connection
    session: AsyncSession
    actor: Actor
    cipher: FieldCipher
    data_source_id: uuid.UUID
    import_id: uuid.UUID
    coc_code: str
    staged: dict[str, Staged]
    report: Report
    progress: Progress
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    client_ids: list[uuid.UUID] = field(default_factory=list)
    temporaries: list[str] = field(default_factory=list)

    @property
    def ds(self) -> str:
        return _lit(self.data_source_id)

    @property
    def tz(self) -> str:
        return _lit(self.actor.time_zone)

    def sid(self, record_type: str, expr: str) -> str:
        return sql_source_uuid(f"{self.ds}::text", record_type, expr)

    def local(self, expr: str) -> str:
        """A CoC-local timestamp as ``timestamptz``."""
        return f"(({expr}) AT TIME ZONE {self.tz})"

    def has(self, file: str) -> bool:
        return file in self.staged

    def view(self, file: str) -> str:
        return f"hmis_t_{file.lower()}_{self.import_id.hex[:8]}"

    async def execute(self, sql: str, *args: Any) -> str:
        result: str = await self.conn.execute(sql, *args, timeout=STATEMENT_TIMEOUT)
        return result

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return list(await self.conn.fetch(sql, *args, timeout=STATEMENT_TIMEOUT))

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record:
        row = await self.conn.fetchrow(sql, *args, timeout=STATEMENT_TIMEOUT)
        assert row is not None
        return row

    def count(self, file: str, **values: int) -> None:
        bucket = self.counts.setdefault(file, {})
        for key, value in values.items():
            bucket[key] = bucket.get(key, 0) + value


# --- typed views --------------------------------------------------------------------------------


def _typed(kind: str, expr: str) -> str:
    value = cleaned(expr)
    return {
        "S": value,
        "I": f"({value})::int",
        "D": f"({value})::date",
        "T": f"({value})::timestamp",
        "M": f"({value})::numeric",
    }[kind]


async def create_views(scope: LoadScope) -> None:
    """``hmis_t_<file>``: each staged file's values cast to their HUD types (the file passed
    the type rules), under HUD's column names."""
    for file, staged in scope.staged.items():
        cols = ", ".join(
            f"{_typed(c.kind, 's.' + q(c.name))} AS {q(c.name)}" for c in spec(file).columns
        )
        # OFFSET 0: a value the load names several times (dependent fields) is cast once.
        await scope.execute(
            f"CREATE TEMP VIEW {scope.view(file)} AS SELECT s._row, {cols} FROM {staged.table} s "
            "OFFSET 0"
        )


# --- findings from candidate rows ---------------------------------------------------------------


async def _report_rows(
    scope: LoadScope,
    file: str,
    column: str | None,
    rule: str,
    message: str,
    table: str,
    condition: str,
    *,
    row_expr: str = "_row",
) -> int:
    row = await scope.fetchrow(
        f"SELECT count(*)::int AS n, (array_agg({row_expr} ORDER BY {row_expr}))"
        f"[1:{SAMPLE_ROWS}] AS rows FROM {table} WHERE {condition}"
    )
    if row["n"]:
        scope.report.add(file, column, rule, message, count=row["n"], rows=row["rows"] or [])
    return int(row["n"])


def _check_constraints(table: Table) -> list[tuple[str, str]]:
    found = []
    for constraint in table.constraints:
        if isinstance(constraint, CheckConstraint) and constraint.name is not None:
            found.append((str(constraint.name), str(constraint.sqltext)))
    return found


def candidate_select(
    model: type[Base], values: dict[str, str], extra: dict[str, str], source: str
) -> str:
    """``SELECT`` of candidate rows for ``model``'s table: every column (``values`` gives the
    expressions, the rest are null), the ``extra`` bookkeeping columns, and ``_fails``: the
    names of the table's check constraints a row would break (a check fails only when false,
    as in PostgreSQL)."""
    table: Table = model.__table__  # type: ignore[assignment]
    unknown = set(values) - set(table.c.keys())
    if unknown:
        raise ValueError(f"{table.name} has no columns {sorted(unknown)}")
    cols = []
    for column in table.columns:
        if column.computed is not None:
            continue
        expr = values.get(column.name, "NULL")
        cols.append(f"({expr})::{_sql_type(column)} AS {q(column.name)}")
    bookkeeping = [f"{expr} AS {q(name)}" for name, expr in extra.items()]
    inner = f"SELECT {', '.join(bookkeeping + cols)} FROM {source}"
    checks = _check_constraints(table)
    fails = (
        "array_remove(ARRAY["
        + ", ".join(f"CASE WHEN ({sql}) IS FALSE THEN {_lit(name)} END" for name, sql in checks)
        + "]::text[], NULL)"
        if checks
        else "'{}'::text[]"
    )
    # OFFSET 0: each value is computed once per row, not once per check that names it.
    return f"SELECT {q(table.name)}.*, {fails} AS _fails FROM ({inner} OFFSET 0) AS {q(table.name)}"


async def report_not_fitting(scope: LoadScope, file: str, candidates: str, table: str) -> None:
    """A finding per CAS rule the candidate rows would break (they are not loaded)."""
    rows = await scope.fetch(
        f"SELECT f, count(*)::int AS n, (array_agg(_row ORDER BY _row))[1:{SAMPLE_ROWS}] AS rows "
        f"FROM (SELECT _row, unnest(_fails) AS f FROM {candidates} WHERE _parent) x "
        f"GROUP BY f ORDER BY f"
    )
    for row in rows:
        scope.report.add(
            file,
            None,
            "row_not_loaded",
            f"Not loaded: breaks the CAS rule {row['f']} of {table}.",
            count=row["n"],
            rows=row["rows"] or [],
        )


async def report_changed_values(
    scope: LoadScope, file: str, candidates: str, pairs: Iterable[tuple[str, str]]
) -> None:
    """``pairs``: (HUD column, candidate column); the candidate table keeps the HUD value as
    ``_hud_<column>``. Reports values CAS replaced or left out (one scan for every column)."""
    findings: list[tuple[str, str, str, str]] = []
    for hud, column in pairs:
        original = q(f"_hud_{hud}")
        findings.append(
            (
                hud,
                "value_dropped",
                f"{hud}: the value does not fit the record as CAS keeps it (HUD's dependent-field "
                "rules) and was left out.",
                f"{original} IS NOT NULL AND {q(column)} IS NULL",
            )
        )
        findings.append(
            (
                hud,
                "value_defaulted",
                f"{hud}: loaded with CAS's answer for a missing or unusable value (99, data not "
                "collected, or the rule's default).",
                f"{q(column)} IS NOT NULL AND {original} IS DISTINCT FROM {q(column)}",
            )
        )
    if not findings:
        return
    parts = []
    for i, (_, _, _, condition) in enumerate(findings):
        parts.append(f"count(*) FILTER (WHERE {condition})::int AS n{i}")
        parts.append(
            f"(array_agg(_row ORDER BY _row) FILTER (WHERE {condition}))[1:{SAMPLE_ROWS}] AS r{i}"
        )
    row = await scope.fetchrow(
        f"SELECT {', '.join(parts)} FROM {candidates} "
        f"WHERE _parent AND cardinality(_fails) = 0 AND ("
        + " OR ".join(f"({condition})" for *_, condition in findings)
        + ")"
    )
    for i, (hud, rule, message, _) in enumerate(findings):
        if row[f"n{i}"]:
            scope.report.add(file, hud, rule, message, count=row[f"n{i}"], rows=row[f"r{i}"] or [])


# --- upserts ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upsert:
    table: str
    columns: tuple[str, ...]
    # Columns kept when the row is updated (its creation facts).
    keep: tuple[str, ...] = ("id", "created_at", "created_by_user_id")
    versioned: bool = False


async def upsert(scope: LoadScope, file: str, candidates: str, spec_: Upsert) -> tuple[int, int]:
    """Insert the fitting, not deleted candidates that are new; update those the source
    changed since (newer DateUpdated). Returns (inserted, updated)."""
    cols = ", ".join(q(c) for c in spec_.columns)
    sets = [
        f"{q(c)} = EXCLUDED.{q(c)}" for c in spec_.columns if c not in spec_.keep and c != "version"
    ]
    if spec_.versioned:
        sets.append(f"version = {spec_.table}.version + 1")
    row = await scope.fetchrow(
        f"WITH up AS (INSERT INTO {spec_.table} ({cols}) SELECT {cols} FROM {candidates} c "
        f"WHERE c._parent AND cardinality(c._fails) = 0 AND NOT c._deleted AND NOT c._skip "
        f"AND NOT EXISTS (SELECT 1 FROM hmis_tombstones tb WHERE tb.target_id = c.id "
        f"AND tb.date_updated >= c.updated_at) "
        # What CAS already has as new (loading the same zip again): left out before the
        # insert, whose conflict path would lock each such row only to change nothing.
        f"AND NOT EXISTS (SELECT 1 FROM {spec_.table} x WHERE x.id = c.id "
        f"AND x.updated_at >= c.updated_at) ORDER BY c.id "
        f"ON CONFLICT (id) DO UPDATE SET {', '.join(sets)} "
        f"WHERE {spec_.table}.updated_at < EXCLUDED.updated_at RETURNING (xmax = 0) AS inserted) "
        f"SELECT count(*) FILTER (WHERE inserted)::int AS ins, "
        f"count(*) FILTER (WHERE NOT inserted)::int AS upd FROM up"
    )
    inserted, updated = int(row["ins"]), int(row["upd"])
    # A record the source brought back (newer than its deletion) is no longer a tombstone.
    await scope.execute(
        f"DELETE FROM hmis_tombstones tb USING {candidates} c WHERE tb.target_id = c.id "
        f"AND NOT c._deleted AND tb.date_updated < c.updated_at"
    )
    scope.count(file, inserted=inserted, updated=updated)
    return inserted, updated


async def remove_deleted(scope: LoadScope, file: str, candidates: str, table: str) -> int:
    """Records the source deleted (DateDeleted) with a DateUpdated newer than CAS's copy are
    removed; every deletion is remembered (``hmis_tombstones``)."""
    row = await scope.fetchrow(
        f"WITH gone AS (DELETE FROM {table} t USING {candidates} c WHERE t.id = c.id "
        f"AND c._deleted AND t.updated_at < c.updated_at RETURNING t.id) "
        f"SELECT count(*)::int AS n FROM gone"
    )
    await scope.execute(
        f"INSERT INTO hmis_tombstones (target_id, record_type, date_updated, import_id) "
        f"SELECT c.id, {_lit(file)}, c.updated_at, {_lit(scope.import_id)}::uuid "
        f"FROM {candidates} c WHERE c._deleted AND c._parent "
        f"ON CONFLICT (target_id) DO UPDATE SET date_updated = EXCLUDED.date_updated, "
        f"import_id = EXCLUDED.import_id "
        f"WHERE hmis_tombstones.date_updated < EXCLUDED.date_updated"
    )
    deleted = int(row["n"])
    scope.count(file, deleted=deleted)
    return deleted


async def _materialize(scope: LoadScope, name: str, select: str) -> str:
    scope.temporaries.append(name)
    await scope.execute(f"DROP TABLE IF EXISTS {name}")
    await scope.execute(f"CREATE TEMP TABLE {name} ON COMMIT DROP AS {select}")
    return name


def _tmp(scope: LoadScope, name: str) -> str:
    return f"hmis_c_{name}_{scope.import_id.hex[:8]}"


# --- before anything is written -----------------------------------------------------------------


async def prechecks(scope: LoadScope) -> None:
    """High-severity rules that need the whole export: one open Coordinated Entry enrollment
    per client, one exit per enrollment, no exit before its entry, no identifiable client data
    in a victim service provider's projects."""
    if not (scope.has("Enrollment") and scope.has("Project")):
        return
    enrollment, project = scope.view("Enrollment"), scope.view("Project")
    ce = f"p.{q('ProjectType')} = {PROJECT_TYPE_CE}"
    exit_join = ""
    exit_open = "TRUE"
    if scope.has("Exit"):
        exit_join = (
            f"LEFT JOIN (SELECT DISTINCT {q('EnrollmentID')} FROM {scope.view('Exit')} "
            f"WHERE {q('DateDeleted')} IS NULL) x ON x.{q('EnrollmentID')} = e.{q('EnrollmentID')}"
        )
        exit_open = f"x.{q('EnrollmentID')} IS NULL"
    own_ids = scope.sid("Enrollment", "e2." + q("EnrollmentID"))
    open_ce = (
        f"SELECT e._row, e.{q('PersonalID')} AS person FROM {enrollment} e "
        f"JOIN {project} p ON p.{q('ProjectID')} = e.{q('ProjectID')} {exit_join} "
        f"WHERE {ce} AND e.{q('DateDeleted')} IS NULL AND {exit_open}"
    )
    # ... and CAS's own open CE enrollments of the same (imported) clients, from other zips.
    await _report_rows(
        scope,
        "Enrollment",
        "PersonalID",
        "second_open_ce_enrollment",
        "The client would have two open Coordinated Entry enrollments; CAS keeps one (exit or "
        "delete the other in the source).",
        f"({open_ce}) oc",
        f"person IN (SELECT person FROM ({open_ce}) o2 GROUP BY person HAVING count(*) > 1) "
        f"OR EXISTS (SELECT 1 FROM enrollments ce WHERE ce.client_id = "
        f"{scope.sid('Client', 'oc.person')} AND ce.is_coordinated_entry AND ce.exit_date IS NULL "
        f"AND ce.voided_at IS NULL AND ce.id NOT IN (SELECT {own_ids} FROM {enrollment} e2))",
    )
    if scope.has("Exit"):
        exits = scope.view("Exit")
        await _report_rows(
            scope,
            "Exit",
            "EnrollmentID",
            "duplicate_exit",
            "The enrollment has more than one exit; CAS keeps one.",
            f"{exits} x",
            f"x.{q('DateDeleted')} IS NULL AND x.{q('EnrollmentID')} IN (SELECT "
            f"{q('EnrollmentID')} FROM {exits} WHERE {q('DateDeleted')} IS NULL GROUP BY 1 "
            f"HAVING count(*) > 1)",
        )
        await _report_rows(
            scope,
            "Exit",
            "ExitDate",
            "exit_before_entry",
            "The exit date is before the enrollment's entry date.",
            f"{exits} x JOIN {enrollment} e ON e.{q('EnrollmentID')} = x.{q('EnrollmentID')}",
            f"x.{q('ExitDate')} < e.{q('EntryDate')}",
            row_expr="x._row",
        )
    if scope.has("Client") and scope.has("Organization"):
        vsp_people = (
            f"SELECT DISTINCT e.{q('PersonalID')} AS person FROM {enrollment} e JOIN {project} p "
            f"ON p.{q('ProjectID')} = e.{q('ProjectID')} JOIN {scope.view('Organization')} o ON "
            f"o.{q('OrganizationID')} = p.{q('OrganizationID')} WHERE "
            f"o.{q('VictimServiceProvider')} = 1 AND e.{q('DateDeleted')} IS NULL"
        )
        await _report_rows(
            scope,
            "Client",
            None,
            "vsp_client_data",
            "Identifiable client data (name, SSN or date of birth) enrolled in a victim service "
            "provider's project: VSPs may not hold identifiable data in HMIS (federal law).",
            f"{scope.view('Client')} c JOIN ({vsp_people}) v ON v.person = c.{q('PersonalID')}",
            f"(c.{q('FirstName')} IS NOT NULL OR c.{q('LastName')} IS NOT NULL OR "
            f"c.{q('SSN')} IS NOT NULL OR c.{q('DOB')} IS NOT NULL)",
            row_expr="c._row",
        )


# --- organizations and projects (few rows: decided in Python) ------------------------------------


@dataclass
class ProjectRow:
    source_id: str
    organization: str
    name: str
    project_type: int | None
    start: date | None
    end: date | None
    created: datetime
    updated: datetime
    deleted: datetime | None
    row: int


async def _adopted(scope: LoadScope, record_type: str) -> dict[str, uuid.UUID]:
    rows = await scope.fetch(
        "SELECT source_id, target_id FROM hmis_adopted_records WHERE data_source_id = $1 "
        "AND record_type = $2",
        scope.data_source_id,
        record_type,
    )
    return {r["source_id"]: r["target_id"] for r in rows}


async def _adopt(scope: LoadScope, record_type: str, source_id: str, target: uuid.UUID) -> None:
    await scope.execute(
        "INSERT INTO hmis_adopted_records (data_source_id, record_type, source_id, target_id) "
        "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        scope.data_source_id,
        record_type,
        source_id,
        target,
    )


def _local_to_utc_sql() -> str:
    return "($1::timestamp AT TIME ZONE $2)"


async def load_organizations_and_projects(scope: LoadScope) -> dict[str, uuid.UUID]:
    """Upsert the source's organizations and projects; the project id of each source
    ProjectID (adopted or imported)."""
    if not (scope.has("Organization") and scope.has("Project")):
        return {}
    actor = scope.actor
    orgs = await scope.fetch(f"SELECT * FROM {scope.view('Organization')} ORDER BY _row")
    projects = [
        ProjectRow(
            source_id=r["ProjectID"],
            organization=r["OrganizationID"],
            name=r["ProjectName"],
            project_type=r["ProjectType"],
            start=r["OperatingStartDate"],
            end=r["OperatingEndDate"],
            created=r["DateCreated"],
            updated=r["DateUpdated"],
            deleted=r["DateDeleted"],
            row=r["_row"],
        )
        for r in await scope.fetch(f"SELECT * FROM {scope.view('Project')} ORDER BY _row")
    ]
    cas_org = await scope.conn.fetchval(
        "SELECT id FROM organizations WHERE coc_id = $1 AND kind = 'cas'", actor.coc_id
    )
    ce_project = await scope.conn.fetchval(
        "SELECT p.id FROM projects p JOIN organizations o ON o.id = p.organization_id "
        "WHERE o.coc_id = $1 AND o.kind = 'cas' AND p.project_type = $2 "
        "ORDER BY p.created_at LIMIT 1",
        actor.coc_id,
        PROJECT_TYPE_CE,
    )
    adopted_orgs = await _adopted(scope, "Organization")
    adopted_projects = await _adopted(scope, "Project")
    live = [p for p in projects if p.deleted is None]
    ce_only = {
        o["OrganizationID"]
        for o in orgs
        if (own := [p for p in live if p.organization == o["OrganizationID"]])
        and all(p.project_type == PROJECT_TYPE_CE for p in own)
    }
    org_ids: dict[str, uuid.UUID] = {}
    created_kind: dict[str, str] = {}
    for o in orgs:
        source = o["OrganizationID"]
        own_id = source_uuid(scope.data_source_id, "Organization", source)
        if source in adopted_orgs:
            org_ids[source] = adopted_orgs[source]
            continue
        exists = await scope.conn.fetchval("SELECT kind FROM organizations WHERE id = $1", own_id)
        if exists is None and source in ce_only:
            if cas_org is not None:
                await _adopt(scope, "Organization", source, cas_org)
                org_ids[source] = cas_org
                continue
            cas_org = own_id
            created_kind[source] = "cas"
        org_ids[source] = own_id
    # A new organization is an approved Access Point when the source says one of its (not CE)
    # projects is an access point (CEParticipation.AccessPoint); imports never change an
    # existing organization's approval.
    access_points: set[str] = set()
    if scope.has("CEParticipation"):
        access_points = {
            r["org"]
            for r in await scope.fetch(
                f"SELECT DISTINCT p.{q('OrganizationID')} AS org FROM "
                f"{scope.view('CEParticipation')} c JOIN {scope.view('Project')} p ON "
                f"p.{q('ProjectID')} = c.{q('ProjectID')} WHERE c.{q('AccessPoint')} = 1 AND "
                f"c.{q('DateDeleted')} IS NULL AND p.{q('ProjectType')} IS DISTINCT FROM "
                f"{PROJECT_TYPE_CE}"
            )
        }
    inserted = updated = 0
    for o in orgs:
        source = o["OrganizationID"]
        if source in adopted_orgs or org_ids[source] != source_uuid(
            scope.data_source_id, "Organization", source
        ):
            continue
        vsp = o["VictimServiceProvider"] == 1
        row = await scope.fetchrow(
            "WITH up AS (INSERT INTO organizations (id, coc_id, name, kind, "
            "victim_service_provider, access_point, housing_provider, veteran_services, "
            "is_active, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $10, "
            "false, false, $6, ($7::timestamp AT TIME ZONE $9), ($8::timestamp AT TIME ZONE $9), "
            "1) ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, victim_service_provider = "
            "EXCLUDED.victim_service_provider, is_active = EXCLUDED.is_active, updated_at = "
            "EXCLUDED.updated_at, version = organizations.version + 1 WHERE "
            "organizations.updated_at < EXCLUDED.updated_at RETURNING (xmax = 0) AS ins) "
            "SELECT count(*) FILTER (WHERE ins)::int AS i, count(*) FILTER (WHERE NOT ins)::int "
            "AS u FROM up",
            org_ids[source],
            actor.coc_id,
            o["OrganizationName"],
            created_kind.get(source, "agency"),
            vsp,
            o["DateDeleted"] is None,
            o["DateCreated"],
            o["DateUpdated"],
            actor.time_zone,
            source in access_points and not vsp,
        )
        inserted += row["i"]
        updated += row["u"]
    scope.count("Organization", inserted=inserted, updated=updated)
    null_vsp = [o["_row"] for o in orgs if o["VictimServiceProvider"] is None]
    if null_vsp:
        scope.report.add(
            "Organization",
            "VictimServiceProvider",
            "value_defaulted",
            "VictimServiceProvider is missing: loaded as 0 (not a victim service provider).",
            rows=null_vsp,
        )
    deleted_orgs = [o["_row"] for o in orgs if o["DateDeleted"] is not None]
    if deleted_orgs:
        scope.report.add(
            "Organization",
            "DateDeleted",
            "value_defaulted",
            "Deleted in the source: the organization is kept, inactive.",
            rows=deleted_orgs,
        )
    return await _load_projects(scope, projects, org_ids, adopted_projects, ce_project, cas_org)


async def _project_extras(scope: LoadScope) -> dict[str, dict[str, Any]]:
    """Per source ProjectID: funding source (Funder.csv), referrals through CAS
    (CEParticipation.csv) and geocode (ProjectCoC.csv)."""
    extras: dict[str, dict[str, Any]] = {}
    if scope.has("Funder"):
        for r in await scope.fetch(
            f"SELECT DISTINCT ON ({q('ProjectID')}) {q('ProjectID')} AS p, {q('Funder')} AS f "
            f"FROM {scope.view('Funder')} WHERE {q('DateDeleted')} IS NULL AND {q('Funder')} IN "
            f"{_in(FUNDING_SOURCE_CODES)} ORDER BY {q('ProjectID')}, {q('StartDate')} DESC "
            f"NULLS LAST, {q('FunderID')} DESC"
        ):
            extras.setdefault(r["p"], {})["funding_source"] = r["f"]
    if scope.has("CEParticipation"):
        for r in await scope.fetch(
            f"SELECT DISTINCT ON ({q('ProjectID')}) {q('ProjectID')} AS p, "
            f"{q('ReceivesReferrals')} AS r FROM {scope.view('CEParticipation')} WHERE "
            f"{q('DateDeleted')} IS NULL ORDER BY {q('ProjectID')}, "
            f"{q('CEParticipationStatusStartDate')} DESC NULLS LAST, {q('CEParticipationID')} DESC"
        ):
            extras.setdefault(r["p"], {})["referrals_through_cas"] = r["r"] == 1
    if scope.has("ProjectCoC"):
        for r in await scope.fetch(
            f"SELECT DISTINCT ON ({q('ProjectID')}) {q('ProjectID')} AS p, {q('Geocode')} AS g, "
            f"{q('CoCCode')} AS c FROM {scope.view('ProjectCoC')} WHERE {q('DateDeleted')} IS NULL "
            f"ORDER BY {q('ProjectID')}, (upper({q('CoCCode')}) = $1) DESC, "
            f"{q('ProjectCoCID')}",
            scope.coc_code,
        ):
            bucket = extras.setdefault(r["p"], {})
            if r["g"] is not None and re.match(r"^[0-9]{6}$", r["g"]):
                bucket["geocode"] = r["g"]
            if r["c"] is not None and re.match(COC_CODE, r["c"]):
                bucket["coc_code"] = r["c"].upper()
    return extras


async def _load_projects(
    scope: LoadScope,
    projects: list[ProjectRow],
    org_ids: dict[str, uuid.UUID],
    adopted: dict[str, uuid.UUID],
    ce_project: uuid.UUID | None,
    cas_org: uuid.UUID | None,
) -> dict[str, uuid.UUID]:
    extras = await _project_extras(scope)
    ids: dict[str, uuid.UUID] = {}
    defaulted_start: list[int] = []
    dropped_end: list[int] = []
    not_loaded: list[int] = []
    deleted: list[int] = []
    inserted = updated = 0
    changed: dict[uuid.UUID, int] = {}  # updated projects' rows
    for p in projects:
        own_id = source_uuid(scope.data_source_id, "Project", p.source_id)
        if p.source_id in adopted:
            ids[p.source_id] = adopted[p.source_id]
            continue
        if p.project_type is None or p.organization not in org_ids:
            not_loaded.append(p.row)
            continue
        org = org_ids[p.organization]
        if p.project_type == PROJECT_TYPE_CE:
            exists = await scope.conn.fetchval("SELECT 1 FROM projects WHERE id = $1", own_id)
            if exists is None and ce_project is not None:
                await _adopt(scope, "Project", p.source_id, ce_project)
                ids[p.source_id] = ce_project
                continue
            if exists is None:
                ce_project = own_id
            if cas_org is not None:
                org = cas_org
        ids[p.source_id] = own_id
        start = p.start
        if start is None:
            start = p.created.date()
            defaulted_start.append(p.row)
        end = p.end
        if end is not None and end < start:
            end = None
            dropped_end.append(p.row)
        if p.deleted is not None:
            deleted.append(p.row)
        extra = extras.get(p.source_id, {})
        row = await scope.fetchrow(
            "WITH up AS (INSERT INTO projects (id, organization_id, name, project_type, "
            "funding_source, referrals_through_cas, operating_start_date, operating_end_date, "
            "geocode, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
            "$9, ($10::timestamp AT TIME ZONE $12), ($11::timestamp AT TIME ZONE $12), 1) "
            "ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, project_type = "
            "EXCLUDED.project_type, funding_source = EXCLUDED.funding_source, "
            "referrals_through_cas = EXCLUDED.referrals_through_cas, operating_start_date = "
            "EXCLUDED.operating_start_date, operating_end_date = EXCLUDED.operating_end_date, "
            "geocode = EXCLUDED.geocode, updated_at = EXCLUDED.updated_at, version = "
            "projects.version + 1 WHERE projects.updated_at < EXCLUDED.updated_at "
            "RETURNING (xmax = 0) AS ins) SELECT count(*) FILTER (WHERE ins)::int AS i, "
            "count(*) FILTER (WHERE NOT ins)::int AS u FROM up",
            own_id,
            org,
            p.name,
            p.project_type,
            extra.get("funding_source"),
            bool(extra.get("referrals_through_cas", False)),
            start,
            end,
            extra.get("geocode"),
            p.created,
            p.updated,
            scope.actor.time_zone,
        )
        inserted += row["i"]
        updated += row["u"]
        if row["u"]:
            changed[own_id] = p.row
    scope.count("Project", inserted=inserted, updated=updated)
    report = scope.report
    if changed:
        # HUD 2.03: the source's operating period wins (the API refuses the change, 422), but
        # an entry CAS already holds outside it is reported on the project's row.
        outside = await scope.conn.fetch(
            "SELECT p.id FROM projects p WHERE p.id = ANY($1::uuid[]) AND EXISTS (SELECT 1 "
            "FROM enrollments e WHERE e.project_id = p.id AND e.voided_at IS NULL AND "
            "(e.entry_date < p.operating_start_date OR e.entry_date > p.operating_end_date))",
            list(changed),
        )
        if outside:
            report.add(
                "Project",
                "OperatingStartDate",
                "entry_outside_operating_period",
                "Loaded, but the project holds entries outside its new operating period "
                "(OperatingStartDate to OperatingEndDate): correct the dates or the entries.",
                rows=sorted(changed[r["id"]] for r in outside),
            )
    if not_loaded:
        report.add(
            "Project",
            "ProjectType",
            "row_not_loaded",
            "Not loaded: CAS needs a ProjectType (2.02.6) and the project's organization.",
            rows=not_loaded,
        )
    if defaulted_start:
        report.add(
            "Project",
            "OperatingStartDate",
            "value_defaulted",
            "OperatingStartDate is missing: loaded as the date of DateCreated.",
            rows=defaulted_start,
        )
    if dropped_end:
        report.add(
            "Project",
            "OperatingEndDate",
            "value_dropped",
            "OperatingEndDate is before OperatingStartDate: left out.",
            rows=dropped_end,
        )
    if deleted:
        report.add(
            "Project",
            "DateDeleted",
            "value_dropped",
            "Deleted in the source: CAS keeps projects (set an operating end date instead).",
            rows=deleted,
        )
    for source, values in extras.items():
        code = values.get("coc_code")
        if code is not None and code != scope.coc_code and source in ids:
            report.add(
                "ProjectCoC",
                "CoCCode",
                "other_coc",
                f"A project's ProjectCoC names {code}; it is loaded into {scope.coc_code}.",
                severity_="info",
            )
            break
    return ids


async def project_map(scope: LoadScope, ids: dict[str, uuid.UUID]) -> str:
    """A temporary table of source ProjectID -> CAS project (with its organization and type),
    for the joins of the files below."""
    name = _tmp(scope, "projects")
    scope.temporaries.append(name)
    await scope.execute(f"DROP TABLE IF EXISTS {name}")
    await scope.execute(
        f"CREATE TEMP TABLE {name} (source_id text PRIMARY KEY, id uuid NOT NULL) ON COMMIT DROP"
    )
    if ids:
        await scope.conn.executemany(
            f"INSERT INTO {name} VALUES ($1, $2)", [(k, v) for k, v in ids.items()]
        )
    return name


# --- clients (names, SSN: prepared in Python, then set-based) ------------------------------------

_CLIENT_COLUMNS = (
    "id",
    "coc_id",
    "created_by_organization_id",
    "created_by_user_id",
    "first_name",
    "middle_name",
    "last_name",
    "name_suffix",
    "name_data_quality",
    "first_name_key",
    "last_name_key",
    "first_name_alt_key",
    "last_name_alt_key",
    "first_name_norm",
    "last_name_norm",
    "ssn_encrypted",
    "ssn_hash",
    "ssn_last4_hash",
    "ssn_data_quality",
    "dob",
    "dob_data_quality",
    "am_ind_ak_native",
    "asian",
    "black_af_american",
    "hispanic_latinao",
    "mid_east_n_african",
    "native_hi_pacific",
    "white",
    "race_none",
    "additional_race_ethnicity",
    "sex",
    "veteran_status",
    "created_at",
    "updated_at",
    "version",
)
_RACES = (
    ("AmIndAKNative", "am_ind_ak_native"),
    ("Asian", "asian"),
    ("BlackAfAmerican", "black_af_american"),
    ("HispanicLatinao", "hispanic_latinao"),
    ("MidEastNAfrican", "mid_east_n_african"),
    ("NativeHIPacific", "native_hi_pacific"),
    ("White", "white"),
)
_SSN = re.compile(r"^[0-9xX]{9}$")
_CLIENT_BATCH = 5000


@dataclass
class _ClientFindings:
    rows: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)

    def add(self, column: str, rule: str, message: str, row: int) -> None:
        key = (column, rule, message)
        self.counts[key] = self.counts.get(key, 0) + 1
        bucket = self.rows.setdefault(key, [])
        if len(bucket) < SAMPLE_ROWS:
            bucket.append(row)


class _SsnColumns:
    """The columns ``set_ssn`` writes, on a plain object: an ORM instance's attribute events
    cost ten times the encryption itself."""

    ssn_encrypted: bytes | None = None
    ssn_hash: str | None = None
    ssn_last4_hash: str | None = None


def _prepare_client(
    r: asyncpg.Record,
    *,
    client_id: uuid.UUID,
    coc_id: uuid.UUID,
    organization_id: uuid.UUID,
    user_id: uuid.UUID | None,
    cipher: FieldCipher,
    created: datetime,
    updated: datetime,
    findings: _ClientFindings,
) -> tuple[Any, ...]:
    """One client row as CAS keeps it: data quality derived as the API derives it (a stated
    quality that contradicts the value is replaced), search keys, SSN encrypted with its keyed
    hashes (``clients.ssn.set_ssn``)."""
    row = r["_row"]
    first, middle, last, suffix = r["FirstName"], r["MiddleName"], r["LastName"], r["NameSuffix"]
    stated = r["NameDataQuality"]
    if first and last:
        name_dq = stated if stated in (1, 2) else 1
    elif first or last:
        name_dq = 2
    else:
        name_dq = stated if stated in (8, 9, 99) else 99
    if stated is not None and stated != name_dq:
        findings.add(
            "NameDataQuality",
            "value_defaulted",
            "NameDataQuality contradicts the name given: derived from it as CAS does.",
            row,
        )
    ssn = r["SSN"]
    if ssn is not None and not _SSN.match(ssn):
        findings.add("SSN", "value_dropped", "The SSN is not 9 digits or x: left out.", row)
        ssn = None
    if ssn is not None:
        ssn = ssn.lower()
    stated = r["SSNDataQuality"]
    if ssn is None:
        ssn_dq = stated if stated in (8, 9, 99) else 99
    elif not ssn.isdigit():
        ssn_dq = 2
    else:
        ssn_dq = stated if stated in (1, 2) else 1
    if stated is not None and stated != ssn_dq:
        findings.add(
            "SSNDataQuality",
            "value_defaulted",
            "SSNDataQuality contradicts the SSN given: derived from it as CAS does.",
            row,
        )
    dob = r["DOB"]
    if dob is not None and dob < date(1900, 1, 1):
        findings.add("DOB", "value_dropped", "A date of birth before 1900: left out.", row)
        dob = None
    stated = r["DOBDataQuality"]
    if dob is None:
        dob_dq = stated if stated in (8, 9, 99) else 99
    else:
        dob_dq = stated if stated in (1, 2) else 1
    if stated is not None and stated != dob_dq:
        findings.add(
            "DOBDataQuality",
            "value_defaulted",
            "DOBDataQuality contradicts the date of birth given: derived from it as CAS does.",
            row,
        )
    races = [r[hud] == 1 for hud, _ in _RACES]
    race_none = None if any(races) else (r["RaceNone"] if r["RaceNone"] in (8, 9, 99) else 99)
    veteran = r["VeteranStatus"]
    if veteran not in YES_NO_REASONS:
        veteran = 99
    holder = _SsnColumns()
    set_ssn(cast(Client, holder), ssn, cipher)
    first_keys = name_keys(first)
    last_keys = name_keys(last)
    return (
        client_id,
        coc_id,
        organization_id,
        user_id,
        first,
        middle,
        last,
        suffix,
        name_dq,
        first_keys[1],
        last_keys[1],
        first_keys[2],
        last_keys[2],
        first_keys[0],
        last_keys[0],
        holder.ssn_encrypted,
        holder.ssn_hash,
        holder.ssn_last4_hash,
        ssn_dq,
        dob,
        dob_dq,
        *races,
        race_none,
        r["AdditionalRaceEthnicity"],
        r["Sex"],
        veteran,
        created,
        updated,
        1,
    )


async def load_clients(scope: LoadScope) -> None:
    """Clients new to CAS or changed in the source since (newer DateUpdated) are prepared in
    Python (names' search keys, the SSN encrypted: on worker threads) in batches, copied into
    a temporary table and upserted."""
    if not scope.has("Client"):
        return
    actor = scope.actor
    view = scope.view("Client")
    sid = scope.sid("Client", f"t.{q('PersonalID')}")
    prepared = _tmp(scope, "clients")
    scope.temporaries.append(prepared)
    await scope.execute(f"DROP TABLE IF EXISTS {prepared}")
    await scope.execute(
        f"CREATE TEMP TABLE {prepared} ON COMMIT DROP AS SELECT * FROM clients WITH NO DATA"
    )
    await scope.execute(f"ALTER TABLE {prepared} DROP COLUMN name_pair_keys")
    await scope.execute(f"ALTER TABLE {prepared} ADD COLUMN _row bigint")
    candidates = (
        f"SELECT t.*, {sid} AS _id, {scope.local('t.' + q('DateCreated'))} AS _created, "
        f"{scope.local('t.' + q('DateUpdated'))} AS _updated FROM {view} t"
    )
    wanted = (
        f"SELECT * FROM ({candidates}) c WHERE NOT EXISTS (SELECT 1 FROM clients x WHERE "
        f"x.id = c._id AND x.updated_at >= c._updated) ORDER BY c._row"
    )
    findings = _ClientFindings()
    total = 0

    def prepare(batch: list[asyncpg.Record]) -> list[tuple[Any, ...]]:
        return [
            (
                *_prepare_client(
                    r,
                    client_id=r["_id"],
                    coc_id=actor.coc_id,
                    organization_id=actor.organization_id,
                    user_id=None,
                    cipher=scope.cipher,
                    created=r["_created"],
                    updated=r["_updated"],
                    findings=findings,
                ),
                r["_row"],
            )
            for r in batch
        ]

    async for batch in _batches(scope, wanted):
        rows = await asyncio.to_thread(prepare, batch)
        await scope.conn.copy_records_to_table(
            prepared, records=rows, columns=[*_CLIENT_COLUMNS, "_row"], timeout=STATEMENT_TIMEOUT
        )
        total += len(rows)
        await scope.progress("Client", prepared=total)
    for (column, rule, message), rows_ in findings.rows.items():
        scope.report.add(
            "Client",
            column,
            rule,
            message,
            count=findings.counts[(column, rule, message)],
            rows=rows_,
        )
    deleted = await _report_rows(
        scope,
        "Client",
        "DateDeleted",
        "value_dropped",
        "Deleted in the source: CAS does not delete people (their deleted enrollments are voided).",
        view,
        f"{q('DateDeleted')} IS NOT NULL",
    )
    del deleted
    cands = await _materialize(
        scope,
        _tmp(scope, "client_candidates"),
        candidate_select(
            Client,
            {c: q(c) for c in _CLIENT_COLUMNS},
            {"_row": "_row", "_parent": "TRUE", "_deleted": "FALSE", "_skip": "FALSE"},
            prepared,
        ),
    )
    await report_not_fitting(scope, "Client", cands, "clients")
    await upsert(
        scope,
        "Client",
        cands,
        Upsert(
            "clients",
            _CLIENT_COLUMNS,
            keep=("id", "coc_id", "created_at", "created_by_organization_id", "created_by_user_id"),
            versioned=True,
        ),
    )
    await scope.execute(
        f"INSERT INTO client_access (id, coc_id, client_id, organization_id, reason) "
        f"SELECT gen_random_uuid(), x.coc_id, c.id, {_lit(actor.organization_id)}::uuid, "
        f"'created' FROM {cands} c JOIN clients x ON x.id = c.id "
        f"ON CONFLICT (client_id, organization_id, reason) DO NOTHING"
    )
    scope.client_ids.extend(
        r["id"]
        for r in await scope.fetch(
            f"SELECT c.id FROM {cands} c JOIN clients x ON x.id = c.id AND "
            f"x.updated_at = c.updated_at"
        )
    )


async def _batches(scope: LoadScope, sql: str) -> AsyncIterator[list[asyncpg.Record]]:
    """The rows of ``sql`` in batches (a cursor: constant memory), closed at the end."""
    name = f"hmis_cursor_{scope.import_id.hex[:8]}"
    await scope.execute(f"DECLARE {name} NO SCROLL CURSOR FOR {sql}")
    try:
        while batch := await scope.fetch(f"FETCH FORWARD {_CLIENT_BATCH} FROM {name}"):
            yield batch
    finally:
        await scope.execute(f"CLOSE {name}")


# --- enrollments and their households ------------------------------------------------------------


async def load_enrollments(scope: LoadScope, projects: str) -> None:
    if not (scope.has("Enrollment") and scope.has("Client")):
        return
    actor = scope.actor
    t = scope.view("Enrollment")
    hh = f"coalesce(t.{q('HouseholdID')}, t.{q('EnrollmentID')})"
    exit_date = "NULL::date"
    exit_join = ""
    if scope.has("Exit"):
        exit_join = (
            f"LEFT JOIN (SELECT DISTINCT ON ({q('EnrollmentID')}) {q('EnrollmentID')} AS enr, "
            f"{q('ExitDate')} AS exit_date FROM {scope.view('Exit')} WHERE {q('DateDeleted')} "
            f"IS NULL ORDER BY {q('EnrollmentID')}, {q('DateUpdated')} DESC) xt "
            f"ON xt.enr = t.{q('EnrollmentID')}"
        )
        exit_date = "xt.exit_date"
    # The head of each HUD household: its RelationshipToHoH 1 member (the first by entry), or
    # the first member when none is marked.
    heads = _tmp(scope, "heads")
    await _materialize(
        scope,
        heads,
        f"SELECT DISTINCT ON ({hh}) {hh} AS hh, t.{q('EnrollmentID')} AS head FROM {t} t "
        f"ORDER BY {hh}, (t.{q('RelationshipToHoH')} = 1) DESC NULLS LAST, t.{q('EntryDate')}, "
        f"t.{q('EnrollmentID')}",
    )
    homeless = "ls BETWEEN 100 AND 199"
    values = {
        "id": scope.sid("Enrollment", f"t.{q('EnrollmentID')}"),
        "coc_id": _lit(actor.coc_id),
        "client_id": scope.sid("Client", f"t.{q('PersonalID')}"),
        "project_id": "pm.id",
        "is_coordinated_entry": f"pr.project_type = {PROJECT_TYPE_CE}",
        "household_id": scope.sid("Household", hh),
        "household_group_id": scope.sid("Enrollment", "h.head"),
        "relationship_to_hoh": f"coalesce(t.{q('RelationshipToHoH')}, 99)",
        "entry_date": f"t.{q('EntryDate')}",
        "enrollment_coc": (
            f"coalesce(CASE WHEN t.{q('EnrollmentCoC')} ~ {_lit(COC_CODE)} THEN "
            f"upper(t.{q('EnrollmentCoC')}) END, {_lit(scope.coc_code)})"
        ),
        "created_by_user_id": "NULL",
        "created_by_organization_id": "pr.organization_id",
        "disabling_condition": f"coalesce(t.{q('DisablingCondition')}, 99)",
        "living_situation": (
            f"CASE WHEN ls IN {_in(PRIOR_LIVING_SITUATIONS)} AND (ls <> 435 OR "
            f"t.{q('RentalSubsidyType')} IS NOT NULL) THEN ls END"
        ),
        "rental_subsidy_type": f"CASE WHEN ls = 435 THEN t.{q('RentalSubsidyType')} END",
        "length_of_stay": f"t.{q('LengthOfStay')}",
        "los_under_threshold": f"CASE WHEN NOT coalesce({homeless}, FALSE) THEN "
        f"t.{q('LOSUnderThreshold')} END",
        "previous_street_essh": f"CASE WHEN NOT coalesce({homeless}, FALSE) AND "
        f"t.{q('LOSUnderThreshold')} = 1 THEN t.{q('PreviousStreetESSH')} END",
        "date_to_street_essh": f"CASE WHEN (coalesce({homeless}, FALSE) OR "
        f"(t.{q('LOSUnderThreshold')} = 1 AND t.{q('PreviousStreetESSH')} = 1)) AND "
        f"t.{q('DateToStreetESSH')} <= t.{q('EntryDate')} THEN t.{q('DateToStreetESSH')} END",
        "times_homeless_past_three_years": f"CASE WHEN coalesce({homeless}, FALSE) OR "
        f"(t.{q('LOSUnderThreshold')} = 1 AND t.{q('PreviousStreetESSH')} = 1) THEN "
        f"t.{q('TimesHomelessPastThreeYears')} END",
        "months_homeless_past_three_years": f"CASE WHEN coalesce({homeless}, FALSE) OR "
        f"(t.{q('LOSUnderThreshold')} = 1 AND t.{q('PreviousStreetESSH')} = 1) THEN "
        f"t.{q('MonthsHomelessPastThreeYears')} END",
        "translation_needed": f"t.{q('TranslationNeeded')}",
        "preferred_language": f"t.{q('PreferredLanguage')}",
        "preferred_language_different": f"CASE WHEN t.{q('PreferredLanguage')} = 21 THEN "
        f"t.{q('PreferredLanguageDifferent')} END",
        "move_in_date": f"CASE WHEN t.{q('MoveInDate')} >= t.{q('EntryDate')} THEN "
        f"t.{q('MoveInDate')} END",
        "outcome": "'pending'",
        "exit_date": exit_date,
        "voided_at": scope.local(f"t.{q('DateDeleted')}"),
        "voided_by_user_id": f"CASE WHEN t.{q('DateDeleted')} IS NOT NULL THEN "
        f"{_lit(actor.user_id)}::uuid END",
        "void_reason": f"CASE WHEN t.{q('DateDeleted')} IS NOT NULL THEN {_lit(VOID_REASON)} END",
        "created_at": scope.local(f"t.{q('DateCreated')}"),
        "updated_at": scope.local(f"t.{q('DateUpdated')}"),
        "version": "1",
    }
    hud_values = {
        "RelationshipToHoH": "relationship_to_hoh",
        "EnrollmentCoC": "enrollment_coc",
        "DisablingCondition": "disabling_condition",
        "LivingSituation": "living_situation",
        "RentalSubsidyType": "rental_subsidy_type",
        "LOSUnderThreshold": "los_under_threshold",
        "PreviousStreetESSH": "previous_street_essh",
        "DateToStreetESSH": "date_to_street_essh",
        "TimesHomelessPastThreeYears": "times_homeless_past_three_years",
        "MonthsHomelessPastThreeYears": "months_homeless_past_three_years",
        "PreferredLanguageDifferent": "preferred_language_different",
        "MoveInDate": "move_in_date",
    }
    extra = {
        "_row": "t._row",
        "_parent": "(pm.id IS NOT NULL AND cl.id IS NOT NULL)",
        "_deleted": "FALSE",
        "_skip": "FALSE",
        **{f"_hud_{k}": f"t.{q(k)}" for k in hud_values},
        "_hh": hh,
    }
    source = (
        f"(SELECT t.*, t.{q('LivingSituation')} AS ls FROM {t} t) t "
        f"LEFT JOIN {projects} pm ON pm.source_id = t.{q('ProjectID')} "
        f"LEFT JOIN projects pr ON pr.id = pm.id "
        f"LEFT JOIN clients cl ON cl.id = {scope.sid('Client', 't.' + q('PersonalID'))} "
        f"LEFT JOIN {heads} h ON h.hh = {hh} {exit_join}"
    )
    cands = await _materialize(
        scope,
        _tmp(scope, "enrollments"),
        candidate_select(Enrollment, values, extra, source),
    )
    await _report_rows(
        scope,
        "Enrollment",
        None,
        "row_not_loaded",
        "Not loaded: its client or project was not loaded.",
        cands,
        "NOT _parent",
    )
    await report_not_fitting(scope, "Enrollment", cands, "enrollments")
    await report_changed_values(
        scope,
        "Enrollment",
        cands,
        hud_values.items(),
    )
    ok = f"FROM {cands} c WHERE c._parent AND cardinality(c._fails) = 0"
    # HUD 2.03: the API refuses an entry outside the project's operating period; a source
    # system's history may hold one. Loaded (refusing it would lose the client's history) and
    # reported, for the HMIS lead to correct the entry or the project's dates.
    await _report_rows(
        scope,
        "Enrollment",
        "EntryDate",
        "entry_outside_operating_period",
        "Loaded, but the entry date is outside the project's operating period "
        "(OperatingStartDate to OperatingEndDate): correct the entry or the project's dates.",
        f"{cands} c JOIN projects p ON p.id = c.project_id",
        "c._parent AND cardinality(c._fails) = 0 AND (c.entry_date < p.operating_start_date "
        "OR c.entry_date > p.operating_end_date)",
        row_expr="c._row",
    )
    # Households (one per HUD HouseholdID) and their members.
    await scope.execute(
        f"INSERT INTO households (id, coc_id, created_by_organization_id, created_at, "
        f"updated_at, version) SELECT DISTINCT ON (c.household_id) c.household_id, c.coc_id, "
        f"c.created_by_organization_id, c.created_at, c.updated_at, 1 {ok} "
        f"ORDER BY c.household_id, (c.id = c.household_group_id) DESC, c.created_at "
        f"ON CONFLICT (id) DO NOTHING"
    )
    member_id = scope.sid("HouseholdMember", "c._hh || ':' || c.client_id::text")
    await scope.execute(
        f"INSERT INTO household_members (id, coc_id, household_id, client_id, "
        f"relationship_to_hoh, created_at, updated_at) SELECT {member_id}, "
        f"c.coc_id, c.household_id, c.client_id, CASE WHEN c.relationship_to_hoh = 1 AND c.id <> "
        f"c.household_group_id THEN 99 ELSE c.relationship_to_hoh END, c.created_at, "
        f"c.updated_at FROM (SELECT DISTINCT ON (c.household_id, c.client_id) c.* {ok} "
        f"ORDER BY c.household_id, c.client_id, (c.id = c.household_group_id) DESC) c "
        f"WHERE NOT (c.relationship_to_hoh = 1 AND c.id = c.household_group_id AND EXISTS "
        f"(SELECT 1 FROM household_members m WHERE m.household_id = c.household_id AND "
        f"m.relationship_to_hoh = 1 AND m.client_id <> c.client_id)) "
        f"ON CONFLICT (household_id, client_id) DO NOTHING"
    )
    enrollments: Table = Enrollment.__table__  # type: ignore[assignment]
    columns = tuple(c.name for c in enrollments.columns if c.name != "outcome")
    await upsert(
        scope,
        "Enrollment",
        cands,
        Upsert(
            "enrollments",
            (*columns, "outcome"),
            keep=(
                "id",
                "coc_id",
                "created_at",
                "created_by_user_id",
                "created_by_organization_id",
                "outcome",
            ),
            versioned=True,
        ),
    )
    await scope.execute(
        f"INSERT INTO client_access (id, coc_id, client_id, organization_id, reason) "
        f"SELECT gen_random_uuid(), x.coc_id, x.client_id, x.created_by_organization_id, "
        f"'enrolled' FROM (SELECT DISTINCT c.coc_id, c.client_id, c.created_by_organization_id "
        f"{ok}) x "
        f"ON CONFLICT (client_id, organization_id, reason) DO NOTHING"
    )
    voided = await _report_rows(
        scope,
        "Enrollment",
        "DateDeleted",
        "value_defaulted",
        "Deleted in the source: the enrollment is voided in CAS (gone from lists, the queue "
        "and exports; kept for the audit trail).",
        cands,
        "_parent AND cardinality(_fails) = 0 AND voided_at IS NOT NULL",
    )
    scope.count("Enrollment", voided=voided)


# --- exits --------------------------------------------------------------------------------------


def _enrollment_source(scope: LoadScope, file: str) -> str:
    """The file's typed rows with the CAS enrollment they hang off (``e``: its ``id``,
    ``client_id`` and ``created_by_organization_id``, when it is in CAS)."""
    return (
        f"{scope.view(file)} t LEFT JOIN {_tmp(scope, 'enrollment_map')} e ON "
        f"e.source = t.{q('EnrollmentID')}"
    )


async def enrollment_map(scope: LoadScope) -> None:
    """Source EnrollmentID -> the CAS enrollment (those in CAS after the enrollments' load):
    the records below join it by text instead of computing each enrollment's id again."""
    name = _tmp(scope, "enrollment_map")
    scope.temporaries.append(name)
    await scope.execute(f"DROP TABLE IF EXISTS {name}")
    if not scope.has("Enrollment"):
        await scope.execute(
            f"CREATE TEMP TABLE {name} (source text PRIMARY KEY, id uuid, client_id uuid, "
            f"created_by_organization_id uuid) ON COMMIT DROP"
        )
        return
    await scope.execute(
        f"CREATE TEMP TABLE {name} ON COMMIT DROP AS SELECT DISTINCT ON (t.{q('EnrollmentID')}) "
        f"t.{q('EnrollmentID')} AS source, e.id, e.client_id, e.created_by_organization_id "
        f"FROM {scope.view('Enrollment')} t JOIN enrollments e ON e.id = "
        f"{scope.sid('Enrollment', 't.' + q('EnrollmentID'))} ORDER BY t.{q('EnrollmentID')}"
    )
    await scope.execute(f"ALTER TABLE {name} ADD PRIMARY KEY (source)")
    await scope.execute(f"ANALYZE {name}")


def _record_values(scope: LoadScope, file: str, pk: str) -> tuple[dict[str, str], dict[str, str]]:
    values = {
        "id": scope.sid(file, f"t.{q(pk)}"),
        "enrollment_id": "e.id",
        "client_id": "e.client_id",
        "created_by_user_id": "NULL",
        "created_by_organization_id": "e.created_by_organization_id",
        "created_at": scope.local(f"t.{q('DateCreated')}"),
        "updated_at": scope.local(f"t.{q('DateUpdated')}"),
    }
    extra = {
        "_row": "t._row",
        "_parent": "(e.id IS NOT NULL)",
        "_deleted": f"(t.{q('DateDeleted')} IS NOT NULL)",
        "_skip": "FALSE",
    }
    return values, extra


async def load_exits(scope: LoadScope) -> None:
    if not scope.has("Exit"):
        return
    values, extra = _record_values(scope, "Exit", "ExitID")
    d = f"t.{q('Destination')}"
    values.update(
        {
            "exit_date": f"t.{q('ExitDate')}",
            "destination": f"CASE WHEN {d} IN {_in(DESTINATIONS)} AND ({d} <> 435 OR "
            f"t.{q('DestinationSubsidyType')} IS NOT NULL) THEN {d} ELSE 99 END",
            "destination_subsidy_type": f"CASE WHEN {d} = 435 THEN "
            f"t.{q('DestinationSubsidyType')} END",
            "other_destination": f"CASE WHEN {d} = 17 THEN coalesce(t.{q('OtherDestination')}, "
            f"'Not specified in the source') END",
            "exit_reason": _lit(IMPORTED_EXIT_REASON),
            "exited_at": scope.local(f"t.{q('DateCreated')}"),
        }
    )
    hud = {
        "Destination": "destination",
        "DestinationSubsidyType": "destination_subsidy_type",
        "OtherDestination": "other_destination",
    }
    extra.update({f"_hud_{k}": f"t.{q(k)}" for k in hud})
    cands = await _materialize(
        scope,
        _tmp(scope, "exits"),
        candidate_select(Exit, values, extra, _enrollment_source(scope, "Exit")),
    )
    await _report_parent(scope, "Exit", cands)
    await report_not_fitting(scope, "Exit", cands, "exits")
    await report_changed_values(scope, "Exit", cands, hud.items())
    exits: Table = Exit.__table__  # type: ignore[assignment]
    columns = tuple(c.name for c in exits.columns)
    await upsert(
        scope,
        "Exit",
        cands,
        Upsert("exits", columns, keep=("id", "created_at", "created_by_user_id", "exited_at")),
    )
    await remove_deleted(scope, "Exit", cands, "exits")
    # The enrollment's exit date follows its exit (closing it; a deleted exit reopens it).
    await scope.execute(
        f"UPDATE enrollments e SET exit_date = x.exit_date, version = e.version + 1 "
        f"FROM {cands} c JOIN exits x ON x.id = c.id WHERE e.id = x.enrollment_id "
        f"AND e.exit_date IS DISTINCT FROM x.exit_date"
    )
    await scope.execute(
        f"UPDATE enrollments e SET exit_date = NULL, version = e.version + 1 FROM {cands} c "
        f"WHERE c._deleted AND e.id = c.enrollment_id AND e.exit_date IS NOT NULL AND NOT "
        f"EXISTS (SELECT 1 FROM exits x WHERE x.enrollment_id = e.id)"
    )


async def _report_parent(scope: LoadScope, file: str, cands: str) -> None:
    await _report_rows(
        scope,
        file,
        "EnrollmentID",
        "row_not_loaded",
        "Not loaded: its enrollment was not loaded.",
        cands,
        "NOT _parent",
    )


# --- records hung off an enrollment ---------------------------------------------------------------


@dataclass(frozen=True)
class RecordLoad:
    file: str
    model: type[Base]
    values: dict[str, str]  # model column -> SQL over ``t`` (typed HUD row) and ``e``
    hud: dict[str, str] = field(default_factory=dict)  # HUD column -> model column, reported
    # One row per (columns) where (condition): the newest is kept, the others reported.
    unique: tuple[tuple[str, ...], str] | None = None


def _records(scope: LoadScope) -> list[RecordLoad]:
    def t(name: str) -> str:
        return f"t.{q(name)}"

    cls = t("CurrentLivingSituation")
    leave = (
        f"CASE WHEN {cls} IN {_in(LEAVE_SITUATION_ASKED)} THEN "
        f"coalesce({t('LeaveSituation14Days')}, 99) END"
    )

    def follow(name: str) -> str:
        return f"CASE WHEN ({leave}) = 1 THEN coalesce({t(name)}, 99) END"

    event = t("Event")
    referral_events = "(10, 11, 12, 13, 14, 15, 17, 18)"
    result_ok = (
        f"{event} IN {referral_events} AND {t('ReferralResult')} IS NOT NULL AND "
        f"{t('ResultDate')} >= {t('EventDate')}"
    )
    survivor = f"coalesce({t('DomesticViolenceSurvivor')}, 99)"
    income_columns = INCOME_BENEFITS_COLUMNS
    income = {model: t(hud) for hud, model in income_columns.items()}
    for hud, model in income_columns.items():
        if hud.endswith("Amount") or hud == "TotalMonthlyIncome":
            income[model] = f"CASE WHEN {t(hud)} < 100000000 THEN {t(hud)} END"
    return [
        RecordLoad(
            "Disabilities",
            Disability,
            {
                "information_date": t("InformationDate"),
                "disability_type": t("DisabilityType"),
                "disability_response": t("DisabilityResponse"),
                "indefinite_and_impairs": t("IndefiniteAndImpairs"),
                "data_collection_stage": t("DataCollectionStage"),
            },
        ),
        RecordLoad(
            "CurrentLivingSituation",
            CurrentLivingSituation,
            {
                "information_date": t("InformationDate"),
                "current_living_situation": cls,
                "cls_subsidy_type": f"CASE WHEN {cls} = 435 THEN {t('CLSSubsidyType')} END",
                "verified_by": t("VerifiedBy"),
                "leave_situation_14_days": leave,
                "subsequent_residence": follow("SubsequentResidence"),
                "resources_to_obtain": follow("ResourcesToObtain"),
                "lease_own_60_day": follow("LeaseOwn60Day"),
                "moved_two_or_more": follow("MovedTwoOrMore"),
                "location_details": t("LocationDetails"),
            },
            hud={
                "CLSSubsidyType": "cls_subsidy_type",
                "LeaveSituation14Days": "leave_situation_14_days",
                "SubsequentResidence": "subsequent_residence",
                "ResourcesToObtain": "resources_to_obtain",
                "LeaseOwn60Day": "lease_own_60_day",
                "MovedTwoOrMore": "moved_two_or_more",
            },
        ),
        RecordLoad(
            "Assessment",
            CeAssessment,
            {
                "assessment_date": t("AssessmentDate"),
                "assessment_location": t("AssessmentLocation"),
                "assessment_type": t("AssessmentType"),
                "assessment_level": t("AssessmentLevel"),
                "prioritization_status": t("PrioritizationStatus"),
            },
        ),
        RecordLoad(
            "Event",
            CeEvent,
            {
                "event_date": t("EventDate"),
                "event": event,
                "prob_sol_div_rr_result": f"CASE WHEN {event} = 2 THEN "
                f"{t('ProbSolDivRRResult')} END",
                "referral_case_manage_after": f"CASE WHEN {event} = 5 THEN "
                f"{t('ReferralCaseManageAfter')} END",
                "location_crisis_or_ph_housing": f"CASE WHEN {event} IN {referral_events} THEN "
                f"{t('LocationCrisisOrPHHousing')} END",
                "referral_result": f"CASE WHEN {result_ok} THEN {t('ReferralResult')} END",
                "result_date": f"CASE WHEN {result_ok} THEN {t('ResultDate')} END",
            },
            hud={
                "ProbSolDivRRResult": "prob_sol_div_rr_result",
                "ReferralCaseManageAfter": "referral_case_manage_after",
                "LocationCrisisOrPHHousing": "location_crisis_or_ph_housing",
                "ReferralResult": "referral_result",
                "ResultDate": "result_date",
            },
        ),
        RecordLoad(
            "IncomeBenefits",
            IncomeBenefits,
            {
                "information_date": t("InformationDate"),
                "data_collection_stage": t("DataCollectionStage"),
                **income,
            },
            unique=(("enrollment_id", "data_collection_stage"), "data_collection_stage IN (1, 3)"),
        ),
        RecordLoad(
            "HealthAndDV",
            HealthAndDv,
            {
                "information_date": t("InformationDate"),
                "data_collection_stage": t("DataCollectionStage"),
                "domestic_violence_survivor": survivor,
                "when_occurred": f"CASE WHEN {survivor} = 1 THEN "
                f"coalesce({t('WhenOccurred')}, 99) END",
                "currently_fleeing": f"CASE WHEN {survivor} = 1 THEN "
                f"coalesce({t('CurrentlyFleeing')}, 99) END",
            },
            hud={
                "DomesticViolenceSurvivor": "domestic_violence_survivor",
                "WhenOccurred": "when_occurred",
                "CurrentlyFleeing": "currently_fleeing",
            },
            unique=(("enrollment_id",), "data_collection_stage = 1"),
        ),
    ]


async def load_records(scope: LoadScope, record: RecordLoad) -> None:
    file = record.file
    if not scope.has(file):
        return
    file_spec = spec(file)
    values, extra = _record_values(scope, file, file_spec.primary_key)
    values.update(record.values)
    extra.update({f"_hud_{k}": f"t.{q(k)}" for k in record.hud})
    table: Table = record.model.__table__  # type: ignore[assignment]
    cands = await _materialize(
        scope,
        _tmp(scope, table.name),
        candidate_select(record.model, values, extra, _enrollment_source(scope, file)),
    )
    await _report_parent(scope, file, cands)
    await report_not_fitting(scope, file, cands, table.name)
    await report_changed_values(scope, file, cands, record.hud.items())
    if record.unique is not None:
        columns, condition = record.unique
        key = ", ".join(columns)
        ranked = (
            f"SELECT id, row_number() OVER (PARTITION BY {key} ORDER BY updated_at DESC, id DESC) "
            f"AS n FROM {cands} WHERE _parent AND cardinality(_fails) = 0 AND NOT _deleted AND "
            f"{condition}"
        )
        match = " AND ".join(f"x.{c} = c.{c}" for c in columns)
        in_c = condition.replace("data_collection_stage", "c.data_collection_stage")
        in_x = condition.replace("data_collection_stage", "x.data_collection_stage")
        await scope.execute(
            f"UPDATE {cands} c SET _skip = TRUE WHERE c.id IN (SELECT id FROM ({ranked}) r "
            f"WHERE n > 1) OR ({in_c} AND EXISTS (SELECT 1 FROM {table.name} x WHERE {match} "
            f"AND x.id <> c.id AND {in_x}))"
        )
        await _report_rows(
            scope,
            file,
            "DataCollectionStage",
            "row_not_loaded",
            "Not loaded: CAS keeps one such record per enrollment and stage (the newest).",
            cands,
            "_skip AND NOT _deleted",
        )
    columns_ = tuple(c.name for c in table.columns)
    await upsert(scope, file, cands, Upsert(table.name, columns_))
    await remove_deleted(scope, file, cands, table.name)
    await scope.progress(file, loaded=True)


# --- CAS's own assessment questions: diversion, housing needs, diversion services ----------------


async def load_cas_questions(scope: LoadScope) -> None:
    """AssessmentQuestions in CAS's groups become diversion assessments, housing needs
    assessments and diversion services again (the rest is reported, not kept)."""
    if not (scope.has("AssessmentQuestions") and scope.has("Assessment")):
        return
    qv, av = scope.view("AssessmentQuestions"), scope.view("Assessment")
    base = (
        f"{qv} aq JOIN {av} a ON a.{q('AssessmentID')} = aq.{q('AssessmentID')} "
        f"LEFT JOIN {_tmp(scope, 'enrollment_map')} e ON e.source = a.{q('EnrollmentID')}"
    )
    date_re = _lit(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")

    def answer(question: str, kind: str) -> str:
        value = (
            f"max(aq.{q('AssessmentAnswer')}) FILTER (WHERE aq.{q('AssessmentQuestion')} = "
            f"{_lit(question)} AND aq.{q('DateDeleted')} IS NULL)"
        )
        if kind == "date":
            return f"CASE WHEN {value} ~ {date_re} THEN ({value})::date END"
        if kind == "code":
            return (
                f"CASE WHEN {value} IN ({', '.join(_lit(c) for c in sorted(YES_NO_REASONS))}) "
                f"THEN ({value})::int END"
            )
        return value

    groups: list[tuple[str, type[Base], str, dict[str, str]]] = [
        (
            DIVERSION_GROUP,
            DiversionAssessment,
            "CASDiversionAssessment",
            {
                "housing_crisis_onset": answer("housing_crisis_onset", "date"),
                "last_stable_housing_date": answer("last_stable_housing_date", "date"),
                "assistance_needed": answer("assistance_needed", "text"),
            },
        ),
        (
            HOUSING_NEEDS_GROUP,
            HousingNeedsAssessment,
            "CASHousingNeedsAssessment",
            {name: answer(name, "code") for name in HOUSING_NEEDS_QUESTIONS},
        ),
    ]
    for group, model, record_type, answers in groups:
        table: Table = model.__table__  # type: ignore[assignment]
        source = (
            f"(SELECT a.{q('AssessmentID')} AS aid, min(aq._row) AS _row, "
            f"min(a.{q('AssessmentDate')}) AS assessment_date, min(e.id::text)::uuid AS eid, "
            f"min(e.client_id::text)::uuid AS client_id, "
            f"min(e.created_by_organization_id::text)::uuid AS org, "
            f"min(aq.{q('DateCreated')}) AS created, max(aq.{q('DateUpdated')}) AS updated, "
            f"bool_and(aq.{q('DateDeleted')} IS NOT NULL) AS deleted, "
            + ", ".join(f"{expr} AS {q(name)}" for name, expr in answers.items())
            + f" FROM {base} WHERE aq.{q('AssessmentQuestionGroup')} = {_lit(group)} "
            f"GROUP BY a.{q('AssessmentID')}) g"
        )
        values = {
            "id": scope.sid(record_type, "g.aid"),
            "enrollment_id": "g.eid",
            "client_id": "g.client_id",
            "created_by_user_id": "NULL",
            "created_by_organization_id": "g.org",
            "assessment_date": "g.assessment_date",
            "created_at": scope.local("g.created"),
            "updated_at": scope.local("g.updated"),
            **{name: f"g.{q(name)}" for name in answers},
        }
        extra = {
            "_row": "g._row",
            "_parent": "(g.eid IS NOT NULL)",
            "_deleted": "g.deleted",
            "_skip": "FALSE",
        }
        cands = await _materialize(
            scope, _tmp(scope, table.name), candidate_select(model, values, extra, source)
        )
        await _report_rows(
            scope,
            "AssessmentQuestions",
            "AssessmentID",
            "row_not_loaded",
            f"{group}: not loaded, its enrollment was not loaded.",
            cands,
            "NOT _parent",
        )
        await report_not_fitting(scope, "AssessmentQuestions", cands, table.name)
        await upsert(scope, "AssessmentQuestions", cands, Upsert(table.name, tuple(table.c.keys())))
        await remove_deleted(scope, "AssessmentQuestions", cands, table.name)
    # Diversion services: one per question.
    services = (
        f"(SELECT aq.*, e.id AS eid, e.client_id AS client_id, e.created_by_organization_id "
        f"AS org FROM {base} WHERE aq.{q('AssessmentQuestionGroup')} = {_lit(SERVICES_GROUP)}) s"
    )
    values = {
        "id": scope.sid("AssessmentQuestions", f"s.{q('AssessmentQuestionID')}"),
        "enrollment_id": "s.eid",
        "client_id": "s.client_id",
        "created_by_user_id": "NULL",
        "created_by_organization_id": "s.org",
        "date_provided": f"CASE WHEN s.{q('AssessmentAnswer')} ~ {date_re} THEN "
        f"(s.{q('AssessmentAnswer')})::date END",
        "service_type": f"CASE WHEN s.{q('AssessmentQuestion')} IN "
        f"({', '.join(_lit(x) for x in DIVERSION_SERVICES)}) THEN s.{q('AssessmentQuestion')} END",
        "created_at": scope.local(f"s.{q('DateCreated')}"),
        "updated_at": scope.local(f"s.{q('DateUpdated')}"),
    }
    extra = {
        "_row": "s._row",
        "_parent": "(s.eid IS NOT NULL)",
        "_deleted": f"(s.{q('DateDeleted')} IS NOT NULL)",
        "_skip": f"(s.{q('AssessmentQuestion')} NOT IN "
        f"({', '.join(_lit(x) for x in DIVERSION_SERVICES)}) OR s.{q('AssessmentAnswer')} "
        f"IS NULL OR s.{q('AssessmentAnswer')} !~ {date_re})",
    }
    cands = await _materialize(
        scope, _tmp(scope, "services"), candidate_select(Service, values, extra, services)
    )
    await _report_rows(
        scope,
        "AssessmentQuestions",
        "AssessmentQuestion",
        "row_not_loaded",
        f"{SERVICES_GROUP}: not loaded, not a CAS diversion service with its date (or its "
        "enrollment was not loaded).",
        cands,
        "(_skip OR NOT _parent) AND NOT _deleted",
    )
    services_table: Table = Service.__table__  # type: ignore[assignment]
    await upsert(
        scope, "AssessmentQuestions", cands, Upsert("services", tuple(services_table.c.keys()))
    )
    await remove_deleted(scope, "AssessmentQuestions", cands, "services")
    others = await scope.conn.fetchval(
        f"SELECT count(*) FROM {qv} WHERE coalesce({q('AssessmentQuestionGroup')}, '') NOT IN "
        f"({_lit(DIVERSION_GROUP)}, {_lit(HOUSING_NEEDS_GROUP)}, {_lit(SERVICES_GROUP)})"
    )
    if others:
        scope.report.add(
            "AssessmentQuestions",
            "AssessmentQuestionGroup",
            "not_in_cas_model",
            "Assessment questions of other tools are not kept (CAS keeps its own diversion and "
            "housing needs answers).",
            count=int(others),
            severity_="info",
        )


# --- what follows from the loaded records --------------------------------------------------------


async def derive_state(scope: LoadScope) -> None:
    """The CE outcome of the loaded Coordinated Entry enrollments (diverted: exited after a
    4.20 Problem Solving/Diversion event with result 1; placed: the household's latest 4.19 has
    PrioritizationStatus 1; else pending), the exit reason of diverted exits, the queue
    (placed, open households get a pending entry; exited or voided ones leave it), and the
    clients' latest contact."""
    if not scope.has("Enrollment"):
        return
    now = clock.now()
    cands = _tmp(scope, "enrollments")
    loaded = f"SELECT id FROM {cands} WHERE _parent AND cardinality(_fails) = 0"
    await scope.execute(
        f"UPDATE enrollments e SET outcome = d.outcome, version = e.version + 1 FROM ("
        f"SELECT e.id, CASE "
        f"WHEN e.exit_date IS NOT NULL AND EXISTS (SELECT 1 FROM ce_events ev JOIN enrollments g "
        f"ON g.id = ev.enrollment_id WHERE g.household_group_id = e.household_group_id AND "
        f"ev.event = 2 AND ev.prob_sol_div_rr_result = 1) THEN 'diverted' "
        f"WHEN (SELECT a.prioritization_status FROM ce_assessments a JOIN enrollments g ON "
        f"g.id = a.enrollment_id WHERE g.household_group_id = e.household_group_id ORDER BY "
        f"a.assessment_date DESC, a.created_at DESC, a.id DESC LIMIT 1) = 1 THEN 'placed' "
        f"ELSE 'pending' END AS outcome FROM enrollments e WHERE e.is_coordinated_entry AND "
        f"e.id IN ({loaded})) d WHERE e.id = d.id AND e.outcome <> d.outcome"
    )
    if scope.has("Exit"):
        await scope.execute(
            f"UPDATE exits x SET exit_reason = 'successfully_diverted' FROM enrollments e "
            f"WHERE e.id = x.enrollment_id AND e.outcome = 'diverted' AND x.exit_reason = "
            f"{_lit(IMPORTED_EXIT_REASON)} AND e.id IN ({loaded})"
        )
    await scope.execute(
        f"INSERT INTO queue_entries (id, coc_id, household_id, head_client_id, "
        f"head_enrollment_id, intake_status, placed_on, version, created_at, updated_at) "
        f"SELECT {scope.sid('QueueEntry', 'e.id::text')}, e.coc_id, e.household_id, "
        f"e.client_id, e.id, 'pending', (SELECT max(a.assessment_date) FROM ce_assessments a "
        f"JOIN enrollments g ON g.id = a.enrollment_id WHERE g.household_group_id = "
        f"e.household_group_id AND a.prioritization_status = 1), 1, $1, $1 "
        f"FROM enrollments e WHERE e.id IN ({loaded}) AND e.id = e.household_group_id AND "
        f"e.is_coordinated_entry AND e.outcome = 'placed' AND e.exit_date IS NULL AND "
        f"e.voided_at IS NULL AND NOT EXISTS (SELECT 1 FROM queue_entries qe WHERE "
        f"qe.household_id = e.household_id AND qe.closed_at IS NULL) "
        f"ON CONFLICT (id) DO NOTHING",
        now,
    )
    await scope.execute(
        f"UPDATE queue_entries qe SET closed_at = $1, closed_reason = CASE WHEN "
        f"e.voided_at IS NOT NULL THEN 'voided' ELSE 'exited' END, version = qe.version + 1 "
        f"FROM enrollments e WHERE e.id = qe.head_enrollment_id AND qe.closed_at IS NULL AND "
        f"e.id IN ({loaded}) AND (e.exit_date IS NOT NULL OR e.voided_at IS NOT NULL)",
        now,
    )
    contacts = []
    for file, table, column in (
        ("CurrentLivingSituation", "current_living_situations", "information_date"),
        ("Assessment", "ce_assessments", "assessment_date"),
    ):
        if scope.has(file):
            contacts.append(
                f"SELECT r.client_id, r.{column} AS on_ FROM {table} r JOIN "
                f"{_tmp(scope, table)} c ON c.id = r.id"
            )
    if contacts:
        await scope.execute(
            f"UPDATE clients cl SET last_contact_at = x.at FROM (SELECT client_id, "
            f"(max(on_) + time '12:00') AT TIME ZONE {scope.tz} AS at FROM "
            f"({' UNION ALL '.join(contacts)}) u GROUP BY client_id) x WHERE cl.id = x.client_id "
            f"AND (cl.last_contact_at IS NULL OR cl.last_contact_at < x.at)"
        )


def not_in_model(scope: LoadScope) -> None:
    for file in FILES:
        staged = scope.staged.get(file)
        if staged is not None and file in NOT_IN_MODEL and staged.rows:
            scope.report.add(
                file,
                None,
                "not_in_cas_model",
                f"{file}.csv: {NOT_IN_MODEL[file]}.",
                count=staged.rows,
                severity_="info",
            )


async def record_audit(scope: LoadScope) -> None:
    """One audit event for the load (what it did per file), and the clients it wrote as
    subjects (in events of at most 10,000)."""
    audit.record(
        scope.session,
        scope.actor,
        "hmis_import.load",
        "hmis_import",
        scope.import_id,
        {"counts": scope.counts, "data_source_id": str(scope.data_source_id)},
    )
    ids = list(dict.fromkeys(scope.client_ids))
    for start in range(0, len(ids), 10_000):
        event = audit.record(
            scope.session,
            scope.actor,
            "client.imported",
            "hmis_import",
            scope.import_id,
            {"clients": len(ids[start : start + 10_000])},
        )
        event.subject_ids = ids[start : start + 10_000]
    await scope.session.flush()


async def drop_temporaries(scope: LoadScope) -> None:
    """Drop the load's views and tables (they would last as long as the connection)."""
    for file in scope.staged:
        await scope.execute(f"DROP VIEW IF EXISTS {scope.view(file)}")
    for name in dict.fromkeys(scope.temporaries):
        await scope.execute(f"DROP TABLE IF EXISTS {name}")
    for staged in scope.staged.values():
        await scope.execute(f"DROP TABLE IF EXISTS {staged.table}")


async def load_all(scope: LoadScope) -> None:
    """Everything, in dependency order (one transaction: the caller's)."""
    await create_views(scope)
    await prechecks(scope)
    if scope.report.has_high:
        return
    ids = await load_organizations_and_projects(scope)
    projects = await project_map(scope, ids)
    await scope.progress("Project", loaded=True)
    await load_clients(scope)
    await scope.progress("Client", loaded=True)
    await load_enrollments(scope, projects)
    await enrollment_map(scope)
    await scope.progress("Enrollment", loaded=True)
    await load_exits(scope)
    await scope.progress("Exit", loaded=True)
    for record in _records(scope):
        await load_records(scope, record)
    await load_cas_questions(scope)
    await derive_state(scope)
    not_in_model(scope)
    await record_audit(scope)
