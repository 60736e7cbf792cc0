"""The round trip: an export of a CoC's Coordinated Entry data, imported into an empty
database (a database of its own: a CoC with only its HMIS lead and a system admin), exported
again, gives the same CE data -- every row of every CE file, the ids read through the
importer's ids (``source_uuid``); only the export's own facts differ (ExportID, ExportDate,
who exported, the users who recorded the rows)."""

from __future__ import annotations

import asyncio
import io
import uuid
import zipfile
from collections.abc import AsyncIterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import Settings
from app.db import create_engine, create_sessionmaker, upgrade_database
from app.services.demo import create_admin
from app.services.hmis import exports, imports
from app.services.hmis.keys import source_uuid
from app.services.hmis.runtime import HmisRuntime
from app.services.identity.auth import memberships_by_email
from app.services.platform.crypto import cipher_for
from app.storage import FileStore, LocalStorage
from app.unit_of_work import unit_of_work
from tests.conftest import Auth, World, _admin_exec, _server_url
from tests.support.hmis import export, read_zip
from tests.support.intake import INTAKES, days_ago, example

# The CE data, and which columns name which file's records.
CE_FILES = (
    "Organization",
    "Project",
    "ProjectCoC",
    "HMISParticipation",
    "CEParticipation",
    "Client",
    "Enrollment",
    "Exit",
    "IncomeBenefits",
    "HealthAndDV",
    "Disabilities",
    "CurrentLivingSituation",
    "Assessment",
    "AssessmentQuestions",
    "Event",
)
REFERENCES = {
    "OrganizationID": "Organization",
    "ProjectID": "Project",
    "PersonalID": "Client",
    "EnrollmentID": "Enrollment",
    "HouseholdID": "Enrollment",
    "AssessmentID": "Assessment",
}
PRIMARY = {
    "ProjectCoCID": "Project",
    "HMISParticipationID": "Project",
    "CEParticipationID": "Project",
    "ExitID": "Exit",
    "IncomeBenefitsID": "IncomeBenefits",
    "HealthAndDVID": "HealthAndDV",
    "DisabilitiesID": "Disabilities",
    "CurrentLivingSitID": "CurrentLivingSituation",
    "EventID": "Event",
}
# The export's own facts: who and when, not the data.
IGNORED = {"ExportID", "UserID", "AssessmentQuestionID"}


