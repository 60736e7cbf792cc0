"""Merging duplicate clients: everything attached moves, the old id resolves, unmerge restores."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import Column, ForeignKey, String, Table, UniqueConstraint, func, select, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent, Base, Client, ClientAccess, HouseholdMember
from app.models.clients import ClientMerge
from app.services.clients.merge import client_references
from app.storage import FileStore
from tests.api.test_clients import count, new_client
from tests.conftest import Auth, World, assert_problem
from tests.support.documents import PDF, PNG
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, example

URL = "/api/v1/clients"


async def access_of(db: AsyncSession, client_id: str) -> set[tuple[uuid.UUID, str]]:
    rows = await db.execute(
        select(ClientAccess.organization_id, ClientAccess.reason).where(
            ClientAccess.client_id == uuid.UUID(client_id)
        )
    )
    return {(o, r) for o, r in rows}


async def households_of(db: AsyncSession, client_id: str) -> dict[uuid.UUID, int]:
    rows = await db.execute(
        select(HouseholdMember.household_id, HouseholdMember.relationship_to_hoh).where(
            HouseholdMember.client_id == uuid.UUID(client_id)
        )
    )
    return {h: r for h, r in rows}


@pytest.fixture
async def attached_table(db: AsyncSession) -> AsyncIterator[Table]:
    """A table another feature might add later, known to the merge only through the metadata."""
    table = Table(
        "merge_probe_notes",
        Base.metadata,
        Column("id", UUID(as_uuid=True), primary_key=True),
        Column("client_id", UUID(as_uuid=True), ForeignKey("clients.id"), nullable=False),
        Column("label", String(20), nullable=False),
        UniqueConstraint("client_id", "label", name="uq_merge_probe_notes_client_label"),
    )
    await db.run_sync(lambda s: table.create(s.connection()))
    try:
        yield table
    finally:
        Base.metadata.remove(table)


async def test_merge_moves_everything_and_unmerge_restores(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    world: World,
    attached_table: Table,
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    cm2 = await auth.headers("case_manager2")
    admin = await auth.headers("system_admin")
    survivor = await new_client(client, cm, first_name="Dana", last_name="Reyes", ssn="456789123")
    duplicate = await new_client(client, cm2, first_name="Dana", last_name="Reyes")
    kid = await new_client(client, cm2, first_name="Eli", last_name="Reyes")
    r = await client.post(
        "/api/v1/households",
        json={
            "members": [
                {"client_id": duplicate["id"], "relationship_to_hoh": 1},
                {"client_id": kid["id"], "relationship_to_hoh": 2},
            ]
        },
        headers=cm2,
    )
    assert r.status_code == 201, r.text
    household_id = uuid.UUID(r.json()["id"])
    note_id = uuid.uuid4()
    await db.execute(
        attached_table.insert().values(
            id=note_id, client_id=uuid.UUID(duplicate["id"]), label="intake"
        )
    )
    changed = await client.patch(
        f"{URL}/{duplicate['id']}", json={"veteran_status": 1}, headers={**cm2, **ANY_VERSION}
    )
    assert changed.status_code == 200, changed.text

    # Before: agency 1 cannot see the duplicate.
    assert_problem(await client.get(f"{URL}/{duplicate['id']}", headers=cm), 404)

    r = await client.post(
        f"{URL}/{survivor['id']}/merge",
        json={"duplicate_client_id": duplicate["id"]},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["survivor_id"] == survivor["id"] and merged["duplicate_id"] == duplicate["id"]
    moved = {(m["table"], m["column"]): m["count"] for m in merged["moved"]}
    assert moved[("client_access", "client_id")] == 1
    assert moved[("household_members", "client_id")] == 1
    assert moved[("merge_probe_notes", "client_id")] == 1

    # Everything attached now belongs to the survivor.
    ap1, ap2 = world.org_id("access_point_1"), world.org_id("access_point_2")
    assert await access_of(db, survivor["id"]) == {(ap1, "created"), (ap2, "created")}
    assert await access_of(db, duplicate["id"]) == set()
    assert await households_of(db, survivor["id"]) == {household_id: 1}
    assert await households_of(db, duplicate["id"]) == {}
    note_owner = await db.scalar(
        select(attached_table.c.client_id).where(attached_table.c.id == note_id)
    )
    assert note_owner == uuid.UUID(survivor["id"])
    dup_row = await db.get(Client, uuid.UUID(duplicate["id"]))
    assert dup_row is not None
    await db.refresh(dup_row)
    assert dup_row.merged_into_id == uuid.UUID(survivor["id"])

    # The merged id resolves to the survivor, for everyone who could see either record.
    for headers in (admin, cm, cm2):
        r = await client.get(f"{URL}/{duplicate['id']}", headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["id"] == survivor["id"]
        assert r.headers["x-merged-into"] == survivor["id"]
        assert r.headers["content-location"] == f"{URL}/{survivor['id']}"
    r = await client.get(f"{URL}/{survivor['id']}/households", headers=cm2)
    assert [h["id"] for h in r.json()["items"]] == [str(household_id)]
    assert r.json()["items"][0]["head_of_household_id"] == survivor["id"]

    # History follows: the duplicate's own events show on the survivor.
    r = await client.get(f"{URL}/{survivor['id']}/history", headers=admin)
    events = {(e["client_id"], e["action"]) for e in r.json()["items"]}
    assert (duplicate["id"], "client.created") in events
    assert (duplicate["id"], "client.updated") in events
    assert (survivor["id"], "client.merged") in events

    # The merged record no longer shows in lists or search.
    r = await client.post(f"{URL}/search", json={"name": "Dana Reyes"}, headers=admin)
    assert [h["client"]["id"] for h in r.json()["items"]] == [survivor["id"]]

    r = await client.get(f"{URL}/{survivor['id']}/merges", headers=admin)
    assert [m["id"] for m in r.json()["items"]] == [merged["id"]]

    # Undo: exactly what moved goes back.
    r = await client.post(
        f"{URL}/{survivor['id']}/unmerge",
        json={"duplicate_client_id": duplicate["id"]},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["unmerged_at"] is not None
    assert await access_of(db, survivor["id"]) == {(ap1, "created")}
    assert await access_of(db, duplicate["id"]) == {(ap2, "created")}
    assert await households_of(db, duplicate["id"]) == {household_id: 1}
    assert await households_of(db, survivor["id"]) == {}
    note_owner = await db.scalar(
        select(attached_table.c.client_id).where(attached_table.c.id == note_id)
    )
    assert note_owner == uuid.UUID(duplicate["id"])
    r = await client.get(f"{URL}/{duplicate['id']}", headers=cm2)
    assert r.status_code == 200 and r.json()["id"] == duplicate["id"]
    assert "x-merged-into" not in r.headers
    assert_problem(await client.get(f"{URL}/{duplicate['id']}", headers=cm), 404)
    actions = set(
        (
            await db.scalars(
                select(AuditEvent.action).where(
                    AuditEvent.entity_id.in_(
                        [uuid.UUID(survivor["id"]), uuid.UUID(duplicate["id"])]
                    )
                )
            )
        ).all()
    )
    assert {"client.merged", "client.merged_away", "client.unmerged", "client.restored"} <= actions


async def test_merge_drops_shared_facts_and_keeps_one_head(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    """Both records in one household (the duplicate as head): one membership stays, as head."""
    cm = await auth.headers("case_manager", org="access_point_1")
    admin = await auth.headers("system_admin")
    survivor = await new_client(client, cm, first_name="Ike", last_name="Moss")
    duplicate = await new_client(client, cm, first_name="Ike", last_name="Mos")
    r = await client.post(
        "/api/v1/households",
        json={
            "members": [
                {"client_id": duplicate["id"], "relationship_to_hoh": 1},
                {"client_id": survivor["id"], "relationship_to_hoh": 4},
            ]
        },
        headers=cm,
    )
    household_id = uuid.UUID(r.json()["id"])
    r = await client.post(
        f"{URL}/{survivor['id']}/merge",
        json={"duplicate_client_id": duplicate["id"]},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["dropped"] == 2  # the same access row and the same household
    assert await households_of(db, survivor["id"]) == {household_id: 1}
    assert await access_of(db, survivor["id"]) == {(world.org_id("access_point_1"), "created")}

    r = await client.post(
        f"{URL}/{survivor['id']}/unmerge",
        json={"duplicate_client_id": duplicate["id"]},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert await households_of(db, survivor["id"]) == {household_id: 4}
    assert await households_of(db, duplicate["id"]) == {household_id: 1}
    assert await access_of(db, duplicate["id"]) == {(world.org_id("access_point_1"), "created")}


async def test_merge_unique_conflict_is_409_and_writes_nothing(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, attached_table: Table
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    admin = await auth.headers("system_admin")
    survivor = await new_client(client, cm, first_name="Uma", last_name="Fay")
    duplicate = await new_client(client, cm, first_name="Uma", last_name="Fey")
    for owner in (survivor, duplicate):
        await db.execute(
            attached_table.insert().values(
                id=uuid.uuid4(), client_id=uuid.UUID(owner["id"]), label="same"
            )
        )
    r = await client.post(
        f"{URL}/{survivor['id']}/merge",
        json={"duplicate_client_id": duplicate["id"]},
        headers=admin,
    )
    body = assert_problem(r, 409)
    assert body["constraint"] == "uq_merge_probe_notes_client_label"
    assert await count(db, ClientMerge) == 0
    assert await access_of(db, duplicate["id"]) != set()
    merged_into = await db.scalar(
        text("SELECT merged_into_id FROM clients WHERE id = :i"), {"i": uuid.UUID(duplicate["id"])}
    )
    assert merged_into is None


async def test_merge_refusals(client: httpx.AsyncClient, auth: Auth, db: AsyncSession) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    admin = await auth.headers("system_admin")
    a = await new_client(client, cm, first_name="Al", last_name="Ray")
    b = await new_client(client, cm, first_name="Al", last_name="Rae")
    c = await new_client(client, cm, first_name="Al", last_name="Rey")

    def merge(target: dict[str, Any], dup: dict[str, Any] | str) -> str:
        return f"{URL}/{target['id']}/merge"

    body = {"duplicate_client_id": b["id"]}
    assert_problem(await client.post(merge(a, b), json=body, headers=cm), 403)
    assert_problem(
        await client.post(merge(a, b), json=body, headers=await auth.headers("cas_admin")), 403
    )
    assert_problem(
        await client.post(merge(a, b), json=body, headers=await auth.headers("vsp_case_manager")),
        403,
        "victim-service-provider",
    )
    other_admin = await auth.headers("system_admin", coc="other")
    assert_problem(await client.post(merge(a, b), json=body, headers=other_admin), 404)
    r = await client.post(merge(a, a), json={"duplicate_client_id": a["id"]}, headers=admin)
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"] == ["body", "duplicate_client_id"]
    r = await client.post(
        merge(a, b), json={"duplicate_client_id": str(uuid.uuid4())}, headers=admin
    )
    assert_problem(r, 422)
    r = await client.post(merge(a, b), json={"duplicate_client_id": "nope"}, headers=admin)
    assert_problem(r, 422)
    assert await count(db, ClientMerge) == 0

    assert (await client.post(merge(a, b), json=body, headers=admin)).status_code == 200
    # b is merged: neither into b, nor b again.
    r = await client.post(merge(b, c), json={"duplicate_client_id": c["id"]}, headers=admin)
    assert_problem(r, 409)
    r = await client.post(merge(c, b), json={"duplicate_client_id": b["id"]}, headers=admin)
    problem = assert_problem(r, 409)
    assert problem["errors"][0]["loc"] == ["body", "duplicate_client_id"]
    # Unmerging something that is not merged here.
    r = await client.post(
        f"{URL}/{c['id']}/unmerge", json={"duplicate_client_id": a["id"]}, headers=admin
    )
    assert_problem(r, 409)
    r = await client.post(
        f"{URL}/{a['id']}/unmerge", json={"duplicate_client_id": b["id"]}, headers=cm
    )
    assert_problem(r, 403)
    assert await count(db, ClientMerge) == 1


# --- merging real records (the tables issues 4 and 5 attach to a client) -------------------------


async def rows_per_reference(db: AsyncSession, client_id: str) -> dict[str, int]:
    """How many rows of every table holding a client id point at ``client_id``."""
    out = {}
    for table, column in client_references():
        n = await db.scalar(
            select(func.count()).select_from(table).where(column == uuid.UUID(client_id))
        )
        out[f"{table.name}.{column.name}"] = int(n or 0)
    return out


async def placed_intake(
    client: httpx.AsyncClient, headers: dict[str, str], first: str, last: str
) -> dict[str, Any]:
    body = example("placed")
    body["client"] = {**body["client"], "first_name": first, "last_name": last}
    r = await client.post(INTAKES, json=body, headers=headers)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_merge_moves_enrollments_documents_queue_and_ce_records(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, store: FileStore
) -> None:
    cas = await auth.headers("case_manager", org="cas")
    admin = await auth.headers("system_admin")
    intake = await placed_intake(client, cas, "Noor", "Haddad")
    duplicate = intake["client"]
    survivor = await new_client(client, cas, first_name="Noor", last_name="Hadad")
    # Documents of both collections on the duplicate.
    r = await client.post(
        f"{URL}/{duplicate['id']}/document-checks",
        data={"category": "homeless", "item": "identity", "document_type": "photo_id"},
        files={"file": ("id.pdf", PDF, "application/pdf")},
        headers=cas,
    )
    assert r.status_code == 201, r.text
    check_id = r.json()["id"]
    r = await client.post(
        f"{URL}/{duplicate['id']}/files",
        data={"file_type": "social_security_card"},
        files={"file": ("ssc.png", PNG, "image/png")},
        headers=cas,
    )
    assert r.status_code == 201, r.text

    before_dup = await rows_per_reference(db, duplicate["id"])
    before_surv = await rows_per_reference(db, survivor["id"])
    for attached in (
        "enrollments.client_id",
        "case_assignments.client_id",
        "queue_entries.head_client_id",
        "area_ties.client_id",
        "ce_assessments.client_id",
        "current_living_situations.client_id",
        "housing_needs_assessments.client_id",
        "document_checks.client_id",
        "client_files.client_id",
        "notification_events.client_id",
    ):
        assert before_dup[attached] > 0, attached

    r = await client.post(
        f"{URL}/{survivor['id']}/merge",
        json={"duplicate_client_id": duplicate["id"]},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    moved = {f"{m['table']}.{m['column']}": m["count"] for m in r.json()["moved"]}
    dropped = r.json()["dropped"]

    # Nothing is left on the duplicate; the survivor has both records' rows (less the access
    # rows both already had).
    after_dup = await rows_per_reference(db, duplicate["id"])
    after_surv = await rows_per_reference(db, survivor["id"])
    assert set(after_dup.values()) == {0}
    for ref, n in before_dup.items():
        if ref == "client_access.client_id":
            assert after_surv[ref] == before_surv[ref] + n - dropped
        else:
            assert after_surv[ref] == before_surv[ref] + n, ref
            assert moved.get(ref, 0) == n, ref

    # Through the API: the survivor's documents, the queue's head, the old id's documents.
    r = await client.get(f"{URL}/{survivor['id']}/document-checks", headers=cas)
    assert [d["id"] for d in r.json()["items"]] == [check_id]
    assert r.json()["items"][0]["client_id"] == survivor["id"]
    r = await client.get(f"{URL}/{duplicate['id']}/document-checks", headers=cas)
    assert [d["id"] for d in r.json()["items"]] == [check_id]
    r = await client.get(f"/api/v1/document-checks/{check_id}/file", headers=cas)
    assert r.status_code == 200 and r.content == PDF
    survivor_row = await db.get(Client, uuid.UUID(survivor["id"]))
    assert survivor_row is not None
    await db.refresh(survivor_row)
    assert survivor_row.last_contact_at is not None  # the duplicate's contacts count now

    # Unmerge puts every row back where it was.
    r = await client.post(
        f"{URL}/{survivor['id']}/unmerge",
        json={"duplicate_client_id": duplicate["id"]},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert await rows_per_reference(db, duplicate["id"]) == before_dup
    assert await rows_per_reference(db, survivor["id"]) == before_surv
    await db.refresh(survivor_row)
    assert survivor_row.last_contact_at is None


async def test_merge_of_two_open_ce_enrollments_is_a_clear_409_and_writes_nothing(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    cas = await auth.headers("case_manager", org="cas")
    admin = await auth.headers("system_admin")
    first = await placed_intake(client, cas, "Ines", "Vidal")
    second = await placed_intake(client, cas, "Ines", "Vida")
    survivor, duplicate = first["client"], second["client"]
    before = {
        "survivor": await rows_per_reference(db, survivor["id"]),
        "duplicate": await rows_per_reference(db, duplicate["id"]),
    }
    audits = await count(db, AuditEvent)

    r = await client.post(
        f"{URL}/{survivor['id']}/merge",
        json={"duplicate_client_id": duplicate["id"]},
        headers=admin,
    )
    problem = assert_problem(r, 409)
    assert "open Coordinated Entry enrollment" in problem["detail"]
    assert problem["constraint"] == "uq_enrollments_one_open_ce_per_client"
    assert problem["survivor_enrollment_id"] == first["enrollment"]["id"]
    assert problem["duplicate_enrollment_id"] == second["enrollment"]["id"]
    assert problem["errors"][0]["loc"] == ["body", "duplicate_client_id"]

    # Nothing written: no merge record, no audit event, every row where it was.
    assert await count(db, ClientMerge) == 0
    assert await count(db, AuditEvent) == audits
    assert await rows_per_reference(db, survivor["id"]) == before["survivor"]
    assert await rows_per_reference(db, duplicate["id"]) == before["duplicate"]
    dup_row = await db.get(Client, uuid.UUID(duplicate["id"]))
    assert dup_row is not None
    await db.refresh(dup_row)
    assert dup_row.merged_into_id is None
