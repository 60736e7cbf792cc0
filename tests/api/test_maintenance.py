from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.jobs import maintain
from app.models import AuthSession, IdempotencyRecord
from app.security import utcnow
from tests.conftest import Auth


async def test_maintenance_expires_idempotency_keys_and_old_sessions(
    client: httpx.AsyncClient,
    auth: Auth,
    db: AsyncSession,
    test_settings: Settings,
    tmp_path: Path,
) -> None:
    headers = await auth.headers("system_admin") | {"Idempotency-Key": "k-1"}
    r = await client.post("/api/v1/organizations", headers=headers, json={"name": "Kept"})
    assert r.status_code == 201
    headers2 = await auth.headers("system_admin") | {"Idempotency-Key": "k-2"}
    old = await client.post("/api/v1/organizations", headers=headers2, json={"name": "Old"})
    assert old.status_code == 201, old.text
    await db.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.key == "k-2")
        .values(created_at=utcnow() - timedelta(hours=25))
    )
    await db.execute(update(AuthSession).values(expires_at=utcnow() - timedelta(days=2)))
    await db.flush()

    settings = test_settings.model_copy(update={"data_dir": tmp_path})
    counts = await maintain(db, settings)
    assert counts["idempotency_keys_expired"] == 1
    assert counts["auth_sessions_removed"] >= 2
    keys = (await db.scalars(select(IdempotencyRecord.key))).all()
    assert keys == ["k-1"]
    assert await db.scalar(select(func.count()).select_from(AuthSession)) == 0
