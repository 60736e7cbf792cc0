"""The queue's database rules (migration 0014): every CoC has settings, the priority key follows
the row and the scheme, facts go stale when the data behind them changes, and the histories
are append-only."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.models.queue import DEFAULT_SCHEME_SQL
from app.reference.queue import DEFAULT_SCHEME, scheme_json
from tests.conftest import Auth, World
from tests.support.intake import INTAKES, example, rows
from tests.support.queue import entry_id, place


async def _place(client: httpx.AsyncClient, auth: Auth) -> dict[str, Any]:
    headers = await auth.headers("case_manager", org="cas")
    r = await client.post(INTAKES, json=example("placed"), headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_every_coc_has_settings_with_the_default_scheme(db: Any, world: World) -> None:
    settings = await rows(db, "SELECT * FROM queue_settings WHERE coc_id = :c", c=world.home.coc.id)
    assert [s["scheme"] for s in settings] == [scheme_json(DEFAULT_SCHEME)]
    assert settings[0]["score_tool"] == "VI-SPDAT" and settings[0]["version"] == 1
    [default] = await rows(db, f"SELECT {DEFAULT_SCHEME_SQL} AS s")
    assert default["s"] == scheme_json(DEFAULT_SCHEME)


async def test_priority_key_follows_the_row_and_the_scheme(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World
) -> None:
    body = await _place(client, auth)
    q = uuid.UUID(body["queue_entry"]["id"])
    [entry] = await rows(db, "SELECT * FROM queue_entries WHERE id = :q", q=q)
    epoch_days = (entry["placed_on"] - date(2000, 1, 1)).days
    # chronic desc, score desc (none: last), days homeless desc, days on queue desc, tie-breaker
    assert entry["priority_key"] == [0, 2147483647, 0, epoch_days, entry["tie_breaker"]]
    assert entry["facts_stale"] is True and entry["score_sort"] == -1
    await db.execute(
        text(
            "UPDATE queue_entries SET score = 12, score_recorded_at = now(), "
            "chronic_documented = true, days_homeless_3y = 400 WHERE id = :q"
        ),
        {"q": q},
    )
    [entry] = await rows(db, "SELECT * FROM queue_entries WHERE id = :q", q=q)
    assert entry["priority_key"] == [-1, -12, -400, epoch_days, entry["tie_breaker"]]
    assert entry["score_sort"] == 12
    await db.execute(
        text(
            'UPDATE queue_settings SET scheme = \'[{"key": "veteran", "direction": "desc"},'
            ' {"key": "score", "direction": "asc"}]\' WHERE coc_id = :c'
        ),
        {"c": world.home.coc.id},
    )
    await db.execute(text("UPDATE queue_entries SET priority_key = '{}' WHERE id = :q"), {"q": q})
    [entry] = await rows(db, "SELECT * FROM queue_entries WHERE id = :q", q=q)
    assert entry["priority_key"] == [0, 12, entry["tie_breaker"]]


async def test_facts_go_stale_when_their_data_changes(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    body = await _place(client, auth)
    q = uuid.UUID(body["queue_entry"]["id"])
    client_id = uuid.UUID(body["client"]["id"])
    await db.execute(text("UPDATE queue_entries SET facts_stale = false WHERE id = :q"), {"q": q})
    await db.execute(text("UPDATE clients SET veteran_status = 1 WHERE id = :c"), {"c": client_id})
    assert (await rows(db, "SELECT facts_stale FROM queue_entries WHERE id = :q", q=q)) == [
        {"facts_stale": True}
    ]
    await db.execute(text("UPDATE queue_entries SET facts_stale = false WHERE id = :q"), {"q": q})
    await db.execute(text("UPDATE clients SET phone = '555' WHERE id = :c"), {"c": client_id})
    assert (await rows(db, "SELECT facts_stale FROM queue_entries WHERE id = :q", q=q)) == [
        {"facts_stale": False}
    ]
    await db.execute(
        text("DELETE FROM current_living_situations WHERE client_id = :c"), {"c": client_id}
    )
    assert (await rows(db, "SELECT facts_stale FROM queue_entries WHERE id = :q", q=q)) == [
        {"facts_stale": True}
    ]


async def test_a_bulk_write_marks_the_entries_stale_in_the_same_statement(
    client: httpx.AsyncClient, auth: Auth, db: Any
) -> None:
    """Migration 0021: the rule runs once per statement, over the rows it inserted, updated or
    deleted (an HMIS CSV import writes a million disabilities at once)."""
    body = await _place(client, auth)
    q = uuid.UUID(body["queue_entry"]["id"])
    other = entry_id(await place(client, auth, first="Ola", last="Two"))
    client_id = uuid.UUID(body["client"]["id"])

    async def stale() -> dict[uuid.UUID, bool]:
        found = await rows(
            db, "SELECT id, facts_stale FROM queue_entries WHERE id IN (:q, :o)", q=q, o=other
        )
        return {r["id"]: r["facts_stale"] for r in found}

    async def fresh() -> None:
        await db.execute(
            text("UPDATE queue_entries SET facts_stale = false WHERE id IN (:q, :o)"),
            {"q": q, "o": other},
        )

    await fresh()
    await db.execute(
        text(
            "INSERT INTO disabilities (id, coc_id, enrollment_id, client_id, "
            "created_by_organization_id, information_date, disability_type, "
            "disability_response, data_collection_stage) SELECT gen_random_uuid(), e.coc_id, "
            "e.id, e.client_id, e.created_by_organization_id, e.entry_date, t, 1, 1 "
            "FROM enrollments e, generate_series(5, 9) t WHERE e.client_id = :c"
        ),
        {"c": client_id},
    )
    assert await stale() == {q: True, other: False}
    await fresh()
    await db.execute(
        text("UPDATE disabilities SET disability_response = 0 WHERE client_id = :c"),
        {"c": client_id},
    )
    assert await stale() == {q: True, other: False}
    await fresh()
    await db.execute(text("DELETE FROM disabilities WHERE client_id = :c"), {"c": client_id})
    assert await stale() == {q: True, other: False}
    await fresh()
    await db.execute(text("DELETE FROM disabilities WHERE client_id = :c"), {"c": client_id})
    assert await stale() == {q: False, other: False}


@pytest.mark.parametrize("table", ["queue_transitions", "queue_scores"])
async def test_histories_are_append_only(
    client: httpx.AsyncClient, auth: Auth, db: Any, world: World, table: str
) -> None:
    body = await _place(client, auth)
    q = uuid.UUID(body["queue_entry"]["id"])
    if table == "queue_transitions":
        insert = (
            "INSERT INTO queue_transitions (id, coc_id, queue_entry_id, from_status, to_status) "
            "VALUES (gen_random_uuid(), :c, :q, 'pending', 'approved')"
        )
    else:
        insert = (
            "INSERT INTO queue_scores (id, coc_id, queue_entry_id, score, tool, reason) "
            "VALUES (gen_random_uuid(), :c, :q, 9, 'VI-SPDAT', 'first assessment')"
        )
    await db.execute(text(insert), {"c": world.home.coc.id, "q": q})
    for statement in (f"UPDATE {table} SET coc_id = coc_id", f"DELETE FROM {table}"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with db.begin_nested():
                await db.execute(text(statement))
