"""Every client id in a request body goes through the caller's visibility check: a client the
caller may not see answers exactly like an id that does not exist, and leaves nothing behind.

The operations are discovered from the OpenAPI document: every request body property whose name
ends in ``client_id``, nested objects and arrays included. For each, the probe sends a body with
(a) a random uuid and (b) a real client the caller may not see in that place, and asserts the
same status and the same body (problem type, detail, ``errors`` locs), the same side effects
(row counts of every table) and no new row naming the hidden client.

The same holds for a merged id whose survivor the caller may not see (the merged record itself
has an ROI, so only its survivor decides): it answers like an unknown id, and neither record is
named or touched.

A body must reach the client check: when the answer to the random id is a problem that does not
name the field, the probe could not build a body for the operation and fails -- add a builder to
``BUILDERS`` (a new operation with such a field is covered as soon as it exists).
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Base
from app.permissions import Role, permissions_for
from app.services.clients.merge import client_references
from tests.api.probes import ProbeContext, example_from_schema, probe_modules
from tests.api.test_role_probe import _api_routes, _required
from tests.conftest import Auth, World
from tests.support.access import (
    HiddenFamily,
    enroll_head_at_access_point_1,
    give_roi,
    hidden_family,
    new_client,
)
from tests.support.intake import example

TARGET = "__probe_target_client_id__"
Path = tuple[str, ...]  # "[]" stands for "an element of the array"


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def client_id_fields(
    schema: dict[str, Any], components: dict[str, Any], seen: frozenset[str] = frozenset()
) -> list[Path]:
    """Paths of every property ending in ``client_id`` (through $ref, anyOf/oneOf/allOf and
    arrays)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return []
        return client_id_fields(components[name], components, seen | {name})
    found: list[Path] = []
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            found += client_id_fields(option, components, seen)
    if "items" in schema:
        found += [("[]", *p) for p in client_id_fields(schema["items"], components, seen)]
    for name, prop in schema.get("properties", {}).items():
        if name.endswith("client_id"):
            found.append((name,))
        found += [(name, *p) for p in client_id_fields(prop, components, seen)]
    return sorted(set(found))


def _object_option(schema: dict[str, Any], components: dict[str, Any], want: str) -> dict[str, Any]:
    schema = _resolve(schema, components)
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key, []):
            option = _resolve(option, components)
            if option.get("type") == want or (want == "object" and "properties" in option):
                return option
    return schema


def set_target(
    body: dict[str, Any], schema: dict[str, Any], components: dict[str, Any], path: Path
) -> dict[str, Any]:
    """``body`` with TARGET at ``path`` (an array gets an element when it has none)."""
    body = copy.deepcopy(body)
    node: Any = body
    node_schema = _object_option(schema, components, "object")
    for i, part in enumerate(path):
        last = i == len(path) - 1
        if part == "[]":
            if not node:
                node.append(example_from_schema(node_schema["items"], components))
            node_schema = _object_option(node_schema["items"], components, "object")
            node = node[0]
            continue
        prop = node_schema["properties"][part]
        if last:
            node[part] = TARGET
        else:
            nxt = path[i + 1]
            want = "array" if nxt == "[]" else "object"
            node_schema = _object_option(prop, components, want)
            if node.get(part) is None:
                node[part] = [] if want == "array" else {}
            node = node[part]
    return body


def _concrete_path(value: Any, prefix: tuple[str, ...] = ()) -> tuple[str, ...] | None:
    """Where TARGET sits in the body, array indexes included."""
    if value == TARGET:
        return prefix
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, child in items:
        found = _concrete_path(child, (*prefix, str(key)))
        if found is not None:
            return found
    return None


@dataclass
class Scenario:
    world: World
    family: HiddenFamily  # visible/visible2 (ROI) with a hidden child, of access point 2


Builder = Callable[[Scenario, Path], list[dict[str, Any]]]


def _enrollment_bodies(s: Scenario, field: Path) -> list[dict[str, Any]]:
    fam = s.family
    project = str(s.world.project_id("ap1_outreach"))
    if field == ("client_id",):
        return [
            {"client_id": TARGET, "project_id": project},
            {"client_id": TARGET, "project_id": project, "household_id": fam.household_id},
        ]
    if field == ("family_members", "[]", "client_id"):
        in_household = {
            "client_id": fam.visible,
            "project_id": project,
            "household_id": fam.household_id,
        }
        return [
            {**in_household, "family_members": [{"client_id": TARGET}]},
            {**in_household, "family_members": [{"client_id": TARGET, "enroll": False}]},
            {
                "client_id": fam.visible,
                "project_id": project,
                "family_members": [{"client_id": TARGET, "relationship_to_hoh": 2}],
            },
        ]
    return []


def _intake(**changes: Any) -> dict[str, Any]:
    body = example("pending")
    del body["client"]
    body.update(changes)
    return body


