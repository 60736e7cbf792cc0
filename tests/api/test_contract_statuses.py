"""Every status the API answers is one its operation declares: a generated client only knows
the answers listed in the document (a 404 an operation does not declare reaches a front end
as an unknown error). Every operation is called, as callers of every kind (admins, the CAS
organization's and other agencies' case managers, a housing provider, a victim service
provider, another CoC's admin), with a minimal body, routes added later included."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.api.probes import ProbeContext, probe_modules
from tests.api.test_cross_org_probe import _body_for
from tests.conftest import Auth, World

# Calls that end the caller's own session (the probe keeps using it) or change the caller.
SESSION_ENDING = {"auth_logout", "auth_switch_organization", "users_update"}


async def test_every_answered_status_is_declared(
    client: httpx.AsyncClient, auth: Auth, world: World, db: Any, app: Any
) -> None:
    ctx = ProbeContext(client=client, db=db, world=world, auth=auth)
    ids: dict[str, Any] = {}
    for module in probe_modules():
        ids.update(await module.arrange(ctx))
    document = app.openapi()
    components = document["components"]["schemas"]
    callers = {
        "system admin": await auth.headers("system_admin"),
        "CAS admin": await auth.headers("cas_admin"),
        "access point case manager": await auth.headers("case_manager", org="access_point_1"),
        "other agency case manager": await auth.headers("case_manager2"),
        "housing provider": await auth.headers("housing_provider"),
        "victim service provider": await auth.headers("vsp_case_manager"),
        "other CoC admin": await auth.headers("system_admin", coc="other"),
    }
    failures: set[str] = set()
    called = 0
    for path, operations in document["paths"].items():
        if path.endswith("/stream"):
            continue  # a long-lived answer, with its own tests
        url = path.format(**{p: ids[p] for p in re.findall(r"{(\w+)}", path)})
        for method, operation in operations.items():
            if method == "delete" or operation["operationId"] in SESSION_ENDING:
                continue
            declared = set(operation["responses"])
            body = _body_for(operation, components) if method != "get" else {}
            for name, headers in callers.items():
                r = await client.request(
                    method.upper(), url, headers={**headers, "If-Match": "*"}, **body
                )
                called += 1
                if str(r.status_code) not in declared:
                    failures.add(
                        f"{method.upper()} {path} ({operation['operationId']}): "
                        f"{r.status_code} as {name}, declared {sorted(declared)}"
                    )
    assert called > 500
    assert not failures, "\n".join(sorted(failures))
