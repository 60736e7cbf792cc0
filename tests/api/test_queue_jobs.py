"""Keeping the queue's facts current outside requests: housekeeping recomputes stale entries,
the daily refresh (and ``cas queue-refresh``) every open entry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker

from app.config import Settings, get_settings
from app.jobs import maintain, refresh_queue
from tests.conftest import Auth
from tests.support.intake import rows
from tests.support.queue import entry_id, place, set_facts
from tests.test_cli import _invoke


async def test_housekeeping_recomputes_stale_entries(
    client: httpx.AsyncClient, auth: Auth, db: Any, test_settings: Settings, tmp_path: Path
) -> None:
    placed = await place(client, auth)
    q = entry_id(placed)
    [before] = await rows(
        db, "SELECT facts_stale, facts_as_of FROM queue_entries WHERE id = :q", q=q
    )
    assert before == {"facts_stale": True, "facts_as_of": None}
    counts = await maintain(db, test_settings.model_copy(update={"data_dir": tmp_path}))
    assert counts["queue_entries_refreshed"] == 1
    [after] = await rows(
        db, "SELECT facts_stale, chronic_recorded FROM queue_entries WHERE id = :q", q=q
    )
    assert after == {"facts_stale": False, "chronic_recorded": True}


async def test_the_daily_refresh_recomputes_every_open_entry(
    client: httpx.AsyncClient, auth: Auth, db: Any, conn: AsyncConnection
) -> None:
    first, second = await place(client, auth), await place(client, auth, first="Ola", last="Two")
    for placed in (first, second):
        await set_facts(db, entry_id(placed), chronic_recorded=False, days_homeless_3y=0)
    await db.commit()  # the test's savepoint: the refresh's own units of work see it
    sessions = async_sessionmaker(
        bind=conn, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )
    assert await refresh_queue(sessions) == 2
    facts = await rows(
        db,
        "SELECT chronic_recorded, days_homeless_3y > 0 AS counted, facts_stale "
        "FROM queue_entries WHERE id IN (:a, :b)",
        a=entry_id(first),
        b=entry_id(second),
    )
    assert facts == [{"chronic_recorded": True, "counted": True, "facts_stale": False}] * 2


def test_the_refresh_command(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAS_DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        r = _invoke(["queue-refresh"])
        assert r.exit_code == 0, r.output
        assert json.loads(r.output) == {"queue_entries_refreshed": 0}
    finally:
        get_settings.cache_clear()
