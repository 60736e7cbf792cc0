"""Document Check through HTTP: rules, CAS-only visibility, encrypted streamed storage, audited
downloads, expiry, soft delete + purge, orphan-free failures."""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings
from app.main import create_app
from app.models.documents import DocumentCheck
from app.models.platform import NotificationEvent
from app.security import utcnow
from app.services.documents import core as svc
from app.storage import FileStore, LocalStorage
from tests.conftest import Auth, World, assert_problem
from tests.support.documents import (
    EXE,
    PDF,
    PNG,
    asgi_get_streamed,
    assert_no_leak,
    audit_rows,
    count,
    file_part,
    make_client,
    stored_files,
)
from tests.support.intake import today

TODAY = today()


def checks_url(client_id: uuid.UUID) -> str:
    return f"/api/v1/clients/{client_id}/document-checks"


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    client_id: uuid.UUID,
    *,
    content: bytes | None = PDF,
    filename: str = "scan.pdf",
    ctype: str = "application/pdf",
    **fields: Any,
) -> httpx.Response:
    data = {"category": "homeless", "item": "identity", "document_type": "photo_id"}
    data.update({k: str(v) for k, v in fields.items() if v is not None})
    files = file_part(content, filename, ctype) if content is not None else None
    if files is None:
        # Still multipart, like a form without a file chosen.
        files = {"placeholder": (None, b"")}
    return await client.post(checks_url(client_id), headers=headers, data=data, files=files)


