"""CAS & Diversion Intake through HTTP: the three outcomes and the refused second intake."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import Auth, World, assert_problem
from tests.support.intake import INTAKES, counts, example, rows, today


async def test_each_named_openapi_example_works(
    client: httpx.AsyncClient, auth: Auth, app: Any
) -> None:
    operation = app.openapi()["paths"]["/api/v1/cas/intakes"]["post"]
    examples = operation["requestBody"]["content"]["application/json"]["examples"]
    assert set(examples) == {"pending", "diverted", "placed"}
    headers = await auth.headers("case_manager", org="access_point_1")
    for name, ex in examples.items():
        r = await client.post(INTAKES, json=ex["value"], headers=headers)
        assert r.status_code == 201, (name, r.text)
        assert r.json()["outcome"] == name


async def test_pending_intake_enrolls_without_queueing(
    client: httpx.AsyncClient, auth: Auth, world: World, db: Any
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(INTAKES, json=example("pending"), headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["outcome"] == "pending"
    assert body["queue_entry"] is None and body["exit"] is None
    assert r.headers["location"] == f"/api/v1/enrollments/{body['enrollment']['id']}"
    enrollment_id = body["enrollment"]["id"]
    client_id = body["client"]["id"]
    [enr] = await rows(db, "SELECT * FROM enrollments WHERE client_id = :c", c=client_id)
    assert str(enr["id"]) == enrollment_id
    assert enr["project_id"] == world.project_id("ce")
    assert enr["is_coordinated_entry"] and enr["exit_date"] is None
    assert enr["entry_date"] == today() and enr["outcome"] == "pending"
    assert enr["relationship_to_hoh"] == 1 and enr["household_group_id"] == enr["id"]
    assert enr["living_situation"] == 116 and enr["length_of_stay"] == 4
    assert enr["enrollment_coc"] == "XX-501" and enr["translation_needed"] == 0
    [assignment] = await rows(
        db, "SELECT * FROM case_assignments WHERE enrollment_id = :e", e=enr["id"]
    )
    assert assignment["user_id"] == world.user_id("case_manager")
    assert assignment["status"] == "active" and assignment["start_date"] == today()
    cls = await rows(
        db, "SELECT * FROM current_living_situations WHERE enrollment_id = :e", e=enr["id"]
    )
    assert [c["current_living_situation"] for c in cls] == [116]
    assert (
        len(await rows(db, "SELECT * FROM disabilities WHERE enrollment_id = :e", e=enr["id"])) == 6
    )
    assert (
        len(
            await rows(
                db, "SELECT * FROM diversion_assessments WHERE enrollment_id = :e", e=enr["id"]
            )
        )
        == 1
    )
    # Assessed and not placed: the intake's 4.19 has PrioritizationStatus 2 (a crisis needs
    # assessment); no diversion result yet (no 4.20), no queue entry, no exit.
    [ce] = await rows(db, "SELECT * FROM ce_assessments WHERE client_id = :c", c=client_id)
    assert (ce["prioritization_status"], ce["assessment_level"]) == (2, 1)
    assert ce["assessment_date"] == today()
    for table in ("queue_entries", "exits", "ce_events"):
        assert (
            await rows(
                db,
                f"SELECT id FROM {table} WHERE client_id = :c"
                if table != "queue_entries"
                else f"SELECT id FROM {table} WHERE head_client_id = :c",
                c=client_id,
            )
            == []
        )
    # Visible to the CAS organization and the enrolling agency.
    access = await rows(
        db, "SELECT organization_id, reason FROM client_access WHERE client_id = :c", c=client_id
    )
    assert {(a["organization_id"], a["reason"]) for a in access} >= {
        (world.org_id("cas"), "enrolled"),
        (world.org_id("access_point_1"), "enrolled"),
    }
    assert body["enrollment"]["inactive"] is False
    assert body["enrollment"]["last_contact_at"] is not None
    audit = await rows(db, "SELECT action FROM audit_events WHERE entity_id = :e", e=enr["id"])
    assert {"enrollment.create"} <= {a["action"] for a in audit}


async def test_diverted_intake_exits_household_with_services(
    client: httpx.AsyncClient, auth: Auth, world: World, db: Any
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    body_in = example("diverted")
    body_in["diversion"]["services"].append({"service_type": "successful_diversion_other"})
    body_in["diversion"]["case_note"] = "Paid a month of the sister's utility bill."
    r = await client.post(INTAKES, json=body_in, headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["outcome"] == "diverted"
    assert body["queue_entry"] is None
    assert body["exit"]["destination"] == 422
    assert body["exit"]["exit_reason"] == "successfully_diverted"
    assert len(body["household_enrollments"]) == 2
    ids = [e["id"] for e in body["household_enrollments"]]
    enrollments = await rows(
        db, "SELECT * FROM enrollments WHERE id = ANY(:ids)", ids=[uuid.UUID(i) for i in ids]
    )
    assert {e["exit_date"] for e in enrollments} == {today()}
    assert {e["outcome"] for e in enrollments} == {"diverted"}
    assert sorted(e["relationship_to_hoh"] for e in enrollments) == [1, 2]
    assert len({e["household_group_id"] for e in enrollments}) == 1
    exits = await rows(
        db,
        "SELECT * FROM exits WHERE enrollment_id = ANY(:ids)",
        ids=[e["id"] for e in enrollments],
    )
    assert len(exits) == 2 and {x["destination"] for x in exits} == {422}
    head_id = body["enrollment"]["id"]
    services = await rows(
        db, "SELECT service_type FROM services WHERE enrollment_id = :e", e=uuid.UUID(head_id)
    )
    assert {s["service_type"] for s in services} == {
        "conflict_mediation",
        "transportation_assistance",
        "successful_diversion_other",
    }
    notes = await rows(
        db, "SELECT * FROM case_notes WHERE enrollment_id = :e", e=uuid.UUID(head_id)
    )
    assert len(notes) == 1 and notes[0]["service_id"] is not None
    [event] = await rows(
        db, "SELECT * FROM ce_events WHERE enrollment_id = :e", e=uuid.UUID(head_id)
    )
    assert event["event"] == 2 and event["prob_sol_div_rr_result"] == 1
    # CLS at entry (101) and at exit (335) for both members.
    cls = await rows(
        db,
        "SELECT current_living_situation FROM current_living_situations "
        "WHERE enrollment_id = ANY(:ids) ORDER BY current_living_situation",
        ids=[e["id"] for e in enrollments],
    )
    assert [c["current_living_situation"] for c in cls] == [101, 101, 335, 335]
    assignments = await rows(
        db,
        "SELECT * FROM case_assignments WHERE enrollment_id = ANY(:ids)",
        ids=[e["id"] for e in enrollments],
    )
    assert {a["status"] for a in assignments} == {"inactive"}
    assert {a["end_date"] for a in assignments} == {today()}
    assert (
        await rows(
            db, "SELECT id FROM queue_entries WHERE head_enrollment_id = :e", e=uuid.UUID(head_id)
        )
        == []
    )
    assert body["enrollment"]["translation_needed"] == 1
    assert body["enrollment"]["preferred_language_different"] == "Tigrinya"


async def test_placed_intake_queues_household(
    client: httpx.AsyncClient, auth: Auth, world: World, db: Any
) -> None:
    headers = await auth.headers("case_manager", org="cas")
    r = await client.post(INTAKES, json=example("placed"), headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["outcome"] == "placed"
    queue = body["queue_entry"]
    assert queue["intake_status"] == "pending" and queue["closed_at"] is None
    assert queue["head_enrollment_id"] == body["enrollment"]["id"]
    assert body["enrollment"]["queue_entry"]["id"] == queue["id"]
    enr_id = uuid.UUID(body["enrollment"]["id"])
    [ce] = await rows(db, "SELECT * FROM ce_assessments WHERE enrollment_id = :e", e=enr_id)
    assert ce["prioritization_status"] == 1 and ce["assessment_level"] == 2
    assert ce["assessment_date"] == today()
    assert ce["assessment_location"] == world.home.orgs["cas"].name
    [hna] = await rows(
        db, "SELECT * FROM housing_needs_assessments WHERE enrollment_id = :e", e=enr_id
    )
    assert hna["behavioral_health_interest"] == 1 and hna["hud_vash_eligible"] is None
    [tie] = await rows(
        db, "SELECT * FROM area_ties WHERE client_id = :c", c=uuid.UUID(body["client"]["id"])
    )
    assert (tie["area"], tie["how"]) == ("coc_area", "lived")
    [q] = await rows(db, "SELECT * FROM queue_entries WHERE id = :q", q=uuid.UUID(queue["id"]))
    assert q["household_id"] == uuid.UUID(body["household_id"])
    barriers = await rows(
        db,
        "SELECT disability_type, indefinite_and_impairs FROM disabilities "
        "WHERE enrollment_id = :e AND disability_response = 1",
        e=enr_id,
    )
    assert {(b["disability_type"], b["indefinite_and_impairs"]) for b in barriers} == {
        (7, 1),
        (9, 1),
    }
    assert await rows(db, "SELECT id FROM exits WHERE enrollment_id = :e", e=enr_id) == []


async def test_other_case_manager_may_be_assigned(
    client: httpx.AsyncClient, auth: Auth, world: World, db: Any
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(
        INTAKES,
        json=example("pending", case_manager_user_id=str(world.user_id("agency_admin"))),
        headers=headers,
    )
    assert r.status_code == 201, r.text
    [assignment] = r.json()["enrollment"]["case_assignments"]
    assert assignment["user_id"] == str(world.user_id("agency_admin"))
    # A user of another agency cannot be assigned here.
    before = await counts(db)
    r = await client.post(
        INTAKES,
        json=example("pending", case_manager_user_id=str(world.user_id("case_manager2"))),
        headers=headers,
    )
    body = assert_problem(r, 422)
    assert body["errors"][0]["loc"] == ["body", "case_manager_user_id"]
    assert await counts(db) == before


async def test_second_intake_is_refused_with_the_open_enrollment(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    first = await client.post(INTAKES, json=example("pending"), headers=headers)
    assert first.status_code == 201, first.text
    client_id = first.json()["client"]["id"]
    enrollment_id = first.json()["enrollment"]["id"]
    before = await counts(db)
    second = example("placed")
    del second["client"]
    second["client_id"] = client_id
    r = await client.post(INTAKES, json=second, headers=headers)
    body = assert_problem(r, 409)
    assert body["enrollment_id"] == enrollment_id
    assert enrollment_id in body["detail"] and "update assessment" in body["detail"]
    assert body["errors"][0]["loc"] == ["body", "client_id"]
    assert await counts(db) == before


async def test_existing_client_intake_after_exit(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    first = await client.post(INTAKES, json=example("diverted"), headers=headers)
    assert first.status_code == 201, first.text
    again = example("pending", household_id=first.json()["household_id"])
    del again["client"]
    again["client_id"] = first.json()["client"]["id"]
    r = await client.post(INTAKES, json=again, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["client"]["id"] == first.json()["client"]["id"]
    assert r.json()["household_id"] == first.json()["household_id"]
    assert r.json()["enrollment"]["relationship_to_hoh"] == 1


async def test_intake_is_idempotent_and_audited(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    headers = {
        **(await auth.headers("case_manager", org="access_point_1")),
        "Idempotency-Key": "intake-retry-1",
    }
    first = await client.post(INTAKES, json=example("placed"), headers=headers)
    assert first.status_code == 201, first.text
    before = await counts(db)
    replay = await client.post(INTAKES, json=example("placed"), headers=headers)
    assert replay.status_code == 201, replay.text
    assert replay.json()["enrollment"]["id"] == first.json()["enrollment"]["id"]
    assert replay.json()["queue_entry"]["id"] == first.json()["queue_entry"]["id"]
    assert await counts(db) == before
    other_body = await client.post(INTAKES, json=example("pending"), headers=headers)
    assert_problem(other_body, 422)
    assert await counts(db) == before
    body = first.json()
    ids = [
        uuid.UUID(body["enrollment"]["id"]),
        uuid.UUID(body["queue_entry"]["id"]),
        uuid.UUID(body["assessment_id"]),
    ]
    actions = {
        a["action"]
        for a in await rows(
            db, "SELECT action FROM audit_events WHERE entity_id = ANY(:ids)", ids=ids
        )
    }
    assert {"enrollment.create", "queue_entry.create", "assessment.create"} <= actions
    written = {
        a["action"]
        for a in await rows(
            db,
            "SELECT DISTINCT action FROM audit_events WHERE action IN ("
            "'current_living_situation.create', 'disabilities.create', "
            "'housing_needs_assessment.create', 'ce_assessment.create', 'area_tie.create', "
            "'diversion_assessment.create')",
        )
    }
    assert len(written) == 6
