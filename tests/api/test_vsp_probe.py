"""Victim service providers may not hold identifiable client data (DOMAIN 2): every route that
reads or writes client data refuses a user acting for a VSP with 403
``/problems/victim-service-provider`` -- routes added later are covered automatically."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.api.probes import ProbeContext, probe_modules
from tests.api.test_cross_org_probe import _body_for
from tests.conftest import Auth, World

CLIENT_DATA = re.compile(
    r"^/api/v1/(clients|households|enrollments|cas|document-checks|client-files)(/|$)"
)


async def test_vsp_users_are_refused_every_client_data_route(
    client: httpx.AsyncClient, auth: Auth, world: World, db: Any, app: Any
) -> None:
    ctx = ProbeContext(client=client, db=db, world=world, auth=auth)
    ids: dict[str, Any] = {}
    for module in probe_modules():
        ids.update(await module.arrange(ctx))
    schema = app.openapi()
    components = schema.get("components", {}).get("schemas", {})
    vsp = await auth.headers("vsp_case_manager")
    failures: list[str] = []
    probed = 0
    for path, operations in schema["paths"].items():
        if not CLIENT_DATA.match(path):
            continue
        url = path.format(**{p: ids[p] for p in re.findall(r"{(\w+)}", path)})
        for method, operation in operations.items():
            probed += 1
            r = await client.request(
                method.upper(), url, headers=vsp, **_body_for(operation, components)
            )
            body = r.json() if r.headers.get("content-type", "").endswith("json") else {}
            if r.status_code != 403 or body.get("type") != "/problems/victim-service-provider":
                failures.append(f"{method.upper()} {path}: {r.status_code} {r.text[:120]}")
    assert probed > 40
    assert not failures, "\n".join(failures)
