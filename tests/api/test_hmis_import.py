"""Scripted loads of HUD HMIS CSV FY2026 zips: the DataLab sample, every importer case, DateUpdated
and DateDeleted, re-running the same zip, ownership and encryption of what is loaded, bad input
(a report or a problem, nothing written), and who may load."""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.services.hmis.keys import source_uuid
from tests.conftest import Auth, World, assert_problem
from tests.support.hmis import (
    CASES,
    DATALAB,
    IMPORTS,
    case_zip,
    datalab_zip,
    import_zip,
    issues,
    load,
    repair_datalab,
    rewrite_csv,
    rules,
    run_jobs,
    snapshot,
    zip_folder,
)


async def count(db: AsyncSession, table: str, where: str = "TRUE", **params: Any) -> int:
    return int(await db.scalar(text(f"SELECT count(*) FROM {table} WHERE {where}"), params) or 0)


# --- the DataLab sample ---------------------------------------------------------------------------


async def test_the_datalab_sample_as_it_is_is_refused_with_its_findings_reported(
    client: httpx.AsyncClient, auth: Auth, app: Any, db: AsyncSession
) -> None:
    admin = await auth.headers("system_admin")
    before = await snapshot(db)
    job = await load(client, app, admin, datalab_zip())
    assert job["status"] == "refused"
    found = rules(job["summary"])
    # What its README lists: a non-ISO ExportDate, Funder 47, the misspelled Exit header,
    # EnrollmentCoC missing for two members, UserIDs missing from User.csv, HashStatus 3 with
    # plain data.
    assert ("Export", "ExportDate", "type_datetime") in rules(job["summary"], "high")
    assert ("Funder", "Funder", "not_in_list") in rules(job["summary"], "high")
    assert ("Exit", None, "header_case") in found
    assert ("Enrollment", "EnrollmentCoC", "required") in rules(job["summary"], "warning")
    assert ("Services", "UserID", "unknown_user") in found
    assert ("Export", "HashStatus", "hash_status_mismatch") in found
    assert {g["count"] for g in job["summary"]["groups"] if g["rule"] == "not_in_list"} == {3}
    # Nothing was written.
    assert await snapshot(db) == before
    # The machine-readable findings: file, row, column, rule, severity.
    high = await issues(client, admin, job["id"], severity="high")
    assert {(i["file"], i["row"], i["column"], i["rule"]) for i in high} >= {
        ("Export", 1, "ExportDate", "type_datetime")
    }
    assert all(i["severity"] == "high" for i in high)
    funder = [i for i in high if i["file"] == "Funder"]
    assert len(funder) == 3 and all(isinstance(i["row"], int) for i in funder)


