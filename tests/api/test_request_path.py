"""What every authenticated request pays for, and the checks it must keep while paying less:
pooled connections are reused (checked with one round trip, replaced when dead), no dependency
runs in a worker thread, and the user, session and membership are re-checked on every request
from one query."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta
from typing import Any

import asyncpg
import httpx
from fastapi.dependencies.models import Dependant
from sqlalchemy import event, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import create_engine
from app.models import AuthSession, Membership, Organization, User
from app.security import create_access_token, utcnow
from tests.api.test_role_probe import _api_routes
from tests.conftest import Auth, World, assert_problem

ME = "/api/v1/auth/me"


# --- the connection pool ------------------------------------------------------------------------


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def test_pooled_connections_are_reused(database_url: str, test_settings: Settings) -> None:
    """The check before use must succeed on a live connection: if it failed, every request
    would open (and PostgreSQL start) a new connection."""
    engine = create_engine(database_url, test_settings)
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))
    try:
        for _ in range(5):
            async with engine.connect() as conn:
                assert await conn.scalar(text("SELECT 1")) == 1
        assert len(opened) == 1
    finally:
        await engine.dispose()


async def test_a_dead_pooled_connection_is_replaced_before_use(
    database_url: str, test_settings: Settings
) -> None:
    engine = create_engine(database_url, test_settings)
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))
    try:
        async with engine.connect() as conn:
            pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        # Killed while pooled (from a connection outside the pool).
        killer = await asyncpg.connect(_plain(database_url))
        try:
            assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await killer.close()
        for _ in range(3):
            async with engine.connect() as conn:
                assert await conn.scalar(text("SELECT pg_backend_pid()")) != pid
        assert len(opened) == 2  # the first, and the one that replaced it
    finally:
        await engine.dispose()


async def test_connections_opened_under_load_stay_open(
    database_url: str, test_settings: Settings
) -> None:
    """With the default pool settings, a burst of parallel requests opens its connections once:
    returned connections are kept, not closed and reopened by the next burst."""
    engine = create_engine(database_url, test_settings)
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))
    try:
        for _ in range(3):
            async with contextlib.AsyncExitStack() as stack:
                for _ in range(12):
                    conn = await stack.enter_async_context(engine.connect())
                    await conn.execute(text("SELECT 1"))
        assert len(opened) == 12
    finally:
        await engine.dispose()


# --- dependencies -------------------------------------------------------------------------------


def _sync_calls(dependant: Dependant) -> set[str]:
    import inspect

    found: set[str] = set()
    for sub in dependant.dependencies:
        found |= _sync_calls(sub)
    call = dependant.call
    if call is not None:
        target = call if inspect.isfunction(call) or inspect.ismethod(call) else call.__call__  # type: ignore[operator]
        # An ``async def`` generator (a dependency with clean-up) runs on the loop too.
        if not (inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)):
            found.add(getattr(call, "__qualname__", repr(call)))
    return found


def test_no_route_runs_a_dependency_or_handler_in_a_worker_thread(app: Any) -> None:
    """FastAPI runs plain ``def`` dependencies and handlers in its thread pool: a thread hop per
    call, on every request. Ours do no blocking work, so they are all ``async def``."""
    found: dict[str, set[str]] = {}
    routes = _api_routes(app.routes)
    assert len(routes) > 50
    for route in routes:
        for name in _sync_calls(route.dependant):
            found.setdefault(name, set()).add(route.path)
    assert found == {}


# --- the actor: re-checked on every request, from one query -------------------------------------


async def _requests_and_statements(
    client: httpx.AsyncClient, app: Any, headers: dict[str, str]
) -> tuple[httpx.Response, list[str]]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    target = app.state.engine.sync_engine
    event.listen(target, "before_cursor_execute", count)
    try:
        r = await client.get("/api/v1/organizations", headers=headers, params={"limit": 1})
    finally:
        event.remove(target, "before_cursor_execute", count)
    return r, seen


async def test_the_actor_is_one_query(
    client: httpx.AsyncClient, app: Any, auth: Auth, world: World
) -> None:
    headers = await auth.headers("system_admin")
    r, statements = await _requests_and_statements(client, app, headers)
    assert r.status_code == 200, r.text
    actor_queries = [s for s in statements if "auth_sessions" in s]
    assert len(actor_queries) == 1
    # Not the user's other memberships: only the one for the token's organization.
    assert not [s for s in statements if s.lstrip().startswith("SELECT memberships.")]


async def test_me_shows_the_membership_and_organization_of_the_token(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    headers = await auth.headers("case_manager", org="cas")
    me = (await client.get(ME, headers=headers)).json()
    org = await db.get(Organization, world.org_id("cas"))
    assert org is not None
    assert me["user"]["id"] == str(world.user_id("case_manager"))
    assert me["role"] == "case_manager"
    assert me["organization"] == {
        "id": str(org.id),
        "name": org.name,
        "kind": org.kind,
        "coc_id": str(org.coc_id),
        "victim_service_provider": org.victim_service_provider,
        "access_point": org.access_point,
        "housing_provider": org.housing_provider,
        "veteran_services": org.veteran_services,
    }


async def test_a_role_change_takes_effect_on_the_next_request(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    headers = await auth.headers("case_manager", org="access_point_1")
    assert (await client.get(ME, headers=headers)).json()["role"] == "case_manager"
    await db.execute(
        update(Membership)
        .where(
            Membership.user_id == world.user_id("case_manager"),
            Membership.organization_id == world.org_id("access_point_1"),
        )
        .values(role="housing_provider")
    )
    await db.flush()
    me = (await client.get(ME, headers=headers)).json()
    assert me["role"] == "housing_provider"
    assert "clients:write" not in me["permissions"]


async def _refused(client: httpx.AsyncClient, headers: dict[str, str], detail: str) -> None:
    body = assert_problem(await client.get(ME, headers=headers), 401)
    assert body["detail"] == detail


async def test_each_reason_to_refuse_a_token_applies_at_once(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World, test_settings: Settings
) -> None:
    uid = world.user_id("case_manager")
    org_id = world.org_id("access_point_1")

    async def fresh() -> tuple[dict[str, str], uuid.UUID]:
        headers = await auth.headers("case_manager", org="access_point_1")
        assert (await client.get(ME, headers=headers)).status_code == 200
        sid = await db.scalar(
            select(AuthSession.id)
            .where(AuthSession.user_id == uid)
            .order_by(AuthSession.created_at.desc())
            .limit(1)
        )
        assert sid is not None
        return headers, sid

    # A revoked session, an expired one.
    headers, sid = await fresh()
    await db.execute(update(AuthSession).where(AuthSession.id == sid).values(revoked_at=utcnow()))
    await db.flush()
    await _refused(client, headers, "This session has ended; log in again.")
    headers, sid = await fresh()
    await db.execute(
        update(AuthSession)
        .where(AuthSession.id == sid)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    await db.flush()
    await _refused(client, headers, "This session has ended; log in again.")

    # A session of another organization, with a token naming this one.
    headers, sid = await fresh()
    await db.execute(
        update(AuthSession).where(AuthSession.id == sid).values(organization_id=world.org_id("cas"))
    )
    await db.flush()
    await _refused(client, headers, "This session acts for another organization.")

    # An unknown session.
    token = create_access_token(
        test_settings, user_id=uid, organization_id=org_id, session_id=uuid.uuid4()
    )
    await _refused(
        client,
        {"Authorization": f"Bearer {token}"},
        "Your session or your access to this organization is no longer valid.",
    )

    # The acting organization deactivated, then the account.
    headers, _ = await fresh()
    await db.execute(update(Organization).where(Organization.id == org_id).values(is_active=False))
    await db.flush()
    await _refused(client, headers, "The acting organization is deactivated.")
    await db.execute(update(Organization).where(Organization.id == org_id).values(is_active=True))
    await db.flush()
    assert (await client.get(ME, headers=headers)).status_code == 200
    await db.execute(update(User).where(User.id == uid).values(is_active=False))
    await db.flush()
    await _refused(client, headers, "This account is deactivated.")


# --- what is not done again on every request ------------------------------------------------------


async def test_a_token_verified_before_is_refused_once_it_expires(
    client: httpx.AsyncClient, auth: Auth, world: World, test_settings: Settings, monkeypatch: Any
) -> None:
    """A token's signature is verified once; its expiry is checked on every use."""
    from app import security

    headers = await auth.headers("case_manager")
    assert (await client.get(ME, headers=headers)).status_code == 200
    token = headers["Authorization"].removeprefix("Bearer ")
    expires_at = security.decode_access_token(test_settings, token).expires_at
    assert expires_at is not None
    monkeypatch.setattr(security.time, "time", lambda: expires_at.timestamp() + 1)
    await _refused(client, headers, "The access token has expired.")


