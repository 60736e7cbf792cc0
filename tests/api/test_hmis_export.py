"""HUD HMIS CSV FY2026 exports: the job, the zip's files (HUD's headers in order, one ExportID,
CSVVersion 2026, codes, formats), CE data mapped faithfully, the hashed option, who may export
what, and bad input."""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jellyfish
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Membership
from app.reference.hmis_csv import FILES, spec
from app.services.hmis.check import check_zip
from app.services.hmis.housekeeping import expire_hmis_exports
from tests.conftest import Auth, World, assert_problem
from tests.support.hmis import EXPORTS, export, header, read_zip, run_jobs
from tests.support.intake import INTAKES, example


def check(data: bytes) -> list[Any]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.zip"
        path.write_bytes(data)
        return check_zip(str(path)).issues


async def intakes(client: httpx.AsyncClient, auth: Auth) -> dict[str, dict[str, Any]]:
    """A pending, a diverted (a family) and a placed household, by the first access point."""
    headers = await auth.headers("case_manager", org="access_point_1")
    out = {}
    for name in ("pending", "diverted", "placed"):
        body = example(name)
        if name == "placed":
            body["client"] = {**body["client"], "ssn": "123-45-6789", "middle_name": "Lee"}
        r = await client.post(INTAKES, json=body, headers=headers)
        assert r.status_code == 201, r.text
        out[name] = r.json()
    return out


