"""Every id in a request body -- not only client ids (``test_body_client_id_probe``) -- goes
through the caller's visibility check: a record the caller may not see answers exactly like an
id that does not exist (same status, same body) and writes nothing.

The operations and fields are discovered from the OpenAPI document: every JSON body property
whose name ends in ``_id`` or ``_ids`` (nested objects and arrays included), client ids aside.
Each is sent (a) a random uuid and (b) a real record of that kind the caller cannot see: one
of the other CoC (an organization, user, project, household, unit, queue entry, service) and,
for a household, one of the caller's own CoC whose members it may not see.

A new kind of id fails the probe until ``HIDDEN`` names a record of that kind; a body that does
not reach the id's check fails until ``BUILDERS`` builds one (a new operation with such a field
is covered as soon as it exists).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Base
from app.permissions import Role, permissions_for
from tests.api.probes import ProbeContext, example_from_schema, probe_modules
from tests.api.test_body_client_id_probe import TARGET, Path, _content, _locs, set_target
from tests.api.test_role_probe import _api_routes, _required
from tests.conftest import Auth, World
from tests.support.access import new_client
from tests.support.intake import INTAKES, days_ago, example

# Field name -> the kind of record it names (its hidden records are HIDDEN[kind]).
KINDS = {
    "organization_id": "organization",
    "user_id": "user",
    "case_manager_user_id": "user",
    "case_manager_id": "user",
    "project_id": "project",
    "project_ids": "project",
    "household_id": "household",
    "unit_id": "unit",
    "queue_entry_id": "queue_entry",
    "service_id": "service",
}
# Operations left to their own tests: the login is made without a session.
SKIPPED = {"auth_login"}
DIVERSION_SERVICE = "family_reunification"

Bodies = Callable[[dict[str, Any], Path], list[dict[str, Any]]]


def _enrollment(ids: dict[str, Any], field: Path) -> list[dict[str, Any]]:
    body = {
        "client_id": ids["visible_client"],
        "project_id": ids["ap1_project"],
        "prior_living_situation": {"living_situation": 99},
    }
    return [{**body, field[0]: TARGET}]


def _intake(ids: dict[str, Any], field: Path) -> list[dict[str, Any]]:
    body = example("pending")
    if field == ("household_id",):
        del body["client"]
        body["client_id"] = ids["visible_client"]
    return [{**body, field[0]: TARGET}]


def _match(ids: dict[str, Any], field: Path) -> list[dict[str, Any]]:
    body = {"unit_id": ids["free_unit"], "queue_entry_id": ids["approved_entry"]}
    return [{**body, field[0]: TARGET}]


def _ehv(ids: dict[str, Any], field: Path) -> list[dict[str, Any]]:
    body = {"organization_id": ids["housing_2"], "user_id": ids["housing_provider"]}
    return [{**body, field[0]: TARGET}]


def _invite(ids: dict[str, Any], field: Path) -> list[dict[str, Any]]:
    email = f"probe-{uuid.uuid4().hex[:8]}@demo.example"
    return [{"email": email, "full_name": "Probe User", "role": "case_manager", field[0]: TARGET}]


def _case_note(ids: dict[str, Any], field: Path) -> list[dict[str, Any]]:
    return [{"note_date": days_ago(0), "note": "Probe note.", field[0]: TARGET}]


def _export(ids: dict[str, Any], field: Path) -> list[dict[str, Any]]:
    return [{"start_date": days_ago(30), "end_date": days_ago(0), "project_ids": [TARGET]}]


def _webhook(ids: dict[str, Any], field: Path) -> list[dict[str, Any]]:
    url = "https://partner.example/hooks"
    return [{"url": url, "event_types": ["document.uploaded"], field[0]: TARGET}]


BUILDERS: dict[str, Bodies] = {
    "enrollments_create": _enrollment,
    "intakes_create": _intake,
    "matches_create": _match,
    "matches_ehv_assign_case_manager": _ehv,
    "users_invite": _invite,
    "case_notes_create": _case_note,
    "hmis_exports_create": _export,
    "webhook_subscriptions_create": _webhook,
}
# Operations whose id check answers with a status of its own rather than a problem naming the
# field (switching to an organization: 403 "not a member" for any id).
REACHED = {"auth_switch_organization": 403}

# Callers, least privileged first: the first whose role holds the route's permissions is used.
CALLERS = (
    (Role.CASE_MANAGER, "case_manager", "access_point_1"),
    (Role.SYSTEM_ADMIN, "system_admin", "hmis_lead"),
)
# Operations whose rule is not a route permission (users are managed by system and agency
# admins; the queue is for admins and the CAS organization): probed as a system admin.
CALLER_FOR = {
    "users_invite": Role.SYSTEM_ADMIN,
    "users_memberships_create": Role.SYSTEM_ADMIN,
    "queue_search": Role.SYSTEM_ADMIN,
    "queue_export_search": Role.SYSTEM_ADMIN,
}


def id_fields(
    schema: dict[str, Any], components: dict[str, Any], seen: frozenset[str] = frozenset()
) -> list[Path]:
    """Paths of every property ending in ``_id``/``_ids`` (client ids aside)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        return id_fields(components[name], components, seen | {name})
    found: list[Path] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += id_fields(option, components, seen)
    if "items" in schema:
        found += [("[]", *p) for p in id_fields(schema["items"], components, seen)]
    for name, prop in schema.get("properties", {}).items():
        if (name.endswith("_id") or name.endswith("_ids")) and not name.endswith("client_id"):
            found.append((name,))
        found += [(name, *p) for p in id_fields(prop, components, seen)]
    return sorted(set(found))