async def test_a_token_signed_with_another_key_is_refused_after_a_good_one(
    client: httpx.AsyncClient, auth: Auth, world: World, test_settings: Settings
) -> None:
    from app.security import decode_access_token

    headers = await auth.headers("case_manager")
    assert (await client.get(ME, headers=headers)).status_code == 200
    claims = decode_access_token(test_settings, headers["Authorization"].removeprefix("Bearer "))
    other = test_settings.model_copy(update={"secret_key": "another-key-" + "x" * 40})
    forged = create_access_token(
        other,
        user_id=claims.user_id,
        organization_id=claims.organization_id,
        session_id=claims.session_id,
    )
    await _refused(client, {"Authorization": f"Bearer {forged}"}, "The access token is invalid.")


def test_json_documents_read_as_the_standard_library_reads_them() -> None:
    import json

    from app.db import json_loads

    for document in (
        '{"a": 1, "b": [1.5, -0.0, null, true, "\\u00e9"], "c": {"d": 1e-400}}',
        '{"big": 123456789012345678901234567890, "small": -9223372036854775809}',
        '{"x": 1e400, "y": 18446744073709551615}',
        "0.1",
        '"plain"',
    ):
        assert repr(json_loads(document)) == repr(json.loads(document))


def _first_match(app: Any, scope: dict[str, Any]) -> tuple[Any, Any]:
    from starlette.routing import Match

    partial = None
    for candidate in app.router.routes:
        match, _ = candidate.matches(scope)
        if match == Match.FULL:
            return Match.FULL, candidate
        if match == Match.PARTIAL and partial is None:
            partial = (Match.PARTIAL, candidate)
    return partial or (Match.NONE, None)