async def test_an_admin_exports_every_fy2026_file_with_the_ce_data(
    client: httpx.AsyncClient, auth: Auth, world: World, app: Any, db: AsyncSession
) -> None:
    done = await intakes(client, auth)
    admin = await auth.headers("system_admin")
    job, data = await export(client, app, admin, start_date="2020-01-01")

    # The structural validator finds nothing: every file, headers, formats, codes, keys.
    assert check(data) == []
    files = read_zip(data)
    assert set(files) == set(FILES)
    for file in FILES:
        assert header(data, file) == list(spec(file).header)
    assert job["size_bytes"] == len(data)
    assert job["sha256"] == hashlib.sha256(data).hexdigest()
    (row,) = files["Export"]
    assert row["ExportID"] == job["id"].replace("-", "")
    assert "2026" in row["CSVVersion"] and row["HashStatus"] == "1"
    assert {r["ExportID"] for f in FILES for r in files[f]} == {row["ExportID"]}

    # Clients: the placed head's SSN in clear, names as recorded.
    placed_id = (
        done["placed"]["clients"][0]["id"].replace("-", "") if "clients" in done["placed"] else None
    )
    clients = {r["LastName"]: r for r in files["Client"]}
    assert {"Rivera", "Morgan", "Nguyen"} <= set(clients)
    assert clients["Nguyen"]["SSN"] == "123456789" and clients["Nguyen"]["SSNDataQuality"] == "1"
    assert clients["Nguyen"]["MiddleName"] == "Lee" and clients["Nguyen"]["DOB"] == "1975-01-20"
    del placed_id

    # The CE enrollments in the CE project, the diverted family's exit with its destination.
    ce = world.project_id("ce").hex
    enrollments = files["Enrollment"]
    assert {e["ProjectID"] for e in enrollments} >= {ce}
    by_person = {e["PersonalID"]: e for e in enrollments}
    morgan = [c for c in files["Client"] if c["LastName"] == "Morgan"]
    assert len(morgan) == 2  # the head and her child
    heads = [by_person[c["PersonalID"]] for c in morgan]
    assert {e["HouseholdID"] for e in heads} == {
        next(e["EnrollmentID"] for e in heads if e["RelationshipToHoH"] == "1")
    }
    exits = {x["EnrollmentID"]: x for x in files["Exit"]}
    assert all(exits[e["EnrollmentID"]]["Destination"] == "422" for e in heads)

    # 4.19: the placed household PrioritizationStatus 1, the others 2; 4.20 event 2 with its
    # result: 1 for the diverted family, 0 for the placed household.
    nguyen = by_person[clients["Nguyen"]["PersonalID"]]["EnrollmentID"]
    rivera = by_person[clients["Rivera"]["PersonalID"]]["EnrollmentID"]
    statuses = {a["EnrollmentID"]: a["PrioritizationStatus"] for a in files["Assessment"]}
    assert statuses[nguyen] == "1" and statuses[rivera] == "2"
    events = {(e["EnrollmentID"], e["Event"], e["ProbSolDivRRResult"]) for e in files["Event"]}
    assert (nguyen, "2", "0") in events
    head = next(e for e in heads if e["RelationshipToHoH"] == "1")["EnrollmentID"]
    assert (head, "2", "1") in events

    # Housing needs and diversion answers, diversion services: AssessmentQuestions of the
    # pass's 4.19.
    questions = files["AssessmentQuestions"]
    by_group: dict[str, list[dict[str, str]]] = {}
    for q in questions:
        by_group.setdefault(q["AssessmentQuestionGroup"], []).append(q)
    needs = {
        q["AssessmentQuestion"]: q["AssessmentAnswer"]
        for q in by_group["CAS Housing Needs Assessment"]
    }
    assert needs["behavioral_health_interest"] == "1" and needs["sex_offender_registry"] == "0"
    services = {q["AssessmentQuestion"] for q in by_group["CAS Diversion Services"]}
    assert services == {"conflict_mediation", "transportation_assistance"}
    diversion = [
        q
        for q in by_group["CAS Diversion Assessment"]
        if q["AssessmentQuestion"] == "assistance_needed"
    ]
    assert {q["AssessmentAnswer"] for q in diversion} >= {
        "Help with a deposit to move in with a cousin."
    }
    assessment_ids = {a["AssessmentID"] for a in files["Assessment"]}
    assert {q["AssessmentID"] for q in questions} <= assessment_ids

    # Disabilities, CLS with the CE project's VerifiedBy rule, income, 4.11.
    assert {d["DisabilityType"] for d in files["Disabilities"] if d["EnrollmentID"] == nguyen} == {
        "5",
        "6",
        "7",
        "8",
        "9",
        "10",
    }
    cls = [c for c in files["CurrentLivingSituation"] if c["EnrollmentID"] == nguyen]
    assert cls[0]["CurrentLivingSituation"] == "116"
    income = [i for i in files["IncomeBenefits"] if i["EnrollmentID"] == nguyen]
    assert income[0]["SSIAmount"] == "943.00" and income[0]["IncomeFromAnySource"] == "1"
    assert [
        d["DomesticViolenceSurvivor"] for d in files["HealthAndDV"] if d["EnrollmentID"] == nguyen
    ] == ["0"]

    # Projects with their Geocode and CoC; files CAS has nothing for: their header only.
    assert {p["Geocode"] for p in files["ProjectCoC"]} == {"481138"}
    assert {p["CoCCode"] for p in files["ProjectCoC"]} == {"XX-501"}
    for empty in ("Funder", "Inventory", "Affiliation", "Services", "YouthEducationStatus"):
        assert files[empty] == []

    # Audited: the export with the clients it holds, the download.
    actions = set(
        (
            await db.execute(
                text(
                    "SELECT action FROM audit_events WHERE entity_id = :id OR action = "
                    "'hmis_export.pii'"
                ),
                {"id": job["id"]},
            )
        ).scalars()
    )
    assert {
        "hmis_export.create",
        "hmis_export.run",
        "hmis_export.download",
        "hmis_export.pii",
    } <= actions


async def test_the_hashed_option_hashes_names_and_ssns_as_hud_specifies(
    client: httpx.AsyncClient, auth: Auth, app: Any
) -> None:
    await intakes(client, auth)
    admin = await auth.headers("system_admin")
    _, data = await export(client, app, admin, hashed=True)
    assert check(data) == []
    files = read_zip(data)
    assert files["Export"][0]["HashStatus"] == "4"
    nguyen = next(
        c
        for c in files["Client"]
        if c["FirstName"] == hashlib.sha256(jellyfish.soundex("Casey").encode()).hexdigest()
    )
    assert nguyen["LastName"] == hashlib.sha256(b"N250").hexdigest()
    assert nguyen["SSN"] == "6789" + hashlib.sha256(b"123456789").hexdigest()
    assert nguyen["DOB"] == "1975-01-20"  # not hashed


