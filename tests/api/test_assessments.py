"""Update assessments: CLS required, outcome transitions, refused on an exited enrollment."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx

from tests.conftest import Auth, assert_problem
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, counts, example, rows, today


async def _pending(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    r = await client.post(INTAKES, json=example("pending"), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _update(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "assessment_date": today().isoformat(),
        "current_living_situation": {
            "current_living_situation": 101,
            "verified_by": "Downtown Night Shelter",
        },
    }
    body.update(changes)
    return body


async def test_pending_to_placed(client: httpx.AsyncClient, auth: Auth, db: Any) -> None:
    headers = await auth.headers("case_manager", org="cas")
    intake = await _pending(client, headers)
    enrollment_id = intake["enrollment"]["id"]
    url = f"/api/v1/enrollments/{enrollment_id}/assessments"
    r = await client.post(
        url,
        json=_update(
            ready_for_outcome=True,
            diverted=False,
            area_ties=[{"tie_date": "2020-01-01", "area": "coc_area", "how": "family"}],
            housing_needs=example("placed")["housing_needs"],
        ),
        headers={**headers, "If-Match": f'"{intake["enrollment"]["version"]}"'},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["assessment"]["outcome_before"] == "pending"
    assert body["assessment"]["outcome"] == "placed"
    assert body["assessment"]["data_collection_stage"] == 2
    assert body["enrollment"]["outcome"] == "placed"
    assert body["queue_entry"]["intake_status"] == "pending"
    e = uuid.UUID(enrollment_id)
    # The pending intake was assessed and not placed (4.19.7 = 2); placing records 1, and the
    # diversion attempt that did not divert is the 4.20 event 2 with result 0.
    ce = await rows(db, "SELECT * FROM ce_assessments WHERE enrollment_id = :e", e=e)
    by_pass = {c["assessment_id"]: c["prioritization_status"] for c in ce}
    assert by_pass == {
        uuid.UUID(intake["assessment_id"]): 2,
        uuid.UUID(body["assessment"]["id"]): 1,
    }
    [event] = await rows(db, "SELECT * FROM ce_events WHERE enrollment_id = :e", e=e)
    assert (event["event"], event["prob_sol_div_rr_result"]) == (2, 0)
    cls = await rows(
        db,
        "SELECT * FROM current_living_situations WHERE enrollment_id = :e "
        "ORDER BY current_living_situation",
        e=e,
    )
    assert [c["current_living_situation"] for c in cls] == [101, 116]
    assert cls[0]["verified_by"] == "Downtown Night Shelter"
    assert len(await rows(db, "SELECT id FROM area_ties WHERE enrollment_id = :e", e=e)) == 1
    # A placed household stays placed; a further update neither re-queues nor diverts.
    again = await client.post(url, json=_update(), headers={**headers, **ANY_VERSION})
    assert again.status_code == 201, again.text
    assert again.json()["queue_entry"]["id"] == body["queue_entry"]["id"]
    assert (
        len(await rows(db, "SELECT id FROM queue_entries WHERE head_enrollment_id = :e", e=e)) == 1
    )
    before = await counts(db)
    diverted = await client.post(
        url,
        json=_update(
            ready_for_outcome=True, diverted=True, diversion=example("diverted")["diversion"]
        ),
        headers={**headers, **ANY_VERSION},
    )
    problem = assert_problem(diverted, 409, "transition-not-allowed")
    assert problem["errors"][0]["loc"] == ["body", "diverted"]
    assert (problem["current"], problem["allowed"]) == ("placed", ["placed"])
    assert await counts(db) == before


async def test_pending_to_diverted(client: httpx.AsyncClient, auth: Auth, db: Any) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await _pending(client, headers)
    enrollment_id = intake["enrollment"]["id"]
    diversion = example("diverted")["diversion"]
    r = await client.post(
        f"/api/v1/enrollments/{enrollment_id}/assessments",
        json=_update(ready_for_outcome=True, diverted=True, diversion=diversion),
        headers={**headers, **ANY_VERSION},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["enrollment"]["outcome"] == "diverted"
    assert body["enrollment"]["exit_date"] == today().isoformat()
    assert body["exit"]["exit_reason"] == "successfully_diverted"
    assert body["queue_entry"] is None
    e = uuid.UUID(enrollment_id)
    [event] = await rows(db, "SELECT * FROM ce_events WHERE enrollment_id = :e", e=e)
    assert (event["event"], event["prob_sol_div_rr_result"]) == (2, 1)
    assert {
        a["status"]
        for a in await rows(db, "SELECT status FROM case_assignments WHERE enrollment_id = :e", e=e)
    } == {"inactive"}


async def test_update_refused_on_exited_enrollment(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(INTAKES, json=example("diverted"), headers=headers)
    assert r.status_code == 201, r.text
    before = await counts(db)
    r = await client.post(
        f"/api/v1/enrollments/{r.json()['enrollment']['id']}/assessments",
        json=_update(),
        headers={**headers, **ANY_VERSION},
    )
    problem = assert_problem(r, 409)
    assert problem["errors"][0]["loc"] == ["path", "enrollment_id"]
    assert await counts(db) == before


async def test_update_rules(client: httpx.AsyncClient, auth: Auth, db: Any) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await _pending(client, headers)
    url = f"/api/v1/enrollments/{intake['enrollment']['id']}/assessments"
    before = await counts(db)
    missing_cls = _update()
    del missing_cls["current_living_situation"]
    problem = assert_problem(
        await client.post(url, json=missing_cls, headers={**headers, **ANY_VERSION}), 422
    )
    assert problem["errors"][0]["loc"] == ["body", "current_living_situation"]
    bad_cls = _update(current_living_situation={"current_living_situation": 312})
    problem = assert_problem(
        await client.post(url, json=bad_cls, headers={**headers, **ANY_VERSION}), 422
    )
    assert problem["errors"][0]["loc"] == [
        "body",
        "current_living_situation",
        "current_living_situation",
    ]
    vash = _update(
        ready_for_outcome=True,
        diverted=False,
        housing_needs={**example("placed")["housing_needs"], "hud_vash_eligible": 0},
    )
    problem = assert_problem(
        await client.post(url, json=vash, headers={**headers, **ANY_VERSION}), 422
    )
    assert problem["errors"][0]["loc"] == ["body", "housing_needs", "hud_vash_eligible"]
    stale = await client.post(url, json=_update(), headers={**headers, "If-Match": '"999"'})
    assert_problem(stale, 412)
    assert await counts(db) == before


async def test_latest_values_prefill(client: httpx.AsyncClient, auth: Auth) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(INTAKES, json=example("placed"), headers=headers)
    assert r.status_code == 201, r.text
    enrollment_id = r.json()["enrollment"]["id"]
    latest = await client.get(f"/api/v1/enrollments/{enrollment_id}/latest-values", headers=headers)
    assert latest.status_code == 200, latest.text
    body = latest.json()
    assert body["current_living_situation"]["current_living_situation"] == 116
    assert body["prior_living_situation"]["living_situation"] == 116
    assert body["housing_needs"]["behavioral_health_interest"] == 1
    assert {b["disability_type"] for b in body["barriers"]} == {5, 6, 7, 8, 9, 10}
    assert body["area_ties"][0]["area"] == "coc_area"
    assert body["last_assessment"]["data_collection_stage"] == 1
    assert body["disabling_condition"] == 1
    listed = await client.get(f"/api/v1/enrollments/{enrollment_id}/assessments", headers=headers)
    [entry] = listed.json()["items"]
    got = await client.get(
        f"/api/v1/enrollments/{enrollment_id}/assessments/{entry['id']}", headers=headers
    )
    assert got.json()["outcome"] == "placed"


async def test_reassessment_of_a_placed_household_and_outcome_audit(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    headers = await auth.headers("case_manager", org="cas")
    intake = await _pending(client, headers)
    e = uuid.UUID(intake["enrollment"]["id"])
    url = f"/api/v1/enrollments/{e}/assessments"
    placed = await client.post(
        url,
        json=_update(
            ready_for_outcome=True, diverted=False, housing_needs=example("placed")["housing_needs"]
        ),
        headers={**headers, **ANY_VERSION},
    )
    assert placed.status_code == 201, placed.text
    [audit] = await rows(
        db,
        "SELECT changes FROM audit_events WHERE entity_id = :e AND action = 'enrollment.update'",
        e=e,
    )
    assert audit["changes"]["outcome"] == {"old": "pending", "new": "placed"}
    # A re-assessment (ce_assessment given) records another 4.19 without re-queueing.
    again = await client.post(
        url, json=_update(ce_assessment={"assessment_type": 1}), headers={**headers, **ANY_VERSION}
    )
    assert again.status_code == 201, again.text
    ce = await rows(
        db,
        "SELECT assessment_type, prioritization_status FROM ce_assessments "
        "WHERE enrollment_id = :e",
        e=e,
    )
    # (The pending intake's own 4.19 is the one with PrioritizationStatus 2.)
    assert sorted((c["assessment_type"], c["prioritization_status"]) for c in ce) == [
        (1, 1),
        (3, 1),
        (3, 2),
    ]
    assert (
        len(await rows(db, "SELECT id FROM queue_entries WHERE head_enrollment_id = :e", e=e)) == 1
    )
    # Pending stays pending without an outcome; a placed household cannot go back to pending.
    assert again.json()["enrollment"]["outcome"] == "placed"


async def test_update_assessment_dates(client: httpx.AsyncClient, auth: Auth, db: Any) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await _pending(client, headers)
    url = f"/api/v1/enrollments/{intake['enrollment']['id']}/assessments"
    before = await counts(db)
    for body, loc in (
        (_update(assessment_date="2020-01-01"), ["assessment_date"]),
        (_update(assessment_date=(today() + timedelta(days=1)).isoformat()), ["assessment_date"]),
        (
            _update(
                current_living_situation={
                    "current_living_situation": 116,
                    "information_date": (today() + timedelta(days=1)).isoformat(),
                }
            ),
            ["current_living_situation", "information_date"],
        ),
    ):
        r = await client.post(url, json=body, headers={**headers, **ANY_VERSION})
        assert assert_problem(r, 422)["errors"][0]["loc"] == ["body", *loc], body
    assert await counts(db) == before
    pending = await client.post(url, json=_update(), headers={**headers, **ANY_VERSION})
    assert pending.status_code == 201, pending.text
    assert pending.json()["assessment"]["outcome"] == "pending"
    assert pending.json()["queue_entry"] is None