def test_routers_match_every_path_as_without_their_prefix_check(app: Any, monkeypatch: Any) -> None:
    """Routers answer "no match" at once outside their prefix: for the path of every route
    (and a few others), with every method, the router found is the one found without it."""
    from fastapi import APIRouter

    from app.routers import _PrefixedRouter

    scopes = []
    for route in _api_routes(app.routes):
        path = route.path_format
        for name in route.param_convertors:
            path = path.replace("{" + name + "}", str(uuid.uuid4()))
        for extra in ("", "/", "/x"):
            for method in ("GET", "POST", "PATCH", "PUT", "DELETE"):
                scopes.append(
                    {"type": "http", "path": path + extra, "root_path": "", "method": method}
                )
    found = [_first_match(app, scope) for scope in scopes]
    monkeypatch.setattr(_PrefixedRouter, "matches", APIRouter.matches)
    assert found == [_first_match(app, scope) for scope in scopes]


def test_query_parameter_shapes_are_remembered_and_answer_as_fastapis_own() -> None:
    """``app.http.params`` replaces a FastAPI internal: it must still be there (an upgrade that
    renames it fails here, not silently) and answer exactly as the function it remembers."""
    from typing import Annotated, Optional

    import fastapi.dependencies.utils as fastapi_params

    from app.http import params
    from app.main import create_app

    create_app()
    assert fastapi_params.field_annotation_is_sequence is params._field_annotation_is_sequence
    for annotation in (
        int,
        str,
        list[str],
        Optional[list[uuid.UUID]],  # noqa: UP045 - the typing form FastAPI also meets
        list[int] | None,
        Annotated[list[str], "x"],
        tuple[int, ...],
        dict[str, int],
        bytes,
    ):
        assert params._field_annotation_is_sequence(annotation) == params._original(annotation)
