from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from jose import jwt
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.models import (
    AuditEvent,
    AuthSession,
    EmailMessage,
    Membership,
    OneTimeToken,
    RefreshToken,
    User,
)
from app.security import create_access_token, utcnow
from app.services.identity import auth as auth_service
from tests.conftest import PASSWORD, Auth, World, assert_problem

LOGIN = "/api/v1/auth/login"
CM = "case_manager@demo.example"


async def login(
    client: httpx.AsyncClient, email: str = CM, password: str = PASSWORD, **extra: object
) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password, **extra})


def bearer(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def test_login_returns_tokens_for_first_membership(
    client: httpx.AsyncClient, world: World
) -> None:
    r = await login(client)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    assert body["organization_id"] == str(world.org_id("access_point_1"))
    me = await client.get("/api/v1/auth/me", headers=bearer(body))
    assert me.status_code == 200
    data = me.json()
    assert data["user"]["email"] == CM
    assert data["organization"]["name"] == "Bridge Access Point"
    assert data["role"] == "case_manager"
    assert "clients:read" in data["permissions"]
    assert [m["organization_id"] for m in data["memberships"]] == [str(world.org_id("cas"))]


async def test_login_for_a_chosen_organization(client: httpx.AsyncClient, world: World) -> None:
    r = await login(client, organization_id=str(world.org_id("cas")))
    assert r.status_code == 200
    assert r.json()["organization_id"] == str(world.org_id("cas"))
    r = await login(client, organization_id=str(world.org_id("housing_1")))
    assert_problem(r, 403)


async def test_wrong_password_and_unknown_email_answer_alike(client: httpx.AsyncClient) -> None:
    wrong = await login(client, password="not-the-password-123")
    unknown = await login(client, email="nobody@demo.example")
    a, b = assert_problem(wrong, 401), assert_problem(unknown, 401)
    assert a["detail"] == b["detail"] == "Invalid email or password."


async def test_lockout_after_five_failures(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    for _ in range(5):
        assert_problem(await login(client, password="wrong-password-000"), 401)
    user = await db.get(User, world.user_id("case_manager"), populate_existing=True)
    assert user is not None and user.locked_until is not None
    assert user.locked_until > utcnow() + timedelta(minutes=14)
    # The right password is refused while locked, with the same answer as a wrong one.
    locked = assert_problem(await login(client), 401)
    assert locked["detail"] == "Invalid email or password."
    # After the lock runs out, the right password works again.
    await db.execute(
        update(User).where(User.id == user.id).values(locked_until=utcnow() - timedelta(seconds=1))
    )
    await db.flush()
    assert (await login(client)).status_code == 200


async def test_refresh_rotates_and_detects_reuse(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    first = (await login(client)).json()
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/api/v1/auth/me", headers=bearer(second))).status_code == 200

    # Presenting the rotated token again after the grace window revokes the whole session...
    await db.execute(
        update(RefreshToken)
        .where(RefreshToken.used_at.is_not(None))
        .values(used_at=utcnow() - timedelta(seconds=21))
    )
    await db.flush()
    reuse = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert_problem(reuse, 401)
    # ...so the newest refresh token and the access token stop working too.
    assert_problem(
        await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]}),
        401,
    )
    assert_problem(await client.get("/api/v1/auth/me", headers=bearer(second)), 401)
    reason = await db.scalar(
        select(AuthSession.revoke_reason)
        .where(AuthSession.revoked_at.is_not(None))
        .order_by(AuthSession.created_at.desc())
        .limit(1)
    )
    assert reason == "refresh_reuse"
    assert (
        await db.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "auth.refresh_reuse_detected")
        )
        == 1
    )


