"""Every route that changes an enrollment or its records (each non-GET operation whose path
holds ``{enrollment_id}``, routes added later included) refuses a caller who may see the
enrollment -- its client has an active release of information -- but may not write it (another
agency, no case assignment): 403 ``enrollment-not-writable``, and nothing changes."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Base
from tests.api.probes import ProbeContext, probe_modules
from tests.api.test_cross_org_probe import _body_for
from tests.conftest import Auth, World
from tests.support.access import give_roi
from tests.support.intake import rows


async def _state(db: AsyncSession, enrollment_id: uuid.UUID) -> tuple[Any, ...]:
    household = await rows(
        db,
        "SELECT * FROM enrollments WHERE household_group_id = "
        "(SELECT household_group_id FROM enrollments WHERE id = :id) ORDER BY id",
        id=enrollment_id,
    )
    tables = sorted(Base.metadata.tables)
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables)
    counts = dict((await db.execute(text(sql))).all())
    queue = await rows(db, "SELECT * FROM queue_entries ORDER BY id")
    assignments = await rows(db, "SELECT * FROM case_assignments ORDER BY id")
    return household, counts, queue, assignments


async def test_readers_without_the_write_right_change_nothing(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession, app: Any
) -> None:
    ctx = ProbeContext(client=client, db=db, world=world, auth=auth)
    ids: dict[str, Any] = {}
    for module in probe_modules():
        ids.update(await module.arrange(ctx))
    enrollment_id = ids["enrollment_id"]
    [owner] = await rows(db, "SELECT client_id FROM enrollments WHERE id = :id", id=enrollment_id)
    await give_roi(db, str(owner["client_id"]))
    reader = await auth.headers("case_manager2", org="access_point_2")
    seen = await client.get(f"/api/v1/enrollments/{enrollment_id}", headers=reader)
    assert seen.status_code == 200, seen.text

    schema = app.openapi()
    components = schema.get("components", {}).get("schemas", {})
    failures: list[str] = []
    probed = 0
    for path, operations in schema["paths"].items():
        params = re.findall(r"{(\w+)}", path)
        if "enrollment_id" not in params:
            continue
        url = path.format(**{p: ids[p] for p in params})
        for method, operation in operations.items():
            if method == "get":
                continue
            probed += 1
            before = await _state(db, enrollment_id)
            r = await client.request(
                method.upper(), url, headers=reader, **_body_for(operation, components)
            )
            if r.status_code != 403 or r.json().get("type") != "/problems/enrollment-not-writable":
                failures.append(f"{method.upper()} {path}: {r.status_code} {r.text[:200]}")
            if await _state(db, enrollment_id) != before:
                failures.append(f"{method.upper()} {path}: changed data")
    assert probed >= 13
    assert not failures, "\n".join(failures)
