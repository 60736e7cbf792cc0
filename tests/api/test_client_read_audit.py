"""Reads of client data that were missing from the audit trail, and free text that leaked into it
(issue 8 item 6): an intake for an existing client returns the client record (a PII read), and a
Client File's ``description`` (like Document Check ``comments``) is kept out of the trail."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import String, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent
from app.services.clients.core import READ_FIELDS
from app.storage import FileStore
from tests.conftest import Auth, World
from tests.support.documents import PDF, audit_rows, file_part, make_client
from tests.support.intake import INTAKES, example


async def _reads(db: AsyncSession, client_id: uuid.UUID) -> list[AuditEvent]:
    return list(
        await db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "pii.read",
                AuditEvent.entity_type == "client",
                AuditEvent.entity_id == client_id,
            )
        )
    )


async def test_intake_for_an_existing_client_audits_the_record_it_returns(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    person = await make_client(db, world, enrolled_in_cas=False)
    headers = await auth.headers("case_manager", org="access_point_1")
    body: dict[str, Any] = example("pending")
    del body["client"]
    body["client_id"] = str(person.id)

    r = await client.post(INTAKES, json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["client"]["last_name"] == "Ment"

    [read] = await _reads(db, person.id)
    assert read.actor_user_id == world.user_id("case_manager")
    assert read.acting_organization_id == world.org_id("access_point_1")
    assert read.coc_id == world.home.coc.id
    assert read.changes == {"fields": sorted(READ_FIELDS)}  # the full record, like GET /clients


async def test_intake_for_a_new_client_records_a_creation_not_a_read(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(INTAKES, json=example("pending"), headers=headers)
    assert r.status_code == 201, r.text
    client_id = uuid.UUID(r.json()["client"]["id"])
    assert await _reads(db, client_id) == []
    assert len(await audit_rows(db, "client.created", client_id)) == 1


async def _audit_text_count(db: AsyncSession, needle: str) -> int:
    return int(
        await db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(cast(AuditEvent.changes, String).contains(needle))
        )
        or 0
    )


async def test_client_file_description_and_document_comments_stay_out_of_the_audit_trail(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    person = await make_client(db, world)
    agency = await auth.headers("case_manager", org="access_point_1")
    secret = "Seen at Parkland Hospital psych ward"
    r = await client.post(
        f"/api/v1/clients/{person.id}/files",
        headers=agency,
        data={"file_type": "social_security_card", "description": secret},
        files=file_part(PDF, "card.pdf"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["description"] == secret  # the record keeps it; the trail does not
    [created] = await audit_rows(db, "client_file.create", uuid.UUID(r.json()["id"]))
    assert created.changes is not None
    assert created.changes["description"] == "[redacted]"
    assert created.changes["file_type"] == "social_security_card"

    comment = "The Bridge - Parkland Hospital - March 2021"
    r = await client.post(
        f"/api/v1/clients/{person.id}/document-checks",
        headers=await auth.headers("case_manager", org="cas"),
        data={
            "category": "homeless",
            "item": "identity",
            "document_type": "photo_id",
            "comments": comment,
        },
        files=file_part(PDF, "id.pdf"),
    )
    assert r.status_code == 201, r.text
    [checked] = await audit_rows(db, "document_check.create", uuid.UUID(r.json()["id"]))
    assert checked.changes is not None and checked.changes["comments"] == "[redacted]"

    assert await _audit_text_count(db, "Parkland") == 0


def test_description_is_a_redacted_field() -> None:
    from app.services.platform import audit

    assert audit.redact({"description": "x", "file_type": "other"}) == {
        "description": audit.REDACTED,
        "file_type": "other",
    }