async def test_the_repaired_datalab_sample_loads_and_loading_it_again_changes_nothing(
    client: httpx.AsyncClient, auth: Auth, app: Any, db: AsyncSession, world: World
) -> None:
    admin = await auth.headers("system_admin")
    clients_before = await count(db, "clients")
    job = await load(client, app, admin, datalab_zip(repaired=True))
    assert job["status"] == "succeeded", job["summary"]
    assert job["summary"]["high"] == 0
    counts = job["counts"]
    assert counts["Client"]["inserted"] == 514
    assert counts["Enrollment"]["inserted"] == 574
    assert counts["Exit"]["inserted"] == 447
    assert counts["Disabilities"]["inserted"] == 6942
    assert counts["Organization"]["inserted"] == 10 and counts["Project"]["inserted"] == 10
    assert await count(db, "clients") == clients_before + 514
    # Values CAS keeps differently are reported, row by row.
    assert ("Enrollment", "EnrollmentCoC", "value_defaulted") in rules(job["summary"])
    assert ("HealthAndDV", None, "row_not_loaded") in rules(job["summary"])
    progress = job["progress"]["files"]
    assert progress["Disabilities"]["rows"] == 6942
    assert progress["Disabilities"]["validated"] == 6942
    assert progress["Disabilities"]["loaded"] == 6942

    # Ownership: the CoC, each enrollment by its project's organization (which may see the
    # client), the client created by the loading organization; the SSN encrypted as the API
    # does (search hashes too).
    ds = uuid.UUID(job["data_source_id"])
    person = source_uuid(ds, "Client", "528656")
    enrollment = source_uuid(ds, "Enrollment", "826158")
    row = (
        await db.execute(
            text(
                "SELECT c.coc_id, c.created_by_organization_id, c.ssn_encrypted, c.ssn_hash, "
                "c.first_name, e.created_by_organization_id AS enrolled_by, p.organization_id "
                "FROM clients c JOIN enrollments e ON e.client_id = c.id JOIN projects p ON "
                "p.id = e.project_id WHERE c.id = :c AND e.id = :e"
            ),
            {"c": person, "e": enrollment},
        )
    ).one()
    assert row.coc_id == world.home.coc.id
    assert row.created_by_organization_id == world.org_id("hmis_lead")
    assert row.enrolled_by == row.organization_id
    assert row.ssn_encrypted is not None and b"227930267" not in row.ssn_encrypted
    assert row.ssn_hash is not None
    assert (
        await count(
            db,
            "client_access",
            "client_id = :c AND organization_id = :o AND reason = 'enrolled'",
            c=person,
            o=row.organization_id,
        )
        == 1
    )
    r = await client.get(f"/api/v1/clients/{person}", headers=admin)
    assert r.status_code == 200 and r.json()["ssn"] == "***-**-0267"
    assert r.json()["first_name"] == "Herringbone"
    # An agency of the CoC without a link to the client does not see it.
    other_agency = await auth.headers("case_manager2")
    assert_problem(await client.get(f"/api/v1/clients/{person}", headers=other_agency), 404)
    # Audited: the load, and the clients it wrote.
    assert (
        await count(
            db,
            "audit_events",
            "action = 'hmis_import.load' AND entity_id = :i",
            i=uuid.UUID(job["id"]),
        )
        == 1
    )
    assert (
        await count(
            db, "audit_events", "action = 'client.imported' AND :c = ANY(subject_ids)", c=person
        )
        == 1
    )

    # The same zip again: nothing changes.
    before = await snapshot(db)
    again = await load(client, app, admin, datalab_zip(repaired=True))
    assert again["status"] == "succeeded"
    assert again["data_source_id"] == job["data_source_id"]
    assert all(
        c.get("inserted", 0) == c.get("updated", 0) == c.get("deleted", 0) == 0
        for c in again["counts"].values()
    ), again["counts"]
    assert await snapshot(db) == before


# --- the importer cases ---------------------------------------------------------------------------

# Each case's findings that refuse it (high), and that nothing was written.
REFUSED_CASES = {
    "bad_data": {
        ("Client", "DOB", "type_date"),
        ("Client", "DateUpdated", "type_datetime"),
        ("Project", "OperatingStartDate", "type_date"),
        ("Assessment", "EnrollmentID", "orphan_key"),
        (None, None, "missing_file"),
    },
    "bom_test": {
        ("CurrentLivingSituation", "DateUpdated", "type_datetime"),
        ("Event", "EnrollmentID", "orphan_key"),
    },
    "duplicate_primary_keys": {
        ("Client", "PersonalID", "duplicate_key"),
        ("Assessment", "AssessmentID", "duplicate_key"),
        ("Funder", "FunderID", "duplicate_key"),
    },
    "validation_files": {
        ("Client", "NameDataQuality", "not_in_list"),
        ("Event", "Event", "not_in_list"),
        ("Assessment", None, "malformed_row"),
        ("Project", "ProjectID", "duplicate_key"),
        ("Affiliation", "ResProjectID", "orphan_key"),
    },
    "loader_errors": {
        ("Exit", None, "header_mismatch"),
        ("Client", None, "malformed_row"),
        ("Event", None, "malformed_row"),
        ("Enrollment", None, "missing_file"),
    },
    "forced_prioritization_placement_status": {
        ("Assessment", "PrioritizationStatus", "not_in_list"),
        ("Assessment", "PrioritizationStatus", "required"),
        ("Assessment", "EnrollmentID", "orphan_key"),
        ("Assessment", "ExportID", "export_id_mismatch"),
        # Its third CLS row is shifted by a column: a count, then an ExportID as DateDeleted.
        ("CurrentLivingSituation", "DateUpdated", "type_datetime"),
        ("CurrentLivingSituation", "DateDeleted", "type_datetime"),
    },
}