async def test_an_agency_admin_exports_only_their_own_projects(
    client: httpx.AsyncClient, auth: Auth, world: World, app: Any
) -> None:
    await intakes(client, auth)
    agency = await auth.headers("agency_admin")
    _, data = await export(client, app, agency)
    files = read_zip(data)
    assert {p["ProjectID"] for p in files["Project"]} == {world.project_id("ap1_outreach").hex}
    # The access point's clients are CE enrollments (the CAS organization's project): none here.
    assert files["Enrollment"] == [] and files["Client"] == []
    r = await client.post(
        EXPORTS,
        headers=agency,
        json={
            "start_date": "2020-01-01",
            "end_date": "2030-01-01",
            "project_ids": [str(world.project_id("ce"))],
        },
    )
    body = assert_problem(r, 422)
    assert body["errors"][0]["loc"] == ["body", "project_ids", "0"]


async def test_an_agency_admin_does_not_see_an_admins_export_of_other_projects(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession, app: Any
) -> None:
    """An export holds what its requester may read: an admin's export of the whole CoC,
    requested while acting for an organization, is not the organization's agency admins' to
    list or download (only exports of their own projects are)."""
    await intakes(client, auth)
    # The agency admin is also an agency admin of the CAS organization, where the CAS admin
    # exports every project of the CoC.
    db.add(
        Membership(
            user_id=world.home.users["agency_admin"].id,
            organization_id=world.org_id("cas"),
            role="agency_admin",
        )
    )
    await db.flush()
    admin = await auth.headers("cas_admin")
    r = await client.post(
        EXPORTS, headers=admin, json={"start_date": "2020-01-01", "end_date": "2030-01-01"}
    )
    assert r.status_code == 202, r.text
    await run_jobs(app)
    everything = r.json()["id"]
    cas_agency_admin = await auth.headers("agency_admin", org="cas")
    for path in (f"{EXPORTS}/{everything}", f"{EXPORTS}/{everything}/file"):
        assert_problem(await client.get(path, headers=cas_agency_admin), 404)
    listed = await client.get(EXPORTS, headers=cas_agency_admin)
    assert listed.status_code == 200
    assert everything not in {e["id"] for e in listed.json()["items"]}
    # Their own export of the CAS organization's projects stays theirs, and the admins'.
    own, _ = await export(client, app, cas_agency_admin)
    listed = await client.get(EXPORTS, headers=cas_agency_admin)
    assert [e["id"] for e in listed.json()["items"]] == [own["id"]]
    assert (await client.get(f"{EXPORTS}/{own['id']}", headers=admin)).status_code == 200