@pytest.fixture
async def empty_database() -> AsyncIterator[AsyncEngine]:
    server = _server_url()
    name = f"cas_roundtrip_{uuid.uuid4().hex[:10]}"
    await _admin_exec(server, f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    await asyncio.to_thread(upgrade_database, url)
    engine = create_engine(url, Settings(environment="test"))
    yield engine
    await engine.dispose()
    await _admin_exec(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _ce_data(client: httpx.AsyncClient, auth: Auth) -> None:
    """Pending, diverted and placed households, a contact verified by another project and a
    referral with its result."""
    headers = await auth.headers("case_manager", org="access_point_1")
    placed = None
    for name in ("pending", "diverted", "placed"):
        body = example(name)
        if name == "placed":
            body["client"] = {**body["client"], "ssn": "123-45-6789"}
        r = await client.post(INTAKES, json=body, headers=headers)
        assert r.status_code == 201, r.text
        if name == "placed":
            placed = r.json()["enrollment"]["id"]
    cas = await auth.headers("cas_admin")
    r = await client.post(
        f"/api/v1/enrollments/{placed}/current-living-situations",
        headers=cas,
        json={
            "current_living_situation": 116,
            "verified_by": "Harbor Street Outreach",
            "information_date": days_ago(0),
        },
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        f"/api/v1/enrollments/{placed}/ce-events",
        headers=cas,
        json={
            "event_date": days_ago(0),
            "event": 14,
            "referral_result": 1,
            "result_date": days_ago(0),
            "location_crisis_or_ph_housing": "Hope PSH",
        },
    )
    assert r.status_code == 201, r.text


def _map(file: str, value: str, ds: uuid.UUID) -> str:
    return source_uuid(ds, file, value).hex if value else value


def _canonical(
    files: dict[str, list[dict[str, str]]], ds: uuid.UUID | None
) -> dict[str, list[tuple[tuple[str, str], ...]]]:
    """Each CE file's rows, sorted, with every id read through the importer's ids (``ds``
    None: the ids as they are)."""
    out: dict[str, list[tuple[tuple[str, str], ...]]] = {}
    for file in CE_FILES:
        rows = []
        for row in files[file]:
            values = []
            for column, value in row.items():
                if column in IGNORED:
                    continue
                target = (
                    REFERENCES.get(column)
                    or PRIMARY.get(column)
                    or (file if column == f"{file}ID" else None)
                )
                if ds is not None and target is not None:
                    value = _map(target, value, ds)
                values.append((column, value))
            rows.append(tuple(values))
        out[file] = sorted(rows)
    return out


async def test_export_import_into_an_empty_database_export_gives_the_same_ce_data(
    client: httpx.AsyncClient,
    auth: Auth,
    world: World,
    app: Any,
    empty_database: AsyncEngine,
    tmp_path: Path,
) -> None:
    await _ce_data(client, auth)
    admin = await auth.headers("system_admin")
    _, first = await export(client, app, admin, start_date="2020-01-01")
    first_files = read_zip(first)
    assert first_files["Event"] and first_files["AssessmentQuestions"]

    # An empty database: a CoC with the same code, its HMIS lead and a system admin.
    sessions = create_sessionmaker(empty_database)
    async with unit_of_work(sessions) as session:
        await create_admin(
            session,
            email_address="lead@empty.example",
            password="an-empty-database-2026",
            coc_code="XX-501",
            coc_name="Fresh CoC",
        )
    async with unit_of_work(sessions) as session:
        (actor,) = await memberships_by_email(session, "lead@empty.example", "XX-501")
    settings = Settings(environment="test")
    runtime = HmisRuntime.from_settings(
        settings,
        sessions,
        cipher_for(settings),
        FileStore(LocalStorage(tmp_path / "store"), settings.field_encryption_key),
    )
    path = tmp_path / "first.zip"
    path.write_bytes(first)
    async with unit_of_work(sessions) as session:
        job = await imports.create_cli_import(session, actor, path, {})
    assert await imports.run_import(runtime, job.id, path=path) == "succeeded"
    async with unit_of_work(sessions) as session:
        loaded = await session.get(imports.HmisImport, job.id)
        assert loaded is not None and loaded.data_source_id is not None
        assert loaded.summary["high"] == 0, loaded.summary
        ds = loaded.data_source_id
        # The CE outcomes follow the records (placed: the latest 4.19 says so; diverted: exited
        # after a successful diversion event; pending), and the placed household is on the
        # queue, pending review, as the intake would have placed it.
        outcomes = (
            await session.execute(
                text(
                    "SELECT c.last_name, e.outcome, x.exit_reason FROM enrollments e JOIN "
                    "clients c ON c.id = e.client_id LEFT JOIN exits x ON x.enrollment_id = e.id "
                    "WHERE e.is_coordinated_entry AND e.relationship_to_hoh = 1"
                )
            )
        ).all()
        assert {(r.last_name, r.outcome, r.exit_reason) for r in outcomes} == {
            ("Rivera", "pending", None),
            ("Morgan", "diverted", "successfully_diverted"),
            ("Nguyen", "placed", None),
        }
        queue = (
            await session.execute(
                text(
                    "SELECT c.last_name, q.intake_status FROM queue_entries q JOIN clients c ON "
                    "c.id = q.head_client_id WHERE q.closed_at IS NULL"
                )
            )
        ).all()
        assert [(r.last_name, r.intake_status) for r in queue] == [("Nguyen", "pending")]
        org_kinds = set((await session.execute(text("SELECT kind FROM organizations"))).scalars())
        assert org_kinds == {"hmis_lead", "cas", "agency"}

    async with unit_of_work(sessions) as session:
        again = await exports.create_export(
            session,
            actor,
            start_date=date(2020, 1, 1),
            end_date=date(2030, 12, 31),
            project_ids=None,
            hashed=False,
        )
    assert await exports.run_export(runtime, again.id) == "succeeded"
    async with unit_of_work(sessions) as session:
        written = await session.get(exports.HmisExport, again.id)
        assert written is not None and written.storage_key is not None
        data = b"".join([c async for c in runtime.store.open(written.storage_key)])
    second_files = read_zip(data)
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None

    expected = _canonical(first_files, ds)
    found = _canonical(second_files, None)
    for file in CE_FILES:
        assert found[file] == expected[file], file
    assert len(found["Client"]) == len(first_files["Client"]) >= 4
