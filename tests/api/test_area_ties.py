"""Area ties on their own and the CoC's configurable lists."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Auth, assert_problem
from tests.support.access import give_roi
from tests.support.http import ANY_VERSION
from tests.support.intake import INTAKES, counts, example


async def test_area_ties_and_lists(client: httpx.AsyncClient, auth: Auth, db: Any) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    intake = await client.post(INTAKES, json=example("pending"), headers=headers)
    url = f"/api/v1/clients/{intake.json()['client']['id']}/area-ties"
    r = await client.post(
        url,
        json={
            "area_ties": [
                {"tie_date": "2021-03-01", "area": "coc_area", "how": "worked"},
                {"tie_date": "2022-03-01", "area": "coc_area", "how": "family"},
            ]
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    assert [t["how"] for t in r.json()["items"]] == ["worked", "family"]
    listed = await client.get(url, headers=headers)
    assert len(listed.json()["items"]) == 2
    # Lists are per CoC: only admins change them; ties then use the new codes.
    new_lists = {
        "areas": [{"code": "north_county", "label": "North County"}],
        "how": [{"code": "lived", "label": "Lived there"}],
    }
    assert_problem(
        await client.put("/api/v1/area-tie-options", json=new_lists, headers=headers), 403
    )
    admin = await auth.headers("cas_admin", org="cas")
    replaced = await client.put("/api/v1/area-tie-options", json=new_lists, headers=admin)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["configured"] is True
    before = await counts(db)
    old = await client.post(
        url,
        json={"area_ties": [{"tie_date": "2021-03-01", "area": "coc_area", "how": "lived"}]},
        headers=headers,
    )
    assert assert_problem(old, 422)["errors"][0]["loc"] == ["body", "area_ties", "0", "area"]
    assert await counts(db) == before
    ok = await client.post(
        url,
        json={"area_ties": [{"tie_date": "2021-03-01", "area": "north_county", "how": "lived"}]},
        headers=headers,
    )
    assert ok.status_code == 201, ok.text
    other = await auth.headers("case_manager2", org="access_point_2")
    assert_problem(await client.get(url, headers=other), 404)
    got = await client.get("/api/v1/area-tie-options", headers=headers)
    assert [a["code"] for a in got.json()["areas"]] == ["north_county"]


async def test_area_ties_follow_the_client_edit_rule(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    """Adding to a client's record is changing it: an agency that sees the client through the
    ROI only may read its area ties but not add any (like PATCH /clients/{id})."""
    bridge = await auth.headers("case_manager", org="access_point_1")
    intake = await client.post(INTAKES, json=example("pending"), headers=bridge)
    assert intake.status_code == 201, intake.text
    client_id = intake.json()["client"]["id"]
    await give_roi(db, client_id)
    url = f"/api/v1/clients/{client_id}/area-ties"
    ties = {"area_ties": [{"tie_date": "2021-03-01", "area": "coc_area", "how": "worked"}]}
    harbor = await auth.headers("case_manager2", org="access_point_2")
    assert (await client.get(url, headers=harbor)).status_code == 200
    assert_problem(
        await client.patch(
            f"/api/v1/clients/{client_id}",
            json={"phone": "555-0100"},
            headers={**harbor, **ANY_VERSION},
        ),
        403,
    )
    before = await counts(db)
    problem = assert_problem(await client.post(url, json=ties, headers=harbor), 403, "forbidden")
    assert "release of information" in problem["detail"]
    assert await counts(db) == before
    # The organization that enrolled the client, and admins, add them.
    assert (await client.post(url, json=ties, headers=bridge)).status_code == 201
    admin = await auth.headers("cas_admin", org="cas")
    assert (await client.post(url, json=ties, headers=admin)).status_code == 201
