"""Bad input to the atomic intake: each rule is a problem naming the field, and nothing is
written (no client, household, enrollment or record)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import Auth, assert_problem
from tests.intake_support import INTAKES, counts, example

TOMORROW = (date.today() + timedelta(days=1)).isoformat()


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
    body = assert_problem(r, status)
    assert body["errors"][0]["loc"] == ["body", *loc], body
    assert await counts(db) == before, label


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