async def test_refresh_retried_within_the_grace_window_returns_the_same_pair(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    first = (await login(client)).json()
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    # A second tab presents the same token a moment later: it gets the very same new pair, and
    # the session lives on.
    again = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert again.status_code == 200, again.text
    assert again.json() == second
    assert (await client.get("/api/v1/auth/me", headers=bearer(second))).status_code == 200
    assert await db.scalar(select(func.count()).select_from(RefreshToken)) == 2
    assert (
        await db.scalar(
            select(func.count()).select_from(AuthSession).where(AuthSession.revoked_at.is_not(None))
        )
        == 0
    )
    # The chain goes on from the shared token.
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert r.status_code == 200, r.text
    third = r.json()
    assert third["refresh_token"] not in (first["refresh_token"], second["refresh_token"])
    # The first token's successor is spent now: presenting the first again is reuse.
    reuse = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert "already used" in assert_problem(reuse, 401)["detail"]
    assert_problem(await client.get("/api/v1/auth/me", headers=bearer(third)), 401)


async def test_refresh_grace_window_can_be_turned_off(
    client: httpx.AsyncClient, app: object
) -> None:
    settings = app.state.settings  # type: ignore[attr-defined]
    assert settings.refresh_reuse_grace_seconds == 20
    object.__setattr__(settings, "refresh_reuse_grace_seconds", 0)
    try:
        first = (await login(client)).json()
        r = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
        )
        assert r.status_code == 200
        again = await client.post(
            "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
        )
        assert_problem(again, 401)
        assert_problem(await client.get("/api/v1/auth/me", headers=bearer(r.json())), 401)
    finally:
        object.__setattr__(settings, "refresh_reuse_grace_seconds", 20)


async def test_refresh_token_expires_after_idle_time(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    tokens = (await login(client)).json()
    await db.execute(update(RefreshToken).values(idle_expires_at=utcnow() - timedelta(seconds=1)))
    await db.flush()
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert "expired" in assert_problem(r, 401)["detail"]


async def test_unknown_refresh_token(client: httpx.AsyncClient) -> None:
    assert_problem(await client.post("/api/v1/auth/refresh", json={"refresh_token": "nope"}), 401)


async def test_logout_revokes_access_and_refresh(client: httpx.AsyncClient) -> None:
    tokens = (await login(client)).json()
    r = await client.post("/api/v1/auth/logout", headers=bearer(tokens))
    assert r.status_code == 204
    assert_problem(await client.get("/api/v1/auth/me", headers=bearer(tokens)), 401)
    assert_problem(
        await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}),
        401,
    )


async def test_switch_organization(client: httpx.AsyncClient, world: World) -> None:
    tokens = (await login(client)).json()
    r = await client.post(
        "/api/v1/auth/switch-organization",
        headers=bearer(tokens),
        json={"organization_id": str(world.org_id("cas"))},
    )
    assert r.status_code == 200, r.text
    switched = r.json()
    assert switched["organization_id"] == str(world.org_id("cas"))
    me = (await client.get("/api/v1/auth/me", headers=bearer(switched))).json()
    assert me["organization"]["kind"] == "cas"
    # The old session ended.
    assert_problem(await client.get("/api/v1/auth/me", headers=bearer(tokens)), 401)
    # Not a member: refused, and the current session still works.
    r = await client.post(
        "/api/v1/auth/switch-organization",
        headers=bearer(switched),
        json={"organization_id": str(world.org_id("housing_1"))},
    )
    assert_problem(r, 403)
    assert (await client.get("/api/v1/auth/me", headers=bearer(switched))).status_code == 200


async def test_a_member_of_two_cocs_sees_and_switches_to_the_other(
    client: httpx.AsyncClient, db: AsyncSession, world: World
) -> None:
    """Requests read only the acting CoC's rows, but a person's own memberships span CoCs:
    ``/auth/me`` lists the other CoC's organization, ``/cocs`` both CoCs, and switching to it
    works."""
    theirs = world.org_id("cas", "other")
    db.add(
        Membership(
            user_id=world.user_id("case_manager"), organization_id=theirs, role="case_manager"
        )
    )
    await db.flush()
    tokens = (await login(client)).json()
    me = (await client.get("/api/v1/auth/me", headers=bearer(tokens))).json()
    assert str(theirs) in {m["organization_id"] for m in me["memberships"]}
    cocs = (await client.get("/api/v1/cocs", headers=bearer(tokens))).json()["items"]
    assert {c["id"] for c in cocs} == {str(world.home.coc.id), str(world.other.coc.id)}
    r = await client.post(
        "/api/v1/auth/switch-organization",
        headers=bearer(tokens),
        json={"organization_id": str(theirs)},
    )
    assert r.status_code == 200, r.text
    me = (await client.get("/api/v1/auth/me", headers=bearer(r.json()))).json()
    assert me["organization"]["id"] == str(theirs)
    assert me["organization"]["coc_id"] == str(world.other.coc.id)