async def _arrange_hidden(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> dict[str, list[str]]:
    """Real records of each kind that no caller of the home CoC may see."""
    other_cm = await auth.headers("case_manager", org="access_point_1", coc="other")
    a = await new_client(client, other_cm, "Otto", "Elsewhere")
    b = await new_client(client, other_cm, "Olga", "Elsewhere")
    members = [
        {"client_id": a, "relationship_to_hoh": 1},
        {"client_id": b, "relationship_to_hoh": 2},
    ]
    r = await client.post("/api/v1/households", json={"members": members}, headers=other_cm)
    assert r.status_code == 201, r.text
    other_household = r.json()["id"]
    # A household of the home CoC whose members only access point 2 sees (no ROI).
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    c = await new_client(client, ap2, "Hedda", "Hidden")
    d = await new_client(client, ap2, "Hugo", "Hidden")
    members = [
        {"client_id": c, "relationship_to_hoh": 1},
        {"client_id": d, "relationship_to_hoh": 3},
    ]
    r = await client.post("/api/v1/households", json={"members": members}, headers=ap2)
    assert r.status_code == 201, r.text
    hidden_household = r.json()["id"]
    r = await client.post(
        f"/api/v1/projects/{world.project_id('h1_psh', 'other')}/units",
        json={"label": "Other-1", "bedrooms": 1},
        headers=await auth.headers("housing_provider", coc="other"),
    )
    assert r.status_code == 201, r.text
    other_unit = r.json()["id"]
    other_cas = await auth.headers("case_manager", org="cas", coc="other")
    r = await client.post(INTAKES, json=example("placed"), headers=other_cas)
    assert r.status_code == 201, r.text
    other_entry = r.json()["queue_entry"]["id"]
    enrollment = r.json()["enrollment"]["id"]
    r = await client.post(
        f"/api/v1/enrollments/{enrollment}/services",
        json={"date_provided": days_ago(0), "service_type": DIVERSION_SERVICE},
        headers=other_cas,
    )
    assert r.status_code == 201, r.text
    other_service = r.json()["id"]
    return {
        "organization": [str(world.org_id("access_point_1", "other"))],
        "user": [str(world.user_id("case_manager", "other"))],
        "project": [str(world.project_id("ap1_outreach", "other"))],
        "household": [other_household, hidden_household],
        "unit": [other_unit],
        "queue_entry": [other_entry],
        "service": [other_service],
    }


async def _counts(db: AsyncSession) -> dict[str, int]:
    sql = " UNION ALL ".join(
        f"SELECT '{t}', count(*) FROM {t}" for t in sorted(Base.metadata.tables)
    )
    return {name: n for name, n in (await db.execute(text(sql))).all()}


async def test_hidden_records_in_bodies_answer_like_missing_ones(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession, app: Any
) -> None:
    ctx = ProbeContext(client=client, db=db, world=world, auth=auth)
    ids: dict[str, Any] = {}
    for module in probe_modules():
        ids.update(await module.arrange(ctx))
    hidden = await _arrange_hidden(client, auth, world)
    cm = await auth.headers("case_manager", org="access_point_1")
    admin = await auth.headers("system_admin")
    ids["visible_client"] = await new_client(client, cm, "Vita", "Probe")
    ids["ap1_project"] = str(world.project_id("ap1_outreach"))
    ids["housing_2"] = str(world.org_id("housing_2"))
    ids["housing_provider"] = str(world.user_id("housing_provider"))
    r = await client.post(
        f"/api/v1/projects/{world.project_id('h1_psh')}/units",
        json={"label": "Probe-free", "bedrooms": 1},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    ids["free_unit"] = r.json()["id"]
    ids["approved_entry"] = str(ids["queue_entry_id"])
    headers = {role: await auth.headers(user, org=org) for role, user, org in CALLERS}

    schema = app.openapi()
    components = schema["components"]["schemas"]
    routes = {(r.path_format, m.lower()): r for r in _api_routes(app.routes) for m in r.methods}
    failures: list[str] = []
    probed: set[str] = set()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            op_id = operation.get("operationId", f"{method} {path}")
            content = operation.get("requestBody", {}).get("content", {})
            spec = content.get("application/json")
            if spec is None or op_id in SKIPPED:
                continue
            fields = id_fields(spec["schema"], components)
            if not fields:
                continue
            required = _required(routes[(path, method)].dependant)
            role = CALLER_FOR.get(op_id) or next(
                (c[0] for c in CALLERS if required <= permissions_for(c[0])), None
            )
            assert role is not None, op_id
            url = path.format(**{p: ids[p] for p in re.findall(r"{(\w+)}", path)})
            for field in fields:
                label = f"{op_id} {'.'.join(field)}"
                kind = KINDS.get(field[-1])
                if kind is None:
                    failures.append(f"{label}: a new kind of id: name its records in KINDS")
                    continue
                builder = BUILDERS.get(op_id)
                if builder is not None:
                    bodies = builder(ids, field)
                else:
                    base = example_from_schema(spec["schema"], components)
                    bodies = [set_target(base, spec["schema"], components, field)]
                for body in bodies:
                    probed.add(op_id)
                    failures += await _probe(
                        client, db, label, method, url, body, headers[role], hidden[kind]
                    )
    assert probed >= {
        "matches_create",
        "matches_ehv_assign_case_manager",
        "enrollments_create",
        "intakes_create",
        "case_assignments_create",
        "case_notes_create",
        "users_memberships_create",
        "organizations_cas_contact_set",
        "hmis_exports_create",
    }, probed
    assert not failures, "\n".join(failures)


async def _probe(
    client: httpx.AsyncClient,
    db: AsyncSession,
    label: str,
    method: str,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    secrets: list[str],
) -> list[str]:
    encoded = json.dumps(body)

    async def send(value: str) -> tuple[httpx.Response, dict[str, int]]:
        before = await _counts(db)
        r = await client.request(
            method.upper(),
            url,
            content=encoded.replace(json.dumps(TARGET), json.dumps(value)),
            headers={**headers, "content-type": "application/json", "If-Match": "*"},
        )
        after = await _counts(db)
        return r, {k: after[k] - before[k] for k in after if after[k] != before[k]}

    missing, missing_delta = await send(str(uuid.uuid4()))
    failures = []
    if missing.status_code < 300 and missing.status_code != 200:
        failures.append(f"{label}: an unknown id was accepted ({missing.status_code})")
    if missing.headers.get("content-type", "").startswith("application/problem+json"):
        problem = missing.json()
        named = any(
            loc[:2] == ("body", label.split(" ")[1].split(".")[0]) for loc in _locs(problem)
        )
        op_id = label.split(" ")[0]
        if not named and missing.status_code not in (404, REACHED.get(op_id)):
            failures.append(
                f"{label}: the body does not reach the id's check ({missing.status_code} "
                f"{missing.text[:200]}); add a builder to BUILDERS"
            )
    for secret in secrets:
        answer, delta = await send(secret)
        if (answer.status_code, _content(answer)) != (missing.status_code, _content(missing)):
            failures.append(
                f"{label}: hidden record {answer.status_code} {answer.text[:200]} != unknown id "
                f"{missing.status_code} {missing.text[:200]}"
            )
        if delta != missing_delta:
            failures.append(f"{label}: hidden record wrote {delta}, unknown id {missing_delta}")
    return failures
