"""Foundation review: rules found missing or broken (cursor tampering, 500 answers, token and
session invalidation, agency-admin limits, auth events in the audit trail, nested redaction)."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.main import create_app
from app.models import AuditEvent, AuthSession, Membership, OneTimeToken, User
from app.security import utcnow
from app.services.identity import auth as auth_service
from app.services.platform import audit
from tests.conftest import PASSWORD, Auth, World, assert_problem

USERS = "/api/v1/users"


def _cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


async def _login(
    client: httpx.AsyncClient, email: str = "case_manager@demo.example", password: str = PASSWORD
) -> httpx.Response:
    return await client.post("/api/v1/auth/login", json={"email": email, "password": password})


@pytest.mark.parametrize(
    "values",
    [
        [{"u": 5}, {"u": 5}],
        [1, "x"],
        ["x", "not-a-uuid-object"],
        [{"t": "2020-01-01T00:00:00+00:00"}, {"u": "00000000-0000-0000-0000-000000000000"}],
        [{"x": 1}, 2],
        [10**30, None],
        [True, [1]],
    ],
)
async def test_tampered_cursors_are_422_not_500(
    client: httpx.AsyncClient, auth: Auth, values: list[Any]
) -> None:
    admin = await auth.headers("system_admin")
    for path in ("/api/v1/audit-events", "/api/v1/organizations", USERS):
        r = await client.get(path, params={"cursor": _cursor(values)}, headers=admin)
        if path == "/api/v1/audit-events" and isinstance(values[0], dict) and "t" in values[0]:
            assert r.status_code == 200, r.text  # a well-typed cursor is simply used
            continue
        body = assert_problem(r, 422)
        assert body["errors"][0]["loc"] == ["query", "cursor"]


async def test_a_valid_cursor_still_pages(client: httpx.AsyncClient, auth: Auth) -> None:
    admin = await auth.headers("system_admin")
    first = await client.get("/api/v1/organizations", params={"limit": 2}, headers=admin)
    assert first.status_code == 200 and first.json()["next_cursor"]
    second = await client.get(
        "/api/v1/organizations",
        params={"limit": 2, "cursor": first.json()["next_cursor"]},
        headers=admin,
    )
    assert second.status_code == 200
    ids = {o["id"] for o in first.json()["items"]}
    assert ids.isdisjoint({o["id"] for o in second.json()["items"]})


async def test_unhandled_errors_are_problems_with_request_id_and_headers(
    test_settings: Settings,
) -> None:
    app = create_app(test_settings)

    async def boom() -> None:
        raise RuntimeError("secret value 123-45-6789")

    app.add_api_route("/api/v1/boom", boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        r = await c.get("/api/v1/boom", headers={"X-Request-ID": "trace-500"})
    body = assert_problem(r, 500, "internal-error")
    assert r.headers["x-request-id"] == "trace-500"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "123-45-6789" not in r.text and "Traceback" not in r.text
    assert body["instance"] == "/api/v1/boom"


async def test_new_password_voids_other_one_time_tokens(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    user = await db.get(User, world.user_id("case_manager"))
    assert user is not None
    invitation = await auth_service.issue_one_time_token(db, user, "invitation", timedelta(hours=1))
    reset = await auth_service.issue_one_time_token(db, user, "password_reset", timedelta(hours=1))
    await db.flush()
    r = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": reset, "new_password": "a-brand-new-password-1"},
    )
    assert r.status_code == 204, r.text
    # The older invitation token cannot set the password a second time.
    r = await client.post(
        "/api/v1/auth/invitations/accept",
        json={"token": invitation, "password": "attacker-chosen-password"},
    )
    assert_problem(r, 422)
    assert (
        await db.scalar(
            select(func.count())
            .select_from(OneTimeToken)
            .where(OneTimeToken.user_id == user.id, OneTimeToken.used_at.is_(None))
        )
        == 0
    )
    assert (await _login(client, password="a-brand-new-password-1")).status_code == 200


async def test_reactivation_does_not_revive_old_sessions(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    tokens = (await _login(client, "case_manager2@demo.example")).json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    admin = await auth.headers("system_admin")
    uid = world.user_id("case_manager2")
    assert (
        await client.patch(f"{USERS}/{uid}", headers=admin, json={"is_active": False})
    ).status_code == 200
    assert (
        await client.patch(f"{USERS}/{uid}", headers=admin, json={"is_active": True})
    ).status_code == 200
    assert_problem(await client.get("/api/v1/auth/me", headers=headers), 401)
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(r, 401)
    reasons = set(
        await db.scalars(select(AuthSession.revoke_reason).where(AuthSession.user_id == uid))
    )
    assert "deactivated" in reasons


async def test_re_granting_a_membership_does_not_revive_its_sessions(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    uid = world.user_id("case_manager")
    r = await client.post(
        "/api/v1/auth/login",
        json={
            "email": "case_manager@demo.example",
            "password": PASSWORD,
            "organization_id": str(world.org_id("cas")),
        },
    )
    tokens = r.json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    admin = await auth.headers("system_admin")
    membership = await db.scalar(
        select(Membership).where(
            Membership.user_id == uid, Membership.organization_id == world.org_id("cas")
        )
    )
    assert membership is not None
    r = await client.delete(f"{USERS}/{uid}/memberships/{membership.id}", headers=admin)
    assert r.status_code == 204, r.text
    r = await client.post(
        f"{USERS}/{uid}/memberships",
        headers=admin,
        json={"organization_id": str(world.org_id("cas")), "role": "case_manager"},
    )
    assert r.status_code == 201, r.text
    assert_problem(await client.get("/api/v1/auth/me", headers=headers), 401)
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert_problem(r, 401)


async def test_agency_admin_cannot_change_administrators(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    # A system admin who also belongs to the agency is visible to its agency admin...
    db.add(
        Membership(
            user_id=world.user_id("system_admin"),
            organization_id=world.org_id("access_point_1"),
            role="case_manager",
        )
    )
    await db.flush()
    agency = await auth.headers("agency_admin")
    target = world.user_id("system_admin")
    assert (await client.get(f"{USERS}/{target}", headers=agency)).status_code == 200
    # ...but the agency admin may not change that account.
    r = await client.patch(f"{USERS}/{target}", headers=agency, json={"full_name": "Mallory"})
    assert_problem(r, 403)
    user = await db.get(User, target, populate_existing=True)
    assert user is not None and user.full_name != "Mallory"
    # Their own staff they still manage.
    r = await client.patch(
        f"{USERS}/{world.user_id('case_manager')}",
        headers=agency,
        json={"full_name": "Casey Manager"},
    )
    assert r.status_code == 200 and r.json()["full_name"] == "Casey Manager"


async def test_auth_events_reach_the_coc_audit_trail(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, test_settings: Settings
) -> None:
    assert_problem(await _login(client, password="wrong-password-000"), 401)
    r = await client.post(
        "/api/v1/auth/password-reset/request", json={"email": "case_manager@demo.example"}
    )
    assert r.status_code == 202
    await auth_service.process_password_reset_requests(db, test_settings)
    admin = await auth.headers("system_admin")
    r = await client.get("/api/v1/audit-events", headers=admin)
    actions = {e["action"] for e in r.json()["items"]}
    assert {"auth.login_failed", "auth.password_reset_requested"} <= actions
    # Not shown to another CoC's admins.
    other = await auth.headers("system_admin", coc="other")
    r = await client.get("/api/v1/audit-events", headers=other)
    assert not {"auth.login_failed", "auth.password_reset_requested"} & {
        e["action"] for e in r.json()["items"]
    }


async def test_locked_account_costs_the_same_work(
    client: httpx.AsyncClient, db: AsyncSession, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await db.execute(
        update(User)
        .where(User.id == world.user_id("case_manager"))
        .values(locked_until=utcnow() + timedelta(minutes=10))
    )
    await db.flush()
    calls: list[bool] = []
    real = auth_service.password_matches

    async def counting(password: str, password_hash: str | None) -> bool:
        calls.append(password_hash is None)
        return await real(password, password_hash)

    monkeypatch.setattr(auth_service, "password_matches", counting)
    locked = assert_problem(await _login(client), 401)
    unknown = assert_problem(await _login(client, "nobody@demo.example"), 401)
    assert locked["detail"] == unknown["detail"]
    assert len(calls) == 2  # one password hash check each: no timing difference
    assert (
        await db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "auth.login_refused_locked")
        )
        == 1
    )


def test_redaction_reaches_nested_values() -> None:
    out = audit.redact(
        {
            "household": {"first_name": "Ann", "size": 2},
            "members": [{"last_name": "Lee", "relationship": 2}],
            "name": {"old": {"first_name": "A"}, "new": {"first_name": "B"}},
            "email": "x@example.org",
        }
    )
    assert out["household"] == {"first_name": audit.REDACTED, "size": 2}
    assert out["members"] == [{"last_name": audit.REDACTED, "relationship": 2}]
    assert out["name"]["new"] == {"first_name": audit.REDACTED}
    assert out["email"] == audit.REDACTED


async def test_failed_request_does_not_spend_the_idempotency_key(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    admin = await auth.headers("system_admin") | {"Idempotency-Key": "retry-after-422"}
    bad = await client.post(
        "/api/v1/organizations",
        headers=admin,
        json={"name": "Fixed Later", "access_point": "maybe"},
    )
    assert_problem(bad, 422)
    good = await client.post(
        "/api/v1/organizations", headers=admin, json={"name": "Fixed Later", "access_point": True}
    )
    assert good.status_code == 201, good.text
    assert "idempotent-replayed" not in good.headers
    again = await client.post(
        "/api/v1/organizations", headers=admin, json={"name": "Fixed Later", "access_point": True}
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == good.json()["id"]
    # Scoped per user: another admin's identical key is a new request.
    other = await auth.headers("system_admin", coc="other") | {"Idempotency-Key": "retry-after-422"}
    theirs = await client.post(
        "/api/v1/organizations", headers=other, json={"name": "Fixed Later", "access_point": True}
    )
    assert theirs.status_code == 201 and theirs.json()["id"] != good.json()["id"]
    assert "idempotent-replayed" not in theirs.headers
