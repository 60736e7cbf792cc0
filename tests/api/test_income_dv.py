"""4.02-4.04 income, benefits and health insurance and 4.11 domestic violence: in the intake,
the update assessment and the exit, and as records of their own; totals and "from any source"
answers checked; DV answers only for admins, the CAS organization and the enrolling
organization."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.http import uow
from app.services.platform import idempotency
from tests.conftest import Auth, World, assert_problem
from tests.support.access import give_roi
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, days_ago, example, rows, today

INCOME = {
    "income_from_any_source": 1,
    "earned": 1,
    "earned_amount": "1200.50",
    "ssi": 1,
    "ssi_amount": 300,
    "other_income_source": 1,
    "other_income_amount": "25",
    "other_income_source_identify": "Recycling",
    "benefits_from_any_source": 0,
    "insurance_from_any_source": 1,
    "medicaid": 0,
    "no_medicaid_reason": 1,
    "medicare": 1,
}


async def _placed(http: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    r = await http.post(INTAKES, json=example("placed"), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def _table_counts(db: AsyncSession) -> tuple[int, int]:
    income = (await db.execute(text("SELECT count(*) FROM income_benefits"))).scalar_one()
    dv = (await db.execute(text("SELECT count(*) FROM health_and_dv"))).scalar_one()
    return income, dv


async def test_intake_records_entry_income_and_dv(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await _placed(client, headers)
    e = uuid.UUID(intake["enrollment"]["id"])
    [income] = await rows(db, "SELECT * FROM income_benefits WHERE enrollment_id = :e", e=e)
    assert income["data_collection_stage"] == 1
    assert income["information_date"] == today()  # the Income Assessment Date is the entry date
    assert income["assessment_id"] == uuid.UUID(intake["assessment_id"])
    assert income["total_monthly_income"] == Decimal("943.00")
    assert (income["ssi"], income["earned"], income["snap"], income["wic"]) == (1, 0, 1, 0)
    assert (income["medicaid"], income["medicare"]) == (1, 0)
    [dv] = await rows(db, "SELECT * FROM health_and_dv WHERE enrollment_id = :e", e=e)
    assert (dv["data_collection_stage"], dv["domestic_violence_survivor"]) == (1, 0)
    # The answers stay out of the audit trail.
    [event] = await rows(
        db, "SELECT changes FROM audit_events WHERE action = 'domestic_violence.create'"
    )
    assert "domestic_violence_survivor" not in event["changes"]
    # Latest values prefill an update.
    latest = await client.get(f"/api/v1/enrollments/{e}/latest-values", headers=headers)
    assert latest.json()["income_benefits"]["total_monthly_income"] == 943.0
    assert latest.json()["domestic_violence"]["domestic_violence_survivor"] == 0


async def test_income_record_totals_and_stages(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await _placed(client, headers)
    url = f"/api/v1/enrollments/{intake['enrollment']['id']}/income-benefits"
    r = await client.post(url, json={**INCOME, "information_date": days_ago(0)}, headers=headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["data_collection_stage"] == 2
    assert body["total_monthly_income"] == 1525.5
    assert body["unemployment"] == 0 and body["snap"] == 0  # "no sources": every source 0
    assert body["no_medicaid_reason"] == 1
    listed = await client.get(url, headers=headers)
    assert sorted(i["data_collection_stage"] for i in listed.json()["items"]) == [1, 2]
    assert body["id"] in {i["id"] for i in listed.json()["items"]}
    # One entry record per enrollment; the exit record needs the exit.
    again = await client.post(url, json={**INCOME, "data_collection_stage": 1}, headers=headers)
    assert_problem(again, 409)
    not_exited = await client.post(
        url, json={**INCOME, "data_collection_stage": 3}, headers=headers
    )
    problem = assert_problem(not_exited, 422)
    assert problem["errors"][0]["loc"] == ["body", "information_date"]


BAD_INCOME = [
    ({"income_from_any_source": 1}, "income_from_any_source", "4.02.2"),
    ({"income_from_any_source": 0, "earned": 1, "earned_amount": 5}, "earned", "4.02.3"),
    ({"income_from_any_source": 8, "earned": 0}, "earned", "4.02.3"),
    ({"income_from_any_source": 1, "ssdi": 1}, "ssdi_amount", "4.02.6"),
    ({"income_from_any_source": 1, "ssdi": 1, "ssdi_amount": 0}, "ssdi_amount", "4.02.6"),
    (
        {"income_from_any_source": 1, "ga": 1, "ga_amount": 10, "tanf_amount": 4},
        "tanf_amount",
        "4.02.11",
    ),
    (
        {"income_from_any_source": 1, "ga": 1, "ga_amount": 10, "total_monthly_income": 11},
        "total_monthly_income",
        "4.02.18",
    ),
    (
        {"income_from_any_source": 9, "total_monthly_income": 0},
        "total_monthly_income",
        "4.02.18",
    ),
    (
        {"income_from_any_source": 1, "other_income_source": 1, "other_income_amount": 3},
        "other_income_source_identify",
        "4.02.P",
    ),
    ({"benefits_from_any_source": 1, "snap": 0}, "benefits_from_any_source", "4.03.2"),
    ({"benefits_from_any_source": 99, "wic": 1}, "wic", "4.03.4"),
    (
        {"insurance_from_any_source": 1, "medicare": 1, "no_medicare_reason": 3},
        "no_medicare_reason",
        "4.04.4A",
    ),
    (
        {"insurance_from_any_source": 0, "other_insurance_identify": "x"},
        "other_insurance_identify",
        "4.04.12A",
    ),
    ({"information_date": None}, "income_from_any_source", "4.02"),
]


@pytest.mark.parametrize(("body", "field", "element"), BAD_INCOME)
async def test_inconsistent_income_is_refused_and_nothing_written(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    body: dict[str, Any],
    field: str,
    element: str,
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await _placed(client, headers)
    url = f"/api/v1/enrollments/{intake['enrollment']['id']}/income-benefits"
    before = await _table_counts(db)
    problem = assert_problem(await client.post(url, json=body, headers=headers), 422)
    assert problem["errors"][0]["loc"] == ["body", field], problem
    assert f"HUD {element}" in problem["detail"]
    assert await _table_counts(db) == before


async def test_the_database_holds_the_income_rules(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await _placed(client, headers)
    e = uuid.UUID(intake["enrollment"]["id"])
    for sql, constraint in (
        ("total_monthly_income = 1", "ck_income_benefits_total_is_sum"),
        ("ssi_amount = NULL, total_monthly_income = 0", "ck_income_benefits_ssi_amount"),
        ("snap = 0", "ck_income_benefits_benefits_yes_has_source"),
        ("snap = NULL, wic = NULL", "ck_income_benefits_benefits_yes_has_source"),
        ("other_tanf = NULL, other_benefits_source_identify = 'x'", "benefits_identify_with_other"),
        (
            "income_from_any_source = 8, total_monthly_income = NULL",
            "ck_income_benefits_income_no_sources",
        ),
        ("data_collection_stage = 4", "ck_income_benefits_stage_valid"),
    ):
        savepoint = await db.begin_nested()
        with pytest.raises(IntegrityError) as caught:
            await db.execute(
                text(f"UPDATE income_benefits SET {sql} WHERE enrollment_id = :e"), {"e": e}
            )
        await savepoint.rollback()
        assert constraint in str(caught.value)
    savepoint = await db.begin_nested()
    with pytest.raises(IntegrityError) as caught:
        await db.execute(
            text(
                "UPDATE health_and_dv SET domestic_violence_survivor = 1 WHERE enrollment_id = :e"
            ),
            {"e": e},
        )
    await savepoint.rollback()
    assert "ck_health_and_dv_follow_ups_only_for_survivor" in str(caught.value)


async def test_update_assessment_and_exit_carry_income_and_dv(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await _placed(client, headers)
    e = intake["enrollment"]["id"]
    r = await client.post(
        f"/api/v1/enrollments/{e}/assessments",
        json={
            "assessment_date": today().isoformat(),
            "current_living_situation": {"current_living_situation": 116},
            "income_benefits": {"income_from_any_source": 0},
            "domestic_violence": {
                "domestic_violence_survivor": 1,
                "when_occurred": 2,
                "currently_fleeing": 0,
            },
        },
        headers={**headers, **ANY_VERSION},
    )
    assert r.status_code == 201, r.text
    assessment_id = uuid.UUID(r.json()["assessment"]["id"])
    [income] = await rows(
        db, "SELECT * FROM income_benefits WHERE assessment_id = :a", a=assessment_id
    )
    assert (income["data_collection_stage"], income["total_monthly_income"]) == (2, 0)
    [dv] = await rows(db, "SELECT * FROM health_and_dv WHERE assessment_id = :a", a=assessment_id)
    assert (dv["data_collection_stage"], dv["when_occurred"], dv["currently_fleeing"]) == (2, 2, 0)
    # A DV answer without its follow-ups: 422 on the block, nothing of the pass written.
    before = await _table_counts(db)
    bad = await client.post(
        f"/api/v1/enrollments/{e}/assessments",
        json={
            "assessment_date": today().isoformat(),
            "current_living_situation": {"current_living_situation": 116},
            "domestic_violence": {"domestic_violence_survivor": 1},
        },
        headers={**headers, **ANY_VERSION},
    )
    problem = assert_problem(bad, 422)
    assert problem["errors"][0]["loc"] == ["body", "domestic_violence", "when_occurred"]
    assert "HUD 4.11.A" in problem["detail"]
    assert await _table_counts(db) == before
    # The exit records 4.02-4.04 at exit (stage 3), dated the exit date.
    x = await client.post(
        f"/api/v1/enrollments/{e}/exit",
        json={
            "exit_date": today().isoformat(),
            "destination": 410,
            "exit_reason": "enrolled_in_permanent_housing",
            "income_benefits": {"income_from_any_source": 1, "earned": 1, "earned_amount": 2100},
        },
        headers={**headers, **ANY_VERSION},
    )
    assert x.status_code == 201, x.text
    [at_exit] = await rows(
        db,
        "SELECT * FROM income_benefits WHERE enrollment_id = :e AND data_collection_stage = 3",
        e=uuid.UUID(e),
    )
    assert (at_exit["information_date"], at_exit["total_monthly_income"]) == (today(), 2100)


async def test_entry_stage_records_follow_the_entry_date(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await _placed(client, headers)
    e = intake["enrollment"]["id"]
    r = await client.patch(
        f"/api/v1/enrollments/{e}",
        json={"entry_date": days_ago(2)},
        headers={**headers, **ANY_VERSION},
    )
    assert r.status_code == 200, r.text
    for table in ("income_benefits", "health_and_dv"):
        [row] = await rows(
            db, f"SELECT information_date FROM {table} WHERE enrollment_id = :e", e=uuid.UUID(e)
        )
        assert row["information_date"].isoformat() == days_ago(2), table
    # A standalone entry record must be dated the entry date.
    dv_url = f"/api/v1/enrollments/{e}/domestic-violence"
    wrong = await client.post(
        dv_url,
        json={
            "data_collection_stage": 1,
            "information_date": today().isoformat(),
            "domestic_violence_survivor": 0,
        },
        headers=headers,
    )
    assert assert_problem(wrong, 422)["errors"][0]["loc"] == ["body", "information_date"]


async def test_domestic_violence_answers_are_seen_by_few(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    ap1 = await auth.headers("case_manager", org="access_point_1")
    intake = await _placed(client, ap1)
    e = intake["enrollment"]["id"]
    url = f"/api/v1/enrollments/{e}/domestic-violence"
    # The enrolling organization, the CAS organization and admins see them (the read is audited).
    for user, org in (
        ("case_manager", "access_point_1"),
        ("case_manager", "cas"),
        ("cas_admin", "cas"),
        ("system_admin", "hmis_lead"),
    ):
        r = await client.get(url, headers=await auth.headers(user, org=org))
        assert r.status_code == 200, (user, org, r.text)
        assert [d["domestic_violence_survivor"] for d in r.json()["items"]] == [0]
    reads = await rows(
        db,
        "SELECT changes FROM audit_events WHERE action = 'pii.read' AND entity_id = :c",
        c=uuid.UUID(intake["client"]["id"]),
    )
    assert any(r["changes"] == {"fields": ["domestic_violence"]} for r in reads)
    # Another agency that sees the client (a release of information) does not see them.
    await give_roi(db, intake["client"]["id"])
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    assert (await client.get(f"/api/v1/enrollments/{e}", headers=ap2)).status_code == 200
    assert_problem(await client.get(url, headers=ap2), 404)
    latest = await client.get(f"/api/v1/enrollments/{e}/latest-values", headers=ap2)
    assert latest.status_code == 200 and latest.json()["domestic_violence"] is None
    assert latest.json()["income_benefits"] is not None


async def test_a_dv_replay_is_refused_to_a_writer_who_may_not_see_dv(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession, app: Any
) -> None:
    """An organization with a case assignment may write the enrollment but not see its 4.11
    answers: a stored response under its key is never replayed (the DV rule is checked before
    the key is looked up, like every rule about the caller)."""
    ap1 = await auth.headers("case_manager", org="access_point_1")
    intake = await _placed(client, ap1)
    e = intake["enrollment"]["id"]
    await db.execute(
        text(
            "INSERT INTO case_assignments (id, enrollment_id, client_id, user_id, organization_id,"
            " start_date, status, version, created_at, updated_at) VALUES (:id, :e, :c, :u, :o,"
            " :d, 'active', 1, now(), now())"
        ),
        {
            "id": uuid.uuid4(),
            "e": uuid.UUID(e),
            "c": uuid.UUID(intake["client"]["id"]),
            "u": world.user_id("case_manager2"),
            "o": world.org_id("access_point_2"),
            "d": today(),
        },
    )
    await db.flush()
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    notes = await client.post(
        f"/api/v1/enrollments/{e}/case-notes",
        json={"note_date": today().isoformat(), "note": "Called back."},
        headers=ap2,
    )
    assert notes.status_code == 201, notes.text  # it may write the enrollment
    url = f"/api/v1/enrollments/{e}/domestic-violence"
    raw = json.dumps({"domestic_violence_survivor": 0}).encode()
    sent = {**ap2, "content-type": "application/json"}
    assert_problem(await client.post(url, content=raw, headers=sent), 404)
    key = f"dv-{uuid.uuid4()}"
    idempotency.store_response(
        db,
        replay_scope_of(world, "case_manager2", "access_point_2", url),
        key,
        request_hash=uow.json_body_hash(raw),
        status_code=201,
        headers={"content-type": "application/json"},
        body=b'{"planted": "dv-replay"}',
        field_key=app.state.settings.field_encryption_key,
    )
    await db.flush()
    replay = await client.post(url, content=raw, headers={**sent, "Idempotency-Key": key})
    assert "dv-replay" not in replay.text
    assert_problem(replay, 404)


def replay_scope_of(world: World, user: str, org: str, url: str) -> str:
    operation = "POST /api/v1/enrollments/{enrollment_id}/domestic-violence"
    return f"{world.user_id(user)} {world.org_id(org)} {operation} {url}"