async def test_upload_stores_encrypted_file_and_records_everything(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    r = await upload(
        client,
        cas,
        person.id,
        filename="Führerschein ID.pdf",
        comments="The Bridge - Parkland Hospital - March 2021",
        issuance_date="2020-01-02",
        expiration_date="2030-01-02",
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["client_id"] == str(person.id)
    assert (body["category"], body["item"], body["document_type"]) == (
        "homeless",
        "identity",
        "photo_id",
    )
    assert body["document_type_label"] == "Government-issued photo ID"
    assert body["verification_date"] == TODAY.isoformat()
    assert body["expired"] is False
    assert body["file"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["file"]["size_bytes"] == len(PDF)
    assert body["file"]["content_type"] == "application/pdf"
    assert body["file"]["original_filename"] == "Führerschein ID.pdf"
    assert r.headers["location"] == f"/api/v1/document-checks/{body['id']}"
    assert r.headers["etag"] == '"1"'

    doc = await db.get(DocumentCheck, uuid.UUID(body["id"]))
    assert doc is not None and doc.storage_key is not None
    assert doc.uploaded_by_organization_id == world.org_id("cas")

    # Encrypted at rest; the original name is nowhere in the storage path.
    [path] = stored_files(files_root)
    assert path.name == doc.storage_key and "Führerschein" not in str(path)
    raw = path.read_bytes()
    assert b"SECRET-MARKER" not in raw and PDF not in raw

    # A contact (keeps the client active), an audit record, a notification event for CAS admins.
    await db.refresh(person)
    assert person.last_contact_at is not None
    [created] = await audit_rows(db, "document_check.create", doc.id)
    assert created.changes is not None
    assert created.changes["comments"] == "[redacted]"
    assert created.changes["original_filename"] == "[redacted]"
    event = await db.scalar(select(NotificationEvent).where(NotificationEvent.entity_id == doc.id))
    assert event is not None and event.event_type == "document.uploaded"
    assert event.client_id == person.id and event.coc_id == world.home.coc.id
    assert event.actor_user_id == world.user_id("case_manager")
    assert event.acting_organization_id == world.org_id("cas")
    # Who hears about it is the fan-out table's decision (notifications.kinds), not the event's.
    assert "audience" not in event.data
    assert event.data["item"] == "identity"
    assert "Führerschein" not in str(event.data)


async def test_download_streams_decrypted_file_and_is_audited(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    doc_id = (await upload(client, cas, person.id, content=PNG, filename="report; v2.pdf")).json()[
        "id"
    ]

    r = await client.get(f"/api/v1/document-checks/{doc_id}/file", headers=cas)
    assert r.status_code == 200
    assert r.content == PNG
    assert r.headers["content-type"] == "image/png"
    assert r.headers["content-length"] == str(len(PNG))
    # The detected type decides the extension; separators never reach the header unescaped.
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"report_ v2.png\"; filename*=UTF-8''report%3B%20v2.png"
    )
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["cache-control"] == "no-store"

    admin = await auth.headers("cas_admin")
    assert (
        await client.get(f"/api/v1/document-checks/{doc_id}/file", headers=admin)
    ).content == PNG
    downloads = await audit_rows(db, "document.download", uuid.UUID(doc_id))
    assert {d.actor_user_id for d in downloads} == {
        world.user_id("case_manager"),
        world.user_id("cas_admin"),
    }
    assert all(d.entity_type == "document_check" for d in downloads)


async def test_get_by_id_and_list_with_filters_and_pagination(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    expired_id = (
        await upload(
            client,
            cas,
            person.id,
            item="housing_status",
            document_type="third_party_letter",
            issuance_date=(TODAY - timedelta(days=400)).isoformat(),
            expiration_date=(TODAY - timedelta(days=1)).isoformat(),
        )
    ).json()["id"]
    current_id = (await upload(client, cas, person.id, expiration_date=TODAY.isoformat())).json()[
        "id"
    ]
    vod = await upload(
        client,
        cas,
        person.id,
        category="disability",
        item="disability",
        document_type="ssi_awards_letter",
        comments="SSA - award letter - 2025",
    )
    assert vod.status_code == 201, vod.text
    vod_id = vod.json()["id"]

    r = await client.get(checks_url(person.id), headers=cas)
    assert r.status_code == 200
    items = r.json()["items"]
    assert [i["id"] for i in items] == [vod_id, current_id, expired_id]  # newest first
    expired_flags = {i["id"]: i["expired"] for i in items}
    # Expiring today is still current; yesterday is expired.
    assert expired_flags == {vod_id: False, current_id: False, expired_id: True}

    async def ids(**params: Any) -> list[str]:
        res = await client.get(checks_url(person.id), headers=cas, params=params)
        assert res.status_code == 200, res.text
        return [i["id"] for i in res.json()["items"]]

    assert await ids(category="disability") == [vod_id]
    assert await ids(item="housing_status") == [expired_id]
    assert await ids(expired="true") == [expired_id]
    assert await ids(expired="false") == [vod_id, current_id]
    assert await ids(category="homeless", expired="false") == [current_id]

    first = await client.get(checks_url(person.id), headers=cas, params={"limit": 2})
    page1 = first.json()
    assert len(page1["items"]) == 2 and page1["next_cursor"]
    second = await client.get(
        checks_url(person.id), headers=cas, params={"limit": 2, "cursor": page1["next_cursor"]}
    )
    page2 = second.json()
    assert [i["id"] for i in page2["items"]] == [expired_id] and page2["next_cursor"] is None

    one = await client.get(f"/api/v1/document-checks/{vod_id}", headers=cas)
    assert one.status_code == 200 and one.headers["etag"] == '"1"'
    assert one.json()["comments"] == "SSA - award letter - 2025"
    assert one.json()["file"]["download_path"] == f"/api/v1/document-checks/{vod_id}/file"


async def test_homeless_item_may_be_recorded_without_a_file(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    r = await upload(
        client, cas, person.id, content=None, document_type="hmis_record", item="homeless"
    )
    assert r.status_code == 201, r.text
    assert r.json()["file"] is None
    assert stored_files(files_root) == []
    missing = await client.get(f"/api/v1/document-checks/{r.json()['id']}/file", headers=cas)
    assert_problem(missing, 404)


async def test_document_check_is_visible_only_to_the_cas_organization_and_admins(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    doc_id = (await upload(client, cas, person.id)).json()["id"]
    before = stored_files(files_root)

    # The same user acting for their agency: the client is theirs, Document Check is not.
    agency = await auth.headers("case_manager", org="access_point_1")
    agency_admin = await auth.headers("agency_admin")
    for headers in (agency, agency_admin):
        for path in (
            checks_url(person.id),
            f"/api/v1/document-checks/{doc_id}",
            f"/api/v1/document-checks/{doc_id}/file",
            f"/api/v1/clients/{person.id}/document-summary",
        ):
            r = await client.get(path, headers=headers)
            assert_problem(r, 404)
            assert_no_leak(r)
        assert_problem(await upload(client, headers, person.id), 404)
        r = await client.delete(f"/api/v1/document-checks/{doc_id}", headers=headers)
        assert_problem(r, 404)
    # ... while the client's files stay visible to the agency.
    files = await client.get(f"/api/v1/clients/{person.id}/files", headers=agency)
    assert files.status_code == 200

    # CAS organization users of any agency and admins see it.
    for headers in (cas, await auth.headers("cas_admin"), await auth.headers("system_admin")):
        r = await client.get(checks_url(person.id), headers=headers)
        assert r.status_code == 200 and [i["id"] for i in r.json()["items"]] == [doc_id]

    assert stored_files(files_root) == before
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 1
    assert await audit_rows(db, "document.download", uuid.UUID(doc_id)) == []


async def test_cas_organization_sees_only_clients_it_can_see(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    # Created by an access point but never enrolled in CE: the CAS organization can't see it.
    person = await make_client(db, world, enrolled_in_cas=False)
    cas = await auth.headers("case_manager", org="cas")
    assert_problem(await client.get(checks_url(person.id), headers=cas), 404)
    assert_problem(await upload(client, cas, person.id), 404)
    # Admins see every client of the CoC.
    admin = await auth.headers("cas_admin")
    assert (await upload(client, admin, person.id)).status_code == 201


async def test_other_organizations_and_cocs_get_404_and_nothing_is_stored(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    doc_id = (await upload(client, cas, person.id)).json()["id"]
    before = stored_files(files_root)
    for headers in (
        await auth.headers("case_manager2"),
        await auth.headers("system_admin", coc="other"),
    ):
        assert_problem(await upload(client, headers, person.id), 404)
        assert_problem(await client.get(checks_url(person.id), headers=headers), 404)
        assert_problem(await client.get(f"/api/v1/document-checks/{doc_id}", headers=headers), 404)
        r = await client.get(f"/api/v1/document-checks/{doc_id}/file", headers=headers)
        assert_problem(r, 404)
    assert stored_files(files_root) == before
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 1


async def test_refused_roles(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    theirs = await make_client(db, world, org="housing_1")
    provider = await auth.headers("housing_provider")
    # No documents:write; documents:read (for Client Files), but Document Check is only for
    # the CAS organization and admins: 404 even for a client the provider can see.
    assert_problem(await upload(client, provider, theirs.id), 403, "forbidden")
    r = await client.get(checks_url(theirs.id), headers=provider)
    assert_problem(r, 404)
    assert_no_leak(r)

    vsp = await auth.headers("vsp_case_manager")
    assert_problem(await upload(client, vsp, person.id), 403, "victim-service-provider")
    assert_problem(await client.get(checks_url(person.id), headers=vsp), 403)
    assert_problem(await client.get("/api/v1/document-checklist", headers=vsp), 403)

    r = await client.post(checks_url(person.id), data={"category": "homeless"})
    assert_problem(r, 401)
    assert stored_files(files_root) == []
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        (
            {"category": "homeless", "item": "disability", "document_type": "disability_letter"},
            "item",
        ),
        (
            {
                "category": "disability",
                "item": "identity",
                "document_type": "photo_id",
                "comments": "x",
            },
            "item",
        ),
        ({"item": "identity", "document_type": "ssi_awards_letter"}, "document_type"),
        ({"item": "identity", "document_type": "no_such_type"}, "document_type"),
        (
            {"category": "disability", "item": "disability", "document_type": "disability_letter"},
            "comments",
        ),
        (
            {
                "category": "disability",
                "item": "disability",
                "document_type": "disability_letter",
                "comments": "   ",
            },
            "comments",
        ),
        ({"issuance_date": "2024-05-01", "expiration_date": "2024-04-30"}, "expiration_date"),
        ({"verification_date": (TODAY + timedelta(days=1)).isoformat()}, "verification_date"),
        ({"issuance_date": (TODAY + timedelta(days=3)).isoformat()}, "issuance_date"),
        ({"comments": "bad\x00text"}, "comments"),
    ],
)
async def test_bad_metadata_is_refused_and_nothing_is_stored(
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
    assert ["body", field] in [e["loc"] for e in body["errors"]]
    assert stored_files(files_root) == []
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 0
    assert await count(db, NotificationEvent, NotificationEvent.client_id == person.id) == 0
    await db.refresh(person)
    assert person.last_contact_at is None


async def test_verification_of_disability_requires_the_file(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    fields = {"category": "disability", "item": "disability", "document_type": "disability_letter"}
    r = await upload(client, cas, person.id, content=None, **fields)
    body = assert_problem(r, 422)
    assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "file"), ("body", "comments")}
    r = await upload(client, cas, person.id, content=None, comments="Dr. letter 2025", **fields)
    assert [e["loc"] for e in assert_problem(r, 422)["errors"]] == [["body", "file"]]
    assert stored_files(files_root) == []
    ok = await upload(client, cas, person.id, comments="Dr. letter 2025", **fields)
    assert ok.status_code == 201 and ok.json()["file"] is not None


@pytest.mark.parametrize(
    ("content", "name", "ctype", "status"),
    [
        (b"", "empty.pdf", "application/pdf", 422),
        (EXE, "scan.pdf", "application/pdf", 415),
        (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 64, "id.jpg", "image/jpeg", 415),
        (b"PK\x03\x04" + b"\x00" * 64, "letter.pdf", "application/pdf", 415),
        (b"<html><script>alert(1)</script></html>", "a.png", "image/png", 415),
        (b"%PD", "short.pdf", "application/pdf", 415),
    ],
)
async def test_bad_files_are_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
    content: bytes,
    name: str,
    ctype: str,
    status: int,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    r = await upload(client, cas, person.id, content=content, filename=name, ctype=ctype)
    assert_problem(r, status)
    assert stored_files(files_root) == []
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 0
    await db.refresh(person)
    assert person.last_contact_at is None


@pytest.fixture
async def small_client(
    conn: AsyncConnection,
    engine: AsyncEngine,
    world: World,
    test_settings: Settings,
    files_root: Path,
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a 64 KiB upload limit (the default is 20 MB)."""
    settings = test_settings.model_copy(update={"max_upload_bytes": 64 * 1024})
    small = create_app(settings)
    small.state.engine = engine
    small.state.sessionmaker = async_sessionmaker(
        bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    small.state.file_store = FileStore(LocalStorage(files_root), settings.field_encryption_key)
    transport = httpx.ASGITransport(app=small)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def test_oversize_upload_is_413_and_nothing_is_stored(
    small_client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    limit = 64 * 1024
    exact = PDF + b"0" * (limit - len(PDF))
    ok = await upload(small_client, cas, person.id, content=exact)
    assert ok.status_code == 201 and ok.json()["file"]["size_bytes"] == limit
    assert len(stored_files(files_root)) == 1

    # Just over the limit: caught while streaming (inside the multipart allowance).
    r = await upload(small_client, cas, person.id, content=exact + b"1")
    assert_problem(r, 413, "payload-too-large")
    # Far over: refused by the body size limit before the route runs.
    r = await upload(small_client, cas, person.id, content=exact * 8)
    assert_problem(r, 413, "payload-too-large")

    assert len(stored_files(files_root)) == 1
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 1


async def test_database_failure_after_the_bytes_were_written_removes_them(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(svc.contacts, "record_contact", broken)
    # The app answers 500; the test transport re-raises the error instead of returning it.
    with pytest.raises(RuntimeError, match="database went away"):
        await upload(client, cas, person.id)
    assert stored_files(files_root) == []
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 0


async def test_idempotent_upload_replays_without_storing_twice(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    headers = {**cas, "Idempotency-Key": "upload-1"}
    first = await upload(client, headers, person.id)
    again = await upload(client, headers, person.id)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(stored_files(files_root)) == 1
    assert await count(db, DocumentCheck, DocumentCheck.client_id == person.id) == 1


async def test_summary_reports_items_on_file_and_expiry(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    soon = (TODAY + timedelta(days=10)).isoformat()
    await upload(client, cas, person.id, item="identity", expiration_date=yesterday)
    await upload(
        client,
        cas,
        person.id,
        item="housing_status",
        document_type="hmis_record",
        expiration_date=soon,
    )
    await upload(client, cas, person.id, item="housing_status", document_type="shelter_letter")
    agency = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(
        f"/api/v1/clients/{person.id}/files",
        headers=agency,
        data={"file_type": "birth_certificate"},
        files=file_part(PNG, "bc.png", "image/png"),
    )
    assert r.status_code == 201, r.text

    r = await client.get(f"/api/v1/clients/{person.id}/document-summary", headers=cas)
    assert r.status_code == 200, r.text
    summary = r.json()
    assert summary["as_of"] == TODAY.isoformat()
    items = {(i["category"], i["item"]): i for i in summary["document_checks"]}
    assert set(items) == {
        ("homeless", "housing_status"),
        ("homeless", "identity"),
        ("homeless", "homeless"),
        ("disability", "disability"),
    }
    identity = items[("homeless", "identity")]
    assert identity["on_file"] and identity["expired"] and not identity["current"]
    housing = items[("homeless", "housing_status")]
    assert housing["current"] and not housing["expired"]
    assert housing["document_types"] == ["hmis_record", "shelter_letter"]
    assert housing["next_expiration_date"] == soon
    assert housing["latest_verification_date"] == TODAY.isoformat()
    assert not items[("homeless", "homeless")]["on_file"]
    assert not items[("disability", "disability")]["on_file"]
    assert summary["homelessness_documented"] is False
    assert summary["disability_verified"] is False
    assert summary["client_files"] == [
        {
            "file_type": "birth_certificate",
            "current": True,
            "expired": False,
            "next_expiration_date": None,
        }
    ]

    await upload(
        client,
        cas,
        person.id,
        category="disability",
        item="disability",
        document_type="disability_letter",
        comments="Dr. letter",
    )
    r = await client.get(f"/api/v1/clients/{person.id}/document-summary", headers=cas)
    assert r.json()["disability_verified"] is True


async def test_delete_is_soft_audited_and_limited_to_the_uploading_org_or_admins(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    system_admin = await auth.headers("system_admin")  # acts for the HMIS lead
    cas = await auth.headers("case_manager", org="cas")
    doc_id = (await upload(client, system_admin, person.id)).json()["id"]

    r = await client.delete(f"/api/v1/document-checks/{doc_id}", headers=cas)
    assert_problem(r, 403)
    r = await client.delete(
        f"/api/v1/document-checks/{doc_id}", headers={**system_admin, "If-Match": '"9"'}
    )
    assert_problem(r, 412)
    r = await client.delete(
        f"/api/v1/document-checks/{doc_id}", headers={**system_admin, "If-Match": '"1"'}
    )
    assert r.status_code == 204

    doc = await db.get(DocumentCheck, uuid.UUID(doc_id))
    assert doc is not None
    await db.refresh(doc)
    assert doc.deleted_at is not None and doc.deleted_by_user_id == world.user_id("system_admin")
    assert len(await audit_rows(db, "document_check.delete", doc.id)) == 1
    for path in (f"/api/v1/document-checks/{doc_id}", f"/api/v1/document-checks/{doc_id}/file"):
        assert_problem(await client.get(path, headers=cas), 404)
    assert (await client.get(checks_url(person.id), headers=cas)).json()["items"] == []
    # The bytes stay until the retention period is over.
    assert len(stored_files(files_root)) == 1

    # The uploading organization may delete its own.
    own = (await upload(client, cas, person.id)).json()["id"]
    assert (await client.delete(f"/api/v1/document-checks/{own}", headers=cas)).status_code == 204


async def test_purge_removes_bytes_after_retention(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    kept = (await upload(client, cas, person.id)).json()["id"]
    gone = (await upload(client, cas, person.id)).json()["id"]
    assert (await client.delete(f"/api/v1/document-checks/{gone}", headers=cas)).status_code == 204
    kept_doc = await db.get(DocumentCheck, uuid.UUID(kept))
    gone_doc = await db.get(DocumentCheck, uuid.UUID(gone))
    assert kept_doc is not None and gone_doc is not None
    await db.refresh(gone_doc)
    assert len(stored_files(files_root)) == 2

    # Within the retention period nothing is purged.
    assert await svc.purge_deleted(db, store, utcnow() + timedelta(days=29), retention_days=30) == 0
    assert len(stored_files(files_root)) == 2

    later = utcnow() + timedelta(days=31)
    assert await svc.purge_deleted(db, store, later, retention_days=30) == 1
    assert [p.name for p in stored_files(files_root)] == [kept_doc.storage_key]
    await db.refresh(gone_doc)
    assert gone_doc.purged_at is not None
    # Re-running is harmless.
    assert await svc.purge_deleted(db, store, later, retention_days=30) == 0


async def test_orphan_sweep_removes_unreferenced_bytes_only(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    doc_id = (await upload(client, cas, person.id)).json()["id"]

    async def one() -> AsyncIterator[bytes]:
        yield PDF

    orphan = await store.save(one())
    assert len(stored_files(files_root)) == 2
    # Recent objects are left alone (an upload may be in flight).
    assert await svc.sweep_orphans(db, store) == 0
    assert await svc.sweep_orphans(db, store, utcnow() + timedelta(days=2)) == 1
    doc = await db.get(DocumentCheck, uuid.UUID(doc_id))
    assert doc is not None
    assert [p.name for p in stored_files(files_root)] == [doc.storage_key]
    assert orphan != doc.storage_key


async def test_checklist_defaults_and_per_coc_configuration(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    cas = await auth.headers("case_manager", org="cas")
    r = await client.get("/api/v1/document-checklist", headers=cas)
    assert r.status_code == 200
    items = {(i["category"], i["item"]): i for i in r.json()["items"]}
    disability = items[("disability", "disability")]
    assert [t["code"] for t in disability["document_types"]] == [
        "disability_letter",
        "ssi_awards_letter",
    ]
    assert disability["file_required"] and disability["comment_required"]
    assert not any(i["customized"] for i in items.values())

    body = {
        "items": [
            {
                "category": "homeless",
                "item": "identity",
                "document_types": [
                    {"code": "state_id", "label": "Texas ID"},
                    {"code": "passport", "label": "Passport"},
                ],
            }
        ]
    }
    assert_problem(await client.put("/api/v1/document-checklist", headers=cas, json=body), 403)
    admin = await auth.headers("cas_admin")
    r = await client.put("/api/v1/document-checklist", headers=admin, json=body)
    assert r.status_code == 200, r.text
    items = {(i["category"], i["item"]): i for i in r.json()["items"]}
    assert items[("homeless", "identity")]["customized"] is True
    assert [t["code"] for t in items[("homeless", "identity")]["document_types"]] == [
        "state_id",
        "passport",
    ]
    assert items[("homeless", "homeless")]["customized"] is False

    person = await make_client(db, world)
    r = await upload(client, cas, person.id, item="identity", document_type="photo_id")
    assert_problem(r, 422)
    r = await upload(client, cas, person.id, item="identity", document_type="state_id")
    assert r.status_code == 201 and r.json()["document_type_label"] == "Texas ID"

    # The other CoC keeps the defaults.
    other = await auth.headers("system_admin", coc="other")
    r = await client.get("/api/v1/document-checklist", headers=other)
    identity = next(i for i in r.json()["items"] if i["item"] == "identity")
    assert identity["customized"] is False

    bad = {
        "items": [
            {
                "category": "homeless",
                "item": "disability",
                "document_types": [{"code": "x", "label": "X"}],
            }
        ]
    }
    assert_problem(await client.put("/api/v1/document-checklist", headers=admin, json=bad), 422)
    dupes = {
        "items": [
            {
                "category": "homeless",
                "item": "identity",
                "document_types": [{"code": "x", "label": "X"}, {"code": "x", "label": "Y"}],
            }
        ]
    }
    assert_problem(await client.put("/api/v1/document-checklist", headers=admin, json=dupes), 422)

    r = await client.put("/api/v1/document-checklist", headers=admin, json={"items": []})
    assert not any(i["customized"] for i in r.json()["items"])


async def test_large_file_streams_within_a_memory_bound(
    client: httpx.AsyncClient,
    app: Any,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    size = 15 * 1024 * 1024
    digest = hashlib.sha256()
    with tempfile.TemporaryFile() as source:
        source.write(b"%PDF-1.7\n")
        digest.update(b"%PDF-1.7\n")
        block = os.urandom(1024 * 1024)
        written = 9
        while written < size:
            piece = block[: size - written]
            source.write(piece)
            digest.update(piece)
            written += len(piece)
        source.seek(0)

        # Warm up the same paths first: one-off allocations (route and query caches built on
        # first use) are not what the bound is about.
        small = await upload(client, cas, person.id)
        assert small.status_code == 201, small.text
        await asgi_get_streamed(app, f"/api/v1/document-checks/{small.json()['id']}/file", cas)

        started = time.perf_counter()
        tracemalloc.start()
        try:
            r = await client.post(
                checks_url(person.id),
                headers=cas,
                data={"category": "homeless", "item": "identity", "document_type": "photo_id"},
                files={"file": ("big.pdf", source, "application/pdf")},
            )
            _, upload_peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            assert r.status_code == 201, r.text
            doc_id = r.json()["id"]
            status, headers, body_sha, body_size = await asgi_get_streamed(
                app, f"/api/v1/document-checks/{doc_id}/file", cas
            )
            _, download_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        elapsed = time.perf_counter() - started

    assert r.json()["file"]["size_bytes"] == size
    assert r.json()["file"]["sha256"] == digest.hexdigest()
    assert status == 200 and headers["content-length"] == str(size)
    assert body_size == size and body_sha == digest.hexdigest()
    # Neither direction ever holds the file (15 MB) in memory.
    print(f"peaks: upload {upload_peak}, download {download_peak}, {elapsed:.2f}s")
    assert upload_peak < 4 * 1024 * 1024, upload_peak
    assert download_peak < 2 * 1024 * 1024, download_peak
    stored = max(stored_files(files_root), key=lambda p: p.stat().st_size)
    assert stored.stat().st_size > size  # ciphertext + per-chunk tags
    assert elapsed < 20, elapsed


async def test_unknown_ids_are_404(
    client: httpx.AsyncClient, auth: Auth, world: World, store: FileStore
) -> None:
    cas = await auth.headers("case_manager", org="cas")
    assert_problem(await upload(client, cas, uuid.uuid4()), 404)
    assert_problem(await client.get(f"/api/v1/document-checks/{uuid.uuid4()}", headers=cas), 404)


async def test_document_reads_are_audited_as_reads_of_the_client(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    """Who looked at which client's documents: lists, items, the summary and downloads."""
    person = await make_client(db, world)
    cas = await auth.headers("case_manager", org="cas")
    doc_id = (await upload(client, cas, person.id)).json()["id"]
    me = world.user_id("case_manager")

    assert (await client.get(checks_url(person.id), headers=cas)).status_code == 200
    assert (await client.get(f"/api/v1/document-checks/{doc_id}", headers=cas)).status_code == 200
    r = await client.get(f"/api/v1/clients/{person.id}/document-summary", headers=cas)
    assert r.status_code == 200
    r = await client.get(f"/api/v1/document-checks/{doc_id}/file", headers=cas)
    assert r.content == PDF

    reads = await audit_rows(db, "pii.read", person.id)
    assert {(e.actor_user_id, e.entity_type) for e in reads} == {(me, "client")}
    assert sorted(e.changes["fields"][0] for e in reads if e.changes) == [
        "document_checks",
        "document_checks",
        "document_checks",
        "document_summary",
    ]
    [download] = await audit_rows(db, "document.download", uuid.UUID(doc_id))
    assert download.changes == {"client_id": str(person.id)}
    assert download.acting_organization_id == world.org_id("cas")

    # A refused read leaves no trace of a read.
    other = await auth.headers("case_manager2")
    assert_problem(await client.get(checks_url(person.id), headers=other), 404)
    assert len(await audit_rows(db, "pii.read", person.id)) == 4
