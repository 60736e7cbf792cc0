"""Clients: create, read, update, visibility, SSN handling, list, search, duplicates, history."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent, Client, ClientAccess
from tests.conftest import Auth, World, assert_problem
from tests.support.http import ANY_VERSION
from tests.support.intake import today

URL = "/api/v1/clients"

FULL = {
    "first_name": "Maria",
    "last_name": "Gonzalez",
    "ssn": "123-45-6789",
    "dob": "1980-04-12",
    "hispanic_latinao": True,
    "sex": 0,
    "veteran_status": 0,
    "phone": "214-555-0101",
    "email": "maria@example.org",
    "city": "Dallas",
    "state": "tx",
    "postal_code": "75201",
}


async def new_client(
    client: httpx.AsyncClient, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    r = await client.post(URL, json=fields, headers=headers)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def count(db: AsyncSession, model: Any, *where: Any) -> int:
    return int(await db.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def test_create_derives_quality_masks_and_encrypts_ssn(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(URL, json=FULL, headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["location"] == f"{URL}/{body['id']}"
    assert r.headers["etag"] == '"1"'
    assert body["ssn"] == "***-**-6789"
    assert "123456789" not in r.text and "123-45-6789" not in r.text
    assert (body["name_data_quality"], body["ssn_data_quality"], body["dob_data_quality"]) == (
        1,
        1,
        1,
    )
    assert body["race_none"] is None and body["hispanic_latinao"] is True
    assert body["state"] == "TX" and body["veteran_status"] == 0
    assert body["created_by_organization_id"] == str(world.org_id("access_point_1"))
    assert body["possible_duplicates"] == []

    client_id = uuid.UUID(body["id"])
    raw = (
        await db.execute(
            text("SELECT ssn_encrypted, ssn_hash, ssn_last4_hash FROM clients WHERE id = :i"),
            {"i": client_id},
        )
    ).one()
    assert raw.ssn_encrypted is not None
    for needle in (b"123456789", b"6789", b"123-45"):
        assert needle not in bytes(raw.ssn_encrypted)
    assert "6789" not in raw.ssn_hash and len(raw.ssn_hash) == 64
    assert raw.ssn_last4_hash != raw.ssn_hash
    access = (
        await db.scalars(select(ClientAccess).where(ClientAccess.client_id == client_id))
    ).all()
    assert [(a.organization_id, a.reason) for a in access] == [
        (world.org_id("access_point_1"), "created")
    ]
    created = await db.scalar(
        select(AuditEvent).where(
            AuditEvent.entity_id == client_id, AuditEvent.action == "client.created"
        )
    )
    assert created is not None
    assert created.changes is not None
    assert created.changes["first_name"] == "[redacted]"
    assert created.changes["ssn"] == "[redacted]"
    assert created.changes["ssn_data_quality"] == 1


async def test_create_without_values_defaults_to_not_collected(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    body = await new_client(client, headers, first_name="Kim", ssn="xxxxx1234")
    assert body["name_data_quality"] == 2  # one name only: partial
    assert body["ssn_data_quality"] == 2 and body["ssn"] == "***-**-1234"
    assert body["dob_data_quality"] == 99 and body["dob"] is None
    assert body["race_none"] == 99 and body["veteran_status"] == 99


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"ssn_data_quality": 1}, "ssn_data_quality"),
        ({"ssn": "123-45-6789", "ssn_data_quality": 8}, "ssn_data_quality"),
        ({"ssn": "000-12-3456"}, "ssn"),
        ({"ssn": "666-12-3456"}, "ssn"),
        ({"ssn": "912-12-3456"}, "ssn"),
        ({"ssn": "123-00-3456"}, "ssn"),
        ({"ssn": "123-45-0000"}, "ssn"),
        # (A repeated-digit SSN such as 111-11-1111 is accepted as HUD does, and flagged as a
        # data-quality issue: tests/api/test_data_quality.py.)
        ({"ssn": "12345678"}, "ssn"),
        ({"dob": (today() + timedelta(days=1)).isoformat()}, "dob"),
        ({"dob": "1899-12-31"}, "dob"),
        ({"dob_data_quality": 2}, "dob_data_quality"),
        ({"first_name": "Al", "name_data_quality": 1}, "name_data_quality"),
        ({"first_name": "Al", "last_name": "Bo", "name_data_quality": 99}, "name_data_quality"),
        ({"name_data_quality": 3}, "name_data_quality"),
        ({"asian": True, "race_none": 8}, "race_none"),
        ({"race_none": 1}, "race_none"),
        ({"sex": 5}, "sex"),
        ({"veteran_status": 2}, "veteran_status"),
        ({"gender": ["woman"], "gender_none": 9}, "gender_none"),
        ({"different_identity_text": "x"}, "different_identity_text"),
        ({"roi_end_date": "2026-01-01"}, "roi_start_date"),
        ({"roi_start_date": "2026-02-01", "roi_end_date": "2026-01-01"}, "roi_end_date"),
        ({"nickname": "Al"}, "nickname"),
        ({"first_name": "A\u0000l"}, "first_name"),
    ],
)
async def test_create_bad_input_is_refused_and_nothing_written(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, payload: dict[str, Any], field: str
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    before = await count(db, Client)
    r = await client.post(URL, json=payload, headers=headers)
    body = assert_problem(r, 422)
    assert any(e["loc"][-1] == field for e in body["errors"]), body
    assert "123" not in r.text  # submitted values are not echoed
    assert await count(db, Client) == before


async def test_create_is_idempotent_with_a_key(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = {**await auth.headers("case_manager", org="access_point_1"), "Idempotency-Key": "k1"}
    first = await client.post(URL, json={"first_name": "Ida", "last_name": "Key"}, headers=headers)
    again = await client.post(URL, json={"first_name": "Ida", "last_name": "Key"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await count(db, Client, Client.last_name == "Key") == 1
    r = await client.post(URL, json={"first_name": "Other"}, headers=headers)
    assert_problem(r, 422)


async def test_create_refused_for_roles_and_victim_service_providers(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    before = await count(db, Client)
    r = await client.post(URL, json=FULL, headers=await auth.headers("housing_provider"))
    assert_problem(r, 403, "forbidden")
    r = await client.post(URL, json=FULL, headers=await auth.headers("vsp_case_manager"))
    assert_problem(r, 403, "victim-service-provider")
    assert await count(db, Client) == before


async def test_get_is_audited_and_hidden_from_other_agencies_until_roi(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    created = await new_client(client, cm, first_name="Ana", last_name="Lopez")
    url = f"{URL}/{created['id']}"

    r = await client.get(url, headers=cm)
    assert r.status_code == 200 and r.json()["first_name"] == "Ana"
    assert r.headers["etag"] == '"1"'
    reads = await count(
        db,
        AuditEvent,
        AuditEvent.entity_id == uuid.UUID(created["id"]),
        AuditEvent.action == "pii.read",
        AuditEvent.actor_user_id == world.user_id("case_manager"),
    )
    assert reads == 1

    other_agency = await auth.headers("case_manager2")
    assert_problem(await client.get(url, headers=other_agency), 404)
    other_coc = await auth.headers("system_admin", coc="other")
    assert_problem(await client.get(url, headers=other_coc), 404)
    assert_problem(await client.get(url, headers=await auth.headers("vsp_case_manager")), 403)
    r = await client.get(url, headers=await auth.headers("cas_admin"))
    assert r.status_code == 200 and r.json()["id"] == created["id"]

    # A CoC-wide release of information makes the client visible to every agency of the CoC.
    r = await client.patch(
        url, json={"roi_start_date": today().isoformat()}, headers={**cm, **ANY_VERSION}
    )
    assert r.status_code == 200, r.text
    assert r.json()["roi_active"] is True
    r = await client.get(url, headers=other_agency)
    assert r.status_code == 200 and r.json()["last_name"] == "Lopez"
    # ... but not another CoC.
    assert_problem(await client.get(url, headers=other_coc), 404)


async def test_patch_uses_if_match_rederives_quality_and_audits(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    created = await new_client(client, cm, first_name="Lee")
    url = f"{URL}/{created['id']}"

    r = await client.patch(url, json={"last_name": "Chan"}, headers={**cm, "If-Match": '"7"'})
    assert_problem(r, 412)
    assert (await client.get(url, headers=cm)).json()["last_name"] is None

    r = await client.patch(
        url,
        json={"last_name": "Chan", "ssn": "234567890", "dob": "1990-01-02"},
        headers={**cm, "If-Match": '"1"'},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert r.headers["etag"] == '"2"' and body["version"] == 2
    assert (body["name_data_quality"], body["ssn_data_quality"], body["dob_data_quality"]) == (
        1,
        1,
        1,
    )
    assert body["ssn"] == "***-**-7890"

    r = await client.patch(url, json={"ssn": None}, headers={**cm, "If-Match": '"2"'})
    assert r.status_code == 200 and r.json()["ssn"] is None
    assert r.json()["ssn_data_quality"] == 99

    r = await client.patch(url, json={"ssn_data_quality": 1}, headers={**cm, **ANY_VERSION})
    body = assert_problem(r, 422)
    assert body["errors"][0]["loc"] == ["body", "ssn_data_quality"]

    event = await db.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.entity_id == uuid.UUID(created["id"]),
            AuditEvent.action == "client.updated",
        )
        .order_by(AuditEvent.occurred_at)
        .limit(1)
    )
    assert event is not None and event.changes is not None
    assert event.changes["ssn"] == "[redacted]" and event.changes["last_name"] == "[redacted]"
    assert event.changes["ssn_data_quality"] == {"old": 99, "new": 1}

    r = await client.patch(
        url,
        json={"last_name": "X"},
        headers={**await auth.headers("housing_provider"), **ANY_VERSION},
    )
    assert_problem(r, 403)
    r = await client.patch(
        url, json={"last_name": "X"}, headers={**await auth.headers("case_manager2"), **ANY_VERSION}
    )
    assert_problem(r, 404)


async def test_full_ssn_read_is_permissioned_and_audited(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    created = await new_client(client, cm, **FULL)
    url = f"{URL}/{created['id']}/ssn"
    r = await client.get(url, headers=cm)
    assert r.status_code == 200, r.text
    assert r.json() == {"client_id": created["id"], "ssn": "123-45-6789", "ssn_data_quality": 1}
    event = await db.scalar(
        select(AuditEvent).where(
            AuditEvent.entity_id == uuid.UUID(created["id"]),
            AuditEvent.action == "client.ssn_read",
        )
    )
    assert event is not None
    assert event.actor_user_id == world.user_id("case_manager")
    assert event.acting_organization_id == world.org_id("access_point_1")
    assert event.changes == {"fields": ["ssn"]}

    assert_problem(await client.get(url, headers=await auth.headers("housing_provider")), 403)
    assert_problem(await client.get(url, headers=await auth.headers("case_manager2")), 404)
    assert_problem(
        await client.get(url, headers=await auth.headers("vsp_case_manager")),
        403,
        "victim-service-provider",
    )
    reads = await count(
        db,
        AuditEvent,
        AuditEvent.entity_id == uuid.UUID(created["id"]),
        AuditEvent.action == "client.ssn_read",
    )
    assert reads == 1


async def test_list_is_keyset_paginated_and_only_visible(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    cm2 = await auth.headers("case_manager2")
    mine = [await new_client(client, cm, first_name=f"Mine{i}", last_name="Zed") for i in range(3)]
    theirs = await new_client(client, cm2, first_name="Theirs", last_name="Zed")

    seen: list[str] = []
    cursor = None
    for _ in range(10):
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await client.get(URL, params=params, headers=cm)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        seen.extend(item["id"] for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert {c["id"] for c in mine} <= set(seen)
    assert theirs["id"] not in seen
    assert len(seen) == len(set(seen))
    assert all(item["ssn"] is None or item["ssn"].startswith("***") for item in page["items"])
    assert_problem(await client.get(URL, headers=await auth.headers("vsp_case_manager")), 403)


async def test_search_is_typo_tolerant_ranked_and_scoped(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    cm2 = await auth.headers("case_manager2")
    john = await new_client(
        client, cm, first_name="John", last_name="Smith", dob="1975-06-01", ssn="234-56-7812"
    )
    jane = await new_client(client, cm, first_name="Jane", last_name="Smith")
    other = await new_client(client, cm, first_name="Pat", last_name="Quinn")
    hidden = await new_client(client, cm2, first_name="John", last_name="Smith", dob="1975-06-01")

    r = await client.post(f"{URL}/search", json={"name": "Jon Smyth"}, headers=cm)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    ids = [i["client"]["id"] for i in items]
    assert ids[0] == john["id"]
    assert items[0]["score"] >= 85 and "name sounds alike" in items[0]["reasons"]
    assert items[0]["client"]["ssn"] == "***-**-7812"
    assert hidden["id"] not in ids and other["id"] not in ids
    if jane["id"] in ids:
        assert ids.index(jane["id"]) > 0

    r = await client.post(f"{URL}/search", json={"name": "Smith, John"}, headers=cm)
    assert r.json()["items"][0]["client"]["id"] == john["id"]
    assert r.json()["items"][0]["score"] == 100

    r = await client.post(
        f"{URL}/search", json={"ssn_last4": "7812", "dob": "1975-06-01"}, headers=cm
    )
    hits = r.json()["items"]
    assert [h["client"]["id"] for h in hits] == [john["id"]]
    assert {"same SSN last 4", "same date of birth"} <= set(hits[0]["reasons"])

    r = await client.post(f"{URL}/search", json={"client_id": john["id"]}, headers=cm)
    assert [h["client"]["id"] for h in r.json()["items"]] == [john["id"]]
    r = await client.post(f"{URL}/search", json={"client_id": hidden["id"]}, headers=cm)
    assert r.json()["items"] == []

    # The other agency only finds its own record.
    r = await client.post(f"{URL}/search", json={"name": "John Smith"}, headers=cm2)
    assert [h["client"]["id"] for h in r.json()["items"]] == [hidden["id"]]

    assert_problem(await client.post(f"{URL}/search", json={}, headers=cm), 422)
    assert_problem(await client.post(f"{URL}/search", json={"ssn_last4": "12"}, headers=cm), 422)
    assert_problem(
        await client.post(
            f"{URL}/search", json={"name": "x"}, headers=await auth.headers("vsp_case_manager")
        ),
        403,
        "victim-service-provider",
    )
    r = await client.post(
        f"{URL}/search",
        json={"name": "John Smith"},
        headers=await auth.headers("system_admin", coc="other"),
    )
    assert r.status_code == 200 and r.json()["items"] == []


async def test_create_lists_visible_duplicates_without_blocking(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    cm2 = await auth.headers("case_manager2")
    first = await new_client(
        client, cm, first_name="Robert", last_name="Johnson", dob="1966-03-04", ssn="345678912"
    )
    typo = await new_client(client, cm, first_name="Robert", last_name="Jonson", dob="1966-03-04")
    assert [d["client"]["id"] for d in typo["possible_duplicates"]] == [first["id"]]
    dup = typo["possible_duplicates"][0]
    assert dup["score"] >= 80 and "same date of birth" in dup["reasons"]

    same_ssn = await new_client(client, cm, first_name="Bob", last_name="J", ssn="345-67-8912")
    reasons = {d["client"]["id"]: d["reasons"] for d in same_ssn["possible_duplicates"]}
    assert reasons[first["id"]] == ["same SSN"]

    # Another agency creates the same person: no duplicates it may not see are revealed.
    elsewhere = await new_client(
        client, cm2, first_name="Robert", last_name="Johnson", dob="1966-03-04", ssn="345678912"
    )
    assert elsewhere["possible_duplicates"] == []
    assert await count(db, Client, Client.last_name.in_(["Johnson", "Jonson", "J"])) == 4


async def test_history_lists_changes_with_pii_redacted(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    created = await new_client(client, cm, first_name="Sam", last_name="Oak")
    url = f"{URL}/{created['id']}"
    changed = await client.patch(
        url, json={"last_name": "Elm", "veteran_status": 1}, headers={**cm, **ANY_VERSION}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["last_name"], changed.json()["veteran_status"]) == ("Elm", 1)
    read = await client.get(url, headers=cm)
    assert read.status_code == 200, read.text

    r = await client.get(f"{url}/history", headers=cm)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["action"] for i in items] == ["client.updated", "client.created"]
    update = items[0]
    assert update["actor_user_id"] == str(world.user_id("case_manager"))
    assert update["actor_name"]
    assert update["acting_organization_id"] == str(world.org_id("access_point_1"))
    assert update["changes"]["last_name"] == "[redacted]"
    assert update["changes"]["veteran_status"] == {"old": 99, "new": 1}
    assert "Elm" not in r.text and "Oak" not in r.text

    assert_problem(
        await client.get(f"{url}/history", headers=await auth.headers("case_manager2")), 404
    )
    assert_problem(
        await client.get(f"{url}/history", headers=await auth.headers("vsp_case_manager")), 403
    )


async def _fields_read(db: AsyncSession, client_id: str, actor: uuid.UUID) -> list[list[str]]:
    """What each read by ``actor`` that showed the client recorded as shown (oldest first)."""
    cid = uuid.UUID(client_id)
    events = await db.scalars(
        select(AuditEvent)
        .where(
            or_(AuditEvent.entity_id == cid, AuditEvent.subject_ids.contains([cid])),
            AuditEvent.action == "pii.read",
            AuditEvent.actor_user_id == actor,
        )
        .order_by(AuditEvent.occurred_at)
    )
    return [e.changes["fields"] for e in events if e.changes]


async def _reads_of_request(db: AsyncSession, r: httpx.Response) -> list[AuditEvent]:
    events = await db.scalars(
        select(AuditEvent).where(
            AuditEvent.request_id == r.headers["x-request-id"], AuditEvent.action == "pii.read"
        )
    )
    return list(events)


async def test_list_search_and_duplicate_reads_are_audited_with_what_was_shown(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    me = world.user_id("case_manager")
    shown = await new_client(client, cm, first_name="Odile", last_name="Fabre", dob="1970-02-03")
    hidden = await new_client(
        client, await auth.headers("case_manager2"), first_name="Odile", last_name="Fabre"
    )
    assert await _fields_read(db, shown["id"], me) == []

    r = await client.get(URL, params={"limit": 200}, headers=cm)
    listed = [c["id"] for c in r.json()["items"]]
    assert shown["id"] in listed
    assert await _fields_read(db, shown["id"], me) == [
        ["contact", "demographics", "dob", "name", "ssn_masked"]
    ]
    # One event for the page, naming every client shown, in the order shown.
    [event] = await _reads_of_request(db, r)
    assert [str(i) for i in event.subject_ids or []] == listed
    assert event.entity_type == "client" and event.entity_id is None
    assert event.acting_organization_id == world.org_id("access_point_1")

    r = await client.post(f"{URL}/search", json={"name": "Odile Fabre"}, headers=cm)
    assert [h["client"]["id"] for h in r.json()["items"]] == [shown["id"]]
    assert (await _fields_read(db, shown["id"], me))[-1] == ["dob", "name", "ssn_masked"]
    [event] = await _reads_of_request(db, r)
    assert [str(i) for i in event.subject_ids or []] == [shown["id"]]

    again = await new_client(client, cm, first_name="Odile", last_name="Fabre", dob="1970-02-03")
    assert [d["client"]["id"] for d in again["possible_duplicates"]] == [shown["id"]]
    reads = await _fields_read(db, shown["id"], me)
    assert len(reads) == 3 and reads[-1] == ["dob", "name", "ssn_masked"]
    # Never audited as read by someone who was not shown it.
    assert await _fields_read(db, hidden["id"], me) == []

    # A search showing nothing records no read.
    r = await client.post(f"{URL}/search", json={"name": "Zebulon Quaxley"}, headers=cm)
    assert r.json()["items"] == [] and await _reads_of_request(db, r) == []


async def test_search_by_a_merged_id_finds_the_survivor(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    survivor = await new_client(client, cm, first_name="Remy", last_name="Dubois")
    duplicate = await new_client(client, cm, first_name="Remi", last_name="Dubois")
    r = await client.post(
        f"{URL}/{survivor['id']}/merge",
        json={"duplicate_client_id": duplicate["id"]},
        headers=await auth.headers("system_admin"),
    )
    assert r.status_code == 200, r.text
    r = await client.post(f"{URL}/search", json={"client_id": duplicate["id"]}, headers=cm)
    assert [(h["client"]["id"], h["score"]) for h in r.json()["items"]] == [(survivor["id"], 100)]
    # ... but not for a caller who may not see the survivor.
    r = await client.post(
        f"{URL}/search",
        json={"client_id": duplicate["id"]},
        headers=await auth.headers("case_manager2"),
    )
    assert r.json()["items"] == []


async def test_free_text_demographics_stay_out_of_the_history(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    created = await new_client(
        client,
        cm,
        first_name="Kai",
        additional_race_ethnicity="Tlingit",
        gender=["different_identity"],
        different_identity_text="Two-spirit",
    )
    url = f"{URL}/{created['id']}"
    r = await client.patch(
        url, json={"additional_race_ethnicity": "Haida"}, headers={**cm, **ANY_VERSION}
    )
    assert r.status_code == 200 and r.json()["additional_race_ethnicity"] == "Haida"
    r = await client.get(f"{url}/history", headers=cm)
    items = r.json()["items"]
    assert items[0]["changes"]["additional_race_ethnicity"] == "[redacted]"
    assert items[1]["changes"]["different_identity_text"] == "[redacted]"
    assert "Tlingit" not in r.text and "Haida" not in r.text and "Two-spirit" not in r.text


@pytest.mark.parametrize(
    ("values", "constraint"),
    [
        (
            {"name_data_quality": 1, "first_name": "Only"},
            "ck_clients_name_dq_full_needs_both_names",
        ),
        (
            {"name_data_quality": 99, "first_name": "A", "last_name": "B"},
            "ck_clients_name_dq_matches_name",
        ),
        ({"name_data_quality": 2}, "ck_clients_name_dq_matches_name"),
        ({"ssn_data_quality": 1}, "ck_clients_ssn_dq_matches_ssn"),
        ({"ssn_data_quality": 99, "ssn_encrypted": b"\x01x"}, "ck_clients_ssn_dq_matches_ssn"),
        ({"dob_data_quality": 1}, "ck_clients_dob_dq_matches_dob"),
        ({"dob_data_quality": 8, "dob": date(1980, 1, 1)}, "ck_clients_dob_dq_matches_dob"),
        ({"dob_data_quality": 1, "dob": date(1899, 12, 31)}, "ck_clients_dob_not_before_1900"),
        ({"sex": 3}, "ck_clients_sex_valid"),
        ({"veteran_status": 2}, "ck_clients_veteran_status_valid"),
        ({"race_none": 1}, "ck_clients_race_none_valid"),
        ({"white": True, "race_none": 99}, "ck_clients_race_none_only_without_race"),
        ({"gender": ["woman", "wizard"]}, "ck_clients_gender_valid"),
        ({"gender_none": 1}, "ck_clients_gender_none_valid"),
        ({"gender": ["man"], "gender_none": 99}, "ck_clients_gender_none_only_without_gender"),
    ],
)
async def test_database_refuses_rows_that_break_hud_rules(
    db: AsyncSession, world: World, values: dict[str, Any], constraint: str
) -> None:
    """The rules the service applies are backed by CHECK constraints (scripted loads, bugs)."""
    row = {
        "id": uuid.uuid4(),
        "coc_id": world.home.coc.id,
        "created_by_organization_id": world.org_id("access_point_1"),
        "name_data_quality": 99,
        "ssn_data_quality": 99,
        "dob_data_quality": 99,
        "veteran_status": 99,
        "version": 1,
        **values,
    }
    savepoint = await db.begin_nested()
    with pytest.raises(IntegrityError) as caught:
        await db.execute(insert(Client).values(**row))
    await savepoint.rollback()
    assert constraint in str(caught.value)
