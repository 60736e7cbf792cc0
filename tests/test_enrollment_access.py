"""Who may touch an enrollment: client ids in bodies go through visibility (a hidden client
answers like a missing one), writes need a named right (``can_write_enrollment``), and household
reads leave out the members the caller may not see."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.access_support import give_roi, hidden_family
from tests.conftest import Auth, World, assert_problem
from tests.intake_support import INTAKES, counts, example, rows

ENROLLMENTS = "/api/v1/enrollments"


def _same_answer(a: httpx.Response, b: httpx.Response) -> None:
    assert (a.status_code, a.json()) == (b.status_code, b.json())


# --- client ids in request bodies ----------------------------------------------------------------


async def test_hidden_family_member_cannot_be_enrolled(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    fam = await hidden_family(client, auth, db)
    ap1 = await auth.headers("case_manager", org="access_point_1")

    def body(member: str) -> dict[str, Any]:
        return {
            "client_id": fam.visible,
            "project_id": str(world.project_id("ap1_outreach")),
            "household_id": fam.household_id,
            "family_members": [{"client_id": member}],
        }

    before = await counts(db)
    hidden = await client.post(ENROLLMENTS, json=body(fam.hidden), headers=ap1)
    problem = assert_problem(hidden, 422, "validation-error")
    assert problem["errors"][0]["loc"] == ["body", "family_members", "0", "client_id"]
    _same_answer(hidden, await client.post(ENROLLMENTS, json=body(str(uuid.uuid4())), headers=ap1))
    assert await counts(db) == before
    # Nothing was granted: the hidden member stays hidden, its SSN too.
    assert_problem(await client.get(f"/api/v1/clients/{fam.hidden}", headers=ap1), 404)
    assert_problem(await client.get(f"/api/v1/clients/{fam.hidden}/ssn", headers=ap1), 404)
    # The visible members alone enroll fine.
    ok = await client.post(
        ENROLLMENTS, json={**body(fam.visible2), "family_members": []}, headers=ap1
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["client_id"] == fam.visible


async def test_intake_names_hidden_member_like_a_missing_one(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    fam = await hidden_family(client, auth, db)
    ap1 = await auth.headers("case_manager", org="access_point_1")
    for enroll in (True, False):

        def body(member: str, enroll: bool = enroll) -> dict[str, Any]:
            b = example("pending")
            del b["client"]
            b.update(
                client_id=fam.visible,
                household_id=fam.household_id,
                family_members=[{"client_id": member, "enroll": enroll}],
            )
            return b

        before = await counts(db)
        hidden = await client.post(INTAKES, json=body(fam.hidden), headers=ap1)
        problem = assert_problem(hidden, 422, "validation-error")
        assert problem["errors"][0]["loc"] == ["body", "family_members", "0", "client_id"]
        _same_answer(hidden, await client.post(INTAKES, json=body(str(uuid.uuid4())), headers=ap1))
        assert await counts(db) == before


async def test_household_member_add_of_hidden_member_answers_like_missing(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    fam = await hidden_family(client, auth, db)
    ap1 = await auth.headers("case_manager", org="access_point_1")
    url = f"/api/v1/households/{fam.household_id}/members"
    # Already a member, but not visible: the same 422 as an unknown id (not 409).
    hidden = await client.post(
        url, json={"client_id": fam.hidden, "relationship_to_hoh": 2}, headers=ap1
    )
    assert_problem(hidden, 422, "validation-error")
    missing = await client.post(
        url, json={"client_id": str(uuid.uuid4()), "relationship_to_hoh": 2}, headers=ap1
    )
    _same_answer(hidden, missing)


# --- household reads -----------------------------------------------------------------------------


async def test_household_enrollments_leave_out_hidden_members(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    fam = await hidden_family(client, auth, db)
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    r = await client.post(
        ENROLLMENTS,
        json={
            "client_id": fam.visible,
            "project_id": str(world.project_id("ap2_shelter")),
            "household_id": fam.household_id,
            "family_members": [{"client_id": fam.visible2}, {"client_id": fam.hidden}],
        },
        headers=ap2,
    )
    assert r.status_code == 201, r.text
    head_id = r.json()["id"]
    mine = await client.get(f"{ENROLLMENTS}/{head_id}/household", headers=ap2)
    assert {e["client_id"] for e in mine.json()} == {fam.visible, fam.visible2, fam.hidden}
    ap1 = await auth.headers("case_manager", org="access_point_1")
    theirs = await client.get(f"{ENROLLMENTS}/{head_id}/household", headers=ap1)
    assert theirs.status_code == 200, theirs.text
    assert {e["client_id"] for e in theirs.json()} == {fam.visible, fam.visible2}
    assert fam.hidden not in theirs.text
    hidden_enrollment = next(
        str(e["id"])
        for e in await rows(
            db,
            "SELECT id FROM enrollments WHERE client_id = :c",
            c=uuid.UUID(fam.hidden),
        )
    )
    assert hidden_enrollment not in theirs.text


async def test_queue_entry_of_a_hidden_head_is_left_out(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    """A member the caller sees, whose head of household it does not: the household's queue
    entry (which names the head) is not shown on the member's enrollment."""
    ap1 = await auth.headers("case_manager", org="access_point_1")
    body = example("placed")
    body["family_members"] = [
        {
            "client": {"first_name": "Mika", "last_name": "Nguyen", "dob": "2015-03-03"},
            "relationship_to_hoh": 2,
        }
    ]
    r = await client.post(INTAKES, json=body, headers=ap1)
    assert r.status_code == 201, r.text
    intake = r.json()
    head = intake["enrollment"]
    member = next(e for e in intake["household_enrollments"] if e["id"] != head["id"])
    assert member["queue_entry"] is not None
    await give_roi(db, member["client_id"])
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    r = await client.get(f"{ENROLLMENTS}/{member['id']}", headers=ap2)
    assert r.status_code == 200, r.text
    assert r.json()["queue_entry"] is None
    assert intake["client"]["id"] not in r.text
    listed = await client.get(f"/api/v1/clients/{member['client_id']}/enrollments", headers=ap2)
    assert [e["queue_entry"] for e in listed.json()["items"]] == [None]
    # The head's side (access point 1) still sees it.
    r = await client.get(f"{ENROLLMENTS}/{member['id']}", headers=ap1)
    assert r.json()["queue_entry"]["head_client_id"] == intake["client"]["id"]