def _intake_bodies(s: Scenario, field: Path) -> list[dict[str, Any]]:
    fam = s.family
    if field == ("client_id",):
        return [_intake(client_id=TARGET), _intake(client_id=TARGET, household_id=fam.household_id)]
    if field == ("family_members", "[]", "client_id"):
        in_household = {"client_id": fam.visible, "household_id": fam.household_id}
        new_household = example("pending")
        new_household["family_members"] = [{"client_id": TARGET, "relationship_to_hoh": 2}]
        return [
            _intake(**in_household, family_members=[{"client_id": TARGET}]),
            _intake(**in_household, family_members=[{"client_id": TARGET, "enroll": False}]),
            new_household,
        ]
    return []


def _household_bodies(s: Scenario, field: Path) -> list[dict[str, Any]]:
    if field != ("members", "[]", "client_id"):
        return []
    return [
        {"members": [{"client_id": TARGET, "relationship_to_hoh": 1}]},
        {
            "members": [
                {"client_id": s.family.visible2, "relationship_to_hoh": 1},
                {"client_id": TARGET, "relationship_to_hoh": 2},
            ]
        },
    ]


# Operations whose minimal schema body does not reach the client check.
BUILDERS: dict[str, Builder] = {
    "enrollments_create": _enrollment_bodies,
    "intakes_create": _intake_bodies,
    "households_create": _household_bodies,
}

# Callers, least privileged first: the first whose role holds the route's permissions is used.
CALLERS = (
    (Role.CASE_MANAGER, "case_manager", "access_point_1"),
    (Role.SYSTEM_ADMIN, "system_admin", "hmis_lead"),
)
# Operations an access point's case manager cannot reach at all (the queue is for admins and the
# CAS organization: 404 before any body check): probed with this caller instead.
CALLER_FOR = {"queue_search": Role.SYSTEM_ADMIN, "queue_export_search": Role.SYSTEM_ADMIN}


