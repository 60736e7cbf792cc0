"""HUD FY2026 data-entry rules (issue 11): 3.08, 3.917, 3.07, 4.12 conditionals, diversion
exits, 3.12.B, the annual window, unsuccessful diversion (4.20 / 4.19). Each refusal is a 422
naming the field and the HUD element, and nothing is written."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Auth, assert_problem
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, counts, days_ago, example, rows, today

CLS_PATH = "/api/v1/enrollments/{}/current-living-situations"


async def _intake(
    http: httpx.AsyncClient, headers: dict[str, str], name: str = "pending", **changes: Any
) -> dict[str, Any]:
    r = await http.post(INTAKES, json=example(name, **changes), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def _refused(r: httpx.Response, loc: list[str], element: str) -> None:
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"] == ["body", *loc], problem
    assert f"HUD {element}" in problem["detail"], problem


def _adult_partner(**extra: Any) -> dict[str, Any]:
    return {
        "client": {"first_name": "Pat", "last_name": "Morgan", "dob": "1989-03-03"},
        "relationship_to_hoh": 3,
        **extra,
    }


def _with(name: str, edit: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = example(name)
    edit(body)
    return body


# --- refused intakes: 422 naming the field and the element, nothing written ----------------------


def _veteran_child(body: dict[str, Any]) -> None:
    eleven = today().replace(year=today().year - 11)
    body["client"].update(dob=eleven.isoformat(), veteran_status=1)


def _diverted_to(destination: int, cls: dict[str, Any] | None = None) -> Callable[..., None]:
    def edit(body: dict[str, Any]) -> None:
        body["diversion"]["destination"] = destination
        if cls is not None:
            body["diversion"]["exit_current_living_situation"] = cls

    return edit


REFUSED = [
    # 3.08: a disabling barrier (indefinite and impairing) makes Disabling Condition Yes.
    (
        "3.08 disabling barrier with 99",
        "placed",
        lambda b: b.update(disabling_condition=99),
        ["disabling_condition"],
        "3.08",
    ),
    (
        "3.08 HIV/AIDS with doesn't know",
        "pending",
        lambda b: b.update(
            disabling_condition=8,
            barriers=[
                *b["barriers"][:3],
                {"disability_type": 8, "disability_response": 1},
                *b["barriers"][4:],
            ],
        ),
        ["disabling_condition"],
        "3.08",
    ),
    # 3.917 for every adult and the head of household.
    (
        "3.917 adult family member without it",
        "diverted",
        lambda b: b["family_members"].append(_adult_partner()),
        ["family_members", "1", "prior_living_situation"],
        "3.917",
    ),
    # 3.07: Veteran Status Yes only for adults (a veteran head of household aged 11).
    ("3.07 veteran aged 11", "pending", _veteran_child, ["client", "veteran_status"], "3.07"),
    # 4.12.B-F required where HUD asks them.
    (
        "4.12.B missing for 335",
        "pending",
        lambda b: b.update(current_living_situation={"current_living_situation": 335}),
        ["current_living_situation", "leave_situation_14_days"],
        "4.12.B",
    ),
    (
        "4.12.E missing after leave 14 days Yes",
        "pending",
        lambda b: b.update(
            current_living_situation={
                "current_living_situation": 314,
                "leave_situation_14_days": 1,
                "subsequent_residence": 0,
                "resources_to_obtain": 1,
                "moved_two_or_more": 0,
            }
        ),
        ["current_living_situation", "lease_own_60_day"],
        "4.12.E",
    ),
    # Diversion exits: a housing destination, and the exit CLS corresponding to it.
    ("diverted to jail", "diverted", _diverted_to(207), ["diversion", "destination"], "3.12"),
    ("diverted to 99", "diverted", _diverted_to(99), ["diversion", "destination"], "3.12"),
    (
        "diverted to homeless transitional housing",
        "diverted",
        _diverted_to(302),
        ["diversion", "destination"],
        "3.12",
    ),
    (
        "diverted to a rental but still on the street",
        "diverted",
        _diverted_to(410, {"current_living_situation": 116}),
        ["diversion", "exit_current_living_situation", "current_living_situation"],
        "4.12.2",
    ),
    (
        "diverted to 17 without specifying",
        "diverted",
        _diverted_to(17),
        ["diversion", "other_destination"],
        "3.12.B",
    ),
]


@pytest.mark.parametrize(
    ("label", "name", "edit", "loc", "element"), REFUSED, ids=[c[0] for c in REFUSED]
)
async def test_intake_refuses_what_hud_refuses(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    label: str,
    name: str,
    edit: Callable[[dict[str, Any]], None],
    loc: list[str],
    element: str,
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    before = await counts(db)
    r = await client.post(INTAKES, json=_with(name, edit), headers=headers)
    _refused(r, loc, element)
    assert await counts(db) == before


ACCEPTED = [
    (
        "3.917 given for the adult member; the child needs none",
        "diverted",
        lambda b: b["family_members"].append(
            _adult_partner(prior_living_situation={"living_situation": 99})
        ),
    ),
    (
        "diverted to a rental, CLS the same",
        "diverted",
        _diverted_to(410, {"current_living_situation": 410, "leave_situation_14_days": 0}),
    ),
    (
        "diverted to a friend's, temporary tenure: staying in a friend's room",
        "diverted",
        _diverted_to(
            313,
            {
                "current_living_situation": 336,
                "leave_situation_14_days": 1,
                "subsequent_residence": 1,
                "resources_to_obtain": 1,
                "lease_own_60_day": 0,
                "moved_two_or_more": 0,
            },
        ),
    ),
]


@pytest.mark.parametrize(("label", "name", "edit"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
async def test_intake_accepts_what_hud_accepts(
    client: httpx.AsyncClient,
    auth: Auth,
    label: str,
    name: str,
    edit: Callable[[dict[str, Any]], None],
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(INTAKES, json=_with(name, edit), headers=headers)
    assert r.status_code == 201, r.text


# --- 3.917 and 3.07 outside the intake -----------------------------------------------------------


async def test_bare_enrollment_needs_prior_living_situation_for_the_head(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    person = await client.post(
        "/api/v1/clients", json={"first_name": "Rae", "last_name": "Okafor"}, headers=headers
    )
    assert person.status_code == 201, person.text
    body = {"client_id": person.json()["id"], "disabling_condition": 0}
    before = await counts(db)
    r = await client.post("/api/v1/enrollments", json=body, headers=headers)
    _refused(r, ["prior_living_situation"], "3.917")
    assert await counts(db) == before
    ok = await client.post(
        "/api/v1/enrollments",
        json={**body, "prior_living_situation": {"living_situation": 8}},
        headers=headers,
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["living_situation"] == 8


async def test_veteran_status_is_for_adults(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    now = today()
    child = {"first_name": "Kit", "last_name": "Adeyemi", "dob": f"{now.year - 12}-05-05"}
    before = await counts(db)
    r = await client.post("/api/v1/clients", json={**child, "veteran_status": 1}, headers=headers)
    _refused(r, ["veteran_status"], "3.07")
    assert await counts(db) == before
    # Turned 18 five days ago: a veteran today, but not at an entry dated 30 days ago.
    dob = now.replace(year=now.year - 18) - timedelta(days=5)
    adult = await client.post(
        "/api/v1/clients",
        json={
            "first_name": "Lee",
            "last_name": "Adeyemi",
            "dob": dob.isoformat(),
            "veteran_status": 1,
        },
        headers=headers,
    )
    assert adult.status_code == 201, adult.text
    body = example("pending", entry_date=days_ago(30))
    del body["client"]
    body["client_id"] = adult.json()["id"]
    body["prior_living_situation"]["date_to_street_essh"] = days_ago(60)
    before = await counts(db)
    r = await client.post(INTAKES, json=body, headers=headers)
    _refused(r, ["client_id"], "3.07")
    assert await counts(db) == before
    # Making an adult veteran a child is refused too.
    url = f"/api/v1/clients/{adult.json()['id']}"
    r = await client.patch(url, json={"dob": child["dob"]}, headers={**headers, **ANY_VERSION})
    _refused(r, ["veteran_status"], "3.07")


# --- 4.12 on its own, and the database behind it --------------------------------------------------


async def test_current_living_situation_conditionals(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await _intake(client, headers)
    url = CLS_PATH.format(intake["enrollment"]["id"])
    full = {
        "current_living_situation": 410,
        "leave_situation_14_days": 1,
        "subsequent_residence": 0,
        "resources_to_obtain": 0,
        "lease_own_60_day": 1,
        "moved_two_or_more": 0,
    }
    before = await counts(db)
    _refused(
        await client.post(url, json={"current_living_situation": 410}, headers=headers),
        ["leave_situation_14_days"],
        "4.12.B",
    )
    for follow_up, element in (
        ("subsequent_residence", "4.12.C"),
        ("resources_to_obtain", "4.12.D"),
        ("lease_own_60_day", "4.12.E"),
        ("moved_two_or_more", "4.12.F"),
    ):
        partial = {k: v for k, v in full.items() if k != follow_up}
        _refused(await client.post(url, json=partial, headers=headers), [follow_up], element)
    assert await counts(db) == before
    r = await client.post(url, json=full, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["lease_own_60_day"] == 1
    no = await client.post(
        url, json={"current_living_situation": 204, "leave_situation_14_days": 0}, headers=headers
    )
    assert no.status_code == 201, no.text
    # The database holds the rules too.
    for sql, row, constraint in (
        (
            "UPDATE current_living_situations SET leave_situation_14_days = NULL WHERE id = :i",
            no,
            "ck_current_living_situations_leave_situation_required",
        ),
        (
            "UPDATE current_living_situations SET moved_two_or_more = NULL WHERE id = :i",
            r,
            "ck_current_living_situations_leave_follow_ups",
        ),
    ):
        savepoint = await db.begin_nested()
        with pytest.raises(IntegrityError) as caught:
            await db.execute(text(sql), {"i": uuid.UUID(row.json()["id"])})
        await savepoint.rollback()
        assert constraint in str(caught.value)


# --- 3.12.B -------------------------------------------------------------------------------------


async def test_other_destination_is_required_for_17(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await _intake(client, headers)
    url = f"/api/v1/enrollments/{intake['enrollment']['id']}/exit"
    body = {"exit_date": today().isoformat(), "destination": 17, "exit_reason": "left_coc_area"}
    before = await counts(db)
    _refused(
        await client.post(url, json=body, headers={**headers, **ANY_VERSION}),
        ["other_destination"],
        "3.12.B",
    )
    assert await counts(db) == before
    ok = await client.post(
        url,
        json={**body, "other_destination": "Moved abroad with family"},
        headers={**headers, **ANY_VERSION},
    )
    assert ok.status_code == 201, ok.text
    savepoint = await db.begin_nested()
    with pytest.raises(IntegrityError) as caught:
        await db.execute(
            text("UPDATE exits SET other_destination = NULL WHERE enrollment_id = :e"),
            {"e": uuid.UUID(intake["enrollment"]["id"])},
        )
    await savepoint.rollback()
    assert "ck_exits_other_destination_for_17" in str(caught.value)


# --- annual assessment window -------------------------------------------------------------------


async def test_annual_assessment_only_within_30_days_of_the_anniversary(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    body = example("pending", entry_date=days_ago(380))
    body["prior_living_situation"]["date_to_street_essh"] = days_ago(400)
    body["diversion_assessment"]["housing_crisis_onset"] = days_ago(400)
    r = await client.post(INTAKES, json=body, headers=headers)
    assert r.status_code == 201, r.text
    url = f"/api/v1/enrollments/{r.json()['enrollment']['id']}/assessments"
    update = {
        "data_collection_stage": 5,
        "current_living_situation": {"current_living_situation": 116},
    }
    before = await counts(db)
    # 200 days after entry is far from the first anniversary (entry + 365).
    far = await client.post(
        url, json={**update, "assessment_date": days_ago(180)}, headers={**headers, **ANY_VERSION}
    )
    _refused(far, ["assessment_date"], "5.03")
    assert await counts(db) == before
    near = await client.post(
        url, json={**update, "assessment_date": days_ago(5)}, headers={**headers, **ANY_VERSION}
    )
    assert near.status_code == 201, near.text
    assert near.json()["assessment"]["data_collection_stage"] == 5
    # An update (stage 2) has no window.
    plain = await client.post(
        url,
        json={**update, "data_collection_stage": 2, "assessment_date": days_ago(180)},
        headers={**headers, **ANY_VERSION},
    )
    assert plain.status_code == 201, plain.text
    # Barriers recorded as an annual assessment follow the same window.
    disabilities = f"/api/v1/enrollments/{r.json()['enrollment']['id']}/disabilities"
    barriers = {
        "data_collection_stage": 5,
        "barriers": [{"disability_type": 6, "disability_response": 0}],
    }
    _refused(
        await client.post(
            disabilities, json={**barriers, "information_date": days_ago(100)}, headers=headers
        ),
        ["information_date"],
        "5.03",
    )


# --- unsuccessful diversion: 4.20 event 2 result 0, 4.19 PrioritizationStatus -------------------


async def test_ce_records_follow_the_diversion_outcome(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    placed = await _intake(client, headers, "placed")
    diverted = await _intake(client, headers, "diverted")
    pending = await _intake(client, headers)

    async def ce(intake: dict[str, Any]) -> tuple[list[Any], list[Any]]:
        e = uuid.UUID(intake["enrollment"]["id"])
        events = await rows(
            db, "SELECT event, prob_sol_div_rr_result FROM ce_events WHERE enrollment_id = :e", e=e
        )
        assessments = await rows(
            db,
            "SELECT prioritization_status, assessment_date FROM ce_assessments "
            "WHERE enrollment_id = :e",
            e=e,
        )
        return [(x["event"], x["prob_sol_div_rr_result"]) for x in events], [
            (a["prioritization_status"], a["assessment_date"]) for a in assessments
        ]

    # Not diverted: the diversion attempt is still a 4.20 event 2, with result 0 (No).
    assert await ce(placed) == ([(2, 0)], [(1, today())])
    assert await ce(diverted) == ([(2, 1)], [(2, today())])
    assert await ce(pending) == ([], [(2, today())])
    # A CLS on the same day as each 4.19 / 4.20.
    cls = await rows(
        db,
        "SELECT information_date FROM current_living_situations WHERE enrollment_id = :e",
        e=uuid.UUID(placed["enrollment"]["id"]),
    )
    assert {c["information_date"] for c in cls} == {today()}


async def test_raw_ce_assessment_agrees_with_the_queue(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    placed = await _intake(client, headers, "placed")
    pending = await _intake(
        client, headers, client={**example("pending")["client"], "first_name": "Jody"}
    )
    body = {
        "assessment_date": today().isoformat(),
        "assessment_location": "Main office",
        "assessment_type": 3,
        "assessment_level": 2,
    }

    def url(intake: dict[str, Any]) -> str:
        return f"/api/v1/enrollments/{intake['enrollment']['id']}/ce-assessments"

    before = await counts(db)
    _refused(
        await client.post(url(pending), json={**body, "prioritization_status": 1}, headers=headers),
        ["prioritization_status"],
        "4.19.7",
    )
    _refused(
        await client.post(url(placed), json={**body, "prioritization_status": 2}, headers=headers),
        ["prioritization_status"],
        "4.19.7",
    )
    assert await counts(db) == before
    for intake, status in ((pending, 2), (placed, 1)):
        r = await client.post(
            url(intake), json={**body, "prioritization_status": status}, headers=headers
        )
        assert r.status_code == 201, r.text
        assert r.json()["prioritization_status"] == status
