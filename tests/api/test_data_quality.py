"""Data-quality flags HUD's reporting glossary applies (accepted, flagged, listed for admins in
``GET /data-quality/issues``; a corrected value resolves its issue)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import Auth, World, assert_problem
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, days_ago, example, today

ISSUES = "/api/v1/data-quality/issues"


async def _all(http: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        page = await http.get(
            ISSUES,
            params={"limit": 2, **params, **({"cursor": cursor} if cursor else {})},
            headers=headers,
        )
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


async def test_issues_are_flagged_listed_and_resolved(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession
) -> None:
    ap1 = await auth.headers("case_manager", org="access_point_1")
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    created = {}
    for key, headers, body in (
        ("sequential", ap1, {"first_name": "Ada", "ssn": "123-45-6789"}),
        ("repeated", ap2, {"first_name": "Bo", "ssn": "111-11-1111"}),
        ("old", ap1, {"first_name": "Cy", "dob": "1910-06-01"}),
        ("fine", ap1, {"first_name": "Di", "ssn": "234-56-7890", "dob": "1980-01-01"}),
    ):
        r = await client.post("/api/v1/clients", json=body, headers=headers)
        assert r.status_code == 201, r.text  # accepted, as HUD does
        created[key] = r.json()["id"]
    # At an enrollment's entry: born after the entry date, older than 105.
    baby = example("pending", entry_date=days_ago(40))
    baby["prior_living_situation"]["date_to_street_essh"] = days_ago(50)
    baby["client"] = {"first_name": "Eve", "dob": days_ago(10)}
    r = await client.post(INTAKES, json=baby, headers=ap1)
    assert r.status_code == 201, r.text
    baby_client, baby_enrollment = r.json()["client"]["id"], r.json()["enrollment"]["id"]
    elder = example("pending")
    elder["client"] = {
        "first_name": "Fay",
        "dob": (today() - timedelta(days=365 * 107)).isoformat(),
    }
    r = await client.post(INTAKES, json=elder, headers=ap1)
    assert r.status_code == 201, r.text

    admin = await auth.headers("cas_admin", org="cas")
    issues = await _all(client, admin)
    by_client = {(i["client_id"], i["kind"]) for i in issues}
    assert by_client == {
        (created["sequential"], "ssn_sequential_or_repeated"),
        (created["repeated"], "ssn_sequential_or_repeated"),
        (created["old"], "dob_before_1915"),
        (r.json()["client"]["id"], "age_over_105"),
        (baby_client, "dob_after_entry"),
    }
    [after_entry] = [i for i in issues if i["kind"] == "dob_after_entry"]
    assert after_entry["enrollment_id"] == baby_enrollment
    assert after_entry["organization_id"] == str(world.org_id("access_point_1"))
    assert "Ada" not in str(issues) and "1910-06-01" not in str(issues)  # ids and kinds only
    # Filters: organization (whose record) and kind.
    mine = await _all(client, admin, organization_id=str(world.org_id("access_point_2")))
    assert [(i["client_id"], i["kind"]) for i in mine] == [
        (created["repeated"], "ssn_sequential_or_repeated")
    ]
    olds = await _all(client, admin, kind="dob_before_1915")
    assert [i["client_id"] for i in olds] == [created["old"]]
    assert_problem(await client.get(ISSUES, params={"kind": "bad"}, headers=admin), 422)
    # Fixing the value resolves the issue.
    fixed = await client.patch(
        f"/api/v1/clients/{created['sequential']}",
        json={"ssn": "234-56-7891"},
        headers={**ap1, **ANY_VERSION},
    )
    assert fixed.status_code == 200, fixed.text
    remaining = {(i["client_id"], i["kind"]) for i in await _all(client, admin)}
    assert (created["sequential"], "ssn_sequential_or_repeated") not in remaining
    # Admins only; another CoC sees none of these.
    for user, org in (("case_manager", "access_point_1"), ("agency_admin", "access_point_1")):
        assert_problem(await client.get(ISSUES, headers=await auth.headers(user, org=org)), 403)
    assert (await client.get(ISSUES, headers=await auth.headers("system_admin"))).status_code == 200
    other = await auth.headers("system_admin", coc="other")
    assert (await client.get(ISSUES, headers=other)).json()["items"] == []