async def test_removed_membership_takes_effect_on_next_request(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    headers = await auth.headers("case_manager", org="cas")
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    await db.execute(
        Membership.__table__.delete().where(
            Membership.user_id == world.user_id("case_manager"),
            Membership.organization_id == world.org_id("cas"),
        )
    )
    await db.flush()
    assert_problem(await client.get("/api/v1/auth/me", headers=headers), 401)


async def test_deactivated_user_is_refused(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    headers = await auth.headers("case_manager")
    await db.execute(
        update(User).where(User.id == world.user_id("case_manager")).values(is_active=False)
    )
    await db.flush()
    assert_problem(await client.get("/api/v1/auth/me", headers=headers), 401)
    assert_problem(await login(client), 401)


async def test_bad_tokens(
    client: httpx.AsyncClient, auth: Auth, world: World, test_settings: Settings
) -> None:
    good = (await auth.headers("case_manager"))["Authorization"][7:]
    claims = jwt.get_unverified_claims(good)
    cases = {
        "missing": {},
        "malformed": {"Authorization": "Bearer not.a.jwt"},
        "wrong scheme": {"Authorization": f"Basic {good}"},
        "other key": {"Authorization": "Bearer " + jwt.encode(claims, "x" * 40, "HS256")},
        "other algorithm": {
            "Authorization": "Bearer " + jwt.encode(claims, test_settings.secret_key, "HS512")
        },
        "expired": {
            "Authorization": "Bearer "
            + jwt.encode(
                {**claims, "exp": int(utcnow().timestamp()) - 10}, test_settings.secret_key, "HS256"
            )
        },
    }
    # alg: none, hand-made (libraries refuse to produce it).
    import base64
    import json

    def b64(d: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    cases["alg none"] = {
        "Authorization": f"Bearer {b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."
    }
    for name, headers in cases.items():
        r = await client.get("/api/v1/auth/me", headers=headers)
        body = assert_problem(r, 401)
        assert "access_token" not in body, name
    expired = await client.get("/api/v1/auth/me", headers=cases["expired"])
    assert "expired" in expired.json()["detail"]


async def test_password_reset_flow(
    client: httpx.AsyncClient, db: AsyncSession, world: World, test_settings: Settings
) -> None:
    known = await client.post("/api/v1/auth/password-reset/request", json={"email": CM})
    unknown = await client.post(
        "/api/v1/auth/password-reset/request", json={"email": "nobody@demo.example"}
    )
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    await auth_service.process_password_reset_requests(db, test_settings)
    messages = (
        await db.scalars(select(EmailMessage).where(EmailMessage.template == "password_reset"))
    ).all()
    assert [m.to_address for m in messages] == [CM]
    token = next(
        line
        for line in messages[0].body.splitlines()
        if line and " " not in line and len(line) > 30
    )

    # Password rules: too short, equal to the email. Nothing is consumed by a refused attempt.
    r = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "short"}
    )
    assert assert_problem(r, 422)["errors"][0]["loc"] == ["body", "new_password"]
    r = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": CM}
    )
    assert_problem(r, 422)

    new_password = "a-brand-new-password-42"
    r = await client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": new_password}
    )
    assert r.status_code == 204, r.text
    assert (await login(client, password=new_password)).status_code == 200
    assert_problem(await login(client), 401)
    # Single use.
    r = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "new_password": "another-password-99"},
    )
    assert_problem(r, 422)


async def test_expired_reset_token(
    client: httpx.AsyncClient, db: AsyncSession, test_settings: Settings
) -> None:
    requested = await client.post("/api/v1/auth/password-reset/request", json={"email": CM})
    assert requested.status_code == 202, requested.text
    await auth_service.process_password_reset_requests(db, test_settings)
    body = await db.scalar(
        select(EmailMessage.body).where(EmailMessage.template == "password_reset")
    )
    assert body is not None
    token = next(line for line in body.splitlines() if line and " " not in line and len(line) > 30)
    await db.execute(update(OneTimeToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    await db.flush()
    r = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "new_password": "a-brand-new-password-42"},
    )
    assert_problem(r, 422)


