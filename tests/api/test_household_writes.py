"""Who may change a household (``clients.policy.can_write_household``): its creating
organization, organizations that write an open enrollment of its members, admins -- and no
change touches a member the caller may not see. Seeing a member through an ROI is not enough."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Household
from app.models.enrollments import Enrollment
from app.permissions import Role
from app.services.ce import policy as enrollment_policy
from app.services.clients import policy as client_policy
from tests.conftest import Auth, World, assert_problem
from tests.support.access import give_roi, new_client
from tests.support.actors import make_actor
from tests.support.intake import INTAKES, counts, example, rows

HOUSEHOLDS = "/api/v1/households"


async def _members(db: AsyncSession, household_id: str) -> dict[str, int]:
    found = await rows(
        db,
        "SELECT client_id, relationship_to_hoh FROM household_members WHERE household_id = :h",
        h=uuid.UUID(household_id),
    )
    return {str(r["client_id"]): r["relationship_to_hoh"] for r in found}


async def _household_events(db: AsyncSession) -> int:
    return int(
        await db.scalar(text("SELECT count(*) FROM audit_events WHERE action LIKE 'household.%'"))
        or 0
    )


async def _queued_family(client: httpx.AsyncClient, auth: Auth, db: AsyncSession) -> dict[str, Any]:
    """Bridge (access point 1) places a household: head Y (no ROI: hidden from other agencies),
    child X3 and spouse X4 (ROI: every agency sees them)."""
    bridge = await auth.headers("case_manager", org="access_point_1")
    body = example("placed")
    body["family_members"] = [
        {
            "client": {"first_name": "Xena", "last_name": "Okafor", "dob": "2014-05-05"},
            "relationship_to_hoh": 2,
        },
        {
            "client": {"first_name": "Xavier", "last_name": "Okafor", "dob": "1980-01-01"},
            "relationship_to_hoh": 3,
            "prior_living_situation": {"living_situation": 99},
        },
    ]
    r = await client.post(INTAKES, json=body, headers=bridge)
    assert r.status_code == 201, r.text
    intake = r.json()
    assert intake["queue_entry"] is not None
    members = await _members(db, intake["household_id"])
    by_rel = {rel: cid for cid, rel in members.items()}
    for cid in (by_rel[2], by_rel[3]):
        await give_roi(db, cid)
    return {
        "household_id": intake["household_id"],
        "head": by_rel[1],
        "child": by_rel[2],
        "spouse": by_rel[3],
        "bridge": bridge,
    }


async def test_roi_reader_may_not_change_another_agencys_household(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    fam = await _queued_family(client, auth, db)
    hid = fam["household_id"]
    harbor = await auth.headers("case_manager2", org="access_point_2")
    seen = await client.get(f"{HOUSEHOLDS}/{hid}", headers=harbor)
    assert seen.status_code == 200, seen.text
    assert {m["client_id"] for m in seen.json()["members"]} == {fam["child"], fam["spouse"]}
    etag = seen.headers["etag"]
    own = await new_client(client, harbor, "Zora", "Harbor")
    before = (await _members(db, hid), await counts(db), await _household_events(db))

    attempts = [
        ("DELETE", f"{HOUSEHOLDS}/{hid}/members/{fam['spouse']}", None),
        (
            "PATCH",
            f"{HOUSEHOLDS}/{hid}/members/{fam['child']}",
            {"relationship_to_hoh": 1, "previous_head_relationship_to_hoh": 2},
        ),
        ("PATCH", f"{HOUSEHOLDS}/{hid}/members/{fam['child']}", {"relationship_to_hoh": 4}),
        ("POST", f"{HOUSEHOLDS}/{hid}/members", {"client_id": own, "relationship_to_hoh": 4}),
        (
            "POST",
            f"{HOUSEHOLDS}/{hid}/members",
            {"client": {"first_name": "New", "last_name": "Person"}, "relationship_to_hoh": 4},
        ),
    ]
    for method, url, body in attempts:
        r = await client.request(method, url, json=body, headers={**harbor, "If-Match": etag})
        problem = assert_problem(r, 403, "household-not-writable")
        assert fam["head"] not in r.text
        assert "household" in problem["detail"]
    # Nothing changed: no member, no client, no audit event (the hidden head is not named).
    assert (await _members(db, hid), await counts(db), await _household_events(db)) == before

    # The creating organization still changes its household.
    r = await client.patch(
        f"{HOUSEHOLDS}/{hid}/members/{fam['spouse']}",
        json={"relationship_to_hoh": 4},
        headers={**fam["bridge"], "If-Match": etag},
    )
    assert r.status_code == 200, r.text
    assert (await _members(db, hid))[fam["spouse"]] == 4


async def test_queue_conflict_does_not_reveal_a_hidden_head(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    """Bridge placed a household whose head Harbor may not see, then made the (visible,
    not enrolled) spouse head. Harbor's intake for that household answers a 409 without ids."""
    bridge = await auth.headers("case_manager", org="access_point_1")
    body = example("placed")
    body["family_members"] = [
        {
            "client": {"first_name": "Quinn", "last_name": "Adebayo", "dob": "1979-07-07"},
            "relationship_to_hoh": 3,
            "enroll": False,
        }
    ]
    r = await client.post(INTAKES, json=body, headers=bridge)
    assert r.status_code == 201, r.text
    intake = r.json()
    hid = intake["household_id"]
    queue_entry_id = intake["queue_entry"]["id"]
    head = intake["client"]["id"]
    spouse = next(c for c, rel in (await _members(db, hid)).items() if rel == 3)
    await give_roi(db, spouse)
    household = await client.get(f"{HOUSEHOLDS}/{hid}", headers=bridge)
    r = await client.patch(
        f"{HOUSEHOLDS}/{hid}/members/{spouse}",
        json={"relationship_to_hoh": 1, "previous_head_relationship_to_hoh": 3},
        headers={**bridge, "If-Match": household.headers["etag"]},
    )
    assert r.status_code == 200, r.text

    def again() -> dict[str, Any]:
        b = example("placed")
        del b["client"]
        b.update(client_id=spouse, household_id=hid)
        return b

    harbor = await auth.headers("case_manager2", org="access_point_2")
    before = await counts(db)
    r = await client.post(INTAKES, json=again(), headers=harbor)
    problem = assert_problem(r, 409, "conflict")
    assert problem["detail"] == (
        "This household is already on the prioritization list; contact the CAS team."
    )
    assert queue_entry_id not in r.text and head not in r.text
    assert set(problem) == {"type", "title", "status", "detail", "instance"}
    assert await counts(db) == before
    # Bridge, who sees the head, is told which entry it is.
    r = await client.post(INTAKES, json=again(), headers=bridge)
    assert assert_problem(r, 409, "conflict")["queue_entry_id"] == queue_entry_id