async def _snapshot(db: AsyncSession, watched: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Row counts of every table, and rows naming a ``watched`` client (client columns and
    audit)."""
    tables = sorted(Base.metadata.tables)
    sql = " UNION ALL ".join(f"SELECT '{t}', count(*) FROM {t}" for t in tables)
    counts = {name: n for name, n in (await db.execute(text(sql))).all()}
    mentions: dict[str, int] = {}
    for hidden in watched:
        mentions_sql = " UNION ALL ".join(
            f"SELECT '{t.name}.{c.name} {hidden}', count(*) FROM {t.name} WHERE {c.name} = :h"
            for t, c in client_references()
        )
        params = {"h": uuid.UUID(hidden)}
        mentions.update((await db.execute(text(mentions_sql), params)).all())
        mentions[f"audit_events {hidden}"] = (
            await db.execute(
                text(
                    "SELECT count(*) FROM audit_events WHERE entity_id = :h "
                    "OR changes::text LIKE '%' || :s || '%' OR :h = ANY(subject_ids)"
                ),
                {"h": uuid.UUID(hidden), "s": hidden},
            )
        ).scalar_one()
    return counts, mentions


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


def _locs(body: Any) -> list[tuple[str, ...]]:
    if not isinstance(body, dict):
        return []
    return [tuple(str(p) for p in e.get("loc", ())) for e in body.get("errors") or []]


async def test_hidden_clients_in_bodies_answer_like_missing_ones(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession, app: Any
) -> None:
    ctx = ProbeContext(client=client, db=db, world=world, auth=auth)
    ids: dict[str, Any] = {}
    for module in probe_modules():
        ids.update(await module.arrange(ctx))
    fam = await hidden_family(client, auth, db)
    # A household holding a hidden member, which the probe's case manager may change.
    ids["household_id"] = fam.household_id
    await enroll_head_at_access_point_1(client, auth, world.project_id("ap1_outreach"), fam)
    other = await auth.headers("case_manager2", coc="other")
    r = await client.post(
        "/api/v1/clients", json={"first_name": "Olga", "last_name": "Elsewhere"}, headers=other
    )
    assert r.status_code == 201, r.text
    survivor, merged = await _merged_with_hidden_survivor(client, auth, db)
    # (id sent, clients that must not be named or touched) per caller
    hidden_for = {
        Role.CASE_MANAGER: [(fam.hidden, [fam.hidden]), (merged, [merged, survivor])],
        Role.SYSTEM_ADMIN: [(r.json()["id"], [r.json()["id"]])],
    }
    scenario = Scenario(world=world, family=fam)
    headers = {role: await auth.headers(user, org=org) for role, user, org in CALLERS}
    for role, secrets in hidden_for.items():
        for _, watched in secrets:
            seen = await client.get(f"/api/v1/clients/{watched[-1]}", headers=headers[role])
            assert seen.status_code == 404, (role, seen.text)

    schema = app.openapi()
    components = schema.get("components", {}).get("schemas", {})
    routes = {(r.path_format, m.lower()): r for r in _api_routes(app.routes) for m in r.methods}
    failures: list[str] = []
    probed: set[tuple[str, Path]] = set()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            op_id = operation.get("operationId", f"{method} {path}")
            for media, spec in content.items():
                fields = client_id_fields(spec["schema"], components)
                if not fields:
                    continue
                if media != "application/json":
                    failures.append(f"{op_id}: {media} body with {fields}: teach the probe")
                    continue
                required = _required(routes[(path, method)].dependant)
                role = CALLER_FOR.get(op_id) or next(
                    (c[0] for c in CALLERS if required <= permissions_for(c[0])), None
                )
                if role is None:
                    failures.append(f"{op_id}: no probe caller holds {sorted(required)}")
                    continue
                url = path.format(**{p: ids[p] for p in re.findall(r"{(\w+)}", path)})
                for field in fields:
                    builder = BUILDERS.get(op_id)
                    if builder is not None:
                        bodies = builder(scenario, field)
                    else:
                        base = example_from_schema(spec["schema"], components)
                        bodies = [set_target(base, spec["schema"], components, field)]
                    if not bodies:
                        failures.append(f"{op_id} {'.'.join(field)}: the builder has no body")
                        continue
                    for body in bodies:
                        probed.add((op_id, field))
                        failures += await _probe_one(
                            client,
                            db,
                            f"{op_id} {'.'.join(field)}",
                            method,
                            url,
                            body,
                            headers[role],
                            hidden_for[role],
                        )
    assert {op for op, _ in probed} >= {
        "enrollments_create",
        "intakes_create",
        "households_create",
        "households_members_add",
        "clients_merge",
        "queue_search",
    }
    assert not failures, "\n".join(failures)


async def _merged_with_hidden_survivor(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession
) -> tuple[str, str]:
    """(survivor, merged id): access point 2's record merged into another of its records; the
    merged record has an ROI, the survivor none (access point 1 may not see it)."""
    ap2 = await auth.headers("case_manager2", org="access_point_2")
    survivor = await new_client(client, ap2, "Greta", "Survivor")
    merged = await new_client(client, ap2, "Greta", "Survivor")
    await give_roi(db, merged)
    r = await client.post(
        f"/api/v1/clients/{survivor}/merge",
        json={"duplicate_client_id": merged},
        headers=await auth.headers("system_admin"),
    )
    assert r.status_code < 300, r.text
    return survivor, merged


def _content(r: httpx.Response) -> Any:
    """A JSON answer parsed; a file (an export) as its text."""
    return r.json() if "json" in r.headers.get("content-type", "") else r.text


async def _probe_one(
    client: httpx.AsyncClient,
    db: AsyncSession,
    label: str,
    method: str,
    url: str,
    body: dict[str, Any],
    headers: dict[str, str],
    secrets: list[tuple[str, list[str]]],
) -> list[str]:
    where = _concrete_path(body)
    assert where is not None, f"{label}: the body has no target"
    encoded = json.dumps(body)

    async def send(
        client_id: str, watched: list[str]
    ) -> tuple[httpx.Response, dict[str, int], dict[str, int]]:
        before, mentions_before = await _snapshot(db, watched)
        r = await client.request(
            method.upper(),
            url,
            content=encoded.replace(json.dumps(TARGET), json.dumps(client_id)),
            # If-Match: * so operations that require it reach the body's checks.
            headers={**headers, "content-type": "application/json", "If-Match": "*"},
        )
        after, mentions_after = await _snapshot(db, watched)
        return r, _delta(before, after), _delta(mentions_before, mentions_after)

    missing, missing_delta, _ = await send(str(uuid.uuid4()), [])
    failures = []
    is_problem = missing.headers.get("content-type", "").startswith("application/problem+json")
    if is_problem and ("body", *where) not in _locs(missing.json()):
        failures.append(
            f"{label}: the probe's body does not reach the client check "
            f"({missing.status_code} {missing.text[:200]}); add a builder to BUILDERS"
        )
    for sent, watched in secrets:
        secret, secret_delta, secret_mentions = await send(sent, watched)
        kind = "hidden client" if watched == [sent] else "merged id of a hidden survivor"
        if (secret.status_code, _content(secret)) != (missing.status_code, _content(missing)):
            failures.append(
                f"{label}: {kind} {secret.status_code} {secret.text[:200]} "
                f"!= unknown id {missing.status_code} {missing.text[:200]}"
            )
        if any(w in secret.text for w in watched if w != sent):
            failures.append(f"{label}: {kind}: the answer names the survivor")
        if secret_delta != missing_delta or secret_mentions:
            failures.append(
                f"{label}: {kind} wrote {secret_delta} (mentions {secret_mentions}), "
                f"unknown id wrote {missing_delta}"
            )
    return failures
