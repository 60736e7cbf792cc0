"""An idempotent replay is answered exactly when the request itself would be allowed now.

For every idempotent operation with a path parameter (routes added later included), a stored
response is planted under each caller's key, then the request is sent with that key:

* where the same request without a key is refused (another CoC's admin, another agency's case
  manager, the same case manager once it sees the client through the ROI but may not write:
  401/403/404), the replay is refused the same way and the planted body never shows;
* where the request without a key goes through, the key replays the planted response (so the
  probe's stored responses are real ones).

A route that resolved its path's resources inside the endpoint instead of in dependencies
(``WritableEnrollment``, ``WritableHousehold``, ...) would hand the planted response out.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.http import uow
from app.services.platform import idempotency
from tests.api.probes import ProbeContext, probe_modules
from tests.api.test_cross_org_probe import _body_for
from tests.conftest import Auth, World
from tests.support.access import give_roi
from tests.support.http import ANY_VERSION

MARKER = "planted-replay-7f3c"
REFUSED = {401, 403, 404}
PRIVATE_PARAMS = {"client_id", "enrollment_id", "household_id", "user_id"}


def _bodies(world: World) -> dict[str, dict[str, Any]]:
    """Bodies whose own ids must exist (else the body, not the caller, is refused)."""
    return {
        "users_memberships_create": {
            "json": {"organization_id": str(world.org_id("access_point_2")), "role": "case_manager"}
        }
    }


def _encoded(url: str, kwargs: dict[str, Any]) -> tuple[bytes, dict[str, str], str]:
    """The exact bytes sent, their content type, and the hash a stored response is kept by."""
    if "json" in kwargs:
        raw = json.dumps(kwargs["json"]).encode()
        return raw, {"content-type": "application/json"}, uow.json_body_hash(raw)
    built = httpx.Request("POST", "http://test" + url, data=kwargs["data"], files=kwargs["files"])
    raw = built.read()
    ctype = built.headers["content-type"]
    boundary = ctype.split("boundary=", 1)[1].encode()
    hasher = uow._MultipartHasher(boundary)
    hasher.update(raw)
    return raw, {"content-type": ctype}, hasher.hexdigest()


async def _caller(
    auth: Auth, db: AsyncSession, world: World, user: str, org: str | None, coc: str = "home"
) -> tuple[dict[str, str], Any]:
    seeded = getattr(world, coc)
    user_id = seeded.users[user].id
    if org is None:
        org_id = (
            await db.execute(
                text(
                    "SELECT organization_id FROM memberships WHERE user_id = :u "
                    "ORDER BY created_at LIMIT 1"
                ),
                {"u": user_id},
            )
        ).scalar_one()
    else:
        org_id = seeded.orgs[org].id
    headers = await auth.headers(user, org=org, coc=coc)
    return headers, (user_id, org_id)


async def test_replays_answer_only_what_the_request_would_be_allowed(
    client: httpx.AsyncClient, auth: Auth, world: World, db: AsyncSession, app: Any
) -> None:
    ctx = ProbeContext(client=client, db=db, world=world, auth=auth)
    ids: dict[str, Any] = {}
    for module in probe_modules():
        ids.update(await module.arrange(ctx))
    schema = app.openapi()
    components = schema.get("components", {}).get("schemas", {})
    field_key = app.state.settings.field_encryption_key
    operations = [
        (path, method, operation)
        for path, ops in schema["paths"].items()
        for method, operation in ops.items()
        if "{" in path
        and any(p["name"] == "Idempotency-Key" for p in operation.get("parameters", []))
    ]
    # The exit last: once exited, the enrollment takes no more records.
    operations.sort(key=lambda o: o[2]["operationId"] == "enrollments_exit")
    assert len(operations) >= 15

    failures: list[str] = []
    conclusive = {"refused": 0, "replayed": 0}
    bodies = _bodies(world)

    async def probe(label: str, headers: dict[str, str], who: Any, private_only: bool) -> None:
        headers = headers | ANY_VERSION  # operations that require If-Match get past it
        for path, method, operation in operations:
            params = re.findall(r"{(\w+)}", path)
            if private_only and not set(params) & PRIVATE_PARAMS:
                continue
            url = path.format(**{p: ids[p] for p in params})
            kwargs = bodies.get(operation["operationId"]) or _body_for(operation, components)
            raw, ctype, body_hash = _encoded(url, kwargs)
            without_key = await client.request(
                method.upper(), url, content=raw, headers=headers | ctype
            )
            key = f"probe-{uuid.uuid4()}"
            actor_scope = f"{who[0]} {who[1]} {method.upper()} {path} {url}"
            idempotency.store_response(
                db,
                actor_scope,
                key,
                request_hash=body_hash,
                status_code=201,
                headers={"content-type": "application/json"},
                body=json.dumps({"planted": MARKER}).encode(),
                field_key=field_key,
            )
            await db.flush()
            with_key = await client.request(
                method.upper(), url, content=raw, headers=headers | ctype | {"Idempotency-Key": key}
            )
            name = f"{operation['operationId']} as {label}"
            if without_key.status_code in REFUSED:
                conclusive["refused"] += 1
                if MARKER in with_key.text or (
                    (with_key.status_code, with_key.json().get("type"))
                    != (without_key.status_code, without_key.json().get("type"))
                ):
                    failures.append(
                        f"{name}: without a key {without_key.status_code}, with the key "
                        f"{with_key.status_code} {with_key.text[:160]}"
                    )
            elif without_key.status_code < 300:
                conclusive["replayed"] += 1
                if MARKER not in with_key.text:
                    failures.append(f"{name}: the planted response was not replayed")

    # Another CoC's admin, and another agency's case manager: the resources are not theirs.
    headers, who = await _caller(auth, db, world, "system_admin", None, coc="other")
    await probe("another CoC's system admin", headers, who, private_only=False)
    headers, who = await _caller(auth, db, world, "case_manager2", "access_point_2")
    await probe("another agency's case manager", headers, who, private_only=True)
    # The same case manager once every probe client has an ROI: it sees them, may not write.
    for (client_id,) in (
        await db.execute(text("SELECT id FROM clients WHERE merged_into_id IS NULL"))
    ).all():
        await give_roi(db, str(client_id))
    await probe("a case manager seeing the clients through the ROI", headers, who, True)
    # The home CoC's system admin may do everything: its keys replay.
    headers, who = await _caller(auth, db, world, "system_admin", None)
    await probe("the CoC's system admin", headers, who, private_only=False)

    assert conclusive["refused"] >= 30 and conclusive["replayed"] >= 10, conclusive
    assert not failures, "\n".join(failures)