def _loose(
    found: set[tuple[str | None, str | None, str]],
) -> set[tuple[str | None, str | None, str]]:
    return found | {(None, None, r) for _, _, r in found}


@pytest.mark.parametrize("case", sorted(REFUSED_CASES))
async def test_each_importer_case_is_reported_and_refused_with_nothing_written(
    client: httpx.AsyncClient, auth: Auth, app: Any, db: AsyncSession, case: str
) -> None:
    admin = await auth.headers("system_admin")
    before = await snapshot(db)
    job = await load(client, app, admin, case_zip(case))
    assert job["status"] == "refused", job["summary"]
    high = _loose(rules(job["summary"], "high"))
    missing = REFUSED_CASES[case] - high
    assert not missing, (missing, sorted(rules(job["summary"]), key=str))
    assert await snapshot(db) == before
    listed = await issues(client, admin, job["id"])
    assert listed and all(
        set(i) == {"file", "row", "column", "rule", "severity", "message"} for i in listed
    )


async def test_a_byte_order_mark_and_crlf_line_ends_are_read(
    client: httpx.AsyncClient, auth: Auth, app: Any
) -> None:
    """bom_test's files start with a UTF-8 byte order mark: their headers are HUD's."""
    admin = await auth.headers("system_admin")
    job = await load(client, app, admin, case_zip("bom_test"))
    boms = [
        p.name
        for p in (CASES / "bom_test" / "source").glob("*.csv")
        if p.read_bytes().startswith(b"\xef\xbb\xbf")
    ]
    assert boms
    headers_refused = {
        g["file"] for g in job["summary"]["groups"] if g["rule"] == "header_mismatch"
    }
    assert not {b.removesuffix(".csv") for b in boms} & headers_refused
    # CRLF: the DataLab sample's Funder is rewritten with CRLF line ends and loads.
    repaired = await load(client, app, admin, datalab_zip(repaired=True))
    assert repaired["status"] == "succeeded"


async def test_date_updated_decides_between_incoming_and_existing_records(
    client: httpx.AsyncClient, auth: Auth, app: Any, db: AsyncSession
) -> None:
    admin = await auth.headers("system_admin")

    async def last_name() -> str | None:
        return await db.scalar(
            text(
                "SELECT last_name FROM clients WHERE first_name = 'Client' AND coc_id = "
                "(SELECT coc_id FROM organizations WHERE kind = 'hmis_lead' LIMIT 1) "
                "ORDER BY updated_at DESC LIMIT 1"
            )
        )

    initial = await load(
        client, app, admin, case_zip("date_updated_initial"), allow_missing_files=True
    )
    assert initial["status"] == "succeeded", initial["summary"]
    assert ("Exit", None, "missing_file") in rules(initial["summary"], "warning")
    assert initial["counts"]["Client"]["inserted"] == 1
    assert await last_name() == "One"
    newer = await load(client, app, admin, case_zip("date_updated_newer"), allow_missing_files=True)
    assert newer["counts"]["Client"] == {"inserted": 0, "updated": 1, "deleted": 0, "voided": 0}
    assert await last_name() == "Newer"
    older = await load(client, app, admin, case_zip("date_updated_older"), allow_missing_files=True)
    assert older["counts"]["Client"]["updated"] == 0
    assert await last_name() == "Newer"
    same = await load(client, app, admin, case_zip("date_updated_newer"), allow_missing_files=True)
    assert same["counts"]["Client"]["updated"] == 0


