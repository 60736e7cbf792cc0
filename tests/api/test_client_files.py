"""Client Files through HTTP: visible to whoever can see the client, same upload rules as
Document Check (streamed, encrypted, type-checked, audited downloads, soft delete)."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models.documents import ClientFile
from app.models.platform import NotificationEvent
from app.security import utcnow
from app.services.clients import access as client_access
from app.services.documents import core as svc
from app.storage import FileStore
from tests.conftest import Auth, World, assert_problem
from tests.support.access import give_roi
from tests.support.documents import (
    EXE,
    PDF,
    PNG,
    audit_rows,
    count,
    file_part,
    make_client,
    stored_files,
)
from tests.support.intake import today

TODAY = today()


def files_url(client_id: uuid.UUID) -> str:
    return f"/api/v1/clients/{client_id}/files"


async def upload(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    client_id: uuid.UUID,
    *,
    content: bytes = PDF,
    filename: str = "ssc.pdf",
    ctype: str = "application/pdf",
    **fields: Any,
) -> httpx.Response:
    data = {"file_type": "social_security_card"}
    data.update({k: str(v) for k, v in fields.items() if v is not None})
    return await client.post(
        files_url(client_id), headers=headers, data=data, files=file_part(content, filename, ctype)
    )


async def test_upload_list_get_and_download(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world, enrolled_in_cas=False)
    agency = await auth.headers("case_manager", org="access_point_1")
    r = await upload(
        client, agency, person.id, description="Card copy", expiration_date="2031-01-01"
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["file_type"] == "social_security_card"
    assert body["description"] == "Card copy" and body["expired"] is False
    assert body["file"]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["file"]["download_path"] == f"/api/v1/client-files/{body['id']}/file"
    assert body["uploaded_by_organization_id"] == str(world.org_id("access_point_1"))

    [path] = stored_files(files_root)
    assert b"SECRET-MARKER" not in path.read_bytes()
    row = await db.get(ClientFile, uuid.UUID(body["id"]))
    assert row is not None and path.name == row.storage_key
    await db.refresh(person)
    assert person.last_contact_at is not None
    assert len(await audit_rows(db, "client_file.create", row.id)) == 1
    event = await db.scalar(select(NotificationEvent).where(NotificationEvent.entity_id == row.id))
    assert event is not None and event.event_type == "document.uploaded"
    assert event.entity_type == "client_file" and event.data["file_type"] == "social_security_card"

    listed = await client.get(files_url(person.id), headers=agency)
    assert [i["id"] for i in listed.json()["items"]] == [body["id"]]
    one = await client.get(f"/api/v1/client-files/{body['id']}", headers=agency)
    assert one.status_code == 200 and one.json()["description"] == "Card copy"

    download = await client.get(f"/api/v1/client-files/{body['id']}/file", headers=agency)
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"].startswith('attachment; filename="ssc.pdf"')
    [audited] = await audit_rows(db, "document.download", row.id)
    assert audited.actor_user_id == world.user_id("case_manager")
    assert audited.entity_type == "client_file"


async def test_visible_to_whoever_can_see_the_client(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    person = await make_client(db, world)  # created by access point 1, enrolled in CE
    agency = await auth.headers("case_manager", org="access_point_1")
    file_id = (await upload(client, agency, person.id)).json()["id"]
    for headers in (
        await auth.headers("case_manager", org="cas"),
        await auth.headers("agency_admin"),
        await auth.headers("cas_admin"),
        await auth.headers("system_admin"),
    ):
        r = await client.get(files_url(person.id), headers=headers)
        assert [i["id"] for i in r.json()["items"]] == [file_id]
        r = await client.get(f"/api/v1/client-files/{file_id}/file", headers=headers)
        assert r.status_code == 200 and r.content == PDF
    assert len(await audit_rows(db, "document.download", uuid.UUID(file_id))) == 4


async def test_other_organizations_and_cocs_get_404_and_nothing_is_stored(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    agency = await auth.headers("case_manager", org="access_point_1")
    file_id = (await upload(client, agency, person.id)).json()["id"]
    before = stored_files(files_root)
    for headers in (
        await auth.headers("case_manager2"),
        await auth.headers("system_admin", coc="other"),
    ):
        assert_problem(await upload(client, headers, person.id), 404)
        r = await client.get(files_url(person.id), headers=headers)
        assert_problem(r, 404)
        assert set(r.json()) <= {"type", "title", "status", "detail", "instance"}
        for path in (f"/api/v1/client-files/{file_id}", f"/api/v1/client-files/{file_id}/file"):
            assert_problem(await client.get(path, headers=headers), 404)
        assert_problem(await client.delete(f"/api/v1/client-files/{file_id}", headers=headers), 404)
    assert stored_files(files_root) == before
    assert await count(db, ClientFile, ClientFile.client_id == person.id) == 1


async def test_the_release_of_information_alone_reads_but_does_not_upload(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    """An agency that sees the client only through the CoC-wide release of information reads
    its files, but adding one changes the client's record (and keeps it active on the queue):
    like a PATCH of the client, that needs an organization linked to the client or an admin."""
    person = await make_client(db, world)
    await give_roi(db, str(person.id))
    other = await auth.headers("case_manager2")
    assert (await client.get(files_url(person.id), headers=other)).status_code == 200
    before = stored_files(files_root)
    r = await upload(client, other, person.id)
    assert_problem(r, 403)
    assert stored_files(files_root) == before
    assert await count(db, ClientFile, ClientFile.client_id == person.id) == 0
    # The linked agency and admins still upload.
    for headers in (
        await auth.headers("case_manager", org="access_point_1"),
        await auth.headers("cas_admin"),
    ):
        assert (await upload(client, headers, person.id)).status_code == 201


async def test_refused_roles(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world, org="housing_1")
    provider = await auth.headers("housing_provider")
    assert_problem(await upload(client, provider, person.id), 403, "forbidden")
    vsp = await auth.headers("vsp_case_manager")
    assert_problem(await upload(client, vsp, person.id), 403, "victim-service-provider")
    assert stored_files(files_root) == []
    assert await count(db, ClientFile, ClientFile.client_id == person.id) == 0


async def test_housing_provider_reads_client_files_but_not_document_checks(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world, org="housing_1")  # and enrolled in CE
    hidden = await make_client(db, world)  # access point 1's: not the provider's to see
    cas = await auth.headers("case_manager", org="cas")
    file_id = (await upload(client, cas, person.id)).json()["id"]
    hidden_file = (await upload(client, cas, hidden.id)).json()["id"]
    r = await client.post(
        f"/api/v1/clients/{person.id}/document-checks",
        headers=cas,
        data={"category": "homeless", "item": "identity", "document_type": "photo_id"},
        files=file_part(PDF),
    )
    assert r.status_code == 201, r.text
    check_id = r.json()["id"]

    provider = await auth.headers("housing_provider")
    listed = await client.get(files_url(person.id), headers=provider)
    assert listed.status_code == 200 and [i["id"] for i in listed.json()["items"]] == [file_id]
    one = await client.get(f"/api/v1/client-files/{file_id}", headers=provider)
    assert one.status_code == 200
    download = await client.get(f"/api/v1/client-files/{file_id}/file", headers=provider)
    assert download.status_code == 200 and download.content == PDF
    [audited] = await audit_rows(db, "document.download", uuid.UUID(file_id))
    assert audited.actor_user_id == world.user_id("housing_provider")

    # Reading is not writing.
    assert_problem(await upload(client, provider, person.id), 403, "forbidden")
    deleted = await client.delete(f"/api/v1/client-files/{file_id}", headers=provider)
    assert_problem(deleted, 403)
    # Clients the provider cannot see stay invisible.
    assert_problem(await client.get(files_url(hidden.id), headers=provider), 404)
    r = await client.get(f"/api/v1/client-files/{hidden_file}/file", headers=provider)
    assert_problem(r, 404)
    # Document Check remains the CAS organization's and admins': 404 on every path.
    for path in (
        f"/api/v1/clients/{person.id}/document-checks",
        f"/api/v1/clients/{person.id}/document-summary",
        f"/api/v1/document-checks/{check_id}",
        f"/api/v1/document-checks/{check_id}/file",
    ):
        r = await client.get(path, headers=provider)
        assert_problem(r, 404)
        assert set(r.json()) <= {"type", "title", "status", "detail", "instance"}
    assert len(await audit_rows(db, "document.download", uuid.UUID(check_id))) == 0
    assert len(stored_files(files_root)) == 3


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"file_type": "diary"}, 422),
        ({"content": b""}, 422),
        ({"content": EXE, "filename": "id.pdf"}, 415),
        ({"content": b"GIF89a" + b"\x00" * 40, "filename": "id.gif", "ctype": "image/gif"}, 415),
        ({"issuance_date": "2024-02-02", "expiration_date": "2024-02-01"}, 422),
        ({"issuance_date": (TODAY + timedelta(days=1)).isoformat()}, 422),
    ],
)
async def test_bad_input_is_refused_and_nothing_is_stored(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
    kwargs: dict[str, Any],
    status: int,
) -> None:
    person = await make_client(db, world)
    agency = await auth.headers("case_manager", org="access_point_1")
    assert_problem(await upload(client, agency, person.id, **kwargs), status)
    assert stored_files(files_root) == []
    assert await count(db, ClientFile, ClientFile.client_id == person.id) == 0


async def test_file_is_required(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    person = await make_client(db, world)
    agency = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(
        files_url(person.id),
        headers=agency,
        data={"file_type": "passport"},
        files={"other": (None, b"")},
    )
    body = assert_problem(r, 422)
    assert ["body", "file"] in [e["loc"] for e in body["errors"]]


async def test_filters_and_expiry(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    person = await make_client(db, world)
    agency = await auth.headers("case_manager", org="access_point_1")
    old = (
        await upload(
            client,
            agency,
            person.id,
            file_type="photo_id",
            content=PNG,
            filename="id.png",
            expiration_date=(TODAY - timedelta(days=2)).isoformat(),
        )
    ).json()["id"]
    bc = (await upload(client, agency, person.id, file_type="birth_certificate")).json()["id"]

    async def ids(**params: Any) -> list[str]:
        r = await client.get(files_url(person.id), headers=agency, params=params)
        assert r.status_code == 200, r.text
        return [i["id"] for i in r.json()["items"]]

    assert await ids() == [bc, old]
    assert await ids(expired="true") == [old]
    assert await ids(expired="false") == [bc]
    assert await ids(file_type="photo_id") == [old]
    r = await client.get(f"/api/v1/client-files/{old}", headers=agency)
    assert r.json()["expired"] is True


async def test_delete_rules_and_purge(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    store: FileStore,
    files_root: Path,
) -> None:
    person = await make_client(db, world)
    await client_access.grant(db, person.id, world.org_id("access_point_2"), "referred")
    agency = await auth.headers("case_manager", org="access_point_1")
    file_id = (await upload(client, agency, person.id)).json()["id"]

    # Another organization that can see the client may not delete what it did not upload.
    other = await auth.headers("case_manager2")
    assert (await client.get(f"/api/v1/client-files/{file_id}", headers=other)).status_code == 200
    assert_problem(await client.delete(f"/api/v1/client-files/{file_id}", headers=other), 403)

    # A colleague of the uploading organization may.
    admin = await auth.headers("agency_admin")
    assert (
        await client.delete(f"/api/v1/client-files/{file_id}", headers=admin)
    ).status_code == 204
    row = await db.get(ClientFile, uuid.UUID(file_id))
    assert row is not None
    await db.refresh(row)
    assert row.deleted_at is not None and row.deleted_by_organization_id == world.org_id(
        "access_point_1"
    )
    [deleted] = await audit_rows(db, "client_file.delete", row.id)
    assert deleted.actor_user_id == world.user_id("agency_admin")
    assert_problem(await client.get(f"/api/v1/client-files/{file_id}/file", headers=agency), 404)
    assert (await client.get(files_url(person.id), headers=agency)).json()["items"] == []

    assert len(stored_files(files_root)) == 1
    purged = await svc.purge_deleted(db, store, utcnow() + timedelta(days=31), retention_days=30)
    assert purged == 1 and stored_files(files_root) == []
    await db.refresh(row)
    assert row.purged_at is not None