async def test_writers_through_open_enrollments_and_hidden_heads(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    """The CAS organization writes the open CE enrollments of a household, so it may change
    the household -- but not demote a head it may not see; once every member has exited, it
    may no longer change it."""
    fam = await _queued_family(client, auth, db)
    hid = fam["household_id"]
    cas = await auth.headers("case_manager", org="cas")

    async def etag() -> str:
        r = await client.get(f"{HOUSEHOLDS}/{hid}", headers=fam["bridge"])
        return str(r.headers["etag"])

    r = await client.post(
        f"{HOUSEHOLDS}/{hid}/members",
        json={"client": {"first_name": "Pia", "last_name": "Okafor"}, "relationship_to_hoh": 2},
        headers={**cas, "If-Match": await etag()},
    )
    assert r.status_code == 201, r.text
    newcomer = next(m["client_id"] for m in r.json()["members"] if m["first_name"] == "Pia")
    # Bridge adds its own client the CAS organization may not see, and makes it head.
    hidden = await new_client(client, fam["bridge"], "Hugo", "Okafor")
    r = await client.post(
        f"{HOUSEHOLDS}/{hid}/members",
        json={"client_id": hidden, "relationship_to_hoh": 4},
        headers={**fam["bridge"], "If-Match": await etag()},
    )
    assert r.status_code == 201, r.text
    r = await client.patch(
        f"{HOUSEHOLDS}/{hid}/members/{hidden}",
        json={"relationship_to_hoh": 1, "previous_head_relationship_to_hoh": 4},
        headers={**fam["bridge"], "If-Match": await etag()},
    )
    assert r.status_code == 200, r.text
    assert_problem(await client.get(f"/api/v1/clients/{hidden}", headers=cas), 404)

    before = (await _members(db, hid), await _household_events(db))
    r = await client.patch(
        f"{HOUSEHOLDS}/{hid}/members/{fam['spouse']}",
        json={"relationship_to_hoh": 1, "previous_head_relationship_to_hoh": 4},
        headers={**cas, "If-Match": await etag()},
    )
    assert_problem(r, 403, "household-not-writable")
    assert hidden not in r.text
    assert (await _members(db, hid), await _household_events(db)) == before
    # A change that touches only visible members is fine.
    r = await client.patch(
        f"{HOUSEHOLDS}/{hid}/members/{newcomer}",
        json={"relationship_to_hoh": 4},
        headers={**cas, "If-Match": await etag()},
    )
    assert r.status_code == 200, r.text

    # Every enrollment exited: the CAS organization's right ends with them.
    await db.execute(
        text(
            "UPDATE enrollments SET exit_date = entry_date WHERE household_id = :h "
            "AND exit_date IS NULL"
        ),
        {"h": uuid.UUID(hid)},
    )
    r = await client.delete(
        f"{HOUSEHOLDS}/{hid}/members/{newcomer}", headers={**cas, "If-Match": await etag()}
    )
    assert_problem(r, 403, "household-not-writable")


async def test_a_merged_id_whose_survivor_is_hidden_answers_like_an_unknown_id(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    harbor = await auth.headers("case_manager2", org="access_point_2")
    admin = await auth.headers("system_admin")
    bridge = await auth.headers("case_manager", org="access_point_1")

    async def merged(headers: dict[str, str], survivor_roi: bool) -> tuple[str, str]:
        survivor = await new_client(client, headers, "Sven", "Merged")
        duplicate = await new_client(client, headers, "Sven", "Merged")
        await give_roi(db, duplicate)  # the merged record itself stays visible to everyone
        if survivor_roi:
            await give_roi(db, survivor)
        r = await client.post(
            f"/api/v1/clients/{survivor}/merge",
            json={"duplicate_client_id": duplicate},
            headers=admin,
        )
        assert r.status_code in (200, 201), r.text
        return survivor, duplicate

    survivor, duplicate = await merged(harbor, survivor_roi=False)
    assert_problem(await client.get(f"/api/v1/clients/{survivor}", headers=bridge), 404)

    async def create(member: str) -> httpx.Response:
        return await client.post(
            HOUSEHOLDS,
            json={"members": [{"client_id": member, "relationship_to_hoh": 1}]},
            headers=bridge,
        )

    before = await counts(db)
    hidden = await create(duplicate)
    missing = await create(str(uuid.uuid4()))
    assert_problem(hidden, 422, "validation-error")
    assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())
    assert survivor not in hidden.text
    assert await counts(db) == before
    # A survivor the caller sees is named, so the caller can use it.
    visible_survivor, visible_duplicate = await merged(bridge, survivor_roi=True)
    r = await create(visible_duplicate)
    problem = assert_problem(r, 422, "validation-error")
    assert visible_survivor in problem["detail"]


async def test_every_writer_of_an_open_member_enrollment_may_write_the_household(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    """The household rule reads the enrollment write rule from the rows (``ce`` sits above
    ``clients``): it must never be narrower than ``ce.policy.can_write_enrollment``."""
    fam = await _queued_family(client, auth, db)
    harbor = await auth.headers("case_manager2", org="access_point_2")
    r = await client.post(
        "/api/v1/enrollments",
        json={
            "client_id": fam["spouse"],
            "project_id": str(world.project_id("ap2_shelter")),
            "prior_living_situation": {"living_situation": 99},
        },
        headers=harbor,
    )
    assert r.status_code == 201, r.text
    household = await db.get_one(Household, uuid.UUID(fam["household_id"]))
    enrollments = list(
        (
            await db.scalars(
                select(Enrollment).where(
                    Enrollment.household_id == household.id, Enrollment.exit_date.is_(None)
                )
            )
        ).all()
    )
    assert enrollments
    facts = await enrollment_policy.enrollment_facts(db, enrollments)
    household_facts = await client_policy.household_facts(db, household)
    checked = 0
    for org in world.home.orgs.values():
        for role in (Role.CASE_MANAGER, Role.AGENCY_ADMIN):
            actor = make_actor(role, org.id, coc=world.home.coc.id, kind=org.kind)
            writes_one = any(
                enrollment_policy.can_write_enrollment(actor, facts[e.id]) for e in enrollments
            )
            assert client_policy.can_write_household(actor, household_facts) is (
                writes_one or org.id == household.created_by_organization_id
            ), (org.name, role)
            checked += writes_one
    assert checked >= 2
