"""Every route that declares required permissions (``require`` / ``require_for_clients``)
refuses each role that lacks one of them -- routes added later are covered too. The answer is
403, or 404 where the role cannot even see the resource (lookups come first, DOMAIN 3)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.permissions import Role, permissions_for
from tests.api.probes import ProbeContext, probe_modules
from tests.api.test_cross_org_probe import _body_for
from tests.conftest import Auth, World

# A seeded user (and organization) for each role, none of them a victim service provider.
ROLE_USERS = {
    Role.SYSTEM_ADMIN: ("system_admin", "hmis_lead"),
    Role.CAS_ADMIN: ("cas_admin", "cas"),
    Role.AGENCY_ADMIN: ("agency_admin", "access_point_1"),
    Role.CASE_MANAGER: ("case_manager", "access_point_1"),
    Role.HOUSING_PROVIDER: ("housing_provider", "housing_1"),
}


def _api_routes(routes: Any) -> list[APIRoute]:
    """Routes of the app, looking inside included routers."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes)
        elif hasattr(route, "routes"):
            found += _api_routes(route.routes)
    return found


def _required(dependant: Dependant) -> frozenset[Any]:
    found: frozenset[Any] = getattr(dependant.call, "required_permissions", frozenset())
    for sub in dependant.dependencies:
        found |= _required(sub)
    return found


async def test_roles_without_the_permission_are_refused(
    client: httpx.AsyncClient, auth: Auth, world: World, db: Any, app: Any
) -> None:
    ctx = ProbeContext(client=client, db=db, world=world, auth=auth)
    ids: dict[str, Any] = {}
    for module in probe_modules():
        ids.update(await module.arrange(ctx))
    schema = app.openapi()
    components = schema.get("components", {}).get("schemas", {})
    headers = {role: await auth.headers(user, org=org) for role, (user, org) in ROLE_USERS.items()}
    failures: list[str] = []
    probed = 0
    forbidden = 0
    for route in _api_routes(app.routes):
        required = _required(route.dependant)
        if not required:
            continue
        url = route.path_format.format(
            **{p: ids[p] for p in re.findall(r"{(\w+)}", route.path_format)}
        )
        for method in sorted(route.methods or []):
            operation = schema["paths"][route.path_format][method.lower()]
            for role, role_headers in headers.items():
                if required <= permissions_for(role):
                    continue
                probed += 1
                r = await client.request(
                    method, url, headers=role_headers, **_body_for(operation, components)
                )
                if r.status_code == 403:
                    forbidden += 1
                if r.status_code not in (403, 404) or not r.headers.get(
                    "content-type", ""
                ).startswith("application/problem+json"):
                    failures.append(
                        f"{method} {route.path_format} as {role.value}: "
                        f"{r.status_code} {r.text[:120]}"
                    )
                elif str(r.status_code) not in operation["responses"]:
                    failures.append(
                        f"{method} {route.path_format} as {role.value}: {r.status_code} is not "
                        "among the operation's documented responses"
                    )
    assert probed > 50 and forbidden > probed // 2
    assert not failures, "\n".join(failures)


# Operations that end the caller's session, or stream until the token expires.
_NOT_PROBED = {"auth_logout", "auth_switch_organization", "notifications_stream"}


async def test_every_role_gets_only_documented_answers(
    client: httpx.AsyncClient, auth: Auth, world: World, db: Any, app: Any
) -> None:
    """Each role calls every operation that names no record in its path (a list, a search, a
    create): whatever the answer -- a page, 403, 404 where the role cannot see the list at all,
    a 422 for the probe's minimal body -- its status is among the operation's documented
    responses, as generated clients rely on."""
    schema = app.openapi()
    components = schema.get("components", {}).get("schemas", {})
    headers = {role: await auth.headers(user, org=org) for role, (user, org) in ROLE_USERS.items()}
    failures: list[str] = []
    probed = 0
    for path, operations in schema["paths"].items():
        if "{" in path or not path.startswith("/api/"):
            continue
        for method, operation in operations.items():
            if operation["operationId"] in _NOT_PROBED:
                continue
            kwargs = _body_for(operation, components)
            for role, role_headers in headers.items():
                probed += 1
                r = await client.request(method.upper(), path, headers=role_headers, **kwargs)
                if str(r.status_code) not in operation["responses"]:
                    failures.append(
                        f"{method.upper()} {path} as {role.value}: {r.status_code} {r.text[:120]}"
                    )
    assert probed > 200
    assert not failures, "\n".join(failures)