async def test_roles_without_the_export_permission_are_refused(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    before = await db.scalar(text("SELECT count(*) FROM hmis_exports"))
    body = {"start_date": "2020-01-01", "end_date": "2030-01-01"}
    for user, org in (("case_manager", "access_point_1"), ("housing_provider", None)):
        r = await client.post(EXPORTS, headers=await auth.headers(user, org=org), json=body)
        assert_problem(r, 403)
    r = await client.post(EXPORTS, headers=await auth.headers("vsp_case_manager"), json=body)
    assert_problem(r, 403, "victim-service-provider")
    assert await db.scalar(text("SELECT count(*) FROM hmis_exports")) == before


async def test_another_cocs_export_and_projects_are_not_found(
    client: httpx.AsyncClient, auth: Auth, world: World, app: Any
) -> None:
    admin = await auth.headers("system_admin")
    r = await client.post(
        EXPORTS, headers=admin, json={"start_date": "2020-01-01", "end_date": "2030-01-01"}
    )
    assert r.status_code == 202
    other = await auth.headers("system_admin", coc="other")
    for path in (f"{EXPORTS}/{r.json()['id']}", f"{EXPORTS}/{r.json()['id']}/file"):
        assert_problem(await client.get(path, headers=other), 404)
    agency = await auth.headers("agency_admin")
    assert_problem(await client.get(f"{EXPORTS}/{r.json()['id']}", headers=agency), 404)
    r = await client.post(
        EXPORTS,
        headers=other,
        json={
            "start_date": "2020-01-01",
            "end_date": "2030-01-01",
            "project_ids": [str(world.project_id("ce"))],
        },
    )
    assert_problem(r, 422)
    listed = await client.get(EXPORTS, headers=other)
    assert listed.status_code == 200 and listed.json()["items"] == []
    await run_jobs(app)


async def test_bad_input_is_a_problem_and_nothing_is_written(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    admin = await auth.headers("system_admin")
    before = await db.scalar(text("SELECT count(*) FROM hmis_exports"))
    r = await client.post(
        EXPORTS, headers=admin, json={"start_date": "2026-01-02", "end_date": "2026-01-01"}
    )
    assert_problem(r, 422)
    r = await client.post(EXPORTS, headers=admin, json={"start_date": "2026-01-01"})
    assert_problem(r, 422)
    await db.execute(
        text("UPDATE projects SET geocode = NULL WHERE id = :id"),
        {"id": world.project_id("h1_psh")},
    )
    r = await client.post(
        EXPORTS,
        headers=admin,
        json={
            "start_date": "2020-01-01",
            "end_date": "2030-01-01",
            "project_ids": [str(world.project_id("h1_psh"))],
        },
    )
    body = assert_problem(r, 422)
    assert "Geocode" in body["detail"]
    assert await db.scalar(text("SELECT count(*) FROM hmis_exports")) == before


async def test_a_download_before_the_export_is_written_is_a_conflict(
    client: httpx.AsyncClient, auth: Auth, app: Any
) -> None:
    admin = await auth.headers("system_admin")
    r = await client.post(
        EXPORTS, headers=admin, json={"start_date": "2020-01-01", "end_date": "2030-01-01"}
    )
    assert r.status_code == 202 and r.json()["status"] == "queued"
    assert r.headers["Location"] == f"{EXPORTS}/{r.json()['id']}"
    assert_problem(await client.get(f"{EXPORTS}/{r.json()['id']}/file", headers=admin), 409)
    await run_jobs(app)
    done = await client.get(f"{EXPORTS}/{r.json()['id']}", headers=admin)
    assert done.json()["status"] == "succeeded"
    assert done.json()["progress"]["files"]["Client"]["rows"] >= 0
    f = await client.get(f"{EXPORTS}/{r.json()['id']}/file", headers=admin)
    assert f.status_code == 200
    assert f.headers["content-type"] == "application/zip"
    assert "attachment" in f.headers["content-disposition"]
    assert zipfile.ZipFile(io.BytesIO(f.content)).testzip() is None


async def test_an_expired_export_is_deleted_by_housekeeping(
    client: httpx.AsyncClient, auth: Auth, app: Any, db: AsyncSession
) -> None:
    admin = await auth.headers("system_admin")
    job, _ = await export(client, app, admin)
    key = await db.scalar(
        text("SELECT storage_key FROM hmis_exports WHERE id = :id"), {"id": job["id"]}
    )
    assert key is not None and await app.state.hmis_store.exists(key)
    expires = datetime.fromisoformat(job["expires_at"])
    assert await expire_hmis_exports(db, app.state.hmis_store, expires - timedelta(seconds=1)) == 0
    assert await expire_hmis_exports(db, app.state.hmis_store, expires) == 1
    await db.flush()
    assert not await app.state.hmis_store.exists(key)
    done = await client.get(f"{EXPORTS}/{job['id']}", headers=admin)
    assert done.json()["status"] == "expired"
    assert_problem(await client.get(f"{EXPORTS}/{job['id']}/file", headers=admin), 409)