async def test_missing_files_refuse_the_load_unless_allowed(
    client: httpx.AsyncClient, auth: Auth, app: Any, db: AsyncSession
) -> None:
    admin = await auth.headers("system_admin")
    before = await snapshot(db)
    job = await load(client, app, admin, case_zip("date_updated_initial"))
    assert job["status"] == "refused"
    assert ("Exit", None, "missing_file") in rules(job["summary"], "high")
    assert await snapshot(db) == before


async def test_date_deleted_voids_enrollments_and_removes_records_until_a_newer_copy(
    client: httpx.AsyncClient, auth: Auth, app: Any, db: AsyncSession
) -> None:
    admin = await auth.headers("system_admin")
    first = await load(client, app, admin, datalab_zip(repaired=True))
    assert first["status"] == "succeeded"
    ds = uuid.UUID(first["data_source_id"])

    def deleting(name: str, data: bytes) -> bytes:
        data = _repair(name, data)
        if name == "Enrollment.csv":
            return rewrite_csv(data, _delete_row("EnrollmentID", "849668"))
        if name == "CurrentLivingSituation.csv":
            return rewrite_csv(data, _delete_row("CurrentLivingSitID", "50"))
        return data

    second = await load(client, app, admin, zip_folder(_datalab(), deleting))
    assert second["counts"]["Enrollment"]["voided"] == 1
    assert second["counts"]["CurrentLivingSituation"]["deleted"] == 1
    enrollment = source_uuid(ds, "Enrollment", "849668")
    assert await count(db, "enrollments", "id = :e AND voided_at IS NOT NULL", e=enrollment) == 1
    cls = source_uuid(ds, "CurrentLivingSituation", "50")
    assert await count(db, "current_living_situations", "id = :i", i=cls) == 0
    assert await count(db, "hmis_tombstones", "target_id = :i", i=cls) == 1
    # The older copy (the first zip) cannot bring the record back.
    await load(client, app, admin, datalab_zip(repaired=True))
    assert await count(db, "current_living_situations", "id = :i", i=cls) == 0
    assert await count(db, "enrollments", "id = :e AND voided_at IS NOT NULL", e=enrollment) == 1

    def undeleting(name: str, data: bytes) -> bytes:
        data = _repair(name, data)
        if name == "CurrentLivingSituation.csv":
            return rewrite_csv(data, _touch_row("CurrentLivingSitID", "50"))
        return data

    await load(client, app, admin, zip_folder(_datalab(), undeleting))
    assert await count(db, "current_living_situations", "id = :i", i=cls) == 1
    assert await count(db, "hmis_tombstones", "target_id = :i", i=cls) == 0


def _datalab() -> Any:
    return DATALAB


def _repair(name: str, data: bytes) -> bytes:
    return repair_datalab(name, data)


def _delete_row(key: str, value: str) -> Any:
    def change(row: dict[str, str]) -> None:
        if row[key] == value:
            row["DateDeleted"] = "2030-01-01 00:00:00"
            row["DateUpdated"] = "2030-01-01 00:00:00"

    return change


def _touch_row(key: str, value: str) -> Any:
    def change(row: dict[str, str]) -> None:
        if row[key] == value:
            row["DateUpdated"] = "2031-01-01 00:00:00"

    return change


# --- bad input ----------------------------------------------------------------------------------


