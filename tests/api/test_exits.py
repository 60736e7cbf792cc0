"""Exit from Coordinated Entry: closes the queue entry, ends case assignments; date and
destination rules."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx

from tests.conftest import Auth, assert_problem
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, counts, example, rows, today


async def _placed(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    r = await client.post(INTAKES, json=example("placed"), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_exit_closes_queue_entry_and_ends_assignments(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await _placed(client, headers)
    enrollment = intake["enrollment"]
    r = await client.post(
        f"/api/v1/enrollments/{enrollment['id']}/exit",
        json={
            "exit_date": today().isoformat(),
            "destination": 435,
            "destination_subsidy_type": 439,
            "exit_reason": "enrolled_in_permanent_housing",
            # HUD 4.12.B is asked (and required) for 435.
            "current_living_situation": {
                "current_living_situation": 435,
                "cls_subsidy_type": 439,
                "leave_situation_14_days": 0,
            },
        },
        headers={**headers, "If-Match": f'"{enrollment["version"]}"'},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["exit_date"] == today().isoformat()
    assert body["exit"]["destination"] == 435
    assert body["queue_entry"]["closed_reason"] == "exited"
    assert body["queue_entry"]["closed_at"] is not None
    e = uuid.UUID(enrollment["id"])
    [q] = await rows(db, "SELECT * FROM queue_entries WHERE head_enrollment_id = :e", e=e)
    assert q["closed_at"] is not None
    [a] = await rows(db, "SELECT * FROM case_assignments WHERE enrollment_id = :e", e=e)
    assert (a["status"], a["end_date"]) == ("inactive", today())
    [x] = await rows(db, "SELECT * FROM exits WHERE enrollment_id = :e", e=e)
    assert x["exit_reason"] == "enrolled_in_permanent_housing"
    assert x["destination_subsidy_type"] == 439
    cls = await rows(
        db,
        "SELECT current_living_situation FROM current_living_situations WHERE enrollment_id = :e",
        e=e,
    )
    assert sorted(c["current_living_situation"] for c in cls) == [116, 435]
    # A new intake is possible once exited.
    again = example("pending")
    del again["client"]
    again["client_id"] = intake["client"]["id"]
    assert (await client.post(INTAKES, json=again, headers=headers)).status_code == 201
    # Exiting again: 409.
    before = await counts(db)
    r = await client.post(
        f"/api/v1/enrollments/{enrollment['id']}/exit",
        json={"exit_date": today().isoformat(), "destination": 410, "exit_reason": "left_coc_area"},
        headers={**headers, **ANY_VERSION},
    )
    assert_problem(r, 409)
    assert await counts(db) == before


async def test_exit_rules(client: httpx.AsyncClient, auth: Auth, db: Any) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await _placed(client, headers)
    url = f"/api/v1/enrollments/{intake['enrollment']['id']}/exit"
    good = {"exit_date": today().isoformat(), "destination": 410, "exit_reason": "left_coc_area"}
    cases = [
        ({"exit_date": (today() - timedelta(days=3)).isoformat()}, ["exit_date"]),
        ({"exit_date": (today() + timedelta(days=1)).isoformat()}, ["exit_date"]),
        ({"destination": 335}, ["destination"]),
        ({"destination": 37}, ["destination"]),
        ({"destination": 435}, ["destination_subsidy_type"]),
        ({"destination_subsidy_type": 419}, ["destination_subsidy_type"]),
        ({"other_destination": "Boat"}, ["other_destination"]),
        ({"exit_reason": "bored"}, ["exit_reason"]),
        (
            {"current_living_situation": {"current_living_situation": 422}},
            ["current_living_situation", "current_living_situation"],
        ),
    ]
    before = await counts(db)
    for change, loc in cases:
        r = await client.post(url, json={**good, **change}, headers={**headers, **ANY_VERSION})
        problem = assert_problem(r, 422)
        assert problem["errors"][0]["loc"] == ["body", *loc], (change, problem)
    stale = await client.post(url, json=good, headers={**headers, "If-Match": '"0"'})
    assert_problem(stale, 412)
    assert await counts(db) == before


async def test_head_exit_takes_household_members_along(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    body = example("diverted", ready_for_outcome=False, diverted=None)
    del body["diversion"]
    r = await client.post(INTAKES, json=body, headers=headers)
    assert r.status_code == 201, r.text
    ids = [uuid.UUID(e["id"]) for e in r.json()["household_enrollments"]]
    head = next(e for e in r.json()["household_enrollments"] if e["relationship_to_hoh"] == 1)
    r = await client.post(
        f"/api/v1/enrollments/{head['id']}/exit",
        json={
            "exit_date": today().isoformat(),
            "destination": 410,
            "exit_reason": "no_longer_needs_permanent_housing",
        },
        headers={**headers, **ANY_VERSION},
    )
    assert r.status_code == 201, r.text
    exited = await rows(db, "SELECT exit_date FROM enrollments WHERE id = ANY(:ids)", ids=ids)
    assert {e["exit_date"] for e in exited} == {today()}


async def test_exit_is_audited_and_its_cls_stays_inside_the_stay(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await client.post(
        INTAKES,
        json=example("placed", entry_date=(today() - timedelta(days=4)).isoformat()),
        headers=headers,
    )
    assert intake.status_code == 201, intake.text
    enrollment = intake.json()["enrollment"]
    url = f"/api/v1/enrollments/{enrollment['id']}/exit"
    exit_day = today() - timedelta(days=2)
    good = {
        "exit_date": exit_day.isoformat(),
        "destination": 17,
        "exit_reason": "left_coc_area",
        "other_destination": "Moved in with a friend out of state",
    }
    before = await counts(db)
    late_cls = {
        **good,
        "current_living_situation": {
            "current_living_situation": 116,
            "information_date": today().isoformat(),
        },
    }
    problem = assert_problem(
        await client.post(url, json=late_cls, headers={**headers, **ANY_VERSION}), 422
    )
    assert problem["errors"][0]["loc"] == ["body", "current_living_situation", "information_date"]
    assert await counts(db) == before
    r = await client.post(url, json=good, headers={**headers, **ANY_VERSION})
    assert r.status_code == 201, r.text
    assert r.json()["exit"]["other_destination"] == "Moved in with a friend out of state"
    queue_id = uuid.UUID(r.json()["queue_entry"]["id"])
    assignment_id = uuid.UUID(enrollment["case_assignments"][0]["id"])
    actions = {
        (a["action"], a["entity_id"])
        for a in await rows(
            db,
            "SELECT action, entity_id FROM audit_events WHERE entity_id = ANY(:ids)",
            ids=[queue_id, assignment_id, uuid.UUID(enrollment["id"])],
        )
    }
    assert {
        ("queue_entry.close", queue_id),
        ("case_assignment.end", assignment_id),
        ("enrollment.exit", uuid.UUID(enrollment["id"])),
    } <= actions
    [a] = await rows(db, "SELECT end_date FROM case_assignments WHERE id = :a", a=assignment_id)
    assert a["end_date"] == exit_day
