"""Idempotent replays: keyed to the user and the acting organization, answered only while the
caller may still do the operation and see the clients in the stored response, audited like any
other read of client data, stored encrypted. A body that cannot be canonicalized is hashed as
sent (no 500)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import (
    AuditEvent,
    Client,
    ClientAccess,
    IdempotencyRecord,
    Membership,
    Organization,
)
from app.models.documents import ClientFile
from app.models.enrollments import CaseAssignment
from app.services.clients import access as client_access
from app.storage import FileStore
from tests.conftest import Auth, World, assert_problem
from tests.support.documents import PDF, count, file_part, make_client
from tests.support.intake import INTAKES, example, today

CLIENTS = "/api/v1/clients"
BODY = {"first_name": "Rhea", "last_name": "Playwright"}


async def _create(client: httpx.AsyncClient, headers: dict[str, str], key: str) -> httpx.Response:
    return await client.post(CLIENTS, json=BODY, headers=headers | {"Idempotency-Key": key})


async def test_a_key_is_scoped_to_the_acting_organization(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    # case_manager belongs to access_point_1 and to the CAS organization.
    ap1 = await auth.headers("case_manager", org="access_point_1")
    first = await _create(client, ap1, "scoped-1")
    assert first.status_code == 201, first.text
    # Their access_point_1 membership is removed; the same key, sent acting for the CAS
    # organization, is a new request: the access_point_1 response is not handed out.
    await db.execute(
        delete(Membership).where(
            Membership.user_id == world.user_id("case_manager"),
            Membership.organization_id == world.org_id("access_point_1"),
        )
    )
    cas = await auth.headers("case_manager", org="cas")
    second = await _create(client, cas, "scoped-1")
    assert second.status_code == 201, second.text
    assert "idempotent-replayed" not in second.headers
    assert second.json()["id"] != first.json()["id"]
    assert await count(db, Client, Client.last_name == "Playwright") == 2


async def test_a_replay_needs_the_routes_permissions_still(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    first = await _create(client, headers, "perm-1")
    assert first.status_code == 201, first.text
    # Now a housing provider in the same organization: may not create clients.
    await db.execute(
        update(Membership)
        .where(
            Membership.user_id == world.user_id("case_manager"),
            Membership.organization_id == world.org_id("access_point_1"),
        )
        .values(role="housing_provider")
    )
    again = await _create(client, headers, "perm-1")
    body = assert_problem(again, 403, "forbidden")
    assert "Playwright" not in again.text and "idempotent-replayed" not in again.headers
    assert "clients:write" in body["detail"]


async def test_a_replay_is_refused_to_a_victim_service_provider(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    first = await _create(client, headers, "vsp-1")
    assert first.status_code == 201, first.text
    await db.execute(
        update(Organization)
        .where(Organization.id == world.org_id("access_point_1"))
        .values(victim_service_provider=True)
    )
    again = await _create(client, headers, "vsp-1")
    assert_problem(again, 403, "victim-service-provider")
    assert "Playwright" not in again.text


async def test_a_replay_about_a_client_no_longer_visible_is_a_404(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    # Another agency's client, referred to access_point_1 (a link: it may add files).
    person = await make_client(db, world, org="access_point_2", enrolled_in_cas=False)
    await client_access.grant(db, person.id, world.org_id("access_point_1"), "referred")
    await db.flush()
    headers = await auth.headers("case_manager", org="access_point_1") | {
        "Idempotency-Key": "roi-upload-1"
    }
    url = f"{CLIENTS}/{person.id}/files"

    async def send() -> httpx.Response:
        return await client.post(
            url, headers=headers, data={"file_type": "photo_id"}, files=file_part(PDF)
        )

    first = await send()
    assert first.status_code == 201, first.text
    # The referral ends: the client is no longer visible to access_point_1.
    await db.execute(
        delete(ClientAccess).where(
            ClientAccess.client_id == person.id,
            ClientAccess.organization_id == world.org_id("access_point_1"),
        )
    )
    await db.flush()
    again = await send()
    assert_problem(again, 404)
    assert first.json()["id"] not in again.text
    assert "idempotent-replayed" not in again.headers
    assert await count(db, ClientFile, ClientFile.client_id == person.id) == 1


async def test_a_replayed_client_record_is_audited_as_a_read(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    first = await _create(client, headers, "audit-1")
    assert first.status_code == 201, first.text
    again = await _create(client, headers, "audit-1")
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    reads = (
        await db.scalars(
            select(AuditEvent).where(
                AuditEvent.request_id == again.headers["x-request-id"],
                AuditEvent.action == "pii.read",
            )
        )
    ).all()
    assert {r.entity_id for r in reads} == {uuid.UUID(first.json()["id"])}
    assert all(r.entity_type == "client" for r in reads)


async def test_stored_responses_are_encrypted(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    first = await _create(client, headers, "sealed-1")
    assert first.status_code == 201, first.text
    record = await db.scalar(select(IdempotencyRecord).where(IdempotencyRecord.key == "sealed-1"))
    assert record is not None
    assert b"Playwright" not in record.response_body and b"Rhea" not in record.response_body
    assert first.json()["id"].encode() not in record.response_body
    again = await _create(client, headers, "sealed-1")
    assert again.json()["last_name"] == "Playwright"


@pytest.mark.parametrize("depth", [1_000, 100_000])
@pytest.mark.parametrize("with_key", [True, False])
async def test_deeply_nested_json_is_a_client_error(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, depth: int, with_key: bool
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1") | {
        "content-type": "application/json"
    }
    if with_key:
        headers["Idempotency-Key"] = f"deep-{depth}"
    before = await count(db, Client)
    body = b'{"first_name": ' + b"[" * depth + b"]" * depth + b"}"
    r = await client.post(CLIENTS, headers=headers, content=body)
    assert_problem(r, 400)
    assert await count(db, Client) == before
    assert await count(db, IdempotencyRecord) == 0


async def test_a_document_check_replay_needs_the_document_check_rule_still(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    person = await make_client(db, world, org="access_point_2", enrolled_in_cas=False)
    person.roi_start_date = today() - timedelta(days=30)
    await db.flush()
    admin_org = await db.scalar(
        select(Membership.organization_id).where(
            Membership.user_id == world.user_id("system_admin")
        )
    )
    headers = await auth.headers("system_admin") | {"Idempotency-Key": "check-1"}

    async def send() -> httpx.Response:
        return await client.post(
            f"{CLIENTS}/{person.id}/document-checks",
            headers=headers,
            data={
                "category": "homeless",
                "item": "identity",
                "document_type": "photo_id",
                "comments": "Parkland Hospital - March",
            },
            files=file_part(PDF),
        )

    first = await send()
    assert first.status_code == 201, first.text
    # No longer an admin: Document Check is not for this (non-CAS) organization any more,
    # although the client is still visible through the release of information.
    await db.execute(
        update(Membership)
        .where(
            Membership.user_id == world.user_id("system_admin"),
            Membership.organization_id == admin_org,
        )
        .values(role="case_manager")
    )
    again = await send()
    assert_problem(again, 404)
    assert "Parkland" not in again.text


async def test_a_record_replay_rechecks_the_enrollment_and_is_audited(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    """A case note's response names no client: the replay still re-checks the path's
    enrollment (visible, writable) before answering, and is audited as a read of its client."""
    bridge = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(INTAKES, json=example("pending"), headers=bridge)
    assert r.status_code == 201, r.text
    client_id, eid = r.json()["client"]["id"], r.json()["enrollment"]["id"]
    cas = await auth.headers("case_manager", org="cas") | {"Idempotency-Key": "note-1"}
    url = f"/api/v1/enrollments/{eid}/case-notes"
    note = {"note_date": today().isoformat(), "note": "Discussed her diagnosis."}
    first = await client.post(url, json=note, headers=cas)
    assert first.status_code == 201, first.text
    again = await client.post(url, json=note, headers=cas)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    reads = (
        await db.scalars(
            select(AuditEvent).where(
                AuditEvent.request_id == again.headers["x-request-id"],
                AuditEvent.action == "pii.read",
            )
        )
    ).all()
    assert [(e.entity_id, e.changes) for e in reads] == [
        (uuid.UUID(client_id), {"fields": ["replayed_response"]})
    ]
    # The CAS organization no longer sees the client (and the user, who did the intake, is no
    # longer its case manager): the replay is the route's own 404.
    await db.execute(
        delete(ClientAccess).where(
            ClientAccess.client_id == uuid.UUID(client_id),
            ClientAccess.organization_id == world.org_id("cas"),
        )
    )
    await db.execute(
        update(CaseAssignment)
        .where(CaseAssignment.client_id == uuid.UUID(client_id))
        .values(status="inactive", end_date=today())
    )
    gone = await client.post(url, json=note, headers=cas)
    assert_problem(gone, 404)
    assert "diagnosis" not in gone.text and "idempotent-replayed" not in gone.headers
    # Seen again (the client's ROI), and the CAS organization writes CE enrollments: replayed.
    await db.execute(
        update(Client)
        .where(Client.id == uuid.UUID(client_id))
        .values(roi_start_date=today() - timedelta(days=3))
    )
    back = await client.post(url, json=note, headers=cas)
    assert back.status_code == 201 and back.headers["idempotent-replayed"] == "true"
    assert back.json() == first.json()