def _zip(entries: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return out.getvalue()


async def test_a_file_that_is_not_a_zip_is_refused_at_once(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    admin = await auth.headers("system_admin")
    before = await count(db, "hmis_imports")
    r = await import_zip(client, admin, b"PersonalID,FirstName\n1,A\n", name="Client.csv")
    body = assert_problem(r, 422)
    assert body["errors"][0]["loc"] == ["body", "file"]
    assert await count(db, "hmis_imports") == before


@pytest.mark.parametrize(
    ("entries", "rule"),
    [
        ({"../Client.csv": b"PersonalID\n"}, "unsafe_path"),
        ({"/etc/Client.csv": b"PersonalID\n"}, "unsafe_path"),
        ({f"f{i}.csv": b"x" for i in range(80)}, "too_many_entries"),
        ({"Client.csv": b"0" * (4 * 1024 * 1024)}, "too_large"),  # inflates 1000 times
        ({"readme.txt": b"hello"}, "missing_file"),
    ],
    ids=["climbing-path", "absolute-path", "entry-count", "zip-bomb", "no-files"],
)
async def test_unsafe_or_empty_archives_are_refused_with_a_report(
    client: httpx.AsyncClient,
    auth: Auth,
    app: Any,
    db: AsyncSession,
    entries: dict[str, bytes],
    rule: str,
) -> None:
    admin = await auth.headers("system_admin")
    before = await snapshot(db)
    job = await load(client, app, admin, _zip(entries))
    assert job["status"] == "refused"
    assert rule in {g["rule"] for g in job["summary"]["groups"] if g["severity"] == "high"}
    assert await snapshot(db) == before


async def test_a_zip_whose_files_sit_in_one_folder_is_read(
    client: httpx.AsyncClient, auth: Auth, app: Any
) -> None:
    admin = await auth.headers("system_admin")
    data = zip_folder(CASES / "date_updated_initial" / "source", prefix="export-2020/")
    job = await load(client, app, admin, data, allow_missing_files=True)
    assert job["status"] == "succeeded", job["summary"]


@pytest.mark.parametrize(
    ("file", "change", "expected"),
    [
        (
            "Export.csv",
            lambda d: d.replace(b"2026 v1.0", b"2024 v1.3"),
            ("Export", "CSVVersion", "csv_version"),
        ),
        (
            "Client.csv",
            lambda d: d.replace(b"PersonalID,", b"PersonID,", 1),
            ("Client", None, "header_mismatch"),
        ),
        (
            "Enrollment.csv",
            lambda d: d.replace(b",2022-05-04,", b",05/04/2022,", 1),
            ("Enrollment", "EntryDate", "type_date"),
        ),
        (
            "Exit.csv",
            lambda d: d.replace(b",2021-10-01,410,", b",2021-10-01,999,", 1),
            ("Exit", "Destination", "not_in_list"),
        ),
    ],
    ids=["csv-version", "wrong-header", "bad-date", "unknown-code"],
)
async def test_wrong_version_headers_dates_and_codes_are_refused(
    client: httpx.AsyncClient,
    auth: Auth,
    app: Any,
    db: AsyncSession,
    file: str,
    change: Any,
    expected: tuple[str, str | None, str],
) -> None:
    admin = await auth.headers("system_admin")
    before = await snapshot(db)

    def edit(name: str, data: bytes) -> bytes:
        data = _repair(name, data)
        return change(data) if name == file else data

    job = await load(client, app, admin, zip_folder(_datalab(), edit))
    assert job["status"] == "refused"
    assert expected in rules(job["summary"], "high")
    assert await snapshot(db) == before


async def test_identifiable_data_in_a_victim_service_providers_project_is_refused(
    client: httpx.AsyncClient, auth: Auth, app: Any, db: AsyncSession
) -> None:
    admin = await auth.headers("system_admin")
    before = await snapshot(db)

    def vsp(name: str, data: bytes) -> bytes:
        data = _repair(name, data)
        if name == "Organization.csv":
            return rewrite_csv(data, lambda row: row.update(VictimServiceProvider="1"))
        return data

    job = await load(client, app, admin, zip_folder(_datalab(), vsp))
    assert job["status"] == "refused"
    assert ("Client", None, "vsp_client_data") in rules(job["summary"], "high")
    assert await snapshot(db) == before


# --- who may load ---------------------------------------------------------------------------------


async def test_only_system_admins_load_and_other_cocs_see_nothing(
    client: httpx.AsyncClient, auth: Auth, app: Any, db: AsyncSession
) -> None:
    data = case_zip("date_updated_initial")
    before = await count(db, "hmis_imports")
    for user, org in (("cas_admin", None), ("agency_admin", None), ("case_manager", "cas")):
        r = await import_zip(client, await auth.headers(user, org=org), data)
        assert_problem(r, 403)
    assert_problem(await import_zip(client, await auth.headers("vsp_case_manager"), data), 403)
    assert await count(db, "hmis_imports") == before
    admin = await auth.headers("system_admin")
    r = await import_zip(client, admin, data, allow_missing_files=True)
    assert r.status_code == 202 and r.json()["status"] == "queued"
    assert r.headers["Location"] == f"{IMPORTS}/{r.json()['id']}"
    await run_jobs(app)
    other = await auth.headers("system_admin", coc="other")
    for path in (f"{IMPORTS}/{r.json()['id']}", f"{IMPORTS}/{r.json()['id']}/issues"):
        assert_problem(await client.get(path, headers=other), 404)
    assert_problem(
        await client.get(f"{IMPORTS}/{r.json()['id']}", headers=await auth.headers("cas_admin")),
        403,
    )
    listed = await client.get(IMPORTS, headers=other)
    assert listed.status_code == 200 and listed.json()["items"] == []
    mine = await client.get(IMPORTS, headers=admin)
    assert r.json()["id"] in {i["id"] for i in mine.json()["items"]}


async def test_an_enrollment_outside_its_projects_operating_period_is_loaded_and_reported(
    client: httpx.AsyncClient, auth: Auth, app: Any, db: AsyncSession
) -> None:
    """HUD 2.03: the API refuses an entry outside the project's operating period; a source
    system's history may hold one. The import keeps the record (refusing it would lose the
    client's history) and reports it as a warning naming the row, for the HMIS lead to fix."""
    admin = await auth.headers("system_admin")

    def early_entry(name: str, data: bytes) -> bytes:
        data = _repair(name, data)
        if name == "Enrollment.csv":

            def change(row: dict[str, str]) -> None:
                if row["EnrollmentID"] == "826158":
                    row["EntryDate"] = "2016-01-04"  # its project operates from 2017-03-22

            return rewrite_csv(data, change)
        return data

    job = await load(client, app, admin, zip_folder(_datalab(), early_entry))
    assert job["status"] == "succeeded", job["summary"]
    assert ("Enrollment", "EntryDate", "entry_outside_operating_period") in rules(
        job["summary"], "warning"
    )
    [group] = [g for g in job["summary"]["groups"] if g["rule"] == "entry_outside_operating_period"]
    assert group["count"] == 1
    ds = uuid.UUID(job["data_source_id"])
    enrollment = source_uuid(ds, "Enrollment", "826158")
    assert (
        await count(db, "enrollments", "id = :e AND entry_date = '2016-01-04'", e=enrollment) == 1
    )


async def test_a_project_whose_new_operating_period_leaves_out_its_entries_is_reported(
    client: httpx.AsyncClient, auth: Auth, app: Any, db: AsyncSession
) -> None:
    """A newer copy of a project moves its OperatingStartDate past entries CAS already holds
    (the API refuses that change, 422): the import takes the source's dates and reports the
    project's row, for the HMIS lead to correct."""
    admin = await auth.headers("system_admin")
    first = await load(client, app, admin, datalab_zip(repaired=True))
    assert first["status"] == "succeeded", first["summary"]
    assert ("Project", "OperatingStartDate", "entry_outside_operating_period") not in rules(
        first["summary"]
    )

    def later_start(name: str, data: bytes) -> bytes:
        data = _repair(name, data)
        if name == "Project.csv":

            def change(row: dict[str, str]) -> None:
                if row["ProjectID"] == "1362":  # enrollment 826158 entered it on 2021-09-28
                    row["OperatingStartDate"] = "2022-01-01"
                    row["DateUpdated"] = "2031-01-01 00:00:00"

            return rewrite_csv(data, change)
        return data

    second = await load(client, app, admin, zip_folder(_datalab(), later_start))
    assert second["status"] == "succeeded", second["summary"]
    assert ("Project", "OperatingStartDate", "entry_outside_operating_period") in rules(
        second["summary"], "warning"
    )
    project = source_uuid(uuid.UUID(second["data_source_id"]), "Project", "1362")
    start = await db.scalar(
        text("SELECT operating_start_date FROM projects WHERE id = :p"), {"p": project}
    )
    assert str(start) == "2022-01-01"
