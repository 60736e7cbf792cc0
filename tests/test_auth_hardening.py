"""Authentication hardening: password hashing off the event loop."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from app import security
from app.models import User
from app.services import auth as auth_service
from app.services import demo
from tests.conftest import PASSWORD, World, assert_problem

LOGIN = "/api/v1/auth/login"
CM = "case_manager@demo.example"
NOBODY = "nobody-at-all@demo.example"


# --- password hashing off the event loop ---------------------------------------------------------


class _RecordingHasher:
    """Stands in for the argon2 context and notes the thread of every hash and verify."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls: list[tuple[str, int]] = []

    def hash(self, secret: str) -> str:
        self.calls.append(("hash", threading.get_ident()))
        return str(self.real.hash(secret))

    def verify(self, secret: str, hashed: str) -> bool:
        self.calls.append(("verify", threading.get_ident()))
        return bool(self.real.verify(secret, hashed))


async def test_password_hashing_runs_in_a_worker_thread(
    client: httpx.AsyncClient,
    db: AsyncSession,
    world: World,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recorder = _RecordingHasher(security._pwd)
    monkeypatch.setattr(security, "_pwd", recorder)
    loop_thread = threading.get_ident()

    # Login: right password, wrong password, unknown account.
    assert (await client.post(LOGIN, json={"email": CM, "password": PASSWORD})).status_code == 200
    for email_address, password in ((CM, "wrong-password-000"), (NOBODY, "whatever-pass-1")):
        r = await client.post(LOGIN, json={"email": email_address, "password": password})
        assert_problem(r, 401)
    # Reset confirm and invitation accept.
    user = await db.get(User, world.user_id("case_manager2"))
    assert user is not None
    reset = await auth_service.issue_one_time_token(db, user, "password_reset", timedelta(hours=1))
    invited = User(email="invited.hashing@demo.example", full_name="Invited", password_hash=None)
    db.add(invited)
    await db.flush()
    invitation = await auth_service.issue_one_time_token(
        db, invited, "invitation", timedelta(hours=1)
    )
    r = await client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": reset, "new_password": "a-brand-new-password-7"},
    )
    assert r.status_code == 204, r.text
    r = await client.post(
        "/api/v1/auth/invitations/accept",
        json={"token": invitation, "password": "my-first-password-7"},
    )
    assert r.status_code == 204, r.text
    # Creating an administrator.
    await demo.create_admin(
        db,
        email_address="boot.admin@demo.example",
        password="bootstrap-password-7",
        coc_code="XX-501",
        coc_name="Home CoC",
    )

    kinds = [kind for kind, _ in recorder.calls]
    assert kinds.count("verify") == 3 and kinds.count("hash") == 3, kinds
    assert all(thread != loop_thread for _, thread in recorder.calls), recorder.calls