async def test_login_rate_limit(client: httpx.AsyncClient, app: object) -> None:
    settings = app.state.settings  # type: ignore[attr-defined]
    original = settings.auth_rate_limit
    object.__setattr__(settings, "auth_rate_limit", 3)
    try:
        for _ in range(3):
            await login(client, password="wrong-password-000")
        r = await login(client)
        body = assert_problem(r, 429)
        assert r.headers["retry-after"]
        assert body["type"] == "/problems/too-many-requests"
    finally:
        object.__setattr__(settings, "auth_rate_limit", original)


async def test_login_rejects_unknown_fields_and_bad_json(client: httpx.AsyncClient) -> None:
    r = await client.post(LOGIN, json={"email": CM, "password": PASSWORD, "admin": True})
    body = assert_problem(r, 422)
    assert body["errors"][0]["loc"] == ["body", "admin"]
    r = await client.post(
        LOGIN, content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert_problem(r, 400, "malformed-json")
    r = await client.post(LOGIN, json={"email": "not-an-email", "password": "x"})
    assert_problem(r, 422)


async def test_invitation_flow(
    client: httpx.AsyncClient, auth: Auth, db: AsyncSession, world: World
) -> None:
    admin = await auth.headers("agency_admin")
    r = await client.post(
        "/api/v1/users",
        headers=admin,
        json={
            "email": "New.Worker@Demo.Example",
            "full_name": "New Worker",
            "organization_id": str(world.org_id("access_point_1")),
            "role": "case_manager",
        },
    )
    assert r.status_code == 201, r.text
    user = r.json()
    assert user["email"] == "new.worker@demo.example"
    assert user["invitation_pending"] is True
    message = await db.scalar(select(EmailMessage).where(EmailMessage.template == "invitation"))
    assert message is not None and message.to_address == "new.worker@demo.example"
    token = next(
        line for line in message.body.splitlines() if line and " " not in line and len(line) > 30
    )
    # No password yet: login fails like any wrong password.
    assert_problem(
        await login(client, email="new.worker@demo.example", password="whatever-password-1"), 401
    )
    r = await client.post(
        "/api/v1/auth/invitations/accept", json={"token": token, "password": "my-first-password-1"}
    )
    assert r.status_code == 204, r.text
    ok = await login(client, email="new.worker@demo.example", password="my-first-password-1")
    assert ok.status_code == 200
    assert ok.json()["organization_id"] == str(world.org_id("access_point_1"))
    r = await client.post(
        "/api/v1/auth/invitations/accept", json={"token": token, "password": "my-second-password-2"}
    )
    assert_problem(r, 422)
    assert uuid.UUID(user["id"])


async def test_the_access_token_names_the_sessions_coc_and_tokens_without_it_still_work(
    client: httpx.AsyncClient, world: World, db: AsyncSession, test_settings: Settings
) -> None:
    """The access token carries the session's CoC (`coc`), so the request's first query names
    it (a CoC-sharded database routes it to one node); a token issued before the claim existed
    still works, and a token whose CoC is not its session's is refused."""
    r = await login(client)
    assert r.status_code == 200, r.text
    claims = jwt.get_unverified_claims(r.json()["access_token"])
    assert claims["coc"] == str(world.home.coc.id)
    session = await db.get(AuthSession, uuid.UUID(claims["sid"]))
    assert session is not None and session.coc_id == world.home.coc.id

    def token(coc_id: uuid.UUID | None) -> dict[str, str]:
        made = create_access_token(
            test_settings,
            user_id=uuid.UUID(claims["sub"]),
            organization_id=uuid.UUID(claims["org"]),
            session_id=uuid.UUID(claims["sid"]),
            coc_id=coc_id,
        )
        return {"Authorization": f"Bearer {made}"}

    before = await client.get("/api/v1/auth/me", headers=token(None))
    assert before.status_code == 200 and before.json()["user"]["email"] == CM
    elsewhere = await client.get("/api/v1/auth/me", headers=token(world.other.coc.id))
    assert_problem(elsewhere, 401)
