"""The period a Document Check item of homelessness shows: recorded with the upload, shown on
reads, counted by the documented chronic-homelessness months; refused where it does not
belong."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.documents import DocumentCheck
from app.services.queue.chronic import chronic_status
from app.storage import FileStore
from tests.conftest import Auth, World, assert_problem
from tests.support.documents import PDF, audit_rows, count, file_part, make_client, stored_files
from tests.support.intake import today

TODAY = today()


async def upload(
    client: httpx.AsyncClient, headers: dict[str, str], client_id: uuid.UUID, **fields: Any
) -> httpx.Response:
    data = {"category": "homeless", "item": "homeless", "document_type": "third_party_letter"}
    data.update({k: str(v) for k, v in fields.items()})
    return await client.post(
        f"/api/v1/clients/{client_id}/document-checks",
        headers=headers,
        data=data,
        files=file_part(PDF),
    )


async def test_a_period_is_recorded_shown_and_counted(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    start, end = TODAY - timedelta(days=400), TODAY - timedelta(days=10)
    r = await upload(
        client,
        cas,
        person.id,
        comments="MDHA - Dallas Library",
        period_start=start.isoformat(),
        period_end=end.isoformat(),
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["period_start"], body["period_end"]) == (start.isoformat(), end.isoformat())
    doc = await db.get(DocumentCheck, uuid.UUID(body["id"]))
    assert doc is not None and (doc.period_start, doc.period_end) == (start, end)
    [created] = await audit_rows(db, "document_check.create", doc.id)
    assert created.changes is not None
    assert created.changes["period_start"] == start.isoformat()

    shown = await client.get(f"/api/v1/document-checks/{doc.id}", headers=cas)
    assert shown.status_code == 200
    assert shown.json()["period_end"] == end.isoformat()

    # Thirteen or fourteen calendar months are documented; no disability verification yet.
    documented = (await chronic_status(db, person.id, TODAY)).documented
    assert documented.months >= 13 and documented.episodes == 1
    assert "disability_verification" in documented.missing
    assert not any(m.startswith("homeless_months") for m in documented.missing)


async def test_institution_discharge_paperwork_shows_its_stay(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    r = await upload(
        client,
        cas,
        person.id,
        item="housing_status",
        document_type="institution_discharge",
        period_start=(TODAY - timedelta(days=60)).isoformat(),
        period_end=(TODAY - timedelta(days=1)).isoformat(),
    )
    assert r.status_code == 201, r.text
    # A short institutional stay counts only after documented homelessness: none here.
    assert (await chronic_status(db, person.id, TODAY)).documented.months == 0


BASE = TODAY - timedelta(days=30)
DAY = BASE.isoformat()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (
            {
                "item": "identity",
                "document_type": "photo_id",
                "period_start": DAY,
                "period_end": DAY,
            },
            "period_start",
        ),
        ({"period_end": DAY}, "period_start"),  # the start left out
        ({"period_start": DAY}, "period_end"),
        (
            {"period_start": DAY, "period_end": (BASE - timedelta(days=1)).isoformat()},
            "period_end",
        ),
        (
            {"period_start": DAY, "period_end": (TODAY + timedelta(days=1)).isoformat()},
            "period_end",
        ),
        ({"period_start": "2026-02-30", "period_end": DAY}, "period_start"),
    ],
    ids=["identity", "no-start", "no-end", "reversed", "future", "not-a-date"],
)
async def test_bad_periods_are_refused_and_nothing_is_written(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
    fields: dict[str, str],
    field: str,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    body = assert_problem(await upload(client, cas, person.id, **fields), 422, "validation-error")
    assert ["body", field] in [e["loc"] for e in body["errors"]], body
    assert stored_files(files_root) == []
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 0


async def test_a_period_on_a_disability_verification_is_refused(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    r = await upload(
        client,
        cas,
        person.id,
        category="disability",
        item="disability",
        document_type="disability_letter",
        comments="Clinic - letter",
        period_start=DAY,
        period_end=DAY,
    )
    body = assert_problem(r, 422, "validation-error")
    assert ["body", "period_start"] in [e["loc"] for e in body["errors"]]
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 0


async def test_another_organization_gets_404_and_nothing_is_written(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    person = await make_client(db, world)
    agency = await auth.headers("case_manager2", org="access_point_2")
    r = await upload(client, agency, person.id, period_start=DAY, period_end=DAY)
    assert_problem(r, 404)
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 0
