"""Every table holding a CoC's data carries ``coc_id`` (a CoC-sharded deployment distributes by
it), and the statements the API issues on those tables filter by it."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import httpx
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.models import Organization, Project
from app.models.layout import FOREIGN_KEYS_TO_DROP, GLOBAL_TABLES, REFERENCE_TABLES
from app.models.scoping import ALL_COCS, scope_to_coc
from tests.api.probes import ProbeContext, probe_modules
from tests.conftest import PASSWORD, Auth, World
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


async def test_foreign_keys_fit_the_coc_sharded_layout(engine: AsyncEngine) -> None:
    """Citus keeps a foreign key only from a distributed table to a distributed or a reference
    table, and from a reference or local table to a reference table: a table that distributed
    tables point at must be a reference table (replicated), not one kept on the coordinator.
    The keys a sharded deployment has to drop first are listed, with their reason."""
    async with engine.connect() as conn:
        keys = (
            await conn.execute(
                text(
                    "SELECT DISTINCT cl.relname, ref.relname FROM pg_constraint k "
                    "JOIN pg_class cl ON cl.oid = k.conrelid "
                    "JOIN pg_class ref ON ref.oid = k.confrelid "
                    "JOIN pg_namespace n ON n.oid = cl.relnamespace "
                    "WHERE k.contype = 'f' AND n.nspname = 'public'"
                )
            )
        ).all()
    distributed = await _distributed_tables(engine)
    misplaced = sorted(
        (table, target)
        for table, target in keys
        if target not in REFERENCE_TABLES
        and (table not in distributed or target not in distributed)
    )
    assert misplaced == sorted(FOREIGN_KEYS_TO_DROP), (
        "foreign keys a CoC-sharded deployment cannot keep (make the target a reference table, "
        f"or list the key in app/models/layout.py with a reason): {misplaced}"
    )


# --- the statements the API issues ------------------------------------------------------------

_TABLE_REF = re.compile(r'\b(?:FROM|JOIN|UPDATE|INTO)\s+"?([a-z_]+)"?', re.IGNORECASE)
_COC_PREDICATE = re.compile(r"\bcoc_id\b\s*(?:=|IN\b|!=|<>|IS\b)", re.IGNORECASE)

# Every ORM read a caller's request makes is confined to the caller's CoC in one place
# (app.models.scoping), and the caller's load names the CoC of the access token. What still
# does not name coc_id, and why that is right: the caller's own rows across the CoCs the user
# belongs to (their memberships and CoCs, their inbox); an UPDATE by primary key of a row the
# request read through its scope. The test fails when another table joins this list,
# and when one on it no longer needs to be here.
_BY_USER = "by the caller's own user id (memberships, CoCs and inbox across CoCs)"
_BY_ID = "an UPDATE by primary key of a row already read through the CoC scope"
ALLOWED_UNSCOPED: dict[str, str] = {
    "memberships": _BY_USER,
    "notifications": _BY_USER,
    "organizations": _BY_USER,
    "queue_entries": _BY_ID,
}


# Writes. An INSERT names the row's coc_id (a sharded deployment routes it by that value; a
# trigger still copies it from the parent row when a statement leaves it out, which Citus
# cannot do). An UPDATE or DELETE names coc_id or the row's primary key (one row, as the ORM's
# flush writes it; routed to one shard once the key is (coc_id, id)).
INSERTS_WITHOUT_COC_ID: dict[str, str] = {}
_INSERT = re.compile(r"^INSERT INTO \"?([a-z_]+)\"? \(([^)]*)\)", re.IGNORECASE)
_CHANGE = re.compile(r"^(?:UPDATE|DELETE FROM) \"?([a-z_]+)\"?", re.IGNORECASE)


def _check_writes(writes: list[str], distributed: set[str]) -> None:
    assert writes, "the intake wrote nothing?"
    without: dict[str, str] = {}
    unkeyed: dict[str, str] = {}
    for statement in writes:
        inserted = _INSERT.match(statement)
        if inserted:
            table, columns = inserted.groups()
            if table in distributed and "coc_id" not in columns.replace('"', "").split(", "):
                without[table] = statement
            continue
        changed = _CHANGE.match(statement)
        if changed and changed.group(1) in distributed:
            table = changed.group(1)
            where = statement.split(" WHERE ", 1)[-1] if " WHERE " in statement else ""
            if not _COC_PREDICATE.search(where) and not re.search(rf"\b{table}\.id = ", where):
                unkeyed[table] = statement
    assert set(without) == set(INSERTS_WITHOUT_COC_ID), {
        t: s[:300] for t, s in without.items() if t not in INSERTS_WITHOUT_COC_ID
    } or sorted(set(INSERTS_WITHOUT_COC_ID) - set(without))
    assert not unkeyed, {t: s[:300] for t, s in unkeyed.items()}


def _paths(app: Any) -> list[str]:
    return [path for path, ops in app.openapi()["paths"].items() if "get" in ops]


async def test_statements_on_distributed_tables_filter_by_coc_id(
    client: httpx.AsyncClient,
    app: Any,
    auth: Auth,
    engine: AsyncEngine,
    world: World,
    db: AsyncSession,
) -> None:
    distributed = await _distributed_tables(engine)
    cm = await auth.headers("case_manager", org="access_point_1")
    admin = await auth.headers("cas_admin")
    system_admin = await auth.headers("system_admin")
    writes: list[str] = []

    def capture_writes(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip()[:6].upper() in {"INSERT", "UPDATE", "DELETE"}:
            writes.append(" ".join(statement.split()))

    event.listen(engine.sync_engine, "before_cursor_execute", capture_writes)
    try:
        await place(client, cm, last_name="Scoped")
        signed_in = await client.post(
            "/api/v1/auth/login", json={"email": "cas_admin@demo.example", "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        invited = await client.post(
            "/api/v1/users",
            headers=system_admin,
            json={
                "email": "scoped-invitee@demo.example",
                "full_name": "Scoped Invitee",
                "organization_id": str(world.org_id("access_point_1")),
                "role": "case_manager",
            },
        )
        assert invited.status_code == 201, invited.text
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture_writes)
    _check_writes(writes, distributed)
    # An id for every path parameter: the cross-organization probe's records (tests/api/probes).
    ids: dict[str, Any] = {}
    for module in probe_modules():
        ids.update(await module.arrange(ProbeContext(client=client, db=db, world=world, auth=auth)))
    statements: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    exercised = []
    try:
        for path in _paths(app):
            if not path.startswith("/api/v1/") or path.endswith("/stream"):
                continue
            params = re.findall(r"{(\w+)}", path)
            url = path.format(**{p: ids[p] for p in params})
            for headers in (cm, admin, system_admin):
                r = await client.get(url, headers=headers)
                assert r.status_code < 500, (url, r.text)
            exercised.append(path)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    assert len(exercised) >= 90, len(exercised)  # every GET operation but the stream

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


async def test_a_scoped_session_reads_only_its_cocs_rows(
    sessionmaker: async_sessionmaker[AsyncSession], world: World
) -> None:
    """Once a request's caller is known, its session's ORM reads see the caller's CoC only --
    by primary key, in lists, in joins and in column reads -- unless a statement says it reads
    across CoCs on purpose (``ALL_COCS``). A session with no caller (jobs) is not confined."""
    home, other = world.home.coc.id, world.other.coc.id
    theirs = world.org_id("housing_1", "other")
    async with sessionmaker() as session:
        assert (await session.get(Organization, theirs)) is not None
    async with sessionmaker() as session:
        scope_to_coc(session, home)
        assert await session.get(Organization, theirs) is None
        listed = set((await session.scalars(select(Organization.coc_id))).all())
        assert listed == {home}
        joined = (
            await session.scalars(
                select(Project.coc_id).join(
                    Organization, Organization.id == Project.organization_id
                )
            )
        ).all()
        assert joined and set(joined) == {home}
        everywhere = set(
            (await session.scalars(select(Organization.coc_id).execution_options(**ALL_COCS))).all()
        )
        assert {home, other} <= everywhere  # (other tests may add CoCs)
