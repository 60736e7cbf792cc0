"""Bad input to the atomic intake: each rule is a problem naming the field, and nothing is
written (no client, household, enrollment or record)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Auth, assert_problem
from tests.support.intake import INTAKES, counts, example, rows, today

TOMORROW = (today() + timedelta(days=1)).isoformat()


def _set(path: str, value: Any, name: str = "pending") -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        body = example(name)
        *parents, last = path.split(".")
        target: Any = body
        for p in parents:
            target = target[int(p)] if p.isdigit() else target[p]
        target[int(last) if last.isdigit() else last] = value
        return body

    return build


def _drop(path: str, name: str) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        body = example(name)
        *parents, last = path.split(".")
        target: Any = body
        for p in parents:
            target = target[p]
        del target[last]
        return body

    return build


def _two_heads() -> dict[str, Any]:
    body = example("diverted")
    body["family_members"][0]["relationship_to_hoh"] = 1
    return body


def _no_head() -> dict[str, Any]:
    body = example("diverted", relationship_to_hoh=3)
    return body


def _prior(block: dict[str, Any], name: str = "pending") -> Callable[[], dict[str, Any]]:
    return _set("prior_living_situation", block, name)


def _street_after_entry() -> dict[str, Any]:
    body = example("pending", entry_date=_ago(5))
    body["prior_living_situation"]["date_to_street_essh"] = _ago(1)
    return body


def _ago(days: int) -> str:
    return (today() - timedelta(days=days)).isoformat()


def _diverted_back_dated(**diversion: Any) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        body = example("diverted", entry_date=_ago(3))
        body["diversion"]["exit_date"] = _ago(2)
        for key, value in diversion.items():
            if key == "exit_cls_date":
                body["diversion"]["exit_current_living_situation"]["information_date"] = value
            else:
                body["diversion"]["services"][0][key] = value
        return body

    return build


CASES: list[tuple[str, Callable[[], dict[str, Any]], int, list[str]]] = [
    # A living-situation code not allowed for that field (each field excludes different codes).
    (
        "prior 17 (Other)",
        _set("prior_living_situation.living_situation", 17),
        422,
        ["prior_living_situation", "living_situation"],
    ),
    (
        "prior 422",
        _set("prior_living_situation.living_situation", 422),
        422,
        ["prior_living_situation", "living_situation"],
    ),
    (
        "CLS 30",
        _set("current_living_situation.current_living_situation", 30),
        422,
        ["current_living_situation", "current_living_situation"],
    ),
    (
        "CLS 24 deceased",
        _set("current_living_situation.current_living_situation", 24),
        422,
        ["current_living_situation", "current_living_situation"],
    ),
    (
        "destination 336",
        _set("diversion.destination", 336, "diverted"),
        422,
        ["diversion", "destination"],
    ),
    (
        "diverted to a homeless destination",
        _set("diversion.destination", 116, "diverted"),
        422,
        ["diversion", "destination"],
    ),
    (
        "destination 435 without subsidy",
        _set("diversion.destination", 435, "diverted"),
        422,
        ["diversion", "destination_subsidy_type"],
    ),
    (
        "exit CLS 313",
        _set("diversion.exit_current_living_situation.current_living_situation", 313, "diverted"),
        422,
        ["diversion", "exit_current_living_situation", "current_living_situation"],
    ),
    (
        "3.917 history missing",
        _drop("prior_living_situation.date_to_street_essh", "pending"),
        422,
        ["prior_living_situation", "date_to_street_essh"],
    ),
    (
        "exit before entry",
        _set("diversion.exit_date", "2020-01-01", "diverted"),
        422,
        ["diversion", "exit_date"],
    ),
    ("future entry date", _set("entry_date", TOMORROW), 422, ["entry_date"]),
    (
        "future CLS date",
        _set("current_living_situation.information_date", TOMORROW),
        422,
        ["current_living_situation", "information_date"],
    ),
    (
        "future exit date",
        _set("diversion.exit_date", TOMORROW, "diverted"),
        422,
        ["diversion", "exit_date"],
    ),
    ("two heads", _two_heads, 422, ["family_members", "0", "relationship_to_hoh"]),
    ("no head", _no_head, 422, ["relationship_to_hoh"]),
    (
        "diverted without a service",
        _set("diversion.services", [], "diverted"),
        422,
        ["diversion", "services"],
    ),
    (
        "diversion other without a note",
        _set("diversion.services", [{"service_type": "successful_diversion_other"}], "diverted"),
        422,
        ["diversion", "case_note"],
    ),
    (
        "diverted without exit CLS",
        _drop("diversion.exit_current_living_situation", "diverted"),
        422,
        ["diversion", "exit_current_living_situation"],
    ),
    ("diverted without the diversion block", _drop("diversion", "diverted"), 422, ["diversion"]),
    ("placed without housing needs", _drop("housing_needs", "placed"), 422, ["housing_needs"]),
    (
        "VASH by a non-veteran-services org",
        _set("housing_needs.hud_vash_eligible", 1, "placed"),
        422,
        ["housing_needs", "hud_vash_eligible"],
    ),
    ("ready without diverted answer", _set("ready_for_outcome", True), 422, ["diverted"]),
    (
        "area not on the CoC list",
        _set("area_ties.0.area", "atlantis", "placed"),
        422,
        ["area_ties", "0", "area"],
    ),
    (
        "indefinite missing",
        _set("barriers.2", {"disability_type": 7, "disability_response": 1}, "placed"),
        422,
        ["barriers", "2", "indefinite_and_impairs"],
    ),
    (
        "disabling barrier but no disabling condition",
        _set("disabling_condition", 0, "placed"),
        422,
        ["disabling_condition"],
    ),
    # HUD 3.917 skip logic per living-situation group and length of stay.
    (
        "homeless prior with LOSUnderThreshold",
        _set("prior_living_situation.los_under_threshold", 1),
        422,
        ["prior_living_situation", "los_under_threshold"],
    ),
    (
        "institutional under 90 days without PreviousStreetESSH",
        _prior({"living_situation": 207, "length_of_stay": 3}),
        422,
        ["prior_living_situation", "previous_street_essh"],
    ),
    (
        "institutional 90+ days with homeless history",
        _prior(
            {
                "living_situation": 207,
                "length_of_stay": 4,
                "date_to_street_essh": "2024-01-01",
                "times_homeless_past_three_years": 1,
                "months_homeless_past_three_years": 101,
            }
        ),
        422,
        ["prior_living_situation", "date_to_street_essh"],
    ),
    (
        "temporary: LOSUnderThreshold contradicts a 1-4 week stay",
        _prior({"living_situation": 314, "length_of_stay": 2, "los_under_threshold": 1}),
        422,
        ["prior_living_situation", "los_under_threshold"],
    ),
    (
        "permanent under 7 nights, not from the street, with history",
        _prior(
            {
                "living_situation": 410,
                "length_of_stay": 11,
                "previous_street_essh": 0,
                "times_homeless_past_three_years": 1,
            }
        ),
        422,
        ["prior_living_situation", "times_homeless_past_three_years"],
    ),
    (
        "not collected without a length of stay, with PreviousStreetESSH",
        _prior({"living_situation": 99, "previous_street_essh": 1}),
        422,
        ["prior_living_situation", "previous_street_essh"],
    ),
    (
        "homeless without a length of stay",
        _prior({"living_situation": 101}),
        422,
        ["prior_living_situation", "length_of_stay"],
    ),
    (
        "date to street/ES/SH after the entry date",
        _street_after_entry,
        422,
        ["prior_living_situation", "date_to_street_essh"],
    ),
    # Disabling Condition agrees with the barriers.
    (
        "disabling condition Yes with every barrier ruled out",
        _set("disabling_condition", 1),
        422,
        ["disabling_condition"],
    ),
    (
        "substance use present but not indefinite and impairing: disabling No is right",
        _set(
            "barriers.5",
            {"disability_type": 10, "disability_response": 3, "indefinite_and_impairs": 0},
            "pending",
        ),
        201,
        [],
    ),
    (
        "indefinite_and_impairs on developmental disability",
        _set(
            "barriers.1",
            {"disability_type": 6, "disability_response": 1, "indefinite_and_impairs": 1},
            "placed",
        ),
        422,
        ["barriers", "1", "indefinite_and_impairs"],
    ),
    # Dates inside the stay.
    (
        "diversion service after the exit",
        _diverted_back_dated(date_provided=_ago(1)),
        422,
        ["diversion", "services", "0", "date_provided"],
    ),
    (
        "CLS at exit after the exit date",
        _diverted_back_dated(exit_cls_date=_ago(1)),
        422,
        ["diversion", "exit_current_living_situation", "information_date"],
    ),
    (
        "translation: language 21 without text",
        _set("translation", {"translation_needed": 1, "preferred_language": 21}),
        422,
        ["translation", "preferred_language_different"],
    ),
]


@pytest.mark.parametrize(("label", "build", "status", "loc"), CASES, ids=[c[0] for c in CASES])
async def test_bad_intake_names_field_and_writes_nothing(
    client: httpx.AsyncClient,
    auth: Auth,
    db: Any,
    label: str,
    build: Callable[[], dict[str, Any]],
    status: int,
    loc: list[str],
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    before = await counts(db)
    r = await client.post(INTAKES, json=build(), headers=headers)
    if status == 201:  # a near miss that must be accepted
        assert r.status_code == 201, r.text
        return
    body = assert_problem(r, status)
    assert body["errors"][0]["loc"] == ["body", *loc], body
    assert await counts(db) == before, label


@pytest.mark.parametrize(
    ("block", "stored"),
    [
        # Institutional stay under 90 days, on the street before it: history asked.
        (
            {
                "living_situation": 207,
                "length_of_stay": 3,
                "previous_street_essh": 1,
                "date_to_street_essh": "2024-02-01",
                "times_homeless_past_three_years": 2,
                "months_homeless_past_three_years": 112,
            },
            {"los_under_threshold": 1, "previous_street_essh": 1, "times": 2, "months": 112},
        ),
        # Institutional stay of 90 days or more: the break, nothing further.
        (
            {"living_situation": 204, "length_of_stay": 4},
            {"los_under_threshold": 0, "previous_street_essh": None, "times": None, "months": None},
        ),
        # Temporary stay under 7 nights, not from the street: break at PreviousStreetESSH.
        (
            {"living_situation": 314, "length_of_stay": 10, "previous_street_essh": 0},
            {"los_under_threshold": 1, "previous_street_essh": 0, "times": None, "months": None},
        ),
        # Temporary stay of 2-6 nights is under the 7-night threshold; a week or more is not.
        (
            {"living_situation": 332, "length_of_stay": 2},
            {"los_under_threshold": 0, "previous_street_essh": None, "times": None, "months": None},
        ),
        # Data not collected, with or without a length of stay (grouped with temp/permanent).
        (
            {"living_situation": 99},
            {
                "los_under_threshold": None,
                "previous_street_essh": None,
                "times": None,
                "months": None,
            },
        ),
        (
            {"living_situation": 8, "length_of_stay": 11, "previous_street_essh": 99},
            {"los_under_threshold": 1, "previous_street_essh": 99, "times": None, "months": None},
        ),
        # Length of stay unknown: LOSUnderThreshold is the caller's answer.
        (
            {"living_situation": 410, "length_of_stay": 8, "los_under_threshold": 0},
            {"los_under_threshold": 0, "previous_street_essh": None, "times": None, "months": None},
        ),
    ],
)
async def test_prior_living_situation_skip_logic_is_stored(
    client: httpx.AsyncClient, auth: Auth, db: Any, block: dict[str, Any], stored: dict[str, Any]
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    r = await client.post(
        INTAKES, json=example("pending", prior_living_situation=block), headers=headers
    )
    assert r.status_code == 201, r.text
    [row] = await rows(
        db,
        "SELECT living_situation, length_of_stay, los_under_threshold, previous_street_essh, "
        "times_homeless_past_three_years AS times, months_homeless_past_three_years AS months "
        "FROM enrollments WHERE id = :e",
        e=uuid.UUID(r.json()["enrollment"]["id"]),
    )
    assert row["living_situation"] == block["living_situation"]
    assert row["length_of_stay"] == block.get("length_of_stay")
    assert {k: row[k] for k in stored} == stored


async def test_members_not_in_the_household(client: httpx.AsyncClient, auth: Auth, db: Any) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    family = await client.post(INTAKES, json=example("diverted"), headers=headers)
    assert family.status_code == 201, family.text
    stranger = await client.post(INTAKES, json=example("diverted"), headers=headers)
    assert stranger.status_code == 201, stranger.text
    stranger_child = next(
        e["client_id"]
        for e in stranger.json()["household_enrollments"]
        if e["relationship_to_hoh"] == 2
    )
    body = example("pending", household_id=family.json()["household_id"])
    del body["client"]
    body["client_id"] = family.json()["client"]["id"]
    body["family_members"] = [{"client_id": stranger_child}]
    before = await counts(db)
    r = await client.post(INTAKES, json=body, headers=headers)
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"] == ["body", "family_members", "0", "client_id"]
    assert await counts(db) == before


async def test_veteran_services_org_may_set_vash(client: httpx.AsyncClient, auth: Auth) -> None:
    headers = await auth.headers("case_manager2", org="access_point_2")
    body = example("placed")
    body["housing_needs"]["hud_vash_eligible"] = 1
    r = await client.post(INTAKES, json=body, headers=headers)
    assert r.status_code == 201, r.text
    enrollment_id = r.json()["enrollment"]["id"]
    latest = await client.get(f"/api/v1/enrollments/{enrollment_id}/latest-values", headers=headers)
    assert latest.json()["housing_needs"]["hud_vash_eligible"] == 1


async def test_failure_after_client_creation_leaves_no_client(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    """The household check runs after the new clients are written: still nothing remains."""
    headers = await auth.headers("case_manager", org="access_point_1")
    body = example("diverted")
    body["family_members"][0]["enroll"] = False
    body["relationship_to_hoh"] = 2
    body["family_members"][0]["relationship_to_hoh"] = 1
    before = await counts(db)
    r = await client.post(INTAKES, json=body, headers=headers)
    problem = assert_problem(r, 422)
    assert problem["errors"][0]["loc"] == ["body", "family_members", "0", "enroll"]
    assert await counts(db) == before
