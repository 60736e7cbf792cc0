"""Every table holding a CoC's data carries ``coc_id`` (a CoC-sharded deployment distributes by
it), and the statements the API issues on those tables filter by it."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import httpx
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models.layout import GLOBAL_TABLES, REFERENCE_TABLES
from tests.conftest import Auth
from tests.support.queue_flow import place


async def _distributed_tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        rows = (
            await conn.execute(
                text(
                    "SELECT c.table_name FROM information_schema.columns c "
                    "JOIN information_schema.tables t USING (table_schema, table_name) "
                    "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
                    "AND c.column_name = 'coc_id' AND c.is_nullable = 'NO'"
                )
            )
        ).all()
    return {r[0] for r in rows}


async def test_every_table_has_coc_id_or_is_on_the_reference_or_global_list(
    engine: AsyncEngine,
) -> None:
    async with engine.connect() as conn:
        tables = set(
            (
                await conn.scalars(
                    text(
                        "SELECT table_name FROM information_schema.tables "
                        "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
                    )
                )
            ).all()
        )
        # coc_id is a foreign key to cocs wherever it is the distribution column.
        fk_tables = set(
            (
                await conn.scalars(
                    text(
                        "SELECT cl.relname FROM pg_constraint k "
                        "JOIN pg_class cl ON cl.oid = k.conrelid "
                        "JOIN pg_attribute a ON a.attrelid = k.conrelid "
                        "AND a.attnum = ANY (k.conkey) "
                        "WHERE k.contype = 'f' AND k.confrelid = 'cocs'::regclass "
                        "AND a.attname = 'coc_id'"
                    )
                )
            ).all()
        )
    distributed = await _distributed_tables(engine)
    listed = set(REFERENCE_TABLES) | set(GLOBAL_TABLES)
    unplaced = tables - distributed - listed
    assert not unplaced, (
        f"tables without a NOT NULL coc_id and not on a documented list: {sorted(unplaced)} -- "
        "add coc_id (distributed) or list them in app/models/layout.py with a reason"
    )
    assert not (distributed & listed), sorted(distributed & listed)
    assert listed <= tables, sorted(listed - tables)
    assert distributed <= fk_tables, sorted(distributed - fk_tables)
    assert len(distributed) >= 50


# --- the statements the API issues ------------------------------------------------------------

_TABLE_REF = re.compile(r'\b(?:FROM|JOIN|UPDATE|INTO)\s+"?([a-z_]+)"?', re.IGNORECASE)
_COC_PREDICATE = re.compile(r"\bcoc_id\b\s*(?:=|IN\b|!=|<>|IS\b)", re.IGNORECASE)

# Distributed tables some of whose statements (issued by the GET operations below) do not name
# coc_id yet. All are scoped another way -- looked up by primary key or by a parent's id
# (enrollment, client, queue entry, household) that a CoC-scoped visibility check resolved
# first, or by the caller's own user id -- so they are correct today; on a CoC-sharded cluster
# they are routed to every shard (slower, still correct). Their list reads (CE records, income,
# 4.11, case assignments, scores, transitions, documents, files, area ties, workflow passes)
# already filter by coc_id. The test fails when another table joins this list, and when one
# on it no longer needs to be here.
_BY_PARENT = "by a parent's id (enrollment, client, entry) checked in the caller's CoC"
_BY_ID = "by primary key, after the caller's CoC-scoped visibility check"
_BY_USER = "by the caller's own user id (sign-in, memberships, inbox)"
ALLOWED_UNSCOPED: dict[str, str] = {
    "area_ties": _BY_PARENT,
    "auth_sessions": _BY_USER,
    "case_assignments": _BY_PARENT,
    "client_files": _BY_PARENT,
    "clients": _BY_ID,
    "current_living_situations": _BY_PARENT,
    "disabilities": _BY_PARENT,
    "diversion_assessments": _BY_PARENT,
    "document_checks": _BY_PARENT,
    "enrollment_assessments": _BY_PARENT,
    "enrollments": _BY_ID,
    "exits": _BY_PARENT,
    "health_and_dv": _BY_PARENT,
    "household_members": _BY_PARENT,
    "households": _BY_ID,
    "housing_needs_assessments": _BY_PARENT,
    "income_benefits": _BY_PARENT,
    "memberships": _BY_USER,
    "notifications": _BY_USER,
    "organizations": _BY_USER,
    "projects": _BY_ID,
    "queue_entries": _BY_ID,
    "queue_scores": _BY_PARENT,
    "queue_transitions": _BY_PARENT,
}


def _paths(app: Any) -> list[str]:
    return [path for path, ops in app.openapi()["paths"].items() if "get" in ops]


async def test_statements_on_distributed_tables_filter_by_coc_id(
    client: httpx.AsyncClient, app: Any, auth: Auth, engine: AsyncEngine
) -> None:
    distributed = await _distributed_tables(engine)
    cm = await auth.headers("case_manager", org="access_point_1")
    admin = await auth.headers("cas_admin")
    placed = await place(client, cm, last_name="Scoped")
    ids = {
        "client_id": placed.client_id,
        "enrollment_id": placed.enrollment_id,
        "household_id": placed.household_id,
        "queue_entry_id": placed.entry_id,
        "entry_id": placed.entry_id,
    }
    statements: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    exercised = []
    try:
        for path in _paths(app):
            if not path.startswith("/api/v1/") or path.endswith(("/stream", "/file")):
                continue
            params = re.findall(r"{(\w+)}", path)
            if any(p not in ids for p in params):
                continue
            url = path.format(**ids)
            for headers in (cm, admin):
                r = await client.get(url, headers=headers)
                assert r.status_code < 500, (url, r.text)
            exercised.append(path)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert len(exercised) >= 30, exercised

    unscoped: dict[str, set[str]] = defaultdict(set)
    for statement in statements:
        touched = {t for t in _TABLE_REF.findall(statement) if t in distributed}
        if touched and not _COC_PREDICATE.search(statement):
            for table in touched:
                unscoped[table].add(" ".join(statement.split()))
    left = {t: s for t, s in unscoped.items() if t not in ALLOWED_UNSCOPED}
    report = "\n".join(
        f"{t}: {len(s)} statements, e.g. {next(iter(s))[:400]}" for t, s in sorted(left.items())
    )
    assert not left, "statements on distributed tables without a coc_id predicate:\n" + report
    # The allowance shrinks as queries are scoped: an entry no longer needed must go.
    assert set(ALLOWED_UNSCOPED) <= set(unscoped), sorted(set(ALLOWED_UNSCOPED) - set(unscoped))
    # And what is scoped stays scoped: every distributed table these reads touch at all.
    scoped = {
        t
        for statement in statements
        if _COC_PREDICATE.search(statement)
        for t in _TABLE_REF.findall(statement)
        if t in distributed
    }
    assert len(scoped) >= 15, sorted(scoped)
