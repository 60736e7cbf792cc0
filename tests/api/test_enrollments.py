"""Enrollments: reads, who may see and write them, editing the entry, case assignments,
individual CE records, inactivity."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import httpx
from sqlalchemy import text

from tests.conftest import Auth, World, assert_problem
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, counts, days_ago, example, rows, today


async def _intake(
    client: httpx.AsyncClient, headers: dict[str, str], name: str = "pending", **changes: Any
) -> dict[str, Any]:
    r = await client.post(INTAKES, json=example(name, **changes), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_get_enrollment_and_visibility(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    mine = await auth.headers("case_manager", org="access_point_1")
    intake = await _intake(client, mine)
    url = f"/api/v1/enrollments/{intake['enrollment']['id']}"
    r = await client.get(url, headers=mine)
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "pending"
    assert r.headers["etag"] == f'"{r.json()["version"]}"'
    # The CAS organization sees every CE client; another agency does not (404).
    assert (
        await client.get(url, headers=await auth.headers("case_manager", org="cas"))
    ).status_code == 200
    other = await auth.headers("case_manager2", org="access_point_2")
    assert_problem(await client.get(url, headers=other), 404)
    assert_problem(
        await client.post(
            f"{url}/assessments",
            json={
                "assessment_date": today().isoformat(),
                "current_living_situation": {"current_living_situation": 116},
            },
            headers={**other, **ANY_VERSION},
        ),
        404,
    )
    assert_problem(
        await client.get(url, headers=await auth.headers("system_admin", coc="other")), 404
    )
    # Victim service providers are refused outright.
    vsp = await auth.headers("vsp_case_manager", org="vsp")
    assert_problem(await client.get(url, headers=vsp), 403, "victim-service-provider")
    assert_problem(
        await client.post(INTAKES, json=example("pending"), headers=vsp),
        403,
        "victim-service-provider",
    )
    listed = await client.get(f"/api/v1/clients/{intake['client']['id']}/enrollments", headers=mine)
    assert [e["id"] for e in listed.json()["items"]] == [intake["enrollment"]["id"]]


async def test_housing_provider_may_not_do_intakes(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    headers = await auth.headers("housing_provider", org="housing_1")
    before = await counts(db)
    assert_problem(await client.post(INTAKES, json=example("placed"), headers=headers), 403)
    assert await counts(db) == before


async def test_edit_entry_date_moves_entry_stage_records(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await _intake(client, headers, "placed", entry_date=days_ago(2))
    enrollment = intake["enrollment"]
    e = uuid.UUID(enrollment["id"])
    new_date = today() - timedelta(days=5)
    r = await client.patch(
        f"/api/v1/enrollments/{enrollment['id']}",
        json={"entry_date": new_date.isoformat(), "disabling_condition": 1},
        headers={**headers, "If-Match": f'"{enrollment["version"]}"'},
    )
    assert r.status_code == 200, r.text
    assert r.json()["entry_date"] == new_date.isoformat()
    checks = {
        "enrollment_assessments": "assessment_date",
        "current_living_situations": "information_date",
        "disabilities": "information_date",
        "diversion_assessments": "assessment_date",
        "housing_needs_assessments": "assessment_date",
        "ce_assessments": "assessment_date",
        "case_assignments": "start_date",
    }
    for table, column in checks.items():
        found = await rows(db, f"SELECT {column} AS d FROM {table} WHERE enrollment_id = :e", e=e)
        assert found and {f["d"] for f in found} == {new_date}, table
    stale = await client.patch(
        f"/api/v1/enrollments/{enrollment['id']}",
        json={"entry_date": today().isoformat()},
        headers={**headers, "If-Match": f'"{enrollment["version"]}"'},
    )
    assert_problem(stale, 412)
    future = await client.patch(
        f"/api/v1/enrollments/{enrollment['id']}",
        json={"entry_date": days_ago(-1)},
        headers={**headers, **ANY_VERSION},
    )
    assert assert_problem(future, 422)["errors"][0]["loc"] == ["body", "entry_date"]


async def test_entry_cannot_move_after_exit(client: httpx.AsyncClient, auth: Auth) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    body = example("diverted", entry_date=days_ago(3))
    body["diversion"]["exit_date"] = days_ago(2)
    r = await client.post(INTAKES, json=body, headers=headers)
    assert r.status_code == 201, r.text
    r = await client.patch(
        f"/api/v1/enrollments/{r.json()['enrollment']['id']}",
        json={"entry_date": days_ago(1)},
        headers={**headers, **ANY_VERSION},
    )
    assert assert_problem(r, 422)["errors"][0]["loc"] == ["body", "entry_date"]


async def test_reassign_case_manager(client: httpx.AsyncClient, auth: Auth, world: World) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await _intake(client, headers)
    enrollment_id = intake["enrollment"]["id"]
    first = intake["enrollment"]["case_assignments"][0]
    base = f"/api/v1/enrollments/{enrollment_id}/case-assignments"
    r = await client.post(
        base, json={"user_id": str(world.user_id("agency_admin"))}, headers=headers
    )
    assert r.status_code == 201, r.text
    dup = await client.post(
        base, json={"user_id": str(world.user_id("agency_admin"))}, headers=headers
    )
    assert_problem(dup, 409)
    ended = await client.post(f"{base}/{first['id']}/end", json={}, headers=headers)
    assert ended.status_code == 200, ended.text
    assert ended.json()["status"] == "inactive"
    url = f"/api/v1/clients/{intake['client']['id']}/case-assignments"
    active = await client.get(url, params={"status": "active"}, headers=headers)
    assert [a["user_id"] for a in active.json()["items"]] == [str(world.user_id("agency_admin"))]
    inactive = await client.get(url, params={"status": "inactive"}, headers=headers)
    assert [a["id"] for a in inactive.json()["items"]] == [first["id"]]
    outsider = await client.post(
        base, json={"user_id": str(world.user_id("housing_provider"))}, headers=headers
    )
    assert assert_problem(outsider, 422)["errors"][0]["loc"] == ["body", "user_id"]


async def test_individual_records(client: httpx.AsyncClient, auth: Auth, db: Any) -> None:
    headers = await auth.headers("case_manager", org="cas")
    intake = await _intake(client, headers)
    base = f"/api/v1/enrollments/{intake['enrollment']['id']}"
    d = today().isoformat()
    cls = await client.post(
        f"{base}/current-living-situations",
        json={
            "current_living_situation": 215,
            "leave_situation_14_days": 1,
            # HUD 4.12.C-F are all asked when 4.12.B is 1.
            "subsequent_residence": 0,
            "resources_to_obtain": 0,
            "lease_own_60_day": 0,
            "moved_two_or_more": 1,
            "verified_by": "County Foster Program",
        },
        headers=headers,
    )
    assert cls.status_code == 201, cls.text
    assert cls.json()["verified_by"] == "County Foster Program"
    bad = await client.post(
        f"{base}/current-living-situations",
        json={"current_living_situation": 116, "leave_situation_14_days": 1},
        headers=headers,
    )
    assert assert_problem(bad, 422)["errors"][0]["loc"] == ["body", "leave_situation_14_days"]
    service = await client.post(
        f"{base}/services",
        json={"service_type": "financial_assistance", "date_provided": d},
        headers=headers,
    )
    assert service.status_code == 201, service.text
    note = await client.post(
        f"{base}/case-notes",
        json={"note_date": d, "note": "Met at the library.", "service_id": service.json()["id"]},
        headers=headers,
    )
    assert note.status_code == 201, note.text
    event = await client.post(
        f"{base}/ce-events",
        json={"event_date": d, "event": 5, "referral_case_manage_after": 1},
        headers=headers,
    )
    assert event.status_code == 201, event.text
    wrong = await client.post(
        f"{base}/ce-events",
        json={"event_date": d, "event": 2, "referral_result": 1},
        headers=headers,
    )
    assert assert_problem(wrong, 422)["errors"][0]["loc"] == ["body", "referral_result"]
    ce = await client.post(
        f"{base}/ce-assessments",
        json={
            "assessment_date": d,
            "assessment_location": "Main office",
            "assessment_type": 3,
            "assessment_level": 1,
            "prioritization_status": 2,
        },
        headers=headers,
    )
    assert ce.status_code == 201, ce.text
    disabling = {
        "information_date": d,
        "barriers": [
            {"disability_type": 10, "disability_response": 3, "indefinite_and_impairs": 1}
        ],
    }
    refused = await client.post(f"{base}/disabilities", json=disabling, headers=headers)
    assert assert_problem(refused, 422)["errors"][0]["loc"] == ["body", "barriers"]
    disabling["barriers"][0]["indefinite_and_impairs"] = 0
    dis = await client.post(f"{base}/disabilities", json=disabling, headers=headers)
    assert dis.status_code == 201, dis.text
    div = await client.post(
        f"{base}/diversion-assessments", json={"assistance_needed": "Bus ticket"}, headers=headers
    )
    assert div.status_code == 201, div.text
    hna = await client.post(
        f"{base}/housing-needs-assessments",
        json={
            "sex_offender_registry": 0,
            "meth_manufacturing_conviction": 0,
            "behavioral_health_interest": 0,
            "violence_trauma_or_unsafe": 9,
        },
        headers=headers,
    )
    assert hna.status_code == 201, hna.text
    for path, expected in (
        ("current-living-situations", 2),
        ("services", 1),
        ("case-notes", 1),
        ("ce-events", 1),
        ("ce-assessments", 2),  # the pending intake's own 4.19 (PrioritizationStatus 2) too
        ("disabilities", 7),
        ("diversion-assessments", 2),
        ("housing-needs-assessments", 1),
    ):
        listed = await client.get(f"{base}/{path}", headers=headers)
        assert len(listed.json()["items"]) == expected, path
    audit = await rows(
        db,
        "SELECT action FROM audit_events WHERE action IN "
        "('service.create', 'case_note.create', 'ce_event.create')",
    )
    assert len(audit) >= 3


async def test_inactive_after_90_days_without_contact(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await _intake(client, headers)
    await db.execute(
        text("UPDATE clients SET last_contact_at = now() - interval '91 days' WHERE id = :c"),
        {"c": uuid.UUID(intake["client"]["id"])},
    )
    await db.flush()
    url = f"/api/v1/enrollments/{intake['enrollment']['id']}"
    r = await client.get(url, headers=headers)
    assert r.json()["inactive"] is True and r.json()["exit_date"] is None
    contact = await client.post(
        f"{url}/current-living-situations", json={"current_living_situation": 116}, headers=headers
    )
    assert contact.status_code == 201, contact.text
    assert (await client.get(url, headers=headers)).json()["inactive"] is False


async def test_create_enrollment_resource(
    client: httpx.AsyncClient, auth: Auth, world: World, db: Any
) -> None:
    """The enrollment step on its own: a CE enrollment (project found without an id)."""
    headers = await auth.headers("case_manager", org="access_point_1")
    diverted = await _intake(client, headers, "diverted")
    body = {
        "client_id": diverted["client"]["id"],
        "household_id": diverted["household_id"],
        "family_members": [
            {"client_id": e["client_id"]}
            for e in diverted["household_enrollments"]
            if e["client_id"] != diverted["client"]["id"]
        ],
        "relationship_to_hoh": 1,
        "disabling_condition": 0,
        # HUD 3.917 is collected for the head of household (and every adult) at entry.
        "prior_living_situation": {"living_situation": 99},
    }
    r = await client.post("/api/v1/enrollments", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["project_id"] == str(world.project_id("ce"))
    assert r.json()["outcome"] == "pending"
    household = await client.get(f"/api/v1/enrollments/{r.json()['id']}/household", headers=headers)
    assert len(household.json()["items"]) == 2
    before = await counts(db)
    again = await client.post("/api/v1/enrollments", json=body, headers=headers)
    assert assert_problem(again, 409)["enrollment_id"] == r.json()["id"]
    assert await counts(db) == before


async def test_ce_event_result_fields_belong_to_the_event_type(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    headers = await auth.headers("case_manager", org="cas")
    intake = await _intake(client, headers, entry_date=days_ago(5))
    url = f"/api/v1/enrollments/{intake['enrollment']['id']}/ce-events"
    referral = {"event_date": days_ago(3), "event": 13, "referral_result": 1}
    before = await counts(db)
    for body, loc in (
        (referral, ["result_date"]),  # 4.20.E goes with 4.20.D
        ({**referral, "result_date": days_ago(4)}, ["result_date"]),  # before the event
        ({"event_date": days_ago(3), "event": 6, "referral_result": 2}, ["referral_result"]),
        (
            {"event_date": days_ago(3), "event": 13, "prob_sol_div_rr_result": 1},
            ["prob_sol_div_rr_result"],
        ),
        ({"event_date": days_ago(3), "event": 2}, ["prob_sol_div_rr_result"]),
        (
            {
                "event_date": days_ago(3),
                "event": 2,
                "prob_sol_div_rr_result": 0,
                "location_crisis_or_ph_housing": "Shelter A",
            },
            ["location_crisis_or_ph_housing"],
        ),
        (
            {"event_date": days_ago(3), "event": 14, "referral_case_manage_after": 1},
            ["referral_case_manage_after"],
        ),
        ({"event_date": days_ago(3), "event": 19}, ["event"]),
        ({"event_date": days_ago(6), "event": 6}, ["event_date"]),  # before entry
    ):
        r = await client.post(url, json=body, headers=headers)
        assert assert_problem(r, 422)["errors"][0]["loc"] == ["body", *loc], body
    assert await counts(db) == before
    ok = await client.post(
        url,
        json={**referral, "result_date": days_ago(1), "location_crisis_or_ph_housing": "RRH A"},
        headers=headers,
    )
    assert ok.status_code == 201, ok.text
    [row] = await rows(db, "SELECT * FROM ce_events WHERE id = :i", i=uuid.UUID(ok.json()["id"]))
    assert (row["event"], row["referral_result"], row["result_date"]) == (
        13,
        1,
        today() - timedelta(days=1),
    )
    assert row["prob_sol_div_rr_result"] is None and row["referral_case_manage_after"] is None


async def test_database_refuses_result_fields_of_other_event_types(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    """The rules hold in the database too, not only in the service."""
    headers = await auth.headers("case_manager", org="cas")
    intake = await _intake(client, headers)
    [head] = await rows(
        db,
        "SELECT e.id, e.client_id, e.created_by_organization_id AS org FROM enrollments e "
        "WHERE e.id = :e",
        e=uuid.UUID(intake["enrollment"]["id"]),
    )
    insert = (
        "INSERT INTO ce_events (id, enrollment_id, client_id, created_by_organization_id, "
        "event_date, event, prob_sol_div_rr_result, referral_result, result_date) VALUES "
        "(gen_random_uuid(), :e, :c, :o, current_date, :event, :div, :res, :rd)"
    )
    bad = [
        {"event": 13, "div": 1, "res": None, "rd": None},  # diversion result on a referral
        {"event": 2, "div": 1, "res": 1, "rd": today()},  # referral result on event 2
        {"event": 13, "div": None, "res": 1, "rd": None},  # result without its date
    ]
    for values in bad:
        try:
            async with db.begin_nested():
                await db.execute(
                    text(insert),
                    {"e": head["id"], "c": head["client_id"], "o": head["org"], **values},
                )
        except Exception as exc:  # IntegrityError from a CHECK constraint
            assert "ck_ce_events" in str(exc), exc
        else:
            raise AssertionError(f"accepted {values}")
    # And one open CE enrollment per client, one open queue entry per household.
    try:
        async with db.begin_nested():
            await db.execute(
                text(
                    "INSERT INTO enrollments (id, coc_id, client_id, project_id, "
                    "is_coordinated_entry, household_id, household_group_id, relationship_to_hoh, "
                    "entry_date, enrollment_coc, created_by_organization_id, disabling_condition, "
                    "outcome, version) SELECT gen_random_uuid(), coc_id, client_id, project_id, "
                    "true, household_id, household_group_id, 1, entry_date, enrollment_coc, "
                    "created_by_organization_id, 99, 'pending', 1 FROM enrollments WHERE id = :e"
                ),
                {"e": head["id"]},
            )
    except Exception as exc:
        assert "uq_enrollments_one_open_ce_per_client" in str(exc), exc
    else:
        raise AssertionError("a second open CE enrollment was accepted")


async def test_records_stay_inside_the_stay(client: httpx.AsyncClient, auth: Auth, db: Any) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    body = example("diverted", entry_date=days_ago(4))
    body["diversion"]["exit_date"] = days_ago(2)
    intake = await client.post(INTAKES, json=body, headers=headers)
    assert intake.status_code == 201, intake.text
    base = f"/api/v1/enrollments/{intake.json()['enrollment']['id']}"
    before = await counts(db)
    for path, payload, loc in (
        ("case-notes", {"note_date": days_ago(1), "note": "Called."}, "note_date"),
        ("case-notes", {"note_date": days_ago(5), "note": "Called."}, "note_date"),
        ("ce-events", {"event_date": days_ago(1), "event": 6}, "event_date"),
    ):
        r = await client.post(f"{base}/{path}", json=payload, headers=headers)
        assert assert_problem(r, 422)["errors"][0]["loc"] == ["body", loc], (path, payload)
    # Recording on an exited enrollment is refused outright where it is a contact.
    r = await client.post(
        f"{base}/current-living-situations",
        json={"current_living_situation": 116},
        headers=headers,
    )
    assert assert_problem(r, 409)["enrollment_id"] == intake.json()["enrollment"]["id"]
    assert await counts(db) == before
    # A note about the stay, dated inside it, is still fine after the exit.
    ok = await client.post(
        f"{base}/case-notes",
        json={"note_date": days_ago(3), "note": "Sister confirmed the move."},
        headers=headers,
    )
    assert ok.status_code == 201, ok.text
    # The note's text is not copied into the audit trail.
    [event] = await rows(
        db,
        "SELECT changes::text AS changes FROM audit_events WHERE entity_id = :i",
        i=uuid.UUID(ok.json()["id"]),
    )
    assert "Sister confirmed" not in event["changes"]


async def test_edit_entry_keeps_disabling_condition_consistent(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    placed = await _intake(client, headers, "placed")  # two indefinite-and-impairing barriers
    pending = await _intake(client, headers)  # every barrier answered No
    before = await counts(db)
    for intake, value in ((placed, 0), (pending, 1)):
        r = await client.patch(
            f"/api/v1/enrollments/{intake['enrollment']['id']}",
            json={"disabling_condition": value},
            headers={**headers, **ANY_VERSION},
        )
        assert assert_problem(r, 422)["errors"][0]["loc"] == ["body", "disabling_condition"]
    [row] = await rows(
        db,
        "SELECT disabling_condition FROM enrollments WHERE id = :e",
        e=uuid.UUID(placed["enrollment"]["id"]),
    )
    assert row["disabling_condition"] == 1
    # Unknown is always possible; move-in dates belong to permanent housing projects only.
    ok = await client.patch(
        f"/api/v1/enrollments/{pending['enrollment']['id']}",
        json={"disabling_condition": 8},
        headers={**headers, **ANY_VERSION},
    )
    assert ok.status_code == 200 and ok.json()["disabling_condition"] == 8
    move_in = await client.patch(
        f"/api/v1/enrollments/{pending['enrollment']['id']}",
        json={"move_in_date": today().isoformat()},
        headers={**headers, **ANY_VERSION},
    )
    assert assert_problem(move_in, 422)["errors"][0]["loc"] == ["body", "move_in_date"]
    street = await client.patch(
        f"/api/v1/enrollments/{pending['enrollment']['id']}",
        json={"entry_date": "2025-05-01"},  # before the example's date to street (2025-06-01)
        headers={**headers, **ANY_VERSION},
    )
    assert assert_problem(street, 422)["errors"][0]["loc"] == [
        "body",
        "prior_living_situation",
        "date_to_street_essh",
    ]
    assert await counts(db) == before


async def test_edit_entry_moves_members_and_guards_later_records(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    body = example("diverted", ready_for_outcome=False, diverted=None, entry_date=days_ago(3))
    del body["diversion"]
    intake = await client.post(INTAKES, json=body, headers=headers)
    assert intake.status_code == 201, intake.text
    head_id = intake.json()["enrollment"]["id"]
    member_ids = [uuid.UUID(e["id"]) for e in intake.json()["household_enrollments"]]
    new_date = today() - timedelta(days=6)
    r = await client.patch(
        f"/api/v1/enrollments/{head_id}",
        json={"entry_date": new_date.isoformat()},
        headers={**headers, **ANY_VERSION},
    )
    assert r.status_code == 200, r.text
    cls = await rows(
        db,
        "SELECT enrollment_id, information_date FROM current_living_situations "
        "WHERE enrollment_id = ANY(:ids)",
        ids=member_ids,
    )
    assert len(cls) == 2 and {c["information_date"] for c in cls} == {new_date}
    entries = await rows(
        db, "SELECT entry_date FROM enrollments WHERE id = ANY(:ids)", ids=member_ids
    )
    assert {e["entry_date"] for e in entries} == {new_date}
    # An update recorded later pins the entry: it cannot move past that contact.
    update = await client.post(
        f"/api/v1/enrollments/{head_id}/assessments",
        json={
            "assessment_date": days_ago(4),
            "current_living_situation": {"current_living_situation": 116},
        },
        headers={**headers, **ANY_VERSION},
    )
    assert update.status_code == 201, update.text
    before = await counts(db)
    late = await client.patch(
        f"/api/v1/enrollments/{head_id}",
        json={"entry_date": days_ago(1)},
        headers={**headers, **ANY_VERSION},
    )
    assert assert_problem(late, 422)["errors"][0]["loc"] == ["body", "entry_date"]
    assert await counts(db) == before


async def test_ce_stays_may_not_overlap(client: httpx.AsyncClient, auth: Auth, db: Any) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    body = example("diverted", entry_date=days_ago(6))
    body["diversion"]["exit_date"] = days_ago(3)
    first = await client.post(INTAKES, json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = example("pending", entry_date=days_ago(4), household_id=first.json()["household_id"])
    del again["client"]
    again["client_id"] = first.json()["client"]["id"]
    before = await counts(db)
    r = await client.post(INTAKES, json=again, headers=headers)
    assert assert_problem(r, 422)["errors"][0]["loc"] == ["body", "entry_date"]
    assert await counts(db) == before
    again["entry_date"] = days_ago(3)  # re-entry on the exit day is fine
    r = await client.post(INTAKES, json=again, headers=headers)
    assert r.status_code == 201, r.text


async def test_entry_dates_stay_inside_the_projects_operating_period(
    client: httpx.AsyncClient, auth: Auth, world: World, db: Any
) -> None:
    """HUD 2.03 / 3.10: a project serves clients between its operating start and end dates: an
    entry before the start or after the end is a 422 naming ``entry_date`` and nothing is
    written; moving an existing entry out of the period is refused the same way."""
    headers = await auth.headers("case_manager", org="access_point_1")
    project = world.project_id("ap1_outreach")
    client_id = (
        await client.post(
            "/api/v1/clients", json={"first_name": "Ora", "last_name": "Period"}, headers=headers
        )
    ).json()["id"]
    body = {
        "client_id": client_id,
        "project_id": str(project),
        "prior_living_situation": {"living_situation": 99},
    }

    async def period(start: str, end: str | None) -> None:
        await db.execute(
            text(
                "UPDATE projects SET operating_start_date = :s, operating_end_date = :e "
                "WHERE id = :p"
            ),
            {"s": date.fromisoformat(start), "e": end and date.fromisoformat(end), "p": project},
        )

    before = await counts(db)
    # The project closed ten days ago: no entry today.
    await period("2020-01-01", days_ago(10))
    r = await client.post("/api/v1/enrollments", json=body, headers=headers)
    assert assert_problem(r, 422)["errors"][0]["loc"] == ["body", "entry_date"], r.text
    # It opened five days ago: no entry dated before.
    await period(days_ago(5), None)
    r = await client.post(
        "/api/v1/enrollments", json={**body, "entry_date": days_ago(6)}, headers=headers
    )
    assert assert_problem(r, 422)["errors"][0]["loc"] == ["body", "entry_date"], r.text
    assert await counts(db) == before
    # Inside the period: enrolled; the entry cannot move before the start either.
    r = await client.post(
        "/api/v1/enrollments", json={**body, "entry_date": days_ago(5)}, headers=headers
    )
    assert r.status_code == 201, r.text
    url = f"/api/v1/enrollments/{r.json()['id']}"
    moved = await client.patch(
        url, json={"entry_date": days_ago(7)}, headers={**headers, **ANY_VERSION}
    )
    assert assert_problem(moved, 422)["errors"][0]["loc"] == ["body", "entry_date"], moved.text
    [row] = await rows(
        db, "SELECT entry_date FROM enrollments WHERE id = :e", e=uuid.UUID(r.json()["id"])
    )
    assert row["entry_date"].isoformat() == days_ago(5)
    # Nor can the project's period shrink past an entry it holds.
    admin = {**(await auth.headers("system_admin")), **ANY_VERSION}
    before_project = (await client.get(f"/api/v1/projects/{project}", headers=admin)).json()
    for field, value in (
        ("operating_end_date", days_ago(6)),
        ("operating_start_date", days_ago(4)),
    ):
        r = await client.patch(f"/api/v1/projects/{project}", json={field: value}, headers=admin)
        assert assert_problem(r, 422)["errors"][0]["loc"] == ["body", field], r.text
    after_project = (await client.get(f"/api/v1/projects/{project}", headers=admin)).json()
    assert after_project == before_project
