"""Cross-agency duplicates: an intake of someone another agency already enrolled in
Coordinated Entry (and the caller cannot see) is refused with a 409 revealing nothing but a
reference the CAS team looks up; the duplicate report lists likely pairs for admins."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Auth, World, assert_problem
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, counts, example

REFUSALS = "/api/v1/clients/duplicate-refusals"
DUPLICATES = "/api/v1/clients/duplicates"


def _pending(**client: Any) -> dict[str, Any]:
    body = example("pending")
    body["client"] = {**body["client"], **client}
    return body


async def test_intake_refuses_someone_enrolled_by_another_agency(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    first = await client.post(INTAKES, json=_pending(ssn="234-56-7891"), headers=ap2)
    assert first.status_code == 201, first.text
    ap1 = await auth.headers("case_manager", org="access_point_1")
    before = await counts(db)
    # Same name and DOB (no SSN given), then the same SSN under another name.
    for body, reason in (
        (_pending(), "name_dob"),
        (_pending(first_name="Jay", last_name="Rivers", ssn="234567891"), "ssn"),
    ):
        r = await client.post(INTAKES, json=body, headers=ap1)
        problem = assert_problem(r, 409, "possibly-enrolled-elsewhere")
        reference = problem["reference"]
        assert reference.startswith("D-") and reference in problem["detail"]
        assert "contact the CAS team" in problem["detail"]
        # Nothing about the other client: no id, no name, no agency.
        for secret in (first.json()["client"]["id"], first.json()["enrollment"]["id"], "Harbor"):
            assert secret not in r.text
        assert problem["errors"][0]["loc"] == ["body", "client"]
        # The CAS team finds the existing client and enrollment from the reference.
        cas_admin = await auth.headers("cas_admin", org="cas")
        found = await client.get(REFUSALS, params={"reference": reference}, headers=cas_admin)
        assert found.status_code == 200, found.text
        [refusal] = found.json()["items"]
        assert refusal["matched_client_id"] == first.json()["client"]["id"]
        assert refusal["matched_enrollment_id"] == first.json()["enrollment"]["id"]
        assert refusal["organization_id"] == str(world.org_id("access_point_1"))
        assert refusal["reason"] == reason
    # Nothing of the intake was written (the refusal log is not a client record).
    assert await counts(db) == before
    assert (await db.execute(text("SELECT count(*) FROM duplicate_refusals"))).scalar_one() == 2
    # Who may look refusals up.
    assert_problem(await client.get(REFUSALS, headers=ap1), 403)
    other = await auth.headers("system_admin", coc="other")
    assert (await client.get(REFUSALS, headers=other)).json()["items"] == []
    bad = await client.get(REFUSALS, params={"reference": "D-<x>"}, headers=cas_admin)
    assert_problem(bad, 422)


async def test_what_does_not_block_an_intake(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    ap1 = await auth.headers("case_manager", org="access_point_1")
    # A placeholder SSN (sequential) is not a match.
    r = await client.post(INTAKES, json=_pending(first_name="Ola", ssn="123-45-6789"), headers=ap2)
    assert r.status_code == 201, r.text
    ok = await client.post(INTAKES, json=_pending(first_name="Ulf", ssn="123456789"), headers=ap1)
    assert ok.status_code == 201, ok.text
    # An exited enrollment is not an open one.
    exited = await client.post(INTAKES, json=example("diverted"), headers=ap2)
    assert exited.status_code == 201, exited.text
    again = await client.post(INTAKES, json=example("diverted"), headers=ap1)
    assert again.status_code == 201, again.text
    # A match the caller may see is listed as a possible duplicate, never refused.
    mine = await client.post(INTAKES, json=_pending(first_name="Mia"), headers=ap1)
    assert mine.status_code == 201, mine.text
    exit_url = f"/api/v1/enrollments/{mine.json()['enrollment']['id']}/exit"
    x = await client.post(
        exit_url,
        json={
            "exit_date": mine.json()["enrollment"]["entry_date"],
            "destination": 99,
            "exit_reason": "left_coc_area",
        },
        headers={**ap1, **ANY_VERSION},
    )
    assert x.status_code == 201, x.text
    seen = await client.post(INTAKES, json=_pending(first_name="Mia"), headers=ap1)
    assert seen.status_code == 201, seen.text
    assert mine.json()["client"]["id"] in {
        d["client"]["id"] for d in seen.json()["possible_duplicates"]
    }


async def test_duplicate_report_lists_pairs_with_reasons(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> None:
    ap1 = await auth.headers("case_manager", org="access_point_1")
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    person = {"first_name": "Noor", "last_name": "Haddad", "dob": "1980-02-02"}
    a = await client.post("/api/v1/clients", json={**person, "ssn": "345-67-8912"}, headers=ap1)
    b = await client.post("/api/v1/clients", json={**person, "first_name": "noor"}, headers=ap2)
    c = await client.post(
        "/api/v1/clients",
        json={"first_name": "N", "last_name": "H", "ssn": "345678912"},
        headers=ap2,
    )
    # Placeholder SSNs are not pairs.
    for name in ("Ali", "Bo"):
        r = await client.post(
            "/api/v1/clients", json={"first_name": name, "ssn": "111-11-1111"}, headers=ap1
        )
        assert r.status_code == 201, r.text
    ids = {a.json()["id"], b.json()["id"], c.json()["id"]}
    cas_admin = await auth.headers("cas_admin", org="cas")
    pairs: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = await client.get(DUPLICATES, params=params, headers=cas_admin)
        assert page.status_code == 200, page.text
        pairs += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    found = {
        frozenset((p["client_id"], p["other_client_id"])): p["reasons"]
        for p in pairs
        if {p["client_id"], p["other_client_id"]} <= ids
    }
    assert found == {
        frozenset((a.json()["id"], b.json()["id"])): ["name_dob"],
        frozenset((a.json()["id"], c.json()["id"])): ["ssn"],
    }
    assert all(p["client_id"] < p["other_client_id"] for p in pairs)
    assert "Noor" not in page.text
    assert_problem(await client.get(DUPLICATES, headers=ap1), 403)
    admin = await auth.headers("system_admin", org="hmis_lead")
    assert (await client.get(DUPLICATES, headers=admin)).status_code == 200
    assert_problem(await client.get(DUPLICATES, params={"cursor": "nope"}, headers=admin), 422)
