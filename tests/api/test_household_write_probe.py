"""Every route that changes a household (each non-GET operation whose path holds
``{household_id}``, routes added later included) refuses a caller who sees a member through the
ROI only and holds no household write right: 403 ``household-not-writable``, nothing written.
The same requests from the creating organization go through, so the bodies reach the rule."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Base
from tests.api.test_cross_org_probe import _body_for
from tests.conftest import Auth, World
from tests.support.access import give_roi, new_client
from tests.support.intake import rows

# Bodies a writer's request succeeds with (else the schema's minimal example is sent).
BODIES: dict[str, Any] = {
    "households_members_update": {"relationship_to_hoh": 4},
}


async def _state(db: AsyncSession) -> tuple[Any, ...]:
    tables = sorted(Base.metadata.tables)
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables)
    counts = dict((await db.execute(text(sql))).all())
    members = await rows(db, "SELECT * FROM household_members ORDER BY id")
    households = await rows(db, "SELECT * FROM households ORDER BY id")
    return counts, members, households


async def test_roi_readers_without_the_write_right_change_no_household(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession, app: Any
) -> None:
    owner = await auth.headers("case_manager", org="access_point_1")
    head = await new_client(client, owner, "Hedda", "Probe")
    member = await new_client(client, owner, "Mats", "Probe")
    r = await client.post(
        "/api/v1/households",
        json={
            "members": [
                {"client_id": head, "relationship_to_hoh": 1},
                {"client_id": member, "relationship_to_hoh": 2},
            ]
        },
        headers=owner,
    )
    assert r.status_code == 201, r.text
    household_id = r.json()["id"]
    for cid in (head, member):
        await give_roi(db, cid)
    reader = await auth.headers("case_manager2", org="access_point_2")
    seen = await client.get(f"/api/v1/households/{household_id}", headers=reader)
    assert seen.status_code == 200, seen.text
    extra = await new_client(client, reader, "Elin", "Probe")
    await give_roi(db, extra)  # a client both organizations see, to add

    schema = app.openapi()
    components = schema.get("components", {}).get("schemas", {})
    ids = {"household_id": household_id, "client_id": member}
    failures: list[str] = []
    probed: list[tuple[str, str, dict[str, Any]]] = []
    for path, operations in schema["paths"].items():
        params = re.findall(r"{(\w+)}", path)
        if "household_id" not in params:
            continue
        url = path.format(**{p: ids[p] for p in params})
        for method, operation in operations.items():
            if method == "get":
                continue
            op_id = operation["operationId"]
            if op_id in BODIES:
                kwargs: dict[str, Any] = {"json": BODIES[op_id]}
            elif op_id == "households_members_add":
                kwargs = {"json": {"client_id": extra, "relationship_to_hoh": 4}}
            else:
                kwargs = _body_for(operation, components)
            probed.append((method, url, kwargs))
            before = await _state(db)
            r = await client.request(
                method.upper(), url, headers={**reader, "If-Match": '"1"'}, **kwargs
            )
            if r.status_code != 403 or r.json().get("type") != "/problems/household-not-writable":
                failures.append(f"{method.upper()} {path}: {r.status_code} {r.text[:200]}")
            if await _state(db) != before:
                failures.append(f"{method.upper()} {path}: changed data")
    assert len(probed) >= 3
    assert not failures, "\n".join(failures)

    # The creating organization's same requests go through (the bodies reach the rule).
    for method, url, kwargs in probed:
        current = await client.get(f"/api/v1/households/{household_id}", headers=owner)
        r = await client.request(
            method.upper(), url, headers={**owner, "If-Match": current.headers["etag"]}, **kwargs
        )
        assert r.status_code < 300, (method, url, r.text)
    assert uuid.UUID(household_id)
