"""Every route that changes a client's record (each non-GET operation under
``/api/v1/clients/{client_id}``, routes added later included) refuses a caller who sees the client
through its release of information only (another agency, no link to the client): 403 (404 where
the collection is not theirs to know about, Document Check), nothing written and no file stored."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Base
from app.storage import FileStore
from tests.api.probes import ProbeContext, probe_modules
from tests.api.test_cross_org_probe import _body_for
from tests.conftest import Auth, World
from tests.support.access import give_roi
from tests.support.documents import stored_files
from tests.support.http import ANY_VERSION


async def _counts(db: AsyncSession) -> dict[str, int]:
    tables = sorted(t for t in Base.metadata.tables if t not in {"audit_events", "jobs"})
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables)
    return dict((await db.execute(text(sql))).all())  # type: ignore[arg-type]


async def test_readers_through_the_release_of_information_change_nothing(
    client: httpx.AsyncClient,
    auth: Auth,
    world: World,
    db: AsyncSession,
    app: Any,
    store: FileStore,
    files_root: Path,
) -> None:
    ctx = ProbeContext(client=client, db=db, world=world, auth=auth)
    ids: dict[str, Any] = {}
    for module in probe_modules():
        ids.update(await module.arrange(ctx))
    await give_roi(db, str(ids["client_id"]))
    reader = {**(await auth.headers("case_manager2", org="access_point_2")), **ANY_VERSION}
    seen = await client.get(f"/api/v1/clients/{ids['client_id']}", headers=reader)
    assert seen.status_code == 200, seen.text

    schema = app.openapi()
    components = schema.get("components", {}).get("schemas", {})
    failures: list[str] = []
    probed = 0
    for path, operations in schema["paths"].items():
        if not path.startswith("/api/v1/clients/{client_id}"):
            continue
        url = path.format(**{p: ids[p] for p in re.findall(r"{(\w+)}", path)})
        for method, operation in operations.items():
            if method == "get":
                continue
            probed += 1
            before, files = await _counts(db), stored_files(files_root)
            body = _body_for(operation, components)
            if body.get("json") == {}:
                body["json"] = {"first_name": "Probe"}  # an update that changes something
            r = await client.request(method.upper(), url, headers=reader, **body)
            if r.status_code not in (403, 404):
                failures.append(f"{method.upper()} {path}: {r.status_code} {r.text[:200]}")
            if await _counts(db) != before or stored_files(files_root) != files:
                failures.append(f"{method.upper()} {path}: changed data")
    assert probed >= 6
    assert not failures, "\n".join(failures)
