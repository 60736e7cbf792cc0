"""Households: members, head of household, RelationshipToHoH and the rules that keep them sane."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import AuditEvent, Client, Household, HouseholdMember
from tests.api.test_clients import count, new_client
from tests.conftest import Auth, World, assert_problem
from tests.support.http import ANY_VERSION

URL = "/api/v1/households"


async def members_of(db: AsyncSession, household_id: str) -> dict[str, int]:
    rows = await db.execute(
        select(HouseholdMember.client_id, HouseholdMember.relationship_to_hoh).where(
            HouseholdMember.household_id == uuid.UUID(household_id)
        )
    )
    return {str(c): r for c, r in rows}


async def family(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    """A head (existing client) plus a child created inline."""
    head = await new_client(client, headers, first_name="Rosa", last_name="Parks")
    r = await client.post(
        URL,
        json={
            "members": [
                {"client_id": head["id"], "relationship_to_hoh": 1},
                {"client": {"first_name": "Tia", "last_name": "Parks"}, "relationship_to_hoh": 2},
            ]
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    body["_head"] = head["id"]
    return body


async def test_create_household_with_existing_and_new_members(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    household = await family(client, cm)
    assert household["head_of_household_id"] == household["_head"]
    assert [(m["first_name"], m["relationship_to_hoh"]) for m in household["members"]] == [
        ("Rosa", 1),
        ("Tia", 2),
    ]
    child_id = household["members"][1]["client_id"]
    assert await members_of(db, household["id"]) == {household["_head"]: 1, child_id: 2}
    child = await db.get(Client, uuid.UUID(child_id))
    assert child is not None and child.name_data_quality == 1

    r = await client.get(f"{URL}/{household['id']}", headers=cm)
    assert r.status_code == 200 and r.headers["etag"] == '"1"'
    assert r.json()["members"] == household["members"]

    r = await client.get(f"/api/v1/clients/{child_id}/households", headers=cm)
    assert r.status_code == 200, r.text
    assert [h["id"] for h in r.json()["items"]] == [household["id"]]


async def test_household_refusals(client: httpx.AsyncClient, auth: Auth, db: AsyncSession) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    cm2 = await auth.headers("case_manager2")
    household = await family(client, cm)
    url = f"{URL}/{household['id']}"
    for headers, status, slug in (
        (cm2, 404, "not-found"),
        (await auth.headers("system_admin", coc="other"), 404, "not-found"),
        (await auth.headers("vsp_case_manager"), 403, "victim-service-provider"),
    ):
        assert_problem(await client.get(url, headers=headers), status, slug)
        r = await client.get(f"/api/v1/clients/{household['_head']}/households", headers=headers)
        assert_problem(r, status, slug)

    a = await new_client(client, cm, first_name="A", last_name="One")
    body = {"members": [{"client_id": a["id"], "relationship_to_hoh": 1}]}
    before = await count(db, Household)
    assert_problem(
        await client.post(URL, json=body, headers=await auth.headers("housing_provider")), 403
    )
    assert_problem(
        await client.post(URL, json=body, headers=await auth.headers("vsp_case_manager")),
        403,
        "victim-service-provider",
    )
    assert await count(db, Household) == before


async def test_household_create_bad_input_writes_nothing(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    a = await new_client(client, cm, first_name="A", last_name="One")
    b = await new_client(client, cm, first_name="B", last_name="Two")
    hidden = await new_client(
        client, await auth.headers("case_manager2"), first_name="C", last_name="Three"
    )
    cases: list[tuple[list[dict[str, Any]], list[Any]]] = [
        (
            [
                {"client_id": a["id"], "relationship_to_hoh": 1},
                {"client_id": b["id"], "relationship_to_hoh": 1},
            ],
            ["body", "members", "1", "relationship_to_hoh"],
        ),
        ([{"client_id": a["id"], "relationship_to_hoh": 2}], ["body", "members"]),
        (
            [
                {"client_id": a["id"], "relationship_to_hoh": 1},
                {"client_id": a["id"], "relationship_to_hoh": 2},
            ],
            ["body", "members", "1", "client_id"],
        ),
        (
            [
                {"client_id": a["id"], "relationship_to_hoh": 1},
                {"client_id": hidden["id"], "relationship_to_hoh": 2},
            ],
            ["body", "members", "1", "client_id"],
        ),
        (
            [{"client_id": a["id"], "relationship_to_hoh": 7}],
            ["body", "members", 0, "relationship_to_hoh"],
        ),
        (
            [
                {"client_id": a["id"], "relationship_to_hoh": 1},
                {"client": {"first_name": "N", "ssn_data_quality": 1}, "relationship_to_hoh": 2},
            ],
            ["body", "members", 1, "client", "ssn_data_quality"],
        ),
        ([{"relationship_to_hoh": 1}], ["body", "members", 0]),
    ]
    households, members, clients = (
        await count(db, Household),
        await count(db, HouseholdMember),
        await count(db, Client),
    )
    for members_in, loc in cases:
        r = await client.post(URL, json={"members": members_in}, headers=cm)
        body = assert_problem(r, 422)
        locs = [[str(p) for p in e["loc"]] for e in body["errors"]]
        assert [str(p) for p in loc] in locs, (members_in, body)
    assert await count(db, Household) == households
    assert await count(db, HouseholdMember) == members
    assert await count(db, Client) == clients


async def test_member_changes_keep_one_head(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    cm = await auth.headers("case_manager", org="access_point_1")
    household = await family(client, cm)
    hid, head = household["id"], household["_head"]
    child = household["members"][1]["client_id"]
    url = f"{URL}/{hid}"
    partner = await new_client(client, cm, first_name="Pat", last_name="Parks")

    # Add an existing client; the household's version (ETag) moves on.
    r = await client.post(
        f"{url}/members",
        json={"client_id": partner["id"], "relationship_to_hoh": 3},
        headers={**cm, "If-Match": '"1"'},
    )
    assert r.status_code == 201, r.text
    assert r.headers["etag"] == '"2"'
    assert await members_of(db, hid) == {head: 1, child: 2, partner["id"]: 3}

    # Refusals, each naming the field; nothing changes.
    refusals: list[tuple[str, str, dict[str, Any] | None, int, str]] = [
        (
            "POST",
            f"{url}/members",
            {"client_id": partner["id"], "relationship_to_hoh": 4},
            409,
            "client_id",
        ),
        (
            "POST",
            f"{url}/members",
            {"client": {"first_name": "Q"}, "relationship_to_hoh": 1},
            409,
            "relationship_to_hoh",
        ),
        ("PATCH", f"{url}/members/{head}", {"relationship_to_hoh": 2}, 409, "relationship_to_hoh"),
        (
            "PATCH",
            f"{url}/members/{child}",
            {"relationship_to_hoh": 1},
            409,
            "previous_head_relationship_to_hoh",
        ),
        ("DELETE", f"{url}/members/{head}", None, 409, "client_id"),
        ("PATCH", f"{url}/members/{child}", {"relationship_to_hoh": 6}, 422, "relationship_to_hoh"),
    ]
    clients_before = await count(db, Client)
    for method, target, body, status, field in refusals:
        r = await client.request(method, target, json=body, headers={**cm, **ANY_VERSION})
        problem = assert_problem(r, status)
        assert problem["errors"][0]["loc"][-1] == field, problem
    assert await members_of(db, hid) == {head: 1, child: 2, partner["id"]: 3}
    assert await count(db, Client) == clients_before

    r = await client.patch(
        f"{url}/members/{child}", json={"relationship_to_hoh": 4}, headers={**cm, "If-Match": '"1"'}
    )
    assert_problem(r, 412)

    # Make the partner the head: the old head becomes the partner's spouse.
    r = await client.patch(
        f"{url}/members/{partner['id']}",
        json={"relationship_to_hoh": 1, "previous_head_relationship_to_hoh": 3},
        headers={**cm, "If-Match": '"2"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["head_of_household_id"] == partner["id"]
    assert await members_of(db, hid) == {head: 3, child: 2, partner["id"]: 1}

    r = await client.delete(f"{url}/members/{head}", headers={**cm, **ANY_VERSION})
    assert r.status_code == 200, r.text
    assert {m["client_id"] for m in r.json()["members"]} == {child, partner["id"]}
    assert await members_of(db, hid) == {child: 2, partner["id"]: 1}

    # Another agency cannot touch it.
    cm2 = await auth.headers("case_manager2")
    assert_problem(
        await client.delete(f"{url}/members/{child}", headers={**cm2, **ANY_VERSION}), 404
    )
    r = await client.patch(
        f"{url}/members/{child}", json={"relationship_to_hoh": 4}, headers={**cm2, **ANY_VERSION}
    )
    assert_problem(r, 404)
    assert await members_of(db, hid) == {child: 2, partner["id"]: 1}


async def test_household_shows_only_visible_members(client: httpx.AsyncClient, auth: Auth) -> None:
    """A member the caller may not see is left out, not shown as a placeholder."""
    cm = await auth.headers("case_manager", org="access_point_1")
    cm2 = await auth.headers("case_manager2")
    household = await family(client, cm)
    # Agency 2 gets to see the head only (an ROI on the head's record).
    r = await client.patch(
        f"/api/v1/clients/{household['_head']}",
        json={"roi_start_date": "2020-01-01"},
        headers={**cm, **ANY_VERSION},
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"{URL}/{household['id']}", headers=cm2)
    assert r.status_code == 200, r.text
    assert [m["client_id"] for m in r.json()["members"]] == [household["_head"]]
    assert "Tia" not in r.text


async def test_member_views_are_audited_for_shown_members_only_and_lists_batch(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    """Every member shown is a read of that client (names); hidden members are not. A client's
    household list shows each household once, with visible members only."""
    cm = await auth.headers("case_manager", org="access_point_1")
    cm2 = await auth.headers("case_manager2")
    household = await family(client, cm)
    child_id = household["members"][1]["client_id"]
    second = await client.post(
        URL,
        json={
            "members": [
                {"client_id": household["_head"], "relationship_to_hoh": 1},
                {"client": {"first_name": "Lou", "last_name": "Parks"}, "relationship_to_hoh": 3},
            ]
        },
        headers=cm,
    )
    assert second.status_code == 201, second.text
    # Creating members inline does not audit duplicate candidates nobody was shown.
    assert await reads_by(db, child_id, world.user_id("case_manager")) == 1

    consent = await client.patch(
        f"/api/v1/clients/{household['_head']}",
        json={"roi_start_date": "2020-01-01"},
        headers={**cm, **ANY_VERSION},
    )
    assert consent.status_code == 200, consent.text
    assert consent.json()["roi_active"] is True
    r = await client.get(f"/api/v1/clients/{household['_head']}/households", headers=cm2)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert {h["id"] for h in items} == {household["id"], second.json()["id"]}
    assert all([m["client_id"] for m in h["members"]] == [household["_head"]] for h in items)
    assert "Tia" not in r.text and "Lou" not in r.text
    assert await reads_by(db, household["_head"], world.user_id("case_manager2")) == 1
    assert await reads_by(db, child_id, world.user_id("case_manager2")) == 0


async def reads_by(db: AsyncSession, client_id: str, user_id: uuid.UUID) -> int:
    return await count(
        db,
        AuditEvent,
        AuditEvent.entity_id == uuid.UUID(client_id),
        AuditEvent.action == "pii.read",
        AuditEvent.actor_user_id == user_id,
    )
