"""Who may touch an enrollment: client ids in bodies go through visibility (a hidden client
answers like a missing one), writes need a named right (``can_write_enrollment``), and household
reads leave out the members the caller may not see."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Auth, World, assert_problem
from tests.support.access import (
    enroll_head_at_access_point_1,
    give_roi,
    hidden_family,
    new_client,
)
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, counts, example, rows, today

ENROLLMENTS = "/api/v1/enrollments"
# HUD 3.917 is collected for the head of household (and adults) at every entry.
PRIOR = {"living_situation": 99}


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
            "prior_living_situation": PRIOR,
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
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    fam = await hidden_family(client, auth, db)
    ap1 = await auth.headers("case_manager", org="access_point_1")
    url = f"/api/v1/households/{fam.household_id}/members"
    # Seeing the head through its ROI is no right to change the household.
    r = await client.post(
        url,
        json={"client_id": fam.hidden, "relationship_to_hoh": 2},
        headers={**ap1, **ANY_VERSION},
    )
    assert_problem(r, 403, "household-not-writable")
    await enroll_head_at_access_point_1(client, auth, world.project_id("ap1_outreach"), fam)
    # Already a member, but not visible: the same 422 as an unknown id (not 409).
    hidden = await client.post(
        url,
        json={"client_id": fam.hidden, "relationship_to_hoh": 2},
        headers={**ap1, **ANY_VERSION},
    )
    assert_problem(hidden, 422, "validation-error")
    missing = await client.post(
        url,
        json={"client_id": str(uuid.uuid4()), "relationship_to_hoh": 2},
        headers={**ap1, **ANY_VERSION},
    )
    _same_answer(hidden, missing)


# --- writing enrollments and their records -------------------------------------------------------


async def _ap1_intake(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, name: str = "pending"
) -> dict[str, Any]:
    """An intake by access point 1 whose client then gets an ROI (every agency sees it)."""
    ap1 = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(INTAKES, json=example(name), headers=ap1)
    assert r.status_code == 201, r.text
    intake: dict[str, Any] = r.json()
    await give_roi(db, intake["client"]["id"])
    return intake


async def _snapshot(db: AsyncSession, enrollment_id: str) -> tuple[Any, ...]:
    row = await rows(db, "SELECT * FROM enrollments WHERE id = :id", id=uuid.UUID(enrollment_id))
    audit = await db.scalar(text("SELECT count(*) FROM audit_events WHERE action NOT LIKE 'pii.%'"))
    return row[0], await counts(db), audit


async def test_roi_caller_sees_but_may_not_write_another_agencys_enrollment(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    intake = await _ap1_intake(client, auth, db)
    eid = intake["enrollment"]["id"]
    url = f"{ENROLLMENTS}/{eid}"
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    # Reading follows client visibility (the ROI).
    assert (await client.get(url, headers=ap2)).status_code == 200
    before = await _snapshot(db, eid)
    writes = [
        ("PATCH", url, {"disabling_condition": 99}),
        ("POST", f"{url}/case-notes", {"note_date": today().isoformat(), "note": "Visited."}),
        (
            "POST",
            f"{url}/exit",
            {
                "exit_date": today().isoformat(),
                "destination": 410,
                "exit_reason": "left_coc_area",
            },
        ),
        ("POST", f"{url}/current-living-situations", {"current_living_situation": 116}),
    ]
    for method, target, body in writes:
        r = await client.request(method, target, json=body, headers=ap2)
        problem = assert_problem(r, 403, "enrollment-not-writable")
        assert "enrollment" in problem["detail"]
    assert await _snapshot(db, eid) == before


async def test_writers_of_an_enrollment(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    """The access point that did the intake, the CAS organization (CE project), admins, and an
    organization with an active case assignment may write; another agency's ROI caller may not
    until one of its users is assigned."""
    intake = await _ap1_intake(client, auth, db)
    eid = intake["enrollment"]["id"]
    notes = f"{ENROLLMENTS}/{eid}/case-notes"
    note = {"note_date": today().isoformat(), "note": "Checked in."}
    for user, org in (
        ("case_manager", "access_point_1"),
        ("case_manager", "cas"),
        ("cas_admin", "cas"),
        ("system_admin", "hmis_lead"),
    ):
        r = await client.post(notes, json=note, headers=await auth.headers(user, org=org))
        assert r.status_code == 201, (user, org, r.text)
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    assert_problem(await client.post(notes, json=note, headers=ap2), 403)
    # Access point 1 assigns a case manager acting for access point 2 ... refused: the case
    # manager must belong to the acting or the project's organization. The CAS organization
    # (the project's) may assign its own user; access point 2 gains nothing from that.
    cas = await auth.headers("case_manager", org="cas")
    r = await client.post(
        f"{ENROLLMENTS}/{eid}/case-assignments",
        json={"user_id": str(world.user_id("case_manager2"))},
        headers=cas,
    )
    assert_problem(r, 422)
    # An active case assignment made while acting for access point 2 gives it the write right.
    await db.execute(
        text(
            "INSERT INTO case_assignments (id, enrollment_id, client_id, user_id, organization_id,"
            " start_date, status, version, created_at, updated_at) VALUES (:id, :e, :c, :u, :o,"
            " :d, 'active', 1, now(), now())"
        ),
        {
            "id": uuid.uuid4(),
            "e": uuid.UUID(eid),
            "c": uuid.UUID(intake["client"]["id"]),
            "u": world.user_id("case_manager2"),
            "o": world.org_id("access_point_2"),
            "d": today(),
        },
    )
    await db.flush()
    assert (await client.post(notes, json=note, headers=ap2)).status_code == 201


async def test_project_organization_writes_its_enrollment(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    """An enrollment into access point 1's project made by an admin (who is also its case
    manager): access point 1 may write it as the project's organization, access point 2 may
    not."""
    ap1 = await auth.headers("case_manager", org="access_point_1")
    person = await new_client(client, ap1, "Pat", "Quinlan")
    await give_roi(db, person)
    admin = await auth.headers("system_admin", org="hmis_lead")
    r = await client.post(
        ENROLLMENTS,
        json={
            "client_id": person,
            "project_id": str(world.project_id("ap1_outreach")),
            "prior_living_situation": PRIOR,
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    assert r.json()["case_assignments"][0]["organization_id"] == str(world.org_id("hmis_lead"))
    patch = {"disabling_condition": 0}
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    assert_problem(
        await client.patch(f"{ENROLLMENTS}/{eid}", json=patch, headers={**ap2, **ANY_VERSION}), 403
    )
    r = await client.patch(f"{ENROLLMENTS}/{eid}", json=patch, headers={**ap1, **ANY_VERSION})
    assert r.status_code == 200, r.text
    assert r.json()["disabling_condition"] == 0


async def test_head_exit_leaves_members_the_caller_may_not_write_open(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    fam = await hidden_family(client, auth, db)
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    # Access point 2 enrolls the whole household into its shelter.
    r = await client.post(
        ENROLLMENTS,
        json={
            "client_id": fam.visible,
            "project_id": str(world.project_id("ap2_shelter")),
            "household_id": fam.household_id,
            "family_members": [{"client_id": fam.visible2}, {"client_id": fam.hidden}],
            "prior_living_situation": PRIOR,
        },
        headers=ap2,
    )
    assert r.status_code == 201, r.text
    head_id = r.json()["id"]
    group = {
        str(e["client_id"]): str(e["id"])
        for e in await rows(
            db,
            "SELECT id, client_id FROM enrollments WHERE household_group_id = :g",
            g=uuid.UUID(head_id),
        )
    }
    # An admin of the CoC exits the head: everyone goes (the admin may write all of them).
    # A writer of the head that may not write a member: the member stays open.
    await db.execute(
        text("UPDATE enrollments SET created_by_organization_id = :o WHERE id = :id"),
        {"o": world.org_id("access_point_1"), "id": uuid.UUID(head_id)},
    )
    await db.flush()
    ap1 = await auth.headers("case_manager", org="access_point_1")
    # Moving the head's entry moves only the members the caller may write.
    yesterday = today() - timedelta(days=1)
    r = await client.patch(
        f"{ENROLLMENTS}/{head_id}",
        json={"entry_date": yesterday.isoformat()},
        headers={**ap1, **ANY_VERSION},
    )
    assert r.status_code == 200, r.text
    entries = {
        str(e["client_id"]): e["entry_date"]
        for e in await rows(
            db,
            "SELECT client_id, entry_date FROM enrollments WHERE household_group_id = :g",
            g=uuid.UUID(head_id),
        )
    }
    assert entries == {fam.visible: yesterday, fam.visible2: today(), fam.hidden: today()}
    r = await client.post(
        f"{ENROLLMENTS}/{head_id}/exit",
        json={
            "exit_date": today().isoformat(),
            "destination": 410,
            "exit_reason": "left_coc_area",
        },
        headers={**ap1, **ANY_VERSION},
    )
    assert r.status_code == 201, r.text
    exited = {
        str(e["client_id"]): e["exit_date"]
        for e in await rows(
            db,
            "SELECT client_id, exit_date FROM enrollments WHERE household_group_id = :g",
            g=uuid.UUID(head_id),
        )
    }
    assert exited[fam.visible] == today()
    assert exited[fam.visible2] is None and exited[fam.hidden] is None
    assert set(group) == set(exited)


async def test_update_assessment_reaches_only_writable_members(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    """A diversion recorded by a writer of the head who may not write the member: the head is
    exited, the member keeps its enrollment open, its outcome and gets no CLS."""
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    body = example("pending")
    body["family_members"] = [
        {
            "client": {"first_name": "Noa", "last_name": "Morgan", "dob": "2016-05-05"},
            "relationship_to_hoh": 2,
        }
    ]
    r = await client.post(INTAKES, json=body, headers=ap2)
    assert r.status_code == 201, r.text
    intake = r.json()
    head = intake["enrollment"]["id"]
    member = next(e["id"] for e in intake["household_enrollments"] if e["id"] != head)
    await give_roi(db, intake["client"]["id"])
    await db.execute(
        text("UPDATE enrollments SET created_by_organization_id = :o WHERE id = :id"),
        {"o": world.org_id("access_point_1"), "id": uuid.UUID(head)},
    )
    await db.flush()

    async def cls_count(enrollment_id: str) -> int:
        return int(
            await db.scalar(
                text("SELECT count(*) FROM current_living_situations WHERE enrollment_id = :e"),
                {"e": uuid.UUID(enrollment_id)},
            )
            or 0
        )

    member_cls = await cls_count(member)
    diverted = example("diverted")
    ap1 = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(
        f"{ENROLLMENTS}/{head}/assessments",
        json={
            "assessment_date": today().isoformat(),
            "current_living_situation": {"current_living_situation": 116},
            "ready_for_outcome": True,
            "diverted": True,
            "diversion": diverted["diversion"],
        },
        headers={**ap1, **ANY_VERSION},
    )
    assert r.status_code == 201, r.text
    state = {
        str(e["id"]): (e["outcome"], e["exit_date"])
        for e in await rows(
            db,
            "SELECT id, outcome, exit_date FROM enrollments WHERE household_group_id = :g",
            g=uuid.UUID(head),
        )
    }
    assert state == {head: ("diverted", today()), member: ("pending", None)}
    assert await cls_count(member) == member_cls
    # On the member's enrollment, a writer of the member who may not write the head (where the
    # household's assessment is kept) is refused.
    member_client = next(
        e["client_id"] for e in intake["household_enrollments"] if e["id"] == member
    )
    await give_roi(db, member_client)
    await db.execute(
        text("UPDATE enrollments SET created_by_organization_id = :o WHERE id = :id"),
        {"o": world.org_id("access_point_1"), "id": uuid.UUID(member)},
    )
    await db.execute(
        text("UPDATE enrollments SET created_by_organization_id = :o WHERE id = :id"),
        {"o": world.org_id("access_point_2"), "id": uuid.UUID(head)},
    )
    await db.flush()
    before = await counts(db)
    r = await client.post(
        f"{ENROLLMENTS}/{member}/assessments",
        json={
            "assessment_date": today().isoformat(),
            "current_living_situation": {"current_living_situation": 116},
        },
        headers={**ap1, **ANY_VERSION},
    )
    assert_problem(r, 403, "enrollment-not-writable")
    assert await counts(db) == before


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
            "prior_living_situation": PRIOR,
        },
        headers=ap2,
    )
    assert r.status_code == 201, r.text
    head_id = r.json()["id"]
    mine = await client.get(f"{ENROLLMENTS}/{head_id}/household", headers=ap2)
    assert {e["client_id"] for e in mine.json()["items"]} == {fam.visible, fam.visible2, fam.hidden}
    ap1 = await auth.headers("case_manager", org="access_point_1")
    theirs = await client.get(f"{ENROLLMENTS}/{head_id}/household", headers=ap1)
    assert theirs.status_code == 200, theirs.text
    assert {e["client_id"] for e in theirs.json()["items"]} == {fam.visible, fam.visible2}
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


async def test_workflow_passes_of_a_hidden_head_are_left_out(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    """The household's workflow passes belong to the head's enrollment: a caller who sees a
    member but not the head gets none of them (no head enrollment id, no outcome history)."""
    ap1 = await auth.headers("case_manager", org="access_point_1")
    body = example("placed")
    body["family_members"] = [
        {
            "client": {"first_name": "Lio", "last_name": "Nguyen", "dob": "2016-04-04"},
            "relationship_to_hoh": 2,
        }
    ]
    r = await client.post(INTAKES, json=body, headers=ap1)
    assert r.status_code == 201, r.text
    intake = r.json()
    head = intake["enrollment"]
    member = next(e for e in intake["household_enrollments"] if e["id"] != head["id"])
    await give_roi(db, member["client_id"])
    url = f"{ENROLLMENTS}/{member['id']}/assessments"
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    r = await client.get(url, headers=ap2)
    assert r.status_code == 200, r.text
    assert r.json() == {"items": [], "next_cursor": None}
    assert_problem(
        await client.get(f"{url}/{intake['assessment_id']}", headers=ap2), 404, "not-found"
    )
    # Access point 1 sees the head: the intake's pass is listed.
    r = await client.get(url, headers=ap1)
    assert [a["id"] for a in r.json()["items"]] == [intake["assessment_id"]]
    assert (await client.get(f"{url}/{intake['assessment_id']}", headers=ap1)).status_code == 200
